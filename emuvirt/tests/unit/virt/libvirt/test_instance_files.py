"""Tests of instance_files: directory, disks (real qemu-img), console log."""

import json
import os
import shutil
import subprocess
from unittest import mock

import fixtures
from oslo_concurrency import processutils
from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf
from emuvirt import exception
from emuvirt.objects import instance as instance_obj
from emuvirt.virt.libvirt import instance_files

GiB = 1024 ** 3


def in_ci():
    return os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


class FilesTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def require_qemu_img(self):
        if shutil.which('qemu-img') is None:
            if in_ci():
                self.fail('CI=true and qemu-img (qemu-utils) is missing')
            self.skipTest('qemu-img (qemu-utils) is missing')

    def info(self, path):
        out = subprocess.run(['qemu-img', 'info', '-U', '--output=json',
                              '-f', 'qcow2', path], check=True,
                             stdout=subprocess.PIPE).stdout
        return json.loads(out)


class TestDirectory(FilesTestCase):

    def test_instance_dir_is_under_instances_path(self):
        flags = self.useFixture(config_fixture.Config(conf.CONF))
        flags.config(group='libvirt', instances_path='/srv/instances')
        inst = instance_obj.Instance.new()
        self.assertEqual('/srv/instances/' + inst.uuid,
                         instance_files.instance_dir(inst))

    def test_create_makes_parents(self):
        path = self.path('a', 'b', 'uuid')
        instance_files.create_dir(path)
        self.assertTrue(os.path.isdir(path))
        self.assertEqual(0o755, os.stat(path).st_mode & 0o777)

    def test_create_refuses_existing_dir(self):
        path = self.path('uuid')
        os.mkdir(path)
        with open(os.path.join(path, 'keep'), 'w'):
            pass
        error = self.assertRaises(exception.InstanceDirectoryExists,
                                  instance_files.create_dir, path)
        self.assertIn(path, str(error))
        self.assertTrue(os.path.exists(os.path.join(path, 'keep')))

    def test_remove(self):
        path = self.path('uuid')
        os.makedirs(os.path.join(path, 'sub'))
        instance_files.remove_dir(path)
        self.assertFalse(os.path.exists(path))

    def test_remove_missing_is_fine(self):
        instance_files.remove_dir(self.path('never'))


class TestDisks(FilesTestCase):

    def setUp(self):
        super().setUp()
        self.require_qemu_img()

    def image(self, fmt='qcow2', size='64M', name='base'):
        path = self.path('%s.%s' % (name, fmt))
        subprocess.run(['qemu-img', 'create', '-q', '-f', fmt, path, size],
                       check=True)
        return path

    def test_overlay_of_qcow2(self):
        base = self.image()
        disk = self.path('disk')
        instance_files.create_overlay(disk, base, 'qcow2')
        info = self.info(disk)
        self.assertEqual((base, 'qcow2', 64 << 20),
                         (info['backing-filename'],
                          info['backing-filename-format'],
                          info['virtual-size']))

    def test_overlay_of_raw(self):
        base = self.image('raw')
        disk = self.path('disk')
        instance_files.create_overlay(disk, base, 'raw')
        self.assertEqual('raw', self.info(disk)['backing-filename-format'])

    def test_backing_path_is_absolute(self):
        base = self.image()
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.tmp)
        instance_files.create_overlay(self.path('disk'),
                                      os.path.basename(base), 'qcow2')
        self.assertEqual(base, self.info(self.path('disk'))[
            'backing-filename'])

    def test_overlay_grows_to_flavor_size(self):
        disk = self.path('disk')
        instance_files.create_overlay(disk, self.image(), 'qcow2',
                                      size_gb=2)
        self.assertEqual(2 * GiB, self.info(disk)['virtual-size'])

    def test_overlay_never_shrinks_below_image(self):
        disk = self.path('disk')
        instance_files.create_overlay(disk, self.image(size='3G'), 'qcow2',
                                      size_gb=1)
        self.assertEqual(3 * GiB, self.info(disk)['virtual-size'])

    def test_format_given_not_probed(self):
        # A qcow2 file declared raw is read as raw: its header is data.
        base = self.image('qcow2')
        disk = self.path('disk')
        instance_files.create_overlay(disk, base, 'raw')
        info = self.info(disk)
        self.assertEqual('raw', info['backing-filename-format'])
        self.assertEqual(instance_files.image_info(base, 'raw')[
            'virtual-size'], info['virtual-size'])
        self.assertNotEqual(64 << 20, info['virtual-size'])

    def test_unusable_format(self):
        error = self.assertRaises(
            exception.InvalidImage, instance_files.create_overlay,
            self.path('disk'), self.image(), 'iso')
        self.assertIn("format 'iso' cannot back a disk", str(error))
        self.assertFalse(os.path.exists(self.path('disk')))

    def test_unreadable_image(self):
        bad = self.path('bad.qcow2')
        with open(bad, 'wb') as f:
            f.write(b'not a qcow2 image at all')
        error = self.assertRaises(
            exception.InvalidImage, instance_files.create_overlay,
            self.path('disk'), bad, 'qcow2')
        self.assertIn('Image %s: qemu-img info failed' % bad, str(error))

    def test_missing_qemu_img(self):
        with mock.patch.object(processutils, 'execute',
                               side_effect=OSError(2, 'No such file')):
            error = self.assertRaises(
                exception.DiskNotCreated, instance_files.create_blank,
                self.path('disk'), 1)
        self.assertIn('qemu-utils', str(error))

    def test_full_disk_names_the_disk_not_its_size(self):
        disk = self.path('disk')
        full = processutils.ProcessExecutionError(
            exit_code=1, stderr="qemu-img: %s: Could not write qcow2 "
            "header: No space left on device\n" % disk)
        for create in (lambda: instance_files.create_blank(disk, 10),
                       lambda: instance_files.create_overlay(
                           disk, self.image(), 'qcow2', 10)):
            with mock.patch.object(instance_files, 'image_info',
                                   return_value={'virtual-size': 1}), \
                    mock.patch.object(processutils, 'execute',
                                      side_effect=full):
                error = self.assertRaises(exception.DiskNotCreated, create)
            self.assertTrue(str(error).startswith(
                'Cannot create disk %s: qemu-img create failed: ' % disk),
                error)
            self.assertIn('No space left on device', str(error))
            self.assertNotIn(str(10 * GiB), str(error))

    def test_blank(self):
        disk = self.path('disk')
        instance_files.create_blank(disk, 4)
        info = self.info(disk)
        self.assertEqual(4 * GiB, info['virtual-size'])
        self.assertNotIn('backing-filename', info)


class TestConsoleLog(FilesTestCase):

    def log(self, data):
        path = self.path('console.log')
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def test_missing_log_reads_empty(self):
        self.assertEqual('',
                         instance_files.read_console_log(self.path('no')))

    def test_whole_small_log(self):
        path = self.log(b'one\r\ntwo\n')
        self.assertEqual('one\ntwo\n', instance_files.read_console_log(path))

    def test_tail_is_bounded_and_starts_on_a_line(self):
        path = self.log(b''.join(b'line %05d\n' % i for i in range(1000)))
        text = instance_files.read_console_log(path, max_bytes=105)
        self.assertLessEqual(len(text), 105)
        self.assertTrue(text.startswith('line 009'), text)
        self.assertTrue(text.endswith('line 00999\n'))

    def test_default_bound_is_100_kib(self):
        path = self.log(b'x' * 50 + b'\n' + b'y' * (200 * 1024))
        self.assertEqual(100 * 1024, instance_files.MAX_CONSOLE_BYTES)
        # One long line: nothing after its cut start is a whole line.
        self.assertEqual('', instance_files.read_console_log(path))

    def test_ansi_escapes_removed(self):
        path = self.log(b'\x1b[2J\x1b[01;01H\x1b[0m\x1b[35m\x1b[40m'
                        b'UEFI firmware\x1b[0m\r\n\x1b]0;title\x07Shell> '
                        b'\x1b=\x1b(Bdone\n')
        self.assertEqual('UEFI firmware\nShell> done\n',
                         instance_files.read_console_log(path))

    def test_bad_utf8_replaced(self):
        path = self.log(b'ok \xff\xfe\n')
        self.assertEqual('ok \ufffd\ufffd\n',
                         instance_files.read_console_log(path))

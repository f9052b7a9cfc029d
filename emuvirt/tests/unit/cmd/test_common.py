"""Tests of the input parsing every ``emuvirt`` subcommand shares."""

import argparse
import json
import os

import fixtures
import testtools

from emuvirt.cmd import common
from emuvirt import exception
from emuvirt.objects import flavor as flavor_obj


def args(**kwargs):
    values = dict(property=[], flavor='', image=None, kernel=None,
                  ramdisk=None, cmdline=None)
    values.update(kwargs)
    return argparse.Namespace(**values)


class TestParseProperties(testtools.TestCase):

    def test_pairs(self):
        self.assertEqual({}, common.parse_properties([]))
        self.assertEqual(
            {'hw_emulation_architecture': 'aarch64', 'os_command_line':
             'console=ttyAMA0 root=/dev/vda'},
            common.parse_properties([
                'hw_emulation_architecture=aarch64',
                ' os_command_line = console=ttyAMA0 root=/dev/vda ']))

    def test_empty_value(self):
        self.assertEqual({'hw_machine_type': ''},
                         common.parse_properties(['hw_machine_type=']))

    def test_malformed(self):
        for item, shown in (('noequals', 'noequals'),
                            ('=aarch64', '=aarch64'), (' =x', "' =x'"),
                            ('a\nb', "'a\\nb'")):
            exc = self.assertRaises(common.CommandError,
                                    common.parse_properties, [item])
            self.assertIn('--property %s:' % shown, str(exc))
            self.assertIn('KEY=VALUE', str(exc))

    def test_twice(self):
        exc = self.assertRaises(common.CommandError, common.parse_properties,
                                ['hw_cpu_model=a', 'hw_cpu_model=b'])
        self.assertEqual('--property hw_cpu_model: given twice', str(exc))

    def test_command_error_is_an_emuvirt_error(self):
        # main() reports EmuvirtException subclasses as one line, exit 1.
        self.assertTrue(issubclass(common.CommandError,
                                   exception.EmuvirtException))


class TestBuildInstance(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _file(self, name, data=b'\0' * 16):
        path = os.path.join(self.tmp, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def test_defaults(self):
        instance, image_meta = common.build_instance(args())
        self.assertEqual({}, image_meta.properties.to_dict())
        self.assertIsNone(image_meta.disk_format)
        self.assertEqual((1, 512, 1), (instance.flavor.vcpus,
                                       instance.flavor.memory_mb,
                                       instance.flavor.root_gb))
        self.assertEqual('instance-%s' % instance.uuid, instance.name)
        self.assertIsNone(instance.image_path)
        self.assertIs(image_meta, instance.image_meta)

    def test_properties_and_flavor(self):
        instance, image_meta = common.build_instance(args(
            property=['hw_emulation_architecture=arm64'],
            flavor='vcpus=4,ram=2048,disk=20'), name='web1')
        self.assertEqual('aarch64',
                         image_meta.properties.hw_emulation_architecture)
        self.assertEqual((4, 2048, 20), (instance.flavor.vcpus,
                                         instance.flavor.memory_mb,
                                         instance.flavor.root_gb))
        self.assertEqual('web1', instance.name)

    def test_cmdline_is_os_command_line(self):
        _instance, image_meta = common.build_instance(args(
            kernel=self._file('vmlinuz'), cmdline='console=ttyS0'))
        self.assertEqual('console=ttyS0',
                         image_meta.properties.os_command_line)

    def test_unknown_property(self):
        exc = self.assertRaises(exception.InvalidImageProperty,
                                common.build_instance,
                                args(property=['hw_emulation_arch=aarch64']))
        self.assertIn('hw_emulation_arch', str(exc))
        self.assertIn('unknown image property', str(exc))

    def test_bad_value(self):
        exc = self.assertRaises(exception.InvalidImageProperty,
                                common.build_instance,
                                args(property=['hw_disk_bus=floppy']))
        self.assertIn('hw_disk_bus', str(exc))
        self.assertIn('floppy', str(exc))

    def test_bad_flavor_key(self):
        exc = self.assertRaises(flavor_obj.InvalidFlavorSpec,
                                common.build_instance, args(flavor='cpus=2'))
        self.assertIn('--flavor key cpus', str(exc))

    def test_boot_files_made_absolute(self):
        kernel = self._file('vmlinuz')
        ramdisk = self._file('initrd')
        os.mkdir(os.path.join(self.tmp, 'sub'))
        instance, _meta = common.build_instance(args(
            kernel=os.path.join(self.tmp, 'sub', '..', 'vmlinuz'),
            ramdisk=ramdisk))
        self.assertEqual((kernel, ramdisk),
                         (instance.kernel_path, instance.ramdisk_path))

    def test_missing_files(self):
        missing = os.path.join(self.tmp, 'nope')
        for arg, kwargs in (('--kernel', dict(kernel=missing)),
                            ('--image', dict(image=missing)),
                            ('--ramdisk', dict(kernel=self._file('k'),
                                               ramdisk=missing))):
            exc = self.assertRaises(common.CommandError,
                                    common.build_instance, args(**kwargs))
            self.assertEqual('%s %s: no such file' % (arg, missing),
                             str(exc))

    def test_directory_is_not_a_file(self):
        exc = self.assertRaises(common.CommandError, common.build_instance,
                                args(kernel=self.tmp))
        self.assertIn('--kernel', str(exc))

    def test_ramdisk_needs_kernel(self):
        exc = self.assertRaises(common.CommandError, common.build_instance,
                                args(ramdisk=self._file('initrd')))
        self.assertEqual('--ramdisk needs --kernel', str(exc))

    def test_disk_formats(self):
        for name, data, fmt in (('a.iso', b'CD001', 'iso'),
                                ('b.img', b'QFI\xfb\0\0\0\3', 'qcow2'),
                                ('c.img', b'\0' * 512, 'raw'),
                                ('d.qcow2', b'', 'raw')):
            instance, image_meta = common.build_instance(
                args(image=self._file(name, data)))
            self.assertEqual(fmt, image_meta.disk_format, name)
            self.assertEqual(os.path.join(self.tmp, name),
                             instance.image_path)


class TestEdges(TestBuildInstance):
    """Bad values are refused in one line naming the argument."""

    def _refused(self, exc=exception.Invalid, **kwargs):
        name = kwargs.pop('name', None)
        e = self.assertRaises(exc, common.build_instance, args(**kwargs),
                              name=name)
        self.assertEqual(1, len(str(e).splitlines()), str(e))
        return str(e)

    def test_names(self):
        for name in ('', '../x', 'x\n', 'a b', 'a' * 64):
            self.assertTrue(self._refused(name=name).startswith('--name '))
        e = self.assertRaises(exception.Invalid, common.build_instance,
                              args(), name='a/b', name_arg='NAME')
        self.assertTrue(str(e).startswith("NAME 'a/b': use 1 to 63"))

    def test_paths(self):
        kernel = self._file('vmlinuz')
        for arg, path in (('--kernel', kernel + '\x01'),
                          ('--image', '/x\udcff'),
                          ('--ramdisk', '')):
            kwargs = {arg[2:]: path}
            if arg == '--ramdisk':
                kwargs['kernel'] = kernel
            msg = self._refused(**kwargs)
            self.assertTrue(msg.startswith(arg + ' '), msg)

    def test_cmdline(self):
        kernel = self._file('vmlinuz')
        self.assertIn("--cmdline 'a\\nb': control character \\n",
                      self._refused(kernel=kernel, cmdline='a\nb'))
        msg = self._refused(kernel=kernel, cmdline='x' * 5000)
        self.assertIn('--cmdline ', msg)

    def test_unreadable_image(self):
        # A file that vanished or turned into a directory after the check.
        image = os.path.join(self.tmp, 'disk.img')
        os.mkdir(image)
        self.useFixture(fixtures.MockPatch('os.path.isfile',
                                           side_effect=lambda p: p == image))
        self.assertIn('--image %s: cannot read: Is a directory' % image,
                      self._refused(image=image))


class TestPropertyFiles(TestBuildInstance):

    def _props(self, name, data):
        self.tmp = self.useFixture(fixtures.TempDir()).path
        kernel = self._file('vmlinuz')
        self._file('vmlinuz' + name, data)
        return common.build_instance(args(kernel=kernel))[1].properties

    def _refused(self, name, data):
        e = self.assertRaises(common.CommandError, self._props, name, data)
        self.assertEqual(1, len(str(e).splitlines()), str(e))
        self.assertIn('vmlinuz' + name, str(e))
        return str(e)

    def test_duplicates_refused_like_property(self):
        self.assertIn('.properties line 3: hw_disk_bus given twice (first '
                      'on line 1)', self._refused(
                          '.properties', b'hw_disk_bus=scsi\n# x\n'
                          b'hw_disk_bus=virtio\n'))
        self.assertIn('.json: property hw_disk_bus given twice',
                      self._refused('.json', b'{"hw_disk_bus": "scsi", '
                                    b'"hw_disk_bus": "virtio"}'))

    def test_deep_json(self):
        for data in (b'[' * 60000, b'{"a":' * 5000 + b'1' + b'}' * 5000):
            msg = self._refused('.json', data)
            self.assertIn('nested deeper than 16', msg)
        self.assertIn('property hw_disk_bus: expected a string',
                      self._refused('.json', b'{"hw_disk_bus": [["x"]]}'))
        # Brackets inside strings are text.
        props = self._props('.json', json.dumps(
            {'os_command_line': '[' * 50 + '{' * 50}).encode())
        self.assertEqual('[' * 50 + '{' * 50, props.os_command_line)

    def test_size_cap(self):
        self.assertIn('larger than 64 KiB', self._refused(
            '.properties', b'# x\n' * 20000))

    def test_encoding(self):
        self.assertIn('not UTF-8 (byte 16)', self._refused(
            '.properties', b'os_command_line=\xff\xfe'))
        props = self._props('.properties',
                            '\ufeffhw_disk_bus=scsi\n'.encode())
        self.assertEqual('scsi', props.hw_disk_bus)

    def test_values_checked(self):
        self.assertIn("Image property os_command_line: 'a\\x00b'",
                      self._refused('.json', b'{"os_command_line": '
                                    b'"a\\u0000b"}'))
        self.assertIn("Image property '': unknown image property",
                      self._refused('.json', b'{"": "x"}'))
        self.assertIn("line 1: expected KEY=VALUE, got 'a\\x1bb'",
                      self._refused('.properties', b'a\x1bb\n'))


class TestArguments(testtools.TestCase):

    def test_add_image_arguments(self):
        parser = argparse.ArgumentParser()
        common.add_image_arguments(parser)
        ns = parser.parse_args(['--property', 'a=1', '--property', 'b=2',
                                '--flavor', 'vcpus=2', '--kernel', 'k'])
        self.assertEqual(['a=1', 'b=2'], ns.property)
        self.assertEqual(('vcpus=2', 'k', None, None, None),
                         (ns.flavor, ns.kernel, ns.ramdisk, ns.cmdline,
                          ns.image))


class TestLoadConfig(testtools.TestCase):

    def setUp(self):
        super().setUp()
        from oslo_config import fixture as config_fixture

        from emuvirt import conf
        self.useFixture(config_fixture.Config(conf.CONF))
        self.stderr = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', __import__('io').StringIO())).new_value

    def _warn(self, debug):
        import logging
        common.load_config(argparse.Namespace(config_file=[],
                                              debug=debug), 'emuvirt')
        logging.getLogger('emuvirt.test').warning('libvirt went away')
        return self.stderr.getvalue()

    def test_a_warning_is_one_plain_line(self):
        self.assertEqual('emuvirt: WARNING: libvirt went away\n',
                         self._warn(debug=False))

    def test_debug_keeps_the_full_log_format(self):
        line = self._warn(debug=True)
        self.assertIn('WARNING emuvirt.test', line)
        self.assertNotIn('emuvirt: WARNING', line)

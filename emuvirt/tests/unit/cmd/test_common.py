"""Tests of the input parsing every ``emuvirt`` subcommand shares."""

import argparse
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
        for item in ('noequals', '=aarch64', ' =x'):
            exc = self.assertRaises(common.CommandError,
                                    common.parse_properties, [item])
            self.assertIn('--property %s' % item, str(exc))
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

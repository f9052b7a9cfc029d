"""``emuvirt guest-xml`` end to end: command line -> config -> driver -> XML.

Runs :func:`emuvirt.cmd.emuvirt.main` as the console script does, with a
config file, against the fake libvirt of a captured host. Bad input must
end with status 1, one line on stderr naming the property, option or
argument at fault, and nothing on stdout.
"""

import io
import logging
import os

import fixtures
from lxml import etree

from emuvirt.cmd import emuvirt as emuvirt_cmd
from emuvirt.tests.functional import test_base
from emuvirt.virt.libvirt import metadata

FOREIGN = ('aarch64', 's390x', 'ppc64le', 'mipsel', 'riscv64')


class RootLoggerState(fixtures.Fixture):
    """Undo what oslo.log's setup() does to the root logger."""

    def _setUp(self):
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level

        def restore():
            root.handlers[:] = handlers
            root.setLevel(level)
        self.addCleanup(restore)


class TestGuestXMLCommand(test_base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.instances = os.path.join(self.tmp, 'instances')
        self.useFixture(RootLoggerState())
        self.fake = self.use_host('x86_64')

    def write_config(self, text=''):
        path = os.path.join(self.tmp, 'emuvirt.conf')
        with open(path, 'w') as f:
            f.write('[libvirt]\ninstances_path = %s\n' % self.instances + text)
        return path

    def file(self, name, data=b'\0' * 16):
        path = os.path.join(self.tmp, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def run_cmd(self, *argv, config=''):
        stdout, stderr = io.StringIO(), io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', stdout))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        status = emuvirt_cmd.main(
            ['--config-file', self.write_config(config), 'guest-xml'] +
            list(argv))
        return status, stdout.getvalue(), stderr.getvalue()

    def xml(self, *argv, config=''):
        status, out, err = self.run_cmd(*argv, config=config)
        self.assertEqual((0, ''), (status, err), out)
        return etree.fromstring(out)

    def refused(self, *argv, config=''):
        """Status 1, nothing on stdout, one line on stderr (returned)."""
        status, out, err = self.run_cmd(*argv, config=config)
        self.assertEqual(1, status, err)
        self.assertEqual('', out)
        self.assertEqual(1, err.count('\n'), err)
        self.assertTrue(err.startswith('emuvirt: error: '), err)
        return err

    # -- output -----------------------------------------------------------

    def test_each_foreign_arch(self):
        kernel = self.file('vmlinuz')
        for arch in FOREIGN:
            # mipsel boots nothing without a kernel (test_mipsel_...).
            extra = ['--kernel', kernel] if arch == 'mipsel' else []
            dom = self.xml('--property', 'hw_emulation_architecture=' + arch,
                           *extra)
            self.assertEqual(arch, dom.find('os/type').get('arch'))
            self.assertEqual('qemu', dom.get('type'), arch)
            self.assertEqual('/usr/bin/qemu-system-' + arch,
                             dom.findtext('devices/emulator'))
            record = metadata.InstanceRecord.parse_dom(
                dom.find('metadata')[0])
            self.assertEqual(arch, record.guest_arch)

    def test_native_guest(self):
        dom = self.xml()
        self.assertEqual(('kvm', 'x86_64'),
                         (dom.get('type'), dom.find('os/type').get('arch')))

    def test_x86_64_on_aarch64_host(self):
        self.fake = self.use_host('aarch64')
        dom = self.xml('--property', 'hw_emulation_architecture=x86_64')
        self.assertEqual(('qemu', 'x86_64', 'maximum'),
                         (dom.get('type'), dom.find('os/type').get('arch'),
                          dom.find('cpu').get('mode')))

    def test_a_dry_run(self):
        """Nothing defined, nothing created on the host."""
        dom = self.xml('--property', 'hw_emulation_architecture=aarch64')
        self.assertEqual([], self.fake.connection.listAllDomains())
        self.assertTrue(dom.findtext('os/nvram').startswith(
            self.instances + '/'))
        self.assertFalse(os.path.exists(self.instances))

    def test_aarch64_uefi_under_instances_path(self):
        dom = self.xml('--property', 'hw_emulation_architecture=arm64')
        self.assertEqual('/usr/share/AAVMF/AAVMF_CODE.fd',
                         dom.findtext('os/loader'))
        nvram = dom.findtext('os/nvram')
        self.assertTrue(nvram.startswith(self.instances + '/'), nvram)

    def test_prepare_dir_for_a_hand_define(self):
        """virsh define + start of the output needs the instance dir.

        libvirt creates the nvram and console log files, not their
        directory: --prepare-dir creates it (empty), and nothing else.
        """
        dom = self.xml('--property', 'hw_emulation_architecture=aarch64',
                       '--prepare-dir')
        inst_dir = os.path.dirname(dom.findtext('os/nvram'))
        self.assertEqual(os.path.join(self.instances, dom.findtext('uuid')),
                         inst_dir)
        self.assertEqual([], os.listdir(inst_dir))

    def test_bad_input_prepares_no_directory(self):
        self.refused('--property', 'hw_emulation_architecture=sparc9',
                     '--prepare-dir')
        self.assertFalse(os.path.exists(self.instances))

    def test_flavor_and_name(self):
        dom = self.xml('--property', 'hw_emulation_architecture=s390x',
                       '--flavor', 'vcpus=4,ram=2048,disk=5',
                       '--name', 'web1')
        self.assertEqual(('web1', '4', '2048'),
                         (dom.findtext('name'), dom.findtext('vcpu'),
                          dom.findtext('memory')))
        self.assertEqual('MiB', dom.find('memory').get('unit'))

    def test_direct_kernel(self):
        kernel, ramdisk = self.file('vmlinuz'), self.file('initrd')
        dom = self.xml('--property', 'hw_emulation_architecture=aarch64',
                       '--kernel', kernel, '--ramdisk', ramdisk,
                       '--cmdline', 'console=ttyAMA0 rdinit=/init')
        self.assertEqual((kernel, ramdisk, 'console=ttyAMA0 rdinit=/init'),
                         (dom.findtext('os/kernel'),
                          dom.findtext('os/initrd'),
                          dom.findtext('os/cmdline')))
        self.assertIsNone(dom.find('os/loader'))
        self.assertIsNone(dom.find('features/acpi'))

    def test_iso_image(self):
        iso = self.file('installer.iso', b'CD001')
        dom = self.xml('--property', 'hw_emulation_architecture=aarch64',
                       '--image', iso)
        cdroms = dom.findall("devices/disk[@device='cdrom']")
        self.assertEqual([(iso, 'scsi')],
                         [(d.find('source').get('file'),
                           d.find('target').get('bus')) for d in cdroms])

    def test_options_from_config_file(self):
        dom = self.xml(
            '--property', 'hw_emulation_architecture=aarch64',
            config='num_pcie_ports = 2\ntb_cache_size = 128\n'
                   '[emulation]\ncpu_models = aarch64=cortex-a57\n')
        self.assertEqual(2, len(dom.findall(
            "devices/controller[@model='pcie-root-port']")))
        self.assertEqual('128', dom.findtext('features/tcg/tb-cache'))
        self.assertEqual('cortex-a57', dom.findtext('cpu/model'))

    def test_machine_option_keyed_by_guest_arch(self):
        config = 'hw_machine_type = x86_64=pc\n'
        dom = self.xml('--property', 'hw_emulation_architecture=aarch64',
                       config=config)
        self.assertEqual('virt-7.2', dom.find('os/type').get('machine'))
        dom = self.xml(config=config)
        self.assertEqual('pc-i440fx-7.2', dom.find('os/type').get('machine'))

    # -- refusals ---------------------------------------------------------

    def test_unknown_property(self):
        err = self.refused('--property', 'hw_emulation_arch=aarch64')
        self.assertIn('hw_emulation_arch: unknown image property', err)

    def test_bad_values(self):
        for prop in ('hw_video_model=bogus',
                     'hw_emulation_architecture=sparcy',
                     'hw_boot_menu=maybe', 'hw_video_ram=-1'):
            err = self.refused('--property', prop)
            self.assertIn('Image property %s:' % prop.split('=')[0], err)

    def test_malformed_property(self):
        err = self.refused('--property', 'hw_machine_type')
        self.assertIn('--property hw_machine_type', err)

    def test_bad_flavor_key(self):
        err = self.refused('--flavor', 'vcpus=2,cpus=2')
        self.assertIn('--flavor key cpus', err)

    def test_bad_flavor_value(self):
        err = self.refused('--flavor', 'ram=lots')
        self.assertIn('--flavor key ram', err)

    def test_missing_kernel(self):
        missing = os.path.join(self.tmp, 'vmlinuz')
        err = self.refused('--kernel', missing)
        self.assertIn('--kernel %s: no such file' % missing, err)

    def test_arch_not_enabled(self):
        err = self.refused(
            '--property', 'hw_emulation_architecture=s390x',
            config='[emulation]\nenabled_architectures = aarch64\n')
        self.assertIn('s390x', err)
        self.assertIn('[emulation]enabled_architectures', err)

    def test_arch_without_emulator(self):
        self.fake.remove_arch('riscv64')
        err = self.refused('--property', 'hw_emulation_architecture=riscv64')
        self.assertIn('riscv64', err)
        self.assertIn('no emulator', err)

    def test_arch_refusals(self):
        for props, name in (
                (['hw_emulation_architecture=mipsel',
                  'hw_console_type=spice', '--kernel'], 'hw_console_type'),
                (['hw_emulation_architecture=s390x',
                  'hw_pointer_model=usbtablet'], 'hw_pointer_model'),
                (['hw_emulation_architecture=mipsel', 'hw_cpu_model=24Kf',
                  '--kernel'], 'hw_cpu_model'),
                (['hw_emulation_architecture=aarch64',
                  'hw_firmware_type=bios'], 'hw_firmware_type'),
                (['hw_emulation_architecture=aarch64',
                  'hw_machine_type=pseries'], 'hw_machine_type'),
                (['hw_emulation_architecture=ppc64le',
                  'hw_cdrom_bus=ide'], 'hw_cdrom_bus')):
            argv = []
            for prop in props:
                argv += (['--kernel', self.file('vmlinuz')]
                         if prop == '--kernel' else ['--property', prop])
            err = self.refused(*argv)
            self.assertIn(name, err)

    def test_mipsel_without_a_kernel_refused(self):
        # An image-only guest: malta has no firmware that boots a disk.
        disk = self.file('disk.qcow2')
        for argv in (['--image', disk], []):
            err = self.refused('--property', 'hw_emulation_architecture='
                               'mipsel', *argv)
            self.assertEqual(
                'emuvirt: error: mipsel guests cannot boot without a kernel '
                '(QEMU has no firmware for its malta machine that boots a '
                'disk or cdrom image): give the guest a kernel (emuvirt '
                'server create --kernel; Nova: image property kernel_id)\n',
                err)

    def test_bad_option_in_config_file(self):
        err = self.refused(config='hw_machine_type = nope=virt\n')
        self.assertIn('[libvirt]hw_machine_type', err)

    def test_machine_from_option_not_offered(self):
        err = self.refused('--property', 'hw_emulation_architecture=s390x',
                           config='hw_machine_type = s390x=virt\n')
        self.assertIn('[libvirt]hw_machine_type', err)
        self.assertIn('s390-ccw-virtio-7.2', err)


class TestHostileInput(TestGuestXMLCommand):
    """The breaks of issue 9: one line naming the argument, no traceback."""

    def test_control_characters_nul_and_bad_utf8(self):
        kernel = self.file('vmlinuz')
        for argv, start in (
                (['--kernel', kernel, '--cmdline', 'a\x00b'], '--cmdline '),
                (['--kernel', kernel, '--cmdline', 'a\nb'], '--cmdline '),
                (['--kernel', kernel, '--cmdline', 'a\udcffb'],
                 '--cmdline '),
                (['--kernel', kernel + '\x01'], '--kernel '),
                (['--image', kernel + '\udcff'], '--image '),
                (['--name', 'a\x00'], '--name '),
                (['--property', 'os_command_line=\x1b[2J'],
                 'Image property os_command_line: '),
                (['--property', 'hw_machine_type=vi\nrt'],
                 'Image property hw_machine_type: ')):
            err = self.refused(*argv)
            self.assertTrue(err.startswith('emuvirt: error: ' + start), err)

    def test_property_file_values_and_depth(self):
        kernel = self.file('vmlinuz')
        self.file('vmlinuz.json', b'{"os_command_line": "a\\u0000b"}')
        self.assertIn("vmlinuz.json: Image property os_command_line: "
                      "'a\\x00b'", self.refused('--kernel', kernel))
        self.file('vmlinuz.json', b'{"a": ' * 5000 + b'1' + b'}' * 5000)
        self.assertIn('vmlinuz.json: nested deeper than 16',
                      self.refused('--kernel', kernel))
        self.file('vmlinuz.json', b'{"hw_disk_bus": "scsi", '
                                  b'"hw_disk_bus": "virtio"}')
        self.assertIn('vmlinuz.json: property hw_disk_bus given twice',
                      self.refused('--kernel', kernel))

    def test_names(self):
        for name in ('../x', 'x\n', 'a b', ' x', ''):
            self.assertIn('--name %r: use 1 to 63' % name,
                          self.refused('--name', name))
        self.assertFalse(os.path.exists(self.instances))

    def test_huge_flavors(self):
        for flavor, text in (
                ('vcpus=100000', 'key vcpus: 100000 is more than 4096'),
                ('ram=' + '9' * 25, 'key ram: %s is more than'
                 % ('9' * 25)),
                ('vcpus=600', 'Flavor vcpus=600: the aarch64 machine '
                 'virt-7.2 takes at most 512'),
                ('ram=99999', "Flavor ram=99999: more than this host's "
                 'memory')):
            self.assertIn(text, self.refused(
                '--property', 'hw_emulation_architecture=aarch64',
                '--flavor', flavor))

    def test_old_aarch64_machines_refused_naming_the_property(self):
        err = self.refused('--property', 'hw_emulation_architecture=aarch64',
                           '--property', 'hw_machine_type=virt-4.0')
        self.assertIn("Machine type 'virt-4.0' for aarch64 (from image "
                      "property hw_machine_type) cannot be used: QEMU cannot "
                      "start it under TCG", err)
        self.assertIn('usable: virt, virt-7.2', err)
        dom = self.xml('--property', 'hw_emulation_architecture=aarch64',
                       '--property', 'hw_machine_type=virt-6.2')
        self.assertEqual('virt-6.2', dom.find('os/type').get('machine'))

    def test_other_boards_refused(self):
        err = self.refused('--property', 'hw_emulation_architecture=aarch64',
                           '--property', 'hw_machine_type=akita')
        self.assertIn('emuvirt builds aarch64 guests on machine family virt '
                      'only', err)

    def test_messages(self):
        err = self.refused('--property', 'hw_video_model=' + 'v\n' * 500)
        self.assertIn("Image property hw_video_model: 'v\\nv\\n", err)
        self.assertIn('(999 characters)', err)
        err = self.refused('--property', 'hw_machine_type=nope')
        self.assertLess(len(err), 400)
        self.assertIn(' more', err)
        kernel = self.file('vmlinuz')
        self.file('vmlinuz.json', b'{"": "x"}')
        self.assertIn("Image property '': unknown image property",
                      self.refused('--kernel', kernel))
        self.assertIn('emuvirt: error: Image property hw_emulation_'
                      'architecture=sparc64: emuvirt builds guests of',
                      self.refused('--property',
                                   'hw_emulation_architecture=sparc64'))

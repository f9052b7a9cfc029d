"""Tests of UEFI firmware selection from QEMU firmware descriptors."""

import json
import os
import shutil

import fixtures
import testtools

from emuvirt import exception
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.virt.libvirt import caps
from emuvirt.virt.libvirt import firmware

DEBIAN12 = os.path.join(fakelibvirt.HOSTS_DIR, 'x86_64', 'firmware')
AAVMF = '/usr/share/AAVMF/'
OVMF = '/usr/share/OVMF/'


def exists_all(path):
    return True


def domcaps(name, host='x86_64'):
    path = os.path.join(fakelibvirt.HOSTS_DIR, host, 'domcaps', name)
    with open(path, 'rb') as f:
        return caps.parse_domain_capabilities(f.read())


class FirmwareTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.log = self.useFixture(fixtures.FakeLogger())

    def make_dir(self, name, files=(), descriptors=None):
        """A descriptor dir holding some Debian files plus extra ones."""
        path = os.path.join(self.tmp, name)
        os.makedirs(path)
        for f in files:
            shutil.copy(os.path.join(DEBIAN12, f), path)
        for f, content in (descriptors or {}).items():
            with open(os.path.join(path, f), 'w') as out:
                out.write(content if isinstance(content, str)
                          else json.dumps(content))
        return path

    def find(self, arch, machine, dirs, **kwargs):
        kwargs.setdefault('exists', exists_all)
        return firmware.find_uefi(arch, machine, descriptor_dirs=dirs,
                                  **kwargs)


def descriptor(arch='aarch64', machines=('virt-*',), features=(),
               code=AAVMF + 'X_CODE.fd', varstore=AAVMF + 'X_VARS.fd',
               device='flash', interface='uefi', **mapping):
    mapping.setdefault('device', device)
    if device == 'flash':
        mapping.setdefault('executable', {'filename': code,
                                          'format': 'raw'})
        if varstore:
            mapping.setdefault('nvram-template', {'filename': varstore,
                                                  'format': 'raw'})
    return {'interface-types': [interface], 'mapping': mapping,
            'targets': [{'architecture': arch, 'machines': list(machines)}],
            'features': list(features)}


class TestDebian12(FirmwareTestCase):
    """Debian 12's own descriptors, in their real directory layout."""

    def test_aarch64_picks_plain_build(self):
        fw = self.find('aarch64', 'virt-7.2', (DEBIAN12,))
        self.assertEqual(AAVMF + 'AAVMF_CODE.fd', fw.loader)
        self.assertEqual('pflash', fw.loader_type)
        self.assertEqual(AAVMF + 'AAVMF_VARS.fd', fw.nvram_template)
        self.assertFalse(fw.secure)
        self.assertEqual(os.path.join(DEBIAN12, '60-edk2-aarch64.json'),
                         fw.descriptor)
        self.assertNotIn('secure-boot', fw.features)

    def test_aarch64_alias_through_domcaps(self):
        # Descriptors list virt-*: 'virt' alone matches only via domcaps.
        self.assertRaises(exception.FirmwareNotFound, self.find,
                          'aarch64', 'virt', (DEBIAN12,))
        fw = self.find('arm64', 'virt', (DEBIAN12,),
                       domcaps=domcaps('aarch64-virt-7.2-qemu.xml'))
        self.assertEqual(AAVMF + 'AAVMF_CODE.fd', fw.loader)

    def test_aarch64_secure_boot_when_asked(self):
        fw = self.find('aarch64', 'virt-7.2', (DEBIAN12,), secure_boot=True)
        self.assertTrue(fw.secure)
        self.assertEqual(AAVMF + 'AAVMF_CODE.ms.fd', fw.loader)
        self.assertEqual(AAVMF + 'AAVMF_VARS.ms.fd', fw.nvram_template)

    def test_x86_64(self):
        fw = self.find('x86_64', 'pc-q35-7.2', (DEBIAN12,))
        self.assertEqual(OVMF + 'OVMF_CODE_4M.fd', fw.loader)
        self.assertEqual(OVMF + 'OVMF_VARS_4M.fd', fw.nvram_template)
        fw = self.find('x86_64', 'pc-i440fx-7.2', (DEBIAN12,))
        self.assertEqual(OVMF + 'OVMF_CODE_4M.fd', fw.loader)
        # The secure builds need SMM; the caller learns it from features.
        fw = self.find('x86_64', 'pc-q35-7.2', (DEBIAN12,), secure_boot=True)
        self.assertIn('requires-smm', fw.features)

    def test_no_firmware_for_other_arches(self):
        for arch, machine in (('s390x', 's390-ccw-virtio-7.2'),
                              ('ppc64le', 'pseries-7.2'),
                              ('riscv64', 'virt'),
                              ('aarch64', 'sbsa-ref')):
            e = self.assertRaises(exception.FirmwareNotFound, self.find,
                                  arch, machine, (DEBIAN12,))
            self.assertIn(arch, str(e))
            self.assertIn(DEBIAN12, str(e))

    def test_default_dirs(self):
        self.assertEqual(('/etc/qemu/firmware', '/usr/share/qemu/firmware'),
                         firmware.DESCRIPTOR_DIRS)


class TestSelection(FirmwareTestCase):

    def test_only_secure_builds_installed_refused(self):
        path = self.make_dir('d', ['40-edk2-aarch64-secure-enrolled.json',
                                   '50-edk2-aarch64-secure.json'])
        e = self.assertRaises(exception.FirmwareNotFound, self.find,
                              'aarch64', 'virt-7.2', (path,))
        self.assertEqual('UEFI', e.kwargs['kind'])
        self.assertEqual('aarch64', e.kwargs['arch'])
        self.assertIn(path, e.kwargs['paths'])

    def test_nothing_installed(self):
        e = self.assertRaises(exception.FirmwareNotFound, self.find,
                              'aarch64', 'virt-7.2',
                              (os.path.join(self.tmp, 'absent'),))
        self.assertIn('No UEFI firmware found for aarch64', str(e))

    def test_enrolled_keys_alone_refused(self):
        path = self.make_dir('d', descriptors={
            '10-keys.json': descriptor(features=['enrolled-keys'])})
        self.assertRaises(exception.FirmwareNotFound, self.find,
                          'aarch64', 'virt-7.2', (path,))

    def test_secure_request_refuses_plain(self):
        path = self.make_dir('d', ['60-edk2-aarch64.json'])
        e = self.assertRaises(exception.FirmwareNotFound, self.find,
                              'aarch64', 'virt-7.2', (path,),
                              secure_boot=True)
        self.assertIn('UEFI secure-boot', str(e))

    def test_order_by_file_name(self):
        path = self.make_dir('d', descriptors={
            '70-b.json': descriptor(code='/b_CODE.fd'),
            '20-a.json': descriptor(code='/a_CODE.fd')})
        self.assertEqual('/a_CODE.fd',
                         self.find('aarch64', 'virt-7.2', (path,)).loader)

    def test_etc_overrides_and_masks(self):
        usr = self.make_dir('usr', ['60-edk2-aarch64.json'], descriptors={
            '70-other.json': descriptor(code='/other_CODE.fd')})
        etc = self.make_dir('etc', descriptors={
            '60-edk2-aarch64.json': descriptor(code='/etc_CODE.fd')})
        self.assertEqual('/etc_CODE.fd',
                         self.find('aarch64', 'virt-7.2', (etc, usr)).loader)
        # An empty file in /etc masks the packaged descriptor.
        with open(os.path.join(etc, '60-edk2-aarch64.json'), 'w'):
            pass
        self.assertEqual('/other_CODE.fd',
                         self.find('aarch64', 'virt-7.2', (etc, usr)).loader)
        self.assertEqual([os.path.join(usr, '70-other.json')],
                         firmware.list_descriptors((etc, usr)))

    def test_skips_unsuitable_descriptors(self):
        path = self.make_dir('d', descriptors={
            '01-broken.json': '{not json',
            '02-list.json': '[]',
            '03-bios.json': descriptor(interface='bios'),
            '04-x86.json': descriptor(arch='x86_64'),
            '05-machine.json': descriptor(machines=['sbsa-ref']),
            '06-sev.json': descriptor(features=['amd-sev-es']),
            '07-combined.json': descriptor(mode='combined'),
            '08-kernel.json': descriptor(device='kernel'),
            '09-nocode.json': descriptor(executable={}),
            '99-good.json': descriptor(code='/good_CODE.fd'),
            'README': 'not a descriptor'})
        self.assertEqual('/good_CODE.fd',
                         self.find('aarch64', 'virt-7.2', (path,)).loader)

    def test_missing_files_skipped(self):
        path = self.make_dir('d', descriptors={
            '10-gone.json': descriptor(code='/gone_CODE.fd'),
            '20-here.json': descriptor(code='/here_CODE.fd')})
        fw = self.find('aarch64', 'virt-7.2', (path,),
                       exists=lambda p: not p.startswith('/gone'))
        self.assertEqual('/here_CODE.fd', fw.loader)
        self.assertIn('10-gone.json names missing files /gone_CODE.fd',
                      self.log.output)
        self.assertRaises(exception.FirmwareNotFound, self.find,
                          'aarch64', 'virt-7.2', (path,),
                          exists=lambda p: False)

    def test_memory_mapped_rom(self):
        path = self.make_dir('d', descriptors={
            '10-rom.json': descriptor(arch='riscv64', machines=['virt'],
                                      device='memory',
                                      filename='/rv/RISCV_VIRT.fd')})
        fw = self.find('riscv64', 'virt', (path,))
        self.assertEqual(('/rv/RISCV_VIRT.fd', 'rom', None),
                         (fw.loader, fw.loader_type, fw.nvram_template))

    def test_stateless_flash_without_template(self):
        path = self.make_dir('d', descriptors={
            '10-nv.json': descriptor(varstore=None, mode='stateless')})
        fw = self.find('aarch64', 'virt-7.2', (path,))
        self.assertIsNone(fw.nvram_template)

    def test_schema_arch_names(self):
        path = self.make_dir('d', descriptors={
            '10-arm.json': descriptor(arch='arm', code='/AAVMF32_CODE.fd'),
            '20-ia32.json': descriptor(arch='i386', machines=['pc-*'],
                                       code='/OVMF32_CODE.fd')})
        self.assertEqual('/AAVMF32_CODE.fd',
                         self.find('armv7l', 'virt-7.2', (path,)).loader)
        self.assertEqual('/OVMF32_CODE.fd',
                         self.find('i686', 'pc-q35-7.2', (path,)).loader)


class TestDomcapsFallback(FirmwareTestCase):
    """No descriptors: pair the loaders libvirt lists with VARS files."""

    def setUp(self):
        super().setUp()
        self.empty = self.make_dir('empty')

    def test_aarch64_plain_loader_and_vars(self):
        dc = domcaps('aarch64-virt-7.2-qemu.xml')
        fw = self.find('aarch64', 'virt-7.2', (self.empty,), domcaps=dc)
        self.assertEqual(AAVMF + 'AAVMF_CODE.fd', fw.loader)
        self.assertEqual(AAVMF + 'AAVMF_VARS.fd', fw.nvram_template)
        self.assertEqual('pflash', fw.loader_type)
        self.assertFalse(fw.secure)
        self.assertIsNone(fw.descriptor)

    def test_aarch64_secure_loader(self):
        dc = domcaps('aarch64-virt-7.2-qemu.xml')
        fw = self.find('aarch64', 'virt-7.2', (self.empty,), domcaps=dc,
                       secure_boot=True)
        self.assertEqual(AAVMF + 'AAVMF_CODE.ms.fd', fw.loader)
        self.assertEqual(AAVMF + 'AAVMF_VARS.ms.fd', fw.nvram_template)

    def test_x86_64_4m(self):
        dc = domcaps('x86_64-pc-q35-7.2-kvm.xml')
        fw = self.find('x86_64', 'pc-q35-7.2', (self.empty,), domcaps=dc)
        self.assertEqual(OVMF + 'OVMF_CODE_4M.fd', fw.loader)
        self.assertEqual(OVMF + 'OVMF_VARS_4M.fd', fw.nvram_template)

    def test_default_list_is_not_taken_for_other_arches(self):
        # libvirt lists OVMF/AAVMF for s390x too; none of it boots s390x.
        dc = domcaps('s390x-s390-ccw-virtio-7.2-qemu.xml')
        e = self.assertRaises(exception.FirmwareNotFound, self.find,
                              's390x', 's390-ccw-virtio-7.2', (self.empty,),
                              domcaps=dc)
        self.assertIn(OVMF + 'OVMF_CODE.fd', str(e))

    def test_vars_file_must_exist(self):
        dc = domcaps('aarch64-virt-7.2-qemu.xml')
        self.assertRaises(exception.FirmwareNotFound, self.find,
                          'aarch64', 'virt-7.2', (self.empty,), domcaps=dc,
                          exists=lambda p: 'VARS' not in p)

    def test_domcaps_of_another_arch_ignored(self):
        dc = domcaps('aarch64-virt-7.2-qemu.xml')
        self.assertRaises(exception.FirmwareNotFound, self.find,
                          'x86_64', 'pc-q35-7.2', (self.empty,), domcaps=dc)

    def test_descriptors_win_over_domcaps(self):
        path = self.make_dir('d', descriptors={
            '10-a.json': descriptor(code='/desc_CODE.fd')})
        dc = domcaps('aarch64-virt-7.2-qemu.xml')
        fw = self.find('aarch64', 'virt-7.2', (path,), domcaps=dc)
        self.assertEqual('/desc_CODE.fd', fw.loader)

    def test_vars_name(self):
        self.assertEqual('/a/OVMF_VARS_4M.fd',
                         firmware._vars_for('/a/OVMF_CODE_4M.fd'))
        self.assertIsNone(firmware._vars_for('/a/QEMU_EFI.fd'))

"""Tests of the per-architecture profile table."""

import dataclasses

import testtools

from emuvirt import exception
from emuvirt.objects import fields
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.virt import archs
from emuvirt.virt.libvirt import caps

# The guest arches hw_emulation_architecture offers (issue 2, item 6).
OFFERED = ('aarch64', 's390x', 'ppc64le', 'mipsel', 'riscv64', 'x86_64')


def host_caps(host_arch):
    return caps.parse_capabilities(fakelibvirt._load_host(host_arch)[0])


class TestMachineFamily(testtools.TestCase):

    def test_strips_version(self):
        for machine, family in (('virt-7.2', 'virt'), ('virt', 'virt'),
                                ('s390-ccw-virtio-7.2', 's390-ccw-virtio'),
                                ('pseries-2.12', 'pseries'),
                                ('malta', 'malta')):
            self.assertEqual(family, archs.machine_family(machine), machine)

    def test_x86_long_names_map_to_short_families(self):
        for machine, family in (('pc-q35-7.2', 'q35'), ('q35', 'q35'),
                                ('pc-q35-4.0.1', 'q35'),
                                ('pc-i440fx-7.2', 'pc'), ('pc', 'pc')):
            self.assertEqual(family, archs.machine_family(machine), machine)

    def test_suffix_that_is_not_a_version_is_kept(self):
        self.assertEqual('pseries-2.12-sxxm',
                         archs.machine_family('pseries-2.12-sxxm'))


class TestGetProfile(testtools.TestCase):

    def test_offered_arches_have_profiles(self):
        for arch in OFFERED:
            self.assertEqual(arch, archs.get_profile(arch).arch)

    def test_unknown_arch_names_it_and_lists_known(self):
        exc = self.assertRaises(exception.ArchitectureNotSupported,
                                archs.get_profile, 'sparc64')
        self.assertIn('sparc64', str(exc))
        for arch in OFFERED:
            self.assertIn(arch, str(exc))

    def test_lookup_takes_canonical_names_only(self):
        # Callers canonicalise first; an alias is not a profile.
        self.assertRaises(exception.ArchitectureNotSupported,
                          archs.get_profile, 'arm64')

    def test_table_is_read_only(self):
        def set_item(mapping):
            mapping['x'] = None
        self.assertRaises(TypeError, set_item, archs.PROFILES)
        profile = archs.get_profile('aarch64')
        self.assertRaises(TypeError, set_item, profile.families)
        self.assertRaises(dataclasses.FrozenInstanceError, setattr,
                          profile, 'default_machine', 'foo')


class TestFamilies(testtools.TestCase):

    def test_x86_families(self):
        x86 = archs.get_profile('x86_64')
        q35 = x86.family('pc-q35-7.2')
        self.assertEqual(('pcie-root', 'sata'), (q35.pci_root, q35.cdrom_bus))
        pc = x86.family('pc-i440fx-7.2')
        self.assertEqual(('pci-root', 'ide'), (pc.pci_root, pc.cdrom_bus))

    def test_unlisted_family_falls_back_to_star(self):
        x86 = archs.get_profile('x86_64')
        self.assertIs(x86.families['*'], x86.family('microvm'))

    def test_pci_roots(self):
        roots = {arch: archs.get_profile(arch).family(
            archs.get_profile(arch).default_machine).pci_root
            for arch in OFFERED}
        self.assertEqual({'aarch64': 'pcie-root', 'riscv64': 'pcie-root',
                          'x86_64': 'pcie-root', 'ppc64le': 'pci-root',
                          'mipsel': 'pci-root', 's390x': None}, roots)

    def test_ide_only_on_boards_that_have_it(self):
        # x86 pc/q35 and mipsel malta have an IDE controller of their own.
        for arch, profile in archs.PROFILES.items():
            if arch in ('x86_64', 'mipsel'):
                continue
            for name, family in profile.families.items():
                self.assertNotEqual('ide', family.cdrom_bus, (arch, name))
                self.assertNotEqual('virtio', family.cdrom_bus, (arch, name))
            self.assertNotIn('ide', profile.disk_buses, arch)


class TestTableAgainstLibvirt(testtools.TestCase):
    """The table must agree with what libvirt 9.0 offers (captured data)."""

    def test_every_profile_arch_is_canonical(self):
        for arch in archs.PROFILES:
            self.assertEqual(arch, fields.Architecture.canonicalize(arch))

    def test_default_machines_are_offered_on_every_host(self):
        for host_arch in fakelibvirt.host_arches():
            host = host_caps(host_arch)
            for arch, profile in archs.PROFILES.items():
                guest = host.guest(arch)
                self.assertIsNotNone(guest, (host_arch, arch))
                self.assertIsNotNone(
                    guest.resolve_machine(profile.default_machine),
                    (host_arch, arch, profile.default_machine))


class TestProfileValues(testtools.TestCase):
    """The measured facts of DESIGN.md, as the table records them."""

    def test_defaults_are_first_of_allowed(self):
        for profile in archs.PROFILES.values():
            self.assertEqual(profile.disk_buses[0], profile.default_disk_bus)
            if profile.video_models:
                self.assertEqual(profile.video_models[0],
                                 profile.default_video)
            else:
                self.assertIsNone(profile.default_video)

    def test_graphics_needs_a_video_model_and_input(self):
        for profile in archs.PROFILES.values():
            if profile.graphics:
                self.assertTrue(profile.video_models, profile.arch)
                self.assertIsNotNone(profile.default_input_bus,
                                     profile.arch)

    def test_device_defaults_are_first_of_allowed(self):
        for profile in archs.PROFILES.values():
            self.assertEqual(profile.nic_models[0],
                             profile.default_nic_model)
            self.assertEqual(profile.scsi_models[0],
                             profile.default_scsi_model)
            self.assertEqual(profile.rng_models[0],
                             profile.default_rng_model)
            self.assertEqual(profile.input_buses[0],
                             profile.default_input_bus)
            # Every arch keeps its old defaults: virtio NIC, SCSI and RNG.
            self.assertEqual(('virtio', 'virtio-scsi', 'virtio'), (
                profile.default_nic_model, profile.default_scsi_model,
                profile.default_rng_model), profile.arch)

    def test_usb_inputs_only_where_there_is_usb(self):
        for profile in archs.PROFILES.values():
            self.assertEqual(profile.usb_model is not None,
                             'usb' in profile.input_buses, profile.arch)

    def test_measured_device_models(self):
        # Defined and started on libvirt 9.0 / QEMU 7.2 (see archs).
        nics = {a: archs.get_profile(a).nic_models for a in OFFERED}
        self.assertEqual(('virtio',), nics['s390x'])
        self.assertIn('spapr-vlan', nics['ppc64le'])
        self.assertNotIn('e1000e', nics['mipsel'])
        for arch in OFFERED:
            self.assertNotIn('igb', nics[arch])
            self.assertNotIn('lan9118', nics[arch])
            self.assertEqual(arch in ('ppc64le',),
                             'spapr-vlan' in nics[arch], arch)
            scsi = archs.get_profile(arch).scsi_models
            self.assertNotIn('buslogic', scsi)
            self.assertEqual(arch == 'ppc64le', 'ibmvscsi' in scsi, arch)
        self.assertEqual(('virtio-scsi',),
                         archs.get_profile('s390x').scsi_models)
        # ramfb needs fw_cfg DMA, which riscv64 virt lacks.
        self.assertNotIn('ramfb', archs.get_profile('riscv64').video_models)

    def test_serial_ports(self):
        self.assertEqual(
            {'aarch64': (4, 'pci-serial'), 'riscv64': (4, 'pci-serial'),
             's390x': (1, None), 'ppc64le': (4, None), 'mipsel': (3, None),
             'x86_64': (4, None)},
            {a: (archs.get_profile(a).serial_ports,
                 archs.get_profile(a).serial_extra) for a in OFFERED})

    def test_boot_menu_where_the_firmware_has_one(self):
        self.assertEqual(
            {'aarch64', 's390x', 'ppc64le', 'x86_64'},
            {a for a in OFFERED if archs.get_profile(a).boot_menu})

    def test_gic_on_aarch64_only(self):
        for arch in OFFERED:
            self.assertEqual(arch == 'aarch64',
                             bool(archs.get_profile(arch).gic_versions))
        self.assertEqual((('3', None), ('2', 8)),
                         archs.get_profile('aarch64').gic_versions)

    def test_default_machines(self):
        self.assertEqual(
            {'aarch64': 'virt', 'riscv64': 'virt',
             's390x': 's390-ccw-virtio', 'ppc64le': 'pseries',
             'mipsel': 'malta', 'x86_64': 'q35'},
            {a: archs.get_profile(a).default_machine for a in OFFERED})

    def test_aarch64_tcg_prefers_models_without_pointer_auth(self):
        # max emulates pointer authentication, four times slower to boot.
        aarch64 = archs.get_profile('aarch64')
        self.assertTrue(aarch64.tcg_cpu_models)
        self.assertNotIn('max', aarch64.tcg_cpu_models)
        self.assertEqual('uefi', aarch64.firmware)
        self.assertEqual('with-uefi', aarch64.acpi)
        self.assertNotIn('host-model', aarch64.kvm_cpu_modes)

    def test_no_cpu_element_for_mipsel(self):
        self.assertFalse(archs.get_profile('mipsel').cpu_element)

    def test_vcpu_bounds_say_why(self):
        # mipsel: malta's 24Kf has no SMP; x86_64: no IOMMU past 255.
        bounds = {a: p.max_vcpus for a, p in archs.PROFILES.items()
                  if p.max_vcpus is not None}
        self.assertEqual({'mipsel': 1, 'x86_64': 255}, bounds)
        for arch, prof in archs.PROFILES.items():
            self.assertEqual(prof.max_vcpus is None,
                             prof.max_vcpus_reason is None, arch)

    def test_riscv64_never_maximum(self):
        self.assertFalse(archs.get_profile('riscv64').tcg_cpu_maximum)

    def test_s390x_has_sclp_virtio_gpu_and_no_usb(self):
        s390x = archs.get_profile('s390x')
        self.assertTrue(s390x.sclp)
        self.assertFalse(s390x.serial)
        # Nova's recipe: hw_video_model=virtio (virtio-gpu-ccw).
        self.assertEqual(('virtio',), s390x.video_models)
        self.assertEqual(('virtio',), s390x.input_buses)
        self.assertIsNone(s390x.usb_model)
        self.assertEqual((), s390x.firmware_types)

    def test_graphics_matrix(self):
        self.assertEqual(
            {'aarch64': ('vnc', 'spice'), 'ppc64le': ('vnc', 'spice'),
             's390x': ('vnc', 'spice'), 'mipsel': ('vnc',),
             'riscv64': ('vnc',),
             'x86_64': ('vnc', 'spice')},
            {a: archs.get_profile(a).graphics for a in OFFERED})

"""Tests of the guest decisions, against captured libvirt 9.0 data.

Each decision is fed the capabilities and domain capabilities libvirt
reported for the GUEST arch (emuvirt/tests/data/hosts), so a refusal here
is one libvirt itself would make, or one the arch profile makes on its
behalf.
"""

import dataclasses

import fixtures
import testtools

from emuvirt import exception
from emuvirt.objects import image_meta
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.virt import archs
from emuvirt.virt.libvirt import caps
from emuvirt.virt.libvirt import decide

# Canonical default machines in the captured data.
MACHINES = {'aarch64': 'virt-7.2', 'riscv64': 'virt',
            's390x': 's390-ccw-virtio-7.2', 'ppc64le': 'pseries-7.2',
            'mipsel': 'malta', 'x86_64': 'pc-q35-7.2'}
I440FX = 'pc-i440fx-7.2'
FOREIGN_TO_X86 = ('aarch64', 's390x', 'ppc64le', 'mipsel', 'riscv64')


def guest_caps(arch, host='x86_64'):
    data = fakelibvirt._load_host(host)[0]
    return caps.parse_capabilities(data).guest(arch)


def domcaps(arch, machine=None, virt_type='qemu', host='x86_64'):
    data = fakelibvirt._load_host(host)[1][
        (arch, machine or MACHINES[arch], virt_type)]
    return caps.parse_domain_capabilities(data)


def props(**kwargs):
    return image_meta.ImageMetaProps.from_dict(kwargs)


def profile(arch):
    return archs.get_profile(arch)


class TestDomainType(testtools.TestCase):

    def test_kvm_when_asked_and_offered(self):
        self.assertEqual('kvm',
                         decide.domain_type('kvm', guest_caps('x86_64')))

    def test_qemu_for_an_arch_without_kvm(self):
        for arch in FOREIGN_TO_X86:
            self.assertEqual('qemu',
                             decide.domain_type('kvm', guest_caps(arch)),
                             arch)

    def test_qemu_when_asked(self):
        self.assertEqual('qemu',
                         decide.domain_type('qemu', guest_caps('x86_64')))

    def test_qemu_for_a_foreign_guest_even_where_kvm_is_listed(self):
        # x86_64 has a kvm domain in the capabilities; a guest that is
        # foreign to the host (x86_64 on an aarch64 host) still gets TCG.
        self.assertEqual('qemu', decide.domain_type(
            'kvm', guest_caps('x86_64'), foreign=True))


class TestGuestArch(testtools.TestCase):

    def test_emulation_architecture_first(self):
        self.assertEqual('aarch64', decide.guest_arch(
            {'hw_emulation_architecture': 'arm64',
             'hw_architecture': 'x86_64'}, 'x86_64'))

    def test_then_architecture_then_host(self):
        self.assertEqual('ppc64le', decide.guest_arch(
            {'hw_architecture': 'ppc64el'}, 'x86_64'))
        self.assertEqual('s390x', decide.guest_arch({}, 's390x'))

    def test_error_names_the_property_the_value_came_from(self):
        for name in ('hw_emulation_architecture', 'hw_architecture'):
            e = self.assertRaises(exception.InvalidArchitectureName,
                                  decide.guest_arch, {name: 'vax'},
                                  'x86_64')
            self.assertIn(name, str(e))


class TestEmulationEnabled(testtools.TestCase):

    def test_foreign_arch_must_be_listed(self):
        decide.emulation_enabled('s390x', 'x86_64', ['s390x'])
        e = self.assertRaises(exception.ArchitectureNotSupported,
                              decide.emulation_enabled, 's390x', 'x86_64',
                              ['aarch64'])
        self.assertIn('[emulation]enabled_architectures (aarch64)', str(e))

    def test_host_arch_always_allowed(self):
        decide.emulation_enabled('x86_64', 'x86_64', [])


class TestMachineType(testtools.TestCase):

    def _decide(self, image=None, conf_map=None, arch='aarch64',
                gcaps=None):
        return decide.machine_type(props(**(image or {})), conf_map or {},
                                   profile(arch), gcaps or guest_caps(arch))

    def test_profile_default_resolved_to_canonical(self):
        for arch, machine in MACHINES.items():
            name, source = self._decide(arch=arch)
            self.assertEqual(machine, name)
            self.assertEqual('the %s default' % arch, source)

    def test_option_for_the_guest_arch(self):
        name, source = self._decide(conf_map={'aarch64': 'virt-7.1'})
        self.assertEqual('virt-7.1', name)
        self.assertEqual('option [libvirt]hw_machine_type', source)

    def test_option_for_another_arch_is_ignored(self):
        # Keyed by the GUEST arch: the x86_64 entry says nothing about an
        # aarch64 guest, even on an x86_64 host.
        name, source = self._decide(conf_map={'x86_64': 'pc'})
        self.assertEqual('virt-7.2', name)
        self.assertEqual('the aarch64 default', source)

    def test_image_beats_option(self):
        name, source = self._decide(image={'hw_machine_type': 'virt-6.2'},
                                    conf_map={'aarch64': 'virt-7.1'})
        self.assertEqual('virt-6.2', name)
        self.assertEqual('image property hw_machine_type', source)

    def test_aliases_resolve(self):
        self.assertEqual(I440FX, self._decide(
            image={'hw_machine_type': 'pc'}, arch='x86_64')[0])
        self.assertEqual('pc-q35-7.2', self._decide(
            conf_map={'x86_64': 'q35'}, arch='x86_64')[0])
        self.assertEqual('s390-ccw-virtio-7.2', self._decide(
            image={'hw_machine_type': 's390-ccw-virtio'}, arch='s390x')[0])

    def test_empty_image_property_is_unset(self):
        name, source = self._decide(image={'hw_machine_type': ''},
                                    conf_map={'aarch64': 'virt-7.1'})
        self.assertEqual(('virt-7.1', 'option [libvirt]hw_machine_type'),
                         (name, source))

    def _refused(self, **kwargs):
        return self.assertRaises(exception.InvalidMachineType,
                                 self._decide, **kwargs)

    def test_unknown_from_image(self):
        exc = self._refused(image={'hw_machine_type': 'pc'})
        msg = str(exc)
        self.assertIn("'pc'", msg)
        self.assertIn('aarch64', msg)
        self.assertIn('image property hw_machine_type', msg)
        # Lists what libvirt offers for the GUEST arch, not the host's.
        self.assertIn('virt-7.2', msg)
        self.assertNotIn('pc-q35-7.2', msg)

    def test_unknown_from_option(self):
        exc = self._refused(conf_map={'s390x': 'virt'}, arch='s390x')
        msg = str(exc)
        self.assertIn("'virt'", msg)
        self.assertIn('option [libvirt]hw_machine_type', msg)
        self.assertIn('s390-ccw-virtio-7.2', msg)

    def test_machine_of_another_arch_refused(self):
        # malta exists for mipsel, not for ppc64le.
        exc = self._refused(image={'hw_machine_type': 'malta'},
                            arch='ppc64le')
        self.assertIn('pseries-7.2', str(exc))

    def test_default_missing(self):
        gcaps = guest_caps('riscv64')
        gcaps = dataclasses.replace(gcaps, machines=tuple(
            m for m in gcaps.machines if m.name != 'virt'))
        exc = self._refused(arch='riscv64', gcaps=gcaps)
        msg = str(exc)
        self.assertIn("'virt'", msg)
        self.assertIn('the riscv64 default', msg)
        self.assertIn('sifive_u', msg)

    def test_no_machines_at_all(self):
        gcaps = dataclasses.replace(guest_caps('mipsel'), machines=())
        exc = self._refused(arch='mipsel', gcaps=gcaps)
        self.assertIn('offered: none', str(exc))


class TestMachineUsable(testtools.TestCase):
    """Offered machines QEMU would refuse to start are refused first.

    Measured on libvirt 9.0 / QEMU 7.2 by starting every machine type
    offered for each arch under TCG (see emuvirt/virt/archs.py).
    """

    def _decide(self, machine, arch='aarch64', dom_type='qemu', **kwargs):
        return decide.machine_type(
            props(hw_machine_type=machine), {}, profile(arch),
            guest_caps(arch), dom_type=dom_type, **kwargs)

    def _refused(self, machine, arch='aarch64', dom_type='qemu', **kwargs):
        return str(self.assertRaises(
            exception.UnsupportedMachineType, self._decide, machine, arch,
            dom_type, **kwargs))

    def test_aarch64_virt_before_6_2_under_tcg(self):
        for machine in ('virt-2.6', 'virt-4.0', 'virt-6.1'):
            msg = self._refused(machine)
            self.assertIn("Machine type '%s' for aarch64 (from image "
                          "property hw_machine_type)" % machine, msg)
            self.assertIn('MSI-X', msg)
            self.assertIn('usable: virt, virt-7.2, virt-7.1, virt-7.0, '
                          'virt-6.2', msg)
        for machine in ('virt-6.2', 'virt-7.0', 'virt'):
            self.assertEqual(machine if machine != 'virt' else 'virt-7.2',
                             self._decide(machine)[0])

    def test_aarch64_virt_under_kvm_from_2_8(self):
        self.assertEqual('virt-2.8', self._decide('virt-2.8',
                                                  dom_type='kvm')[0])
        self.assertIn('virt-2.8', self._refused('virt-2.7', dom_type='kvm'))

    def test_other_boards_refused(self):
        for arch, machine in (('aarch64', 'akita'), ('aarch64', 'sbsa-ref'),
                              ('ppc64le', 'powernv9'), ('ppc64le', '40p'),
                              ('riscv64', 'sifive_u'), ('mipsel', 'mipssim'),
                              ('x86_64', 'isapc'), ('x86_64', 'microvm')):
            msg = self._refused(machine, arch)
            self.assertIn('machine famil', msg)
            self.assertIn('hw_machine_type', msg)

    def test_pseries_with_transactional_memory(self):
        for machine in ('pseries-2.8', 'pseries-2.11'):
            self.assertIn('transactional memory',
                          self._refused(machine, 'ppc64le'))
        for machine in ('pseries-2.7', 'pseries-2.12', 'pseries-2.12-sxxm'):
            self.assertEqual(machine, self._decide(machine, 'ppc64le')[0])

    def test_recorded_and_option_named(self):
        msg = self._refused(None, recorded='virt-5.0')
        self.assertIn('from the instance record', msg)
        e = self.assertRaises(
            exception.UnsupportedMachineType, decide.machine_type,
            props(), {'aarch64': 'virt-5.0'}, profile('aarch64'),
            guest_caps('aarch64'), dom_type='qemu')
        self.assertIn('from option [libvirt]hw_machine_type', str(e))

    def test_x86_families_and_versions(self):
        for machine in ('pc-i440fx-1.4', 'pc-q35-2.4', 'q35', 'pc'):
            self._decide(machine, 'x86_64')

    def test_without_domain_type_the_family_only(self):
        self.assertEqual('virt-2.6', decide.machine_type(
            props(hw_machine_type='virt-2.6'), {}, profile('aarch64'),
            guest_caps('aarch64'))[0])

    def test_long_offered_list_is_cut(self):
        e = self.assertRaises(exception.InvalidMachineType, self._decide,
                              'nope', 'x86_64')
        self.assertIn(' more', str(e))
        self.assertLess(len(str(e)), 400)


class TestFlavorFit(testtools.TestCase):

    def _fit(self, vcpus=1, ram=512, arch='aarch64', host_mib=None):
        return decide.flavor_fit(vcpus, ram, profile(arch), MACHINES[arch],
                                 domcaps(arch), guest_caps(arch), host_mib)

    def test_within_bounds(self):
        self._fit(512, 4096)
        self._fit(1, 2048, 'mipsel')
        self._fit(255, arch='x86_64')

    def test_vcpus_beyond_the_machine(self):
        for arch, vcpus, most in (('aarch64', 513, 512),
                                  ('mipsel', 2, 1),
                                  ('mipsel', 17, 1),
                                  ('s390x', 249, 248),
                                  ('x86_64', 256, 255)):
            e = self.assertRaises(exception.FlavorNotSupported, self._fit,
                                  vcpus, arch=arch)
            self.assertTrue(str(e).startswith('Flavor vcpus=%d: ' % vcpus),
                            e)
            self.assertIn('at most %d' % most, str(e))
            self.assertNotIn('\n', str(e))

    def test_mipsel_one_vcpu_says_why(self):
        # The domain capabilities offer 16 on malta; the profile's bound
        # is the tighter one, and the refusal says why it is there.
        self.assertEqual(16, domcaps('mipsel').max_vcpus)
        e = self.assertRaises(exception.FlavorNotSupported, self._fit, 2,
                              arch='mipsel')
        self.assertEqual(
            "Flavor vcpus=2: mipsel guests take at most 1 (malta's 24Kf "
            "CPU has no SMP; a guest with more vCPUs never boots)", str(e))

    def test_tightest_bound_is_named(self):
        e = self.assertRaises(exception.FlavorNotSupported, self._fit,
                              300, arch='x86_64')
        self.assertIn('x86_64 guests take at most 255 (more need an IOMMU',
                      str(e))

    def test_ram_beyond_the_board_or_host(self):
        e = self.assertRaises(exception.FlavorNotSupported, self._fit,
                              ram=2049, arch='mipsel')
        self.assertIn('Flavor ram=2049: the mipsel machine malta takes at '
                      'most 2048 MiB', str(e))
        e = self.assertRaises(exception.FlavorNotSupported, self._fit,
                              ram=8192, host_mib=5338)
        self.assertIn("more than this host's memory (5338 MiB)", str(e))
        self._fit(ram=5338, host_mib=5338)


class TestArchProfile(testtools.TestCase):

    def test_profile(self):
        self.assertEqual('s390x', decide.arch_profile({}, 's390x').arch)

    def test_arch_without_profile_names_the_property(self):
        for name in ('hw_emulation_architecture', 'hw_architecture'):
            e = self.assertRaises(exception.ArchitectureNotSupported,
                                  decide.arch_profile, {name: 'sparc64'},
                                  'sparc64')
            self.assertTrue(str(e).startswith(
                'Image property %s=sparc64: emuvirt builds guests of '
                'aarch64, ' % name), e)

    def test_host_arch_without_profile(self):
        e = self.assertRaises(exception.ArchitectureNotSupported,
                              decide.arch_profile, {}, 'sparc64')
        self.assertIn('sparc64', str(e))


class TestCPU(testtools.TestCase):

    def _cpu(self, arch, image=None, conf_models=None, dcaps=None,
             dom_type='qemu'):
        return decide.cpu(props(**(image or {})), conf_models or {},
                          profile(arch), dcaps or domcaps(arch), dom_type)

    def test_aarch64_tcg_first_fast_model_offered(self):
        dcaps = domcaps('aarch64')
        cpu = self._cpu('aarch64', dcaps=dcaps)
        self.assertEqual('custom', cpu.mode)
        expected = [m for m in profile('aarch64').tcg_cpu_models
                    if dcaps.cpu_model_offered(m)][0]
        self.assertEqual(expected, cpu.model)
        self.assertNotEqual('max', cpu.model)

    def test_aarch64_tcg_falls_through_the_list(self):
        # A QEMU that lacks the preferred models: the next one offered.
        dcaps = domcaps('aarch64')
        fast = profile('aarch64').tcg_cpu_models
        dcaps = dataclasses.replace(dcaps, cpu_models=tuple(
            m for m in dcaps.cpu_models if m.name not in fast[:-1]))
        self.assertEqual(fast[-1], self._cpu('aarch64', dcaps=dcaps).model)

    def test_aarch64_tcg_maximum_when_no_model_fits(self):
        dcaps = dataclasses.replace(domcaps('aarch64'), cpu_custom=False)
        cpu = self._cpu('aarch64', dcaps=dcaps)
        self.assertEqual(('maximum', None), (cpu.mode, cpu.model))

    def test_x86_64_tcg_on_aarch64_host_is_maximum(self):
        cpu = self._cpu('x86_64', dcaps=domcaps('x86_64', host='aarch64'))
        self.assertEqual(('maximum', None), (cpu.mode, cpu.model))

    def test_no_cpu_element(self):
        for arch in ('riscv64', 'ppc64le', 's390x', 'mipsel'):
            self.assertIsNone(self._cpu(arch), arch)

    def test_s390x_tcg_has_no_cpu_although_maximum_is_offered(self):
        dcaps = domcaps('s390x')
        self.assertTrue(dcaps.supports_cpu_mode('maximum'))
        self.assertIsNone(self._cpu('s390x', dcaps=dcaps))

    def test_option_overrides_profile(self):
        cpu = self._cpu('aarch64', conf_models={'aarch64': 'max'})
        self.assertEqual(('custom', 'max'), (cpu.mode, cpu.model))

    def test_option_for_another_arch_ignored(self):
        cpu = self._cpu('x86_64', conf_models={'aarch64': 'max'},
                        dcaps=domcaps('x86_64', host='aarch64'))
        self.assertEqual('maximum', cpu.mode)

    def test_image_overrides_option(self):
        cpu = self._cpu('aarch64', image={'hw_cpu_model': 'cortex-a15'},
                        conf_models={'aarch64': 'max'})
        self.assertEqual(('custom', 'cortex-a15'), (cpu.mode, cpu.model))

    def test_ppc64le_model_by_image(self):
        cpu = self._cpu('ppc64le', image={'hw_cpu_model': 'POWER9'})
        self.assertEqual(('custom', 'POWER9'), (cpu.mode, cpu.model))

    def test_model_under_kvm(self):
        cpu = self._cpu('aarch64', image={'hw_cpu_model': 'cortex-a57'},
                        dcaps=domcaps('aarch64', virt_type='kvm',
                                      host='aarch64'),
                        dom_type='kvm')
        self.assertEqual(('custom', 'cortex-a57'), (cpu.mode, cpu.model))

    def test_kvm_host_modes(self):
        x86 = self._cpu('x86_64', dcaps=domcaps('x86_64', virt_type='kvm'),
                        dom_type='kvm')
        self.assertEqual('host-model', x86.mode)
        arm = self._cpu('aarch64', dom_type='kvm', dcaps=domcaps(
            'aarch64', virt_type='kvm', host='aarch64'))
        self.assertEqual('host-passthrough', arm.mode)
        s390x = self._cpu('s390x', dom_type='kvm', dcaps=domcaps(
            's390x', virt_type='kvm', host='s390x'))
        self.assertEqual('host-model', s390x.mode)

    def test_kvm_without_host_modes(self):
        dcaps = dataclasses.replace(
            domcaps('x86_64', virt_type='kvm'), cpu_host_model=False,
            cpu_host_passthrough=False)
        self.assertIsNone(self._cpu('x86_64', dcaps=dcaps, dom_type='kvm'))

    def test_tcg_never_host_modes(self):
        # The x86_64 TCG domcaps offer host-model; a TCG guest still
        # gets maximum.
        dcaps = domcaps('x86_64')
        self.assertTrue(dcaps.supports_cpu_mode('host-model'))
        self.assertEqual('maximum', self._cpu('x86_64', dcaps=dcaps).mode)

    # -- refusals ---------------------------------------------------------

    def test_mipsel_refuses_model_from_image(self):
        exc = self.assertRaises(exception.Invalid, self._cpu, 'mipsel',
                                image={'hw_cpu_model': '24Kf'})
        self.assertIn('image property hw_cpu_model=24Kf', str(exc))
        self.assertIn('mipsel', str(exc))

    def test_mipsel_refuses_model_from_option(self):
        exc = self.assertRaises(exception.Invalid, self._cpu, 'mipsel',
                                conf_models={'mipsel': '24Kf'})
        self.assertIn('option [emulation]cpu_models=24Kf', str(exc))

    def test_model_not_offered_from_image(self):
        exc = self.assertRaises(exception.Invalid, self._cpu, 'aarch64',
                                image={'hw_cpu_model': 'POWER9'})
        msg = str(exc)
        self.assertIn('image property hw_cpu_model=POWER9', msg)
        self.assertIn('aarch64', msg)
        self.assertIn('cortex-a57', msg)

    def test_model_not_offered_from_option(self):
        exc = self.assertRaises(exception.Invalid, self._cpu, 'ppc64le',
                                conf_models={'ppc64le': 'POWER42'})
        msg = str(exc)
        self.assertIn('option [emulation]cpu_models=POWER42', msg)
        self.assertIn('POWER9', msg)

    def test_unusable_model_refused(self):
        # KVM on this host would lose qemu64 features: usable='no'.
        dcaps = domcaps('x86_64', virt_type='kvm')
        exc = self.assertRaises(exception.Invalid, self._cpu, 'x86_64',
                                image={'hw_cpu_model': 'qemu64'},
                                dcaps=dcaps, dom_type='kvm')
        self.assertIn('hw_cpu_model=qemu64', str(exc))

    def test_arch_without_custom_models_refuses_any(self):
        exc = self.assertRaises(exception.Invalid, self._cpu, 'riscv64',
                                image={'hw_cpu_model': 'rv64'})
        self.assertIn('hw_cpu_model=rv64', str(exc))
        self.assertIn('riscv64', str(exc))


class TestBootLoader(testtools.TestCase):
    """What boots a guest without a kernel of its own."""

    UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin'

    def setUp(self):
        super().setUp()
        self.installed = set()
        self.useFixture(fixtures.MonkeyPatch(
            'emuvirt.virt.libvirt.firmware.installed',
            lambda path: path in self.installed))

    def test_riscv64_disk_through_u_boot(self):
        self.installed.add(self.UBOOT)
        self.assertEqual(self.UBOOT,
                         decide.boot_loader(profile('riscv64'), False))

    def test_a_kernel_needs_no_loader(self):
        for arch in FOREIGN_TO_X86 + ('x86_64',):
            self.assertIsNone(decide.boot_loader(profile(arch), True), arch)

    def test_the_firmware_boots_the_disk_itself(self):
        for arch in ('aarch64', 's390x', 'ppc64le', 'x86_64'):
            self.assertIsNone(decide.boot_loader(profile(arch), False),
                              arch)

    def test_u_boot_missing(self):
        exc = self.assertRaises(exception.FirmwareNotFound,
                                decide.boot_loader, profile('riscv64'),
                                False)
        self.assertEqual(
            'No boot loader (Debian package u-boot-qemu) firmware found for '
            'riscv64 guests (looked for %s)' % self.UBOOT, str(exc))

    def test_mipsel_without_a_kernel_refused(self):
        exc = self.assertRaises(exception.KernelRequired,
                                decide.boot_loader, profile('mipsel'), False)
        self.assertEqual(
            'mipsel guests cannot boot without a kernel (QEMU has no '
            'firmware for its malta machine that boots a disk or cdrom '
            'image): give the guest a kernel (emuvirt server create '
            '--kernel; Nova: image property kernel_id)', str(exc))


class TestFirmwareKind(testtools.TestCase):

    def _kind(self, arch, direct_kernel=False, **image):
        return decide.firmware_kind(props(**image), profile(arch),
                                    direct_kernel)

    def test_aarch64_uefi_by_default(self):
        self.assertEqual('uefi', self._kind('aarch64'))

    def test_aarch64_direct_kernel_no_uefi(self):
        self.assertEqual('builtin', self._kind('aarch64', True))

    def test_explicit_uefi_kept_for_direct_kernel(self):
        self.assertEqual('uefi', self._kind('aarch64', True,
                                            hw_firmware_type='uefi'))

    def test_builtin_elsewhere(self):
        for arch in ('s390x', 'ppc64le', 'mipsel', 'riscv64', 'x86_64'):
            self.assertEqual('builtin', self._kind(arch), arch)

    def test_x86_both_types(self):
        self.assertEqual('uefi', self._kind('x86_64',
                                            hw_firmware_type='uefi'))
        self.assertEqual('builtin', self._kind('x86_64',
                                               hw_firmware_type='bios'))

    def test_bios_on_aarch64_refused(self):
        exc = self.assertRaises(exception.InvalidImageProperty, self._kind,
                                'aarch64', hw_firmware_type='bios')
        msg = str(exc)
        self.assertIn('hw_firmware_type', msg)
        self.assertIn('bios', msg)
        self.assertIn('supported: uefi', msg)

    def test_any_type_on_s390x_refused(self):
        for value in ('bios', 'uefi'):
            exc = self.assertRaises(exception.InvalidImageProperty,
                                    self._kind, 's390x',
                                    hw_firmware_type=value)
            self.assertIn('hw_firmware_type', str(exc))
            self.assertIn(value, str(exc))
            self.assertIn('built-in firmware', str(exc))


class TestGraphics(testtools.TestCase):

    def _gfx(self, arch, value, dcaps=None):
        return decide.graphics(props(hw_console_type=value), profile(arch),
                               dcaps or domcaps(arch))

    def test_serial_only(self):
        for value in (None, 'serial', 'none'):
            self.assertIsNone(decide.graphics(
                props(**({'hw_console_type': value} if value else {})),
                profile('aarch64'), domcaps('aarch64')))

    def test_console_matrix_accepted(self):
        for arch, value in (('aarch64', 'vnc'), ('aarch64', 'spice'),
                            ('ppc64le', 'spice'), ('mipsel', 'vnc'),
                            ('riscv64', 'vnc'), ('x86_64', 'spice')):
            self.assertEqual(value, self._gfx(arch, value), arch)

    def _refused(self, arch, value, dcaps=None):
        exc = self.assertRaises(exception.UnsupportedGraphics, self._gfx,
                                arch, value, dcaps)
        self.assertIn('hw_console_type=%s' % value, str(exc))
        self.assertIn(arch, str(exc))
        return str(exc)

    def test_vnc_and_spice_on_s390x(self):
        # virtio-gpu-ccw gives an s390x guest a display.
        for value in ('vnc', 'spice'):
            self.assertEqual(value, self._gfx('s390x', value))

    def test_spice_on_mipsel_and_riscv64_refused(self):
        for arch in ('mipsel', 'riscv64'):
            msg = self._refused(arch, 'spice')
            self.assertIn('serial, vnc', msg)

    def test_type_libvirt_does_not_offer(self):
        dcaps = dataclasses.replace(domcaps('aarch64'),
                                    graphics_types=('vnc',))
        msg = self._refused('aarch64', 'spice', dcaps)
        self.assertIn('libvirt offers no spice', msg)


class TestVideo(testtools.TestCase):

    def _video(self, arch, gfx=None, **image):
        return decide.video(props(**image), profile(arch), domcaps(arch),
                            gfx)

    def test_none_without_graphics(self):
        for arch in MACHINES:
            self.assertIsNone(self._video(arch), arch)

    def test_default_with_graphics(self):
        self.assertEqual('virtio', self._video('aarch64', 'vnc'))
        self.assertEqual('vga', self._video('ppc64le', 'spice'))
        self.assertEqual('virtio', self._video('riscv64', 'vnc'))

    def test_explicit_model(self):
        self.assertEqual('ramfb', self._video('aarch64', 'vnc',
                                              hw_video_model='ramfb'))
        self.assertEqual('bochs', self._video('ppc64le', 'vnc',
                                              hw_video_model='bochs'))
        self.assertIsNone(self._video('aarch64', 'vnc',
                                      hw_video_model='none'))

    def test_qxl_on_aarch64_refused(self):
        exc = self.assertRaises(exception.InvalidImageProperty, self._video,
                                'aarch64', 'vnc', hw_video_model='qxl')
        msg = str(exc)
        self.assertIn('hw_video_model', msg)
        self.assertIn('qxl', msg)
        self.assertIn('supported: virtio, ramfb, vga, bochs, cirrus, vmvga',
                      msg)

    def test_virtio_on_s390x_is_nova_s390x_recipe(self):
        # With graphics or without: virtio-gpu-ccw.
        self.assertEqual('virtio', self._video('s390x',
                                               hw_video_model='virtio'))
        self.assertEqual('virtio', self._video('s390x', 'vnc'))

    def test_ramfb_on_riscv64_refused(self):
        # libvirt offers it; QEMU fails to start it (no fw_cfg DMA).
        exc = self.assertRaises(exception.InvalidImageProperty, self._video,
                                'riscv64', 'vnc', hw_video_model='ramfb')
        self.assertIn('hw_video_model', str(exc))

    def test_vga_on_s390x_refused(self):
        exc = self.assertRaises(exception.InvalidImageProperty, self._video,
                                's390x', hw_video_model='vga')
        self.assertIn('hw_video_model', str(exc))
        self.assertIn('s390x', str(exc))

    def test_model_libvirt_does_not_offer(self):
        # qxl is in the x86_64 profile; a QEMU built without it (domcaps
        # not listing it) refuses it, and the message lists what is left.
        dcaps = dataclasses.replace(domcaps('x86_64'),
                                    video_models=('virtio', 'vga'))
        exc = self.assertRaises(exception.InvalidImageProperty, decide.video,
                                props(hw_video_model='qxl'),
                                profile('x86_64'), dcaps, 'spice')
        self.assertIn('supported: virtio, vga', str(exc))


class TestDiskBus(testtools.TestCase):

    def _bus(self, arch, machine=None, **image):
        return decide.disk_bus(props(**image), profile(arch),
                               domcaps(arch, machine))

    def test_virtio_by_default(self):
        for arch in set(MACHINES) - {'mipsel'}:
            self.assertEqual('virtio', self._bus(arch), arch)

    def test_ide_on_malta(self):
        self.assertEqual('ide', self._bus('mipsel'))
        self.assertEqual('virtio', self._bus('mipsel', hw_disk_bus='virtio'))

    def test_allowed_buses(self):
        self.assertEqual('scsi', self._bus('aarch64', hw_disk_bus='scsi'))
        self.assertEqual('sata', self._bus('x86_64', hw_disk_bus='sata'))
        self.assertEqual('ide', self._bus('x86_64', I440FX,
                                          hw_disk_bus='ide'))

    def test_ide_on_aarch64_refused(self):
        exc = self.assertRaises(exception.InvalidImageProperty, self._bus,
                                'aarch64', hw_disk_bus='ide')
        msg = str(exc)
        self.assertIn('hw_disk_bus', msg)
        self.assertIn('bus ide', msg)
        self.assertIn('supported: virtio, scsi, usb', msg)

    def test_ide_on_q35_refused_as_libvirt_does(self):
        # The q35 domain capabilities list no ide bus.
        exc = self.assertRaises(exception.InvalidImageProperty, self._bus,
                                'x86_64', hw_disk_bus='ide')
        self.assertIn('hw_disk_bus', str(exc))

    def test_usb_on_s390x_refused(self):
        self.assertRaises(exception.InvalidImageProperty, self._bus,
                          's390x', hw_disk_bus='usb')


class TestCdromBus(testtools.TestCase):

    def _bus(self, arch, machine=None, **image):
        machine = machine or MACHINES[arch]
        return decide.cdrom_bus(props(**image), profile(arch), machine,
                                domcaps(arch, machine))

    def test_defaults(self):
        self.assertEqual('scsi', self._bus('aarch64'))
        self.assertEqual('scsi', self._bus('s390x'))
        self.assertEqual('scsi', self._bus('ppc64le'))
        # malta's virtio devices fail to probe; its own IDE works.
        self.assertEqual('ide', self._bus('mipsel'))
        self.assertEqual('scsi', self._bus('riscv64'))
        self.assertEqual('sata', self._bus('x86_64'))
        self.assertEqual('ide', self._bus('x86_64', I440FX))

    def test_ide_refused_where_the_board_has_none(self):
        # Every domcaps offer ide; the profile refuses it but on boards
        # with an IDE controller (x86 pc, mipsel malta).
        for arch in set(FOREIGN_TO_X86) - {'mipsel'}:
            exc = self.assertRaises(exception.InvalidImageProperty,
                                    self._bus, arch, hw_cdrom_bus='ide')
            self.assertIn('hw_cdrom_bus', str(exc), arch)
            self.assertIn('bus ide', str(exc), arch)
            self.assertIn(arch, str(exc))

    def test_virtio_refused_everywhere(self):
        for arch in MACHINES:
            exc = self.assertRaises(exception.InvalidImageProperty,
                                    self._bus, arch, hw_cdrom_bus='virtio')
            self.assertIn('hw_cdrom_bus', str(exc), arch)
            self.assertNotIn('virtio', str(exc).split('supported:')[1],
                             arch)

    def test_other_buses_accepted(self):
        self.assertEqual('usb', self._bus('aarch64', hw_cdrom_bus='usb'))
        self.assertEqual('scsi', self._bus('x86_64', hw_cdrom_bus='scsi'))
        self.assertEqual('ide', self._bus('x86_64', I440FX,
                                          hw_cdrom_bus='ide'))


class _Refusal(testtools.TestCase):

    def assertRefused(self, name, func, *args, **kwargs):
        """One-line refusal naming image property ``name``; its text."""
        exc = self.assertRaises(exception.InvalidImageProperty, func,
                                *args, **kwargs)
        msg = str(exc)
        self.assertIn('Image property %s:' % name, msg)
        self.assertNotIn('\n', msg)
        return msg


class TestVifModel(_Refusal):

    def test_default_is_the_profile_first(self):
        for arch in MACHINES:
            self.assertEqual('virtio', decide.vif_model(props(),
                                                        profile(arch)))

    def test_e1000_on_aarch64(self):
        self.assertEqual('e1000', decide.vif_model(
            props(hw_vif_model='e1000'), profile('aarch64')))

    def test_spapr_vlan_on_ppc64le_only(self):
        self.assertEqual('spapr-vlan', decide.vif_model(
            props(hw_vif_model='spapr-vlan'), profile('ppc64le')))
        msg = self.assertRefused('hw_vif_model', decide.vif_model,
                                 props(hw_vif_model='spapr-vlan'),
                                 profile('x86_64'))
        self.assertIn('model spapr-vlan is not supported for x86_64', msg)

    def test_s390x_takes_virtio_only(self):
        msg = self.assertRefused('hw_vif_model', decide.vif_model,
                                 props(hw_vif_model='e1000'),
                                 profile('s390x'))
        self.assertIn('supported: virtio', msg)

    def test_models_no_arch_takes(self):
        for model in ('igb', 'lan9118', 'netfront', 'sriov', 'vmxnet'):
            for arch in MACHINES:
                self.assertRefused('hw_vif_model', decide.vif_model,
                                   props(hw_vif_model=model), profile(arch))


class TestScsiModel(_Refusal):

    def test_none_unless_asked(self):
        for arch in MACHINES:
            self.assertIsNone(decide.scsi_model(props(), profile(arch)))

    def test_asked(self):
        for arch, model in (('ppc64le', 'ibmvscsi'),
                            ('x86_64', 'vmpvscsi'),
                            ('aarch64', 'lsisas1078'),
                            ('s390x', 'virtio-scsi')):
            self.assertEqual(model, decide.scsi_model(
                props(hw_scsi_model=model), profile(arch)))

    def test_refused(self):
        for arch, model in (('s390x', 'lsilogic'), ('x86_64', 'ibmvscsi'),
                            ('aarch64', 'buslogic')):
            msg = self.assertRefused('hw_scsi_model', decide.scsi_model,
                                     props(hw_scsi_model=model),
                                     profile(arch))
            self.assertIn('model %s is not supported for %s' % (
                model, arch), msg)


class TestRngModel(_Refusal):

    def test_virtio_everywhere(self):
        for arch in MACHINES:
            self.assertEqual('virtio', decide.rng_model(
                props(), profile(arch), domcaps(arch)))
            self.assertEqual('virtio', decide.rng_model(
                props(hw_rng_model='virtio'), profile(arch), domcaps(arch)))

    def test_libvirt_offers_no_rng(self):
        dcaps = dataclasses.replace(domcaps('aarch64'), rng_models=())
        self.assertIsNone(decide.rng_model(props(), profile('aarch64'),
                                           dcaps))
        msg = self.assertRefused('hw_rng_model', decide.rng_model,
                                 props(hw_rng_model='virtio'),
                                 profile('aarch64'), dcaps)
        self.assertIn('supported: none', msg)

    def test_no_random_backend(self):
        dcaps = dataclasses.replace(domcaps('riscv64'),
                                    rng_backends=('egd',))
        self.assertIsNone(decide.rng_model(props(), profile('riscv64'),
                                           dcaps))


class TestGuestAgent(_Refusal):

    def test_off_unless_asked(self):
        self.assertFalse(decide.guest_agent(props(), domcaps('s390x')))
        self.assertFalse(decide.guest_agent(
            props(hw_qemu_guest_agent='no'), domcaps('s390x')))

    def test_on_every_arch(self):
        for arch in MACHINES:
            self.assertTrue(decide.guest_agent(
                props(hw_qemu_guest_agent='yes'), domcaps(arch)), arch)

    def test_no_unix_channel(self):
        dcaps = dataclasses.replace(domcaps('mipsel'),
                                    channel_types=('pty',))
        self.assertRefused('hw_qemu_guest_agent', decide.guest_agent,
                           props(hw_qemu_guest_agent='yes'), dcaps)


class TestInputBus(_Refusal):

    def test_profile_default_with_graphics_only(self):
        for arch in MACHINES:
            self.assertIsNone(decide.input_bus(props(), profile(arch),
                                               None))
        self.assertEqual('usb', decide.input_bus(props(),
                                                 profile('aarch64'), 'vnc'))
        self.assertEqual('virtio', decide.input_bus(
            props(), profile('s390x'), 'vnc'))

    def test_asked_for_even_without_graphics(self):
        self.assertEqual('virtio', decide.input_bus(
            props(hw_input_bus='virtio'), profile('riscv64'), None))
        self.assertEqual('usb', decide.input_bus(
            props(hw_pointer_model='usbtablet'), profile('mipsel'), None))

    def test_input_bus_beats_pointer_model(self):
        self.assertEqual('virtio', decide.input_bus(
            props(hw_input_bus='virtio', hw_pointer_model='usbtablet'),
            profile('x86_64'), 'vnc'))

    def test_usb_on_s390x_refused(self):
        msg = self.assertRefused('hw_input_bus', decide.input_bus,
                                 props(hw_input_bus='usb'), profile('s390x'),
                                 'vnc')
        self.assertIn('input buses: virtio', msg)
        msg = self.assertRefused('hw_pointer_model', decide.input_bus,
                                 props(hw_pointer_model='usbtablet'),
                                 profile('s390x'), None)
        self.assertIn('usbtablet (a USB tablet) is not supported for s390x',
                      msg)


class TestSerialPorts(_Refusal):

    def test_one_unless_asked(self):
        for arch in MACHINES:
            self.assertEqual(1, decide.serial_ports(props(), profile(arch)))

    def test_up_to_the_profile_limit(self):
        for arch in MACHINES:
            limit = profile(arch).serial_ports
            self.assertEqual(limit, decide.serial_ports(
                props(hw_serial_port_count=limit), profile(arch)))
            msg = self.assertRefused(
                'hw_serial_port_count', decide.serial_ports,
                props(hw_serial_port_count=limit + 1), profile(arch))
            self.assertIn('%s guests take 1 to %d' % (arch, limit), msg)

    def test_zero_refused(self):
        self.assertRefused('hw_serial_port_count', decide.serial_ports,
                           props(hw_serial_port_count=0), profile('x86_64'))


class TestBootMenu(_Refusal):

    def test_off_unless_asked(self):
        for arch in MACHINES:
            self.assertFalse(decide.boot_menu(props(), profile(arch), False))
            self.assertFalse(decide.boot_menu(
                props(hw_boot_menu='false'), profile(arch), True))

    def test_where_the_firmware_has_one(self):
        for arch in ('aarch64', 's390x', 'ppc64le', 'x86_64'):
            self.assertTrue(decide.boot_menu(props(hw_boot_menu='true'),
                                             profile(arch), False), arch)
        for arch in ('mipsel', 'riscv64'):
            msg = self.assertRefused('hw_boot_menu', decide.boot_menu,
                                     props(hw_boot_menu='true'),
                                     profile(arch), False)
            self.assertIn('%s guests has no boot menu' % arch, msg)

    def test_direct_kernel_boot_refused(self):
        msg = self.assertRefused('hw_boot_menu', decide.boot_menu,
                                 props(hw_boot_menu='true'),
                                 profile('x86_64'), True)
        self.assertIn('boots its kernel directly', msg)


class TestVideoRam(_Refusal):

    def test_unset(self):
        self.assertIsNone(decide.video_ram(props(), 'virtio'))
        self.assertIsNone(decide.video_ram(props(), None))

    def test_models_that_take_it(self):
        for model in ('vga', 'vmvga', 'bochs', 'qxl'):
            self.assertEqual(64, decide.video_ram(
                props(hw_video_ram=64), model))

    def test_models_that_ignore_it(self):
        for model in ('virtio', 'cirrus', 'ramfb'):
            msg = self.assertRefused('hw_video_ram', decide.video_ram,
                                     props(hw_video_ram=16), model)
            self.assertIn('video model %s has no video RAM size' % model,
                          msg)

    def test_no_video_device(self):
        msg = self.assertRefused('hw_video_ram', decide.video_ram,
                                 props(hw_video_ram=16), None)
        self.assertIn('no video device', msg)

    def test_sizes(self):
        for mib in (1, 16, 256):
            self.assertEqual(mib, decide.video_ram(
                props(hw_video_ram=mib), 'vga'))
        for mib in (0, 3, 512, 1024):
            self.assertRefused('hw_video_ram', decide.video_ram,
                               props(hw_video_ram=mib), 'vga')


class TestGicVersion(testtools.TestCase):

    def test_no_gic_elsewhere(self):
        for arch in FOREIGN_TO_X86 + ('x86_64',):
            if arch != 'aarch64':
                self.assertIsNone(decide.gic_version(
                    profile(arch), domcaps(arch), 2), arch)

    def test_3_under_tcg(self):
        dcaps = domcaps('aarch64')
        self.assertEqual(('2', '3'), dcaps.gic_versions)
        for vcpus in (1, 8, 9, 64):
            self.assertEqual('3', decide.gic_version(profile('aarch64'),
                                                     dcaps, vcpus))

    def test_hosts_own_under_kvm(self):
        # A GICv3 host offers KVM guests version 3 only.
        dcaps = domcaps('aarch64', virt_type='kvm', host='aarch64')
        self.assertEqual(('3',), dcaps.gic_versions)
        self.assertEqual('3', decide.gic_version(profile('aarch64'), dcaps,
                                                 16))
        # A GICv2 host: version 2.
        v2 = dataclasses.replace(dcaps, gic_versions=('2',))
        self.assertEqual('2', decide.gic_version(profile('aarch64'), v2, 4))

    def test_only_2_offered(self):
        v2 = dataclasses.replace(domcaps('aarch64'), gic_versions=('2',))
        self.assertEqual('2', decide.gic_version(profile('aarch64'), v2, 8))
        exc = self.assertRaises(exception.Invalid, decide.gic_version,
                                profile('aarch64'), v2, 9)
        msg = str(exc)
        self.assertIn('flavor vcpus=9', msg)
        self.assertIn('GICv2', msg)
        self.assertIn('at most 8', msg)

    def test_none_offered(self):
        none = dataclasses.replace(domcaps('aarch64'), gic_versions=())
        self.assertIsNone(decide.gic_version(profile('aarch64'), none, 2))

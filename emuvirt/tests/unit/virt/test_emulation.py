"""Tests of EmuVirtDriver: guests of the arch hw_emulation_architecture asks.

It differs from the skeleton in the guest arch it answers, the
[emulation]enabled_architectures check and KVM for the host's own arch
only; the tests follow each per-arch behaviour of issue 2 item 6 through
the whole planning path, against the fake libvirt of an x86_64 host unless
a test says otherwise.
"""

import dataclasses

import fixtures

from emuvirt import exception
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.tests.unit.virt.libvirt import test_libvirt_driver as base
from emuvirt.virt import archs
from emuvirt.virt import emulation
from emuvirt.virt.libvirt import config as vconfig
from emuvirt.virt.libvirt import decide

FOREIGN = ('aarch64', 's390x', 'ppc64le', 'mipsel', 'riscv64')


def emu(arch, **props):
    return dict(hw_emulation_architecture=arch, **props)


def controllers(cfg, type_):
    return [(c.model, c.index) for c in cfg.devices_of(vconfig.GuestController)
            if c.type == type_]


class EmuTestCase(base.DriverTestCase):
    driver_class = emulation.EmuVirtDriver


class TestGuestArch(EmuTestCase):

    def _arch(self, **props):
        drv = self.make_driver()
        return drv.guest_arch(image_meta_obj.ImageMetaProps.from_dict(props))

    def test_precedence(self):
        self.assertEqual('s390x', self._arch(
            hw_emulation_architecture='s390x', hw_architecture='aarch64'))
        self.assertEqual('aarch64', self._arch(hw_architecture='aarch64'))
        self.assertEqual('x86_64', self._arch())

    def test_alias(self):
        plan = self.plan({'hw_emulation_architecture': 'arm64'})
        self.assertEqual('aarch64', plan.profile.arch)

    def test_is_foreign(self):
        drv = self.make_driver()
        self.assertFalse(drv.is_foreign('x86_64'))
        for arch in FOREIGN:
            self.assertTrue(drv.is_foreign(arch))

    def test_each_foreign_arch_on_x86_64(self):
        for arch in FOREIGN:
            plan = self.plan(emu(arch))
            self.assertEqual(arch, plan.profile.arch)
            self.assertEqual(archs.get_profile(arch).default_machine,
                             archs.machine_family(plan.machine))
            self.assertEqual('/usr/bin/qemu-system-%s' % arch, plan.emulator)


class TestRefusals(EmuTestCase):

    def test_arch_not_enabled(self):
        self.flags.config(group='emulation',
                          enabled_architectures=['aarch64', 'ppc64le'])
        msg = self.refused(exception.ArchitectureNotSupported, emu('s390x'))
        self.assertIn('s390x', msg)
        self.assertIn('[emulation]enabled_architectures', msg)
        self.assertIn('aarch64, ppc64le', msg)

    def test_native_arch_needs_no_enabling(self):
        self.flags.config(group='emulation',
                          enabled_architectures=['aarch64'])
        self.assertEqual('x86_64', self.plan(emu('x86_64')).profile.arch)
        self.assertEqual('x86_64', self.plan().profile.arch)

    def test_arch_with_no_emulator(self):
        drv = self.make_driver(remove_arches=('riscv64',))
        msg = self.refused(exception.ArchitectureNotSupported,
                           emu('riscv64'), drv)
        self.assertIn('riscv64', msg)
        self.assertIn('no emulator', msg)
        # The other arches are still there.
        self.assertEqual('mipsel', self.plan(emu('mipsel'),
                                             drv).profile.arch)

    def test_console_refusals_name_the_property(self):
        for arch, console in (('mipsel', 'spice'), ('riscv64', 'spice')):
            msg = self.refused(exception.UnsupportedGraphics,
                               emu(arch, hw_console_type=console))
            self.assertIn('hw_console_type=%s' % console, msg)

    def test_property_refusals(self):
        for props, name in (
                (emu('aarch64', hw_firmware_type='bios'), 'hw_firmware_type'),
                (emu('s390x', hw_firmware_type='uefi'), 'hw_firmware_type'),
                (emu('s390x', hw_video_model='vga'), 'hw_video_model'),
                (emu('aarch64', hw_console_type='vnc',
                     hw_video_model='qxl'), 'hw_video_model'),
                (emu('aarch64', hw_vif_model='spapr-vlan'), 'hw_vif_model'),
                (emu('s390x', hw_pointer_model='usbtablet'),
                 'hw_pointer_model'),
                (emu('aarch64', hw_disk_bus='ide'), 'hw_disk_bus'),
                (emu('ppc64le', hw_cdrom_bus='ide'), 'hw_cdrom_bus'),
                (emu('aarch64', hw_cdrom_bus='virtio'), 'hw_cdrom_bus')):
            msg = self.refused(exception.InvalidImageProperty, props)
            self.assertIn('Image property %s' % name, msg)

    def test_cpu_refusals(self):
        msg = self.refused(exception.Invalid,
                           emu('mipsel', hw_cpu_model='24Kf'))
        self.assertIn('hw_cpu_model', msg)
        self.flags.config(group='emulation',
                          cpu_models=['aarch64=POWER9'])
        msg = self.refused(exception.Invalid, emu('aarch64'))
        self.assertIn('[emulation]cpu_models=POWER9', msg)


class TestDomainType(EmuTestCase):

    def test_foreign_is_qemu_even_with_kvm(self):
        self.flags.config(group='libvirt', virt_type='kvm')
        for arch in FOREIGN:
            self.assertEqual('qemu', self.plan(emu(arch)).domain_type, arch)

    def test_foreign_never_kvm_even_if_libvirt_offers_it(self):
        # libvirt offers KVM for a sibling arch on some hosts (armv7l on
        # an aarch64 host, i686 on x86_64); a foreign guest still gets TCG.
        drv = self.make_driver()
        real = drv.host.get_guest_caps

        def with_kvm(arch, os_type='hvm'):
            guest = real(arch, os_type)
            return dataclasses.replace(
                guest, domain_types=dict(guest.domain_types, kvm=None))
        self.useFixture(fixtures.MockPatchObject(
            drv.host, 'get_guest_caps', side_effect=with_kvm))
        self.assertEqual('kvm', decide.domain_type(
            'kvm', drv.host.get_guest_caps('aarch64')))
        plan = self.plan(emu('aarch64'), drv)
        self.assertEqual('qemu', plan.domain_type)
        self.assertEqual('custom', plan.cpu.mode)

    def test_native_is_kvm(self):
        self.flags.config(group='libvirt', virt_type='kvm')
        self.assertEqual('kvm', self.plan(emu('x86_64')).domain_type)

    def test_native_with_virt_type_qemu(self):
        self.flags.config(group='libvirt', virt_type='qemu')
        self.assertEqual('qemu', self.plan().domain_type)

    def test_native_on_other_hosts(self):
        for host, mode in (('aarch64', 'host-passthrough'),
                           ('s390x', 'host-model'),
                           ('ppc64le', 'host-model')):
            plan = self.plan(drv=self.make_driver(host))
            self.assertEqual((host, 'kvm', mode),
                             (plan.profile.arch, plan.domain_type,
                              plan.cpu.mode))

    def test_x86_64_on_aarch64_host(self):
        plan = self.plan(emu('x86_64'), self.make_driver('aarch64'))
        self.assertEqual(('qemu', 'pc-q35-7.2', 'maximum'),
                         (plan.domain_type, plan.machine, plan.cpu.mode))

    def test_tb_cache_for_foreign_under_kvm_setting(self):
        self.flags.config(group='libvirt', tb_cache_size=64)
        cfg = self.config(emu('riscv64'))
        self.assertIn('tcg', [f.name for f in cfg.features])
        self.assertNotIn('tcg', [f.name for f in self.config().features])


class TestMachine(EmuTestCase):

    def test_option_keyed_by_guest_arch(self):
        self.flags.config(group='libvirt',
                          hw_machine_type=['x86_64=pc', 'arm64=virt-7.2'])
        self.assertEqual('virt-7.2', self.plan(emu('aarch64')).machine)
        self.assertEqual('pc-i440fx-7.2', self.plan().machine)
        self.assertEqual('pseries-7.2', self.plan(emu('ppc64le')).machine)

    def test_unknown_from_option(self):
        self.flags.config(group='libvirt', hw_machine_type=['mipsel=virt'])
        msg = self.refused(exception.InvalidMachineType, emu('mipsel'))
        self.assertIn('[libvirt]hw_machine_type', msg)
        self.assertIn('malta', msg)


class TestCPU(EmuTestCase):

    def test_aarch64_fast_model_not_max(self):
        cpu = self.plan(emu('aarch64')).cpu
        self.assertEqual('custom', cpu.mode)
        self.assertEqual(archs.get_profile('aarch64').tcg_cpu_models[0],
                         cpu.model)

    def test_no_cpu_element(self):
        for arch in ('riscv64', 'mipsel', 'ppc64le', 's390x'):
            self.assertIsNone(self.plan(emu(arch)).cpu, arch)

    def test_option_override(self):
        self.flags.config(group='emulation', cpu_models=['aarch64=max'])
        self.assertEqual('max', self.plan(emu('aarch64')).cpu.model)

    def test_image_override(self):
        self.flags.config(group='emulation', cpu_models=['aarch64=max'])
        cpu = self.plan(emu('aarch64', hw_cpu_model='cortex-a57')).cpu
        self.assertEqual('cortex-a57', cpu.model)

    def test_ppc64le_model_from_option(self):
        self.flags.config(group='emulation', cpu_models=['ppc64el=POWER9'])
        cpu = self.plan(emu('ppc64le')).cpu
        self.assertEqual(('custom', 'POWER9'), (cpu.mode, cpu.model))


class TestAarch64(EmuTestCase):

    def test_uefi_by_default_plain_build(self):
        cfg = self.config(emu('aarch64'))
        self.assertEqual('/usr/share/AAVMF/AAVMF_CODE.fd', cfg.os.loader)
        self.assertEqual('/usr/share/AAVMF/AAVMF_VARS.fd',
                         cfg.os.nvram_template)
        self.assertEqual((False, 'pflash'),
                         (cfg.os.loader_secure, cfg.os.loader_type))
        self.assertIn('acpi', [f.name for f in cfg.features])

    def test_direct_kernel_without_uefi_or_acpi(self):
        cfg = self.config(emu('aarch64'), image=None, kernel=True)
        self.assertIsNone(cfg.os.loader)
        self.assertIsNone(cfg.os.nvram)
        self.assertEqual(base.KERNEL, cfg.os.kernel)
        self.assertNotIn('acpi', [f.name for f in cfg.features])
        self.assertIn('gic', [f.name for f in cfg.features])

    def test_pcie_root_ports(self):
        cfg = self.config(emu('aarch64'))
        ports = [i for m, i in controllers(cfg, 'pci')
                 if m == 'pcie-root-port']
        self.assertEqual(list(range(1, 9)), ports)
        self.flags.config(group='libvirt', num_pcie_ports=2)
        cfg = self.config(emu('aarch64'))
        self.assertEqual([('pcie-root', 0), ('pcie-root-port', 1),
                          ('pcie-root-port', 2)], controllers(cfg, 'pci'))

    def test_no_usb_without_graphics(self):
        cfg = self.config(emu('aarch64'))
        self.assertEqual([('none', 0)], controllers(cfg, 'usb'))
        self.assertEqual([], cfg.devices_of(vconfig.GuestVideo))

    def test_vnc_brings_xhci_tablet_keyboard_virtio_gpu(self):
        cfg = self.config(emu('aarch64', hw_console_type='vnc'))
        self.assertEqual([('qemu-xhci', 0)], controllers(cfg, 'usb'))
        self.assertEqual([('tablet', 'usb'), ('keyboard', 'usb')],
                         [(i.type, i.bus)
                          for i in cfg.devices_of(vconfig.GuestInput)])
        self.assertEqual(['virtio'], [v.model for v in
                                      cfg.devices_of(vconfig.GuestVideo)])

    def test_iso_on_scsi(self):
        cfg = self.config(emu('aarch64'), image=base.ISO, disk_format='iso')
        cdroms = [d for d in cfg.devices_of(vconfig.GuestDisk)
                  if d.device == 'cdrom']
        self.assertEqual([('scsi', base.ISO)],
                         [(d.target_bus, d.source_path) for d in cdroms])
        self.assertEqual([('virtio-scsi', 0)], controllers(cfg, 'scsi'))
        self.assertEqual(('cdrom', 'hd'), cfg.os.boot_devs)


class TestOtherArches(EmuTestCase):

    def test_s390x(self):
        cfg = self.config(emu('s390x'))
        chars = cfg.devices_of(vconfig.GuestCharDevice)
        self.assertEqual([('console', 'sclp'), ('console', 'sclplm')],
                         [(c.tag, c.target_type) for c in chars])
        self.assertEqual([], [c for c in cfg.devices_of(
            vconfig.GuestController) if c.type in ('usb', 'pci')])
        self.assertEqual([], cfg.devices_of(vconfig.GuestVideo))
        self.assertIsNone(cfg.os.loader)

    def test_ppc64le(self):
        cfg = self.config(emu('ppc64le', hw_console_type='spice'))
        self.assertEqual('pseries-7.2', cfg.os.machine)
        self.assertEqual([('pci-root', 0)], controllers(cfg, 'pci'))
        self.assertEqual(['vga'], [v.model for v in
                                   cfg.devices_of(vconfig.GuestVideo)])
        self.assertEqual(['spice'], [g.type for g in
                                     cfg.devices_of(vconfig.GuestGraphics)])

    def test_mipsel(self):
        cfg = self.config(emu('mipsel'), image=None, kernel=True)
        self.assertEqual('malta', cfg.os.machine)
        self.assertEqual([('pci-root', 0)], controllers(cfg, 'pci'))
        self.assertIsNone(cfg.cpu)
        self.assertEqual('console=ttyS0', cfg.os.cmdline)

    def test_mipsel_image_only_refused(self):
        for image, fmt in ((base.IMAGE, 'qcow2'), (base.ISO, 'iso'),
                           (None, 'qcow2')):
            msg = self.refused(exception.KernelRequired, emu('mipsel'),
                               image=image, disk_format=fmt, kernel=False)
            self.assertIn('mipsel guests cannot boot without a kernel', msg)
            self.assertIn('--kernel', msg)
            self.assertIn('kernel_id', msg)

    def test_riscv64(self):
        cfg = self.config(emu('riscv64'))
        self.assertEqual('virt', cfg.os.machine)
        self.assertEqual('pcie-root', controllers(cfg, 'pci')[0][0])
        self.assertIsNone(cfg.cpu)
        self.assertIsNone(cfg.os.loader)
        # OpenSBI (QEMU's own -bios) starts U-Boot, which boots the disk.
        self.assertEqual('/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin',
                         cfg.os.kernel)
        self.assertEqual(('hd',), cfg.os.boot_devs)

    def test_riscv64_kernel(self):
        cfg = self.config(emu('riscv64'), kernel=True)
        self.assertEqual(base.KERNEL, cfg.os.kernel)
        self.assertEqual(base.RAMDISK, cfg.os.initrd)

    def test_x86_64_cdrom_bus_by_machine(self):
        cfg = self.config(emu('x86_64'), image=base.ISO, disk_format='iso')
        self.assertEqual(['sata'], [d.target_bus for d in cfg.devices_of(
            vconfig.GuestDisk) if d.device == 'cdrom'])
        cfg = self.config(emu('x86_64', hw_machine_type='pc'),
                          image=base.ISO, disk_format='iso')
        self.assertEqual(['ide'], [d.target_bus for d in cfg.devices_of(
            vconfig.GuestDisk) if d.device == 'cdrom'])
        self.assertEqual([('pci-root', 0)], controllers(cfg, 'pci'))

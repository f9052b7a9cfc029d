"""Tests of plan -> config objects: what the profile makes of a plan."""

from lxml import etree
import testtools

from emuvirt.virt import archs
from emuvirt.virt.libvirt import config as vconfig
from emuvirt.virt.libvirt import firmware
from emuvirt.virt.libvirt import guest_config

UUID = '6f8a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b'
INSTANCE_DIR = '/var/lib/emuvirt/instances/' + UUID
MACHINES = {'aarch64': 'virt-7.2', 'riscv64': 'virt',
            's390x': 's390-ccw-virtio-7.2', 'ppc64le': 'pseries-7.2',
            'mipsel': 'malta', 'x86_64': 'pc-q35-7.2'}
I440FX = 'pc-i440fx-7.2'
AAVMF = firmware.Firmware('/usr/share/AAVMF/AAVMF_CODE.fd', 'pflash',
                          '/usr/share/AAVMF/AAVMF_VARS.fd', False, None)
DISK = guest_config.Boot(disk_path=INSTANCE_DIR + '/disk')
ISO = guest_config.Boot(cdrom_path='/img/installer.iso')
KERNEL = guest_config.Boot(kernel='/img/vmlinuz', ramdisk='/img/initrd',
                           cmdline='console=ttyAMA0')


def make_plan(arch, machine=None, **kwargs):
    """A plan as the driver would make it, decisions at their defaults."""
    profile = archs.get_profile(arch)
    machine = machine or MACHINES[arch]
    args = dict(name='guest', uuid=UUID, vcpus=2, memory_mib=1024,
                profile=profile, domain_type='qemu',
                emulator='/usr/bin/qemu-system-%s' % arch, machine=machine,
                instance_dir=INSTANCE_DIR, boot=DISK,
                disk_bus=profile.default_disk_bus,
                cdrom_bus=profile.family(machine).cdrom_bus,
                pcie_ports=profile.default_pcie_ports,
                vif_model=profile.default_nic_model,
                rng_model=profile.default_rng_model,
                gic_version=(profile.gic_versions[0][0]
                             if profile.gic_versions else None))
    if kwargs.get('graphics'):
        args['input_bus'] = profile.default_input_bus
    args.update(kwargs)
    return guest_config.GuestPlan(**args)


def build(arch, machine=None, **kwargs):
    return guest_config.build(make_plan(arch, machine, **kwargs))


def controllers(cfg, type_=None):
    return [(c.type, c.model, c.index)
            for c in cfg.devices_of(vconfig.GuestController)
            if type_ is None or c.type == type_]


def features(cfg):
    return {f.name: f for f in cfg.features}


class TestPCI(testtools.TestCase):

    def test_pcie_root_and_root_ports(self):
        for arch, machine in (('aarch64', None), ('riscv64', None),
                              ('x86_64', None)):
            cfg = build(arch, machine, pcie_ports=3)
            self.assertEqual([('pci', 'pcie-root', 0),
                              ('pci', 'pcie-root-port', 1),
                              ('pci', 'pcie-root-port', 2),
                              ('pci', 'pcie-root-port', 3)],
                             controllers(cfg, 'pci'), arch)

    def test_no_ports_asked(self):
        self.assertEqual([('pci', 'pcie-root', 0)],
                         controllers(build('aarch64', pcie_ports=0), 'pci'))

    def test_pci_root_never_gets_root_ports(self):
        for arch, machine in (('ppc64le', None), ('mipsel', None),
                              ('x86_64', I440FX)):
            cfg = build(arch, machine, pcie_ports=8)
            self.assertEqual([('pci', 'pci-root', 0)],
                             controllers(cfg, 'pci'), arch)

    def test_s390x_has_no_pci_and_no_usb(self):
        cfg = build('s390x', pcie_ports=8, graphics=None)
        self.assertEqual([], controllers(cfg))


class TestGraphicsAndUSB(testtools.TestCase):

    def test_no_graphics_usb_model_none(self):
        # libvirt adds a USB controller unless told model='none'.
        for arch in ('aarch64', 'ppc64le', 'mipsel', 'riscv64', 'x86_64'):
            cfg = build(arch)
            self.assertEqual([('usb', 'none', 0)], controllers(cfg, 'usb'),
                             arch)
            self.assertEqual([], cfg.devices_of(vconfig.GuestInput), arch)
            self.assertEqual([], cfg.devices_of(vconfig.GuestGraphics), arch)
            self.assertEqual([], cfg.devices_of(vconfig.GuestVideo), arch)

    def test_usb_disk_keeps_usb_without_graphics(self):
        # libvirt refuses USB devices with a USB controller of model none.
        cfg = build('aarch64', disk_bus='usb')
        self.assertEqual([('usb', 'qemu-xhci', 0)], controllers(cfg, 'usb'))
        cfg = build('aarch64', boot=ISO, cdrom_bus='usb', disk_bus='virtio')
        self.assertEqual([('usb', 'qemu-xhci', 0)], controllers(cfg, 'usb'))

    def test_scsi_disk_gets_virtio_scsi(self):
        for kwargs in (dict(boot=DISK, disk_bus='scsi'),
                       dict(boot=ISO, cdrom_bus='scsi')):
            cfg = build('mipsel', **kwargs)
            self.assertEqual([('scsi', 'virtio-scsi', 0)],
                             controllers(cfg, 'scsi'), kwargs)
        self.assertEqual([], controllers(build('mipsel'), 'scsi'))
        self.assertEqual([], controllers(build('mipsel', boot=ISO), 'scsi'))

    def test_vnc_on_aarch64(self):
        cfg = build('aarch64', graphics='vnc', video='virtio')
        self.assertEqual([('usb', 'qemu-xhci', 0)], controllers(cfg, 'usb'))
        self.assertEqual([('tablet', 'usb'), ('keyboard', 'usb')],
                         [(i.type, i.bus)
                          for i in cfg.devices_of(vconfig.GuestInput)])
        self.assertEqual(['vnc'], [g.type for g in
                                   cfg.devices_of(vconfig.GuestGraphics)])
        self.assertEqual(['virtio'], [v.model for v in
                                      cfg.devices_of(vconfig.GuestVideo)])

    def test_spice_on_ppc64le_with_vga(self):
        cfg = build('ppc64le', graphics='spice', video='vga')
        self.assertEqual(['spice'], [g.type for g in
                                     cfg.devices_of(vconfig.GuestGraphics)])
        self.assertEqual(['vga'], [v.model for v in
                                   cfg.devices_of(vconfig.GuestVideo)])


class TestConsoles(testtools.TestCase):

    def test_s390x_sclp_and_sclplm(self):
        cfg = build('s390x')
        chars = cfg.devices_of(vconfig.GuestCharDevice)
        self.assertEqual([('console', 'pty', 'sclp', 0),
                          ('console', 'file', 'sclplm', 1)],
                         [(c.tag, c.type, c.target_type, c.target_port)
                          for c in chars])
        self.assertEqual(INSTANCE_DIR + '/console.log', chars[0].log_path)
        self.assertEqual(INSTANCE_DIR + '/console-linemode.log',
                         chars[1].source_path)
        self.assertNotIn('serial', [c.tag for c in chars])

    def test_serial_elsewhere(self):
        for arch in ('aarch64', 'ppc64le', 'mipsel', 'riscv64', 'x86_64'):
            chars = build(arch).devices_of(vconfig.GuestCharDevice)
            self.assertEqual([('serial', None), ('console', 'serial')],
                             [(c.tag, c.target_type) for c in chars], arch)
            self.assertEqual(INSTANCE_DIR + '/console.log',
                             chars[0].log_path)


class TestFeatures(testtools.TestCase):

    def test_aarch64_acpi_only_with_uefi(self):
        self.assertIn('acpi', features(build('aarch64', firmware=AAVMF)))
        self.assertNotIn('acpi', features(build('aarch64', boot=KERNEL)))

    def test_aarch64_gic_v3(self):
        for fw in (AAVMF, None):
            gic = features(build('aarch64', firmware=fw))['gic']
            self.assertEqual({'version': '3'}, gic.attrs)

    def test_x86_acpi_apic_always(self):
        self.assertEqual({'acpi', 'apic'}, set(features(build('x86_64'))))

    def test_no_acpi_elsewhere(self):
        for arch in ('s390x', 'ppc64le', 'mipsel', 'riscv64'):
            self.assertEqual({}, features(build(arch)), arch)

    def test_tb_cache_for_tcg(self):
        tcg = features(build('riscv64', tb_cache_mib=256))['tcg']
        self.assertEqual((('tb-cache', 256, {'unit': 'MiB'}),),
                         tcg.children)

    def test_no_tb_cache_when_zero(self):
        self.assertNotIn('tcg', features(build('riscv64', tb_cache_mib=0)))

    def test_no_tb_cache_under_kvm(self):
        cfg = build('x86_64', domain_type='kvm', tb_cache_mib=256)
        self.assertNotIn('tcg', features(cfg))

    def test_profile_attrs_not_shared_between_guests(self):
        gic = features(build('aarch64'))['gic']
        gic.attrs['version'] = '2'
        self.assertEqual('3', features(build('aarch64'))['gic'].attrs[
            'version'])


class TestOS(testtools.TestCase):

    def test_uefi_loader_nvram(self):
        os_ = build('aarch64', firmware=AAVMF).os
        self.assertEqual(('/usr/share/AAVMF/AAVMF_CODE.fd', 'pflash', False),
                         (os_.loader, os_.loader_type, os_.loader_secure))
        self.assertEqual(INSTANCE_DIR + '/nvram.fd', os_.nvram)
        self.assertEqual('/usr/share/AAVMF/AAVMF_VARS.fd',
                         os_.nvram_template)

    def test_rom_firmware_has_no_nvram_or_secure(self):
        rom = firmware.Firmware('/fw/rom.bin', 'rom', None, False, None)
        os_ = build('riscv64', firmware=rom).os
        self.assertEqual(('/fw/rom.bin', 'rom'), (os_.loader,
                                                  os_.loader_type))
        self.assertIsNone(os_.loader_secure)
        self.assertIsNone(os_.nvram)

    def test_no_firmware(self):
        os_ = build('s390x').os
        self.assertEqual(('s390x', 's390-ccw-virtio-7.2'),
                         (os_.arch, os_.machine))
        self.assertIsNone(os_.loader)
        self.assertIsNone(os_.nvram)

    def test_direct_kernel(self):
        os_ = build('aarch64', boot=KERNEL).os
        self.assertEqual(('/img/vmlinuz', '/img/initrd', 'console=ttyAMA0'),
                         (os_.kernel, os_.initrd, os_.cmdline))
        self.assertEqual((), os_.boot_devs)

    def test_boot_loader_as_the_kernel(self):
        uboot = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin'
        os_ = build('riscv64', boot_loader=uboot).os
        self.assertEqual((uboot, None, None),
                         (os_.kernel, os_.initrd, os_.cmdline))
        self.assertEqual(('hd',), os_.boot_devs)
        self.assertEqual(uboot, etree.fromstring(os_.to_xml()).findtext(
            'kernel'))

    def test_a_kernel_wins_over_the_boot_loader(self):
        os_ = build('riscv64', boot=KERNEL, boot_loader='/fw/u-boot.bin').os
        self.assertEqual('/img/vmlinuz', os_.kernel)

    def test_boot_devices(self):
        self.assertEqual(('hd',), build('aarch64').os.boot_devs)
        self.assertEqual(('cdrom', 'hd'),
                         build('aarch64', boot=ISO).os.boot_devs)


class TestDisks(testtools.TestCase):

    def _disks(self, cfg):
        return [(d.device, d.target_dev, d.target_bus, d.driver_type,
                 d.readonly) for d in cfg.devices_of(vconfig.GuestDisk)]

    def test_virtio_disk(self):
        cfg = build('s390x')
        self.assertEqual([('disk', 'vda', 'virtio', 'qcow2', False)],
                         self._disks(cfg))
        self.assertEqual(INSTANCE_DIR + '/disk',
                         cfg.devices_of(vconfig.GuestDisk)[0].source_path)

    def test_scsi_disk_name(self):
        self.assertEqual([('disk', 'sda', 'scsi', 'qcow2', False)],
                         self._disks(build('aarch64', disk_bus='scsi')))

    def test_aarch64_iso_on_scsi_with_virtio_scsi(self):
        cfg = build('aarch64', boot=ISO)
        self.assertEqual([('cdrom', 'sdb', 'scsi', 'raw', True)],
                         self._disks(cfg))
        self.assertEqual([('scsi', 'virtio-scsi', 0)],
                         controllers(cfg, 'scsi'))

    def test_q35_iso_on_sata(self):
        cfg = build('x86_64', boot=ISO)
        self.assertEqual([('cdrom', 'sdb', 'sata', 'raw', True)],
                         self._disks(cfg))
        self.assertEqual([], controllers(cfg, 'scsi'))

    def test_pc_iso_on_ide(self):
        cfg = build('x86_64', I440FX, boot=ISO)
        self.assertEqual([('cdrom', 'hdb', 'ide', 'raw', True)],
                         self._disks(cfg))

    def test_disk_and_cdrom(self):
        boot = guest_config.Boot(disk_path='/d', cdrom_path='/c.iso')
        cfg = build('ppc64le', boot=boot, disk_bus='scsi')
        self.assertEqual(['sda', 'sdb'],
                         [d.target_dev for d in
                          cfg.devices_of(vconfig.GuestDisk)])

    def test_kernel_only_has_no_disk(self):
        self.assertEqual([], self._disks(build('mipsel', boot=KERNEL)))


class TestWholeDomain(testtools.TestCase):

    def test_identity_and_sizes(self):
        meta = etree.Element('{urn:x}record')
        cfg = build('riscv64', metadata=meta)
        self.assertEqual(('qemu', 'guest', UUID, 1024, 2),
                         (cfg.virt_type, cfg.name, cfg.uuid, cfg.memory_mib,
                          cfg.vcpus))
        self.assertEqual('/usr/bin/qemu-system-riscv64', cfg.emulator)
        self.assertIs(meta, cfg.metadata)

    def test_cpu_passed_through(self):
        cpu = vconfig.GuestCPU('custom', 'cortex-a57')
        self.assertIs(cpu, build('aarch64', cpu=cpu).cpu)
        self.assertIsNone(build('mipsel').cpu)

    def test_networks(self):
        nets = (guest_config.Network(),
                guest_config.Network('network', 'default',
                                     '52:54:00:00:00:01'))
        nics = build('s390x', networks=nets).devices_of(
            vconfig.GuestInterface)
        self.assertEqual([('user', 'virtio', None, None),
                          ('network', 'virtio', 'default',
                           '52:54:00:00:00:01')],
                         [(n.type, n.model, n.network, n.mac) for n in nics])

    def test_rng_and_balloon_always(self):
        for arch in MACHINES:
            cfg = build(arch)
            self.assertEqual(1, len(cfg.devices_of(vconfig.GuestRng)))
            self.assertEqual(['virtio'], [
                b.model for b in cfg.devices_of(vconfig.GuestMemballoon)])

    def test_no_rng_where_libvirt_offers_none(self):
        self.assertEqual([], build('aarch64', rng_model=None).devices_of(
            vconfig.GuestRng))

    def test_serialises(self):
        for arch in MACHINES:
            dom = etree.fromstring(build(arch, firmware=None).to_xml())
            self.assertEqual(arch, dom.find('os/type').get('arch'))

    def test_boot_helpers(self):
        self.assertTrue(KERNEL.direct_kernel)
        self.assertFalse(DISK.direct_kernel)
        self.assertEqual(INSTANCE_DIR + '/console.log',
                         make_plan('s390x').console_log)


def _xml(cfg):
    return etree.fromstring(cfg.to_xml())


class TestDeviceProperties(testtools.TestCase):
    """Each device decision of the plan shows in the domain."""

    def test_vif_model_on_every_nic(self):
        nets = (guest_config.Network(), guest_config.Network())
        cfg = build('aarch64', networks=nets, vif_model='e1000')
        self.assertEqual(['e1000', 'e1000'], [
            n.model for n in cfg.devices_of(vconfig.GuestInterface)])

    def test_scsi_model_asked_for_without_a_scsi_disk(self):
        # As in Nova: the controller comes whether or not a disk uses it.
        self.assertEqual([('scsi', 'lsilogic', 0)], controllers(
            build('x86_64', scsi_model='lsilogic'), 'scsi'))

    def test_scsi_model_for_a_scsi_disk(self):
        self.assertEqual([('scsi', 'ibmvscsi', 0)], controllers(
            build('ppc64le', disk_bus='scsi', scsi_model='ibmvscsi'),
            'scsi'))

    def test_guest_agent_channel(self):
        dom = _xml(build('s390x', guest_agent=True))
        channel = dom.find('devices/channel')
        self.assertEqual('unix', channel.get('type'))
        self.assertEqual(('virtio', 'org.qemu.guest_agent.0'), (
            channel.find('target').get('type'),
            channel.find('target').get('name')))
        self.assertIsNone(_xml(build('s390x')).find('devices/channel'))

    def test_input_bus_without_graphics(self):
        cfg = build('riscv64', input_bus='virtio')
        self.assertEqual([('tablet', 'virtio'), ('keyboard', 'virtio')],
                         [(i.type, i.bus)
                          for i in cfg.devices_of(vconfig.GuestInput)])
        # Nothing on USB, no graphics: the USB controller stays off.
        self.assertEqual([('usb', 'none', 0)], controllers(cfg, 'usb'))

    def test_usb_input_turns_usb_on(self):
        cfg = build('riscv64', input_bus='usb')
        self.assertEqual([('usb', 'qemu-xhci', 0)], controllers(cfg, 'usb'))

    def test_s390x_graphics_with_virtio_inputs(self):
        cfg = build('s390x', graphics='vnc', video='virtio')
        self.assertEqual([('tablet', 'virtio'), ('keyboard', 'virtio')],
                         [(i.type, i.bus)
                          for i in cfg.devices_of(vconfig.GuestInput)])
        self.assertEqual([], controllers(cfg, 'usb'))

    def test_extra_serial_ports_on_the_profile_target(self):
        for arch, target in (('aarch64', 'pci-serial'), ('x86_64', None),
                             ('ppc64le', None)):
            chars = build(arch, serial_ports=3).devices_of(
                vconfig.GuestCharDevice)
            self.assertEqual(
                [('serial', None, 0), ('serial', target, 1),
                 ('serial', target, 2), ('console', 'serial', 0)],
                [(c.tag, c.target_type, c.target_port) for c in chars],
                arch)
            # Only the console keeps the log.
            self.assertEqual([INSTANCE_DIR + '/console.log', None, None,
                              None], [c.log_path for c in chars])

    def test_boot_menu(self):
        dom = _xml(build('ppc64le', boot_menu=True))
        self.assertEqual('yes', dom.find('os/bootmenu').get('enable'))
        self.assertIsNone(_xml(build('ppc64le')).find('os/bootmenu'))

    def test_video_ram_in_kib(self):
        dom = _xml(build('x86_64', graphics='vnc', video='qxl',
                         video_ram_mib=64))
        self.assertEqual(('qxl', str(64 * 1024)), (
            dom.find('devices/video/model').get('type'),
            dom.find('devices/video/model').get('vram')))
        dom = _xml(build('x86_64', graphics='vnc', video='virtio'))
        self.assertIsNone(dom.find('devices/video/model').get('vram'))

    def test_video_without_graphics(self):
        # Nova's s390x recipe: hw_video_model=virtio and no console type.
        dom = _xml(build('s390x', video='virtio'))
        self.assertEqual('virtio', dom.find('devices/video/model').get(
            'type'))
        self.assertIsNone(dom.find('devices/graphics'))

    def test_gic_version_of_the_plan(self):
        self.assertEqual({'version': '2'}, features(
            build('aarch64', gic_version='2'))['gic'].attrs)
        self.assertNotIn('gic', features(build('aarch64',
                                               gic_version=None)))

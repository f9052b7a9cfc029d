"""The Nova flavour's plan and adapt steps, without Nova's services.

* The plan (:mod:`emuvirt.nova.plan`) must give the same answer as the
  standalone driver (:class:`emuvirt.virt.emulation.EmuVirtDriver`) for the
  same image on the same host: both ask the same table and decisions.
* :func:`emuvirt.nova.adapt.apply` turns the config stock Nova 34 builds
  for a foreign guest (host-arch machine, x86 features and timers, USB
  tablet, ``<loader secure='no'>`` with firmware autoselection) into one
  libvirt's RNG schema accepts, with the guest arch's devices.
"""

import dataclasses
import functools
import os

from lxml import etree
from nova import conf as nova_conf
from nova import objects
from nova.virt.libvirt import config as vconfig
from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf as emu_conf
from emuvirt import exception
from emuvirt.nova import adapt
from emuvirt.nova import conf as emuvirt_nova_conf
from emuvirt.nova import host as nova_host
from emuvirt.nova import plan as plan_mod
from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as emu_image_meta
from emuvirt.objects import instance as instance_obj
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import flavors
from emuvirt.tests.functional import golden
from emuvirt.virt import emulation

CONF = nova_conf.CONF
emuvirt_nova_conf.register_opts(CONF)
objects.register_all()

SCHEMA = os.environ.get('EMUVIRT_LIBVIRT_SCHEMA',
                        '/usr/share/libvirt/schemas/domain.rng')
FOREIGN = {'x86_64': ('aarch64', 's390x', 'ppc64le', 'mipsel', 'riscv64'),
           'aarch64': ('x86_64', 's390x', 'ppc64le', 'mipsel', 'riscv64')}
UUID = '6f8a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b'


@functools.lru_cache(maxsize=None)
def _schema():
    return etree.RelaxNG(etree.parse(SCHEMA))


def nova_props(props):
    """Image properties typed as Nova's ImageMetaProps types them.

    ``hw_emulation_architecture`` stays a string: Nova's field refuses
    riscv64, which the plan is also asked about. So do the names Nova has
    no field for (``hw_cpu_model``), which the plan reads as given.
    """
    fields = objects.ImageMetaProps.fields
    raw = {k: v for k, v in props.items()
           if k == 'hw_emulation_architecture' or k not in fields}
    typed = plan_mod.image_props(objects.ImageMeta.from_dict(
        {'properties': {k: v for k, v in props.items() if k not in raw}}))
    typed.update(raw)
    return typed


class _NovaHostStub(object):
    """What NovaHost needs of Nova's Host: a URI and a connection."""

    def __init__(self, connection):
        self._uri = connection.uri
        self._connection = connection

    def get_connection(self):
        return self._connection


def stock_config(arch):
    """A config shaped like stock Nova 34's for a foreign guest.

    The values are the ones stock Nova writes (measured): the host's
    machine type, x86 features and timers, UEFI by autoselection with a
    ``secure='no'`` loader, a serial port, VNC, video, a USB tablet and
    a USB controller.
    """
    guest = vconfig.LibvirtConfigGuest()
    guest.virt_type, guest.name, guest.uuid = 'kvm', 'instance-1', UUID
    guest.os_type, guest.os_arch, guest.os_mach_type = 'hvm', arch, 'pc'
    guest.memory, guest.vcpus = 512 * 1024, 2
    guest.os_firmware, guest.os_loader_secure = 'efi', False
    guest.os_firmware_secure = False
    guest.add_feature(vconfig.LibvirtConfigGuestFeatureACPI())
    guest.add_feature(vconfig.LibvirtConfigGuestFeatureAPIC())
    clock = vconfig.LibvirtConfigGuestClock()
    for name in ('pit', 'rtc'):
        timer = vconfig.LibvirtConfigGuestTimer()
        timer.name = name
        clock.add_timer(timer)
    guest.set_clock(clock)
    cpu = vconfig.LibvirtConfigGuestCPU()
    cpu.mode, cpu.model = 'custom', 'qemu64'
    cpu.sockets, cpu.cores, cpu.threads = 2, 1, 1
    guest.cpu = cpu
    serial = vconfig.LibvirtConfigGuestSerial()
    serial.type = 'pty'
    guest.add_device(serial)
    graphics = vconfig.LibvirtConfigGuestGraphics()
    graphics.type = 'vnc'
    guest.add_device(graphics)
    guest.add_device(vconfig.LibvirtConfigGuestVideo())
    guest.add_device(vconfig.LibvirtConfigGuestInput())
    usb = vconfig.LibvirtConfigGuestUSBHostController()
    usb.index, usb.model = 0, 'none'
    guest.add_device(usb)
    return guest


class PlanTestCase(testtools.TestCase):

    host_arch = 'x86_64'

    def setUp(self):
        super().setUp()
        self.flags = self.useFixture(config_fixture.Config(CONF))
        self.useFixture(config_fixture.Config(emu_conf.CONF))
        self.libvirt = self.useFixture(
            fakelibvirt.FakeLibvirtFixture(self.host_arch))
        self.useFixture(fakelibvirt.FakeFirmwareFixture(self.host_arch))
        self.host = nova_host.NovaHost(
            _NovaHostStub(self.libvirt.connection))

    def plan(self, direct_kernel=False, secure_boot=False, vcpus=None,
             **props):
        """``vcpus`` None: 2, or the most the guest arch takes."""
        if vcpus is None:
            vcpus = flavors.vcpus(props.get('hw_emulation_architecture') or
                                  props.get('hw_architecture') or
                                  self.host_arch)
        return plan_mod.plan(self.host, CONF, nova_props(props),
                             direct_kernel, secure_boot=secure_boot,
                             vcpus=vcpus)


class TestSameAnswerAsStandalone(PlanTestCase):
    """Same image, same host: the Nova plan and the standalone plan agree.

    Both flavours read ``[libvirt]virt_type``; each from its own
    configuration, set alike here.
    """

    # Every decision both plans hold.
    DECISIONS = ('domain_type', 'machine', 'cpu', 'firmware', 'graphics',
                 'video', 'video_ram_mib', 'input_bus', 'disk_bus',
                 'cdrom_bus', 'scsi_model', 'vif_model', 'rng_model',
                 'guest_agent', 'serial_ports', 'boot_menu', 'gic_version',
                 'pcie_ports', 'tb_cache_mib', 'boot_loader')

    def _standalone(self, props, kernel, vcpus=None):
        emu_conf.CONF.set_override('virt_type', 'kvm', group='libvirt')
        if vcpus is None:
            vcpus = flavors.vcpus(props.get('hw_emulation_architecture') or
                                  props.get('hw_architecture') or
                                  self.host_arch)
        drv = emulation.EmuVirtDriver()
        inst = instance_obj.Instance(
            uuid=UUID, name='instance-1',
            flavor=flavor_obj.Flavor(name='f', vcpus=vcpus, memory_mb=512,
                                     root_gb=1),
            image_path=None if kernel else '/images/disk.qcow2',
            kernel_path='/images/vmlinuz' if kernel else None,
            ramdisk_path=None, machine_type=None)
        # The other fields at their defaults (no config drive...).
        inst.obj_set_defaults()
        meta = emu_image_meta.ImageMeta(
            disk_format='qcow2',
            properties=emu_image_meta.ImageMetaProps.from_dict(props))
        return drv.plan_guest(inst, meta, networks=())

    def _graphics_alike(self, props):
        """nova.conf's console as the image's hw_console_type asks."""
        console = props.get('hw_console_type')
        self.flags.config(enabled=console == 'vnc', group='vnc')
        self.flags.config(enabled=console == 'spice', group='spice')

    def _compare(self, props, kernel=False, vcpus=None):
        self.flags.config(virt_type='kvm', group='libvirt')
        self._graphics_alike(props)
        ours = self.plan(direct_kernel=kernel, vcpus=vcpus, **props)
        theirs = self._standalone(props, kernel, vcpus)
        self.assertEqual(theirs.profile.arch, ours.arch, props)
        self.assertEqual(
            {d: getattr(theirs, d) for d in self.DECISIONS},
            {d: getattr(ours, d) for d in self.DECISIONS}, props)

    def _refusals(self, props, kernel=False, vcpus=None):
        """Both refuse, with the same message."""
        self.flags.config(virt_type='kvm', group='libvirt')
        self._graphics_alike(props)
        ours = self.assertRaises(exception.Invalid, self.plan,
                                 direct_kernel=kernel, vcpus=vcpus, **props)
        theirs = self.assertRaises(exception.Invalid, self._standalone,
                                   props, kernel, vcpus)
        self.assertEqual(str(theirs), str(ours))
        return str(ours)

    def test_every_foreign_arch(self):
        for arch in FOREIGN[self.host_arch]:
            # mipsel boots nothing without a kernel (the test below).
            self._compare({'hw_emulation_architecture': arch},
                          kernel=arch == 'mipsel')

    def test_same_refusal_without_a_kernel(self):
        props = {'hw_emulation_architecture': 'mipsel'}
        self.flags.config(virt_type='kvm', group='libvirt')
        ours = self.assertRaises(exception.KernelRequired, self.plan,
                                 **props)
        theirs = self.assertRaises(exception.KernelRequired,
                                   self._standalone, props, False)
        self.assertEqual(str(theirs), str(ours))
        self.assertIn('kernel_id', str(ours))

    def test_device_properties_on_every_arch(self):
        # The golden rows: every device property on every arch taking it.
        for name, values, others in golden.DEVICE_PROPERTIES:
            for arch, value in values.items():
                props = dict(others, **{name: value})
                if arch != self.host_arch:
                    props['hw_emulation_architecture'] = arch
                self._compare(props, kernel=arch == 'mipsel')

    def test_device_property_refusals_on_every_arch(self):
        for name, values, others in golden.DEVICE_PROPERTIES:
            value = sorted(values.values())[0]
            for arch in set(golden.GUEST_ARCHES) - set(values):
                props = {k: v for k, v in others.items()
                         if k != 'hw_video_model'}
                props[name] = value
                if arch != self.host_arch:
                    props['hw_emulation_architecture'] = arch
                msg = self._refusals(props, kernel=arch == 'mipsel')
                self.assertIn(name, msg)

    def test_gic_with_many_vcpus(self):
        props = {'hw_emulation_architecture': 'aarch64'}
        if self.host_arch == 'aarch64':
            props = {}
        self._compare(props, vcpus=16)

    def test_direct_kernel_boot(self):
        self._compare({'hw_emulation_architecture': 'aarch64'}, kernel=True)

    def test_mipsel_vcpus_refused_alike(self):
        # malta's 24Kf has no SMP: one vCPU, in both flavours.
        props = {'hw_emulation_architecture': 'mipsel'}
        self._compare(props, kernel=True, vcpus=1)
        for vcpus in (2, 16):
            msg = self._refusals(props, kernel=True, vcpus=vcpus)
            self.assertTrue(msg.startswith(
                'Flavor vcpus=%d: mipsel guests take at most 1 (' % vcpus),
                msg)

    def test_native_guest(self):
        self._compare({})

    def test_image_overrides(self):
        self._compare({'hw_emulation_architecture': 'aarch64',
                       'hw_cdrom_bus': 'usb', 'hw_cpu_model': 'cortex-a57'})
        self._compare({'hw_architecture': 'x86_64',
                       'hw_machine_type': 'pc', 'hw_disk_bus': 'sata'})


class TestSameAnswerOnAarch64Host(TestSameAnswerAsStandalone):
    host_arch = 'aarch64'


class TestPlan(PlanTestCase):

    def test_foreign_guest_gets_tcg_whatever_virt_type(self):
        self.flags.config(virt_type='kvm', group='libvirt')
        plan = self.plan(hw_emulation_architecture='aarch64')
        self.assertEqual(('qemu', 'virt-7.2', True),
                         (plan.domain_type, plan.machine, plan.foreign))

    def test_machine_type_option_is_keyed_by_guest_arch(self):
        self.flags.config(hw_machine_type=['x86_64=pc'], group='libvirt')
        self.assertEqual('pc-i440fx-7.2', self.plan().machine)
        self.assertEqual('virt-7.2', self.plan(
            hw_emulation_architecture='aarch64').machine)

    def test_cpu_models_option(self):
        self.flags.config(cpu_models=['aarch64=cortex-a57'],
                          group='emulation')
        self.assertEqual('cortex-a57', self.plan(
            hw_emulation_architecture='aarch64').cpu.model)

    def test_arch_not_enabled_is_refused_naming_the_option(self):
        self.flags.config(enabled_architectures=['aarch64'],
                          group='emulation')
        e = self.assertRaises(exception.ArchitectureNotSupported, self.plan,
                              hw_emulation_architecture='s390x')
        self.assertIn('[emulation]enabled_architectures', str(e))

    def test_bad_property_is_refused_naming_it(self):
        e = self.assertRaises(exception.InvalidImageProperty, self.plan,
                              hw_emulation_architecture='s390x',
                              hw_firmware_type='uefi')
        self.assertIn('hw_firmware_type', str(e))

    def test_secure_boot_needs_uefi(self):
        e = self.assertRaises(exception.Invalid, self.plan,
                              secure_boot='required',
                              hw_emulation_architecture='s390x')
        self.assertIn('os:secure_boot', str(e))
        # Optional or disabled: the guest boots its built-in firmware.
        for policy in ('optional', 'disabled'):
            plan = self.plan(secure_boot=policy,
                             hw_emulation_architecture='s390x')
            self.assertEqual((None, False),
                             (plan.firmware, plan.secure_boot))
        # UEFI with secure boot optional: Nova's autoselection picks.
        self.assertTrue(self.plan(secure_boot='optional',
                                  hw_emulation_architecture='aarch64')
                        .secure_boot)

    def test_graphics_follow_nova_conf_and_the_arch(self):
        self.flags.config(enabled=True, group='vnc')
        self.assertEqual('vnc', self.plan(
            hw_emulation_architecture='aarch64').graphics)
        # s390x: virtio-gpu-ccw with virtio inputs.
        s390x = self.plan(hw_emulation_architecture='s390x')
        self.assertEqual(('vnc', 'virtio', 'virtio'),
                         (s390x.graphics, s390x.video, s390x.input_bus))
        # mipsel serves no spice: serial console only.
        self.flags.config(enabled=False, group='vnc')
        self.flags.config(enabled=True, group='spice')
        mipsel = self.plan(hw_emulation_architecture='mipsel',
                           direct_kernel=True)
        self.assertEqual((None, None), (mipsel.graphics, mipsel.video))
        self.flags.config(enabled=False, group='spice')
        self.flags.config(enabled=True, group='vnc')
        self.flags.config(enabled=False, group='vnc')
        self.assertIsNone(self.plan(
            hw_emulation_architecture='aarch64').graphics)

    def test_hints_for_nova(self):
        plan = self.plan(hw_emulation_architecture='aarch64')
        self.assertEqual({'hw_machine_type': 'virt-7.2',
                          'hw_disk_bus': 'virtio', 'hw_cdrom_bus': 'scsi'},
                         plan_mod.nova_hints(plan))
        self.assertEqual(dict(plan_mod.nova_hints(plan),
                              hw_firmware_type='bios'),
                         plan_mod.nova_config_hints(plan))

    def test_a_plan_made_again_from_its_hints_is_the_same(self):
        # Nova hands the hinted image back (spawn's guest config, hard
        # reboot from the recorded properties): same answer every time.
        for arch in FOREIGN['x86_64'] + ('x86_64',):
            props = {'hw_emulation_architecture': arch}
            kernel = arch == 'mipsel'
            plan = self.plan(direct_kernel=kernel, **props)
            again = self.plan(direct_kernel=kernel,
                              **dict(props, **plan_mod.nova_hints(plan)))
            self.assertEqual(plan, again, arch)


class TestAdapt(PlanTestCase):

    def _adapted(self, arch, direct_kernel=False, **props):
        plan = self.plan(direct_kernel=direct_kernel,
                         hw_emulation_architecture=arch, **props)
        guest = stock_config(arch)
        if direct_kernel:
            guest.os_firmware = guest.os_loader_secure = None
            guest.os_firmware_secure = None
            guest.os_kernel = '/instances/x/kernel'
            guest.os_cmdline = 'root=/dev/vda console=tty0 console=ttyS0 ' \
                'console=hvc0'
        adapt.apply(guest, plan)
        return plan, guest, etree.fromstring(guest.to_xml())

    def assertValid(self, xml):
        if not os.path.exists(SCHEMA):
            self.skipTest('no libvirt schema %s' % SCHEMA)
        schema = _schema()
        self.assertTrue(schema.validate(xml), str(schema.error_log))

    def test_every_foreign_arch_validates(self):
        for arch in FOREIGN['x86_64']:
            _plan, _guest, xml = self._adapted(
                arch, direct_kernel=arch == 'mipsel')
            self.assertValid(xml)
            self.assertEqual(arch, xml.find('os/type').get('arch'))
            self.assertEqual('qemu', xml.get('type'))
            self.assertIsNone(xml.find('features/apic'), arch)
            self.assertEqual([], xml.findall('clock/timer'), arch)

    def test_aarch64(self):
        _plan, _guest, xml = self._adapted('aarch64')
        self.assertEqual('virt-7.2', xml.find('os/type').get('machine'))
        loader = xml.find('os/loader')
        self.assertEqual(('/usr/share/AAVMF/AAVMF_CODE.fd', 'pflash', None),
                         (loader.text, loader.get('type'),
                          loader.get('secure')))
        self.assertIsNone(xml.find('os').get('firmware'))
        self.assertEqual('3', xml.find('features/gic').get('version'))
        self.assertIsNotNone(xml.find('features/acpi'))
        self.assertEqual('neoverse-n1', xml.findtext('cpu/model'))
        self.assertEqual('2', xml.find('cpu/topology').get('sockets'))
        models = [c.get('model') for c in xml.findall(
            'devices/controller[@type="pci"]')]
        self.assertEqual(['pcie-root'] + ['pcie-root-port'] * 8, models)
        self.assertEqual('qemu-xhci', xml.find(
            'devices/controller[@type="usb"]').get('model'))

    def test_aarch64_direct_kernel(self):
        _plan, _guest, xml = self._adapted('aarch64', direct_kernel=True)
        self.assertValid(xml)
        # No UEFI, so no ACPI (libvirt refuses it), and the arch's console.
        self.assertIsNone(xml.find('os/loader'))
        self.assertIsNone(xml.find('features/acpi'))
        self.assertEqual('root=/dev/vda console=ttyAMA0',
                         xml.findtext('os/cmdline'))

    def test_s390x(self):
        _plan, _guest, xml = self._adapted('s390x')
        self.assertValid(xml)
        # Nova's VNC with virtio-gpu-ccw and virtio inputs; no USB.
        self.assertEqual([('tablet', 'virtio'), ('keyboard', 'virtio')],
                         [(i.get('type'), i.get('bus'))
                          for i in xml.findall('devices/input')])
        self.assertEqual([], xml.findall('devices/controller[@type="usb"]'))
        self.assertEqual(['vnc'], [g.get('type') for g in
                                   xml.findall('devices/graphics')])
        self.assertEqual(['virtio'], [v.get('type') for v in
                                      xml.findall('devices/video/model')])
        self.assertEqual([], xml.findall('devices/serial'))
        self.assertEqual('sclp', xml.find('devices/console/target')
                         .get('type'))
        self.assertIsNone(xml.find('os/loader'))
        self.assertIsNone(xml.find('features'))

    def test_riscv64_disk_through_u_boot(self):
        _plan, _guest, xml = self._adapted('riscv64')
        self.assertValid(xml)
        self.assertEqual('/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin',
                         xml.findtext('os/kernel'))
        self.assertIsNone(xml.find('os/cmdline'))

    def test_riscv64_direct_kernel(self):
        _plan, _guest, xml = self._adapted('riscv64', direct_kernel=True)
        self.assertEqual('/instances/x/kernel', xml.findtext('os/kernel'))

    def test_mipsel(self):
        _plan, _guest, xml = self._adapted('mipsel', direct_kernel=True)
        self.assertIsNone(xml.find('cpu'))
        self.assertEqual('pci-root', xml.find(
            'devices/controller[@type="pci"]').get('model'))

    def test_scsi_cdrom_gets_virtio_scsi(self):
        plan = self.plan(hw_emulation_architecture='aarch64')
        guest = stock_config('aarch64')
        disk = vconfig.LibvirtConfigGuestDisk()
        disk.source_type, disk.source_device = 'file', 'cdrom'
        disk.source_path, disk.target_dev = '/i/disk.config', 'sda'
        disk.target_bus, disk.driver_format = 'scsi', 'raw'
        guest.add_device(disk)
        adapt.apply(guest, plan)
        xml = etree.fromstring(guest.to_xml())
        self.assertValid(xml)
        self.assertEqual('virtio-scsi', xml.find(
            'devices/controller[@type="scsi"]').get('model'))

    def test_secure_boot_keeps_autoselection_without_loader_secure(self):
        plan = self.plan(secure_boot='required', hw_architecture='x86_64',
                         hw_machine_type='q35', hw_firmware_type='uefi')
        guest = stock_config('x86_64')
        guest.os_loader_secure = guest.os_firmware_secure = True
        adapt.apply(guest, plan)
        xml = etree.fromstring(guest.to_xml())
        self.assertValid(xml)
        self.assertEqual('efi', xml.find('os').get('firmware'))
        self.assertIsNone(xml.find('os/loader'))
        self.assertEqual('yes', xml.find(
            'os/firmware/feature[@name="secure-boot"]').get('enabled'))

    def test_native_x86_keeps_its_pc_hardware(self):
        self.flags.config(virt_type='kvm', group='libvirt')
        plan = self.plan(hw_architecture='x86_64')
        guest = stock_config('x86_64')
        adapt.apply(guest, plan)
        xml = etree.fromstring(guest.to_xml())
        self.assertValid(xml)
        self.assertIsNotNone(xml.find('features/apic'))
        self.assertEqual(['pit', 'rtc'], [
            t.get('name') for t in xml.findall('clock/timer')])
        # Nova's CPU config stays under KVM.
        self.assertEqual('qemu64', xml.findtext('cpu/model'))


class TestAdaptDevices(PlanTestCase):
    """The device decisions Nova takes from host-arch rules."""

    def _adapted(self, arch, **props):
        plan = self.plan(hw_emulation_architecture=arch, **props)
        guest = stock_config(arch)
        adapt.apply(guest, plan)
        xml = etree.fromstring(guest.to_xml())
        if os.path.exists(SCHEMA):
            self.assertTrue(_schema().validate(xml), str(_schema().error_log))
        return xml

    def test_gic_version_of_the_plan(self):
        xml = self._adapted('aarch64')
        self.assertEqual(['3'], [g.get('version') for g in
                                 xml.findall('features/gic')])
        self.assertEqual([], self._adapted('riscv64').findall(
            'features/gic'))

    def test_inputs_on_the_plan_bus(self):
        xml = self._adapted('aarch64', hw_input_bus='virtio')
        self.assertEqual([('tablet', 'virtio'), ('keyboard', 'virtio')],
                         [(i.get('type'), i.get('bus'))
                          for i in xml.findall('devices/input')])

    def test_video_and_inputs_without_nova_graphics(self):
        self.flags.config(enabled=False, group='vnc')
        plan = self.plan(hw_emulation_architecture='s390x',
                         hw_video_model='virtio', hw_input_bus='virtio')
        guest = stock_config('s390x')
        guest.devices = [d for d in guest.devices if not isinstance(d, (
            vconfig.LibvirtConfigGuestGraphics,
            vconfig.LibvirtConfigGuestVideo,
            vconfig.LibvirtConfigGuestInput))]
        adapt.apply(guest, plan)
        xml = etree.fromstring(guest.to_xml())
        self.assertEqual(['virtio'], [v.get('type') for v in
                                      xml.findall('devices/video/model')])
        self.assertEqual(['virtio', 'virtio'], [
            i.get('bus') for i in xml.findall('devices/input')])
        self.assertEqual([], xml.findall('devices/graphics'))

    def test_video_ram(self):
        xml = self._adapted('ppc64le', hw_video_ram='16')
        self.assertEqual([('vga', str(16 * 1024))], [
            (m.get('type'), m.get('vram'))
            for m in xml.findall('devices/video/model')])

    def test_serial_ports_past_the_first_on_pci(self):
        xml = self._adapted('riscv64', hw_serial_port_count='3')
        self.assertEqual([None, 'pci-serial', 'pci-serial'], [
            (s.find('target').get('type') if s.find('target') is not None
             else None) for s in xml.findall('devices/serial')])
        xml = self._adapted('ppc64le', hw_serial_port_count='2')
        self.assertEqual(2, len(xml.findall('devices/serial')))

    def test_scsi_controller_of_the_plan(self):
        plan = self.plan(hw_emulation_architecture='aarch64')
        guest = stock_config('aarch64')
        disk = vconfig.LibvirtConfigGuestDisk()
        disk.source_type, disk.source_device = 'file', 'disk'
        disk.source_path, disk.target_dev = '/i/disk', 'sda'
        disk.target_bus, disk.driver_format = 'scsi', 'qcow2'
        guest.add_device(disk)
        adapt.apply(guest, plan)
        xml = etree.fromstring(guest.to_xml())
        self.assertEqual(['virtio-scsi'], [c.get('model') for c in xml.findall(
            'devices/controller[@type="scsi"]')])

    def test_no_rng_where_libvirt_offers_none(self):
        plan = self.plan(hw_emulation_architecture='aarch64')
        plan = dataclasses.replace(plan, rng_model=None)
        guest = stock_config('aarch64')
        guest.add_device(vconfig.LibvirtConfigGuestRng())
        adapt.apply(guest, plan)
        self.assertEqual([], [d for d in guest.devices if isinstance(
            d, vconfig.LibvirtConfigGuestRng)])

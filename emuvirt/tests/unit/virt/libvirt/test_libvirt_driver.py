"""Tests of LibvirtDriver's guest planning (the skeleton driver).

The skeleton answers "what is the guest arch?" with ``hw_architecture``,
else the host's; everything after that is the shared code path, tested
here against the fake libvirt of each captured host.
"""

import os

from lxml import etree
from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf
from emuvirt import exception
from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.objects import instance as instance_obj
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import flavors
from emuvirt.virt.libvirt import config as vconfig
from emuvirt.virt.libvirt import driver as libvirt_driver
from emuvirt.virt.libvirt import guest_config
from emuvirt.virt.libvirt import metadata

UUID = '6f8a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b'
INSTANCES = '/var/lib/emuvirt/instances'
IMAGE = '/var/lib/emuvirt/images/guest.qcow2'
ISO = '/var/lib/emuvirt/images/installer.iso'
KERNEL = '/var/lib/emuvirt/images/vmlinuz'
RAMDISK = '/var/lib/emuvirt/images/initrd.img'


class DriverTestCase(testtools.TestCase):
    """A driver against the fake libvirt of ``host_arch``."""

    host_arch = 'x86_64'
    driver_class = libvirt_driver.LibvirtDriver

    def setUp(self):
        super().setUp()
        self.flags = self.useFixture(config_fixture.Config(conf.CONF))
        self.flags.config(group='libvirt', instances_path=INSTANCES)

    def use_host(self, host_arch=None, remove_arches=()):
        """Serve ``host_arch``'s data; firmware from its descriptors."""
        fake = self.useFixture(fakelibvirt.FakeLibvirtFixture(
            host_arch or self.host_arch, remove_arches))
        self.useFixture(fakelibvirt.FakeFirmwareFixture(
            host_arch or self.host_arch))
        return fake

    def make_driver(self, host_arch=None, remove_arches=()):
        """Options are read when the driver is built: set flags first."""
        self.fake = self.use_host(host_arch, remove_arches)
        return self.driver_class()

    @staticmethod
    def make_instance(props=None, image=IMAGE, disk_format='qcow2',
                      kernel=None, flavor=None):
        """An instance and its image.

        ``kernel`` None: a kernel only for mipsel, which boots nothing
        without one. ``flavor`` None: 2 vCPUs (1 on mipsel, which takes
        no more), 1024 MiB, 10 GiB.
        """
        props = props or {}
        if kernel is None:
            kernel = 'mipsel' in (props.get(name) for name in (
                'hw_emulation_architecture', 'hw_architecture'))
        arch = (props.get('hw_emulation_architecture') or
                props.get('hw_architecture'))
        if flavor is None:
            flavor = flavors.flavor(arch)
        image_meta = image_meta_obj.ImageMeta.from_dict(
            {'properties': props, 'disk_format': disk_format},
            strict=True)
        instance = instance_obj.Instance.new(
            uuid=UUID, name='guest1',
            flavor=flavor_obj.Flavor.from_string(flavor),
            image_meta=image_meta, image_path=image,
            kernel_path=KERNEL if kernel else None,
            ramdisk_path=RAMDISK if kernel else None)
        return instance, image_meta

    def plan(self, props=None, drv=None, **kwargs):
        drv = drv or self.make_driver()
        instance, image_meta = self.make_instance(props, **kwargs)
        return drv.plan_guest(instance, image_meta, networks=())

    def config(self, props=None, drv=None, **kwargs):
        drv = drv or self.make_driver()
        instance, image_meta = self.make_instance(props, **kwargs)
        return drv.get_guest_config(instance, image_meta, networks=())

    def refused(self, exc_class, props=None, drv=None, **kwargs):
        """The error planning raises, as text."""
        return str(self.assertRaises(exc_class, self.plan, props, drv,
                                     **kwargs))


def feature_names(cfg):
    return [f.name for f in cfg.features]


class TestGuestArch(DriverTestCase):

    def test_host_arch_by_default(self):
        drv = self.make_driver()
        self.assertEqual('x86_64', drv.guest_arch(
            image_meta_obj.ImageMetaProps.from_dict({})))
        self.assertEqual('x86_64', self.plan(drv=drv).profile.arch)

    def test_hw_architecture(self):
        plan = self.plan({'hw_architecture': 'aarch64'})
        self.assertEqual('aarch64', plan.profile.arch)

    def test_skeleton_ignores_hw_emulation_architecture(self):
        plan = self.plan({'hw_emulation_architecture': 'aarch64'})
        self.assertEqual('x86_64', plan.profile.arch)

    def test_native_on_every_host(self):
        for host in fakelibvirt.host_arches():
            plan = self.plan(drv=self.make_driver(host))
            self.assertEqual(host, plan.profile.arch)
            self.assertEqual('kvm', plan.domain_type, host)

    def test_arch_without_profile(self):
        msg = self.refused(exception.ArchitectureNotSupported,
                           {'hw_architecture': 'sparc64'})
        self.assertIn('sparc64', msg)
        self.assertIn('aarch64', msg)

    def test_arch_without_emulator(self):
        drv = self.make_driver(remove_arches=('aarch64',))
        msg = self.refused(exception.ArchitectureNotSupported,
                           {'hw_architecture': 'aarch64'}, drv)
        self.assertIn('aarch64', msg)
        self.assertIn('qemu-system-aarch64', msg)


class TestDomainType(DriverTestCase):

    def test_kvm_for_native(self):
        plan = self.plan()
        self.assertEqual('kvm', plan.domain_type)
        self.assertEqual('host-model', plan.cpu.mode)

    def test_qemu_when_configured(self):
        self.flags.config(group='libvirt', virt_type='qemu')
        plan = self.plan()
        self.assertEqual('qemu', plan.domain_type)
        self.assertEqual('maximum', plan.cpu.mode)

    def test_qemu_where_libvirt_offers_no_kvm(self):
        plan = self.plan({'hw_architecture': 's390x'})
        self.assertEqual('qemu', plan.domain_type)

    def test_emulator_from_capabilities(self):
        for arch in ('x86_64', 'aarch64', 'ppc64le', 'mipsel'):
            plan = self.plan({'hw_architecture': arch})
            self.assertEqual('/usr/bin/qemu-system-%s' % arch, plan.emulator)


class TestMachine(DriverTestCase):

    def test_profile_default(self):
        self.assertEqual('pc-q35-7.2', self.plan().machine)

    def test_option_by_guest_arch(self):
        self.flags.config(group='libvirt', hw_machine_type=['x86_64=pc'])
        self.assertEqual('pc-i440fx-7.2', self.plan().machine)

    def test_image_beats_option(self):
        self.flags.config(group='libvirt', hw_machine_type=['x86_64=pc'])
        self.assertEqual('pc-q35-7.2',
                         self.plan({'hw_machine_type': 'q35'}).machine)

    def test_unknown_from_option(self):
        self.flags.config(group='libvirt',
                          hw_machine_type=['x86_64=virt'])
        msg = self.refused(exception.InvalidMachineType)
        self.assertIn('[libvirt]hw_machine_type', msg)
        self.assertIn('pc-q35-7.2', msg)

    def test_unknown_from_image(self):
        msg = self.refused(exception.InvalidMachineType,
                           {'hw_machine_type': 'malta'})
        self.assertIn('image property hw_machine_type', msg)

    def test_options_are_read_when_the_driver_is_built(self):
        drv = self.make_driver()
        self.flags.config(group='libvirt', hw_machine_type=['x86_64=pc'])
        self.assertEqual('pc-q35-7.2', self.plan(drv=drv).machine)


class TestPlanOptions(DriverTestCase):

    def test_pcie_ports_option(self):
        self.flags.config(group='libvirt', num_pcie_ports=3)
        self.assertEqual(3, self.plan().pcie_ports)

    def test_pcie_ports_profile_default(self):
        self.flags.config(group='libvirt', num_pcie_ports=0)
        self.assertEqual(8, self.plan().pcie_ports)

    def test_tb_cache_only_for_tcg(self):
        self.flags.config(group='libvirt', tb_cache_size=128)
        self.assertNotIn('tcg', feature_names(self.config()))
        self.flags.config(group='libvirt', virt_type='qemu')
        cfg = self.config()
        tcg = [f for f in cfg.features if f.name == 'tcg'][0]
        self.assertEqual((('tb-cache', 128, {'unit': 'MiB'}),),
                         tcg.children)

    def test_no_tb_cache_by_default(self):
        self.flags.config(group='libvirt', virt_type='qemu')
        self.assertNotIn('tcg', feature_names(self.config()))

    def test_instance_dir(self):
        plan = self.plan()
        self.assertEqual(os.path.join(INSTANCES, UUID), plan.instance_dir)
        instance, _meta = self.make_instance()
        self.assertEqual(plan.instance_dir,
                         libvirt_driver.instance_dir(instance))


class TestBoot(DriverTestCase):

    def test_disk_image(self):
        boot = self.plan().boot
        self.assertEqual(os.path.join(INSTANCES, UUID, 'disk'),
                         boot.disk_path)
        self.assertIsNone(boot.cdrom_path)
        self.assertFalse(boot.direct_kernel)

    def test_iso_is_a_cdrom(self):
        boot = self.plan(image=ISO, disk_format='iso').boot
        self.assertEqual(ISO, boot.cdrom_path)

    def test_direct_kernel_default_cmdline(self):
        boot = self.plan({'hw_architecture': 'aarch64'}, image=None,
                         kernel=True).boot
        self.assertEqual((KERNEL, RAMDISK), (boot.kernel, boot.ramdisk))
        self.assertEqual('console=ttyAMA0', boot.cmdline)

    def test_direct_kernel_with_disk_roots_on_it(self):
        boot = self.plan({'hw_architecture': 's390x'}, kernel=True).boot
        self.assertEqual('console=ttysclp0 root=/dev/vda', boot.cmdline)

    def test_os_command_line_wins(self):
        boot = self.plan({'os_command_line': 'quiet'}, kernel=True).boot
        self.assertEqual('quiet', boot.cmdline)

    def test_command_line_ignored_without_kernel(self):
        self.assertIsNone(self.plan({'os_command_line': 'quiet'}).boot.cmdline)


class TestRecord(DriverTestCase):

    def test_plan_carries_the_instance_record(self):
        plan = self.plan({'hw_architecture': 'aarch64',
                          'hw_machine_type': 'virt'})
        record = metadata.InstanceRecord.parse_dom(plan.metadata)
        self.assertEqual(
            (UUID, 'guest1', 'aarch64', 'virt-7.2', 2, 1024, 10, IMAGE),
            (record.uuid, record.name, record.guest_arch,
             record.machine_type, record.vcpus, record.memory_mb,
             record.root_gb, record.image_path))
        self.assertEqual({'hw_architecture': 'aarch64',
                          'hw_machine_type': 'virt'}, record.properties)

    def test_record_in_domain_xml(self):
        drv = self.make_driver()
        instance, image_meta = self.make_instance(kernel=True, image=None)
        xml = drv.get_guest_xml(instance, image_meta, networks=())
        record = metadata.InstanceRecord.from_domain_xml(xml)
        self.assertEqual(('x86_64', 'pc-q35-7.2', KERNEL, RAMDISK),
                         (record.guest_arch, record.machine_type,
                          record.kernel_path, record.ramdisk_path))


class TestGuestXML(DriverTestCase):

    def test_xml_is_the_config(self):
        drv = self.make_driver()
        instance, image_meta = self.make_instance()
        xml = drv.get_guest_xml(instance, image_meta, networks=())
        dom = etree.fromstring(xml)
        self.assertEqual(('kvm', 'guest1', UUID),
                         (dom.get('type'), dom.findtext('name'),
                          dom.findtext('uuid')))
        self.assertEqual('x86_64', dom.find('os/type').get('arch'))
        self.assertEqual(
            xml, drv.get_guest_config(instance, image_meta,
                                      networks=()).to_xml())

    def test_networks_passed_through(self):
        drv = self.make_driver()
        instance, image_meta = self.make_instance()
        cfg = drv.get_guest_config(
            instance, image_meta,
            networks=(guest_config.Network('network', 'prod'),))
        self.assertEqual([('network', 'prod')],
                         [(n.type, n.network) for n in
                          cfg.devices_of(vconfig.GuestInterface)])


class TestHostMethods(DriverTestCase):

    def test_available_nodes(self):
        self.flags.config(host='node-7')
        self.assertEqual(['node-7'], self.make_driver().get_available_nodes())

    def test_init_host_reads_capabilities_once(self):
        drv = self.make_driver()
        drv.init_host('node-7')
        self.plan(drv=drv)
        self.assertEqual(1, self.fake.calls['getCapabilities'])

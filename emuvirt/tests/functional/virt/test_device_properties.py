"""Every device property Nova's images use, on every guest arch.

For each property and each value of its field, on each guest arch, the
real driver builds the domain XML against the captured libvirt data of an
x86_64 host: the value is either honoured (the XML carries it and
libvirt's RNG schema accepts the document) or refused with one line naming
the property. Which one is decided by the arch profile and the domain
capabilities, so the expectations are read from those too, and a value
that is neither (accepted and ignored) fails the test.

The golden files (test_golden_xml) pin the whole document for one value
per property and arch; ``golden.DEVICE_PROPERTIES`` lists the arches that
take each property, and the arches it leaves out must refuse it.
"""

import functools
import os

import fixtures
from lxml import etree

from emuvirt import exception
from emuvirt.objects import fields
from emuvirt.tests.functional import golden
from emuvirt.tests.functional import test_base
from emuvirt.virt import archs
from emuvirt.virt import emulation
from emuvirt.virt.libvirt import config as vconfig
from emuvirt.virt.libvirt import decide

SCHEMA = os.environ.get('EMUVIRT_LIBVIRT_SCHEMA',
                        '/usr/share/libvirt/schemas/domain.rng')
ARCHES = golden.GUEST_ARCHES


@functools.lru_cache(maxsize=None)
def _schema():
    return etree.RelaxNG(etree.parse(SCHEMA))


def _values(xml, path, attr):
    return [e.get(attr) for e in xml.findall(path)]


class DevicePropertyTestCase(test_base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.fake = self.use_host('x86_64')
        self.flags.config(group='libvirt', instances_path='/instances')
        self.driver = emulation.EmuVirtDriver()
        if not os.path.exists(SCHEMA):
            self.require('libvirt domain schema %s' % SCHEMA)

    def _case(self, arch, props, flavor=None):
        # The golden cases' own way to make a guest: a disk image, or a
        # kernel on malta, which has no firmware to boot a disk.
        if arch != 'x86_64':
            props = dict(props, hw_emulation_architecture=arch)
        kernel = arch == 'mipsel'
        return golden.Case('device', 'x86_64', props, kernel=kernel,
                           image=None if kernel else golden.IMAGE,
                           flavor=flavor)

    def xml(self, arch, flavor=None, **props):
        """The domain XML, checked against libvirt's schema."""
        instance, image_meta = golden.make_instance(
            self._case(arch, props, flavor))
        text = self.driver.get_guest_xml(instance, image_meta)
        dom = etree.fromstring(text)
        schema = _schema()
        self.assertTrue(schema.validate(dom), '%s %s: %s' % (
            arch, props, schema.error_log))
        return dom

    def refused(self, name, arch, flavor=None,
                error=exception.InvalidImageProperty, **props):
        """The one-line refusal, naming ``name``."""
        instance, image_meta = golden.make_instance(
            self._case(arch, props, flavor))
        exc = self.assertRaises(error, self.driver.get_guest_xml,
                                instance, image_meta)
        msg = str(exc)
        self.assertIn(name, msg)
        self.assertNotIn('\n', msg)
        return msg

    def outcome(self, name, arch, value, accepted, path, attr, **others):
        """Honoured (the XML at ``path`` has ``value``) or refused."""
        props = dict(others, **{name: value})
        if accepted:
            dom = self.xml(arch, **props)
            self.assertIn(value, _values(dom, path, attr), (arch, props))
        else:
            msg = self.refused(name, arch, **props)
            self.assertIn(arch, msg)


class TestEveryValueOnEveryArch(DevicePropertyTestCase):

    def test_hw_vif_model(self):
        for arch in ARCHES:
            prof = archs.get_profile(arch)
            for value in fields.VIFModel.ALL:
                self.outcome('hw_vif_model', arch, value,
                             value in prof.nic_models,
                             'devices/interface/model', 'type')

    def test_hw_scsi_model(self):
        for arch in ARCHES:
            prof = archs.get_profile(arch)
            for value in fields.SCSIModel.ALL:
                self.outcome('hw_scsi_model', arch, value,
                             value in prof.scsi_models,
                             'devices/controller[@type="scsi"]', 'model')

    def test_hw_rng_model(self):
        for arch in ARCHES:
            for value in fields.RNGModel.ALL:
                self.outcome('hw_rng_model', arch, value, True,
                             'devices/rng', 'model')

    def test_hw_video_model(self):
        for arch in ARCHES:
            prof = archs.get_profile(arch)
            domcaps = self.driver.host.get_domain_capabilities(
                arch, prof.default_machine, 'kvm' if arch == 'x86_64'
                else 'qemu')
            for value in fields.VideoModel.ALL:
                if value == 'none':
                    dom = self.xml(arch, hw_video_model='none',
                                   hw_console_type='vnc')
                    self.assertEqual([], dom.findall('devices/video'))
                    continue
                offered = (value in prof.video_models and
                           domcaps.supports_video(value))
                self.outcome('hw_video_model', arch, value, offered,
                             'devices/video/model', 'type')

    def test_hw_input_bus(self):
        for arch in ARCHES:
            prof = archs.get_profile(arch)
            for value in fields.InputBus.ALL:
                self.outcome('hw_input_bus', arch, value,
                             value in prof.input_buses,
                             'devices/input', 'bus')

    def test_hw_pointer_model(self):
        for arch in ARCHES:
            prof = archs.get_profile(arch)
            for value in fields.PointerModel.ALL:
                props = {'hw_pointer_model': value}
                if 'usb' in prof.input_buses:
                    dom = self.xml(arch, **props)
                    self.assertEqual(
                        [('tablet', 'usb'), ('keyboard', 'usb')],
                        [(i.get('type'), i.get('bus'))
                         for i in dom.findall('devices/input')])
                    self.assertEqual(['qemu-xhci'], _values(
                        dom, 'devices/controller[@type="usb"]', 'model'))
                else:
                    self.refused('hw_pointer_model', arch, **props)

    def test_hw_qemu_guest_agent(self):
        for arch in ARCHES:
            dom = self.xml(arch, hw_qemu_guest_agent='true')
            self.assertEqual([vconfig.QEMU_GUEST_AGENT], _values(
                dom, 'devices/channel/target', 'name'))
            dom = self.xml(arch, hw_qemu_guest_agent='false')
            self.assertEqual([], dom.findall('devices/channel'))

    def test_hw_serial_port_count(self):
        for arch in ARCHES:
            prof = archs.get_profile(arch)
            for count in range(1, prof.serial_ports + 1):
                dom = self.xml(arch, hw_serial_port_count=str(count))
                ports = dom.findall('devices/serial') or dom.findall(
                    'devices/console/target[@type="sclp"]')
                self.assertEqual(count, len(ports), arch)
                extra = [p.find('target').get('type') for p in ports[1:]]
                self.assertEqual([prof.serial_extra] * (count - 1), extra)
            for count in (0, prof.serial_ports + 1):
                self.refused('hw_serial_port_count', arch,
                             hw_serial_port_count=str(count))

    def test_hw_boot_menu(self):
        for arch in ARCHES:
            prof = archs.get_profile(arch)
            if prof.boot_menu and arch != 'mipsel':
                dom = self.xml(arch, hw_boot_menu='true')
                self.assertEqual(['yes'], _values(dom, 'os/bootmenu',
                                                  'enable'))
            else:
                self.refused('hw_boot_menu', arch, hw_boot_menu='true')
            self.assertEqual([], self.xml(arch, hw_boot_menu='false')
                             .findall('os/bootmenu'))

    def test_hw_video_ram(self):
        for arch in ARCHES:
            prof = archs.get_profile(arch)
            for model in prof.video_models:
                props = dict(hw_console_type='vnc', hw_video_model=model,
                             hw_video_ram='32')
                if model in decide.VIDEO_RAM_MODELS:
                    dom = self.xml(arch, **props)
                    self.assertEqual([str(32 * 1024)], _values(
                        dom, 'devices/video/model', 'vram'))
                else:
                    self.refused('hw_video_ram', arch, **props)


class TestGoldenRowsRefuseElsewhere(DevicePropertyTestCase):
    """An arch a golden row leaves out refuses that property's value."""

    def test_left_out_arches_refuse(self):
        for name, values, others in golden.DEVICE_PROPERTIES:
            value = sorted(values.values())[0]
            for arch in ARCHES:
                if arch in values:
                    continue
                # With the arch's own video model: the row's may be one
                # the arch lacks, which would be refused first.
                props = {k: v for k, v in others.items()
                         if k != 'hw_video_model'}
                props[name] = value
                self.refused(name, arch, **props)


class TestRefusals(DevicePropertyTestCase):
    """One test per refusal the device decisions make."""

    def test_nic_model_the_arch_lacks(self):
        msg = self.refused('hw_vif_model', 's390x', hw_vif_model='e1000')
        self.assertIn('supported: virtio', msg)
        self.refused('hw_vif_model', 'mipsel', hw_vif_model='e1000e')

    def test_scsi_model_the_arch_lacks(self):
        self.refused('hw_scsi_model', 's390x', hw_scsi_model='lsilogic')
        self.refused('hw_scsi_model', 'aarch64', hw_scsi_model='ibmvscsi')

    def test_rng_libvirt_does_not_offer(self):
        self._edit_domcaps('devices/rng/enum[@name="model"]/value')
        msg = self.refused('hw_rng_model', 'riscv64', hw_rng_model='virtio')
        self.assertIn('supported: none', msg)
        # Not asked for: the guest simply has no RNG.
        self.assertEqual([], self.xml('riscv64').findall('devices/rng'))

    def test_guest_agent_without_unix_channels(self):
        self._edit_domcaps('devices/channel/enum/value[.="unix"]')
        self.refused('hw_qemu_guest_agent', 'riscv64',
                     hw_qemu_guest_agent='true')

    def test_usb_input_on_s390x(self):
        self.refused('hw_input_bus', 's390x', hw_input_bus='usb')
        msg = self.refused('hw_pointer_model', 's390x',
                           hw_pointer_model='usbtablet')
        self.assertIn('input buses: virtio', msg)

    def test_too_many_serial_ports(self):
        msg = self.refused('hw_serial_port_count', 's390x',
                           hw_serial_port_count='2')
        self.assertIn('s390x guests take 1 to 1', msg)

    def test_boot_menu_without_one(self):
        self.refused('hw_boot_menu', 'riscv64', hw_boot_menu='true')
        msg = self.refused('hw_boot_menu', 'mipsel', hw_boot_menu='true')
        self.assertIn('boots its kernel directly', msg)

    def test_video_ram_a_model_cannot_take(self):
        self.refused('hw_video_ram', 'aarch64', hw_video_ram='16',
                     hw_console_type='vnc')
        self.refused('hw_video_ram', 'x86_64', hw_video_ram='16')
        self.refused('hw_video_ram', 'x86_64', hw_video_ram='24',
                     hw_console_type='vnc', hw_video_model='vga')

    def test_video_model_the_arch_lacks(self):
        self.refused('hw_video_model', 's390x', hw_video_model='vga')
        self.refused('hw_video_model', 'riscv64', hw_video_model='ramfb')

    def test_gicv2_only_and_more_than_8_vcpus(self):
        self._edit_domcaps('features/gic/enum/value[.="3"]')
        dom = self.xml('aarch64', flavor='vcpus=8,ram=1024,disk=10')
        self.assertEqual(['2'], _values(dom, 'features/gic', 'version'))
        msg = self.refused('vcpus=9', 'aarch64', error=exception.Invalid,
                           flavor='vcpus=9,ram=1024,disk=10')
        self.assertIn('flavor vcpus=9', msg)
        self.assertIn('GICv2', msg)

    def _edit_domcaps(self, path):
        """Serve domain capabilities without the nodes at ``path``."""
        conn = self.fake.connection
        real = conn.getDomainCapabilities

        def edited(*args, **kwargs):
            doc = etree.fromstring(real(*args, **kwargs))
            for node in doc.xpath(path):
                node.getparent().remove(node)
            return etree.tostring(doc, encoding='unicode')
        self.useFixture(fixtures.MockPatchObject(
            conn, 'getDomainCapabilities', edited))


class TestGic(DevicePropertyTestCase):

    def test_v3_under_tcg_with_many_vcpus(self):
        for vcpus in (2, 9, 64):
            dom = self.xml('aarch64',
                           flavor='vcpus=%d,ram=1024,disk=10' % vcpus)
            self.assertEqual(['3'], _values(dom, 'features/gic', 'version'))

    def test_only_aarch64_has_one(self):
        for arch in ARCHES:
            if arch != 'aarch64':
                self.assertEqual([], self.xml(arch).findall('features/gic'))

"""Tests of showing and setting the image properties of a guest."""

from lxml import etree
from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf
from emuvirt import exception
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import guests
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import image_props
from emuvirt.virt.libvirt import metadata
from emuvirt.virt.libvirt import records


def _without_metadata(xml):
    tree = etree.fromstring(xml.encode(),
                            etree.XMLParser(remove_blank_text=True))
    tree.remove(tree.find('metadata'))
    return etree.tostring(tree, method='c14n')


class ImagePropsTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        self.useFixture(fakelibvirt.FakeLibvirtFixture('x86_64'))
        self.useFixture(guests.ManagedSave())
        self.host = vhost.Host()
        self.dom = guests.define(self.host, 'aarch64', 'web1',
                                 props={'hw_disk_bus': 'virtio'})

    def xml(self):
        return self.dom.XMLDesc(records.PERSISTENT_XML)

    def props(self):
        return metadata.InstanceRecord.from_domain_xml(
            self.xml()).properties


class TestShow(ImagePropsTestCase):

    def test_show(self):
        self.assertEqual('virtio',
                         image_props.show(self.host, 'web1', 'hw_disk_bus'))
        self.assertEqual('aarch64', image_props.show(
            self.host, self.dom.UUIDString(), 'hw_emulation_architecture'))

    def test_not_set(self):
        self.assertRaises(image_props.ImagePropertyNotSet, image_props.show,
                          self.host, 'web1', 'hw_video_model')

    def test_no_such_property(self):
        self.assertRaises(image_props.ImagePropertyNotSet, image_props.show,
                          self.host, 'web1', 'hw_nonsense')

    def test_unknown_instance(self):
        self.assertRaises(exception.InstanceNotFound, image_props.show,
                          self.host, 'nope', 'hw_disk_bus')


class TestSet(ImagePropsTestCase):

    def assertRefused(self, exc, props):
        before = self.xml()
        error = self.assertRaises(exc, image_props.set, self.host, 'web1',
                                  props)
        self.assertEqual(before, self.xml())
        return error

    def test_set_merges_and_coerces(self):
        before = _without_metadata(self.xml())
        stored = image_props.set(self.host, 'web1', {
            'hw_disk_bus': 'scsi', 'hw_boot_menu': 'yes'})
        self.assertEqual({'hw_disk_bus': 'scsi', 'hw_boot_menu': 'True'},
                         stored)
        self.assertEqual({'hw_emulation_architecture': 'aarch64',
                          'hw_disk_bus': 'scsi', 'hw_boot_menu': 'True'},
                         self.props())
        self.assertEqual('scsi',
                         image_props.show(self.host, 'web1', 'hw_disk_bus'))
        # Only the record changed: the XML is not rebuilt.
        self.assertEqual(before, _without_metadata(self.xml()))

    def test_refused_while_running(self):
        self.dom.create()
        self.assertRefused(exception.InstanceInvalidState,
                           {'hw_disk_bus': 'scsi'})

    def test_unknown_name(self):
        error = self.assertRefused(image_props.ImagePropertyNameInvalid,
                                   {'hw_disk_bus': 'scsi', 'hw_nope': '1'})
        self.assertIn('hw_nope', str(error))

    def test_names_fixed_at_spawn(self):
        for name in ('hw_machine_type', 'hw_architecture', 'architecture',
                     'hw_emulation_architecture'):
            self.assertRefused(image_props.ImagePropertyNameInvalid,
                               {name: 'x86_64'})

    def test_bad_value(self):
        error = self.assertRefused(image_props.ImagePropertyValueInvalid,
                                   {'hw_disk_bus': 'floppy-ish'})
        self.assertIn('hw_disk_bus', str(error))

    def test_input_is_checked_before_the_state(self):
        self.dom.create()
        self.assertRefused(image_props.ImagePropertyNameInvalid,
                           {'hw_nope': '1'})

    def test_unknown_instance(self):
        self.assertRaises(exception.InstanceNotFound, image_props.set,
                          self.host, 'nope', {'hw_disk_bus': 'scsi'})

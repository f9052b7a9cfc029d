"""Tests of the instance record kept in the domain's <metadata>."""

from lxml import etree
import testtools

from emuvirt.objects import image_meta
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.virt.libvirt import config as vconfig
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import metadata

UUID = '6f8a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b'
NS = metadata.NAMESPACE


def full_record(**kwargs):
    args = dict(uuid=UUID, name='web1', guest_arch='aarch64',
                machine_type='virt-7.2', vcpus=2, memory_mb=1024,
                root_gb=10, image_path='/img/disk.qcow2',
                kernel_path='/img/vmlinuz', ramdisk_path='/img/initrd',
                properties={'hw_emulation_architecture': 'aarch64',
                            'hw_console_type': 'vnc'})
    args.update(kwargs)
    return metadata.InstanceRecord(**args)


def domain_with(record):
    cfg = vconfig.GuestConfig(
        virt_type='qemu', name=record.name, uuid=record.uuid,
        memory_mib=record.memory_mb, vcpus=record.vcpus,
        os=vconfig.GuestOS(record.guest_arch, record.machine_type),
        metadata=record.format_dom())
    return cfg.to_xml()


class TestFormat(testtools.TestCase):

    def test_element_in_emuvirt_namespace(self):
        root = full_record().format_dom()
        self.assertEqual('{%s}instance' % NS, root.tag)
        self.assertEqual({'emuvirt': NS}, root.nsmap)
        for child in root:
            self.assertEqual(NS, etree.QName(child).namespace)

    def test_fields(self):
        root = full_record().format_dom()

        def q(tag):
            return '{%s}%s' % (NS, tag)
        self.assertEqual(UUID, root.findtext(q('uuid')))
        self.assertEqual('web1', root.findtext(q('name')))
        self.assertEqual('aarch64', root.findtext(q('guestArch')))
        self.assertEqual('virt-7.2', root.findtext(q('machineType')))
        self.assertEqual({'vcpus': '2', 'memory_mb': '1024',
                          'root_gb': '10'},
                         dict(root.find(q('flavor')).attrib))
        self.assertEqual({'image': '/img/disk.qcow2',
                          'kernel': '/img/vmlinuz', 'ramdisk': '/img/initrd'},
                         dict(root.find(q('boot')).attrib))
        props = root.findall('%s/%s' % (q('properties'), q('property')))
        # Sorted by name: the XML is stable for golden files.
        self.assertEqual([('hw_console_type', 'vnc'),
                          ('hw_emulation_architecture', 'aarch64')],
                         [(p.get('name'), p.text) for p in props])

    def test_unset_values_are_omitted(self):
        record = metadata.InstanceRecord(uuid=UUID, name='x',
                                         guest_arch='mipsel')
        root = record.format_dom()
        self.assertIsNone(root.find('{%s}machineType' % NS))
        self.assertEqual({}, dict(root.find('{%s}boot' % NS).attrib))
        self.assertEqual(0, len(root.find('{%s}properties' % NS)))


class TestRoundTrip(testtools.TestCase):

    def test_to_xml_and_back(self):
        record = full_record()
        self.assertEqual(record,
                         metadata.InstanceRecord.from_xml(record.to_xml()))

    def test_minimal_record_round_trip(self):
        record = metadata.InstanceRecord(uuid=UUID, name='x',
                                         guest_arch='s390x')
        self.assertEqual(record,
                         metadata.InstanceRecord.from_xml(record.to_xml()))

    def test_special_characters(self):
        record = full_record(
            name='a&b', properties={'os_command_line':
                                    'console=ttyAMA0 init=/bin/sh "<x>"'})
        back = metadata.InstanceRecord.from_xml(record.to_xml())
        self.assertEqual(record, back)

    def test_empty_property_value(self):
        record = full_record(properties={'os_command_line': ''})
        back = metadata.InstanceRecord.from_xml(record.to_xml())
        self.assertEqual({'os_command_line': ''}, back.properties)

    def test_typed_properties_come_back_through_image_meta(self):
        # Values are stored as text; ImageMetaProps restores their types.
        props = image_meta.ImageMetaProps.from_dict({
            'hw_emulation_architecture': 'arm64', 'hw_boot_menu': 'yes',
            'hw_video_ram': '64', 'hw_machine_type': 'virt'})
        record = full_record(properties=props.to_dict())
        back = metadata.InstanceRecord.from_xml(record.to_xml())
        again = image_meta.ImageMetaProps.from_dict(back.properties,
                                                    strict=True)
        self.assertEqual(props.to_dict(), again.to_dict())
        self.assertIs(True, again.hw_boot_menu)
        self.assertEqual(64, again.hw_video_ram)
        self.assertEqual('aarch64', again.hw_emulation_architecture)

    def test_missing_flavor_and_boot_take_defaults(self):
        text = ('<e:instance xmlns:e="%s"><e:uuid>%s</e:uuid>'
                '<e:guestArch>riscv64</e:guestArch></e:instance>' % (NS, UUID))
        record = metadata.InstanceRecord.from_xml(text)
        self.assertEqual(
            metadata.InstanceRecord(uuid=UUID, name=None,
                                    guest_arch='riscv64'), record)


class TestFromDomainXML(testtools.TestCase):

    def test_record_inside_domain(self):
        record = full_record()
        self.assertEqual(record, metadata.InstanceRecord.from_domain_xml(
            domain_with(record)))

    def test_no_record(self):
        xml = vconfig.GuestConfig(
            virt_type='qemu', name='plain', uuid=UUID, memory_mib=64,
            vcpus=1, os=vconfig.GuestOS('x86_64', 'q35')).to_xml()
        self.assertIsNone(metadata.InstanceRecord.from_domain_xml(xml))

    def test_foreign_metadata_ignored(self):
        xml = ('<domain type="qemu"><name>x</name><metadata>'
               '<other:instance xmlns:other="urn:other"/>'
               '</metadata></domain>')
        self.assertIsNone(metadata.InstanceRecord.from_domain_xml(xml))

    def test_record_survives_libvirt(self):
        # Define through the (fake) daemon and read its XML back: the
        # daemon is the one store.
        fake = self.useFixture(fakelibvirt.FakeLibvirtFixture('x86_64'))
        record = full_record()
        host = vhost.Host('qemu:///system')
        host.define_domain(domain_with(record))
        dom = fake.connection.lookupByUUIDString(UUID)
        self.assertEqual(record, metadata.InstanceRecord.from_domain_xml(
            dom.XMLDesc()))


class TestToInstance(testtools.TestCase):

    def test_instance_from_record(self):
        record = metadata.InstanceRecord.from_xml(full_record(
            properties={'hw_emulation_architecture': 'aarch64',
                        'hw_boot_menu': 'True'}).to_xml())
        instance = record.to_instance()
        self.assertEqual(
            (UUID, 'web1', 'virt-7.2', '/img/disk.qcow2', '/img/vmlinuz',
             '/img/initrd'),
            (instance.uuid, instance.name, instance.machine_type,
             instance.image_path, instance.kernel_path,
             instance.ramdisk_path))
        self.assertEqual((2, 1024, 10), (instance.flavor.vcpus,
                                         instance.flavor.memory_mb,
                                         instance.flavor.root_gb))
        props = instance.image_meta.properties
        self.assertEqual('aarch64', props.hw_emulation_architecture)
        self.assertIs(True, props.hw_boot_menu)

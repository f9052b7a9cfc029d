"""Tests of the instance record kept in the domain's <metadata>."""

import random

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
                disk_format='qcow2',
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
        self.assertEqual({'image': '/img/disk.qcow2', 'format': 'qcow2',
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

    def test_ephemeral_and_swap_kept_when_set(self):
        # Its claim counted them in DISK_GB; heal_allocations claims the
        # same from the record.
        record = full_record(ephemeral_gb=2, swap=1536)
        self.assertIn('<emuvirt:flavor vcpus="2" memory_mb="1024" '
                      'root_gb="10" ephemeral_gb="2" swap="1536"/>',
                      record.to_xml())
        back = metadata.InstanceRecord.from_xml(record.to_xml())
        self.assertEqual(record, back)
        flavor = back.to_instance().flavor
        self.assertEqual((10, 2, 1536),
                         (flavor.root_gb, flavor.ephemeral_gb, flavor.swap))

    def test_ephemeral_and_swap_left_out_when_zero(self):
        # Records of guests without them read and write as before.
        text = full_record().to_xml()
        self.assertIn('<emuvirt:flavor vcpus="2" memory_mb="1024" '
                      'root_gb="10"/>', text)
        flavor = metadata.InstanceRecord.from_xml(text).to_instance().flavor
        self.assertEqual((0, 0), (flavor.ephemeral_gb, flavor.swap))

    def test_config_drive(self):
        record = full_record(config_drive_path='/i/%s/disk.config' % UUID)
        self.assertIn('configDrive="/i/%s/disk.config"' % UUID,
                      record.to_xml())
        back = metadata.InstanceRecord.from_xml(record.to_xml())
        self.assertEqual(record, back)
        self.assertIs(True, back.to_instance().config_drive)
        self.assertIs(False, full_record().to_instance().config_drive)

    def test_missing_boot_and_properties_mean_none(self):
        text = ('<e:instance xmlns:e="%s"><e:uuid>%s</e:uuid>'
                '<e:name>x</e:name><e:guestArch>riscv64</e:guestArch>'
                '<e:flavor vcpus="2" memory_mb="64" root_gb="0"/>'
                '</e:instance>' % (NS, UUID))
        record = metadata.InstanceRecord.from_xml(text)
        self.assertEqual(
            metadata.InstanceRecord(uuid=UUID, name='x', guest_arch='riscv64',
                                    vcpus=2, memory_mb=64), record)
        self.assertFalse(record.broken)

    def test_record_without_image_format_reads(self):
        # Written before the format was kept: it reads, format unknown.
        text = ('<e:instance xmlns:e="%s"><e:uuid>%s</e:uuid>'
                '<e:name>x</e:name><e:guestArch>aarch64</e:guestArch>'
                '<e:flavor vcpus="1" memory_mb="64" root_gb="1"/>'
                '<e:boot image="/img/a.qcow2"/></e:instance>' % (NS, UUID))
        record = metadata.InstanceRecord.from_xml(text)
        self.assertEqual(('/img/a.qcow2', None),
                         (record.image_path, record.disk_format))
        self.assertIsNone(record.to_instance().image_meta.disk_format)

    def test_image_format_round_trip(self):
        for fmt in metadata.DISK_FORMATS:
            record = full_record(disk_format=fmt)
            back = metadata.InstanceRecord.from_xml(record.to_xml())
            self.assertEqual(fmt, back.disk_format)
            self.assertEqual(fmt, back.to_instance().image_meta.disk_format)


def _record_text(**changes):
    """A valid record's XML, with elements replaced (None: removed)."""
    parts = {
        'uuid': '<e:uuid>%s</e:uuid>' % UUID,
        'name': '<e:name>web1</e:name>',
        'guestArch': '<e:guestArch>aarch64</e:guestArch>',
        'machineType': '<e:machineType>virt-7.2</e:machineType>',
        'flavor': '<e:flavor vcpus="2" memory_mb="1024" root_gb="10"/>',
        'boot': '<e:boot kernel="/img/vmlinuz"/>',
        'properties': '<e:properties><e:property name="hw_emulation_'
                      'architecture">aarch64</e:property></e:properties>',
    }
    parts.update(changes)
    return '<e:instance xmlns:e="%s">%s</e:instance>' % (
        NS, ''.join(v for v in parts.values() if v is not None))


# (what is wrong, record XML, words the reason must have)
BROKEN = [
    ('no uuid', _record_text(uuid=None), 'no emuvirt:uuid'),
    ('empty uuid', _record_text(uuid='<e:uuid/>'), 'no emuvirt:uuid'),
    ('uuid not a UUID', _record_text(uuid='<e:uuid>web1</e:uuid>'),
     "emuvirt:uuid is not a UUID: 'web1'"),
    ('no name', _record_text(name=None), 'no emuvirt:name'),
    ('no arch', _record_text(guestArch=None), 'no emuvirt:guestArch'),
    ('unknown arch', _record_text(guestArch='<e:guestArch>vax'
                                            '</e:guestArch>'),
     "unknown guest architecture 'vax'"),
    ('non-numeric vcpus', _record_text(
        flavor='<e:flavor vcpus="two" memory_mb="1" root_gb="0"/>'),
     "emuvirt:flavor vcpus is not a whole number of at least 1: 'two'"),
    ('negative disk', _record_text(
        flavor='<e:flavor vcpus="1" memory_mb="1" root_gb="-1"/>'),
     'root_gb is not a whole number'),
    ('zero memory', _record_text(
        flavor='<e:flavor vcpus="1" memory_mb="0" root_gb="0"/>'),
     'memory_mb is not a whole number of at least 1'),
    ('huge number', _record_text(
        flavor='<e:flavor vcpus="%s" memory_mb="1" root_gb="0"/>'
        % ('9' * 5000)), "vcpus is not a whole number of at least 1: "
                         "'99999999"),
    ('unicode digits', _record_text(
        flavor='<e:flavor vcpus="٣" memory_mb="1" root_gb="0"/>'),
     'vcpus is not a whole number'),
    ('zero swap written', _record_text(
        flavor='<e:flavor vcpus="1" memory_mb="1" root_gb="0" swap="0"/>'),
     'emuvirt:flavor swap is not a whole number of at least 1'),
    ('non-numeric ephemeral disk', _record_text(
        flavor='<e:flavor vcpus="1" memory_mb="1" root_gb="0" '
               'ephemeral_gb="x"/>'),
     "emuvirt:flavor ephemeral_gb is not a whole number of at least 1: "
     "'x'"),
    ('flavor attribute missing', _record_text(
        flavor='<e:flavor vcpus="1" root_gb="0"/>'),
     'emuvirt:flavor has no memory_mb'),
    ('no flavor', _record_text(flavor=None), 'no element emuvirt:flavor'),
    ('unknown flavor attribute', _record_text(
        flavor='<e:flavor vcpus="1" memory_mb="1" root_gb="0" gpus="1"/>'),
     'unknown attribute gpus of emuvirt:flavor'),
    ('unknown element', _record_text(boot='<e:boot/><e:owner>x</e:owner>'),
     'unknown element emuvirt:owner'),
    ('foreign element', _record_text(boot='<boot xmlns="urn:x"/>'),
     'unknown element {urn:x}boot'),
    ('repeated element', _record_text(name='<e:name>a</e:name>'
                                           '<e:name>b</e:name>'),
     'element emuvirt:name appears twice'),
    ('element in a text field', _record_text(
        name='<e:name><e:first>a</e:first></e:name>'),
     'emuvirt:name holds an element: emuvirt:first'),
    ('control characters', _record_text(name='<e:name>a&#10;b</e:name>'),
     "emuvirt:name has control characters: 'a\\nb'"),
    ('empty boot path', _record_text(boot='<e:boot kernel=""/>'),
     'emuvirt:boot kernel is empty'),
    ('unknown boot attribute', _record_text(boot='<e:boot dtb="/x"/>'),
     'unknown attribute dtb of emuvirt:boot'),
    ('unknown image format', _record_text(boot='<e:boot format="vmdk"/>'),
     "emuvirt:boot format is not one of qcow2, raw, iso: 'vmdk'"),
    ('empty image format', _record_text(boot='<e:boot format=""/>'),
     'emuvirt:boot format is empty'),
    ('property without name', _record_text(
        properties='<e:properties><e:property>x</e:property>'
                   '</e:properties>'), 'an emuvirt:property has no name'),
    ('repeated property', _record_text(
        properties='<e:properties><e:property name="a">1</e:property>'
                   '<e:property name="a">2</e:property></e:properties>'),
     'property a appears twice'),
    ('unknown element in properties', _record_text(
        properties='<e:properties><e:prop name="a">1</e:prop>'
                   '</e:properties>'),
     'unknown element emuvirt:prop in emuvirt:properties'),
    ('attribute on the root', _record_text().replace(
        '<e:instance ', '<e:instance version="2" '),
     'unknown attribute version of emuvirt:instance'),
]


class TestUntrustedRecords(testtools.TestCase):

    def test_each_damage_is_named(self):
        for what, text, reason in BROKEN:
            e = self.assertRaises(metadata.RecordInvalid,
                                  metadata.InstanceRecord.from_xml, text)
            self.assertIn(reason, str(e), what)
            self.assertNotIn('\n', str(e), what)
            self.assertLess(len(str(e)), 200, what)

    def test_the_base_text_is_valid(self):
        record = metadata.InstanceRecord.from_xml(_record_text())
        self.assertEqual((UUID, 'web1', 2), (record.uuid, record.name,
                                             record.vcpus))

    def test_comments_are_ignored(self):
        record = metadata.InstanceRecord.from_xml(_record_text(
            name='<!-- edited --><e:name>web1</e:name>'))
        self.assertEqual('web1', record.name)

    def test_not_xml(self):
        e = self.assertRaises(metadata.RecordInvalid,
                              metadata.InstanceRecord.from_xml, '<e:x')
        self.assertIn('not XML', str(e))

    def test_in_a_domain_the_record_is_broken_not_an_error(self):
        for what, text, reason in BROKEN:
            xml = ('<domain type="qemu"><name>dom-x</name><uuid>%s</uuid>'
                   '<metadata>%s</metadata></domain>' % (UUID, text))
            record = metadata.InstanceRecord.from_domain_xml(xml)
            self.assertIsInstance(record, metadata.BrokenRecord, what)
            self.assertTrue(record.broken)
            self.assertEqual((UUID, 'dom-x', '?'),
                             (record.uuid, record.name, record.guest_arch))
            self.assertIn(reason, record.reason, what)

    def _domain(self, metadata_text, uuid=UUID):
        return ('<domain type="qemu"><name>dom-x</name><uuid>%s</uuid>'
                '<metadata>%s</metadata></domain>' % (uuid, metadata_text))

    def test_uuid_of_another_domain(self):
        other = '0f8a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b'
        record = metadata.InstanceRecord.from_domain_xml(
            self._domain(_record_text(), uuid=other))
        self.assertEqual(other, record.uuid)
        self.assertIn("emuvirt:uuid %s is not the domain's UUID" % UUID,
                      record.reason)

    def test_wrong_root_in_our_namespace(self):
        record = metadata.InstanceRecord.from_domain_xml(self._domain(
            '<e:instanc xmlns:e="%s"/>' % NS))
        self.assertIn('the record is emuvirt:instanc, not emuvirt:instance',
                      record.reason)

    def test_two_records(self):
        record = metadata.InstanceRecord.from_domain_xml(self._domain(
            _record_text() + _record_text()))
        self.assertIn('2 emuvirt elements in <metadata>', record.reason)

    def test_domain_xml_not_parsable(self):
        record = metadata.InstanceRecord.from_domain_xml('<domain><name>')
        self.assertTrue(record.broken)
        self.assertIn('its domain XML cannot be parsed', record.reason)

    def test_bad_property_value_breaks_to_instance(self):
        record = metadata.InstanceRecord.from_xml(_record_text(
            properties='<e:properties><e:property name="hw_video_ram">'
                       'lots</e:property></e:properties>'))
        e = self.assertRaises(metadata.RecordBroken, record.to_instance)
        self.assertIn('Instance web1 (%s) has an emuvirt record that cannot '
                      'be read' % UUID, str(e))
        self.assertIn('hw_video_ram', str(e))

    def test_unknown_property_breaks_to_instance(self):
        record = metadata.InstanceRecord.from_xml(_record_text(
            properties='<e:properties><e:property name="hw_flux">1'
                       '</e:property></e:properties>'))
        e = self.assertRaises(metadata.RecordBroken, record.to_instance)
        self.assertIn('hw_flux', str(e))

    def test_broken_record_gives_an_instance_to_delete(self):
        broken = metadata.BrokenRecord(uuid=UUID, name='dom-x',
                                       reason='no emuvirt:name')
        instance = broken.to_instance()
        self.assertEqual((UUID, 'dom-x'), (instance.uuid, instance.name))
        self.assertIn('no emuvirt:name', str(broken.error()))


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


class TestRandomDamage(testtools.TestCase):
    """Random edits of a valid record: a record or a broken one, no error.

    Seeded: a failure names its case, and the run is the same every time.
    """

    CASES = 3000
    VALUES = ['', ' ', '0', '1', '-1', '007', '2' * 13, '1e3', '0x10',
              '\u0663', 'two', 'aarch64', 'vax', 'ARM64', UUID,
              UUID.upper(), 'web\n1', 'a\tb', '\xe9', '<x>', '&amp;',
              'hw_video_ram', 'x' * 300]

    def mutate(self, rng, root):
        nodes = [n for n in root.iter() if isinstance(n.tag, str)]
        node = rng.choice(nodes)
        kind = rng.randrange(7)
        if kind == 0 and node is not root:
            node.getparent().remove(node)
        elif kind == 1 and node is not root:
            node.addnext(etree.fromstring(etree.tostring(node)))
        elif kind == 2:
            node.text = rng.choice(self.VALUES)
        elif kind == 3:
            names = list(node.attrib) + ['name', 'vcpus', 'extra']
            node.set(rng.choice(names), rng.choice(self.VALUES))
        elif kind == 4:
            tag = rng.choice(['{%s}owner' % NS, '{%s}uuid' % NS,
                              '{urn:other}x', '{%s}property' % NS])
            etree.SubElement(node, tag).text = rng.choice(self.VALUES)
        elif kind == 5:
            node.tag = rng.choice(['{%s}name' % NS, '{%s}flavor' % NS,
                                   '{%s}instanc' % NS, 'plain'])
        else:
            node.append(etree.Comment('edited'))

    def test_random_damage(self):
        rng = random.Random(20261130)
        base = full_record().format_dom()
        seen = {'ok': 0, 'broken': 0, 'bad-props': 0}
        for case in range(self.CASES):
            root = etree.fromstring(etree.tostring(base))
            for _ in range(rng.randint(1, 3)):
                self.mutate(rng, root)
            xml = ('<domain type="qemu"><name>dom</name><uuid>%s</uuid>'
                   '<metadata>%s</metadata></domain>'
                   % (UUID, etree.tostring(root, encoding='unicode')))
            record = metadata.InstanceRecord.from_domain_xml(xml)
            where = 'case %d: %s' % (case, xml)
            if record is None:
                # No element of ours left in <metadata>: not an emuvirt
                # guest any more (as for a record removed by hand).
                self.assertNotEqual(NS, etree.QName(root).namespace, where)
                continue
            if record.broken:
                seen['broken'] += 1
                self.assertEqual(('dom', UUID, '?'), (
                    record.name, record.uuid, record.guest_arch), where)
                self.assertNotIn('\n', record.reason, where)
                self.assertLess(len(record.reason), 200, where)
                continue
            # A record that reads writes back the same.
            self.assertEqual(record, metadata.InstanceRecord.parse_dom(
                record.format_dom()), where)
            try:
                record.to_instance()
                seen['ok'] += 1
            except metadata.RecordBroken as e:
                seen['bad-props'] += 1
                self.assertNotIn('\n', str(e), where)
        # The edits reach every outcome.
        self.assertTrue(all(seen.values()), seen)

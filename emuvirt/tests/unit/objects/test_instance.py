"""Tests of the Instance object and its primitive round trip."""

import datetime
import json

from oslo_utils import uuidutils
import testtools

from emuvirt import checks
from emuvirt.objects import flavor
from emuvirt.objects import image_meta
from emuvirt.objects import instance


def _instance(**kwargs):
    meta = image_meta.ImageMeta.from_dict(
        {'name': 'deb', 'properties': {'hw_emulation_architecture': 'arm64',
                                       'os_command_line': 'console=ttyAMA0'}})
    return instance.Instance.new(
        image_meta=meta,
        flavor=flavor.Flavor.from_string('vcpus=2,ram=1024'),
        display_name='vm1', kernel_path='/k', ramdisk_path='/r',
        system_metadata={'a': 'b'}, machine_type='virt-7.2', host='h',
        node='h',
        created_at=datetime.datetime(2024, 1, 2, 3, 4, 5,
                                     tzinfo=datetime.timezone.utc),
        **kwargs)


class TestInstance(testtools.TestCase):

    def test_new_defaults(self):
        inst = instance.Instance.new()
        self.assertTrue(uuidutils.is_uuid_like(inst.uuid))
        self.assertEqual('instance-%s' % inst.uuid, inst.name)
        self.assertEqual(512, inst.flavor.memory_mb)
        self.assertEqual({}, inst.image_meta.properties.to_dict())
        self.assertIsNone(inst.image_path)
        self.assertIsNone(inst.machine_type)
        self.assertEqual({}, inst.system_metadata)

    def test_explicit_name(self):
        inst = instance.Instance.new(name='guest')
        self.assertEqual('guest', inst.name)

    def test_bad_uuid(self):
        self.assertRaises(ValueError, instance.Instance.new, uuid='nope')

    def test_json_round_trip(self):
        inst = _instance()
        text = inst.to_json()
        self.assertIsInstance(json.loads(text), dict)
        copy = instance.Instance.from_json(text)
        self.assertEqual(inst.uuid, copy.uuid)
        self.assertEqual('vm1', copy.display_name)
        self.assertEqual(1024, copy.flavor.memory_mb)
        self.assertEqual('aarch64',
                         copy.image_meta.properties.hw_emulation_architecture)
        self.assertEqual('virt-7.2', copy.machine_type)
        self.assertEqual({'a': 'b'}, copy.system_metadata)
        self.assertEqual(inst.created_at, copy.created_at)
        self.assertEqual('/k', copy.kernel_path)

    def test_primitive_round_trip(self):
        inst = _instance()
        copy = instance.Instance.from_primitive(inst.to_primitive())
        inst.obj_reset_changes(recursive=True)
        copy.obj_reset_changes(recursive=True)
        self.assertEqual(inst.obj_to_primitive(), copy.obj_to_primitive())

    def test_nested_backport(self):
        primitive = _instance().to_primitive(target_version='1.0')
        props = (primitive['emuvirt_object.data']['image_meta']
                 ['emuvirt_object.data']['properties'])
        # Instance 1.0 carries ImageMeta 1.1 and so the new property.
        self.assertIn('hw_emulation_architecture',
                      props['emuvirt_object.data'])

    def test_backport_drops_config_drive_fields(self):
        inst = _instance()
        inst.config_drive = True
        inst.user_data = 'I2Nsb3VkLWNvbmZpZwo='
        inst.key_data = 'ssh-ed25519 AAAA me'
        data = inst.to_primitive()['emuvirt_object.data']
        self.assertEqual((True, 'ssh-ed25519 AAAA me'),
                         (data['config_drive'], data['key_data']))
        old = inst.to_primitive(target_version='1.0')
        self.assertEqual(
            set(), {'config_drive', 'user_data', 'key_data'} &
            set(old['emuvirt_object.data']))
        self.assertEqual('1.0', old['emuvirt_object.version'])

    def test_uuid_normalised(self):
        inst = instance.Instance.new(
            uuid='{6D1F6B8E-0C0A-4E7A-9C43-3B1F0E1C2D3A}')
        self.assertEqual('6d1f6b8e-0c0a-4e7a-9c43-3b1f0e1c2d3a', inst.uuid)

    def test_name_and_paths_checked(self):
        for kwargs, what in (({'name': '../x'}, 'instance name'),
                             ({'name': 'x\n'}, 'instance name'),
                             ({'image_path': '/a\x00'}, 'image_path'),
                             ({'kernel_path': '/\udcff'}, 'kernel_path'),
                             ({'ramdisk_path': ''}, 'ramdisk_path')):
            e = self.assertRaises(checks.InvalidValue, instance.Instance.new,
                                  **kwargs)
            self.assertTrue(str(e).startswith(what + ' '), str(e))

    def test_existing_guest_keeps_its_name(self):
        inst = instance.Instance.new(check=False, name='old name')
        self.assertEqual('old name', inst.name)

"""Tests of ImageMeta and ImageMetaProps."""

from oslo_versionedobjects import exception as ovo_exception
import testtools

from emuvirt import exception
from emuvirt.objects import image_meta


class TestImageMetaPropsFromDict(testtools.TestCase):

    def test_values_coerced(self):
        props = image_meta.ImageMetaProps.from_dict({
            'hw_emulation_architecture': 'arm64',
            'hw_architecture': 'AMD64',
            'hw_machine_type': 'virt-7.2',
            'hw_firmware_type': 'uefi',
            'hw_video_ram': '16',
            'hw_serial_port_count': '2',
            'hw_boot_menu': 'yes',
            'hw_qemu_guest_agent': 'false',
            'hw_console_type': 'serial',
            'hw_cpu_model': 'cortex-a57',
            'os_command_line': 'console=ttyAMA0',
        })
        self.assertEqual('aarch64', props.hw_emulation_architecture)
        self.assertEqual('x86_64', props.hw_architecture)
        self.assertEqual('virt-7.2', props.hw_machine_type)
        self.assertEqual('uefi', props.hw_firmware_type)
        self.assertEqual(16, props.hw_video_ram)
        self.assertEqual(2, props.hw_serial_port_count)
        self.assertIs(True, props.hw_boot_menu)
        self.assertIs(False, props.hw_qemu_guest_agent)
        self.assertEqual('serial', props.hw_console_type)
        self.assertEqual('cortex-a57', props.hw_cpu_model)
        self.assertEqual('console=ttyAMA0', props.os_command_line)

    def test_unset_fields_stay_unset(self):
        props = image_meta.ImageMetaProps.from_dict({'hw_disk_bus': 'scsi'})
        self.assertEqual({'hw_disk_bus': 'scsi'}, props.to_dict())
        self.assertFalse(props.obj_attr_is_set('hw_architecture'))

    def test_non_strict_ignores_unknown(self):
        props = image_meta.ImageMetaProps.from_dict(
            {'checksum_algo': 'x', 'hw_disk_bus': 'virtio'})
        self.assertEqual({'hw_disk_bus': 'virtio'}, props.to_dict())

    def test_strict_rejects_unknown_naming_it(self):
        exc = self.assertRaises(
            exception.InvalidImageProperty,
            image_meta.ImageMetaProps.from_dict,
            {'hw_emulation_arch': 'aarch64'}, strict=True)
        self.assertIn('hw_emulation_arch', str(exc))
        self.assertIn('unknown', str(exc))

    def _assert_bad(self, key, value, *fragments, strict=False):
        exc = self.assertRaises(exception.InvalidImageProperty,
                                image_meta.ImageMetaProps.from_dict,
                                {key: value}, strict=strict)
        self.assertEqual(key, exc.kwargs['name'])
        self.assertIn(key, str(exc))
        self.assertIn(str(value), str(exc))
        for fragment in fragments:
            self.assertIn(fragment, str(exc))

    def test_bad_arch(self):
        for strict in (False, True):
            self._assert_bad('hw_emulation_architecture', 'sparc128',
                             'architecture', strict=strict)
            self._assert_bad('hw_architecture', 'x64', strict=strict)

    def test_bad_enum_lists_choices(self):
        self._assert_bad('hw_firmware_type', 'coreboot', 'bios, uefi')
        self._assert_bad('hw_console_type', 'rdp', 'serial')
        self._assert_bad('hw_cdrom_bus', 'floppy', 'virtio')

    def test_bad_ints(self):
        self._assert_bad('hw_video_ram', 'lots', 'integer')
        self._assert_bad('hw_serial_port_count', '-1', 'integer')

    def test_bad_bool(self):
        self._assert_bad('hw_boot_menu', 'perhaps', 'boolean', strict=True)

    def test_legacy_architecture_name(self):
        props = image_meta.ImageMetaProps.from_dict({'architecture': 'arm64'},
                                                    strict=True)
        self.assertEqual('aarch64', props.hw_architecture)

    def test_hw_architecture_wins_over_legacy(self):
        props = image_meta.ImageMetaProps.from_dict(
            {'hw_architecture': 's390x', 'architecture': 'x86_64'})
        self.assertEqual('s390x', props.hw_architecture)

    def test_bad_legacy_value_names_given_key(self):
        self._assert_bad('architecture', 'pdp11')

    def test_none_and_empty(self):
        self.assertEqual({}, image_meta.ImageMetaProps.from_dict(None)
                         .to_dict())
        props = image_meta.ImageMetaProps.from_dict({'hw_machine_type': None})
        self.assertIsNone(props.hw_machine_type)

    def _refused(self, **props):
        e = self.assertRaises(exception.InvalidImageProperty,
                              image_meta.ImageMetaProps.from_dict, props)
        self.assertEqual(1, len(str(e).splitlines()))
        return str(e)

    def test_machine_and_cpu_names(self):
        p = image_meta.ImageMetaProps.from_dict(
            {'hw_machine_type': 'pc-i440fx-7.2', 'hw_cpu_model':
             'Skylake-Client-IBRS'})
        self.assertEqual('pc-i440fx-7.2', p.hw_machine_type)
        for name in ('hw_machine_type', 'hw_cpu_model'):
            for value in ('a\nb', 'a b', 'x' * 65, '-x', 'a\x00'):
                msg = self._refused(**{name: value})
                self.assertTrue(msg.startswith('Image property %s: ' % name))
                self.assertIn('is not a name', msg)

    def test_command_line(self):
        p = image_meta.ImageMetaProps.from_dict(
            {'os_command_line': 'console=ttyS0 quiet'})
        self.assertEqual('console=ttyS0 quiet', p.os_command_line)
        self.assertIn("os_command_line: 'a\\x00b': control character",
                      self._refused(os_command_line='a\x00b'))
        self.assertIn('not valid UTF-8',
                      self._refused(os_command_line='\udcff'))
        self.assertIn('4096 bytes long; at most 4095',
                      self._refused(os_command_line='x' * 4096))

    def test_values_shown_escaped_and_short(self):
        msg = self._refused(hw_disk_bus='x\n' * 100)
        self.assertIn("'%s'... (200 characters)" % ('x\\n' * 20), msg)
        msg = self._refused(hw_video_ram=float('inf'))
        self.assertIn("'inf' is not an integer", msg)


class TestImageMetaPropsGet(testtools.TestCase):

    def test_get(self):
        props = image_meta.ImageMetaProps.from_dict(
            {'hw_disk_bus': 'virtio', 'hw_machine_type': None})
        self.assertEqual('virtio', props.get('hw_disk_bus'))
        self.assertEqual('ide', props.get('hw_cdrom_bus', 'ide'))
        self.assertEqual('virt', props.get('hw_machine_type', 'virt'))
        self.assertIsNone(props.get('hw_video_model'))

    def test_get_unknown_name(self):
        props = image_meta.ImageMetaProps()
        self.assertRaises(AttributeError, props.get, 'hw_nonsense')


class TestImageMetaPropsVersions(testtools.TestCase):

    def _props(self):
        return image_meta.ImageMetaProps.from_dict(
            {'hw_emulation_architecture': 'aarch64',
             'hw_architecture': 'x86_64'})

    def test_1_0_drops_emulation_architecture(self):
        primitive = self._props().obj_to_primitive(target_version='1.0')
        data = primitive['emuvirt_object.data']
        self.assertEqual('1.0', primitive['emuvirt_object.version'])
        self.assertNotIn('hw_emulation_architecture', data)
        self.assertEqual('x86_64', data['hw_architecture'])

    def test_1_1_keeps_emulation_architecture(self):
        primitive = self._props().obj_to_primitive(target_version='1.1')
        self.assertEqual(
            'aarch64',
            primitive['emuvirt_object.data']['hw_emulation_architecture'])

    def test_image_meta_1_0_backports_props(self):
        meta = image_meta.ImageMeta.from_dict(
            {'id': 'i', 'properties': {'hw_emulation_architecture': 's390x'}})
        primitive = meta.obj_to_primitive(target_version='1.0')
        props = primitive['emuvirt_object.data']['properties']
        self.assertEqual('1.0', props['emuvirt_object.version'])
        self.assertNotIn('hw_emulation_architecture',
                         props['emuvirt_object.data'])

    def test_1_0_primitive_loads(self):
        primitive = self._props().obj_to_primitive(target_version='1.0')
        props = image_meta.ImageMetaProps.obj_from_primitive(primitive)
        self.assertEqual('x86_64', props.hw_architecture)
        self.assertIsNone(props.get('hw_emulation_architecture'))


class TestImageMeta(testtools.TestCase):

    def test_from_dict(self):
        meta = image_meta.ImageMeta.from_dict({
            'id': 'c0ffee', 'name': 'debian-arm64', 'disk_format': 'qcow2',
            'container_format': 'bare', 'min_ram': '256', 'size': 1024,
            'status': 'active',
            'properties': {'hw_emulation_architecture': 'arm64',
                           'owner_specified.openstack.md5': 'x'},
        })
        self.assertEqual('debian-arm64', meta.name)
        self.assertEqual(256, meta.min_ram)
        self.assertEqual(0, meta.min_disk)
        self.assertEqual(1024, meta.size)
        self.assertEqual('aarch64',
                         meta.properties.hw_emulation_architecture)

    def test_from_empty_dict(self):
        meta = image_meta.ImageMeta.from_dict({})
        self.assertIsNone(meta.id)
        self.assertEqual({}, meta.properties.to_dict())

    def test_strict_passed_to_props(self):
        self.assertRaises(exception.InvalidImageProperty,
                          image_meta.ImageMeta.from_dict,
                          {'properties': {'hw_bogus': '1'}}, strict=True)

    def test_bad_top_level_value_names_key(self):
        exc = self.assertRaises(exception.InvalidImageProperty,
                                image_meta.ImageMeta.from_dict,
                                {'min_ram': 'big'})
        self.assertIn('min_ram', str(exc))

    def test_round_trip(self):
        meta = image_meta.ImageMeta.from_dict(
            {'name': 'x', 'properties': {'hw_firmware_type': 'bios'}})
        copy = image_meta.ImageMeta.obj_from_primitive(
            meta.obj_to_primitive())
        self.assertEqual('x', copy.name)
        self.assertEqual('bios', copy.properties.hw_firmware_type)


class TestVIFModelValues(testtools.TestCase):
    """hw_vif_model takes Nova's values and its older spellings."""

    def test_nova_values(self):
        for value in ('virtio', 'e1000', 'vmxnet3', 'netfront', 'sriov',
                      'igb', 'lan9118', 'spapr-vlan'):
            props = image_meta.ImageMetaProps.from_dict(
                {'hw_vif_model': value})
            self.assertEqual(value, props.hw_vif_model)

    def test_legacy_spellings(self):
        for value, model in (('VirtualE1000', 'e1000'),
                             ('virtualvmxnet3', 'vmxnet3'),
                             ('E1000E', 'e1000e')):
            props = image_meta.ImageMetaProps.from_dict(
                {'hw_vif_model': value})
            self.assertEqual(model, props.hw_vif_model)

    def test_unknown_value_names_the_property(self):
        e = self.assertRaises(exception.InvalidImageProperty,
                              image_meta.ImageMetaProps.from_dict,
                              {'hw_vif_model': 'tulip'})
        self.assertIn('hw_vif_model', str(e))

    def test_new_values_do_not_go_to_1_1(self):
        props = image_meta.ImageMetaProps.from_dict(
            {'hw_vif_model': 'vmxnet3'})
        self.assertRaises(ovo_exception.ObjectActionError,
                          props.obj_to_primitive, target_version='1.1')
        old = image_meta.ImageMetaProps.from_dict({'hw_vif_model': 'e1000'})
        data = old.obj_to_primitive(target_version='1.1')[
            'emuvirt_object.data']
        self.assertEqual('e1000', data['hw_vif_model'])

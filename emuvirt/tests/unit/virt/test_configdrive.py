"""The config drive's content and its input checks."""

import base64
import json

import testtools

from emuvirt.objects import instance as instance_obj
from emuvirt.virt import configdrive
from emuvirt.virt.libvirt import driver

KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOGkk5tPLIx07FVFKBn1iN3nfABS141'
       'ogozM8RCz5p1h me@laptop')
UUID = '6f8a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b'


class TestChecks(testtools.TestCase):

    def test_user_data_limit_is_novas(self):
        # 49149 bytes are 65532 characters of base64: the most in 65535.
        self.assertEqual(65532, len(configdrive.check_user_data(
            b'x' * 49149)))
        self.assertRaises(configdrive.InvalidUserData,
                          configdrive.check_user_data, b'x' * 49150)
        self.assertEqual(base64.b64encode(b'#!/bin/sh\n').decode(),
                         configdrive.check_user_data(b'#!/bin/sh\n'))

    def test_key_line(self):
        self.assertEqual(KEY, configdrive.check_public_key(KEY + '\n'))
        self.assertEqual(KEY, configdrive.check_public_key('  ' + KEY))

    def test_hostname(self):
        for name, host in (('Web_1', 'web-1'), ('a.b+c', 'a.b-c'),
                           ('-x-', 'x'), ('x' * 70, 'x' * 63)):
            self.assertEqual(host, configdrive.hostname(name))


class TestFiles(testtools.TestCase):

    def test_versions_and_fields(self):
        inst = instance_obj.Instance.new(uuid=UUID, name='g1')
        inst.key_data = KEY
        files = configdrive.files(inst)
        for version in configdrive.VERSIONS + ('latest',):
            meta = json.loads(files['openstack/%s/meta_data.json' % version])
            self.assertEqual((UUID, {'default': KEY}),
                             (meta['uuid'], meta['public_keys']))
            self.assertEqual(version >= '2016-06-30',
                             'devices' in meta, version)
        self.assertNotIn('openstack/latest/user_data', files)

    def test_instance_without_defaults(self):
        inst = instance_obj.Instance(uuid=UUID, name='g1')
        self.assertIsNone(driver.config_drive_path(inst))
        files = configdrive.files(inst)
        self.assertNotIn('public_keys', json.loads(
            files['openstack/latest/meta_data.json']))

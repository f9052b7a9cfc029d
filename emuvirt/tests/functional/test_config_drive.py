"""Config drives through ``emuvirt server create`` on the fake libvirt.

The drive itself is real (``genisoimage``) and read back with ``isoinfo``
(both of Debian's genisoimage package); the domain XML is checked per arch
and validated against libvirt's RNG schema.
"""

import base64
import json
import os
import shutil
import subprocess

import fixtures
import libvirt
from lxml import etree

from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.functional import test_server_commands
from emuvirt.tests.functional.virt import test_golden_xml

KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOGkk5tPLIx07FVFKBn1iN3nfABS141'
       'ogozM8RCz5p1h me@laptop')
USER_DATA = b'#cloud-config\nhostname: x\n\xff binary too\n'
# (arch, bus of the config drive, its target)
BUSES = (('aarch64', 'scsi', 'sdb'), ('s390x', 'scsi', 'sdb'),
         ('ppc64le', 'scsi', 'sdb'), ('mipsel', 'ide', 'hdb'),
         ('riscv64', 'scsi', 'sdb'), ('x86_64', 'sata', 'sdb'))


class ConfigDriveTestCase(test_server_commands.ServerTestCase):

    def setUp(self):
        super().setUp()
        for tool in ('genisoimage', 'isoinfo'):
            if shutil.which(tool) is None:
                self.require('%s (Debian package genisoimage)' % tool)
        self.key = self.file('id.pub', KEY.encode() + b'\n')
        self.user_data = self.file('user-data', USER_DATA)

    def drive_args(self):
        return ('--user-data', self.user_data, '--ssh-key', self.key)

    def cdroms(self, name='g1'):
        root = etree.fromstring(self.domain(name).XMLDesc())
        return root, [d for d in root.findall('devices/disk')
                      if d.get('device') == 'cdrom']

    def drive_path(self, name='g1'):
        return os.path.join(self.instances, self.domain(name).UUIDString(),
                            'disk.config')

    def iso(self, path, member, rock=True):
        return subprocess.run(
            ['isoinfo', '-R' if rock else '-J', '-i', path, '-x', member],
            check=True, stdout=subprocess.PIPE).stdout

    def iso_names(self, path, opt='-R'):
        out = subprocess.run(['isoinfo', opt, '-f', '-i', path], check=True,
                             stdout=subprocess.PIPE).stdout.decode()
        return set(out.split())


class TestConfigDrive(ConfigDriveTestCase):

    def test_contents(self):
        self.create('Web_1', *self.drive_args())
        path = self.drive_path('Web_1')
        uuid = self.domain('Web_1').UUIDString()
        info = subprocess.run(['isoinfo', '-d', '-i', path], check=True,
                              stdout=subprocess.PIPE).stdout.decode()
        self.assertIn('Volume id: config-2\n', info)
        self.assertIn('Rock Ridge signatures', info)
        self.assertIn('Joliet', info)
        meta = json.loads(self.iso(path,
                                   '/openstack/latest/meta_data.json'))
        self.assertEqual(
            (uuid, 'Web_1', 'web-1', 0, {'default': KEY},
             [{'name': 'default', 'type': 'ssh', 'data': KEY}]),
            (meta['uuid'], meta['name'], meta['hostname'],
             meta['launch_index'], meta['public_keys'], meta['keys']))
        self.assertEqual(512, len(base64.b64decode(meta['random_seed'])))
        self.assertEqual(USER_DATA,
                         self.iso(path, '/openstack/latest/user_data'))
        self.assertEqual(
            {'links': [], 'networks': [], 'services': []},
            json.loads(self.iso(path,
                                '/openstack/latest/network_data.json')))
        # Every metadata version; fields only from the one that has them.
        names = self.iso_names(path)
        self.assertIn('/openstack/2012-08-10/meta_data.json', names)
        self.assertIn('/openstack/2012-08-10/user_data', names)
        self.assertNotIn('/openstack/2012-08-10/network_data.json', names)
        self.assertIn('/openstack/2015-10-15/network_data.json', names)
        folsom = json.loads(self.iso(
            path, '/openstack/2012-08-10/meta_data.json'))
        self.assertEqual(uuid, folsom['uuid'])
        self.assertNotIn('random_seed', folsom)
        # Joliet names too, for guests that read those.
        self.assertEqual(USER_DATA, self.iso(
            path, '/openstack/latest/user_data', rock=False))
        self.assertIn('/openstack/latest/meta_data.json',
                      self.iso_names(path, '-J'))

    def test_cdrom_per_arch_matches_the_schema(self):
        if not os.path.exists(test_golden_xml.SCHEMA):
            self.require('libvirt domain schema %s'
                         % test_golden_xml.SCHEMA)
        schema = etree.RelaxNG(etree.parse(test_golden_xml.SCHEMA))
        for arch, bus, target in BUSES:
            name = 'g-' + arch
            self.create(name, *self.drive_args(), arch=arch)
            root, cdroms = self.cdroms(name)
            self.assertTrue(schema.validate(root), '%s: %s' % (
                arch, schema.error_log))
            self.assertEqual(1, len(cdroms), arch)
            cd = cdroms[0]
            self.assertEqual(
                (self.drive_path(name), bus, target, 'raw', True),
                (cd.find('source').get('file'), cd.find('target').get('bus'),
                 cd.find('target').get('dev'), cd.find('driver').get('type'),
                 cd.find('readonly') is not None), arch)
            if bus == 'scsi':
                self.assertEqual(
                    ['virtio-scsi'],
                    [c.get('model') for c in root.findall(
                        'devices/controller[@type="scsi"]')], arch)

    def test_after_the_boot_cdrom(self):
        iso = self.file('install.iso')
        self.ok('create', 'g1', '--image', iso, '--property',
                'hw_emulation_architecture=aarch64', *self.drive_args())
        _root, cdroms = self.cdroms()
        self.assertEqual(
            [(iso, 'sdb'), (self.drive_path(), 'sdc')],
            [(c.find('source').get('file'), c.find('target').get('dev'))
             for c in cdroms])

    def test_only_when_asked(self):
        self.create('plain')
        self.assertEqual([], self.cdroms('plain')[1])
        self.assertFalse(os.path.exists(self.drive_path('plain')))
        out, _err = self.ok('show', 'plain')
        self.assertNotIn('config drive', out)
        # --config-drive alone: metadata, no user data.
        self.create('forced', '--config-drive')
        path = self.drive_path('forced')
        names = self.iso_names(path)
        self.assertIn('/openstack/latest/meta_data.json', names)
        self.assertNotIn('/openstack/latest/user_data', names)
        meta = json.loads(self.iso(path,
                                   '/openstack/latest/meta_data.json'))
        self.assertNotIn('public_keys', meta)
        # The key alone gives one too.
        self.create('keyed', '--ssh-key', self.key)
        self.assertEqual(1, len(self.cdroms('keyed')[1]))

    def test_show_and_records(self):
        self.create('g1', *self.drive_args())
        out, _err = self.ok('show', 'g1')
        self.assertIn('config drive: %s\n' % self.drive_path(), out)

    def test_hard_reboot_keeps_it(self):
        self.create('g1', *self.drive_args())
        self.ok('reboot', '--hard', 'g1')
        _root, cdroms = self.cdroms()
        self.assertEqual([self.drive_path()],
                         [c.find('source').get('file') for c in cdroms])
        self.assertTrue(os.path.isfile(self.drive_path()))

    def test_removed_with_the_guest(self):
        self.create('g1', *self.drive_args())
        path = self.drive_path()
        self.assertTrue(os.path.isfile(path))
        self.ok('delete', 'g1')
        self.assertFalse(os.path.exists(path))
        self.assertNothingLeft()

    def test_removed_when_the_spawn_fails(self):
        seen = []

        def define(xml):
            cd = etree.fromstring(xml).find(
                'devices/disk[@device="cdrom"]/source').get('file')
            seen.append(os.path.isfile(cd))
            raise fakelibvirt.make_error(libvirt.VIR_ERR_XML_DETAIL,
                                         'XML error: injected')

        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeConnection, 'defineXML', side_effect=define))
        err = self.refused('create', 'g1', '--kernel', self.kernel,
                           *self.drive_args())
        self.assertIn('XML error: injected', err)
        self.assertEqual([True], seen, 'the drive existed at define')
        self.assertNothingLeft()

    def test_mkisofs_failure_is_one_line(self):
        self.config_text = '[DEFAULT]\nmkisofs_cmd = false\n'
        err = self.refused('create', 'g1', '--kernel', self.kernel,
                           '--config-drive')
        self.assertIn('config drive', err)
        self.assertIn('false exited 1', err)
        self.assertNothingLeft()


class TestRefusals(ConfigDriveTestCase):

    def check(self, expected, *args):
        err = self.refused('create', 'g1', '--kernel', self.kernel, *args)
        self.assertIn(expected, err)
        self.assertNothingLeft()

    def test_missing_files(self):
        missing = os.path.join(self.tmp, 'nope')
        self.check('--user-data %s: cannot read: No such file' % missing,
                   '--user-data', missing)
        self.check('--ssh-key %s: cannot read: No such file' % missing,
                   '--ssh-key', missing)
        self.check('--ssh-key %s: cannot read:' % self.tmp,
                   '--ssh-key', self.tmp)

    def test_user_data_over_the_limit(self):
        big = self.file('big', b'x' * 49150)
        self.check('--user-data %s: user data: 49150 bytes; at most 49149'
                   % big, '--user-data', big)
        empty = self.file('empty', b'')
        self.check('--user-data %s: user data: the file is empty' % empty,
                   '--user-data', empty)

    def test_user_data_at_the_limit(self):
        just = self.file('just', b'x' * 49149)
        self.create('g1', '--user-data', just)
        self.assertEqual(49149, len(self.iso(
            self.drive_path(), '/openstack/latest/user_data')))

    def test_bad_keys(self):
        for data, reason in (
                (KEY.encode() + b'\n' + KEY.encode() + b'\n',
                 'expected one line of an OpenSSH public key, found 2'),
                (b'', 'expected one line of an OpenSSH public key, found 0 '
                 'lines'),
                (b'-----BEGIN OPENSSH PRIVATE KEY-----\n',
                 'not an OpenSSH public key'),
                (b'ssh-rsa not-base64!\n', 'the key is not valid base64'),
                (KEY.replace('ssh-ed25519', 'ssh-rsa').encode(),
                 'the key does not match its type ssh-rsa'),
                (b'\xff\xfe', 'not an OpenSSH public key (not ASCII text)')):
            key = self.file('bad.pub', data)
            self.check('--ssh-key %s: SSH public key: %s' % (key, reason),
                       '--ssh-key', key)

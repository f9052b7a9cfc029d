"""``emuvirt server`` end to end on the fake libvirt.

Runs :func:`emuvirt.cmd.emuvirt.main` as the console script does, with a
config file. Bad input must end with a non-zero status, one
``emuvirt: error:`` line on stderr naming what is wrong, nothing on stdout
and nothing left behind (no domain, no instance directory).
"""

import io
import json
import os

import fixtures
import libvirt
from lxml import etree

from emuvirt.cmd import emuvirt as emuvirt_cmd
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import guests
from emuvirt.tests.functional import test_base
from emuvirt.tests.functional import test_guest_xml_cmd
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import image_props

NOTE = ('emuvirt: note: no Placement configured ([placement]auth_type is '
        'unset): no resources claimed for %s\n')


class ServerTestCase(test_base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.instances = os.path.join(self.tmp, 'instances')
        self.state_dir = os.path.join(self.tmp, 'state')
        self.useFixture(test_guest_xml_cmd.RootLoggerState())
        self.fake = self.use_host('x86_64')
        self.conn = self.fake.connection
        self.kernel = self.file('vmlinuz')
        self.config_text = ''

    def file(self, name, data=b'\0' * 16):
        path = os.path.join(self.tmp, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def write_config(self):
        path = os.path.join(self.tmp, 'emuvirt.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nhost = testhost\nstate_path = %s\n'
                    '[libvirt]\ninstances_path = %s\nshutdown_timeout = 1\n'
                    % (self.state_dir, self.instances) + self.config_text)
        return path

    def run_cmd(self, *argv):
        stdout, stderr = io.StringIO(), io.StringIO()
        with fixtures.MonkeyPatch('sys.stdout', stdout), \
                fixtures.MonkeyPatch('sys.stderr', stderr):
            try:
                status = emuvirt_cmd.main(
                    ['--config-file', self.write_config(), 'server'] +
                    list(argv))
            except SystemExit as e:
                status = e.code
        return status, stdout.getvalue(), stderr.getvalue()

    def ok(self, *argv):
        status, out, err = self.run_cmd(*argv)
        self.assertEqual(0, status, err)
        return out, err

    def create(self, name='g1', *argv, arch='aarch64'):
        args = ['create', name, '--kernel', self.kernel]
        if arch:
            args += ['--property', 'hw_emulation_architecture=' + arch]
        return self.ok(*(args + list(argv)))

    def refused(self, *argv, status=1):
        """Status, nothing on stdout, one line on stderr (returned)."""
        got, out, err = self.run_cmd(*argv)
        self.assertEqual(status, got, err)
        self.assertEqual('', out)
        self.assertEqual(1, err.count('\n'), err)
        self.assertTrue(err.startswith('emuvirt: error: '), err)
        return err

    def assertNothingLeft(self):
        self.assertEqual([], self.conn.listAllDomains())
        self.assertEqual([], os.listdir(self.instances)
                         if os.path.exists(self.instances) else [])

    def domain(self, name='g1'):
        return self.conn.lookupByName(name)

    def guest_prints(self, text, then_stops=False):
        """Make a started guest write ``text`` on its console log."""
        start = fakelibvirt.FakeDomain.createWithFlags

        def create(dom, flags=0):
            start(dom, flags)
            log = etree.fromstring(dom.XMLDesc()).find(
                'devices/serial/log').get('file')
            with open(log, 'ab') as f:
                f.write(text.encode())
            if then_stops:
                dom.shutdown()
            return 0
        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, 'createWithFlags', autospec=True,
            side_effect=create))


class TestCreate(ServerTestCase):

    def test_create_starts_the_guest(self):
        out, err = self.create()
        dom = self.domain()
        self.assertEqual('created g1: %s, aarch64 guest, machine virt-7.2\n'
                         % dom.UUIDString(), out)
        self.assertEqual(NOTE % 'g1', err)
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, dom.state()[0])

    def test_flavor_and_boot_files(self):
        ramdisk = self.file('initrd.img')
        self.create('g1', '--ramdisk', ramdisk, '--cmdline', 'console=ttyS9',
                    '--flavor', 'vcpus=2,ram=300')
        root = etree.fromstring(self.domain().XMLDesc())
        self.assertEqual(
            ('2', '300', self.kernel, ramdisk, 'console=ttyS9'),
            (root.findtext('vcpu'), root.findtext('memory'),
             root.findtext('os/kernel'), root.findtext('os/initrd'),
             root.findtext('os/cmdline')))

    def test_wait_until_running(self):
        out, _err = self.create('g1', '--wait')
        self.assertTrue(out.endswith('g1 is running\n'), out)

    def test_wait_for_console_text(self):
        self.guest_prints('Booting\n\x1b[1mEMUVIRT-UNAME: \x1b[0maarch64\n')
        out, _err = self.create('g1', '--wait', '--wait-for',
                                'EMUVIRT-UNAME: aarch64')
        self.assertIn("g1: 'EMUVIRT-UNAME: aarch64' on the console after",
                      out)

    def test_guest_stops_before_the_text(self):
        self.guest_prints('Kernel panic\n', then_stops=True)
        status, _out, err = self.run_cmd(
            'create', 'g1', '--kernel', self.kernel, '--wait',
            '--wait-for', 'login:', '--timeout', '20')
        self.assertEqual(1, status)
        self.assertIn("emuvirt: error: g1 stopped before 'login:' showed on "
                      "its console (see emuvirt server console-log g1)",
                      err)
        # Not bad input: the guest stays for inspection.
        self.assertEqual(['g1'], [d.name() for d in
                                  self.conn.listAllDomains()])

    def test_wait_for_times_out(self):
        status, _out, err = self.run_cmd(
            'create', 'g1', '--kernel', self.kernel, '--wait',
            '--wait-for', 'login:', '--timeout', '0.3')
        self.assertEqual(1, status)
        self.assertIn("emuvirt: error: Timed out after 0.3 s waiting for g1 "
                      "to show 'login:' on its console", err)

    def test_wait_for_needs_wait(self):
        err = self.refused('create', 'g1', '--kernel', self.kernel,
                           '--wait-for', 'x')
        self.assertIn('--wait-for needs --wait', err)
        self.assertNothingLeft()

    def test_diskless_firmware_guest(self):
        self.ok('create', 'fw', '--property',
                'hw_emulation_architecture=riscv64')
        self.assertEqual([], etree.fromstring(
            self.domain('fw').XMLDesc()).findall('devices/disk'))


class TestPropertyFiles(ServerTestCase):

    def arch_of(self, name='g1'):
        return etree.fromstring(self.domain(name).XMLDesc()).find(
            'os/type').get('arch')

    def test_properties_file_beside_the_image(self):
        self.file('vmlinuz.properties',
                  b'# the guest\n\nhw_emulation_architecture = s390x\n')
        self.create('g1', arch=None)
        self.assertEqual('s390x', self.arch_of())

    def test_json_file(self):
        self.file('vmlinuz.json', json.dumps(
            {'hw_emulation_architecture': 'ppc64le',
             'hw_qemu_guest_agent': True}).encode())
        self.create('g1', arch=None)
        self.assertEqual('ppc64le', self.arch_of())

    def test_property_option_wins(self):
        self.file('vmlinuz.properties', b'hw_emulation_architecture=s390x\n')
        self.create('g1', arch='mipsel')
        self.assertEqual('mipsel', self.arch_of())

    def test_bad_files(self):
        cases = {
            'vmlinuz.properties': (b'no equals sign\n',
                                   'vmlinuz.properties line 1: expected '
                                   "KEY=VALUE, got 'no equals sign'"),
            'vmlinuz.json': (b'{"hw_emulation_architecture": ',
                             'vmlinuz.json: not valid JSON'),
        }
        for name, (data, message) in cases.items():
            path = self.file(name, data)
            err = self.refused('create', 'g1', '--kernel', self.kernel)
            self.assertIn(message, err)
            os.unlink(path)
        self.file('vmlinuz.json', b'["aarch64"]')
        self.assertIn('expected a JSON object of image properties',
                      self.refused('create', 'g1', '--kernel', self.kernel))
        self.file('vmlinuz.json', b'{"hw_nope": "1"}')
        self.assertIn('vmlinuz.json: Image property hw_nope: unknown',
                      self.refused('create', 'g1', '--kernel', self.kernel))
        self.assertNothingLeft()

    def test_two_files_is_ambiguous(self):
        self.file('vmlinuz.json', b'{}')
        self.file('vmlinuz.properties', b'')
        self.assertIn('keep one',
                      self.refused('create', 'g1', '--kernel', self.kernel))


class TestBadInput(ServerTestCase):

    def test_one_line_errors_and_nothing_left(self):
        self.create('taken')
        cases = (
            (('create', 'bad/name', '--kernel', self.kernel),
             "server name 'bad/name': use 1 to 63 letters"),
            (('create', '0a1b2c3d-0000-4000-8000-00000000abcd'),
             'looks like a UUID'),
            (('create', 'taken', '--kernel', self.kernel),
             "server name 'taken': a guest of that name exists"),
            (('create', 'g2', '--image', '/nonexistent.qcow2'),
             '--image /nonexistent.qcow2: no such file'),
            (('create', 'g2', '--kernel', self.kernel, '--property', 'x'),
             '--property x: expected KEY=VALUE'),
            (('create', 'g2', '--kernel', self.kernel, '--property',
              'hw_emulation_architecture=vax'),
             'hw_emulation_architecture'),
            (('create', 'g2', '--kernel', self.kernel, '--flavor', 'ram=0'),
             'Option --flavor key ram: 0 is less than 1'),
            (('create', 'g2', '--property',
              'hw_emulation_architecture=s390x', '--property',
              'hw_video_model=vga'),
             'hw_video_model'),
            (('show', 'nobody'), 'Instance nobody could not be found'),
            (('delete', 'nobody'), 'Instance nobody could not be found'),
        )
        for argv, message in cases:
            self.assertIn(message, self.refused(*argv))
        self.assertEqual(['taken'],
                         [d.name() for d in self.conn.listAllDomains()])
        self.assertEqual(1, len(os.listdir(self.instances)))

    def test_usage_errors_are_one_line_too(self):
        cases = ((('create',), 'server create: the following arguments are '
                  'required: NAME (see emuvirt server create --help)'),
                 (('console-log', 'g1', '--lines', '0'),
                  "invalid positive integer value: '0'"),
                 (('stop', 'g1', '--timeout', '-1'),
                  "invalid number of seconds value: '-1'"),
                 (('frobnicate',), "invalid choice: 'frobnicate'"))
        for argv, message in cases:
            self.assertIn(message, self.refused(*argv, status=2))

    def test_foreign_domain_is_not_touched(self):
        self.conn.defineXML(
            "<domain type='qemu'><name>theirs</name><memory>1024</memory>"
            "<os><type arch='x86_64'>hvm</type></os></domain>")
        for action in ('show', 'stop', 'delete'):
            self.refused(action, 'theirs')
        self.assertEqual(['theirs'],
                         [d.name() for d in self.conn.listAllDomains()])
        self.assertIn("'theirs': a guest of that name exists",
                      self.refused('create', 'theirs', '--kernel',
                                   self.kernel))

    def test_needs_a_libvirt_driver(self):
        self.config_text = '[DEFAULT]\ncompute_driver = fake\n'
        self.assertIn("server commands need a libvirt compute driver; "
                      "option [DEFAULT]compute_driver is 'fake'",
                      self.refused('list'))

    def test_libvirt_errors_become_one_line(self):
        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeConnection, 'listAllDomains',
            side_effect=fakelibvirt.make_error(
                libvirt.VIR_ERR_INTERNAL_ERROR, 'internal error: boom')))
        self.assertEqual('emuvirt: error: libvirt: internal error: boom\n',
                         self.refused('list'))


class TestNetwork(ServerTestCase):

    def nic(self, name='g1'):
        return etree.fromstring(self.domain(name).XMLDesc()).find(
            'devices/interface')

    def test_network_and_mac_shown_with_address(self):
        self.fake.add_network('lab')
        self.create('g1', '--network', 'lab', '--mac', '52:54:00:AB:CD:2A')
        nic = self.nic()
        self.assertEqual(('network', 'lab', '52:54:00:ab:cd:2a'), (
            nic.get('type'), nic.find('source').get('network'),
            nic.find('mac').get('address')))
        out, _err = self.ok('show', 'g1')
        self.assertIn('addresses:    192.168.77.42 (52:54:00:ab:cd:2a)\n',
                      out)

    def test_no_lease_no_addresses_line(self):
        self.create('g1')
        self.assertEqual('user', self.nic().get('type'))
        self.assertNotIn('addresses:', self.ok('show', 'g1')[0])

    def test_hard_reboot_keeps_network_and_mac(self):
        self.fake.add_network('lab')
        self.create('g1', '--network', 'lab', '--mac', '52:54:00:00:00:07')
        self.ok('reboot', '--hard', 'g1')
        nic = self.nic()
        self.assertEqual(('lab', '52:54:00:00:00:07'), (
            nic.find('source').get('network'),
            nic.find('mac').get('address')))

    def test_refusals_name_the_argument_nothing_left(self):
        self.fake.add_network('lab')
        self.fake.add_network('down', active=False)
        base = ('create', 'g1', '--kernel', self.kernel, '--property',
                'hw_emulation_architecture=aarch64')
        cases = (
            (('--network', 'nowhere'), "--network nowhere: the libvirt "
             "daemon has no active network of that name"),
            (('--network', 'down'), '--network down: '),
            (('--network', ''), '--network: give a network name'),
            (('--mac', '52:54:00:00:00:01'), '--mac needs --network'),
            (('--network', 'lab', '--mac', '52:54:00:00:01'),
             "--mac 52:54:00:00:01: MAC address '52:54:00:00:01' is not "
             "six hex pairs"),
            (('--network', 'lab', '--mac', '03:54:00:00:00:01'),
             'is a multicast address'),
        )
        for argv, message in cases:
            self.assertIn(message, self.refused(*(base + argv)))
        self.assertNothingLeft()


class TestQueries(ServerTestCase):

    def test_list(self):
        self.create('b', arch='s390x')
        self.create('a')
        self.domain('b').destroy()
        self.conn.defineXML(
            "<domain type='qemu'><name>theirs</name><memory>1024</memory>"
            "<os><type arch='x86_64'>hvm</type></os></domain>")
        out, _err = self.ok('list')
        lines = out.splitlines()
        self.assertEqual(['NAME', 'UUID', 'ARCH', 'STATE'], lines[0].split())
        self.assertEqual(
            [['a', self.domain('a').UUIDString(), 'aarch64', 'running'],
             ['b', self.domain('b').UUIDString(), 's390x', 'shutdown']],
            [line.split() for line in lines[1:]])

    def test_list_leaves_out_a_guest_deleted_while_listed(self):
        self.create('a')
        self.create('b')
        doomed = self.domain('b').UUIDString()
        state = fakelibvirt.FakeDomain.state

        def deleted_meanwhile(dom, flags=0):
            if dom.UUIDString() == doomed:
                # Another command deletes it between the listing and this.
                dom.destroy()
                dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
                raise fakelibvirt.make_error(libvirt.VIR_ERR_NO_DOMAIN,
                                             'Domain not found')
            return state(dom, flags)
        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, 'state', autospec=True,
            side_effect=deleted_meanwhile))
        out, err = self.ok('list')
        self.assertEqual(['a'], [line.split()[0]
                                 for line in out.splitlines()[1:]])
        self.assertEqual('', err)

    def test_list_fails_for_a_guest_it_cannot_query(self):
        self.create('a')
        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, 'state', autospec=True,
            side_effect=fakelibvirt.make_error(
                libvirt.VIR_ERR_INTERNAL_ERROR, 'internal error: busy')))
        err = self.refused('list')
        self.assertIn('Could not query instance a: internal error: busy',
                      err)

    def test_show_by_name_or_uuid(self):
        self.create('g1', '--flavor', 'vcpus=2,ram=256',
                    '--property', 'hw_machine_type=virt')
        uuid = self.domain().UUIDString()
        out, _err = self.ok('show', 'g1')
        self.assertEqual(out, self.ok('show', uuid)[0])
        fields = dict(line.split(':', 1) for line in out.splitlines())
        fields = {k: v.strip() for k, v in fields.items()}
        guest_dir = os.path.join(self.instances, uuid)
        self.assertEqual({
            'name': 'g1', 'uuid': uuid, 'arch': 'aarch64',
            'machine type': 'virt-7.2', 'state': 'running',
            'flavor': 'vcpus=2,ram=256,disk=1',
            'properties': 'hw_emulation_architecture=aarch64 '
                          'hw_machine_type=virt',
            'kernel': self.kernel,
            'console log': os.path.join(guest_dir, 'console.log'),
            'instance dir': guest_dir}, fields)

    def test_console_log(self):
        self.guest_prints('one\r\ntwo\r\n\x1b[0mthree\r\n')
        self.create()
        self.assertEqual(('one\ntwo\nthree\n', ''), self.ok('console-log',
                                                            'g1'))
        self.assertEqual('two\nthree\n',
                         self.ok('console-log', 'g1', '--lines', '2')[0])

    def test_console_log_before_anything_was_printed(self):
        self.create()
        self.assertEqual(('', ''), self.ok('console-log', 'g1'))


class TestPowerAndDelete(ServerTestCase):

    def state(self, name='g1'):
        return self.domain(name).state()[0]

    def test_stop_start(self):
        self.create()
        self.assertEqual(('stopped g1\n', ''), self.ok('stop', 'g1'))
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF, self.state())
        self.assertEqual(('g1 is already stopped\n', ''),
                         self.ok('stop', 'g1'))
        self.assertEqual(('started g1\n', ''), self.ok('start', 'g1'))
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, self.state())

    def test_stop_destroys_a_guest_that_ignores_it(self):
        self.create()
        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, 'shutdownFlags', return_value=0))
        self.ok('stop', 'g1', '--timeout', '0.2')
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED,
                         self.domain().state()[1])

    def test_reboot(self):
        self.create()
        first = self.domain().ID()
        self.assertEqual(('rebooted g1\n', ''), self.ok('reboot', 'g1'))
        second = self.domain().ID()
        self.ok('reboot', 'g1', '--hard')
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, self.state())
        self.assertEqual(3, len({first, second, self.domain().ID()}))

    def test_hard_reboot_applies_recorded_properties(self):
        self.create()
        self.ok('stop', 'g1', '--timeout', '0')
        self.useFixture(guests.ManagedSave())
        host = vhost.Host()
        self.addCleanup(host.close)
        image_props.set(host, 'g1', {'hw_video_model': 'virtio'})
        self.ok('start', 'g1')
        # A start keeps the definition.
        self.assertNotIn('<video', self.domain().XMLDesc(0))
        self.ok('reboot', 'g1', '--hard')
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, self.state())
        models = etree.fromstring(self.domain().XMLDesc(0)).iterfind(
            'devices/video/model')
        self.assertEqual(['virtio'], [m.get('type') for m in models])

    def test_hard_reboot_refused_leaves_the_guest(self):
        self.create()
        self.ok('stop', 'g1', '--timeout', '0')
        self.useFixture(guests.ManagedSave())
        host = vhost.Host()
        self.addCleanup(host.close)
        # No check: as if written with virsh metadata.
        image_props.set(host, 'g1', {'hw_disk_bus': 'ide'})
        self.ok('start', 'g1')
        dom = self.domain()
        before = (dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), dom.ID())
        err = self.refused('reboot', 'g1', '--hard')
        self.assertIn('Image property hw_disk_bus', err)
        self.assertEqual(before, (dom.XMLDesc(
            libvirt.VIR_DOMAIN_XML_INACTIVE), dom.ID()))
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, self.state())

    def test_delete_leaves_nothing(self):
        self.create('g1', arch=None, *('--property',
                                       'hw_emulation_architecture=aarch64'))
        self.ok('create', 'fw', '--property',
                'hw_emulation_architecture=aarch64')
        for name in ('g1', 'fw'):
            self.assertEqual(('deleted %s\n' % name, ''),
                             self.ok('delete', name))
        self.assertNothingLeft()

    def test_a_guest_with_a_damaged_record_can_be_deleted(self):
        self.create('bad')
        guests.corrupt(vhost.Host(), self.domain('bad'),
                       'flavor-not-a-number')
        status, out, err = self.run_cmd('show', 'bad')
        self.assertEqual(1, status)
        self.assertEqual(
            'name:         bad\nuuid:         %s\nstate:        running\n'
            "record:       cannot be read: emuvirt:flavor vcpus is not a "
            "whole number of at least 1: 'two'\n"
            % self.domain('bad').UUIDString(), out)
        self.assertEqual(1, err.count('\n'), err)
        self.assertIn('emuvirt record that cannot be read', err)
        self.assertEqual(('stopped bad\n', ''), self.ok('stop', 'bad'))
        self.assertEqual(('deleted bad\n', ''), self.ok('delete', 'bad'))
        self.assertNothingLeft()

    def test_delete_by_uuid(self):
        self.create()
        self.ok('delete', self.domain().UUIDString())
        self.assertNothingLeft()

    def test_bad_placement_option_refuses_delete_before_deleting(self):
        # [placement] is read when Placement is first used (not by list,
        # see test_cli_imports); delete reads it before it deletes.
        self.create()
        self.config_text = '[placement]\ntimeout = soon\n'
        err = self.refused('delete', 'g1')
        self.assertIn('[placement]timeout', err)
        self.assertIsNotNone(self.domain())

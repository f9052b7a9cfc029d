"""Guests whose emuvirt record is damaged, end to end on the fake libvirt.

The record lives in the domain's ``<metadata>``, where anyone with access
to the daemon can edit it. Each kind of damage in
:data:`emuvirt.tests.fixtures.guests.CORRUPTIONS` is done to one guest
among healthy ones; every command must then name the damaged guest with
its libvirt name, UUID and the reason, never print a traceback, and carry
on with the others, and the compute service must keep reporting.
"""

import fixtures

from emuvirt.cmd import status
from emuvirt.compute import manager
from emuvirt import exception
from emuvirt.tests.fixtures import guests
from emuvirt.tests.functional import placement_base
from emuvirt.tests.functional import test_machine_type
from emuvirt.tests.functional import test_server_commands
from emuvirt.virt import emulation
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import records

PERSISTENT = records.PERSISTENT_XML

# Damage that makes the record unreadable (the other one, a bad image
# property value, only shows where the properties are used).
UNREADABLE = sorted(k for k in guests.CORRUPTIONS
                    if k != 'bad-property-value')


def reason(kind):
    return guests.CORRUPTIONS[kind][1]


class TestDriverQueries(test_machine_type.MachineTypeFunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.driver = emulation.EmuVirtDriver(host=self.host)

    def test_each_damage_is_listed_with_the_domain_name_and_reason(self):
        for kind in UNREADABLE + ['bad-property-value']:
            good = self.define('good')
            dom = guests.corrupt(self.host, self.define('bad'), kind)
            listed = {g.name: r for g, r in self.driver.list_guests()}
            self.assertEqual({'good', 'bad'}, set(listed), kind)
            self.assertFalse(listed['good'].broken)
            record = listed['bad']
            if kind == 'bad-property-value':
                self.assertFalse(record.broken)
            else:
                self.assertTrue(record.broken, kind)
                self.assertEqual(('bad', dom.UUIDString(), '?'),
                                 (record.name, record.uuid,
                                  record.guest_arch), kind)
                self.assertIn(reason(kind), record.reason, kind)
            self.assertEqual(
                sorted([good.UUIDString(), dom.UUIDString()]),
                sorted(self.driver.list_instance_uuids()), kind)
            e = self.assertRaises(guests.metadata.RecordBroken,
                                  self.driver.find_instance, 'bad')
            self.assertIn(reason(kind), str(e), kind)
            self.assertIn('bad (%s)' % dom.UUIDString(), str(e))
            instance = self.driver.find_instance('bad', broken_ok=True)
            self.assertEqual(dom.UUIDString(), instance.uuid)
            for d in (good, dom):
                d.undefine()

    def test_foreign_domains_stay_out(self):
        guests.define_foreign(self.host, 'not-ours')
        self.assertEqual([], self.driver.list_guests())
        self.assertRaises(exception.InstanceNotFound,
                          self.driver.find_instance, 'not-ours',
                          broken_ok=True)


class TestManage(test_machine_type.MachineTypeFunctionalTestCase):

    def test_list_unset_names_them_and_carries_on(self):
        unset = self.define('unset', recorded=False)
        self.define('fine')
        bad = {}
        for kind in UNREADABLE:
            bad[kind] = guests.corrupt(self.host, self.define(kind), kind)
        code, out, err = self.manage('libvirt', 'list_unset_machine_type')
        self.assertEqual(3, code)
        self.assertEqual(unset.UUIDString() + '\n', out)
        lines = err.splitlines()
        self.assertEqual(len(UNREADABLE), len(lines), err)
        for kind, dom in bad.items():
            self.assertIn('%s (%s): its emuvirt record cannot be read: '
                          % (kind, dom.UUIDString()), err)
            self.assertIn(reason(kind), err)
        self.assertNotIn('Traceback', err)

    def test_only_broken_ones_is_3(self):
        guests.corrupt(self.host, self.define('bad'), 'no-uuid')
        code, out, err = self.manage('libvirt', 'list_unset_machine_type')
        self.assertEqual((3, ''), (code, out))
        self.assertIn('no emuvirt:uuid', err)

    def test_commands_on_a_broken_one_refuse_in_one_line(self):
        dom = guests.corrupt(self.host, self.define('bad'),
                             'flavor-not-a-number')
        for argv in (('libvirt', 'get_machine_type', 'bad'),
                     ('libvirt', 'update_machine_type', 'bad', 'virt-7.2'),
                     ('image_property', 'show', 'bad', 'hw_disk_bus'),
                     ('image_property', 'set', 'bad', '--property',
                      'hw_disk_bus=virtio')):
            code, out, err = self.assertUntouched(dom, 1, *argv)
            self.assertEqual('', out)
            self.assertEqual(1, err.count('\n'), err)
            self.assertIn('emuvirt-manage: error: Instance bad (%s) has an '
                          'emuvirt record that cannot be read: emuvirt:flavor'
                          ' vcpus is not a whole number' % dom.UUIDString(),
                          err)

    def test_status_lists_them(self):
        out = self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', test_machine_type.io.StringIO())).new_value
        self.define('fine')
        for kind in UNREADABLE:
            guests.corrupt(self.host, self.define(kind), kind)
        self.addCleanup(setattr, status.upgradecheck, 'CONF',
                        status.upgradecheck.CONF)
        code = status.main(['emuvirt-status', '--config-file',
                            self.conf_file, 'upgrade', 'check'])
        self.assertEqual(1, code)  # a warning
        text = out.getvalue()
        self.assertIn('%d guest(s) have an emuvirt record that cannot be '
                      'read' % len(UNREADABLE), text)
        self.assertNotIn('Traceback', text)


class TestServerCommands(test_server_commands.ServerTestCase):

    def test_list_shows_every_guest_and_the_reasons(self):
        self.create('a1')
        self.create('z9')
        self.create('m5')
        host = vhost.Host()
        dom = guests.corrupt(host, self.domain('z9'), 'no-name')
        other = guests.corrupt(host, self.domain('m5'), 'garbage')
        out, err = self.ok('list')
        rows = [line.split() for line in out.splitlines()[1:]]
        self.assertEqual([['a1', self.domain('a1').UUIDString(), 'aarch64',
                           'running'],
                          ['m5', other.UUIDString(), '?', 'running'],
                          ['z9', dom.UUIDString(), '?', 'running']], rows)
        self.assertEqual(
            'emuvirt: note: Instance m5 (%s) has an emuvirt record that '
            'cannot be read: no emuvirt:uuid\n'
            'emuvirt: note: Instance z9 (%s) has an emuvirt record that '
            'cannot be read: no emuvirt:name\n'
            % (other.UUIDString(), dom.UUIDString()), err)

    def test_show_prints_what_libvirt_knows_and_the_reason(self):
        self.create('g1')
        for kind in UNREADABLE + ['bad-property-value']:
            guests.corrupt(vhost.Host(), self.domain('g1'), kind)
            status, out, err = self.run_cmd('show', 'g1')
            self.assertEqual(1, status, kind)
            lines = out.splitlines()
            self.assertEqual(['name:', 'uuid:', 'state:', 'record:'],
                             [line.split()[0] for line in lines], kind)
            self.assertIn(self.domain('g1').UUIDString(), lines[1])
            self.assertIn(reason(kind), lines[3], kind)
            self.assertEqual(1, err.count('\n'), err)
            self.assertNotIn('Traceback', out + err)
            self.ok('delete', 'g1')
            self.create('g1')

    def test_delete_of_each_kind(self):
        for kind in UNREADABLE + ['bad-property-value']:
            self.create('g1')
            guests.corrupt(vhost.Host(), self.domain('g1'), kind)
            self.assertEqual(('deleted g1\n', ''), self.ok('delete', 'g1'),
                             kind)
            self.assertNothingLeft()


class TestComputeService(placement_base.PlacementTestCase):

    def test_service_reports_with_broken_records(self):
        logs = self.useFixture(fixtures.FakeLogger())
        service = self.add_host('compute1', 'x86_64')
        host = service.driver.host
        good = guests.define(host, 'aarch64', 'good', recorded=False)
        for kind in UNREADABLE:
            guests.corrupt(host, guests.define(host, 'aarch64', kind), kind)
        for _ in range(2):
            self.assertTrue(service.update_available_resource())
        self.assertIn('COMPUTE_ARCH_AARCH64', self.traits('compute1'))
        self.assertEqual(0, service.failures)
        # The healthy guest got its machine type recorded at start.
        record = guests.metadata.InstanceRecord.from_domain_xml(
            good.XMLDesc(PERSISTENT))
        self.assertEqual('virt-7.2', record.machine_type)
        self.assertNotIn('Traceback', logs.output)
        for kind in UNREADABLE:
            self.assertIn('Skipping %s (' % kind, logs.output)

    def test_once_exits_0(self):
        service = self.add_host('compute1', 'x86_64')
        guests.corrupt(service.driver.host, guests.define(
            service.driver.host, 'aarch64', 'bad'), 'garbage')
        fresh = manager.ComputeManager(
            service.conf, driver=service.driver,
            reportclient=service.reportclient, host='compute1')
        self.assertEqual(0, fresh.run(once=True))

"""Tests of the compute service loop (driver and client are doubles)."""

import itertools
import logging
import os
import threading
import time
from unittest import mock

import fixtures
import libvirt
from oslo_config import fixture as config_fixture
import testtools

from emuvirt.compute import ledger as ledger_mod
from emuvirt.compute import manager
from emuvirt.compute import reconcile
from emuvirt import conf
from emuvirt import exception
from emuvirt.scheduler.client import report
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.virt import fake


class TestComputeManager(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.flags = self.useFixture(config_fixture.Config(conf.CONF))
        self.flags.config(host='node1')
        self.flags.config(state_path=self.useFixture(
            fixtures.TempDir()).path)
        self.driver = fake.FakeDriver()
        self.client = mock.Mock(spec=report.ReportClient)
        self.client.get_provider_allocations.return_value = {}

    def service(self, client='default'):
        return manager.ComputeManager(
            conf.CONF, driver=self.driver,
            reportclient=self.client if client == 'default' else client)

    def test_cycle_syncs_the_host_provider(self):
        service = self.service()
        self.assertTrue(service.update_available_resource())
        name, uuid, update = self.client.sync_provider.call_args[0]
        self.assertEqual(('node1', report.provider_uuid('node1')),
                         (name, uuid))
        self.assertEqual('node1', self.driver.host)

    def test_update_function_is_the_driver(self):
        service = self.service()
        service.update_available_resource()
        update = self.client.sync_provider.call_args[0][2]
        tree = mock.Mock()
        with mock.patch.object(self.driver, 'update_provider_tree') as upt:
            update(tree)
        upt.assert_called_once_with(tree, 'node1')

    def test_host_name_given(self):
        service = manager.ComputeManager(conf.CONF, driver=self.driver,
                                         reportclient=self.client,
                                         host='other')
        service.update_available_resource()
        self.assertEqual('other', self.client.sync_provider.call_args[0][0])

    def test_outages_are_survived(self):
        service = self.service()
        errors = [report.PlacementUnavailable(reason='refused'),
                  exception.PlacementError(reason='HTTP 400'),
                  fakelibvirt.make_error(libvirt.VIR_ERR_SYSTEM_ERROR, 'x'),
                  exception.HypervisorUnavailable(uri='u', reason='r'),
                  RuntimeError('bug')]
        for error in errors:
            self.client.sync_provider.side_effect = error
            self.assertFalse(service.update_available_resource())
        self.client.sync_provider.side_effect = None
        self.assertTrue(service.update_available_resource())
        self.assertEqual((6, len(errors)), (service.cycles, service.failures))

    def test_init_host_failure_is_retried(self):
        service = self.service()
        with mock.patch.object(self.driver, 'init_host',
                               side_effect=libvirt.libvirtError('down')):
            self.assertFalse(service.init_host())
            self.assertFalse(service.update_available_resource())
        self.client.sync_provider.assert_not_called()
        self.assertTrue(service.update_available_resource())
        self.client.sync_provider.assert_called_once()

    def test_without_placement_driver_still_runs(self):
        service = self.service(client=None)
        with mock.patch.object(self.driver, 'update_provider_tree') as upt:
            self.assertTrue(service.update_available_resource())
        tree, nodename = upt.call_args[0]
        self.assertEqual('node1', nodename)
        self.assertTrue(tree.exists(report.provider_uuid('node1')))

    def test_no_placement_configured_means_no_client(self):
        service = manager.ComputeManager(conf.CONF, driver=self.driver)
        self.assertIsNone(service.reportclient)

    def test_run_once(self):
        service = self.service()
        self.assertEqual(0, service.run(once=True))
        self.assertEqual(1, service.cycles)
        self.assertIsNone(self.driver.host)   # cleanup_host ran
        self.client.sync_provider.side_effect = report.PlacementUnavailable(
            reason='down')
        self.assertEqual(1, self.service().run(once=True))

    def test_stop_interrupts_the_wait(self):
        self.flags.config(group='compute', provider_update_interval=3600)
        service = self.service()
        threading.Timer(0.2, service.stop).start()
        started = time.monotonic()
        self.assertEqual(0, service.run())
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(1, service.cycles)

    def test_loads_the_configured_driver(self):
        self.flags.config(compute_driver='fake')
        service = manager.ComputeManager(conf.CONF)
        self.assertIsInstance(service.driver, fake.FakeDriver)


def _uuid(n):
    return '00000000-0000-4000-8000-%012d' % n


class TestDecide(testtools.TestCase):
    """The decision alone, on sets of consumer UUIDs."""

    def decide(self, allocations=(), in_flight=(), stale=(), owed=(),
               guests=()):
        return reconcile.decide(set(allocations), set(in_flight),
                                set(stale), set(owed), set(guests))

    def test_allocation_with_a_guest_is_kept(self):
        d = self.decide(allocations=['a'], guests=['a'])
        self.assertEqual(reconcile.Decision(), d)

    def test_orphan_is_kept(self):
        # No guest, no claim, no ledger entry: emuvirt did not leave it
        # (or the guests cannot be seen): reported, never released.
        d = self.decide(allocations=['a', 'b'], guests=['b'])
        self.assertEqual({'a'}, d.orphans)
        self.assertEqual(set(), d.release)
        self.assertEqual(set(), d.settle)

    def test_wrong_daemon_releases_nothing(self):
        # Every guest unseen: not one allocation goes.
        d = self.decide(allocations=['a', 'b', 'c'])
        self.assertEqual({'a', 'b', 'c'}, d.orphans)
        self.assertEqual(set(), d.release)

    def test_claim_in_flight_is_kept(self):
        d = self.decide(allocations=['a'], in_flight=['a'], owed=['a'])
        self.assertEqual(set(), d.release)
        self.assertEqual({'a'}, d.in_flight)
        self.assertEqual(set(), d.settle)
        self.assertEqual(set(), d.orphans)

    def test_stale_claim_without_guest_is_released(self):
        d = self.decide(allocations=['a'], stale=['a'])
        self.assertEqual({'a'}, d.stale)
        self.assertEqual({'a'}, d.release)
        self.assertEqual(set(), d.orphans)
        self.assertEqual(set(), d.settle)

    def test_stale_claim_with_nothing_is_settled(self):
        d = self.decide(allocations=['a'], stale=['a', 'b'], guests=['a'])
        self.assertEqual(set(), d.release)
        # 'a' has a guest: a create that never finished, whose entry
        # stays for ComputeAPI.remove_abandoned.
        self.assertEqual({'b'}, d.settle)

    def test_owed_release_is_sent_allocated_or_not(self):
        d = self.decide(allocations=['a'], owed=['a', 'b'])
        self.assertEqual({'a', 'b'}, d.owed)
        self.assertEqual(set(), d.orphans)
        self.assertEqual({'a', 'b'}, d.release)

    def test_owed_release_of_a_guest_waits(self):
        # A delete on its way (it writes the entry before it undefines)
        # or one that died first: neither released nor dropped.
        d = self.decide(allocations=['a'], owed=['a'], guests=['a'])
        self.assertEqual(reconcile.Decision(), d)

    def test_guest_without_allocation(self):
        d = self.decide(allocations=['a'], guests=['a', 'b', 'c'],
                        in_flight=['c'])
        self.assertEqual({'b'}, d.unallocated)

    def test_only_the_ledger_releases(self):
        # Every combination of the five inputs for one consumer.
        for bits in itertools.product((0, 1), repeat=5):
            sets = [['a'] if bit else [] for bit in bits]
            d = self.decide(*sets)
            allocated, in_flight, stale, owed, guest = bits
            released = 'a' in d.release
            self.assertFalse(released and (in_flight or guest), bits)
            self.assertEqual(released, bool(
                (owed or (stale and allocated)) and not in_flight and
                not guest), bits)
            # An allocation with no guest, no claim and no entry stays,
            # reported.
            self.assertEqual('a' in d.orphans, bool(
                allocated and not (in_flight or stale or owed or guest)),
                bits)


class TestReconcile(testtools.TestCase):
    """The manager carrying out the decision (doubles for the rest)."""

    def setUp(self):
        super().setUp()
        self.flags = self.useFixture(config_fixture.Config(conf.CONF))
        self.flags.config(host='node1')
        self.rp = report.provider_uuid('node1')
        self.ledger = ledger_mod.Ledger(self.useFixture(
            fixtures.TempDir()).path)
        self.driver = fake.FakeDriver()
        self.client = mock.Mock(spec=report.ReportClient)
        self.allocations = {}
        self.client.get_provider_allocations.side_effect = (
            lambda rp: dict(self.allocations))
        self.client.get_allocations.return_value = {}
        self.client.release.return_value = True
        self.service = manager.ComputeManager(
            conf.CONF, driver=self.driver, reportclient=self.client,
            ledger=self.ledger)
        # On the emuvirt logger: another test may have left it at WARNING.
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='emuvirt', level=logging.INFO))

    def guest(self, n):
        self.driver.guests[_uuid(n)] = mock.Mock()

    def released(self):
        return sorted(c[0][0] for c in self.client.release.call_args_list)

    def test_orphan_kept_counted_and_warned_once(self):
        self.allocations = {_uuid(1): {'VCPU': 1}, _uuid(2): {'VCPU': 1}}
        self.guest(2)
        for _ in range(3):
            self.assertTrue(self.service.update_available_resource())
        self.assertEqual([], self.released())
        self.assertEqual(manager.Reconciled(2, 1, 0, 0, 0, orphans=1),
                         self.service.reconciled)
        self.assertEqual(1, self.logs.output.count(
            'Allocations of %s on node1 have no guest' % _uuid(1)))
        self.assertIn('"emuvirt-manage placement audit [--delete]"',
                      self.logs.output)

    def test_stale_claim_released(self):
        self.allocations = {_uuid(1): {'VCPU': 1}}
        self.ledger.claims_in_flight = lambda: set()
        self.ledger.begin_claim(_uuid(1))   # taken as dead above
        self.assertTrue(self.service.update_available_resource())
        self.assertEqual([_uuid(1)], self.released())
        self.assertEqual(set(), self.ledger.claims())
        self.assertIn('Released the allocations of %s on node1: its create '
                      'never finished' % _uuid(1), self.logs.output)

    def test_reads_in_order_allocations_ledger_guests(self):
        order = []
        self.client.get_provider_allocations.side_effect = (
            lambda rp: order.append('allocations') or {})
        real = self.ledger.claims_in_flight
        self.ledger.claims_in_flight = (
            lambda: order.append('ledger') or real())
        self.driver.list_instance_uuids = (
            lambda: order.append('guests') or [])
        self.assertTrue(self.service.update_available_resource())
        self.assertEqual(['allocations', 'ledger', 'guests'], order)
        self.client.get_provider_allocations.assert_called_once_with(
            self.rp)

    def test_claim_in_flight_kept(self):
        self.allocations = {_uuid(1): {'VCPU': 1}}
        self.ledger.begin_claim(_uuid(1))   # this process: alive
        self.assertTrue(self.service.update_available_resource())
        self.assertEqual([], self.released())
        self.assertEqual({_uuid(1)}, self.ledger.claims())
        self.assertEqual(1, self.service.reconciled.in_flight)

    def test_owed_release_sent_and_settled(self):
        self.ledger.owed_release(_uuid(3))
        self.client.release.return_value = False
        self.assertTrue(self.service.update_available_resource())
        self.assertEqual([_uuid(3)], self.released())
        self.assertEqual(set(), self.ledger.owed_releases())
        self.assertIn('which its delete could not release (none were '
                      'left)', self.logs.output)

    def test_failed_release_keeps_the_ledger(self):
        self.ledger.owed_release(_uuid(3))
        self.client.release.side_effect = report.PlacementUnavailable(
            reason='down')
        self.assertFalse(self.service.update_available_resource())
        self.assertEqual({_uuid(3)}, self.ledger.owed_releases())

    def test_guests_unlisted_means_nothing_released(self):
        self.allocations = {_uuid(1): {'VCPU': 1}}
        self.driver.list_instance_uuids = mock.Mock(
            side_effect=exception.HypervisorUnavailable(uri='u', reason='r'))
        self.assertFalse(self.service.update_available_resource())
        self.client.release.assert_not_called()
        self.assertIsNone(self.service.reconciled)

    def test_unreadable_ledger_means_nothing_released(self):
        self.allocations = {_uuid(1): {'VCPU': 1}}
        self.ledger.claims = mock.Mock(side_effect=ledger_mod.LedgerError(
            path='p', reason='Permission denied'))
        self.assertFalse(self.service.update_available_resource())
        self.client.release.assert_not_called()
        self.assertIn('Permission denied', self.logs.output)
        self.assertNotIn('Traceback', self.logs.output)

    def test_unallocated_guest_warned_once(self):
        self.guest(5)
        for _ in range(3):
            self.assertTrue(self.service.update_available_resource())
            self.assertEqual(1, self.service.reconciled.unallocated)
        self.assertEqual(1, self.logs.output.count(
            'Guest %s on node1 has no allocation' % _uuid(5)))
        self.client.get_allocations.assert_called_once_with(_uuid(5))
        # It got one: no longer counted; losing it again warns again.
        self.allocations = {_uuid(5): {'VCPU': 1}}
        self.assertTrue(self.service.update_available_resource())
        self.assertEqual(0, self.service.reconciled.unallocated)
        self.allocations = {}
        self.assertTrue(self.service.update_available_resource())
        self.assertEqual(2, self.logs.output.count(
            'Guest %s on node1 has no allocation' % _uuid(5)))

    def test_guest_allocated_meanwhile_is_not_reported(self):
        self.guest(6)
        self.client.get_allocations.return_value = {self.rp: {'VCPU': 1}}
        self.assertTrue(self.service.update_available_resource())
        self.assertEqual(0, self.service.reconciled.unallocated)
        self.assertNotIn('has no allocation', self.logs.output)

    def test_abandoned_creates_removed_only_when_a_claim_is_stale(self):
        self.driver.domain_exists = mock.Mock(return_value=False)
        remove = self.useFixture(fixtures.MockPatch(
            'emuvirt.compute.api.ComputeAPI.remove_abandoned',
            return_value=[])).mock
        self.assertTrue(self.service.update_available_resource())
        remove.assert_not_called()
        self.ledger.begin_claim(_uuid(7))
        with open(os.path.join(self.ledger.path, _uuid(7) + '.claim'),
                  'w') as f:
            f.write('999999999 1\n')   # no such process
        remove.return_value = [_uuid(7)]
        self.assertTrue(self.service.update_available_resource())
        remove.assert_called_once_with()
        self.assertEqual(1, self.service.reconciled.abandoned)

    def test_without_placement_nothing_to_reconcile(self):
        service = manager.ComputeManager(
            conf.CONF, driver=self.driver, reportclient=None,
            ledger=self.ledger)
        self.assertTrue(service.update_available_resource())
        self.assertIsNone(service.reconciled)

"""Reconciliation against the real Placement, on the fake libvirt.

Each compute cycle compares the allocations on the host's provider with
the guests (fake libvirt domains defined with the driver's own XML) and
the Placement ledger under ``$state_path``: stale claims are released,
releases owed by deletes are finished, claims in flight are left alone,
allocations nothing accounts for (orphans) and guests without allocations
are reported.
"""

import logging
import os
import subprocess
import sys

import fixtures
import libvirt
from oslo_utils import uuidutils

from oslo_upgradecheck import upgradecheck

import emuvirt
from emuvirt.cmd import status
from emuvirt.compute import api as compute_api
from emuvirt.compute import ledger as ledger_mod
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import guests
from emuvirt.tests.functional import placement_base

Code = upgradecheck.Code
FLAVOR = {'MEMORY_MB': 256}
TOP = os.path.dirname(os.path.dirname(emuvirt.__file__))


class ReconcileTestCase(placement_base.PlacementTestCase):

    def setUp(self):
        super().setUp()
        self.flags.config(host='compute1')
        # On the emuvirt logger: another test may have left it at WARNING.
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='emuvirt', level=logging.INFO))
        self.service = self.add_host('compute1', 'x86_64')
        self.client = self.service.reportclient
        self.ledger = ledger_mod.Ledger.from_conf(self.service.conf)
        self.assertTrue(self.service.update_available_resource())

    def define(self, name):
        dom = guests.define(self.service.driver.host, 'aarch64', name)
        return dom.UUIDString()

    def claimed(self, uuid=None):
        uuid = uuid or uuidutils.generate_uuid()
        self.client.claim(uuid, FLAVOR)
        return uuid

    def allocated(self):
        return set(self.client.get_provider_allocations())

    def cycle(self):
        self.assertTrue(self.service.update_available_resource())
        return self.service.reconciled

    def dead_claim(self, uuid):
        """A claim entry written by a process that has exited."""
        subprocess.run(
            [sys.executable, '-c',
             'import sys; from emuvirt.compute import ledger; '
             'ledger.Ledger(sys.argv[1]).begin_claim(sys.argv[2])',
             self.ledger.path, uuid],
            check=True, env=dict(os.environ, PYTHONPATH=TOP))


class TestReconcile(ReconcileTestCase):

    def test_guests_keep_their_allocations(self):
        kept = {self.claimed(self.define('g%d' % i)) for i in range(3)}
        for _ in range(2):
            counts = self.cycle()
        self.assertEqual(kept, self.allocated())
        self.assertEqual((3, 3, 0, 0, 0),
                         (counts.allocations, counts.guests, counts.released,
                          counts.in_flight, counts.unallocated))

    def test_orphan_kept_by_a_cycle(self):
        # No guest, no ledger entry: emuvirt did not leave it.
        guest = self.claimed(self.define('g1'))
        orphan = self.claimed()
        for _ in range(2):
            counts = self.cycle()
            self.assertEqual({guest, orphan}, self.allocated())
            self.assertEqual((0, 1), (counts.released, counts.orphans))
        self.assertEqual(1, self.logs.output.count(
            'Allocations of %s on compute1 have no guest' % orphan))

    def test_delete_killed_between_undefine_and_release(self):
        # The delete writes its owed release before it undefines: a
        # process that dies before the release leaves the cycle an entry.
        api = compute_api.ComputeAPI(
            self.service.conf, driver=self.service.driver,
            reportclient=self.client, ledger=self.ledger)
        instance, image_meta = guests.make_instance('aarch64', 'g1')
        api.create(instance, image_meta)
        with fixtures.MockPatchObject(self.client, 'release',
                                      side_effect=_Died()):
            self.assertRaises(_Died, api.delete, 'g1')
        self.assertIsNone(self.service.driver.host.lookup_domain(
            instance.uuid))
        self.assertEqual({instance.uuid}, self.ledger.owed_releases())
        self.assertEqual({instance.uuid}, self.allocated())
        self.assertEqual(1, self.cycle().released)
        self.assertEqual(set(), self.allocated())
        self.assertEqual(set(), self.ledger.owed_releases())

    def test_delete_whose_destroy_fails_keeps_no_entry(self):
        api = compute_api.ComputeAPI(
            self.service.conf, driver=self.service.driver,
            reportclient=self.client, ledger=self.ledger)
        instance, image_meta = guests.make_instance('aarch64', 'g1')
        api.create(instance, image_meta)
        self.useFixture(fixtures.MockPatchObject(
            self.service.driver, 'destroy', side_effect=_Died()))
        self.assertRaises(_Died, api.delete, 'g1')
        # The guest stays, so does its allocation; no release is owed.
        self.assertEqual(set(), self.ledger.owed_releases())
        self.assertEqual(0, self.cycle().released)
        self.assertEqual({instance.uuid}, self.allocated())

    def test_owed_release_settled(self):
        owed = self.claimed()
        gone = uuidutils.generate_uuid()   # Placement released it already
        for uuid in (owed, gone):
            self.ledger.owed_release(uuid)
        counts = self.cycle()
        self.assertEqual(set(), self.allocated())
        self.assertEqual(set(), self.ledger.owed_releases())
        self.assertEqual(2, counts.released)
        self.assertEqual({}, self.client.get_allocations(owed))

    def test_delete_while_placement_is_down_then_a_cycle(self):
        # The path emuvirt server takes: ComputeAPI.
        api = compute_api.ComputeAPI(
            self.service.conf, driver=self.service.driver,
            reportclient=self.client, ledger=self.ledger)
        instance, image_meta = guests.make_instance('aarch64', 'g1')
        self.assertTrue(api.create(instance, image_meta).claimed)
        self.assertEqual({instance.uuid}, self.allocated())
        self.assertEqual(0, self.cycle().released)
        self.placement.stop()
        deleted = api.delete('g1')
        self.assertIsNotNone(deleted.release_error)
        self.assertEqual({instance.uuid}, self.ledger.owed_releases())
        self.assertFalse(self.service.update_available_resource())
        self.placement.start()
        self.assertEqual({instance.uuid}, self.allocated())
        counts = self.cycle()
        self.assertEqual((1, 0), (counts.released, counts.guests))
        self.assertEqual(set(), self.allocated())
        self.assertEqual(set(), self.ledger.owed_releases())
        self.assertIn('Released the allocations of %s, which its delete '
                      'could not release' % instance.uuid, self.logs.output)

    def test_claim_in_flight_by_a_live_process_kept(self):
        # The domain XML of a guest about to be defined.
        host = self.service.driver.host
        dom = host.lookup_domain(self.define('late'))
        uuid, xml = dom.UUIDString(), dom.XMLDesc(0)
        dom.undefine()
        self.ledger.begin_claim(uuid)       # this process: alive
        self.claimed(uuid)
        for _ in range(2):
            counts = self.cycle()
        self.assertEqual({uuid}, self.allocated())
        self.assertEqual(1, counts.in_flight)
        # The create defines its guest and ends the claim: still kept.
        host.define_domain(xml)
        self.ledger.end_claim(uuid)
        counts = self.cycle()
        self.assertEqual({uuid}, self.allocated())
        self.assertEqual((1, 0, 0), (counts.guests, counts.in_flight,
                                     counts.released))

    def test_claim_of_another_live_process_kept_until_it_dies(self):
        uuid = uuidutils.generate_uuid()
        proc = subprocess.Popen(
            [sys.executable, '-c',
             'import sys; from emuvirt.compute import ledger; '
             'ledger.Ledger(sys.argv[1]).begin_claim(sys.argv[2]); '
             'print("claimed", flush=True); sys.stdin.read()',
             self.ledger.path, uuid],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=TOP))
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        self.assertEqual(b'claimed\n', proc.stdout.readline())
        self.claimed(uuid)
        self.assertEqual(1, self.cycle().in_flight)
        self.assertEqual({uuid}, self.allocated())
        proc.kill()   # killed mid-create, before its guest was defined
        proc.wait()
        self.assertEqual(1, self.cycle().released)
        self.assertEqual(set(), self.allocated())
        self.assertEqual(set(), self.ledger.claims())

    def test_claim_of_a_dead_process_released(self):
        uuid = uuidutils.generate_uuid()
        self.dead_claim(uuid)
        self.claimed(uuid)
        self.assertEqual({uuid}, self.ledger.stale_claims())
        self.assertEqual(1, self.cycle().released)
        self.assertEqual(set(), self.allocated())
        self.assertEqual(set(), self.ledger.claims())

    def test_create_that_never_finished_removed(self):
        # Its process died after the define, before it ended the claim.
        uuid = self.define('half')
        self.dead_claim(uuid)
        self.claimed(uuid)
        counts = self.cycle()
        self.assertEqual((1, 0, 1), (counts.abandoned, counts.guests,
                                     counts.released))
        self.assertIsNone(self.service.driver.host.lookup_domain(uuid))
        self.assertEqual(set(), self.allocated())
        self.assertEqual(set(), self.ledger.claims())
        self.assertIn('Removing domain %s: its create never finished' % uuid,
                      self.logs.output)

    def test_stale_claim_without_allocation_dropped(self):
        uuid = uuidutils.generate_uuid()
        self.dead_claim(uuid)   # killed before its claim reached Placement
        self.assertEqual(0, self.cycle().released)
        self.assertEqual(set(), self.ledger.claims())

    def test_guests_without_allocations_reported(self):
        bare = self.define('bare')
        self.claimed(self.define('fine'))
        for _ in range(3):
            self.assertEqual(1, self.cycle().unallocated)
        warnings = [line for line in self.logs.output.splitlines()
                    if 'has no allocation in Placement' in line]
        self.assertEqual(1, len(warnings), self.logs.output)
        self.assertIn(bare, warnings[0])
        # Reported, not claimed (as Nova's compute service): the warning
        # names the command that claims.
        self.assertIn('claim them with "emuvirt-manage placement '
                      'heal_allocations"', warnings[0])
        self.assertEqual({}, self.client.get_allocations(bare))

    def test_guest_with_a_broken_record_keeps_its_allocation(self):
        host = self.service.driver.host
        uuid = self.define('bad')
        self.claimed(uuid)
        guests.corrupt(host, host.lookup_domain(uuid), 'no-uuid')
        counts = self.cycle()
        self.assertEqual({uuid}, self.allocated())
        self.assertEqual((1, 0, 0), (counts.guests, counts.released,
                                     counts.unallocated))

    def test_placement_down_releases_nothing_then_catches_up(self):
        orphan = self.claimed()
        self.ledger.owed_release(orphan)
        self.placement.stop()
        self.assertFalse(self.service.update_available_resource())
        self.assertEqual({orphan}, self.ledger.owed_releases())
        self.placement.start()
        self.cycle()
        self.assertEqual(set(), self.allocated())
        self.assertEqual(set(), self.ledger.owed_releases())

    def test_libvirt_down_releases_nothing(self):
        orphan = self.claimed()

        def down(flags=0):
            raise fakelibvirt.make_error(libvirt.VIR_ERR_SYSTEM_ERROR,
                                         'Cannot recv data')

        self.connection('compute1').listAllDomains = down
        self.assertFalse(self.service.update_available_resource())
        self.assertEqual({orphan}, self.allocated())

    def test_placement_wiped_then_reconciled(self):
        self.claimed(self.define('g1'))
        self.placement.wipe()
        counts = self.cycle()   # registers again, then reconciles
        self.assertEqual((0, 1, 1), (counts.allocations, counts.guests,
                                     counts.unallocated))


class TestStatusCheck(ReconcileTestCase):
    """emuvirt-status counts what the next cycle would do, read only."""

    def check(self):
        checks = status.Checks(host=self.service.driver.host)
        return checks._check_allocations()

    def test_all_match(self):
        self.claimed(self.define('g1'))
        result = self.check()
        self.assertEqual(Code.SUCCESS, result.code)
        self.assertEqual('1 allocation(s), 1 guest(s), 0 claim(s) in '
                         'flight.', result.details)

    def test_orphans_owed_and_unallocated_counted_not_released(self):
        orphan = self.claimed()
        owed = uuidutils.generate_uuid()
        self.ledger.owed_release(owed)
        bare = self.define('bare')
        in_flight = self.claimed()
        self.ledger.begin_claim(in_flight)
        self.placement.reset_requests()
        result = self.check()
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('2 allocation(s), 1 guest(s), 1 claim(s) in flight',
                      result.details)
        self.assertIn('1 allocation(s) have no guest on this host, no '
                      'claim in flight and no ledger entry (list and '
                      'release them with "emuvirt-manage placement '
                      'audit"): %s' % orphan, result.details)
        self.assertIn('1 release(s) owed by deletes that could not reach '
                      'Placement: %s' % owed, result.details)
        self.assertIn('1 guest(s) have no allocation in Placement (claim '
                      'them with "emuvirt-manage placement '
                      'heal_allocations"): bare (%s)' % bare, result.details)
        self.assertIn('is it running?', result.details)
        # Read only.
        self.assertEqual(['GET'], sorted({r[0] for r in
                                          self.placement.requests}))
        self.assertEqual({owed}, self.ledger.owed_releases())
        # The next cycle does what the check said: the owed release
        # goes, the orphan (no ledger entry) stays.
        counts = self.cycle()
        self.assertEqual((1, 1, 1), (counts.released, counts.unallocated,
                                     counts.orphans))
        self.assertIn(orphan, self.allocated())

    def test_placement_down_or_provider_missing(self):
        self.placement.stop()
        result = self.check()
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('Cannot read the allocations of this host from '
                      'Placement', result.details)
        self.placement.start()
        self.placement.wipe()
        result = self.check()
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('Host compute1 has no resource provider in Placement',
                      result.details)


class _Died(BaseException):
    """Stands for the process dying (nothing after it runs)."""

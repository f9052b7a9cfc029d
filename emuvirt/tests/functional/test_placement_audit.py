"""The guard and ``emuvirt-manage placement audit``, on the real Placement.

A compute service pointed at the wrong libvirt daemon (a typo in
``[libvirt]connection_uri``, a daemon emptied by a reinstall) sees no
guests: it must release none of the host's allocations, only warn. What
the Placement ledger accounts for (claims of creates that died, releases
owed by deletes) is still released by the cycle. ``emuvirt-manage
placement audit`` lists what nothing accounts for; ``--delete`` releases
it.
"""

import io

import fixtures
from oslo_utils import uuidutils

from emuvirt.cmd import manage
from emuvirt.compute import audit
from emuvirt.scheduler.client import report
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.functional import test_heal_allocations

HOST = 'compute1'


class AuditTestCase(test_heal_allocations.HealTestCase):

    def audit(self, *argv):
        """(exit code, stdout, stderr) of one emuvirt-manage run."""
        out, err = io.StringIO(), io.StringIO()
        with fixtures.MonkeyPatch('sys.stdout', out), \
                fixtures.MonkeyPatch('sys.stderr', err):
            try:
                code = manage.main(['--config-file', self.conf_file,
                                    'placement', 'audit'] + list(argv))
            except SystemExit as e:
                code = e.code
        return (code, out.getvalue(),
                test_heal_allocations.PLACEMENT_LOG.sub('', err.getvalue()))

    def wrong_daemon(self):
        """This host's compute service on an empty daemon (a typo)."""
        uri = 'fake:///compute1-typo'
        self.connections[uri] = fakelibvirt.FakeConnection(uri, 'x86_64',
                                                           ())
        self.flags.config(group='libvirt', connection_uri=uri)
        drv = type(self.service.driver)(
            host=type(self.service.driver.host)(uri))
        from emuvirt.compute import manager
        return manager.ComputeManager(
            self.service.conf, driver=drv, reportclient=self.client,
            host=HOST, ledger=self.ledger)


class TestGuard(AuditTestCase):

    def test_wrong_daemon_releases_nothing_and_warns_once(self):
        created = {self.create('g%d' % i) for i in range(2)}
        before = self.holdings()
        wrong = self.wrong_daemon()
        for _ in range(3):
            self.assertTrue(wrong.update_available_resource())
            self.assertEqual((0, 0, 2), (wrong.reconciled.guests,
                                         wrong.reconciled.released,
                                         wrong.reconciled.orphans))
        self.assertEqual(created, self.allocated())
        self.assertEqual([], self.writes_of('DELETE'))
        for uuid in created:
            self.assertEqual(1, self.logs.output.count(
                'Allocations of %s on compute1 have no guest' % uuid))
        self.assertIn('emuvirt-manage placement audit', self.logs.output)
        # The right daemon again: every guest has its allocation.
        self.assertTrue(self.service.update_available_resource())
        self.assertEqual(before, self.holdings())

    def test_stale_claim_and_owed_release_still_released(self):
        stale, owed, orphan = (uuidutils.generate_uuid() for _ in range(3))
        self.dead_claim(stale)
        self.claimed(stale)
        self.claimed(owed)
        self.ledger.owed_release(owed)
        self.claimed(orphan)
        counts = self.cycle()
        self.assertEqual((2, 1), (counts.released, counts.orphans))
        self.assertEqual({orphan}, self.allocated())
        self.assertEqual((set(), set()), (self.ledger.claims(),
                                          self.ledger.owed_releases()))

    def writes_of(self, method):
        return [r for r in self.placement.requests if r[0] == method]


class TestAudit(AuditTestCase):

    def setUp(self):
        super().setUp()
        self.guest = self.create('g1')
        self.orphan = self.claimed()
        self.in_flight = self.claimed()
        self.ledger.begin_claim(self.in_flight)   # this process: alive
        self.owed = self.claimed()
        self.ledger.owed_release(self.owed)
        self.placement.reset_requests()

    def test_lists_orphans_only_and_releases_nothing(self):
        code, out, err = self.audit()
        self.assertEqual((3, ''), (code, err))
        self.assertEqual('%s MEMORY_MB=256\n' % self.orphan, out)
        self.assertEqual([], self.writes())
        code, out, err = self.audit('--verbose')
        self.assertEqual(3, code)
        self.assertIn('1 allocation(s) without a guest or ledger entry '
                      'found, 0 released\n', out)

    def test_delete_releases_them_then_nothing_found(self):
        code, out, err = self.audit('--delete')
        self.assertEqual((4, ''), (code, err))
        self.assertEqual('%s MEMORY_MB=256: released\n' % self.orphan, out)
        self.assertEqual({self.guest, self.in_flight, self.owed},
                         self.allocated())
        self.assertEqual({}, self.client.get_allocations(self.orphan))
        # Second run: nothing found, nothing written.
        self.placement.reset_requests()
        for argv in ((), ('--delete',)):
            self.assertEqual((0, '', ''), self.audit(*argv))
        self.assertEqual([], self.writes())

    def test_claim_begun_meanwhile_kept(self):
        # The create begins after the snapshots, before the release.
        real = self.ledger.claims
        calls = []

        def claims_late():
            calls.append(1)
            return real() | ({self.orphan} if len(calls) > 1 else set())

        self.ledger.claims = claims_late
        orphans = list(audit.audit(self.compute, delete=True))
        self.assertEqual([audit.KEPT], [o.status for o in orphans])
        self.assertIn(self.orphan, self.allocated())

    def test_placement_down(self):
        self.placement.stop()
        for argv in ((), ('--delete',), ('--verbose',)):
            code, out, err = self.audit(*argv)
            self.assertEqual((1, ''), (code, out))
            self.assertOneLine(err)
            self.assertTrue(err.startswith(
                'emuvirt-manage: error: Placement cannot be reached (see '
                '[placement]), nothing was released: '), err)

    def test_placement_not_configured(self):
        self.flags.config(group='placement', auth_type=None)
        code, out, err = self.audit()
        self.assertEqual((1, ''), (code, out))
        self.assertEqual('emuvirt-manage: error: Placement is not '
                         'configured: option [placement]auth_type is not '
                         'set\n', err)

    def test_provider_gone(self):
        self.placement.wipe()
        code, out, err = self.audit()
        self.assertEqual((1, ''), (code, out))
        self.assertOneLine(err)
        self.assertIn('[placement]', err)


class TestProviderUUID(AuditTestCase):

    def test_only_this_hosts_provider(self):
        other = self.add_host('compute2', 'x86_64')
        self.assertTrue(other.update_available_resource())
        elsewhere = uuidutils.generate_uuid()
        other.reportclient.claim(elsewhere, {'MEMORY_MB': 128})
        self.assertEqual((0, '', ''), self.audit('--delete'))
        self.assertIn(report.provider_uuid('compute2'),
                      self.client.get_allocations(elsewhere))

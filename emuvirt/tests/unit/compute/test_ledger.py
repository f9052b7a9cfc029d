"""Tests of the Placement ledger (real files, real processes)."""

import os
import subprocess
import sys

import fixtures
from oslo_config import fixture as config_fixture
from oslo_utils import uuidutils
import testtools

from emuvirt.compute import ledger as ledger_mod
from emuvirt import conf


class TestLedger(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.ledger = ledger_mod.Ledger(os.path.join(self.dir, 'ledger'))
        self.uuid = uuidutils.generate_uuid()

    def test_empty_before_first_write(self):
        self.assertEqual(set(), self.ledger.claims())
        self.assertEqual(set(), self.ledger.owed_releases())
        self.assertFalse(os.path.exists(self.ledger.path))

    def test_from_conf_lives_under_state_path(self):
        flags = self.useFixture(config_fixture.Config(conf.CONF))
        flags.config(state_path=self.dir)
        self.assertEqual(os.path.join(self.dir, 'placement-ledger'),
                         ledger_mod.Ledger.from_conf(conf.CONF).path)

    def test_claim_of_this_process_is_in_flight_until_ended(self):
        self.ledger.begin_claim(self.uuid)
        self.assertEqual({self.uuid}, self.ledger.claims_in_flight())
        self.assertEqual(set(), self.ledger.stale_claims())
        self.ledger.end_claim(self.uuid)
        self.assertEqual(set(), self.ledger.claims())
        self.assertEqual([], os.listdir(self.ledger.path))

    def test_claim_of_a_dead_process_is_stale(self):
        code = ('import sys; from emuvirt.compute import ledger; '
                'ledger.Ledger(sys.argv[1]).begin_claim(sys.argv[2])')
        subprocess.run([sys.executable, '-c', code, self.ledger.path,
                        self.uuid], check=True)
        self.assertEqual({self.uuid}, self.ledger.claims())
        self.assertEqual(set(), self.ledger.claims_in_flight())
        self.assertEqual({self.uuid}, self.ledger.stale_claims())

    def test_reused_pid_is_not_the_writer(self):
        # Same pid, other start time: the pid was reused.
        os.makedirs(self.ledger.path)
        with open(os.path.join(self.ledger.path, self.uuid + '.claim'),
                  'w') as f:
            f.write('%d 1\n' % os.getpid())
        self.assertEqual(set(), self.ledger.claims_in_flight())

    def test_unreadable_claim_is_not_in_flight(self):
        os.makedirs(self.ledger.path)
        with open(os.path.join(self.ledger.path, self.uuid + '.claim'),
                  'wb') as f:
            f.write(b'\xff\x00garbage')
        self.assertEqual(set(), self.ledger.claims_in_flight())
        self.assertEqual({self.uuid}, self.ledger.stale_claims())

    def test_owed_release_until_settled(self):
        self.ledger.begin_claim(self.uuid)
        self.ledger.owed_release(self.uuid)
        self.assertEqual({self.uuid}, self.ledger.owed_releases())
        self.ledger.settled(self.uuid)
        self.assertEqual(set(), self.ledger.owed_releases())
        self.assertEqual(set(), self.ledger.claims())
        self.ledger.settled(self.uuid)  # twice is fine

    def test_foreign_files_are_ignored(self):
        os.makedirs(self.ledger.path)
        for name in ('notes.claim', '.tmp-x', 'x.release'):
            open(os.path.join(self.ledger.path, name), 'w').close()
        self.assertEqual(set(), self.ledger.claims())
        self.assertEqual(set(), self.ledger.owed_releases())

    def test_a_non_uuid_is_refused_naming_it(self):
        e = self.assertRaises(ledger_mod.LedgerError,
                              self.ledger.owed_release, '../x')
        self.assertIn("'../x'", str(e))
        self.assertFalse(os.path.exists(self.ledger.path))

    def test_write_failure_is_a_ledger_error(self):
        open(self.ledger.path, 'w').close()  # a file where the dir goes
        e = self.assertRaises(ledger_mod.LedgerError,
                              self.ledger.begin_claim, self.uuid)
        self.assertIn(self.ledger.path, str(e))

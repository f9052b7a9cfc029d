"""Whatever stops ``emuvirt server create`` or ``delete``, nothing is lost.

Through :func:`emuvirt.cmd.emuvirt.main`, with the real Placement in
process and the fake libvirt: SIGINT and SIGTERM (real signals, sent to
this process) at each step of a create, libvirt lost during a create or a
delete, Placement down during a delete. After each: no domain, no
instance directory (disk, NVRAM), no allocation, an empty Placement ledger
(or exactly the entry the design promises), and one line on stderr.
"""

import functools
import os
import signal
import threading

import fixtures

from emuvirt.compute import api as compute_api
from emuvirt.compute import ledger as ledger_mod
from emuvirt import conf
from emuvirt.scheduler.client import report
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.functional import test_server_commands
from emuvirt.tests.functional import test_server_placement
from emuvirt.virt import emulation
from emuvirt.virt.libvirt import driver as libvirt_driver
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import instance_files

INTERRUPTED = 'emuvirt: interrupted: removed what server create had made\n'
TERMINATED = 'emuvirt: terminated: removed what server create had made\n'
SIGNALS = ((signal.SIGINT, 130, INTERRUPTED),
           (signal.SIGTERM, 143, TERMINATED))


class LifecycleTestCase(test_server_placement.ClaimsTestCase):

    def setUp(self):
        super().setUp()
        self.config_text = ('[libvirt]\nreconnect_timeout = 5\n')
        self.useFixture(fixtures.MockPatchObject(
            libvirt_driver, 'RECONNECT_INTERVAL', 0.05))

    @property
    def ledger(self):
        return ledger_mod.Ledger(os.path.join(self.state_dir,
                                              ledger_mod.DIR_NAME))

    def signal_in(self, obj, method, signum, before=False):
        """``method`` gets ``signum`` after (or before) it ran."""
        real = getattr(obj, method)

        def signalled(*args, **kwargs):
            if before:
                os.kill(os.getpid(), signum)
            result = real(*args, **kwargs)
            if not before:
                os.kill(os.getpid(), signum)
            return result
        return fixtures.MockPatchObject(obj, method, autospec=True,
                                        side_effect=signalled)

    def assertNothingLeft(self):
        super().assertNothingLeft()
        self.assertEqual({'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0},
                         self.usages())
        self.assertEqual((set(), set()), (self.ledger.claims(),
                                          self.ledger.owed_releases()))

    def create_args(self, name='g1'):
        # A UEFI guest: libvirt makes its NVRAM in the instance directory.
        return ('create', name, '--property',
                'hw_emulation_architecture=aarch64')


class TestInterruptedCreate(LifecycleTestCase):

    def check(self, obj, method, before=False):
        for signum, status, line in SIGNALS:
            with self.signal_in(obj, method, signum, before):
                got, out, err = self.run_cmd(*self.create_args())
            self.assertEqual((status, '', line), (got, out, err),
                             '%s %s' % (method, signum))
            self.assertNothingLeft()

    def test_after_claim(self):
        self.check(report.ReportClient, 'claim')

    def test_during_claim(self):
        """The claim is sent whole; its allocation is then released."""
        self.check(report.ReportClient, 'claim', before=True)
        allocations = [(m, status) for m, path, status
                       in self.placement.requests if '/allocations/' in path]
        # Each create: the claim answered, then the release.
        self.assertEqual([('PUT', 204), ('DELETE', 204)] * 2, allocations)

    def test_during_ledger_entry(self):
        self.check(ledger_mod.Ledger, 'begin_claim')

    def test_during_directory(self):
        self.check(instance_files, 'create_dir')

    def test_during_define(self):
        self.check(fakelibvirt.FakeConnection, 'defineXML')

    def test_during_start(self):
        self.check(fakelibvirt.FakeDomain, 'createWithFlags')

    def test_after_spawn(self):
        """The guest runs, its create has not said so: all of it goes."""
        self.check(emulation.EmuVirtDriver, 'spawn')

    def test_while_finishing(self):
        """Once spawn returned, a create finishes first and then stops."""
        for signum, status, word in ((signal.SIGINT, 130, 'interrupted'),
                                     (signal.SIGTERM, 143, 'terminated')):
            with self.signal_in(ledger_mod.Ledger, 'end_claim', signum,
                                before=True):
                got, out, err = self.run_cmd(*self.create_args())
            self.assertEqual((status, 'emuvirt: %s: server create finished '
                                      'first: g1 is created\n' % word),
                             (got, err))
            self.assertGuest(out)
            self.ok('delete', 'g1')
            self.assertNothingLeft()

    def test_after_create(self):
        """Once the create has said so, the guest is kept."""
        for signum, status, word in ((signal.SIGINT, 130, 'interrupted'),
                                     (signal.SIGTERM, 143, 'terminated')):
            with self.signal_in(compute_api.ComputeAPI, 'create', signum):
                got, out, err = self.run_cmd(*self.create_args())
            self.assertEqual((status, 'emuvirt: %s\n' % word), (got, err))
            self.assertGuest(out)
            self.ok('delete', 'g1')
            self.assertNothingLeft()

    def assertGuest(self, out):
        """The whole guest g1, which the create said it made."""
        self.assertTrue(out.startswith('created g1: '), out)
        self.assertEqual(1, out.count('\n'), out)
        self.assertTrue(self.domain().isActive())
        self.assertEqual([self.domain().UUIDString()],
                         os.listdir(self.instances))
        self.assertEqual(1, self.usages()['VCPU'])
        self.assertEqual((set(), set()), (self.ledger.claims(),
                                          self.ledger.owed_releases()))

    def test_at_every_step(self):
        """SIGTERM before and after each step of a create.

        The steps: each libvirt call, the ledger entry, the claim, the
        instance directory, spawn, ComputeAPI.create. Each time: nothing
        is left and the create said nothing on stdout, or it said it
        created the guest, which is whole.
        """
        calls = []
        trap = {}

        def traced(name, func):
            @functools.wraps(func)
            def call(*args, **kwargs):
                calls.append(name)
                here = trap.get('at') == len(calls)
                if here and trap['before']:
                    os.kill(os.getpid(), signal.SIGTERM)
                try:
                    return func(*args, **kwargs)
                finally:
                    # Also after a call that fails (no such domain).
                    if here and not trap['before']:
                        os.kill(os.getpid(), signal.SIGTERM)
            return call

        steps = [(cls, name)
                 for cls in (fakelibvirt.FakeConnection,
                             fakelibvirt.FakeDomain)
                 for name, func in vars(cls).items()
                 if not name.startswith('_') and callable(func)]
        steps += [(ledger_mod.Ledger, 'begin_claim'),
                  (ledger_mod.Ledger, 'end_claim'),
                  (report.ReportClient, 'claim'),
                  (instance_files, 'create_dir'),
                  (libvirt_driver.LibvirtDriver, 'spawn'),
                  (compute_api.ComputeAPI, 'create')]
        for obj, name in steps:
            self.useFixture(fixtures.MockPatchObject(
                obj, name, traced(name, getattr(obj, name))))
        self.ok(*self.create_args())
        made = list(calls)
        self.assertIn('createWithFlags', made)
        self.ok('delete', 'g1')
        for at in range(1, len(made) + 1):
            for before in (True, False):
                point = '%s call %d (%s)' % (
                    'before' if before else 'after', at, made[at - 1])
                del calls[:]
                trap.update(at=at, before=before)
                got, out, err = self.run_cmd(*self.create_args())
                trap.clear()
                self.assertEqual(143, got, '%s: %s' % (point, out))
                self.assertEqual(1, err.count('\n'), '%s: %s' % (point, err))
                self.assertTrue(err.startswith('emuvirt: terminated'),
                                '%s: %s' % (point, err))
                try:
                    if out:
                        self.assertGuest(out)
                        self.ok('delete', 'g1')
                    self.assertNothingLeft()
                except AssertionError as e:
                    self.fail('%s: %s' % (point, e))

    def test_before_claim(self):
        for signum, status, word in ((signal.SIGINT, 130, 'interrupted'),
                                     (signal.SIGTERM, 143, 'terminated')):
            with self.signal_in(emulation.EmuVirtDriver, 'plan_guest',
                                signum):
                got, out, err = self.run_cmd(*self.create_args())
            self.assertEqual((status, '', 'emuvirt: %s\n' % word),
                             (got, out, err))
            self.assertNothingLeft()
        self.assertEqual([], [r for r in self.placement.requests
                              if '/allocations/' in r[1]])

    def test_second_signal_during_cleanup(self):
        undefine = fakelibvirt.FakeDomain.undefineFlags

        def again(dom, flags=0):
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
            return undefine(dom, flags)
        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, 'undefineFlags', autospec=True,
            side_effect=again))
        with self.signal_in(fakelibvirt.FakeDomain, 'createWithFlags',
                            signal.SIGINT):
            self.assertEqual((130, '', INTERRUPTED),
                             self.run_cmd(*self.create_args()))
        self.assertNothingLeft()

    def test_interrupted_wait_keeps_the_guest(self):
        self.useFixture(fixtures.MockPatchObject(
            compute_api.ComputeAPI, 'wait', side_effect=KeyboardInterrupt))
        status, out, err = self.run_cmd(*self.create_args() + ('--wait',))
        self.assertEqual((130, 'emuvirt: interrupted\n'), (status, err))
        self.assertTrue(out.startswith('created g1: '), out)
        self.assertEqual(['g1'], [d.name() for d in
                                  self.conn.listAllDomains()])
        self.assertEqual(set(), self.ledger.claims())


class TestInterruptedCreateNoPlacement(test_server_commands.ServerTestCase):

    def test_after_spawn(self):
        """Without Placement too, a guest spawn just made goes."""
        for signum, status, line in SIGNALS:
            with fixtures.MockPatchObject(
                    emulation.EmuVirtDriver, 'spawn', autospec=True,
                    side_effect=self.signal_after(
                        emulation.EmuVirtDriver.spawn, signum)):
                got, out, err = self.run_cmd(
                    'create', 'g1', '--property',
                    'hw_emulation_architecture=aarch64')
            self.assertEqual((status, '', line), (got, out, err))
            self.assertNothingLeft()

    @staticmethod
    def signal_after(real, signum):
        def signalled(*args, **kwargs):
            try:
                return real(*args, **kwargs)
            finally:
                os.kill(os.getpid(), signum)
        return signalled


class TestLibvirtLost(LifecycleTestCase):

    def die_during(self, obj, method, back_after=None, after=True):
        """The daemon dies in the first call (after it took effect)."""
        real = getattr(obj, method)
        died = []

        def dying(*args, **kwargs):
            if died:
                return real(*args, **kwargs)
            died.append(True)
            if after:
                real(*args, **kwargs)
            self.fake.kill_daemon()
            if back_after is not None:
                timer = threading.Timer(back_after, self.fake.restart_daemon)
                timer.start()
                self.addCleanup(timer.cancel)
            raise fakelibvirt.daemon_gone_error()
        self.useFixture(fixtures.MockPatchObject(
            obj, method, autospec=True, side_effect=dying))

    def test_during_start_daemon_back(self):
        self.die_during(fakelibvirt.FakeDomain, 'createWithFlags',
                        back_after=0.3)
        err = self.refused(*self.create_args())
        self.assertIn('Connection to libvirt lost while trying to start '
                      'instance g1', err)
        self.assertNothingLeft()

    def test_during_define_daemon_back(self):
        self.die_during(fakelibvirt.FakeConnection, 'defineXML',
                        back_after=0.3)
        err = self.refused(*self.create_args())
        self.assertIn('Could not define instance g1', err)
        self.assertNothingLeft()

    def test_daemon_stays_away(self):
        """The claim entry stays: the compute service removes the domain.

        Once the create's process is gone, its entry is a stale claim, and
        ComputeAPI.remove_abandoned() (run by the compute service) removes
        the domain the daemon kept.
        """
        self.config_text = '[libvirt]\nreconnect_timeout = 0\n'
        self.die_during(fakelibvirt.FakeDomain, 'createWithFlags')
        status, out, err = self.run_cmd(*self.create_args())
        self.assertEqual((1, ''), (status, out))
        self.assertTrue(err.endswith(
            'emuvirt: error: Connection to libvirt lost while trying to '
            'start instance g1: End of file while reading data: '
            'Input/output error\n'), err)
        self.fake.restart_daemon()
        [dom] = self.conn.listAllDomains()
        uuid = dom.UUIDString()
        # Released already; the entry says "never finished".
        self.assertEqual({'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0},
                         self.usages())
        self.assertEqual(({uuid}, set()), (self.ledger.claims(),
                                           self.ledger.owed_releases()))
        self.assertFalse(os.path.exists(os.path.join(self.instances, uuid)))
        # This process wrote it and lives: in flight, not abandoned yet.
        api = self.service_api()
        self.assertEqual([], api.remove_abandoned())
        self.useFixture(fixtures.MockPatch(
            'emuvirt.compute.ledger._process_start', return_value=None))
        self.assertEqual([uuid], api.remove_abandoned())
        self.assertEqual([], self.conn.listAllDomains())

    def service_api(self):
        conf.CONF.set_override('state_path', self.state_dir)
        return compute_api.ComputeAPI(
            conf.CONF, driver=emulation.EmuVirtDriver(host=vhost.Host()),
            reportclient=None)

    def test_delete_through_a_daemon_restart(self):
        self.ok(*self.create_args())
        self.die_during(fakelibvirt.FakeDomain, 'undefineFlags',
                        back_after=0.3)
        self.assertEqual(('deleted g1; released its resources\n', ''),
                         self.ok('delete', 'g1'))
        self.assertNothingLeft()

    def test_delete_daemon_stays_away(self):
        self.config_text = '[libvirt]\nreconnect_timeout = 0\n'
        self.ok(*self.create_args())
        self.die_during(fakelibvirt.FakeDomain, 'destroyFlags', after=False)
        err = self.refused('delete', 'g1')
        self.assertIn('Connection to libvirt lost while trying to destroy '
                      'instance g1', err)
        self.fake.restart_daemon()
        # Nothing half-done: the guest, its files and its claim stay.
        self.assertEqual(['g1'], [d.name() for d in
                                  self.conn.listAllDomains()])
        self.assertEqual(1, len(os.listdir(self.instances)))
        self.assertEqual(1, self.usages()['VCPU'])
        self.ok('delete', 'g1')
        self.assertNothingLeft()


class TestDelete(LifecycleTestCase):

    def test_placement_down_owes_the_release(self):
        self.ok(*self.create_args())
        uuid = self.domain().UUIDString()
        self.placement.stop()
        self.assertEqual(
            ('deleted g1; Placement did not take the release of its '
             'resources, emuvirt-compute will send it\n', ''),
            self.ok('delete', 'g1'))
        self.placement.start()
        self.assertEqual([], self.conn.listAllDomains())
        self.assertEqual(1, self.usages()['VCPU'])
        self.assertEqual((set(), {uuid}), (self.ledger.claims(),
                                           self.ledger.owed_releases()))

    def test_interrupted_delete_finishes_first(self):
        self.ok(*self.create_args())
        for signum, status, word in ((signal.SIGINT, 130, 'interrupted'),
                                     (signal.SIGTERM, 143, 'terminated')):
            if signum == signal.SIGTERM:
                self.ok(*self.create_args())
            with self.signal_in(fakelibvirt.FakeDomain, 'destroyFlags',
                                signum):
                self.assertEqual(
                    (status, '', 'emuvirt: %s: server delete finished '
                                 'first: g1 is deleted\n' % word),
                    self.run_cmd('delete', 'g1'))
            self.assertNothingLeft()

    def test_create_failure_with_placement_down_owes_the_release(self):
        """Placement goes away during spawn: the claim stays owed."""
        def start(dom, flags=0):
            self.placement.stop()
            raise fakelibvirt.make_error(1, 'internal error: qemu died')
        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, 'createWithFlags', autospec=True,
            side_effect=start))
        err = self.refused(*self.create_args())
        self.assertIn('Could not start instance g1: internal error: qemu '
                      'died', err)
        self.placement.start()
        self.assertEqual(1, self.usages()['VCPU'])
        [uuid] = self.ledger.owed_releases()
        self.assertEqual(set(), self.ledger.claims())
        self.assertEqual([], self.conn.listAllDomains())
        self.assertEqual([], os.listdir(self.instances))

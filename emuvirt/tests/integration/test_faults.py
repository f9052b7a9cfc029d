"""Faults on the real daemon and the real Placement: nothing lost.

Commands run as a user runs them, each in its own process with a config
file naming the private daemon and a real Placement (a process of its own,
see :mod:`emuvirt.tests.integration.faults`).  Faults land at seeded
random points of their runs:

* SIGINT and SIGTERM during ``emuvirt server create`` and ``server
  delete``;
* libvirtd killed (SIGKILL, then started again at once, as a supervisor
  does) during create and delete;
* Placement killed during create and delete, and brought back with its
  database or empty (redeployed); down for a whole delete; killed and
  brought back, empty or not, under a running ``emuvirt-compute``;
* guests whose emuvirt record in the domain metadata is damaged.

After each fault: what a command said it did is true; a command that
failed or was interrupted leaves no domain, QEMU process, instance
directory or NVRAM file, and never prints a traceback: an interrupted one
prints one line on stderr, one that lost libvirtd or Placement ends with
its one-line error (warnings it logged while it retried may come first);
an interrupted delete leaves either nothing or a guest that ``server
delete`` removes; no guest comes back when libvirtd starts again; after
one ``emuvirt-compute --once`` cycle (which releases what the Placement
ledger accounts for, when its consumer has no guest on this host) no
allocation is left without a guest, and the cycle succeeds with the
provider's inventory and traits in Placement again.

The points come from ``EMUVIRT_FAULT_SEED`` (random when unset; every
failure names the seed, the scenario and the point) and their number per
scenario from ``EMUVIRT_FAULT_POINTS`` (default 3); with
``EMUVIRT_FAULT_LOG=FILE`` every test appends its points and what came of
them to FILE.  A point is a time
after the command started (from twice the time Python takes to start and
import ``emuvirt.cmd``, at least 0.15 s: before that no emuvirt code runs
that could handle a signal), or a moment seen from outside plus a random
delay: a request reaching Placement (made slow so
that the fault lands while it is in flight), the instance directory or
the domain appearing, stopping or going.

The tests that kill libvirtd hold the daemon lock of
:class:`~emuvirt.tests.integration.base.IntegrationTestCase` exclusively,
so no other integration test runs on the daemon meanwhile; they need the
private daemon of ``tools/emuvirt-host`` (its pid file tells which
process to kill).
"""

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid as uuid_lib

from lxml import etree
from testtools import content

from emuvirt.scheduler.client import report
from emuvirt.tests.integration import base
from emuvirt.tests.integration import faults

SEED = int(os.environ.get('EMUVIRT_FAULT_SEED') or
           random.SystemRandom().randrange(1 << 32))
POINTS = max(1, int(os.environ.get('EMUVIRT_FAULT_POINTS') or 3))

ARCH = 'aarch64'
# No kernel: the guest boots its UEFI firmware, so it has an NVRAM file.
CREATE_ARGS = ('--property', 'hw_emulation_architecture=%s' % ARCH,
               '--flavor', 'vcpus=1,ram=256')
ARCH_TRAIT = 'COMPUTE_ARCH_AARCH64'
# Time points start no earlier than this (seconds after the command was
# started), nor before twice the time Python takes to start and import
# emuvirt.cmd: before that no emuvirt code runs that could handle a
# signal.
EARLIEST = 0.15
# 'early' points: this many seconds from the earliest time point on.
STARTING = 0.3
# A slow request waits this long in Placement before it is handled.
SLOW = 0.3
# Seconds a running compute (one cycle a second) gets to notice what
# changed in Placement.
REPORT_TIMEOUT = 15

# A warning an emuvirt command writes on stderr (one plain line).
_WARNING_LINE = re.compile(r'^emuvirt[-a-z]*: WARNING: ')

# Where emuvirt's code is (its frames in a traceback).
_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

RECORD_NS = 'http://emuvirt.dev/xmlns/instance/1.0'

# Seconds a plain create and delete took in this process (time points).
_durations = {}


class FaultTestCase(base.IntegrationTestCase):

    def setUp(self):
        super().setUp()
        self.require_emulator(ARCH)
        bindir = os.path.dirname(sys.executable)
        self.commands = {}
        for name in ('emuvirt', 'emuvirt-compute', 'emuvirt-manage',
                     'emuvirt-status'):
            path = os.path.join(bindir, name)
            if not os.path.exists(path):
                self.require_missing('the %s command (%s)' % (name, path))
            self.commands[name] = path
        self.rng = random.Random('%d %s' % (SEED, self.id()))
        self.points = []
        self.addDetail('fault-seed', content.text_content(
            'EMUVIRT_FAULT_SEED=%d EMUVIRT_FAULT_POINTS=%d'
            % (SEED, POINTS)))
        self.addDetail('fault-points', content.Content(
            content.UTF8_TEXT,
            lambda: ['\n'.join(self.points).encode() + b'\n']))
        self.where = 'seed %d' % SEED
        if os.environ.get('EMUVIRT_FAULT_LOG'):
            self.addCleanup(self._log_points, os.environ['EMUVIRT_FAULT_LOG'])

        self.instances = os.path.join(self.tmpdir, 'instances')
        os.makedirs(self.instances)
        self.host_name = 'emuvirt-it-faults-%s' % uuid_lib.uuid4().hex[:8]
        self.rp = report.provider_uuid(self.host_name)
        self.names = []
        # UUIDs of guests that are meant to exist meanwhile.
        self.keep = set()
        self.addCleanup(self._remove_guests)
        try:
            self.nvram_dir = faults.PrivateDaemon(self.uri).nvram_dir
        except base.Missing:
            self.nvram_dir = None

        self.placement = faults.PlacementProcess(
            os.path.join(self.tmpdir, 'placement'))
        try:
            self.placement.start()
        except base.Missing as e:
            self.require_missing(str(e))
        self.addCleanup(self.placement.kill)
        self.attach_file('placement-log', self.placement.log)
        self.conf_file = os.path.join(self.tmpdir, 'emuvirt.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[DEFAULT]\nhost = %s\nstate_path = %s\n'
                    '[libvirt]\nconnection_uri = %s\ninstances_path = %s\n'
                    '[compute]\nprovider_update_interval = 1\n%s'
                    % (self.host_name, os.path.join(self.tmpdir, 'state'),
                       self.uri, self.instances,
                       self.placement.conf_text()))
        # The provider claims are made on.
        self.compute_once()

    def _log_points(self, path):
        with open(path, 'a') as f:
            f.write(''.join('%s: %s\n' % (self.id().rpartition('.')[2], p)
                            for p in self.points))

    def attach_file(self, name, path, lines=200):
        """At the end of the test, the end of file ``path`` as a detail."""
        def attach():
            try:
                with open(path, errors='replace') as f:
                    text = ''.join(f.readlines()[-lines:])
            except OSError as e:
                text = str(e)
            self.addDetail(name, content.text_content(text))
        self.addCleanup(attach)

    def _remove_guests(self):
        for name in self.names:
            self.remove_domain(name)

    def new_name(self):
        name = self.domain_name('fault')
        self.names.append(name)
        return name

    def point(self, scenario, i, what):
        """Record a fault point; assertion messages name it."""
        self.where = 'seed %d, %s, point %d: %s' % (SEED, scenario, i, what)
        self.points.append(self.where)

    def reconnect(self):
        """A new connection (the daemon was restarted)."""
        try:
            self.conn.close()
        except self.libvirt.libvirtError:
            pass
        self.conn = self.libvirt.open(self.uri)

    # -- commands -------------------------------------------------------------

    def argv(self, command, *args):
        return [self.commands[command], '--config-file', self.conf_file
                ] + list(args)

    def run_cmd(self, command, *args, timeout=300):
        proc = subprocess.run(self.argv(command, *args),
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)
        return proc.returncode, proc.stdout, proc.stderr

    def emuvirt(self, *args):
        return self.run_cmd('emuvirt', *args)

    def create_argv(self, name):
        return self.argv('emuvirt', 'server', 'create', name, *CREATE_ARGS)

    def create(self, name):
        """A plain create; returns the guest's UUID."""
        t0 = time.monotonic()
        code, out, err = self.emuvirt('server', 'create', name, *CREATE_ARGS)
        _durations.setdefault('create', time.monotonic() - t0)
        self.assertEqual(0, code, '%s: create %s: %s%s'
                         % (self.where, name, out, err))
        return self.assertComplete(name)

    def delete(self, name):
        t0 = time.monotonic()
        code, out, err = self.emuvirt('server', 'delete', name)
        _durations.setdefault('delete', time.monotonic() - t0)
        self.assertEqual(0, code, '%s: delete %s: %s%s'
                         % (self.where, name, out, err))
        self.assertStderr(err, 'delete')

    def compute_once(self):
        """One ``emuvirt-compute --once`` cycle: it must succeed."""
        code, out, err = self.run_cmd('emuvirt-compute', '--once')
        self.assertEqual(0, code, '%s: emuvirt-compute --once failed:\n%s%s'
                         % (self.where, out, err))
        self.assertReports()
        return out + err

    # -- assertions -----------------------------------------------------------

    def assertStderr(self, err, what, failed=False, strict=True):
        """No traceback, and at most one line: the error if it failed.

        With ``strict`` (an interrupted command, a plain one) that line is
        all of stderr; otherwise (libvirtd or Placement went away) the
        command may log warnings first, about what it is retrying.
        """
        if 'Traceback' in err and not _in_emuvirt(err):
            # The signal came while Python itself started, before any
            # emuvirt code ran: nothing emuvirt could do.
            self.points.append('%s: %s: the signal came during Python\'s '
                               'start-up' % (self.where, what))
            return
        self.assertNotIn('Traceback', err, '%s: %s' % (self.where, what))
        lines = err.strip().splitlines()
        own = [line for line in lines
               if strict or not _WARNING_LINE.match(line)]
        self.assertLessEqual(len(own), 1, '%s: %s printed more than one '
                             'line on stderr:\n%s' % (self.where, what, err))
        if failed:
            self.assertEqual(1, len(own), '%s: %s failed without a message '
                             'on stderr' % (self.where, what))
            self.assertEqual(lines[-1], own[0], '%s: %s: the error is not '
                             'the last line:\n%s' % (self.where, what, err))
            self.assertTrue(own[0].startswith('emuvirt'), '%s: %s: %r'
                            % (self.where, what, err))

    def leftovers(self, name):
        """What exists of guest ``name``: domain, files, processes."""
        left = []
        try:
            dom = self.conn.lookupByName(name)
            left.append('domain %s (%s, %s)' % (
                name, dom.UUIDString(),
                'running' if dom.isActive() else 'shut off'))
        except self.libvirt.libvirtError:
            pass
        left += ['instance directory %s (holding %s)' % (
            d, ', '.join(sorted(os.listdir(os.path.join(self.instances, d))))
            or 'nothing') for d in sorted(os.listdir(self.instances))
            if d not in self.keep]
        if self.nvram_dir and os.path.isdir(self.nvram_dir):
            left += ['NVRAM file %s' % os.path.join(self.nvram_dir, f)
                     for f in sorted(os.listdir(self.nvram_dir))
                     if f.startswith(name + '_')]
        left += ['QEMU process %d of %s' % (pid, name)
                 for pid in faults.qemu_processes(name)]
        return left

    def assertNothingLeft(self, name, after):
        self.assertEqual([], self.leftovers(name), '%s: left behind after '
                         '%s' % (self.where, after))

    def assertNoAllocationAfterACycle(self):
        """One compute cycle; then no allocation on any provider.

        The cycle releases what the Placement ledger accounts for when
        its consumer has no guest on this host: a claim a killed command
        could not release, a release a delete could not make. Every fault
        here must leave such an entry, or no allocation at all.
        """
        self.compute_once()
        self.assertEqual(
            {}, self.placement.all_allocations(),
            '%s: allocations left after one emuvirt-compute --once cycle '
            '(which releases what the Placement ledger accounts for, when '
            'its consumer has no guest on this host); guests: %s'
            % (self.where, self.names))

    def assertReports(self):
        """The provider is in Placement with its inventory and traits."""
        found = self.placement.provider(self.rp)
        self.assertIsNotNone(found, '%s: provider %s (%s) is not in '
                             'Placement' % (self.where, self.host_name,
                                            self.rp))
        inventory, traits = found
        for rc in ('VCPU', 'MEMORY_MB'):
            self.assertGreater(inventory.get(rc, 0), 0, '%s: inventory %s'
                               % (self.where, inventory))
        self.assertIn(ARCH_TRAIT, traits, self.where)

    def assertComplete(self, name, allocation=True):
        """The guest is whole: running domain, directory, allocation."""
        try:
            dom = self.conn.lookupByName(name)
        except self.libvirt.libvirtError:
            self.fail('%s: guest %s has no domain' % (self.where, name))
        uuid = dom.UUIDString()
        self.assertTrue(dom.isActive(), '%s: %s is not running'
                        % (self.where, name))
        self.assertTrue(os.path.isdir(os.path.join(self.instances, uuid)),
                        '%s: %s has no instance directory'
                        % (self.where, name))
        if allocation:
            self.assertIn(self.rp, self.placement.consumer_allocations(uuid),
                          '%s: %s has no allocation' % (self.where, name))
        return uuid

    # -- after a fault --------------------------------------------------------

    def check_create(self, name, result, what, allocation=True,
                     strict=True):
        """After a create hit by a fault: all of the guest, or nothing.

        A create that succeeded (or said it did) made the whole guest;
        then it is deleted.  Either way nothing is left in the end.
        ``strict``: see assertStderr.
        """
        code, out, err, fired = result
        self.points[-1] += ' (%s, exit %s)' % (
            'fired' if fired else 'came after the command ended', code)
        if code == 0 or 'created %s' % name in out:
            self.assertStderr(err, what, strict=strict)
            self.assertComplete(name, allocation=allocation)
            self.delete(name)
        else:
            self.assertStderr(err, what, failed=True, strict=strict)
        self.assertNothingLeft(name, what)
        self.assertNoAllocationAfterACycle()

    def check_delete(self, name, result, what, strict=True):
        """After a delete hit by a fault: nothing, or a guest to delete."""
        code, out, err, fired = result
        self.points[-1] += ' (%s, exit %s)' % (
            'fired' if fired else 'came after the command ended', code)
        if code == 0:
            self.assertStderr(err, what, strict=strict)
        else:
            self.assertStderr(err, what, failed=True, strict=strict)
            if self.domain_exists(name):
                # Interrupted before the domain went: the guest is still
                # there, and a delete removes it.
                self.delete(name)
        self.assertNothingLeft(name, what)
        self.assertNoAllocationAfterACycle()

    # -- points ---------------------------------------------------------------

    def pick(self, choices):
        """POINTS of ``choices``, each kind once before any repeats."""
        order = list(choices)
        self.rng.shuffle(order)
        return [order[i % len(order)] for i in range(POINTS)]

    def create_trigger(self, kind, name):
        """(Trigger, slow request or None) for a point of a create."""
        jitter = self.rng.uniform
        if kind == 'time':
            return faults.Trigger('time', self.rng.uniform(
                _durations['earliest'], _durations['create'])), None
        if kind == 'early':
            # While the command is still starting (importing).
            return faults.Trigger('time', _durations['earliest'] + jitter(
                0, STARTING)), None
        if kind == 'claim':
            # The fault lands while Placement holds the claim.
            return (faults.Trigger('request', 'PUT /allocations/',
                                   jitter(0, SLOW)),
                    ('PUT', '/allocations/'))
        if kind == 'dir':
            return faults.Trigger('dir', None, jitter(0, 0.05)), None
        return faults.Trigger(kind, name, jitter(0, 0.05)), None

    def delete_trigger(self, kind, name):
        jitter = self.rng.uniform
        if kind == 'time':
            return faults.Trigger('time', self.rng.uniform(
                _durations['earliest'], _durations['delete'])), None
        if kind == 'early':
            return faults.Trigger('time', _durations['earliest'] + jitter(
                0, STARTING)), None
        if kind == 'release':
            return (faults.Trigger('request', 'DELETE /allocations/',
                                   jitter(0, SLOW)),
                    ('DELETE', '/allocations/'))
        if kind == 'dir-gone':
            return faults.Trigger('dir-gone', None, jitter(0, 0.05)), None
        return faults.Trigger(kind, name, jitter(0, 0.1)), None

    def calibrate(self):
        """Time one plain create and delete (the range of time points)."""
        if 'earliest' not in _durations:
            t0 = time.monotonic()
            subprocess.run([sys.executable, '-c', 'import emuvirt.cmd'],
                           check=True)
            _durations['earliest'] = max(EARLIEST,
                                         2 * (time.monotonic() - t0))
        if 'create' not in _durations or 'delete' not in _durations:
            name = self.new_name()
            self.where = 'seed %d, a plain create and delete' % SEED
            self.create(name)
            self.delete(name)
            self.assertNothingLeft(name, 'a plain delete')
        self.addDetail('durations', content.text_content(
            'time points from %(earliest).2f s; a plain create took '
            '%(create).2f s, a delete %(delete).2f s' % _durations))

    def faulted(self, argv, trigger, slow, fault):
        if slow:
            self.placement.slow(*slow, seconds=SLOW)
        try:
            return faults.run_with_fault(self, argv, trigger, fault)
        finally:
            if slow:
                self.placement.slow()


class TestSignals(FaultTestCase):
    """SIGINT (Ctrl-C) and SIGTERM at random points of create, delete."""

    CREATE_POINTS = ('early', 'time', 'claim', 'dir', 'defined', 'active')
    DELETE_POINTS = ('early', 'time', 'inactive', 'undefined', 'dir-gone',
                     'release')

    def interrupt_create(self, signum):
        self.calibrate()
        for i, kind in enumerate(self.pick(self.CREATE_POINTS)):
            name = self.new_name()
            trigger, slow = self.create_trigger(kind, name)
            self.point('%s during create' % signum.name, i, trigger)
            result = self.faulted(self.create_argv(name), trigger, slow,
                                  lambda proc: proc.send_signal(signum))
            self.check_create(name, result, 'create with %s' % signum.name)

    def interrupt_delete(self, signum):
        self.calibrate()
        for i, kind in enumerate(self.pick(self.DELETE_POINTS)):
            name = self.new_name()
            self.create(name)
            trigger, slow = self.delete_trigger(kind, name)
            self.point('%s during delete' % signum.name, i, trigger)
            result = self.faulted(
                self.argv('emuvirt', 'server', 'delete', name), trigger,
                slow, lambda proc: proc.send_signal(signum))
            self.check_delete(name, result, 'delete with %s' % signum.name)

    def test_sigint_during_create(self):
        self.interrupt_create(signal.SIGINT)

    def test_sigterm_during_create(self):
        self.interrupt_create(signal.SIGTERM)

    def test_sigint_during_delete(self):
        self.interrupt_delete(signal.SIGINT)

    def test_sigterm_during_delete(self):
        self.interrupt_delete(signal.SIGTERM)


class TestLibvirtdKilled(FaultTestCase):
    """libvirtd killed mid-way, and started again at once."""

    # No other integration test runs while the daemon is killed.
    DAEMON_LOCK = base.fcntl.LOCK_EX

    CREATE_POINTS = ('time', 'claim', 'dir', 'defined')
    DELETE_POINTS = ('time', 'inactive', 'undefined', 'release')

    def setUp(self):
        super().setUp()
        try:
            self.daemon = faults.PrivateDaemon(self.uri)
        except base.Missing as e:
            self.require_missing(str(e))
        self.addCleanup(self._daemon_up)

    def _daemon_up(self):
        if self.daemon.pid() is None:
            self.daemon.start()
        self.reconnect()

    def kill_daemon(self, proc):
        self.daemon.kill()
        self.daemon.start()

    def test_killed_during_create(self):
        self.calibrate()
        for i, kind in enumerate(self.pick(self.CREATE_POINTS)):
            name = self.new_name()
            trigger, slow = self.create_trigger(kind, name)
            if kind == 'claim':
                # Right after the claim: the spawn is under way.
                slow = None
            self.point('libvirtd killed during create', i, trigger)
            result = self.faulted(self.create_argv(name), trigger, slow,
                                  self.kill_daemon)
            self.reconnect()
            self.check_create(name, result, 'create with libvirtd killed',
                              strict=False)
        self.assertNothingComesBack()

    def test_killed_during_delete(self):
        self.calibrate()
        for i, kind in enumerate(self.pick(self.DELETE_POINTS)):
            name = self.new_name()
            self.create(name)
            trigger, slow = self.delete_trigger(kind, name)
            self.point('libvirtd killed during delete', i, trigger)
            result = self.faulted(
                self.argv('emuvirt', 'server', 'delete', name), trigger,
                slow, self.kill_daemon)
            self.reconnect()
            self.check_delete(name, result, 'delete with libvirtd killed',
                              strict=False)
        self.assertNothingComesBack()

    def assertNothingComesBack(self):
        """No guest comes back when the daemon starts again."""
        self.point('libvirtd killed', POINTS, 'once more, after the others')
        self.daemon.kill()
        self.daemon.start()
        self.reconnect()
        for name in self.names:
            self.assertNothingLeft(name, 'libvirtd started again')


class TestPlacementDown(FaultTestCase):
    """Placement killed mid-way; back with its database, or empty."""

    CREATE_POINTS = ('time', 'claim', 'dir', 'defined')
    DELETE_POINTS = ('time', 'inactive', 'undefined', 'release')

    def wipes(self):
        """Per point: back empty (redeployed) or with its database."""
        wipes = [i % 2 == 0 for i in range(POINTS)]
        self.rng.shuffle(wipes)
        return wipes

    def test_killed_during_create(self):
        self.calibrate()
        for i, (kind, wipe) in enumerate(zip(
                self.pick(self.CREATE_POINTS), self.wipes())):
            name = self.new_name()
            trigger, slow = self.create_trigger(kind, name)
            self.point('Placement killed during create, back %s' % (
                'empty' if wipe else 'with its data'), i, trigger)
            result = self.faulted(self.create_argv(name), trigger, slow,
                                  lambda proc: self.placement.kill())
            self.placement.kill()
            self.placement.start(wipe=wipe)
            self.check_create(name, result, 'create with Placement killed',
                              allocation=not wipe, strict=False)

    def test_killed_during_delete(self):
        self.calibrate()
        for i, (kind, wipe) in enumerate(zip(
                self.pick(self.DELETE_POINTS), self.wipes())):
            name = self.new_name()
            self.create(name)
            trigger, slow = self.delete_trigger(kind, name)
            self.point('Placement killed during delete, back %s' % (
                'empty' if wipe else 'with its data'), i, trigger)
            result = self.faulted(
                self.argv('emuvirt', 'server', 'delete', name), trigger,
                slow, lambda proc: self.placement.kill())
            self.placement.kill()
            self.placement.start(wipe=wipe)
            self.check_delete(name, result, 'delete with Placement killed',
                              strict=False)

    def test_down_for_a_whole_delete(self):
        name = self.new_name()
        self.point('Placement down for a whole delete', 0, 'before it')
        uuid = self.create(name)
        self.placement.kill()
        code, out, err = self.emuvirt('server', 'delete', name)
        self.assertStderr(err, 'delete with Placement down',
                          failed=code != 0, strict=False)
        self.assertNothingLeft(name, 'delete with Placement down')
        self.placement.start()
        # The allocation is still there until a cycle releases it.
        self.assertIn(self.rp, self.placement.consumer_allocations(uuid))
        self.assertNoAllocationAfterACycle()
        # What the cycle finished is done: the next one succeeds too.
        self.assertNoAllocationAfterACycle()

    def test_killed_and_wiped_under_a_running_compute(self):
        """The service outlives Placement and registers again."""
        log_path = os.path.join(self.tmpdir, 'compute.log')
        with open(log_path, 'wb') as log:
            compute = subprocess.Popen(
                self.argv('emuvirt-compute'), stdin=subprocess.DEVNULL,
                stdout=log, stderr=log)
        self.addCleanup(_stop, compute)
        self.attach_file('compute-log', log_path)
        self.point('a running compute', 0, 'it starts')
        self.wait_reported(compute)
        before = self.new_name()
        before_uuid = self.create(before)

        wiped = False
        for i, wipe in enumerate(self.wipes()):
            offset = self.rng.uniform(0, 1)
            down = self.rng.uniform(0.2, 1.5)
            self.point('Placement killed under a running compute, back %s'
                       % ('empty' if wipe else 'with its data'), i,
                       '%.2f s into a cycle, down %.2f s' % (offset, down))
            time.sleep(offset)
            self.placement.kill()
            time.sleep(down)
            self.assertIsNone(compute.poll(), '%s: emuvirt-compute exited'
                              % self.where)
            self.placement.start(wipe=wipe)
            wiped = wiped or wipe
            self.wait_reported(compute)

        # Claims work on the provider as it is now.
        after = self.new_name()
        self.keep.add(self.create(after))
        if wiped:
            # The guest made before the wipe lost its allocation: the
            # service says so (by its UUID or name).
            self.wait_for_log(log_path, (before_uuid, before), compute)
        else:
            self.assertIn(self.rp,
                          self.placement.consumer_allocations(before_uuid))
        self.delete(before)
        self.assertNothingLeft(before, 'delete')
        self.keep.clear()
        self.delete(after)
        self.assertNothingLeft(after, 'delete')
        self.assertEqual({}, self.placement.all_allocations(), self.where)

        compute.send_signal(signal.SIGTERM)
        self.assertEqual(0, compute.wait(timeout=30),
                         '%s: emuvirt-compute on SIGTERM' % self.where)
        with open(log_path, errors='replace') as f:
            self.assertNotIn('Traceback', f.read(), self.where)

    def wait_reported(self, compute):
        """Wait until the running service has reported its provider."""
        deadline = time.monotonic() + REPORT_TIMEOUT
        while True:
            self.assertIsNone(compute.poll(), '%s: emuvirt-compute exited'
                              % self.where)
            found = self.placement.provider(self.rp)
            if found and ARCH_TRAIT in found[1] and found[0].get('VCPU'):
                return
            if time.monotonic() > deadline:
                self.fail('%s: emuvirt-compute did not report provider %s '
                          'within %d s; Placement has %s'
                          % (self.where, self.rp, REPORT_TIMEOUT, found))
            time.sleep(0.2)

    def wait_for_log(self, path, needles, compute):
        deadline = time.monotonic() + REPORT_TIMEOUT
        while True:
            with open(path, errors='replace') as f:
                text = f.read()
            if any(n in text for n in needles):
                return
            if time.monotonic() > deadline or compute.poll() is not None:
                self.fail('%s: emuvirt-compute never mentioned the guest '
                          'without an allocation (%s)'
                          % (self.where, ' or '.join(needles)))
            time.sleep(0.2)


def _in_emuvirt(traceback):
    """Whether a traceback has a frame in emuvirt's code."""
    return any(line.strip().startswith('File "%s%s' % (_PACKAGE, os.sep))
               for line in traceback.splitlines())


def _stop(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()


class TestCorruptedRecords(FaultTestCase):
    """Guests whose emuvirt record is damaged, next to a sound one.

    The damaged guests are copies of a sound guest's definition, shut off,
    each under a name and UUID of its own, with an instance directory and
    a Placement allocation as a create would have left them; then their
    records are damaged, one way each.
    """

    KINDS = ('non-numeric flavor', 'no uuid', 'empty record',
             'refused property value', 'uuid and name that are paths',
             'negative memory size')

    def damaged(self, kind, record):
        """The ``record`` element damaged in one way (in place)."""
        def find(tag):
            return record.find('{%s}%s' % (RECORD_NS, tag))
        if kind == 'empty record':
            for child in list(record):
                record.remove(child)
        elif kind == 'non-numeric flavor':
            find('flavor').set('vcpus', 'many')
        elif kind == 'negative memory size':
            find('flavor').set('memory_mb', '-512')
        elif kind == 'no uuid':
            record.remove(find('uuid'))
        elif kind == 'uuid and name that are paths':
            find('uuid').text = '../victim'
            find('name').text = '../victim'
        elif kind == 'refused property value':
            etree.SubElement(find('properties'), '{%s}property' % RECORD_NS,
                             name='hw_disk_bus').text = 'floppy'

    def define_damaged(self, sound, sound_uuid, kind):
        """A shut-off copy of ``sound`` whose record has damage ``kind``.

        :returns: (name, uuid).
        """
        name = self.new_name()
        uuid = str(uuid_lib.uuid4())
        xml = self.conn.lookupByName(sound).XMLDesc(
            self.libvirt.VIR_DOMAIN_XML_INACTIVE)
        # Its own name, UUID and files (their paths hold the UUID).
        root = etree.fromstring(xml.replace(sound_uuid, uuid).encode())
        root.find('name').text = name
        record = root.find('metadata/{%s}instance' % RECORD_NS)
        for child in record.iter():
            if child.text == sound:
                child.text = name
        self.damaged(kind, record)
        os.makedirs(os.path.join(self.instances, uuid))
        self.conn.defineXML(etree.tostring(root, encoding='unicode'))
        status, body = self.placement.request(
            'PUT', '/allocations/%s' % uuid, {
                # Memory only: this host may have as few VCPUs as guests.
                'allocations': {self.rp: {'resources': {'MEMORY_MB': 256}}},
                'project_id': 'emuvirt', 'user_id': 'emuvirt',
                'consumer_generation': None})
        self.assertEqual(204, status, body)
        return name, uuid

    def test_corrupted_records(self):
        # The directory a record naming '../victim' points at.
        victim = os.path.join(self.tmpdir, 'victim', 'keep')
        os.makedirs(os.path.dirname(victim))
        with open(victim, 'w') as f:
            f.write("not emuvirt's\n")

        sound = self.new_name()
        sound_uuid = self.create(sound)
        self.keep.add(sound_uuid)
        bad = {kind: self.define_damaged(sound, sound_uuid, kind)
               for kind in self.KINDS}
        self.keep.update(uuid for _name, uuid in bad.values())
        self.point('damaged records', 0, ', '.join(
            '%s: %s' % (kind, name) for kind, (name, _u) in bad.items()))

        # Every damaged guest is listed by its libvirt name or UUID, the
        # sound one as usual.
        code, listed, err = self.emuvirt('server', 'list')
        # At most a line per damaged guest (its reason), no traceback.
        self.assertNotIn('Traceback', err, self.where)
        notes = err.splitlines()
        self.assertLessEqual(len(notes), len(bad), '%s: server list:\n%s'
                             % (self.where, err))
        for line in notes:
            self.assertTrue(line.startswith('emuvirt: '), '%s: server list:'
                            '\n%s' % (self.where, err))
        listed += err
        self.assertRegex(listed, r'(?m)^%s\s+%s\s+%s\s' % (
            sound, sound_uuid, ARCH), self.where)
        for kind, (name, uuid) in bad.items():
            self.assertTrue(name in listed or uuid in listed,
                            '%s: server list does not name the guest with '
                            '%s:\n%s' % (self.where, kind, listed))
            code, out, err = self.emuvirt('server', 'show', name)
            self.assertStderr(err, 'server show (%s)' % kind,
                              failed=code != 0)
        code, out, err = self.emuvirt('server', 'show', sound)
        self.assertEqual(0, code, '%s: show %s: %s' % (self.where, sound,
                                                       err))
        for command, args in (
                ('emuvirt-manage', ('libvirt', 'list_unset_machine_type')),
                ('emuvirt-status', ('upgrade', 'check'))):
            code, out, err = self.run_cmd(command, *args)
            self.assertNotIn('Traceback', out + err, '%s: %s %s'
                             % (self.where, command, ' '.join(args)))

        # The service reports and keeps every allocation: the damaged
        # guests are still guests on this host.
        self.compute_once()
        self.assertEqual(
            sorted([sound_uuid] + [u for _n, u in bad.values()]),
            sorted(c for _rp, c in self.placement.all_allocations()),
            self.where)

        # Delete removes a damaged guest wholly, or refuses in one line;
        # nothing else is touched.
        for kind, (name, uuid) in bad.items():
            self.point('damaged records', 1, 'delete the one with %s'
                       % kind)
            code, out, err = self.emuvirt('server', 'delete', uuid)
            self.assertStderr(err, 'delete', failed=code != 0)
            if code == 0:
                self.keep.discard(uuid)
                self.assertNothingLeft(name, 'deleting the guest')
            self.assertTrue(os.path.isfile(victim), '%s: a command removed '
                            '%s' % (self.where, victim))
            self.assertComplete(sound)

        # However delete dealt with them, once the damaged guests are
        # removed by hand nothing of them is left, and a cycle releases
        # their allocations.
        self.point('damaged records', 2, 'clean-up')
        self.keep.clear()
        self.delete(sound)
        for name, uuid in bad.values():
            self.remove_domain(name)
            shutil.rmtree(os.path.join(self.instances, uuid),
                          ignore_errors=True)
            self.assertNothingLeft(name, 'removing the domain by hand')
        self.assertNoAllocationAfterACycle()
        self.assertTrue(os.path.isfile(victim))

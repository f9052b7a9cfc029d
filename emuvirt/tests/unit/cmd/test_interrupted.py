"""Ctrl-C and SIGTERM end every command with one line, never a traceback.

Status 130 for SIGINT, 143 for SIGTERM (128 + the signal number, as a
shell reports a process the signal killed).
"""

import io
import os
import signal

import fixtures
from oslo_config import fixture as config_fixture
import testtools

from emuvirt.cmd import compute
from emuvirt.cmd import emuvirt as emuvirt_cmd
from emuvirt.cmd import entry
from emuvirt.cmd import guest_xml
from emuvirt.cmd import manage
from emuvirt.cmd import status
from emuvirt import conf
from emuvirt import interrupt


def sigterm(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)


class TestInterrupted(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        self.out = self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', io.StringIO())).new_value
        self.err = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        self.parse_args = self.useFixture(fixtures.MockPatch(
            'emuvirt.conf.parse_args')).mock
        self.handlers = (signal.getsignal(signal.SIGINT),
                         signal.getsignal(signal.SIGTERM))

    def check(self, main, prog):
        for side_effect, status_code, word in (
                (KeyboardInterrupt, 130, 'interrupted'),
                (sigterm, 143, 'terminated')):
            self.where.side_effect = side_effect
            self.err.seek(0)
            self.err.truncate()
            self.assertEqual(status_code, main())
            self.assertEqual(('', '%s: %s\n' % (prog, word)),
                             (self.out.getvalue(), self.err.getvalue()))
            # The handlers of before are back.
            self.assertEqual(self.handlers,
                             (signal.getsignal(signal.SIGINT),
                              signal.getsignal(signal.SIGTERM)))

    def test_emuvirt(self):
        self.where = self.useFixture(fixtures.MockPatchObject(
            guest_xml, 'run')).mock
        self.check(lambda: emuvirt_cmd.main(['guest-xml']), 'emuvirt')

    def test_emuvirt_manage(self):
        self.where = self.useFixture(fixtures.MockPatch(
            'emuvirt.cmd.common.load_config')).mock
        self.check(lambda: manage.main(['libvirt', 'list_unset_machine_type']),
                   'emuvirt-manage')

    def test_emuvirt_status(self):
        self.where = self.parse_args
        self.check(lambda: status.main(['emuvirt-status', 'upgrade',
                                        'check']), 'emuvirt-status')

    def test_emuvirt_compute(self):
        self.where = self.useFixture(fixtures.MockPatch(
            'emuvirt.compute.manager.ComputeManager')).mock
        self.check(lambda: compute.main(['emuvirt-compute']),
                   'emuvirt-compute')

    def test_undone_work_is_named(self):
        def interrupted(args):
            error = KeyboardInterrupt()
            interrupt.set_outcome(error, 'removed what it had made')
            raise error
        self.useFixture(fixtures.MockPatchObject(
            guest_xml, 'run', side_effect=interrupted))
        self.assertEqual(130, emuvirt_cmd.main(['guest-xml']))
        self.assertEqual('emuvirt: interrupted: removed what it had made\n',
                         self.err.getvalue())


class TestEntryPoints(testtools.TestCase):
    """The console scripts: one line even while Python still imports."""

    def setUp(self):
        super().setUp()
        handlers = {s: signal.getsignal(s) for s in interrupt.SIGNALS}
        self.addCleanup(interrupt.restore, handlers)
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        self.addCleanup(signal.pthread_sigmask, signal.SIG_SETMASK, mask)
        self.useFixture(fixtures.MonkeyPatch('emuvirt.interrupt._entry',
                                             False))
        self.exit = self.useFixture(fixtures.MockPatch('os._exit')).mock
        self.write = self.useFixture(fixtures.MockPatch('os.write')).mock

    def test_scripts_run_their_command(self):
        # Not this test process's objects: a script freezes its imports'.
        freeze = self.useFixture(fixtures.MockPatch('gc.freeze')).mock
        load = self.useFixture(fixtures.MockPatch(
            'importlib.import_module')).mock
        load.return_value.main.return_value = 7
        for script, module in ((entry.emuvirt, 'emuvirt.cmd.emuvirt'),
                               (entry.emuvirt_compute, 'emuvirt.cmd.compute'),
                               (entry.emuvirt_manage, 'emuvirt.cmd.manage'),
                               (entry.emuvirt_status, 'emuvirt.cmd.status')):
            self.assertEqual(7, script())
            load.assert_called_with(module)
        self.assertEqual(4, freeze.call_count)

    def test_a_signal_while_importing_ends_in_one_line(self):
        interrupt.entry_point('emuvirt-manage')
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
        self.write.assert_called_once_with(2, b'emuvirt-manage: terminated\n')
        self.exit.assert_called_once_with(143)
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
        self.exit.assert_called_with(130)

    def test_after_the_work_signals_change_nothing(self):
        interrupt.entry_point('emuvirt')
        self.assertEqual(0, interrupt.run_command('emuvirt', lambda: 0))
        self.assertEqual(interrupt.SIGNALS, interrupt.SIGNALS & set(
            signal.pthread_sigmask(signal.SIG_BLOCK, [])))

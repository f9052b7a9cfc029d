"""SIGINT/SIGTERM as exceptions, and the guards that keep cleanup whole."""

import io
import os
import signal
import sys
import threading
import time

import fixtures
import testtools

from emuvirt import interrupt


class InterruptTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(interrupt.restore, interrupt.install())

    @staticmethod
    def send(signum):
        os.kill(os.getpid(), signum)

    @staticmethod
    def next_command():
        """As install() at a command's start: not unwinding any more."""
        interrupt._unwinding = False

    def test_signals_raise(self):
        self.assertRaises(KeyboardInterrupt, self.send, signal.SIGINT)
        self.next_command()
        error = self.assertRaises(interrupt.Terminated, self.send,
                                  signal.SIGTERM)
        self.assertNotIsInstance(error, Exception)
        self.assertEqual(signal.SIGTERM, interrupt.signal_number(error))
        self.assertEqual(signal.SIGINT,
                         interrupt.signal_number(KeyboardInterrupt()))
        self.assertIsNone(interrupt.signal_number(ValueError()))
        self.assertEqual({signal.SIGINT: 130, signal.SIGTERM: 143},
                         interrupt.EXIT_STATUS)

    def test_a_signal_in_a_finaliser_raises_after_it(self):
        # libvirt's virConnect.__del__ runs whenever a connection goes;
        # Python cannot raise out of a finaliser, so the signal is taken
        # again right after it, with no 'Exception ignored' traceback.
        stderr = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        finalised = []

        class Connection(object):
            def __del__(self):
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):
                    pass
                finalised.append(True)

        def drop():
            conn = Connection()
            del conn
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                pass

        self.assertRaises(interrupt.Terminated, drop)
        self.assertEqual([], finalised)
        self.assertEqual('', stderr.getvalue())

    def test_signals_after_the_first_are_dropped_while_it_unwinds(self):
        # A second signal landing between an except line and the shielded
        # cleanup inside it would cut that cleanup short.
        cleaned = []

        def work():
            try:
                self.send(signal.SIGTERM)
            except interrupt.Terminated:
                self.send(signal.SIGINT)
                self.send(signal.SIGTERM)
                with interrupt.shielded():
                    cleaned.append(True)
                raise
        self.assertRaises(interrupt.Terminated, work)
        self.assertEqual([True], cleaned)
        # Held ones too: the command is ending.
        with interrupt.deferred():
            interrupt._handler(signal.SIGINT, None)
        # The next command takes signals again.
        handlers = interrupt.install()
        self.addCleanup(interrupt.restore, handlers)
        self.assertRaises(KeyboardInterrupt, self.send, signal.SIGINT)

    def test_other_unraisable_errors_reach_the_previous_hook(self):
        seen = []
        self.useFixture(fixtures.MonkeyPatch(
            'emuvirt.interrupt._next_unraisablehook', seen.append))

        class Broken(object):
            def __del__(self):
                raise ValueError('bug')

        Broken()
        self.assertEqual([ValueError], [type(u.exc_value) for u in seen])

    def test_restore_puts_the_hook_back(self):
        before = sys.unraisablehook
        interrupt.restore(interrupt.install())
        self.assertIs(before, sys.unraisablehook)

    def test_shielded_drops_what_came(self):
        done = []
        with interrupt.shielded():
            self.send(signal.SIGINT)
            self.send(signal.SIGTERM)
            done.append(True)
        self.assertEqual([True], done)
        self.assertEqual(set(), signal.sigpending())
        # And raises again afterwards.
        self.assertRaises(KeyboardInterrupt, self.send, signal.SIGINT)

    def test_deferred_delivers_at_the_end(self):
        done = []

        def step():
            with interrupt.deferred():
                self.send(signal.SIGTERM)
                done.append(True)
        self.assertRaises(interrupt.Terminated, step)
        self.assertEqual([True], done)

    def test_nested_shield_keeps_the_outer_one(self):
        with interrupt.shielded():
            with interrupt.shielded():
                pass
            # Still blocked here: dropped at the outer end.
            self.send(signal.SIGINT)
        self.assertEqual(set(), signal.sigpending())

    def test_shield_inside_deferred_step_delivers_at_the_step_end(self):
        def step():
            with interrupt.deferred():
                with interrupt.shielded():
                    self.send(signal.SIGINT)
        self.assertRaises(KeyboardInterrupt, step)

    def test_handler_inside_a_shield_does_nothing(self):
        # A signal handled just as the shield went up.
        with interrupt.shielded():
            interrupt._handler(signal.SIGINT, None)
            interrupt._handler(signal.SIGTERM, None)

    def test_handler_inside_a_deferral_holds_the_signal(self):
        # Taken by another thread (one that does not block it), the signal
        # still waits for the step to end.
        done = []

        def step():
            with interrupt.deferred():
                interrupt._handler(signal.SIGTERM, None)
                done.append(True)
        self.assertRaises(interrupt.Terminated, step)
        self.assertEqual([True], done)
        # Delivered once.
        with interrupt.deferred():
            pass

    def test_messages(self):
        error = KeyboardInterrupt()
        self.assertEqual('emuvirt: interrupted',
                         interrupt.message('emuvirt', error))
        interrupt.set_outcome(error, 'removed what it made')
        self.assertEqual('emuvirt: interrupted: removed what it made',
                         interrupt.message('emuvirt', error))
        self.assertEqual('emuvirt-manage: terminated',
                         interrupt.message('emuvirt-manage',
                                           interrupt.Terminated()))
        self.assertEqual(143, interrupt.exit_status(interrupt.Terminated()))

    def test_pending(self):
        self.assertFalse(interrupt.pending())
        with interrupt.shielded():
            self.send(signal.SIGINT)
            self.assertTrue(interrupt.pending())
        self.assertFalse(interrupt.pending())

    def test_other_threads_are_not_blocked(self):
        masks = []

        def run():
            with interrupt.shielded():
                masks.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        self.assertFalse(interrupt.SIGNALS & masks[0])

"""SIGINT/SIGTERM as exceptions, and the guards that keep cleanup whole."""

import os
import signal
import threading

import testtools

from emuvirt import interrupt


class InterruptTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(interrupt.restore, interrupt.install())

    @staticmethod
    def send(signum):
        os.kill(os.getpid(), signum)

    def test_signals_raise(self):
        self.assertRaises(KeyboardInterrupt, self.send, signal.SIGINT)
        error = self.assertRaises(interrupt.Terminated, self.send,
                                  signal.SIGTERM)
        self.assertNotIsInstance(error, Exception)
        self.assertEqual(signal.SIGTERM, interrupt.signal_number(error))
        self.assertEqual(signal.SIGINT,
                         interrupt.signal_number(KeyboardInterrupt()))
        self.assertIsNone(interrupt.signal_number(ValueError()))
        self.assertEqual({signal.SIGINT: 130, signal.SIGTERM: 143},
                         interrupt.EXIT_STATUS)

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

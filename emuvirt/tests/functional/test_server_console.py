"""``emuvirt server console``: refusals, and the terminal's mode.

A session with a guest is tested on the real daemon
(emuvirt.tests.integration.test_console); here the command's terminal
handling is driven through a pseudo-terminal with a stand-in session.
"""

import os
import select
import termios

from emuvirt.cmd import server
from emuvirt.tests.functional import test_server_commands


class FakeSession(object):
    """Records the terminal mode while attached; then does ``then``."""

    name = 'g1'

    def __init__(self, then='escape'):
        self.then = then
        self.mode = None

    def attach(self, in_fd, out_fd):
        self.mode = termios.tcgetattr(in_fd) if os.isatty(in_fd) else None
        os.write(out_fd, b'guest says hi\r\n')
        if isinstance(self.then, BaseException):
            raise self.then
        return self.then


class TestConsoleCommand(test_server_commands.ServerTestCase):

    def test_stopped_guest_is_refused(self):
        self.create()
        self.ok('stop', 'g1')
        err = self.refused('console', 'g1')
        self.assertEqual("emuvirt: error: console of g1: not running (start "
                         "it with 'emuvirt server start g1')\n", err)

    def test_unknown_guest(self):
        err = self.refused('console', 'nobody')
        self.assertIn('Instance nobody could not be found', err)


class TestTerminalMode(test_server_commands.ServerTestCase):

    def setUp(self):
        super().setUp()
        self.master, self.slave = os.openpty()
        self.addCleanup(os.close, self.master)
        self.addCleanup(os.close, self.slave)
        self.cooked = termios.tcgetattr(self.slave)

    def output(self):
        out = b''
        while select.select([self.master], [], [], 0.2)[0]:
            out += os.read(self.master, 4096)
        return out

    def assertRaw(self, mode):
        self.assertNotEqual(self.cooked, mode)
        self.assertEqual(0, mode[3] & (termios.ICANON | termios.ECHO |
                                       termios.ISIG))

    def test_raw_while_attached_restored_after(self):
        session = FakeSession()
        self.assertEqual(0, server._attach(session, self.slave, self.slave))
        self.assertRaw(session.mode)
        self.assertEqual(self.cooked, termios.tcgetattr(self.slave))
        out = self.output()
        self.assertIn(b'Connected to g1 (escape character is ^])\r\n', out)
        self.assertIn(b'guest says hi', out)

    def test_guest_stopped(self):
        session = FakeSession(then='guest')
        self.assertEqual(0, server._attach(session, self.slave, self.slave))
        self.assertEqual(self.cooked, termios.tcgetattr(self.slave))
        self.assertIn(b'g1: the console closed (the guest stopped)',
                      self.output())

    def test_restored_on_an_interruption(self):
        for exc in (KeyboardInterrupt(), RuntimeError('boom')):
            session = FakeSession(then=exc)
            self.assertRaises(type(exc), server._attach, session,
                              self.slave, self.slave)
            self.assertRaw(session.mode)
            self.assertEqual(self.cooked, termios.tcgetattr(self.slave))

    def test_not_a_terminal(self):
        read, write = os.pipe()
        self.addCleanup(os.close, read)
        self.addCleanup(os.close, write)
        session = FakeSession(then='input')
        self.assertEqual(0, server._attach(session, read, write))
        self.assertEqual(b'Connected to g1 (escape character is ^])\r\n'
                         b'guest says hi\r\n\n', os.read(read, 4096))

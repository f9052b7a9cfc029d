"""``emuvirt server console`` on a terminal, for every arch.

The guest is the kernel of ``tools/guest-images`` with its initramfs's
busybox as init running ``sh`` on the console (``rdinit=/bin/busybox --
sh``). The command runs on a pseudo-terminal, as a user's shell would run
it; the test types a command line into it, reads the guest shell's answer
back, types Ctrl-] and checks that the command ends with status 0 and
leaves the terminal in the mode it found it.
"""

import os
import select
import signal
import subprocess
import termios
import time

from emuvirt.tests.integration import test_config_drive

SHELL = ' rdinit=/bin/busybox -- sh'
ANSWER = b'EMUVIRT-CONSOLE-42'
TYPED = b'echo EMUVIRT-CONSOLE-$((6*7))\r'


class TestConsole(test_config_drive.CommandTestCase):

    def create_shell(self, arch):
        image = self.guest_image(arch)
        self.require_emulator(arch)
        name = self.domain_name('console-' + arch)
        self.addCleanup(self.remove_domain, name)
        self.emuvirt('create', name, '--property',
                     'hw_emulation_architecture=' + arch, '--kernel',
                     image.kernel, '--ramdisk', image.initrd, '--cmdline',
                     image.cmdline + SHELL)
        return name

    def console(self, name):
        """Run the console command on a pty; returns (proc, master)."""
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        before = termios.tcgetattr(slave)
        proc = subprocess.Popen(
            [self.command, '--config-file', self.config(), 'server',
             'console', name], stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True)
        self.addCleanup(self._end, proc)
        return proc, master, slave, before

    @staticmethod
    def _end(proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    def read_until(self, master, proc, needle, timeout):
        out = b''
        deadline = time.monotonic() + timeout
        while needle not in out:
            left = deadline - time.monotonic()
            if left <= 0 or proc.poll() is not None:
                break
            ready, _w, _x = select.select([master], [], [], min(left, 1))
            if ready:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
        return out

    def attach_and_talk(self, arch):
        name = self.create_shell(arch)
        proc, master, slave, before = self.console(name)
        out = self.read_until(master, proc, b'escape character is ^]', 60)
        self.assertIn(b'Connected to %s' % name.encode(), out)
        # The shell may still be starting: ask until it answers.
        deadline = time.monotonic() + self.BOOT_TIMEOUT
        while ANSWER not in out and time.monotonic() < deadline:
            os.write(master, b'\r' + TYPED)
            out += self.read_until(master, proc, ANSWER, 5)
        self.assertIn(ANSWER, out, out[-2000:])
        os.write(master, b'\x1d')
        self.assertEqual(0, proc.wait(timeout=30), out[-2000:])
        self.assertEqual(before, termios.tcgetattr(slave))
        os.close(slave)
        # The guest goes on running.
        self.assertEqual(1, self.conn.lookupByName(name).isActive())

    def test_aarch64(self):
        self.attach_and_talk('aarch64')

    def test_s390x(self):
        self.attach_and_talk('s390x')

    def test_ppc64le(self):
        self.attach_and_talk('ppc64le')

    def test_mipsel(self):
        self.attach_and_talk('mipsel')

    def test_riscv64(self):
        self.attach_and_talk('riscv64')

    def test_x86_64(self):
        self.attach_and_talk('x86_64')

    def test_sigterm_restores_the_terminal(self):
        name = self.create_shell('aarch64')
        proc, master, slave, before = self.console(name)
        out = self.read_until(master, proc, b'escape character is ^]', 60)
        self.assertNotEqual(before, termios.tcgetattr(slave), 'raw mode')
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(143, proc.wait(timeout=30), out)
        self.assertEqual(before, termios.tcgetattr(slave))
        os.close(slave)

    def test_second_session_is_refused(self):
        name = self.create_shell('aarch64')
        proc, master, slave, _before = self.console(name)
        self.read_until(master, proc, b'escape character is ^]', 60)
        second = self.emuvirt('console', name, check=False)
        self.assertEqual(1, second.returncode)
        self.assertRegex(second.stderr, r'\Aemuvirt: error: console of %s: '
                         r'[^\n]+\n\Z' % name)
        os.write(master, b'\x1d')
        self.assertEqual(0, proc.wait(timeout=30))
        os.close(slave)

    def test_stopped_guest_is_refused(self):
        name = self.create_shell('aarch64')
        self.emuvirt('stop', name, '--timeout', '0')
        proc = self.emuvirt('console', name, check=False)
        self.assertEqual(
            (1, "emuvirt: error: console of %s: not running (start it "
                "with 'emuvirt server start %s')\n" % (name, name)),
            (proc.returncode, proc.stderr))

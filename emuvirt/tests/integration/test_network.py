"""Every arch's guest gets an address on the NAT network and answers on it.

``tools/emuvirt-host start`` runs the daemon in a network namespace of its
own and starts the libvirt NAT network ``emuvirt`` (DHCP) there.  ``emuvirt
server create --network emuvirt --mac MAC`` boots the kernel of
``tools/guest-images`` with the initramfs of ``tools/nova-guest-images``,
whose ``/etc/rc.net`` takes a DHCP lease on eth0, prints ``EMUVIRT-ADDRESS:
<ip>`` and answers each TCP connection to port 7 with ``uname -m``.  The test
reads the address from ``server show`` (the daemon's DHCP leases), checks it
is the one the guest took, and connects to it from inside the daemon's
network namespace (nsenter): test traffic never leaves that namespace.
"""

import json
import os
import random
import re
import subprocess
import sys
import time
from xml.etree import ElementTree

from emuvirt.tests.integration import base
from emuvirt.tests.integration import test_config_drive

NETWORK = 'emuvirt'
ADDRESS = re.compile(r'EMUVIRT-ADDRESS: (\S+)\r?\n')

# Run inside the daemon's network namespace: connect, print the answer.
CLIENT = """\
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), 10) as s:
    s.settimeout(10)
    data = b''
    while True:
        chunk = s.recv(256)
        if not chunk:
            break
        data += chunk
sys.stdout.write(data.decode())
"""


class NetworkTestCase(test_config_drive.CommandTestCase):
    """The daemon's NAT network: its namespace, and asking a guest there."""

    def setUp(self):
        super().setUp()
        self.netns = self.daemon_netns()
        try:
            net = self.conn.networkLookupByName(NETWORK)
            active = net.isActive()
        except self.libvirt.libvirtError:
            active = False
        if not active:
            self.require_missing('the libvirt network %r (tools/emuvirt-host '
                                 'start defines it; it needs dnsmasq-base '
                                 'and iptables: "tools/emuvirt-host '
                                 'install")' % NETWORK)

    def daemon_netns(self):
        proc = subprocess.run([base.HOST_TOOL, 'netns'],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            self.require_missing('a daemon in a network namespace of its own '
                                 '("tools/emuvirt-host netns": %s)'
                                 % proc.stderr.strip())
        return proc.stdout.strip()

    def ask(self, ip, port):
        """What the guest's responder says, asked from the namespace."""
        proc = subprocess.run(
            ['nsenter', '--net=' + self.netns, sys.executable, '-c', CLIENT,
             ip, str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(0, proc.returncode, proc.stderr)
        return proc.stdout

    def wait_for(self, what, func):
        deadline = time.monotonic() + self.BOOT_TIMEOUT
        while True:
            found = func()
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(1)


class TestGuestAnswersOnTheNetwork(NetworkTestCase):

    def net_initrd(self, arch):
        d = os.path.join(base.images_dir(), 'nova', arch)
        try:
            with open(os.path.join(d, 'image.json')) as f:
                meta = json.load(f)
        except (OSError, ValueError):
            meta = {}
        if 'address_marker' not in meta:
            self.require_missing('the Nova test initramfs of %s with its '
                                 'network responder (%s; run '
                                 '"tools/nova-guest-images build %s")'
                                 % (arch, d, arch))
        return os.path.join(d, 'initrd.img'), meta['responder_port']

    def reach(self, arch, **props):
        image = self.guest_image(arch)
        initrd, port = self.net_initrd(arch)
        self.require_emulator(arch)
        mac = '52:54:00:%02x:%02x:%02x' % tuple(
            random.randrange(256) for _ in range(3))
        name = self.domain_name('net-' + arch)
        self.addCleanup(self.remove_domain, name)
        argv = ['create', name, '--property',
                'hw_emulation_architecture=' + arch, '--kernel',
                image.kernel, '--ramdisk', initrd, '--cmdline',
                image.cmdline, '--network', NETWORK, '--mac', mac]
        for key, value in props.items():
            argv += ['--property', '%s=%s' % (key, value)]
        self.emuvirt(*argv)

        text = ''

        def printed():
            nonlocal text
            text = self.emuvirt('console-log', name).stdout
            return ADDRESS.search(text)

        found = self.wait_for('address', printed)
        self.addDetail('console', base.content.text_content(text))
        if found is None:
            self.fail('%s printed no EMUVIRT-ADDRESS line within %d s'
                      % (name, self.BOOT_TIMEOUT))
        ip = found.group(1)
        self.assertNotEqual('none', ip, '%s got no DHCP lease' % name)

        shown = re.compile(r'^addresses: +%s \(%s\)$'
                           % (re.escape(ip), mac), re.M)
        self.assertTrue(
            self.wait_for('lease', lambda: shown.search(
                self.emuvirt('show', name).stdout)),
            'server show never gave %s (%s): %s'
            % (ip, mac, self.emuvirt('show', name).stdout))
        self.assertEqual(image.expected_uname + '\n', self.ask(ip, port))
        return name, mac

    def test_aarch64(self):
        name, mac = self.reach('aarch64')
        # A hard reboot rebuilds the domain and keeps the NIC's MAC.
        self.emuvirt('reboot', '--hard', name)
        macs = re.findall(r"<mac address='([^']+)'/>",
                          self.conn.lookupByName(name).XMLDesc(0))
        self.assertEqual([mac], macs)
        self.emuvirt('delete', name)

    def test_x86_64(self):
        self.emuvirt('delete', self.reach('x86_64')[0])

    def test_s390x(self):
        self.emuvirt('delete', self.reach('s390x')[0])

    def test_ppc64le(self):
        self.emuvirt('delete', self.reach('ppc64le')[0])

    def test_riscv64(self):
        self.emuvirt('delete', self.reach('riscv64')[0])

    def test_mipsel(self):
        name = self.reach('mipsel')[0]
        # Its NIC in PCI slot 18, the first a malta kernel gives an IRQ.
        live = ElementTree.fromstring(
            self.conn.lookupByName(name).XMLDesc(0))
        self.assertEqual(['0x12'], [
            a.get('slot') for a in live.findall('devices/interface/address')])
        self.emuvirt('delete', name)

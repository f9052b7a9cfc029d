"""A flavor's ephemeral and swap disks on the real daemon.

``emuvirt server create --flavor ephemeral=1,swap=64`` boots the kernel of
``tools/guest-images`` with the initramfs of ``tools/nova-guest-images``,
which loads the block drivers and prints the block devices it sees
(``EMUVIRT-BLOCK: ...``). The definition libvirt keeps has both disks, on
the arch's disk bus, after the root disk; on the host, ``disk.eph0`` is
an ext4 filesystem labelled ``ephemeral0`` and ``disk.swap`` swap space
(``blkid``); the guest sees them.
"""

import os
import re
import shutil
import subprocess

from lxml import etree

from emuvirt.tests.integration import test_config_drive

BLOCK = re.compile(r'EMUVIRT-BLOCK: ([^\r\n]*)')


class TestEphemeralAndSwap(test_config_drive.KernelGuestTestCase):

    def blkid(self, path):
        tool = shutil.which('blkid') or shutil.which(
            'blkid', path='/usr/sbin:/sbin')
        if tool is None:
            self.require_missing('blkid (Debian package util-linux)')
        out = subprocess.run(
            [tool, '-o', 'export', path], stdout=subprocess.PIPE,
            text=True, check=True).stdout
        return dict(line.split('=', 1) for line in out.splitlines()
                    if '=' in line)

    def check(self, arch, bus, guest_disks):
        name = self.create_kernel_guest(
            arch, 'eph-', '--flavor', 'vcpus=1,ram=512,ephemeral=1,swap=64')
        dom = self.conn.lookupByName(name)
        uuid = dom.UUIDString()
        eph = os.path.join(self.instances, uuid, 'disk.eph0')
        swap = os.path.join(self.instances, uuid, 'disk.swap')
        # What the daemon runs the guest with.
        disks = [(d.find('source').get('file'), d.find('target').get('bus'),
                  d.find('driver').get('type'))
                 for d in etree.fromstring(dom.XMLDesc(0)).iterfind(
                     'devices/disk[@device="disk"]')]
        self.assertEqual([(eph, bus, 'raw'), (swap, bus, 'raw')], disks)
        self.assertEqual(('ext4', 'ephemeral0'),
                         (self.blkid(eph).get('TYPE'),
                          self.blkid(eph).get('LABEL')))
        self.assertEqual('swap', self.blkid(swap).get('TYPE'))
        self.assertEqual((1024 ** 3, 64 * 1024 ** 2),
                         (os.path.getsize(eph), os.path.getsize(swap)))
        seen = self.wait_for_block(name).split()
        self.assertEqual(guest_disks, [d for d in seen if d in (
            guest_disks + ['vdc', 'sdc'])])
        self.emuvirt('delete', name)
        self.assertFalse(os.path.exists(os.path.dirname(eph)))

    def wait_for_block(self, name):
        return self.wait_for_console_line(name, BLOCK,
                                          'EMUVIRT-BLOCK')[0].group(1)

    def test_aarch64_virtio(self):
        self.check('aarch64', 'virtio', ['vda', 'vdb'])

    def test_mipsel_ide(self):
        self.check('mipsel', 'ide', ['sda', 'sdb'])

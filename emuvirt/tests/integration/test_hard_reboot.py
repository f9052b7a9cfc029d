"""A hard reboot rebuilds the guest from its record (real daemon, QEMU).

An aarch64 guest created with a config drive gets an image property with
``emuvirt-manage image_property set`` while stopped; after ``emuvirt
server reboot --hard`` the running domain has the new device and the guest
reads the same config drive (its own uuid) again.
"""

import os
import subprocess
import sys

from lxml import etree

from emuvirt.tests.integration import test_config_drive


class TestHardReboot(test_config_drive.KernelGuestTestCase):

    def manage(self, *argv):
        proc = subprocess.run(
            [sys.executable, '-m', 'emuvirt.cmd.manage', '--config-file',
             self.config()] + list(argv), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, timeout=120,
            stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr

    def test_property_applied_config_drive_kept(self):
        key = os.path.join(self.tmpdir, 'id.pub')
        with open(key, 'w') as f:
            f.write(test_config_drive.KEY)
        name = self.create_kernel_guest('aarch64', 'hr-', '--ssh-key', key)
        dom = self.conn.lookupByName(name)
        uuid = dom.UUIDString()
        self.assertEqual(uuid, self.wait_for_line(name).group(3))
        drive = os.path.join(self.instances, uuid, 'disk.config')
        made = os.stat(drive)

        self.emuvirt('stop', name, '--timeout', '0')
        code, out, err = self.manage('image_property', 'set', name,
                                     '--property', 'hw_video_model=virtio')
        self.assertEqual(0, code, err)
        console = os.path.join(self.instances, uuid, 'console.log')
        with open(console, 'w'):
            pass
        self.emuvirt('reboot', '--hard', name)

        self.assertEqual(uuid, self.wait_for_line(name).group(3))
        live = etree.fromstring(dom.XMLDesc(0).encode())
        self.assertEqual(['virtio'], [
            m.get('type') for m in live.iterfind('devices/video/model')])
        self.assertEqual([drive], [
            s.get('file') for s in live.iterfind(
                'devices/disk[@device="cdrom"]/source')])
        self.assertEqual((made.st_ino, made.st_mtime_ns),
                         (os.stat(drive).st_ino, os.stat(drive).st_mtime_ns))

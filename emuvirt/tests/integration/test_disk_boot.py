"""Real disk images through each arch's own firmware, on the real daemon.

No kernel is given: the arch's firmware finds the boot loader on the disk
image of ``tools/guest-images``, which loads the kernel and the initramfs
(``tools/nova-guest-images``') from the disk's /boot filesystem.  The
initramfs prints the kernel command line, which names the boot loader
(``emuvirt_boot=``), and the guest's ``uname -m``.

:class:`TestUsableGuestFromDisk` is the flow of a user, one guest per arch:
``emuvirt server create --image DISK --user-data --ssh-key --network
emuvirt`` with a real Placement; the guest prints the SSH key and the user
data it read from its config drive, ``server show`` gives the address it
leased, its TCP responder answers ``uname -m`` to a connection from the
daemon's network namespace, and ``server delete`` leaves no domain,
instance directory, NVRAM or allocation.
"""

import hashlib
import os
import random
import re
import subprocess
import sys
import time
import uuid as uuid_lib
from xml.etree import ElementTree

from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.objects import instance as instance_obj
from emuvirt.scheduler.client import report
from emuvirt.tests.integration import base
from emuvirt.tests.integration import faults
from emuvirt.tests.integration import test_config_drive
from emuvirt.tests.integration import test_guests
from emuvirt.tests.integration import test_network
from emuvirt.virt import driver

CMDLINE_MARKER = 'EMUVIRT-CMDLINE: '
CONFIG_DRIVE_MARKER = 'EMUVIRT-CONFIG-DRIVE: '


# What the guest's initramfs prints from its config drive.
SSH_KEY = re.compile(r'EMUVIRT-SSH-KEY: (.*?)\r?$', re.M)
USER_DATA = re.compile(r'EMUVIRT-USER-DATA: ?(.*?)\r?$', re.M)
USER_DATA_SUM = re.compile(r'EMUVIRT-USER-DATA-SHA256: (\S+)')
# User data as a user gives it: cloud-config, several lines.
USER_DATA_TEXT = ('#cloud-config\n'
                  'hostname: emuvirt-%(arch)s\n'
                  'runcmd:\n'
                  '  - [sh, -c, "echo %(token)s > /run/emuvirt-token"]\n')


def route_of(text):
    """The boot loader named by the kernel command line the guest shows."""
    cmdline = text.split(CMDLINE_MARKER, 1)[1].splitlines()[0]
    for word in cmdline.split():
        if word.startswith('emuvirt_boot='):
            return word.partition('=')[2]
    return None


class DiskTestCase(base.IntegrationTestCase):

    def usable_disk(self, arch):
        """The arch's disk image, with the Nova test initramfs on it."""
        disk = self.disk_image(arch)
        if 'ssh_key_marker' not in disk.meta:
            self.require_missing(
                'the %s disk image with the initramfs of '
                'tools/nova-guest-images (%s is older; run '
                '"tools/guest-images fetch %s")' % (arch, disk.path, arch))
        return disk


class TestDiskBootEachArch(DiskTestCase, test_guests.GuestTestCase):
    """Firmware -> boot loader on the disk -> kernel -> userspace.

    Through the driver; the other arches' disks boot in
    :class:`TestUsableGuestFromDisk`.
    """

    def spawn_disk(self, arch, disk, **props):
        self.require_emulator(arch)
        props = dict(props, hw_emulation_architecture=arch)
        image_meta = image_meta_obj.ImageMeta.from_dict(
            {'properties': props, 'disk_format': 'qcow2'}, strict=True)
        inst = instance_obj.Instance.new(
            name=self.domain_name(arch + '-disk'),
            flavor=flavor_obj.Flavor.from_string('vcpus=1,ram=512,disk=1'),
            image_meta=image_meta, image_path=disk.path)
        self.addCleanup(self.drv.destroy, None, inst)
        self.drv.spawn(None, inst, image_meta, [], None, None)
        return inst

    def test_x86_64_uefi_grub(self):
        self.flags.config(group='libvirt', virt_type='qemu')
        disk = self.usable_disk('x86_64')
        t0 = time.monotonic()
        inst = self.spawn_disk('x86_64', disk, hw_firmware_type='uefi')
        self.assertEqual(driver.RUNNING, self.drv.get_info(inst).state)
        text = self.wait_for_console(self.console(inst), disk.marker,
                                     domain=self.dom(inst))
        self.addDetail('spawn-to-uname-seconds', base.content.text_content(
            '%.2f' % (time.monotonic() - t0)))
        # OVMF ran, then GRUB's x86_64-efi image of the disk.
        self.assertIn('BdsDxe', text)
        self.assertEqual('grub-x86_64-efi', route_of(text))
        self.drv.destroy(None, inst)
        self.assertNothingLeft(inst)


class TestUsableGuestFromDisk(DiskTestCase, test_network.NetworkTestCase):
    """A user's guest per arch: disk -> config drive -> network -> gone."""

    def setUp(self):
        super().setUp()
        self.host_name = 'emuvirt-it-disk-%s' % uuid_lib.uuid4().hex[:8]
        self.placement = faults.PlacementProcess(
            os.path.join(self.tmpdir, 'placement'))
        t = time.monotonic()
        try:
            self.placement.start()
        except base.Missing as e:
            self.require_missing(str(e))
        self.addCleanup(self.placement.kill)
        self.addDetail('seconds-placement-start', base.content.text_content(
            '%.1f' % (time.monotonic() - t)))
        self.compute = os.path.join(os.path.dirname(sys.executable),
                                    'emuvirt-compute')
        if not os.path.exists(self.compute):
            self.require_missing('the emuvirt-compute command (%s)'
                                 % self.compute)

    def config(self):
        path = os.path.join(self.tmpdir, 'emuvirt.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nhost = %s\nstate_path = %s\n'
                    '[libvirt]\nconnection_uri = %s\ninstances_path = %s\n'
                    'virt_type = qemu\n%s'
                    % (self.host_name, os.path.join(self.tmpdir, 'state'),
                       self.uri, self.instances,
                       self.placement.conf_text()))
        return path

    def report_provider(self):
        """One emuvirt-compute cycle: this host's provider in Placement."""
        proc = subprocess.run(
            [self.compute, '--config-file', self.config(), '--once'],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stdout)
        rp = report.provider_uuid(self.host_name)
        self.assertIsNotNone(self.placement.provider(rp))
        return rp

    def use(self, arch, boot_loader, firmware_text):
        disk = self.usable_disk(arch)
        self.require_emulator(arch)
        t = time.monotonic()
        rp = self.report_provider()
        self.addDetail('seconds-compute-once', base.content.text_content(
            '%.1f' % (time.monotonic() - t)))
        token = uuid_lib.uuid4().hex
        key = os.path.join(self.tmpdir, 'id_ed25519.pub')
        user_data = os.path.join(self.tmpdir, 'user-data')
        text = USER_DATA_TEXT % {'arch': arch, 'token': token}
        with open(key, 'w') as f:
            f.write(test_config_drive.KEY)
        with open(user_data, 'w') as f:
            f.write(text)
        mac = '52:54:00:%02x:%02x:%02x' % tuple(
            random.randrange(256) for _ in range(3))
        name = self.domain_name('use-' + arch)
        self.addCleanup(self.remove_domain, name)

        t0 = time.monotonic()
        self.emuvirt('create', name, '--image', disk.path,
                     '--property', 'hw_emulation_architecture=' + arch,
                     '--user-data', user_data, '--ssh-key', key,
                     '--network', test_network.NETWORK, '--mac', mac)
        times = {'created': time.monotonic() - t0}
        dom = self.conn.lookupByName(name)
        uuid = dom.UUIDString()
        xml = ElementTree.fromstring(dom.XMLDesc(0))
        # Booted through firmware: no kernel of the guest's given to QEMU
        # (riscv64's firmware, U-Boot, goes in as QEMU's kernel).
        kernel = xml.findtext('os/kernel')
        if arch == 'riscv64':
            self.assertEqual('u-boot.bin', os.path.basename(kernel))
        else:
            self.assertIsNone(kernel)
        self.assertIsNone(xml.find('os/initrd'))
        nvram = xml.findtext('os/nvram')
        self.assertIn(rp, self.placement.consumer_allocations(uuid))

        # The console: firmware, the disk's boot loader, then what the
        # initramfs read from the config drive.
        console = self.console_log_path(dom)
        self.wait_for_console(console, CONFIG_DRIVE_MARKER, domain=dom)
        times['config drive read'] = time.monotonic() - t0
        log = self.emuvirt('console-log', name).stdout
        self.addDetail('console', base.content.text_content(log))
        self.assertIn(firmware_text, log)
        self.assertEqual(boot_loader, route_of(log))
        self.assertIn(disk.marker, log)
        found = test_config_drive.LINE.search(log)
        self.assertEqual(uuid, found.group(3), found.group(0))
        self.assertEqual(['default ' + test_config_drive.KEY.strip()],
                         SSH_KEY.findall(log))
        self.assertEqual(text.splitlines(), USER_DATA.findall(log))
        self.assertEqual([hashlib.sha256(text.encode()).hexdigest()],
                         USER_DATA_SUM.findall(log))

        # The network: the lease server show gives, the responder on it.
        shown = re.compile(r'^addresses: +(\S+) \(%s\)$' % mac, re.M)
        found = self.wait_for('lease', lambda: shown.search(
            self.emuvirt('show', name).stdout))
        self.assertIsNotNone(found, 'server show gave no address for %s'
                             % mac)
        ip = found.group(1)
        # The marker is "EMUVIRT-UNAME: <uname -m>".
        self.assertEqual(disk.marker.partition(': ')[2] + '\n',
                         self.ask(ip, disk.meta['responder_port']))
        times['port %d answered' % disk.meta['responder_port']] = (
            time.monotonic() - t0)

        self.emuvirt('delete', name)
        times['deleted'] = time.monotonic() - t0
        self.addDetail('seconds-from-create', base.content.text_content(
            ', '.join('%s %.1f' % kv for kv in times.items())))
        self.assertFalse(self.domain_exists(name))
        self.assertFalse(os.path.exists(os.path.join(self.instances, uuid)))
        if nvram:
            self.assertFalse(os.path.exists(nvram), nvram)
        self.assertEqual({}, self.placement.consumer_allocations(uuid))
        self.assertEqual({}, self.placement.provider_allocations(rp))

    def test_aarch64_uefi_grub(self):
        self.use('aarch64', 'grub-arm64-efi', test_guests.UEFI_MARKER)

    def test_x86_64_bios_grub(self):
        # SeaBIOS writes nothing on the serial port; GRUB does.
        self.use('x86_64', 'grub-i386-pc', 'EMUVIRT-GRUB: i386-pc')

    def test_ppc64le_slof_grub(self):
        self.use('ppc64le', 'grub-powerpc-ieee1275', 'SLOF')

    def test_riscv64_opensbi_u_boot(self):
        self.use('riscv64', 'u-boot-extlinux', 'U-Boot')

    def test_s390x_ccw_bios_zipl(self):
        # The s390-ccw BIOS finds zipl's SCSI boot record in block 0.
        self.use('s390x', 's390-ccw-zipl', 'Using SCSI scheme')

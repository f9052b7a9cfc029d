"""A flavor's ephemeral and swap disks (fake libvirt, real files).

Spawn makes ``disk.eph0`` (ext4, label ``ephemeral0``) and ``disk.swap``
(mkswap) in the instance directory and attaches them after the root disk
on its bus, before the config drive; a bus without the slots for them is
refused before anything is made; a failed spawn leaves none; a hard
reboot keeps them as they are, and makes them for a guest spawned before
emuvirt made them.
"""

import os
import shutil
import subprocess

from emuvirt.compute import api as compute_api
from emuvirt import exception
from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import instance as instance_obj
from emuvirt.tests.functional import test_hard_reboot
from emuvirt.tests.functional import test_lifecycle
from emuvirt.tests.functional import test_server_commands
from emuvirt.virt.libvirt import instance_files

EPH_SWAP = 'vcpus=1,ram=256,disk=1,ephemeral=1,swap=64'
MAGIC_EXT = (0x438, b'\x53\xef')        # ext2/3/4 superblock magic
MAGIC_SWAP = (4096 - 10, b'SWAPSPACE2')


def magic(path, where):
    offset, expected = where
    with open(path, 'rb') as f:
        f.seek(offset)
        return f.read(len(expected)) == expected


class LocalDisksTestCase(test_lifecycle.LifecycleTestCase):

    def setUp(self):
        super().setUp()
        for tool in ('mkfs.ext4', 'mkswap'):
            if not (shutil.which(tool) or
                    shutil.which(tool, path='/usr/sbin:/sbin')):
                self.require('%s (Debian packages e2fsprogs, util-linux)'
                             % tool)

    def disks(self, inst):
        """[(source file, target dev, bus, device)] in XML order."""
        return [(d.find('source').get('file'), d.find('target').get('dev'),
                 d.find('target').get('bus'), d.get('device'))
                for d in self.dom_xml(inst).iterfind('devices/disk')]

    def files(self, inst):
        d = self.instance_dir(inst)
        return (os.path.join(d, 'disk'), os.path.join(d, 'disk.eph0'),
                os.path.join(d, 'disk.swap'))


class TestSpawn(LocalDisksTestCase):

    def test_aarch64_virtio_after_the_root_disk(self):
        inst = self.spawned(image=self.image(), disk_format='qcow2',
                            kernel=False, flavor=EPH_SWAP)
        root, eph, swap = self.files(inst)
        self.assertEqual([(root, 'vda', 'virtio', 'disk'),
                          (eph, 'vdb', 'virtio', 'disk'),
                          (swap, 'vdc', 'virtio', 'disk')],
                         self.disks(inst))
        self.assertEqual(['raw', 'raw'], [
            d.find('driver').get('type') for d in
            self.dom_xml(inst).findall('devices/disk')[1:]])
        self.assertEqual((1024 ** 3, 64 * 1024 ** 2),
                         (os.path.getsize(eph), os.path.getsize(swap)))
        self.assertTrue(magic(eph, MAGIC_EXT))
        self.assertTrue(magic(swap, MAGIC_SWAP))
        # Sparse: a few MiB of metadata, not the size.
        self.assertLess(os.stat(eph).st_blocks * 512, 64 * 1024 ** 2)

    def test_ephemeral_label(self):
        blkid = shutil.which('blkid') or shutil.which(
            'blkid', path='/usr/sbin:/sbin')
        if blkid is None:
            self.require('blkid (Debian package util-linux)')
        inst = self.spawned(flavor='ephemeral=1')
        _root, eph, swap = self.files(inst)
        out = subprocess.run([blkid, '-o', 'export', eph], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        self.assertIn('LABEL=ephemeral0\n', out)
        self.assertIn('TYPE=ext4\n', out)
        self.assertFalse(os.path.exists(swap))

    def test_kernel_guest_without_root_disk(self):
        inst = self.spawned(flavor='swap=16')
        _root, _eph, swap = self.files(inst)
        self.assertEqual([(swap, 'vdb', 'virtio', 'disk')],
                         self.disks(inst))

    def test_mipsel_ide_fits_root_eph_swap_and_config_drive(self):
        inst, image_meta = self.instance(
            arch='mipsel', image=self.image(), disk_format='qcow2',
            flavor=EPH_SWAP)
        inst.config_drive = True
        self.spawn(inst, image_meta)
        root, eph, swap = self.files(inst)
        drive = os.path.join(self.instance_dir(inst), 'disk.config')
        self.assertEqual([(root, 'hda', 'ide', 'disk'),
                          (eph, 'hdb', 'ide', 'disk'),
                          (swap, 'hdc', 'ide', 'disk'),
                          (drive, 'hdd', 'ide', 'cdrom')],
                         self.disks(inst))

    def test_scsi_root_disk_keeps_the_cdrom_after_them(self):
        iso = self.image('raw')
        inst = self.spawned(image=iso, disk_format='iso', kernel=False,
                            flavor='disk=1,ephemeral=1,swap=8',
                            hw_disk_bus='scsi')
        root, eph, swap = self.files(inst)
        self.assertEqual([(root, 'sda', 'scsi', 'disk'),
                          (eph, 'sdb', 'scsi', 'disk'),
                          (swap, 'sdc', 'scsi', 'disk'),
                          (iso, 'sdd', 'scsi', 'cdrom')],
                         self.disks(inst))

    def test_without_them_nothing_changes(self):
        inst = self.spawned(image=self.image(), disk_format='qcow2',
                            kernel=False)
        self.assertEqual(['disk'], sorted(
            f for f in os.listdir(self.instance_dir(inst))
            if f.startswith('disk')))


class TestRefusedOrUndone(LocalDisksTestCase):

    def test_ide_without_a_slot_is_refused_naming_the_key(self):
        # malta's IDE: root disk, ephemeral, swap, iso and config drive
        # would need 5 of its 4 slots.
        iso = self.image('raw')
        inst, image_meta = self.instance(
            arch='mipsel', image=iso, disk_format='iso', flavor=EPH_SWAP)
        inst.config_drive = True
        error = self.assertRaises(exception.FlavorNotSupported, self.spawn,
                                  inst, image_meta)
        self.assertEqual(
            'Flavor swap=64: the ide bus of the mipsel machine malta has 4 '
            'slots; the root disk, ephemeral disk, swap disk, cdrom, config '
            'drive need 5', str(error))
        self.assertNothingLeft(inst)

    def test_refused_before_anything_is_claimed(self):
        class Client(object):
            claims = []

            def claim(self, *args):
                self.claims.append(args)

        iso = self.image('raw')
        inst, image_meta = self.instance(
            arch='mipsel', image=iso, disk_format='iso',
            flavor='disk=1,ephemeral=1,swap=1')
        inst.config_drive = True
        api = compute_api.ComputeAPI(self.flags.conf, driver=self.drv,
                                     reportclient=Client())
        self.assertRaises(exception.FlavorNotSupported, api.create, inst,
                          image_meta)
        self.assertEqual([], Client.claims)
        self.assertNothingLeft(inst)

    def test_failed_start_removes_them(self):
        self.break_method('createWithFlags')
        inst, image_meta = self.instance(flavor=EPH_SWAP)
        self.assertRaises(exception.GuestOperationFailed, self.spawn, inst,
                          image_meta)
        self.assertNothingLeft(inst)

    def test_failed_mkswap_removes_everything(self):
        # mkswap refuses a swap area of less than 10 pages: one MiB made
        # one page.
        self.useFixture(test_lifecycle.fixtures.MockPatchObject(
            instance_files, 'MiB', 4096))
        inst, image_meta = self.instance(flavor='ephemeral=1,swap=1')
        error = self.assertRaises(exception.DiskNotCreated, self.spawn,
                                  inst, image_meta)
        self.assertIn('disk.swap: mkswap failed: ', str(error))
        self.assertNothingLeft(inst)


class TestClaim(LocalDisksTestCase):

    def test_kernel_guest_claims_ephemeral_and_swap_only(self):
        inst = instance_obj.Instance.new(
            name='k', flavor=flavor_obj.Flavor.from_string(
                'vcpus=1,ram=256,disk=5,ephemeral=2,swap=1025'),
            kernel_path=test_lifecycle.KERNEL)
        self.assertEqual({'VCPU': 1, 'MEMORY_MB': 256, 'DISK_GB': 4},
                         compute_api.claim_resources(inst))
        self.assertEqual(5, inst.flavor.root_gb)

    def test_kernel_guest_without_them_claims_no_disk(self):
        inst = instance_obj.Instance.new(
            name='k', flavor=flavor_obj.Flavor.from_string('disk=5'),
            kernel_path=test_lifecycle.KERNEL)
        self.assertNotIn('DISK_GB', compute_api.claim_resources(inst))


class TestHardReboot(test_hard_reboot.HardRebootTestCase, LocalDisksTestCase):

    def test_kept_as_they_are(self):
        inst = self.spawned(flavor=EPH_SWAP)
        _root, eph, swap = self.files(inst)
        with open(eph, 'r+b') as f:
            f.seek(1024 ** 2)
            f.write(b'guest data')
        before = [os.stat(p).st_ino for p in (eph, swap)]
        self.drv.reboot(None, inst, None, 'HARD')
        self.assertEqual(before, [os.stat(p).st_ino for p in (eph, swap)])
        with open(eph, 'rb') as f:
            f.seek(1024 ** 2)
            self.assertEqual(b'guest data', f.read(10))
        self.assertEqual([eph, swap], [
            d[0] for d in self.disks(inst) if d[3] == 'disk'])

    def test_guest_from_before_gets_them(self):
        # Spawned before emuvirt made them: recorded, not attached.
        inst = self.spawned(flavor=EPH_SWAP)
        _root, eph, swap = self.files(inst)

        def detach(tree):
            for disk in tree.findall('devices/disk'):
                disk.getparent().remove(disk)
        self.edit(inst, detach)
        os.unlink(eph)
        os.unlink(swap)
        self.assertEqual((1, 64), (self.record(inst).ephemeral_gb,
                                   self.record(inst).swap))
        self.drv.reboot(None, inst, None, 'HARD')
        self.assertEqual([(eph, 'vdb', 'virtio', 'disk'),
                          (swap, 'vdc', 'virtio', 'disk')],
                         self.disks(inst))
        self.assertTrue(magic(eph, MAGIC_EXT))
        self.assertTrue(magic(swap, MAGIC_SWAP))

    def test_refused_definition_removes_what_it_made(self):
        inst = self.spawned(flavor=EPH_SWAP)
        _root, eph, swap = self.files(inst)
        os.unlink(swap)
        self.refused_hard_reboot(inst)
        self.assertTrue(os.path.exists(eph))
        self.assertFalse(os.path.exists(swap))


class TestServerCommand(test_server_commands.ServerTestCase):

    def test_show_names_them(self):
        self.create('g1', '--flavor', 'ram=256,ephemeral=2,swap=64')
        out, _err = self.ok('show', 'g1')
        self.assertIn('flavor:       vcpus=1,ram=256,disk=1,ephemeral=2,'
                      'swap=64\n', out)

    def test_refusal_is_one_line_naming_the_key(self):
        iso = self.file('installer.iso')
        err = self.refused(
            'create', 'g1', '--kernel', self.kernel, '--image', iso,
            '--property', 'hw_emulation_architecture=mipsel',
            '--config-drive', '--flavor', 'ephemeral=1,swap=8')
        self.assertEqual(
            'emuvirt: error: Flavor swap=8: the ide bus of the mipsel '
            'machine malta has 4 slots; the root disk, ephemeral disk, '
            'swap disk, cdrom, config drive need 5\n', err)
        self.assertNothingLeft()

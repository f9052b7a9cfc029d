"""Real disk images through each arch's own firmware, on the real daemon.

Each guest is spawned by :class:`EmuVirtDriver` from the disk image of
``tools/guest-images`` with nothing but ``hw_emulation_architecture`` set
(x86_64 UEFI adds ``hw_firmware_type=uefi``): no kernel is given, so the
arch's firmware finds the boot loader on the disk, which loads the kernel
and initramfs from the disk's /boot filesystem. The initramfs prints the
kernel command line, which names the boot loader (``emuvirt_boot=``), and
the guest's ``uname -m``, then powers off.
"""

import time

from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.objects import instance as instance_obj
from emuvirt.tests.integration import base
from emuvirt.tests.integration import test_guests
from emuvirt.virt import driver

CMDLINE_MARKER = 'EMUVIRT-CMDLINE: '


class TestDiskBootEachArch(test_guests.GuestTestCase):
    """Firmware -> boot loader on the disk -> kernel -> userspace."""

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

    def boot_disk(self, arch, boot_loader, firmware_text, **props):
        disk = self.disk_image(arch)
        t0 = time.monotonic()
        inst = self.spawn_disk(arch, disk, **props)
        self.assertEqual(driver.RUNNING, self.drv.get_info(inst).state)
        text = self.wait_for_console(self.console(inst), disk.marker,
                                     domain=self.dom(inst))
        self.addDetail('spawn-to-uname-seconds', base.content.text_content(
            '%.2f' % (time.monotonic() - t0)))
        # The firmware ran, then the boot loader of the disk booted the
        # kernel: its command line says which one.
        if firmware_text:
            self.assertIn(firmware_text, text)
        cmdline = text.split(CMDLINE_MARKER, 1)[1].splitlines()[0]
        self.assertIn('emuvirt_boot=%s' % boot_loader, cmdline.split())
        self.assertIn(disk.marker, text)
        # Its init powers off; on_poweroff=destroy stops the domain.
        self.wait_for_state(self.dom(inst), self.libvirt.VIR_DOMAIN_SHUTOFF)
        self.drv.destroy(None, inst)
        self.assertNothingLeft(inst)
        return text

    def test_aarch64_uefi_grub(self):
        self.boot_disk('aarch64', 'grub-arm64-efi', test_guests.UEFI_MARKER)

    def test_x86_64_bios_grub(self):
        self.flags.config(group='libvirt', virt_type='qemu')
        # SeaBIOS writes nothing on the serial port; GRUB does.
        text = self.boot_disk('x86_64', 'grub-i386-pc', None)
        self.assertIn('EMUVIRT-GRUB: i386-pc', text)

    def test_x86_64_uefi_grub(self):
        self.flags.config(group='libvirt', virt_type='qemu')
        self.boot_disk('x86_64', 'grub-x86_64-efi', 'BdsDxe',
                       hw_firmware_type='uefi')

    def test_ppc64le_slof_grub(self):
        self.boot_disk('ppc64le', 'grub-powerpc-ieee1275', 'SLOF')

    def test_riscv64_opensbi_u_boot(self):
        text = self.boot_disk('riscv64', 'u-boot-extlinux',
                              test_guests.OPENSBI_MARKER)
        self.assertIn('U-Boot', text)
        # OpenSBI first, then U-Boot, then the kernel.
        self.assertLess(text.index(test_guests.OPENSBI_MARKER),
                        text.index('U-Boot'))

    def test_s390x_ccw_bios_zipl(self):
        # The s390-ccw BIOS finds zipl's SCSI boot record in block 0.
        self.boot_disk('s390x', 's390-ccw-zipl', 'Using SCSI scheme')

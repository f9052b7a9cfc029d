"""Every arch's guest reads its config drive (real daemon, real QEMU).

``emuvirt server create --user-data --ssh-key`` boots the kernel of
``tools/guest-images`` with the initramfs of ``tools/nova-guest-images``
(``$EMUVIRT_GUEST_IMAGES/nova/<arch>/initrd.img``), which loads the block,
cdrom and isofs modules, finds the filesystem labelled ``config-2`` and
prints ``EMUVIRT-CONFIG-DRIVE: <device> uuid=<uuid>`` with the uuid of its
``openstack/latest/meta_data.json``: it must be the guest's own.
"""

import os
import re
import subprocess
import time

from emuvirt.tests.integration import base
from emuvirt.tests.integration import test_guests

KEY = ('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOGkk5tPLIx07FVFKBn1iN3nfABS141'
       'ogozM8RCz5p1h me@laptop\n')
LINE = re.compile(r'EMUVIRT-CONFIG-DRIVE: (none|(\S+) uuid=(\S*))\r?\n')


class CommandTestCase(test_guests.TestServerCommand):
    """The ``emuvirt`` command with TCG for every guest."""

    # Not again here: only the helpers of TestServerCommand are wanted.
    test_create_wait_show_delete = None

    def emuvirt(self, *argv, check=True):
        # TCG for every arch, x86_64 too (KVM asserts on some hosts).
        proc = subprocess.run(
            [self.command, '--config-file', self.config(), 'server'] +
            list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, timeout=self.BOOT_TIMEOUT + 30)
        if check:
            self.assertEqual(0, proc.returncode, proc.stderr)
        return proc

    def wait_for_console_line(self, name, pattern, what):
        """Poll ``server console-log NAME`` until ``pattern`` matches.

        Returns the match and the log; fails naming ``what`` once
        BOOT_TIMEOUT has passed without it.
        """
        deadline = time.monotonic() + self.BOOT_TIMEOUT
        while True:
            text = self.emuvirt('console-log', name).stdout
            found = pattern.search(text)
            if found is not None or time.monotonic() >= deadline:
                break
            time.sleep(1)
        self.addDetail('console', base.content.text_content(text))
        if found is None:
            self.fail('%s never printed its %s line within %d s'
                      % (name, what, self.BOOT_TIMEOUT))
        return found, text

    def config(self):
        path = os.path.join(self.tmpdir, 'emuvirt.conf')
        with open(path, 'w') as f:
            f.write('[libvirt]\nconnection_uri = %s\ninstances_path = %s\n'
                    'virt_type = qemu\n' % (self.uri, self.instances))
        return path


class KernelGuestTestCase(CommandTestCase):
    """Guests of the arch's test kernel with the Nova test initramfs."""

    def nova_initrd(self, arch):
        path = os.path.join(base.images_dir(), 'nova', arch, 'initrd.img')
        if not os.path.isfile(path):
            self.require_missing('the Nova test initramfs of %s (%s; run '
                                 '"tools/nova-guest-images build %s")'
                                 % (arch, path, arch))
        return path

    def create_kernel_guest(self, arch, prefix, *options):
        """``server create`` of a kernel guest with the Nova initramfs.

        The arch's test kernel, its command line and ``options``; returns
        the guest's name (removed at cleanup).
        """
        image = self.guest_image(arch)
        initrd = self.nova_initrd(arch)
        self.require_emulator(arch)
        name = self.domain_name(prefix + arch)
        self.addCleanup(self.remove_domain, name)
        self.emuvirt(
            'create', name, '--property',
            'hw_emulation_architecture=' + arch, '--kernel', image.kernel,
            '--ramdisk', initrd, '--cmdline', image.cmdline, *options)
        return name

    def boot(self, arch):
        key = os.path.join(self.tmpdir, 'id.pub')
        user_data = os.path.join(self.tmpdir, 'user-data')
        with open(key, 'w') as f:
            f.write(KEY)
        with open(user_data, 'w') as f:
            f.write('#cloud-config\n')
        name = self.create_kernel_guest(arch, 'cd-', '--user-data',
                                        user_data, '--ssh-key', key)
        uuid = self.conn.lookupByName(name).UUIDString()
        show = self.emuvirt('show', name).stdout
        drive = os.path.join(self.instances, uuid, 'disk.config')
        self.assertIn('config drive: %s\n' % drive, show)
        found = self.wait_for_line(name)
        self.assertEqual(uuid, found.group(3),
                         'the guest read: %s' % found.group(0))
        self.emuvirt('delete', name)
        self.assertFalse(os.path.exists(drive))
        return found

    def wait_for_line(self, name):
        found, text = self.wait_for_console_line(name, LINE,
                                                 'EMUVIRT-CONFIG-DRIVE')
        if found.group(2) is None:
            self.fail('%s found no config drive: %s' % (
                name, [ln for ln in text.splitlines()
                       if 'EMUVIRT-BLOCK' in ln]))
        return found


class TestGuestReadsItsConfigDrive(KernelGuestTestCase):

    def test_aarch64(self):
        self.boot('aarch64')

    def test_s390x(self):
        self.boot('s390x')

    def test_ppc64le(self):
        self.boot('ppc64le')

    def test_mipsel(self):
        self.boot('mipsel')

    def test_x86_64(self):
        self.boot('x86_64')

    def test_riscv64(self):
        self.boot('riscv64')

"""Real guests through emuvirt's driver and command on the real daemon.

Each guest is spawned by :class:`EmuVirtDriver` with nothing but
``hw_emulation_architecture`` set (plus, for the kernel guests, the kernel,
ramdisk and command line of ``tools/guest-images``), and proves itself on
its console: the kernel guests print their own ``uname -m``, riscv64
without a kernel its OpenSBI and U-Boot banners, aarch64 without a kernel
its UEFI firmware banner. Disk images: test_disk_boot.

Guests boot one at a time (a lock shared by the test processes): TCG on a
2-core host is slow enough without two guests competing.
"""

import fcntl
import os
import re
import subprocess
import sys
import time

from lxml import etree
from oslo_config import fixture as config_fixture

from emuvirt import conf
from emuvirt import exception
from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.objects import instance as instance_obj
from emuvirt.tests.integration import base
from emuvirt.virt import driver
from emuvirt.virt import emulation

LOCK_FILE = '/tmp/emuvirt-integration-boot.lock'
UEFI_MARKER = 'UEFI firmware'
OPENSBI_MARKER = 'OpenSBI'


class GuestTestCase(base.IntegrationTestCase):

    def setUp(self):
        super().setUp()
        self._serialise()
        self.instances = os.path.join(self.tmpdir, 'instances')
        self.flags = self.useFixture(config_fixture.Config(conf.CONF))
        self.flags.config(group='libvirt', connection_uri=self.uri,
                          instances_path=self.instances)
        self.drv = emulation.EmuVirtDriver()
        self.addCleanup(self.drv.host.close)

    def _serialise(self):
        fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.addCleanup(fcntl.flock, fd, fcntl.LOCK_UN)

    def spawn(self, arch, image=None, flavor='vcpus=1,ram=512', **extra):
        """Spawn a guest of ``arch``; a GuestImage gives its kernel.

        ``extra``: more image properties.
        """
        self.require_emulator(arch)
        props = dict(extra, hw_emulation_architecture=arch)
        if image is not None:
            props['os_command_line'] = image.cmdline
        image_meta = image_meta_obj.ImageMeta.from_dict(
            {'properties': props}, strict=True)
        inst = instance_obj.Instance.new(
            name=self.domain_name(arch),
            flavor=flavor_obj.Flavor.from_string(flavor),
            image_meta=image_meta,
            kernel_path=image.kernel if image else None,
            ramdisk_path=image.initrd if image else None)
        self.addCleanup(self.drv.destroy, None, inst)
        self.drv.spawn(None, inst, image_meta, [], None, None)
        return inst

    def dom(self, inst):
        return self.conn.lookupByUUIDString(inst.uuid)

    def console(self, inst):
        return self.drv.get_console_log_path(inst)

    def wait_for(self, inst, marker, count=1, timeout=None):
        """Wait until ``marker`` shows ``count`` times on the console."""
        timeout = self.BOOT_TIMEOUT if timeout is None else timeout
        path = self.console(inst)
        deadline = time.monotonic() + timeout
        while True:
            text = self.drv.get_console_output(None, inst)
            if text.count(marker) >= count:
                return text
            if time.monotonic() >= deadline:
                self.addDetail('console-log',
                               base.content.text_content(text))
                self.fail('%s never showed %r %d times within %d s'
                          % (path, marker, count, timeout))
            time.sleep(0.1)

    def assertNothingLeft(self, inst, nvram=None):
        self.assertFalse(self.domain_exists(inst.name))
        self.assertFalse(os.path.exists(os.path.join(self.instances,
                                                     inst.uuid)))
        if nvram:
            self.assertFalse(os.path.exists(nvram))


class TestBootEachArch(GuestTestCase):
    """Only hw_emulation_architecture set: the guest shows its own arch."""

    def boot_kernel(self, arch):
        image = self.guest_image(arch)
        t0 = time.monotonic()
        inst = self.spawn(arch, image)
        self.assertEqual(driver.RUNNING, self.drv.get_info(inst).state)
        text = self.wait_for_console(self.console(inst), image.marker,
                                     domain=self.dom(inst))
        self.addDetail('spawn-to-uname-seconds', base.content.text_content(
            '%.2f' % (time.monotonic() - t0)))
        self.assertIn('EMUVIRT-UNAME: %s' % image.expected_uname, text)
        # Its init powers off; on_poweroff=destroy stops the domain.
        self.wait_for_state(self.dom(inst), self.libvirt.VIR_DOMAIN_SHUTOFF)
        self.assertEqual(driver.SHUTDOWN, self.drv.get_info(inst).state)
        self.drv.destroy(None, inst)
        self.assertNothingLeft(inst)

    def test_aarch64(self):
        self.boot_kernel('aarch64')

    def test_s390x(self):
        self.boot_kernel('s390x')

    def test_ppc64le(self):
        self.boot_kernel('ppc64le')

    def test_mipsel(self):
        # The malta kernel calls itself "mips".
        self.boot_kernel('mipsel')

    def test_mipsel_two_vcpus_refused(self):
        # The daemon takes 2 vCPUs on malta, but its 24Kf has no SMP and
        # such a guest hung with an empty console: refused, nothing left.
        self.require_emulator('mipsel')
        image = self.guest_image('mipsel')
        self.assertGreater(self.drv.host.get_domain_capabilities(
            'mipsel', 'malta', 'qemu').max_vcpus, 1)
        image_meta = image_meta_obj.ImageMeta.from_dict(
            {'properties': {'hw_emulation_architecture': 'mipsel',
                            'os_command_line': image.cmdline}}, strict=True)
        inst = instance_obj.Instance.new(
            name=self.domain_name('mipsel'),
            flavor=flavor_obj.Flavor.from_string('vcpus=2,ram=512'),
            image_meta=image_meta, kernel_path=image.kernel,
            ramdisk_path=image.initrd)
        e = self.assertRaises(exception.FlavorNotSupported, self.drv.spawn,
                              None, inst, image_meta, [], None, None)
        self.assertTrue(str(e).startswith(
            'Flavor vcpus=2: mipsel guests take at most 1 ('), e)
        self.assertNothingLeft(inst)

    def test_riscv64(self):
        # A Debian 13 kernel: riscv64 is not a Debian 12 architecture.
        self.boot_kernel('riscv64')

    def test_x86_64(self):
        self.flags.config(group='libvirt', virt_type='qemu')
        self.boot_kernel('x86_64')

    def test_riscv64_firmware_banner(self):
        # No kernel, no disk: OpenSBI starts U-Boot, which finds nothing
        # to boot.
        inst = self.spawn('riscv64')
        text = self.wait_for(inst, 'U-Boot')
        self.assertIn(OPENSBI_MARKER, text)
        self.assertRegex(text, r'Platform Name\s*: riscv-virtio')
        self.drv.destroy(None, inst)
        self.assertNothingLeft(inst)

    def test_aarch64_uefi_without_kernel(self):
        inst = self.spawn('aarch64')
        self.wait_for(inst, UEFI_MARKER)
        nvram = self.dom(inst).XMLDesc(0).split('<nvram', 1)[1]
        nvram = re.search(r'>([^<]+)</nvram>', nvram).group(1)
        # libvirt copied the vars template at first start.
        self.assertTrue(os.path.isfile(nvram), nvram)
        self.drv.destroy(None, inst)
        self.assertNothingLeft(inst, nvram)


class TestDeviceProperties(GuestTestCase):
    """Device properties reach the running guest, which still boots."""

    def boot(self, arch, **props):
        image = self.guest_image(arch)
        inst = self.spawn(arch, image, **props)
        live = self.dom(inst).XMLDesc(0)
        text = self.wait_for_console(self.console(inst), image.marker,
                                     domain=self.dom(inst))
        self.assertIn('EMUVIRT-UNAME: %s' % image.expected_uname, text)
        return inst, etree.fromstring(live)

    def test_aarch64_e1000_agent_serial_ports_scsi(self):
        inst, live = self.boot(
            'aarch64', hw_vif_model='e1000', hw_qemu_guest_agent='yes',
            hw_serial_port_count='2', hw_scsi_model='lsilogic')
        self.assertEqual(['e1000'], [m.get('type') for m in live.findall(
            'devices/interface/model')])
        self.assertEqual(['org.qemu.guest_agent.0'], [
            t.get('name') for t in live.findall('devices/channel/target')])
        self.assertEqual(['system-serial', 'pci-serial'], [
            t.get('type') for t in live.findall('devices/serial/target')])
        self.assertEqual(['lsilogic'], [c.get('model') for c in live.findall(
            'devices/controller[@type="scsi"]')])
        self.drv.destroy(None, inst)

    def test_s390x_virtio_video_nova_recipe(self):
        inst, live = self.boot('s390x', hw_video_model='virtio',
                               hw_console_type='vnc')
        video = live.find('devices/video')
        self.assertEqual('virtio', video.find('model').get('type'))
        # virtio-gpu-ccw: on the channel subsystem, not PCI.
        self.assertEqual('ccw', video.find('address').get('type'))
        self.assertEqual(['virtio', 'virtio'], [
            i.get('bus') for i in live.findall('devices/input')
            if i.get('type') in ('tablet', 'keyboard')])
        self.drv.destroy(None, inst)


class TestLifecycle(GuestTestCase):
    """A UEFI guest (it keeps running) through every power operation."""

    def state(self, inst):
        return self.drv.get_info(inst).state

    def test_reboot_stop_start_delete(self):
        # UEFI does not act on the power button: a soft reboot or a stop
        # turns hard after the timeout.
        self.flags.config(group='libvirt', shutdown_timeout=1)
        inst = self.spawn('aarch64')
        self.wait_for(inst, UEFI_MARKER, 1)
        first = self.dom(inst).ID()

        self.drv.reboot(None, inst, None, 'SOFT')
        self.wait_for(inst, UEFI_MARKER, 2)
        second = self.dom(inst).ID()
        self.drv.reboot(None, inst, None, 'HARD')
        self.wait_for(inst, UEFI_MARKER, 3)
        self.assertEqual(3, len({first, second, self.dom(inst).ID()}))

        self.drv.power_off(inst, timeout=1, retry_interval=0.5)
        self.assertEqual(driver.SHUTDOWN, self.state(inst))
        self.drv.power_on(None, inst, None)
        self.assertEqual(driver.RUNNING, self.state(inst))
        self.wait_for(inst, UEFI_MARKER, 4)

        nvram = os.path.join(self.instances, inst.uuid, 'nvram.fd')
        self.assertTrue(os.path.isfile(nvram))
        self.drv.destroy(None, inst)
        self.assertNothingLeft(inst, nvram)
        self.assertNotIn(inst.name, self.drv.list_instances())


class TestServerCommand(GuestTestCase):
    """``emuvirt server`` in its own processes, as a user runs it."""

    def emuvirt(self, *argv, check=True):
        config = os.path.join(self.tmpdir, 'emuvirt.conf')
        with open(config, 'w') as f:
            f.write('[libvirt]\nconnection_uri = %s\ninstances_path = %s\n'
                    % (self.uri, self.instances))
        proc = subprocess.run(
            [self.command, '--config-file', config, 'server'] + list(argv),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=self.BOOT_TIMEOUT + 30)
        self.addDetail('emuvirt %s' % argv[0], base.content.text_content(
            proc.stdout + proc.stderr))
        if check:
            self.assertEqual(0, proc.returncode, proc.stderr)
        return proc

    def setUp(self):
        super().setUp()
        # The console script of the environment running the tests.
        self.command = os.path.join(os.path.dirname(sys.executable),
                                    'emuvirt')
        if not os.path.exists(self.command):
            self.require_missing('the emuvirt command (%s)' % self.command)

    def test_create_wait_show_delete(self):
        image = self.guest_image('aarch64')
        self.require_emulator('aarch64')
        name = self.domain_name('cli')
        self.addCleanup(self.remove_domain, name)
        out = self.emuvirt(
            'create', name, '--property', 'hw_emulation_architecture=aarch64',
            '--kernel', image.kernel, '--ramdisk', image.initrd,
            '--cmdline', image.cmdline, '--wait', '--wait-for',
            image.marker).stdout
        self.assertIn("%s: '%s' on the console" % (name, image.marker), out)

        listed = self.emuvirt('list').stdout
        self.assertRegex(listed, r'(?m)^%s\s+\S+\s+aarch64\s' % name)
        show = self.emuvirt('show', name).stdout
        self.assertRegex(show, r'(?m)^arch:\s+aarch64$')
        self.assertRegex(show, r'(?m)^machine type:\s+virt-')
        log = self.emuvirt('console-log', name, '--lines', '50').stdout
        self.assertIn(image.marker, log)

        self.emuvirt('delete', name)
        self.assertFalse(self.domain_exists(name))
        self.assertEqual([], os.listdir(self.instances))
        gone = self.emuvirt('show', name, check=False)
        self.assertEqual((1, 'emuvirt: error: Instance %s could not be '
                          'found.\n' % name),
                         (gone.returncode, gone.stderr))

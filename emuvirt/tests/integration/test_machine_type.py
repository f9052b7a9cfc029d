"""Machine types on the real daemon: recorded, stable, changed safely.

Guests are aarch64 kernels spawned by the real driver and run under TCG.
Their init is ``busybox sleep`` (``rdinit=/bin/busybox -- sleep 900``), so
a guest stays running until the test stops it, and the kernel's "Run
/bin/busybox as init process" on the console proves it booted.
``emuvirt-manage`` and ``emuvirt-status`` run as separate processes with
a config file, as an operator runs them.
"""

import os
import subprocess
import sys

from lxml import etree
from oslo_config import fixture as config_fixture

from emuvirt import conf
from emuvirt.tests.fixtures import guests
from emuvirt.tests.integration import base
from emuvirt.virt import emulation
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import machine_type
from emuvirt.virt.libvirt import records

ARCH = 'aarch64'
BOOTED = 'Run /bin/busybox as init process'
CMDLINE = 'console=ttyAMA0 rdinit=/bin/busybox -- sleep 900'


class MachineTypeIntegrationTestCase(base.IntegrationTestCase):

    def setUp(self):
        super().setUp()
        self.require_emulator(ARCH)
        self.image = self.guest_image(ARCH)
        self.flags = self.useFixture(config_fixture.Config(conf.CONF))
        instances = os.path.join(self.tmpdir, 'instances')
        self.flags.config(connection_uri=self.uri, instances_path=instances,
                          group='libvirt')
        self.conf_file = os.path.join(self.tmpdir, 'emuvirt.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[libvirt]\nconnection_uri = %s\ninstances_path = %s\n'
                    % (self.uri, instances))
        self.host = vhost.Host(self.uri)
        self.addCleanup(self.host.close)

    def driver(self):
        """A driver as a (re)started service would build it."""
        return emulation.EmuVirtDriver(host=vhost.Host(self.uri))

    def spawn(self, **props):
        name = self.domain_name('mt')
        props['os_command_line'] = CMDLINE
        instance, image_meta = guests.make_instance(ARCH, name, props)
        instance.kernel_path = self.image.kernel
        instance.ramdisk_path = self.image.initrd
        self.addCleanup(self.remove_domain, name)
        self.driver().spawn(None, instance, image_meta, [], None, {})
        return instance, self.conn.lookupByName(name)

    def wait_booted(self, dom):
        path = self.console_log_path(dom)
        self.wait_for_console(path, BOOTED, domain=dom)

    def start_fresh_console(self, driver, instance, dom):
        """Empty the console log, power on, wait for the kernel's init."""
        with open(self.console_log_path(dom), 'w'):
            pass
        driver.power_on(None, instance, None)
        self.wait_booted(dom)

    def machine(self, dom, flags=0):
        """The machine of the live (flags=0) or persistent definition."""
        return etree.fromstring(dom.XMLDesc(flags).encode()).find(
            'os/type').get('machine')

    def persistent(self, dom):
        return dom.XMLDesc(records.PERSISTENT_XML)

    def qemu_machine(self, dom):
        """The -machine QEMU runs with, from /proc; None if not visible."""
        needle = 'guest=%s,' % dom.name()
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    args = f.read().decode(errors='replace').split('\0')
            except OSError:
                continue
            if needle in ' '.join(args) and '-machine' in args:
                return args[args.index('-machine') + 1].split(',')[0]
        return None

    def assertRunsWith(self, machine, dom):
        self.assertTrue(dom.isActive())
        self.assertEqual(machine, self.machine(dom))
        self.assertIn(self.qemu_machine(dom), (machine, None))

    def cli(self, module, *args):
        """(exit code, stdout, stderr) of emuvirt-manage/-status."""
        proc = subprocess.run(
            [sys.executable, '-m', module, '--config-file', self.conf_file]
            + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, timeout=120, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr

    def manage(self, *args):
        return self.cli('emuvirt.cmd.manage', *args)

    def assertManage(self, code, *args):
        result = self.manage(*args)
        self.assertEqual(code, result[0], result)
        return result


class TestStability(MachineTypeIntegrationTestCase):

    def test_config_change_never_reaches_an_existing_guest(self):
        self.flags.config(hw_machine_type=['aarch64=virt-7.1'],
                          group='libvirt')
        instance, dom = self.spawn()
        self.wait_booted(dom)
        self.assertRunsWith('virt-7.1', dom)
        self.assertManage(0, 'libvirt', 'get_machine_type', dom.name())

        # Stop, change the option, restart the "service", start.
        self.driver().power_off(instance)
        self.flags.config(hw_machine_type=['aarch64=virt-7.2'],
                          group='libvirt')
        drv = self.driver()
        self.start_fresh_console(drv, instance, dom)
        self.assertRunsWith('virt-7.1', dom)
        drv.reboot(None, instance, None, 'HARD')
        self.assertRunsWith('virt-7.1', dom)
        self.assertEqual((0, 'virt-7.1\n', ''), self.manage(
            'libvirt', 'get_machine_type', dom.UUIDString()))


class TestUpdate(MachineTypeIntegrationTestCase):

    def test_refused_while_running_applied_when_stopped(self):
        instance, dom = self.spawn(hw_machine_type='virt-7.0')
        name = dom.name()
        self.wait_booted(dom)
        self.assertRunsWith('virt-7.0', dom)

        # Running: refused, nothing changes.
        before = self.persistent(dom)
        code, out, err = self.assertManage(
            3, 'libvirt', 'update_machine_type', name, 'virt-7.2')
        self.assertIn('is running', err)
        self.assertEqual(before, self.persistent(dom))
        self.assertRunsWith('virt-7.0', dom)

        drv = self.driver()
        drv.power_off(instance)
        before = self.persistent(dom)
        for code, new in ((4, 'virt-6.2'), (4, 'virt'), (4, 'sbsa-ref'),
                          (5, 'virt-9.9'), (5, 'pseries-7.2')):
            self.assertManage(code, 'libvirt', 'update_machine_type', name,
                              new)
            self.assertEqual(before, self.persistent(dom), new)
        self.assertManage(2, 'libvirt', 'update_machine_type',
                          self.domain_name('none'), 'virt-7.2')

        self.assertEqual(
            (0, 'Updated the machine type of %s from virt-7.0 to '
                'virt-7.2\n' % name, ''),
            self.manage('libvirt', 'update_machine_type', name, 'virt-7.2'))
        self.assertEqual((0, 'virt-7.2\n', ''),
                         self.manage('libvirt', 'get_machine_type', name))

        self.start_fresh_console(drv, instance, dom)
        self.assertRunsWith('virt-7.2', dom)

    def test_forced_lower_version_boots(self):
        instance, dom = self.spawn()
        self.driver().power_off(instance)
        self.assertManage(4, 'libvirt', 'update_machine_type', dom.name(),
                          'virt-7.1')
        self.assertManage(0, 'libvirt', 'update_machine_type', dom.name(),
                          'virt-7.1', '--force')
        self.start_fresh_console(self.driver(), instance, dom)
        self.assertRunsWith('virt-7.1', dom)


class TestUnsetAndStatus(MachineTypeIntegrationTestCase):

    # Recording machine types (emuvirt-compute's start, record_missing)
    # covers every guest on the daemon, and these tests need theirs left
    # unrecorded until they record it: no other test runs beside them.
    DAEMON_LOCK = base.fcntl.LOCK_EX

    def test_unrecorded_guest_listed_warned_then_recorded(self):
        instance, dom = self.spawn()
        self.driver().power_off(instance)
        # As if the guest predated machine type recording.
        self.conn.defineXML(guests.rewrite(self.persistent(dom),
                                           recorded=False))
        uuid = dom.UUIDString()

        code, out, err = self.manage('libvirt', 'list_unset_machine_type')
        self.assertEqual(3, code, err)
        self.assertIn(uuid, out.split())
        code, out, err = self.assertManage(3, 'libvirt', 'get_machine_type',
                                           uuid)
        self.assertIn('domain XML says virt-7.2', err)
        code, out, err = self.cli('emuvirt.cmd.status', 'upgrade', 'check')
        self.assertIn(code, (1, 2), out + err)
        self.assertIn(uuid, out.replace('\n', '').replace('|', '').replace(
            ' ', ''))

        # What emuvirt-compute does at start.
        self.assertEqual('virt-7.2',
                         machine_type.record_missing(self.host)[uuid])
        code, out, err = self.manage('libvirt', 'list_unset_machine_type')
        self.assertNotIn(uuid, out.split())
        self.assertEqual(3 if out else 0, code)
        self.assertEqual((0, 'virt-7.2\n', ''),
                         self.manage('libvirt', 'get_machine_type', uuid))

    def test_running_guest_recorded_without_a_restart(self):
        instance, dom = self.spawn()
        self.wait_booted(dom)
        # A persistent definition without a machine type, as left by an
        # older emuvirt; the guest keeps running on virt-7.2.
        self.conn.defineXML(guests.rewrite(self.persistent(dom),
                                           recorded=False))
        self.assertManage(3, 'libvirt', 'get_machine_type', dom.name())

        self.assertEqual('virt-7.2', machine_type.record_missing(
            self.host)[dom.UUIDString()])
        self.assertEqual((0, 'virt-7.2\n', ''), self.manage(
            'libvirt', 'get_machine_type', dom.name()))
        self.assertRunsWith('virt-7.2', dom)
        self.assertEqual('virt-7.2', self.machine(dom,
                                                  records.PERSISTENT_XML))


class TestImageProperty(MachineTypeIntegrationTestCase):

    def test_show_and_set(self):
        instance, dom = self.spawn(hw_disk_bus='virtio')
        name = dom.name()
        self.assertEqual((0, 'virtio\n', ''), self.manage(
            'image_property', 'show', name, 'hw_disk_bus'))
        self.assertManage(3, 'image_property', 'show', name,
                          'hw_video_model')
        self.assertManage(2, 'image_property', 'show',
                          self.domain_name('none'), 'hw_disk_bus')

        before = self.persistent(dom)
        self.assertManage(3, 'image_property', 'set', name, '--property',
                          'hw_disk_bus=scsi')
        self.driver().power_off(instance)
        self.assertManage(4, 'image_property', 'set', name, '--property',
                          'hw_bogus=1')
        self.assertManage(5, 'image_property', 'set', name, '--property',
                          'hw_disk_bus=floppy')
        self.assertEqual(before, self.persistent(dom))

        self.assertManage(0, 'image_property', 'set', name, '--property',
                          'hw_disk_bus=scsi')
        self.assertEqual((0, 'scsi\n', ''), self.manage(
            'image_property', 'show', name, 'hw_disk_bus'))
        # Only the record changed: the guest starts as it did.
        self.start_fresh_console(self.driver(), instance, dom)
        self.assertRunsWith('virt-7.2', dom)

    def server(self, *args):
        """(exit code, stdout, stderr) of ``emuvirt server ...``."""
        proc = subprocess.run(
            [sys.executable, '-c',
             'import sys; from emuvirt.cmd import emuvirt; '
             'sys.exit(emuvirt.main())', '--config-file', self.conf_file,
             'server'] + list(args), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            timeout=self.BOOT_TIMEOUT + 60, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr

    def test_set_takes_effect_at_hard_reboot(self):
        instance, dom = self.spawn()
        name, uuid = dom.name(), dom.UUIDString()
        self.wait_booted(dom)
        console = self.console_log_path(dom)
        self.driver().power_off(instance)

        # Refused at set time, naming the property: aarch64 has no IDE.
        before = self.persistent(dom)
        code, out, err = self.assertManage(
            5, 'image_property', 'set', name, '--property',
            'hw_disk_bus=ide')
        self.assertIn('Image property hw_disk_bus', err)
        self.assertEqual(before, self.persistent(dom))

        code, out, err = self.assertManage(
            0, 'image_property', 'set', name, '--property',
            'hw_video_model=virtio')
        self.assertIn('next hard reboot', out)
        with open(console, 'w'):
            pass
        self.assertEqual((0, 'rebooted %s\n' % name, ''),
                         self.server('reboot', '--hard', name))
        self.wait_booted(dom)

        live = etree.fromstring(dom.XMLDesc(0).encode())
        self.assertEqual(['virtio'], [
            m.get('type') for m in live.iterfind('devices/video/model')])
        self.assertEqual((name, uuid), (dom.name(), dom.UUIDString()))
        self.assertEqual(console, self.console_log_path(dom))
        self.assertRunsWith('virt-7.2', dom)
        self.assertEqual((0, 'virtio\n', ''), self.manage(
            'image_property', 'show', name, 'hw_video_model'))

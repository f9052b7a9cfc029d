"""The driver lifecycle on the fake libvirt: spawn, destroy, reboot, power.

Real driver code, real qemu-img and real files in a temporary
``instances_path``; only libvirt is fake. Failures are injected into the
fake at every step of spawn, and each time nothing may stay behind: no
domain, no instance directory (which holds the disk and the NVRAM).
"""

import os
import shutil
import signal
import subprocess
import threading
from unittest import mock

import fixtures
import libvirt
from lxml import etree

from emuvirt import exception
from emuvirt import interrupt
from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.objects import instance as instance_obj
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.functional import test_base
from emuvirt.virt import driver
from emuvirt.virt import emulation
from emuvirt.virt.libvirt import instance_files

KERNEL = '/srv/images/vmlinuz'
RAMDISK = '/srv/images/initrd.img'


class LifecycleTestCase(test_base.FunctionalTestCase):

    host_arch = 'x86_64'

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.instances = os.path.join(self.tmp, 'instances')
        self.flags.config(group='libvirt', instances_path=self.instances)
        self.fake = self.use_host(self.host_arch)
        self.conn = self.fake.connection
        self.drv = emulation.EmuVirtDriver()

    def instance(self, arch='aarch64', image=None, disk_format=None,
                 kernel=True, flavor='vcpus=1,ram=256,disk=1', name='g1',
                 **props):
        props['hw_emulation_architecture'] = arch
        image_meta = image_meta_obj.ImageMeta.from_dict(
            {'properties': props, 'disk_format': disk_format}, strict=True)
        inst = instance_obj.Instance.new(
            name=name, flavor=flavor_obj.Flavor.from_string(flavor),
            image_meta=image_meta, image_path=image,
            kernel_path=KERNEL if kernel else None,
            ramdisk_path=RAMDISK if kernel else None)
        return inst, image_meta

    def spawn(self, inst, image_meta, network_info=None):
        self.drv.spawn(None, inst, image_meta, [], None, None,
                       network_info=network_info)

    def spawned(self, network_info=None, **kwargs):
        inst, image_meta = self.instance(**kwargs)
        self.spawn(inst, image_meta, network_info)
        return inst

    def domain(self, inst):
        return self.conn.lookupByUUIDString(inst.uuid)

    def dom_xml(self, inst):
        return etree.fromstring(self.domain(inst).XMLDesc(0))

    def instance_dir(self, inst):
        return os.path.join(self.instances, inst.uuid)

    def assertNothingLeft(self, inst):
        self.assertEqual([], self.conn.listAllDomains())
        self.assertFalse(os.path.exists(self.instance_dir(inst)))

    def image(self, fmt='qcow2', size='16M'):
        if shutil.which('qemu-img') is None:
            self.require('qemu-img (Debian package qemu-utils)')
        path = os.path.join(self.tmp, 'base.' + fmt)
        subprocess.run(['qemu-img', 'create', '-q', '-f', fmt, path, size],
                       check=True)
        return path

    def break_method(self, name, side_effect=None, code=None, message=None):
        if side_effect is None:
            side_effect = fakelibvirt.make_error(
                code or libvirt.VIR_ERR_INTERNAL_ERROR,
                message or 'internal error: injected failure')
        return self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, name, side_effect=side_effect)).mock


class TestSpawn(LifecycleTestCase):

    def test_kernel_guest_defined_and_running(self):
        inst = self.spawned()
        dom = self.domain(inst)
        self.assertEqual((inst.name, libvirt.VIR_DOMAIN_RUNNING),
                         (dom.name(), dom.state()[0]))
        self.assertEqual(['console.log'] if os.path.exists(os.path.join(
            self.instance_dir(inst), 'console.log')) else [],
            os.listdir(self.instance_dir(inst)))
        root = self.dom_xml(inst)
        self.assertEqual(KERNEL, root.findtext('os/kernel'))
        self.assertEqual([], root.findall('devices/disk'))

    def test_record_in_metadata_serves_any_process(self):
        inst = self.spawned(hw_machine_type='virt')
        # A new driver (another process) knows it from libvirt alone.
        other = emulation.EmuVirtDriver()
        found = other.find_instance(inst.name)
        self.assertEqual(
            (inst.uuid, inst.name, 'virt-7.2', 1, 256, 1, KERNEL, RAMDISK),
            (found.uuid, found.name, found.machine_type, found.flavor.vcpus,
             found.flavor.memory_mb, found.flavor.root_gb,
             found.kernel_path, found.ramdisk_path))
        self.assertEqual({'hw_emulation_architecture': 'aarch64',
                          'hw_machine_type': 'virt'},
                         found.image_meta.properties.to_dict())
        self.assertEqual(inst.uuid, other.find_instance(inst.uuid).uuid)

    def test_disk_is_an_overlay_of_the_image(self):
        base = self.image()
        inst = self.spawned(image=base, disk_format='qcow2', kernel=False)
        disk = os.path.join(self.instance_dir(inst), 'disk')
        info = subprocess.run(
            ['qemu-img', 'info', '-U', '-f', 'qcow2', disk],
            stdout=subprocess.PIPE, text=True, check=True).stdout
        self.assertIn('backing file: %s' % base, info)
        source = self.dom_xml(inst).find('devices/disk/source')
        self.assertEqual(disk, source.get('file'))

    def test_iso_is_a_cdrom_with_a_blank_disk(self):
        iso = self.image('raw')
        inst = self.spawned(image=iso, disk_format='iso', kernel=False,
                            flavor='disk=2')
        disks = {d.get('device'): d.find('source').get('file')
                 for d in self.dom_xml(inst).findall('devices/disk')}
        self.assertEqual(
            {'cdrom': iso,
             'disk': os.path.join(self.instance_dir(inst), 'disk')},
            disks)

    def test_uefi_guest_names_nvram_in_its_dir(self):
        inst = self.spawned(kernel=False)
        nvram = self.dom_xml(inst).find('os/nvram')
        self.assertEqual(os.path.join(self.instance_dir(inst), 'nvram.fd'),
                         nvram.text)
        self.assertTrue(nvram.get('template'))

    def test_user_networking_without_the_network(self):
        nic = self.dom_xml(self.spawned()).find('devices/interface')
        self.assertEqual(('user', 'virtio'),
                         (nic.get('type'), nic.find('model').get('type')))

    def test_libvirt_network_when_up(self):
        self.fake.add_network('default')
        nic = self.dom_xml(self.spawned()).find('devices/interface')
        self.assertEqual(('network', 'default'),
                         (nic.get('type'), nic.find('source').get('network')))

    def test_inactive_network_is_not_used(self):
        self.fake.add_network('default', active=False)
        nic = self.dom_xml(self.spawned()).find('devices/interface')
        self.assertEqual('user', nic.get('type'))

    def test_network_name_option(self):
        self.flags.config(group='libvirt', network_name='lab')
        self.fake.add_network('default')
        self.fake.add_network('lab')
        nic = self.dom_xml(self.spawned()).find('devices/interface')
        self.assertEqual('lab', nic.find('source').get('network'))

    def test_spawn_uses_network_info(self):
        self.fake.add_network('default')
        self.fake.add_network('lab')
        info = [{'address': '52:54:00:12:34:56',
                 'network': {'label': 'lab'}}]
        nic = self.dom_xml(self.spawned(network_info=info)).find(
            'devices/interface')
        self.assertEqual(('network', 'lab', '52:54:00:12:34:56'), (
            nic.get('type'), nic.find('source').get('network'),
            nic.find('mac').get('address')))

    def test_spawn_refuses_network_info_without_network(self):
        self.assertRaises(exception.InvalidNetworkInfo, self.spawned,
                          network_info=[{'address': '52:54:00:12:34:56'}])
        self.assertRaises(exception.NetworkNotFound, self.spawned,
                          network_info=[{'network': {'label': 'lab'}}])

    def test_name_in_use(self):
        first = self.spawned()
        inst, image_meta = self.instance()
        error = self.assertRaises(exception.InstanceExists, self.spawn,
                                  inst, image_meta)
        self.assertIn('g1', str(error))
        self.assertEqual([first.uuid],
                         [d.UUIDString() for d in self.conn.listAllDomains()])
        self.assertFalse(os.path.exists(self.instance_dir(inst)))


class TestSpawnFailureLeavesNothing(LifecycleTestCase):

    def check(self, exc_class, **kwargs):
        inst, image_meta = self.instance(**kwargs)
        self.assertRaises(exc_class, self.spawn, inst, image_meta)
        self.assertNothingLeft(inst)
        return inst

    def test_bad_input(self):
        self.check(exception.InvalidImageProperty, hw_video_model='qxl')

    def test_unreadable_image(self):
        bad = os.path.join(self.tmp, 'bad.qcow2')
        self.image()  # qemu-img is needed to find out
        with open(bad, 'wb') as f:
            f.write(b'garbage')
        self.check(exception.InvalidImage, image=bad, disk_format='qcow2',
                   kernel=False)

    def test_define_fails(self):
        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeConnection, 'defineXML',
            side_effect=fakelibvirt.make_error(
                libvirt.VIR_ERR_XML_DETAIL, 'XML error: injected')))
        self.check(exception.GuestOperationFailed)

    def test_start_fails(self):
        self.break_method('createWithFlags')
        self.check(exception.GuestOperationFailed)

    def test_start_fails_after_nvram_was_made(self):
        # libvirt writes the NVRAM copy before QEMU fails to start.
        def start(dom, flags=0):
            nvram = etree.fromstring(dom.XMLDesc()).findtext('os/nvram')
            with open(nvram, 'wb') as f:
                f.write(b'\0' * 1024)
            raise fakelibvirt.make_error(libvirt.VIR_ERR_INTERNAL_ERROR,
                                         'qemu unexpectedly closed')
        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, 'createWithFlags', autospec=True,
            side_effect=start))
        self.check(exception.GuestOperationFailed, kernel=False)

    def test_start_fails_with_an_image(self):
        self.break_method('createWithFlags')
        self.check(exception.GuestOperationFailed, image=self.image(),
                   disk_format='qcow2', kernel=False)

    def test_interrupted(self):
        self.break_method('createWithFlags', side_effect=KeyboardInterrupt)
        self.check(KeyboardInterrupt)

    def test_cleanup_failure_does_not_hide_the_error(self):
        self.break_method('createWithFlags')
        self.break_method('undefineFlags')
        inst, image_meta = self.instance()
        error = self.assertRaises(exception.GuestOperationFailed,
                                  self.spawn, inst, image_meta)
        self.assertIn('Could not start', str(error))
        self.assertFalse(os.path.exists(self.instance_dir(inst)))

    def test_left_over_directory_is_not_adopted_or_removed(self):
        inst, image_meta = self.instance()
        stale = self.instance_dir(inst)
        os.makedirs(stale)
        self.assertRaises(exception.InstanceDirectoryExists, self.spawn,
                          inst, image_meta)
        self.assertTrue(os.path.isdir(stale))
        self.assertEqual([], self.conn.listAllDomains())


class TestDestroy(LifecycleTestCase):

    def test_running_uefi_guest_all_gone(self):
        inst = self.spawned(kernel=False)
        with open(os.path.join(self.instance_dir(inst), 'nvram.fd'),
                  'wb') as f:
            f.write(b'vars')
        self.drv.destroy(None, inst)
        self.assertNothingLeft(inst)

    def test_stopped_guest(self):
        inst = self.spawned()
        self.domain(inst).destroy()
        self.drv.destroy(None, inst)
        self.assertNothingLeft(inst)

    def test_missing_guest_is_fine(self):
        inst, _meta = self.instance()
        self.drv.destroy(None, inst)

    def test_keep_disks(self):
        inst = self.spawned()
        self.drv.destroy(None, inst, destroy_disks=False)
        self.assertEqual([], self.conn.listAllDomains())
        self.assertTrue(os.path.isdir(self.instance_dir(inst)))


class TestPower(LifecycleTestCase):

    def ignore_shutdown(self):
        return self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, 'shutdownFlags', return_value=0)).mock

    def state(self, inst):
        return self.drv.get_info(inst).state

    def test_get_info(self):
        inst = self.spawned()
        self.assertEqual(driver.InstanceInfo(driver.RUNNING, inst.uuid),
                         self.drv.get_info(inst))

    def test_get_info_of_missing_guest(self):
        inst, _meta = self.instance()
        self.assertRaises(exception.InstanceNotFound, self.drv.get_info,
                          inst)

    def test_power_off_cleanly(self):
        inst = self.spawned()
        self.drv.power_off(inst, timeout=5)
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN,
                         self.domain(inst).state()[1])

    def test_power_off_destroys_a_guest_that_ignores_it(self):
        shutdown = self.ignore_shutdown()
        inst = self.spawned()
        self.drv.power_off(inst, timeout=1.5, retry_interval=0.05)
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED,
                         self.domain(inst).state()[1])
        # Asked again every retry_interval.
        self.assertGreaterEqual(shutdown.call_count, 2)

    def test_power_off_without_timeout_destroys_at_once(self):
        shutdown = self.ignore_shutdown()
        inst = self.spawned()
        self.drv.power_off(inst)
        shutdown.assert_not_called()
        self.assertEqual(driver.SHUTDOWN, self.state(inst))

    def test_power_off_stopped_guest(self):
        inst = self.spawned()
        self.domain(inst).destroy()
        self.drv.power_off(inst, timeout=5)
        self.assertEqual(driver.SHUTDOWN, self.state(inst))

    def test_power_on(self):
        inst = self.spawned()
        self.domain(inst).destroy()
        self.drv.power_on(None, inst, None)
        self.assertEqual(driver.RUNNING, self.state(inst))
        # Running already: nothing to do.
        self.drv.power_on(None, inst, None)

    def test_soft_reboot_is_shutdown_and_start(self):
        inst = self.spawned()
        first_id = self.domain(inst).ID()
        self.drv.reboot(None, inst, None, 'SOFT')
        dom = self.domain(inst)
        self.assertEqual(driver.RUNNING, self.state(inst))
        self.assertNotEqual(first_id, dom.ID())

    def test_soft_reboot_turns_hard_after_the_timeout(self):
        self.flags.config(group='libvirt', shutdown_timeout=0)
        self.ignore_shutdown()
        inst = self.spawned()
        first_id = self.domain(inst).ID()
        with mock.patch.object(fakelibvirt.FakeDomain, 'destroyFlags',
                               autospec=True,
                               side_effect=fakelibvirt.FakeDomain.destroyFlags
                               ) as destroy:
            self.drv.reboot(None, inst, None, 'SOFT')
        self.assertEqual(1, destroy.call_count)
        self.assertEqual(driver.RUNNING, self.state(inst))
        self.assertNotEqual(first_id, self.domain(inst).ID())

    def test_hard_reboot(self):
        shutdown = self.ignore_shutdown()
        inst = self.spawned()
        first_id = self.domain(inst).ID()
        self.drv.reboot(None, inst, None, 'HARD')
        shutdown.assert_not_called()
        self.assertEqual(driver.RUNNING, self.state(inst))
        self.assertNotEqual(first_id, self.domain(inst).ID())

    def test_reboot_of_stopped_guest_starts_it(self):
        inst = self.spawned()
        self.domain(inst).destroy()
        self.drv.reboot(None, inst, None, 'SOFT')
        self.assertEqual(driver.RUNNING, self.state(inst))


class TestQueries(LifecycleTestCase):

    def define_foreign(self):
        """A domain somebody else defined: no emuvirt metadata."""
        self.conn.defineXML(
            "<domain type='qemu'><name>theirs</name><memory>1024</memory>"
            "<os><type arch='x86_64'>hvm</type></os></domain>")

    def test_lists_only_emuvirt_guests(self):
        self.define_foreign()
        a = self.spawned(name='a')
        b = self.spawned(name='b', arch='s390x')
        self.assertEqual(['a', 'b'], sorted(self.drv.list_instances()))
        self.assertEqual(sorted([a.uuid, b.uuid]),
                         sorted(self.drv.list_instance_uuids()))
        self.assertTrue(self.drv.instance_exists(a))

    def test_find_refuses_foreign_domains(self):
        self.define_foreign()
        self.assertRaises(exception.InstanceNotFound,
                          self.drv.find_instance, 'theirs')
        self.assertRaises(exception.InstanceNotFound,
                          self.drv.find_instance, 'nobody')

    def test_console_output(self):
        inst = self.spawned()
        path = self.drv.get_console_log_path(inst)
        self.assertEqual(os.path.join(self.instance_dir(inst),
                                      'console.log'), path)
        self.assertEqual('', self.drv.get_console_output(None, inst))
        with open(path, 'wb') as f:
            f.write(b'\x1b[0mBooting\r\n' + b'x\n' * (80 * 1024))
        text = self.drv.get_console_output(None, inst)
        self.assertEqual('x\n' * (50 * 1024), text)

    def test_console_log_of_s390x_guest(self):
        inst = self.spawned(arch='s390x')
        console = self.dom_xml(inst).find('devices/console/log')
        self.assertEqual(console.get('file'),
                         self.drv.get_console_log_path(inst))


class SignalHandlers(fixtures.Fixture):
    """emuvirt's SIGINT/SIGTERM handlers, as the commands install them."""

    def _setUp(self):
        self.addCleanup(interrupt.restore, interrupt.install())


class TestLibvirtLost(LifecycleTestCase):
    """The daemon dies mid-way: cleanup still runs every step."""

    def setUp(self):
        super().setUp()
        self.flags.config(group='libvirt', reconnect_timeout=5)
        self.useFixture(fixtures.MockPatch(
            'emuvirt.virt.libvirt.driver.RECONNECT_INTERVAL', 0.05))

    def die_during(self, method, cls=fakelibvirt.FakeDomain, after=True,
                   back_after=None):
        """The daemon dies during the first ``method`` call.

        With ``after``, the call took effect first. With ``back_after``
        the daemon is back that many seconds later.
        """
        real = getattr(cls, method)
        died = []

        def dying(obj, *args, **kwargs):
            if died:
                return real(obj, *args, **kwargs)
            died.append(True)
            if after:
                real(obj, *args, **kwargs)
            self.fake.kill_daemon()
            if back_after is not None:
                timer = threading.Timer(back_after, self.fake.restart_daemon)
                timer.start()
                self.addCleanup(timer.cancel)
            raise fakelibvirt.daemon_gone_error()
        self.useFixture(fixtures.MockPatchObject(
            cls, method, autospec=True, side_effect=dying))

    def domains(self):
        self.fake.restart_daemon()
        return [d.UUIDString() for d in self.conn.listAllDomains()]

    def test_dies_during_start_and_comes_back(self):
        self.die_during('createWithFlags', back_after=0.2)
        inst, image_meta = self.instance(kernel=False)
        error = self.assertRaises(exception.HypervisorUnavailable,
                                  self.spawn, inst, image_meta)
        self.assertIn('lost while trying to start instance g1', str(error))
        self.assertNothingLeft(inst)

    def test_dies_during_define_and_comes_back(self):
        # The definition was stored before the daemon died.
        self.die_during('defineXML', cls=fakelibvirt.FakeConnection,
                        back_after=0.2)
        inst, image_meta = self.instance()
        self.assertRaises(exception.GuestOperationFailed, self.spawn, inst,
                          image_meta)
        self.assertNothingLeft(inst)

    def test_stays_away(self):
        """Directory removed at once, domain left after reconnect_timeout.

        The caller's ledger entry records that (see emuvirt.compute.api).
        """
        self.flags.config(group='libvirt', reconnect_timeout=0)
        self.die_during('createWithFlags')
        inst, image_meta = self.instance()
        error = self.assertRaises(exception.HypervisorUnavailable,
                                  self.spawn, inst, image_meta)
        # The original error, not the cleanup's.
        self.assertIn('trying to start', str(error))
        self.assertFalse(os.path.exists(self.instance_dir(inst)))
        self.assertEqual([inst.uuid], self.domains())
        self.assertTrue(self.drv.domain_exists(inst.uuid))

    def test_cleanup_lookup_fails_directory_still_removed(self):
        self.flags.config(group='libvirt', reconnect_timeout=0)
        self.break_method('createWithFlags')
        self.useFixture(fixtures.MockPatchObject(
            self.drv.host, 'lookup_domain', side_effect=[
                None, None,   # spawn's own checks
                exception.HypervisorUnavailable(uri='fake:///', reason='x')]))
        inst, image_meta = self.instance()
        error = self.assertRaises(exception.GuestOperationFailed,
                                  self.spawn, inst, image_meta)
        self.assertIn('Could not start instance g1', str(error))
        self.assertFalse(os.path.exists(self.instance_dir(inst)))

    def test_delete_through_a_restart(self):
        inst = self.spawned(kernel=False)
        self.die_during('destroyFlags', after=False, back_after=0.2)
        self.drv.destroy(None, inst)
        self.assertNothingLeft(inst)

    def test_delete_gives_up_after_reconnect_timeout(self):
        self.flags.config(group='libvirt', reconnect_timeout=0)
        inst = self.spawned()
        self.die_during('undefineFlags', after=False)
        self.assertRaises(exception.HypervisorUnavailable, self.drv.destroy,
                          None, inst)
        # The guest is still there, files included: delete it again.
        self.assertEqual([inst.uuid], self.domains())
        self.assertTrue(os.path.isdir(self.instance_dir(inst)))
        self.drv.destroy(None, inst)
        self.assertNothingLeft(inst)


class TestInterruptedSpawn(LifecycleTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(SignalHandlers())

    def signalled(self, cls, method, signum):
        """Patch ``method`` to take effect, then get signal ``signum``."""
        real = getattr(cls, method)

        def call(*args, **kwargs):
            result = real(*args, **kwargs)
            os.kill(os.getpid(), signum)
            return result
        return fixtures.MockPatchObject(cls, method, autospec=True,
                                        side_effect=call)

    def test_each_step(self):
        steps = ((emulation.EmuVirtDriver, 'plan_guest'),
                 (instance_files, 'create_dir'),
                 (fakelibvirt.FakeConnection, 'defineXML'),
                 (fakelibvirt.FakeDomain, 'createWithFlags'))
        for cls, method in steps:
            for signum, exc in ((signal.SIGINT, KeyboardInterrupt),
                                (signal.SIGTERM, interrupt.Terminated)):
                # One command each: a command takes one interruption.
                with self.signalled(cls, method, signum), SignalHandlers():
                    inst, image_meta = self.instance(kernel=False)
                    self.assertRaises(exc, self.spawn, inst, image_meta)
                    self.assertNothingLeft(inst)

    def test_signals_during_cleanup_are_ignored(self):
        """A second Ctrl-C (and a SIGTERM) while cleaning up: no effect."""
        undefine = fakelibvirt.FakeDomain.undefineFlags

        def signalled(dom, flags=0):
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
            return undefine(dom, flags)
        self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, 'undefineFlags', autospec=True,
            side_effect=signalled))
        self.break_method('createWithFlags')
        inst, image_meta = self.instance(kernel=False)
        error = self.assertRaises(exception.GuestOperationFailed,
                                  self.spawn, inst, image_meta)
        self.assertIn('Could not start', str(error))
        self.assertNothingLeft(inst)
        self.assertEqual(set(), signal.sigpending())

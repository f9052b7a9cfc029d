"""Machine types and image properties end to end, on the fake libvirt.

``emuvirt-manage`` runs as the console script does (config file, real
Host, real driver XML) and every exit code of every command is exercised;
every refusal must leave the guest's XML byte-identical. The stability
tests show that a change of ``[libvirt]hw_machine_type`` never reaches an
existing guest across stop, start and reboot.
"""

import io
import logging
import os

import fixtures
from lxml import etree

from emuvirt.cmd import manage
from emuvirt.compute import manager as compute_manager
from emuvirt import conf
from emuvirt.tests.fixtures import guests
from emuvirt.tests.functional import test_base
from emuvirt.virt import archs
from emuvirt.virt import emulation
from emuvirt.virt.libvirt import decide
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import machine_type
from emuvirt.virt.libvirt import metadata
from emuvirt.virt.libvirt import records


class RootLoggerState(fixtures.Fixture):
    """Undo what oslo.log's setup() and the command do to loggers."""

    def _setUp(self):
        root = logging.getLogger()
        ours = logging.getLogger('emuvirt')
        handlers, level = list(root.handlers), root.level
        our_level = ours.level

        def restore():
            root.handlers[:] = handlers
            root.setLevel(level)
            ours.setLevel(our_level)
        self.addCleanup(restore)


def _machine(domain, flags=records.PERSISTENT_XML):
    return etree.fromstring(domain.XMLDesc(flags).encode()).find(
        'os/type').get('machine')


def _record(domain):
    return metadata.InstanceRecord.from_domain_xml(
        domain.XMLDesc(records.PERSISTENT_XML))


class MachineTypeFunctionalTestCase(test_base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(RootLoggerState())
        # Log records go to stderr, as they do outside tests (the config
        # fixture's reset drops emuvirt.conf's default).
        self.flags.config(use_stderr=True)
        self.fake = self.use_host('x86_64')
        self.saves = self.useFixture(guests.ManagedSave())
        self.host = vhost.Host()
        self.conf_file = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'emuvirt.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[libvirt]\nconnection_uri = qemu:///system\n')

    def define(self, name='web1', arch='aarch64', **kwargs):
        return guests.define(self.host, arch, name, **kwargs)

    def manage(self, *argv):
        """(exit code, stdout, stderr) of one emuvirt-manage run."""
        out, err = io.StringIO(), io.StringIO()
        with fixtures.MonkeyPatch('sys.stdout', out), \
                fixtures.MonkeyPatch('sys.stderr', err):
            try:
                code = manage.main(['--config-file', self.conf_file] +
                                   list(argv))
            except SystemExit as e:
                code = e.code
        return code, out.getvalue(), err.getvalue()

    def assertUntouched(self, domain, code, *argv):
        """Running ``argv`` exits ``code`` and changes nothing."""
        before = (domain.XMLDesc(records.PERSISTENT_XML),
                  domain.XMLDesc(0), domain.state())
        result = self.manage(*argv)
        self.assertEqual(code, result[0], result)
        self.assertEqual(before, (domain.XMLDesc(records.PERSISTENT_XML),
                                  domain.XMLDesc(0), domain.state()))
        return result


class TestGetMachineType(MachineTypeFunctionalTestCase):

    def test_0_recorded(self):
        dom = self.define(arch='ppc64le')
        self.assertEqual((0, 'pseries-7.2\n', ''),
                         self.manage('libvirt', 'get_machine_type', 'web1'))
        self.assertEqual((0, 'pseries-7.2\n', ''),
                         self.manage('libvirt', 'get_machine_type',
                                     dom.UUIDString()))

    def test_1_libvirt_unreachable(self):
        self.fake.connect_error = 'no such socket'
        code, out, err = self.manage('libvirt', 'get_machine_type', 'web1')
        self.assertEqual((1, ''), (code, out))
        self.assertIn('no such socket', err)

    def test_2_not_found(self):
        guests.define_foreign(self.host, 'not-ours')
        for name in ('nope', 'not-ours'):
            code, out, err = self.manage('libvirt', 'get_machine_type', name)
            self.assertEqual((2, ''), (code, out))
            self.assertIn(name, err)

    def test_3_not_recorded(self):
        dom = self.define(arch='s390x', recorded=False)
        code, out, err = self.assertUntouched(
            dom, 3, 'libvirt', 'get_machine_type', 'web1')
        self.assertIn('its domain XML says s390-ccw-virtio-7.2', err)


class TestUpdateMachineType(MachineTypeFunctionalTestCase):

    def update(self, *argv):
        return self.manage('libvirt', 'update_machine_type', *argv)

    def test_0_updated(self):
        dom = self.define(machine='virt-7.0')
        code, out, err = self.update('web1', 'virt-7.2')
        self.assertEqual((0, ''), (code, err))
        self.assertEqual('Updated the machine type of web1 from virt-7.0 to '
                         'virt-7.2\n', out)
        self.assertEqual('virt-7.2', _machine(dom))
        self.assertEqual('virt-7.2', _record(dom).machine_type)
        self.assertEqual((0, 'virt-7.2\n', ''),
                         self.manage('libvirt', 'get_machine_type', 'web1'))

    def test_0_every_versioned_family(self):
        for arch, old, new in (
                ('ppc64le', 'pseries-6.2', 'pseries-7.2'),
                ('s390x', 's390-ccw-virtio-6.0', 's390-ccw-virtio-7.2'),
                ('x86_64', 'pc-i440fx-6.2', 'pc-i440fx-7.2'),
                ('aarch64', 'virt-6.2', 'virt-7.2')):
            dom = self.define(name=arch, arch=arch, machine=old)
            self.assertEqual(0, self.update(arch, new)[0])
            self.assertEqual(new, _machine(dom))

    def test_0_forced_lower_version(self):
        dom = self.define()
        self.assertEqual(0, self.update('web1', 'virt-7.0', '--force')[0])
        self.assertEqual('virt-7.0', _machine(dom))

    def test_1_libvirt_unreachable(self):
        self.fake.connect_error = 'down'
        self.assertEqual(1, self.update('web1', 'virt-7.2')[0])

    def test_2_not_found(self):
        self.assertEqual(2, self.update('nope', 'virt-7.2')[0])

    def test_3_running(self):
        dom = self.define(machine='virt-7.0')
        dom.create()
        code, out, err = self.assertUntouched(dom, 3, 'libvirt',
                                              'update_machine_type', 'web1',
                                              'virt-7.2', '--force')
        self.assertIn('is running', err)

    def test_3_managed_save(self):
        dom = self.define(machine='virt-7.0')
        self.saves.saved.add('web1')
        self.assertUntouched(dom, 3, 'libvirt', 'update_machine_type',
                             'web1', 'virt-7.2')

    def test_4_refused(self):
        cases = (('aarch64', None, 'virt-7.1', 'lower version'),
                 ('aarch64', None, 'virt', 'alias'),
                 ('aarch64', None, 'sbsa-ref', 'family'),
                 ('x86_64', 'pc-i440fx-6.2', 'pc-q35-7.2', 'family'),
                 ('ppc64le', None, 'pseries-6.2', 'lower version'),
                 ('mipsel', None, 'mipssim', 'family'))
        for arch, old, new, why in cases:
            name = '%s-%s' % (arch, new)
            dom = self.define(name=name, arch=arch, machine=old)
            code, out, err = self.assertUntouched(
                dom, 4, 'libvirt', 'update_machine_type', name, new)
            self.assertIn(why, err)
            self.assertIn('--force', err)

    def test_5_unsupported(self):
        dom = self.define()
        for new in ('virt-9.9', 'pseries-7.2', 'no-such-board'):
            self.assertUntouched(dom, 5, 'libvirt', 'update_machine_type',
                                 'web1', new, '--force')

    def test_5_arch_without_emulator(self):
        dom = self.define(arch='s390x', machine='s390-ccw-virtio-6.0')
        self.fake.remove_arch('s390x')
        code, out, err = self.assertUntouched(
            dom, 5, 'libvirt', 'update_machine_type', 'web1',
            's390-ccw-virtio-7.2')
        self.assertIn('no emulator for s390x', err)

    def test_127_usage(self):
        self.assertEqual(127, self.update('web1')[0])


class TestListUnsetMachineType(MachineTypeFunctionalTestCase):

    def test_0_none_unset(self):
        self.define()
        guests.define_foreign(self.host, 'not-ours')
        self.assertEqual((0, '', ''),
                         self.manage('libvirt', 'list_unset_machine_type'))

    def test_1_libvirt_unreachable(self):
        self.fake.connect_error = 'down'
        self.assertEqual(
            1, self.manage('libvirt', 'list_unset_machine_type')[0])

    def test_3_unset_listed_and_nothing_changed(self):
        a = self.define(name='a', recorded=False)
        self.define(name='b')
        code, out, err = self.assertUntouched(a, 3, 'libvirt',
                                              'list_unset_machine_type')
        self.assertEqual(a.UUIDString() + '\n', out)

    def test_compute_start_records_them(self):
        """What emuvirt-compute does at start empties the list."""
        a = self.define(name='a', recorded=False)
        a.create()
        self.assertEqual({a.UUIDString(): 'virt-7.2'},
                         machine_type.record_missing(self.host))
        self.assertEqual((0, '', ''),
                         self.manage('libvirt', 'list_unset_machine_type'))
        self.assertTrue(a.isActive())

    def test_compute_service_records_them_at_start(self):
        a = self.define(name='a', recorded=False)
        manager = compute_manager.ComputeManager(
            conf.CONF, driver=emulation.EmuVirtDriver(host=self.host),
            reportclient=False)
        self.assertTrue(manager.init_host())
        self.assertEqual('virt-7.2', _record(a).machine_type)
        self.assertEqual((0, '', ''),
                         self.manage('libvirt', 'list_unset_machine_type'))


class TestImagePropertyShow(MachineTypeFunctionalTestCase):

    def test_0_shown(self):
        self.define(props={'hw_disk_bus': 'scsi'})
        self.assertEqual((0, 'scsi\n', ''), self.manage(
            'image_property', 'show', 'web1', 'hw_disk_bus'))

    def test_1_libvirt_unreachable(self):
        self.fake.connect_error = 'down'
        self.assertEqual(1, self.manage('image_property', 'show', 'web1',
                                        'hw_disk_bus')[0])

    def test_2_not_found(self):
        self.assertEqual(2, self.manage('image_property', 'show', 'nope',
                                        'hw_disk_bus')[0])

    def test_3_not_set(self):
        self.define()
        self.assertEqual(3, self.manage('image_property', 'show', 'web1',
                                        'hw_video_model')[0])


class TestImagePropertySet(MachineTypeFunctionalTestCase):

    def set(self, *argv):
        return self.manage('image_property', 'set', *argv)

    def test_0_set(self):
        dom = self.define(arch='x86_64')
        xml_machine = _machine(dom)
        code, out, err = self.set('web1', '--property', 'hw_disk_bus=sata',
                                  '--property', 'hw_video_model=vga')
        self.assertEqual(0, code, err)
        props = _record(dom).properties
        self.assertEqual(('sata', 'vga'),
                         (props['hw_disk_bus'], props['hw_video_model']))
        self.assertEqual((0, 'vga\n', ''), self.manage(
            'image_property', 'show', 'web1', 'hw_video_model'))
        # Only the record changed; the guest starts as it did.
        self.assertEqual(xml_machine, _machine(dom))
        self.assertNotIn('<video', dom.XMLDesc(0))

    def test_1_libvirt_unreachable(self):
        self.fake.connect_error = 'down'
        self.assertEqual(1, self.set('web1', '--property', 'a=b')[0])

    def test_2_not_found(self):
        self.assertEqual(2, self.set('nope', '--property',
                                     'hw_disk_bus=scsi')[0])

    def test_3_running(self):
        dom = self.define()
        dom.create()
        self.assertUntouched(dom, 3, 'image_property', 'set', 'web1',
                             '--property', 'hw_disk_bus=scsi')

    def test_4_bad_name(self):
        dom = self.define()
        for item in ('hw_nope=1', 'hw_machine_type=virt-7.0',
                     'hw_emulation_architecture=s390x', 'no-equals-sign'):
            self.assertUntouched(dom, 4, 'image_property', 'set', 'web1',
                                 '--property', item)

    def test_5_bad_value(self):
        dom = self.define()
        for item in ('hw_disk_bus=floppy', 'hw_boot_menu=perhaps',
                     'hw_video_ram=-1'):
            self.assertUntouched(dom, 5, 'image_property', 'set', 'web1',
                                 '--property', item)

    def test_5_value_the_guest_arch_does_not_take(self):
        dom = self.define(arch='aarch64')
        for name, value in (('hw_disk_bus', 'ide'),
                            ('hw_video_model', 'qxl')):
            _code, out, err = self.assertUntouched(
                dom, 5, 'image_property', 'set', 'web1', '--property',
                '%s=%s' % (name, value))
            self.assertEqual('', out)
            self.assertEqual(1, len(err.splitlines()), err)
            self.assertIn('Image property %s' % name, err)

    def test_0_says_when_it_takes_effect(self):
        self.define(arch='aarch64')
        code, out, err = self.set('web1', '--property',
                                  'hw_video_model=virtio')
        self.assertEqual(0, code, err)
        self.assertEqual('Image property hw_video_model of web1 set to '
                         'virtio\nIt takes effect at the next hard reboot: '
                         'emuvirt server reboot --hard web1\n', out)


class TestStability(MachineTypeFunctionalTestCase):
    """[libvirt]hw_machine_type changes never reach existing guests."""

    def test_option_change_survives_stop_start_and_reboot(self):
        self.flags.config(hw_machine_type=['aarch64=virt-7.2'],
                          group='libvirt')
        dom = self.define(machine=None)
        dom.create()
        self.assertEqual('virt-7.2', _machine(dom, 0))

        # The operator changes the default for aarch64 guests.
        self.flags.config(hw_machine_type=['aarch64=virt-6.2'],
                          group='libvirt')
        drv = emulation.EmuVirtDriver(host=self.host)
        guest_caps = self.host.get_guest_caps('aarch64')
        self.assertEqual('virt-6.2', decide.machine_type(
            {}, drv._machine_map, archs.get_profile('aarch64'),
            guest_caps)[0], 'a new guest would get the new default')

        dom.destroy()
        dom.create()
        dom.reboot()
        dom.shutdown()
        dom.create()
        for flags in (0, records.PERSISTENT_XML):
            self.assertEqual('virt-7.2', _machine(dom, flags))
        self.assertEqual('virt-7.2', _record(dom).machine_type)
        self.assertEqual((0, 'virt-7.2\n', ''),
                         self.manage('libvirt', 'get_machine_type', 'web1'))

    def test_through_the_driver_lifecycle(self):
        """spawn; option change and service restart; stop, start, reboot."""
        instances = self.useFixture(fixtures.TempDir()).path
        self.flags.config(instances_path=instances, group='libvirt')
        instance, image_meta = guests.make_instance('aarch64', 'web1')
        emulation.EmuVirtDriver(host=self.host).spawn(
            None, instance, image_meta, [], None, {})
        dom = self.host.lookup_domain('web1')
        self.assertEqual('virt-7.2', _record(dom).machine_type)

        self.flags.config(hw_machine_type=['aarch64=virt-6.2'],
                          group='libvirt')
        drv = emulation.EmuVirtDriver(host=vhost.Host())
        drv.power_off(instance)
        drv.power_on(None, instance, None)
        drv.reboot(None, instance, None, 'SOFT')
        drv.reboot(None, instance, None, 'HARD')
        drv.power_off(instance, timeout=1)
        drv.power_on(None, instance, None)

        self.assertTrue(dom.isActive())
        for flags in (0, records.PERSISTENT_XML):
            self.assertEqual('virt-7.2', _machine(dom, flags))
        self.assertEqual('virt-7.2',
                         drv.find_instance('web1').machine_type)

    def test_xml_built_again_from_the_record_keeps_its_machine(self):
        """A guest's XML built again takes the recorded machine type.

        The record comes before the image property and the option.
        """
        self.flags.config(hw_machine_type=['x86_64=q35'], group='libvirt')
        dom = self.define(arch='x86_64')
        self.assertEqual('pc-q35-7.2', _record(dom).machine_type)
        self.flags.config(hw_machine_type=['x86_64=pc'], group='libvirt')
        record = _record(dom)
        instance = record.to_instance()
        plan = emulation.EmuVirtDriver(host=self.host).plan_guest(
            instance, instance.image_meta)
        self.assertEqual('pc-q35-7.2', plan.machine)

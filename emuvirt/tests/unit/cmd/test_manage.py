"""Tests of the emuvirt-manage command line: parsing, output, exit codes.

The library calls are mocked here; the functional tests run the same
commands against guests on the fake libvirt.
"""

import io
from unittest import mock

import fixtures
from oslo_config import fixture as config_fixture
import testtools

from emuvirt.cmd import manage
from emuvirt import conf
from emuvirt import exception
from emuvirt.virt.libvirt import image_props
from emuvirt.virt.libvirt import machine_type
from emuvirt.virt.libvirt import records


class ManageTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        self.out = self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', io.StringIO())).new_value
        self.err = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        self.host = mock.Mock()
        self.useFixture(fixtures.MockPatch(
            'emuvirt.virt.libvirt.host.Host', return_value=self.host))
        self.useFixture(fixtures.MockPatch('emuvirt.conf.parse_args'))

    def run_cmd(self, *argv):
        return manage.main(list(argv))

    def patch(self, target, **kwargs):
        return self.useFixture(fixtures.MockPatchObject(
            *target, **kwargs)).mock


class TestParser(ManageTestCase):

    def assertUsageError(self, *argv):
        error = self.assertRaises(SystemExit, self.run_cmd, *argv)
        self.assertEqual(manage.USAGE_ERROR, error.code)

    def test_usage_errors_exit_127_not_2(self):
        self.assertUsageError()
        self.assertUsageError('nope')
        self.assertUsageError('libvirt')
        self.assertUsageError('libvirt', 'nope')
        self.assertUsageError('libvirt', 'get_machine_type')
        self.assertUsageError('libvirt', 'update_machine_type', 'web1')
        self.assertUsageError('image_property', 'show', 'web1')
        self.assertUsageError('image_property', 'set', 'web1')
        self.assertUsageError('placement')
        self.assertUsageError('placement', 'heal_allocations', 'web1')
        self.assertUsageError('placement', 'heal_allocations', '--instance')
        self.assertUsageError('placement', 'heal_allocations', '--force')
        self.assertIn('usage: emuvirt-manage', self.err.getvalue())

    def test_help_exits_0(self):
        error = self.assertRaises(SystemExit, self.run_cmd, 'libvirt',
                                  'update_machine_type', '--help')
        self.assertEqual(0, error.code)
        self.assertIn('--force', self.out.getvalue())

    def test_config_files_are_passed_on(self):
        self.patch((machine_type, 'list_unset'), return_value=[])
        self.run_cmd('--config-file', 'a.conf', '--config-file', 'b.conf',
                     '--debug', 'libvirt', 'list_unset_machine_type')
        conf.parse_args.assert_called_once_with(
            ['emuvirt-manage', '--config-file', 'a.conf', '--config-file',
             'b.conf', '--debug'], prog='emuvirt-manage')
        self.host.close.assert_called_once_with()


class TestCommonCodes(ManageTestCase):

    def test_instance_not_found_is_2(self):
        self.patch((machine_type, 'get'), side_effect=(
            exception.InstanceNotFound(instance='web1')))
        self.assertEqual(2, self.run_cmd('libvirt', 'get_machine_type',
                                         'web1'))
        self.assertIn('web1 could not be found', self.err.getvalue())

    def test_not_an_instance_is_2(self):
        self.patch((image_props, 'show'), side_effect=(
            records.NotAnInstance(instance='other')))
        self.assertEqual(2, self.run_cmd('image_property', 'show', 'other',
                                         'hw_disk_bus'))

    def test_libvirt_unreachable_is_1(self):
        self.patch((machine_type, 'list_unset'), side_effect=(
            exception.HypervisorUnavailable(uri='qemu:///x', reason='no')))
        self.assertEqual(1, self.run_cmd('libvirt',
                                         'list_unset_machine_type'))
        self.assertIn('emuvirt-manage: error: Connection to libvirt',
                      self.err.getvalue())

    def test_bad_configuration_is_1(self):
        conf.parse_args.side_effect = exception.ConfigOptionInvalid(
            name='[libvirt]hw_machine_type', reason='bad')
        self.assertEqual(1, self.run_cmd('libvirt', 'get_machine_type',
                                         'web1'))

    def test_unexpected_error_is_1_with_a_traceback(self):
        self.patch((machine_type, 'get'), side_effect=RuntimeError('bug'))
        self.assertEqual(1, self.run_cmd('libvirt', 'get_machine_type',
                                         'web1'))
        self.assertIn('Traceback', self.err.getvalue())
        self.assertIn('RuntimeError: bug', self.err.getvalue())


class TestMachineTypeCommands(ManageTestCase):

    def test_get(self):
        get = self.patch((machine_type, 'get'), return_value=(
            machine_type.Current('virt-7.2', True)))
        self.assertEqual(0, self.run_cmd('libvirt', 'get_machine_type',
                                         'web1'))
        get.assert_called_once_with(self.host, 'web1')
        self.assertEqual('virt-7.2\n', self.out.getvalue())

    def test_get_not_recorded_is_3(self):
        self.patch((machine_type, 'get'), return_value=(
            machine_type.Current('pseries-7.2', False)))
        self.assertEqual(3, self.run_cmd('libvirt', 'get_machine_type',
                                         'web1'))
        self.assertEqual('', self.out.getvalue())
        self.assertIn('No machine type is recorded for instance web1; its '
                      'domain XML says pseries-7.2', self.err.getvalue())

    def test_update(self):
        update = self.patch((machine_type, 'update'),
                            return_value=('virt-7.2', 'virt-7.0'))
        self.assertEqual(0, self.run_cmd('libvirt', 'update_machine_type',
                                         'web1', 'virt-7.2'))
        update.assert_called_once_with(self.host, 'web1', 'virt-7.2',
                                       force=False)
        self.assertEqual('Updated the machine type of web1 from virt-7.0 '
                         'to virt-7.2\n', self.out.getvalue())

    def test_update_force(self):
        update = self.patch((machine_type, 'update'),
                            return_value=('virt-7.0', 'virt-7.2'))
        self.assertEqual(0, self.run_cmd('libvirt', 'update_machine_type',
                                         'web1', 'virt-7.0', '--force'))
        update.assert_called_once_with(self.host, 'web1', 'virt-7.0',
                                       force=True)

    def test_update_unchanged(self):
        self.patch((machine_type, 'update'),
                   return_value=('virt-7.2', 'virt-7.2'))
        self.assertEqual(0, self.run_cmd('libvirt', 'update_machine_type',
                                         'web1', 'virt-7.2'))
        self.assertIn('already virt-7.2', self.out.getvalue())

    def test_update_refusals(self):
        errors = (
            (exception.InstanceInvalidState(
                instance='web1', state='running', action='a',
                needed='shut off'), 3),
            (machine_type.MachineTypeUpdateInvalid(
                instance='web1', old='virt-7.2', new='virt-7.1',
                reason='a lower version'), 4),
            (machine_type.MachineTypeUnsupported(
                mtype='virt-9', arch='aarch64', reason='not offered'), 5),
        )
        update = self.patch((machine_type, 'update'))
        for error, code in errors:
            update.side_effect = error
            self.assertEqual(code, self.run_cmd(
                'libvirt', 'update_machine_type', 'web1', 'virt-7.1'))
            self.assertIn(str(error), self.err.getvalue())
        self.assertEqual('', self.out.getvalue())

    def test_list_unset(self):
        unset = [mock.Mock(uuid='u1'), mock.Mock(uuid='u2')]
        self.patch((machine_type, 'list_unset'), return_value=unset)
        self.assertEqual(3, self.run_cmd('libvirt',
                                         'list_unset_machine_type'))
        self.assertEqual('u1\nu2\n', self.out.getvalue())

    def test_list_unset_none(self):
        self.patch((machine_type, 'list_unset'), return_value=[])
        self.assertEqual(0, self.run_cmd('libvirt',
                                         'list_unset_machine_type'))
        self.assertEqual('', self.out.getvalue())


class TestImagePropertyCommands(ManageTestCase):

    def test_show(self):
        show = self.patch((image_props, 'show'), return_value='virtio')
        self.assertEqual(0, self.run_cmd('image_property', 'show', 'web1',
                                         'hw_disk_bus'))
        show.assert_called_once_with(self.host, 'web1', 'hw_disk_bus')
        self.assertEqual('virtio\n', self.out.getvalue())

    def test_show_not_set_is_3(self):
        self.patch((image_props, 'show'), side_effect=(
            image_props.ImagePropertyNotSet(name='hw_x', instance='web1')))
        self.assertEqual(3, self.run_cmd('image_property', 'show', 'web1',
                                         'hw_x'))

    def test_set(self):
        set_ = self.patch((image_props, 'set'), return_value={
            'hw_disk_bus': 'scsi', 'hw_boot_menu': 'True'})
        self.assertEqual(0, self.run_cmd(
            'image_property', 'set', 'web1', '--property',
            'hw_disk_bus=scsi', '--property', 'hw_boot_menu=yes'))
        set_.assert_called_once_with(self.host, 'web1', {
            'hw_disk_bus': 'scsi', 'hw_boot_menu': 'yes'}, check=mock.ANY)
        # Checked against the plan of the configured driver.
        self.assertEqual('plan_rebuild',
                         set_.call_args.kwargs['check'].__name__)
        self.assertEqual('Image property hw_boot_menu of web1 set to True\n'
                         'Image property hw_disk_bus of web1 set to scsi\n'
                         'It takes effect at the next hard reboot: emuvirt '
                         'server reboot --hard web1\n',
                         self.out.getvalue())

    def test_set_refusals(self):
        errors = (
            (exception.InstanceInvalidState(
                instance='web1', state='running', action='a',
                needed='shut off'), 3),
            (image_props.ImagePropertyNameInvalid(
                name='hw_x', reason='unknown'), 4),
            (image_props.ImagePropertyValueInvalid(
                name='hw_disk_bus', reason='bad'), 5),
            # The plan's refusal of a value the guest's arch does not take.
            (exception.InvalidImageProperty(
                name='hw_disk_bus', reason='bus ide is not supported'), 5),
        )
        set_ = self.patch((image_props, 'set'))
        for error, code in errors:
            set_.side_effect = error
            self.assertEqual(code, self.run_cmd(
                'image_property', 'set', 'web1', '--property', 'a=b'))
            self.assertIn(str(error), self.err.getvalue())

    def test_set_malformed_property_is_a_bad_name(self):
        set_ = self.patch((image_props, 'set'))
        for item in ('hw_disk_bus', '=scsi'):
            self.assertEqual(4, self.run_cmd(
                'image_property', 'set', 'web1', '--property', item))
        self.assertEqual(4, self.run_cmd(
            'image_property', 'set', 'web1', '--property', 'a=1',
            '--property', 'a=2'))
        set_.assert_not_called()

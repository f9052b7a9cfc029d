"""Tests of the ComputeDriver interface and load_compute_driver()."""

import importlib.metadata
import inspect
import types
from unittest import mock

from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf
from emuvirt import exception
from emuvirt.virt import driver
from emuvirt.virt import fake

# Nova's signatures for the methods emuvirt implements.
NOVA_SIGNATURES = {
    'init_host': '(self, host)',
    'cleanup_host': '(self, host)',
    'get_available_nodes': '(self, refresh=False)',
    'spawn': '(self, context, instance, image_meta, injected_files, '
             'admin_password, allocations, network_info=None, '
             'block_device_info=None)',
    'destroy': '(self, context, instance, network_info=None, '
               'block_device_info=None, destroy_disks=True)',
    'reboot': '(self, context, instance, network_info, reboot_type, '
              'block_device_info=None, bad_volumes_callback=None, '
              'accel_uri=None)',
    'power_off': '(self, instance, timeout=0, retry_interval=0)',
    'power_on': '(self, context, instance, network_info, '
                'block_device_info=None, accel_info=None)',
    'get_info': '(self, instance, use_cache=True)',
    'list_instances': '(self)',
    'list_instance_uuids': '(self)',
    'get_console_output': '(self, context, instance)',
    'update_provider_tree': '(self, provider_tree, nodename, '
                            'allocations=None)',
}


class TestComputeDriver(testtools.TestCase):

    def test_signatures_match_nova(self):
        for name, signature in NOVA_SIGNATURES.items():
            method = getattr(driver.ComputeDriver, name)
            self.assertEqual(signature, str(inspect.signature(method)), name)

    def test_fake_keeps_signatures(self):
        for name, signature in NOVA_SIGNATURES.items():
            method = getattr(fake.FakeDriver, name)
            self.assertEqual(signature, str(inspect.signature(method)), name)

    def test_unimplemented_methods_raise(self):
        drv = driver.ComputeDriver()
        inst = mock.Mock()
        calls = [
            (drv.init_host, ('h',)),
            (drv.get_available_nodes, ()),
            (drv.spawn, (None, inst, None, [], None, {})),
            (drv.destroy, (None, inst)),
            (drv.reboot, (None, inst, None, 'SOFT')),
            (drv.power_off, (inst,)),
            (drv.power_on, (None, inst, None)),
            (drv.get_info, (inst,)),
            (drv.list_instances, ()),
            (drv.list_instance_uuids, ()),
            (drv.get_console_output, (None, inst)),
            (drv.update_provider_tree, (None, 'n')),
        ]
        for method, args in calls:
            self.assertRaises(NotImplementedError, method, *args)

    def test_cleanup_host_default_does_nothing(self):
        self.assertIsNone(driver.ComputeDriver().cleanup_host('h'))

    def test_constructor_arguments(self):
        api = object()
        drv = driver.ComputeDriver(api, read_only=True)
        self.assertIs(api, drv.virtapi)
        self.assertTrue(drv.read_only)

    def test_capabilities_is_a_dict_with_nova_keys(self):
        self.assertIn('has_imagecache',
                      driver.ComputeDriver.capabilities)
        self.assertIn('supports_evacuate',
                      driver.ComputeDriver.capabilities)

    def test_instance_exists_falls_back_to_names(self):
        drv = driver.ComputeDriver()
        drv.list_instances = mock.Mock(return_value=['a'])
        self.assertTrue(drv.instance_exists(
            types.SimpleNamespace(uuid='u', name='a')))
        self.assertFalse(drv.instance_exists(
            types.SimpleNamespace(uuid='u', name='b')))

    def test_instance_exists_by_uuid(self):
        drv = driver.ComputeDriver()
        drv.list_instance_uuids = mock.Mock(return_value=['u'])
        drv.list_instances = mock.Mock(side_effect=AssertionError)
        inst = types.SimpleNamespace(uuid='u', name='x')
        self.assertTrue(drv.instance_exists(inst))


class TestInstanceInfo(testtools.TestCase):

    def test_equality_and_repr(self):
        a = driver.InstanceInfo(driver.RUNNING, 'u')
        self.assertEqual(a, driver.InstanceInfo(state=driver.RUNNING,
                                                internal_id='u'))
        self.assertNotEqual(a, driver.InstanceInfo(driver.SHUTDOWN, 'u'))
        self.assertIn('running', repr(a))

    def test_power_states_are_nova_values(self):
        self.assertEqual((0, 1, 3, 4, 6, 7),
                         (driver.NOSTATE, driver.RUNNING, driver.PAUSED,
                          driver.SHUTDOWN, driver.CRASHED,
                          driver.SUSPENDED))
        self.assertEqual('shutdown', driver.STATE_MAP[driver.SHUTDOWN])


class TestLoadComputeDriver(testtools.TestCase):
    """Loading through the installed entry points (setup.cfg)."""

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(conf.CONF))

    def test_load_by_name(self):
        api = object()
        drv = driver.load_compute_driver(api, compute_driver='fake')
        self.assertIsInstance(drv, fake.FakeDriver)
        self.assertIs(api, drv.virtapi)
        self.assertFalse(drv.read_only)

    def test_load_from_option(self):
        self.conf.config(compute_driver='fake')
        self.assertIsInstance(driver.load_compute_driver(), fake.FakeDriver)

    def test_read_only_passed(self):
        drv = driver.load_compute_driver(compute_driver='fake',
                                         read_only=True)
        self.assertTrue(drv.read_only)

    def test_unknown_driver_lists_available(self):
        exc = self.assertRaises(exception.DriverNotFound,
                                driver.load_compute_driver,
                                compute_driver='xen')
        self.assertIn("'xen'", str(exc))
        self.assertIn('[DEFAULT]compute_driver', str(exc))
        available = exc.kwargs['available'].split(', ')
        self.assertIn('fake', available)
        self.assertEqual(sorted(available), available)

    def test_unknown_driver_from_option(self):
        self.conf.config(compute_driver='nova.virt.libvirt.LibvirtDriver')
        exc = self.assertRaises(exception.DriverNotFound,
                                driver.load_compute_driver)
        self.assertIn('nova.virt.libvirt.LibvirtDriver', str(exc))

    def test_available_drivers_sorted(self):
        manager = mock.Mock()
        manager.names.return_value = ['libvirt', 'fake', 'emuvirt']
        with mock.patch.object(driver.extension, 'ExtensionManager',
                               return_value=manager) as em:
            self.assertEqual(['emuvirt', 'fake', 'libvirt'],
                             driver.available_drivers())
        em.assert_called_once_with('emuvirt.compute_drivers')

    def test_available_drivers_from_entry_points(self):
        self.assertIn('fake', driver.available_drivers())

    def test_constructor_error_propagates(self):
        error = exception.ConfigOptionInvalid(name='[libvirt]x', reason='y')
        with mock.patch.object(fake.FakeDriver, '__init__',
                               side_effect=error):
            exc = self.assertRaises(exception.ConfigOptionInvalid,
                                    driver.load_compute_driver,
                                    compute_driver='fake')
        self.assertIs(error, exc)

    def test_builtin_drivers_are_the_installed_entry_points(self):
        installed = {ep.name: ep.value for ep in
                     importlib.metadata.entry_points(group=driver.NAMESPACE)
                     if ep.value.startswith('emuvirt.')}
        self.assertEqual(installed, driver.BUILTIN_DRIVERS)

    def test_builtin_driver_needs_no_entry_point_search(self):
        with mock.patch.object(driver.stevedore_driver, 'DriverManager',
                               side_effect=AssertionError('searched')):
            drv = driver.load_compute_driver(compute_driver='fake',
                                             read_only=True)
        self.assertIsInstance(drv, fake.FakeDriver)
        self.assertTrue(drv.read_only)

    def test_not_a_compute_driver(self):
        manager = mock.Mock(driver=object())
        with mock.patch.object(driver.stevedore_driver, 'DriverManager',
                               return_value=manager):
            self.assertRaises(TypeError, driver.load_compute_driver,
                              compute_driver='odd')

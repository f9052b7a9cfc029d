"""Tests of the in-memory FakeDriver."""

import types

from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf
from emuvirt import exception
from emuvirt.objects import instance as instance_obj
from emuvirt.virt import driver
from emuvirt.virt import fake


class FakeTree(object):
    """Records what a driver sets on a provider tree."""

    def __init__(self):
        self.inventory = {}
        self.traits = {}

    def update_inventory(self, name, inventory, generation=None):
        self.inventory[name] = inventory

    def update_traits(self, name, traits, generation=None):
        self.traits[name] = set(traits)

    def data(self, name):
        return types.SimpleNamespace(traits=self.traits.get(name, set()))


class TestFakeDriver(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(conf.CONF))
        self.conf.config(host='node1')
        self.drv = fake.FakeDriver()
        self.drv.init_host('node1')
        self.inst = instance_obj.Instance.new(display_name='vm')

    def _spawn(self, inst=None):
        inst = inst or self.inst
        self.drv.spawn(None, inst, inst.image_meta, [], None, {})
        return inst

    def test_nodes(self):
        self.assertEqual(['node1'], self.drv.get_available_nodes())

    def test_spawn_runs(self):
        self._spawn()
        self.assertEqual(driver.InstanceInfo(driver.RUNNING, self.inst.uuid),
                         self.drv.get_info(self.inst))
        self.assertEqual([self.inst.name], self.drv.list_instances())
        self.assertEqual([self.inst.uuid], self.drv.list_instance_uuids())
        self.assertTrue(self.drv.instance_exists(self.inst))

    def test_spawn_twice_refused(self):
        self._spawn()
        exc = self.assertRaises(exception.InstanceExists, self._spawn)
        self.assertIn(self.inst.name, str(exc))

    def test_power_cycle(self):
        self._spawn()
        self.drv.power_off(self.inst)
        self.assertEqual(driver.SHUTDOWN, self.drv.get_info(self.inst).state)
        self.drv.power_on(None, self.inst, None)
        self.assertEqual(driver.RUNNING, self.drv.get_info(self.inst).state)

    def test_reboot_and_console(self):
        self._spawn()
        self.drv.power_off(self.inst)
        self.drv.reboot(None, self.inst, None, 'HARD')
        self.assertEqual(driver.RUNNING, self.drv.get_info(self.inst).state)
        output = self.drv.get_console_output(None, self.inst)
        self.assertIn('booting', output)
        self.assertIn('rebooting (HARD)', output)

    def test_destroy(self):
        self._spawn()
        self.drv.destroy(None, self.inst)
        self.assertEqual([], self.drv.list_instances())
        self.assertFalse(self.drv.instance_exists(self.inst))
        # A second destroy is not an error, as in Nova.
        self.drv.destroy(None, self.inst)

    def test_missing_instance(self):
        for call in (lambda: self.drv.get_info(self.inst),
                     lambda: self.drv.power_off(self.inst),
                     lambda: self.drv.power_on(None, self.inst, None),
                     lambda: self.drv.reboot(None, self.inst, None, 'SOFT'),
                     lambda: self.drv.get_console_output(None, self.inst)):
            exc = self.assertRaises(exception.InstanceNotFound, call)
            self.assertIn(self.inst.uuid, str(exc))

    def test_read_only_refuses_changes(self):
        drv = fake.FakeDriver(read_only=True)
        self.assertRaises(exception.EmuvirtException, drv.spawn, None,
                          self.inst, self.inst.image_meta, [], None, {})
        self.assertEqual([], drv.list_instances())

    def test_update_provider_tree(self):
        self.conf.config(reserved_host_memory_mb=1024,
                         reserved_host_disk_mb=1500, group='compute')
        self.conf.config(enabled_architectures=['arm64', 's390x', 'sparc'],
                         group='emulation')
        tree = FakeTree()
        self.drv.update_provider_tree(tree, 'node1')
        inventory = tree.inventory['node1']
        self.assertEqual(8, inventory['VCPU']['total'])
        self.assertEqual(16384, inventory['MEMORY_MB']['total'])
        self.assertEqual(1024, inventory['MEMORY_MB']['reserved'])
        self.assertEqual(2, inventory['DISK_GB']['reserved'])
        # sparc has no COMPUTE_ARCH_* trait in os-traits.
        self.assertEqual({'COMPUTE_ARCH_AARCH64', 'COMPUTE_ARCH_S390X'},
                         tree.traits['node1'])

    def test_update_provider_tree_keeps_operator_traits(self):
        self.conf.config(enabled_architectures=['s390x'], group='emulation')
        tree = FakeTree()
        tree.traits['node1'] = {'CUSTOM_RACK_7', 'COMPUTE_ARCH_MIPSEL'}
        self.drv.update_provider_tree(tree, 'node1')
        # The operator's trait stays; the driver's stale one goes.
        self.assertEqual({'CUSTOM_RACK_7', 'COMPUTE_ARCH_S390X'},
                         tree.traits['node1'])

    def test_cleanup_host(self):
        self.drv.cleanup_host('node1')
        self.assertIsNone(self.drv.host)

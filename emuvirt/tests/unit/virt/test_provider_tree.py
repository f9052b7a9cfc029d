"""Tests of ProviderTree and of the driver's update_provider_tree."""

import os

import fixtures
from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf
from emuvirt import exception
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import hostfiles
from emuvirt.virt import hostcaps
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt import provider_tree as ptree

UUID = '8b1c0dbe-42f5-4a5b-9d35-0a4b8d3b6a35'


class TestProviderTree(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tree = ptree.ProviderTree()
        self.tree.new_root('host1', UUID, generation=3)

    def test_lookup_by_name_and_uuid(self):
        self.assertTrue(self.tree.exists('host1'))
        self.assertTrue(self.tree.exists(UUID))
        self.assertFalse(self.tree.exists('host2'))
        data = self.tree.data('host1')
        self.assertEqual((UUID, 'host1', 3), (data.uuid, data.name,
                                              data.generation))
        self.assertEqual([UUID], self.tree.get_provider_uuids())

    def test_duplicate_root_refused(self):
        self.assertRaises(ValueError, self.tree.new_root, 'host1', 'x')
        self.assertRaises(ValueError, self.tree.new_root, 'other', UUID)

    def test_unknown_provider_raises(self):
        self.assertRaises(ValueError, self.tree.data, 'nope')
        self.assertRaises(ValueError, self.tree.update_traits, 'nope', [])

    def test_inventory_is_normalized_like_placement(self):
        self.assertTrue(self.tree.update_inventory(
            'host1', {'VCPU': {'total': 4}}))
        self.assertEqual(
            {'VCPU': {'total': 4, 'reserved': 0, 'min_unit': 1,
                      'max_unit': 2147483647, 'step_size': 1,
                      'allocation_ratio': 1.0}},
            self.tree.data('host1').inventory)
        # The same inventory, written fully, is no change.
        full = self.tree.data('host1').inventory
        self.assertFalse(self.tree.has_inventory_changed('host1', full))
        self.assertFalse(self.tree.update_inventory('host1', full))
        self.assertTrue(self.tree.has_inventory_changed(
            'host1', {'VCPU': {'total': 8}}))

    def test_generation_only_moves_when_given(self):
        self.tree.update_inventory('host1', {}, generation=None)
        self.assertEqual(3, self.tree.data(UUID).generation)
        self.tree.update_traits('host1', ['CUSTOM_A'], generation=5)
        self.assertEqual(5, self.tree.data(UUID).generation)

    def test_traits(self):
        self.assertTrue(self.tree.update_traits('host1', ['CUSTOM_A']))
        self.assertFalse(self.tree.update_traits('host1', {'CUSTOM_A'}))
        self.tree.add_traits('host1', 'CUSTOM_B', 'CUSTOM_C')
        self.assertTrue(self.tree.has_traits('host1', ['CUSTOM_A',
                                                       'CUSTOM_C']))
        self.tree.remove_traits('host1', 'CUSTOM_A', 'CUSTOM_NOT_THERE')
        self.assertEqual({'CUSTOM_B', 'CUSTOM_C'},
                         self.tree.data('host1').traits)
        self.assertTrue(self.tree.have_traits_changed('host1', []))

    def test_copy_is_independent(self):
        self.tree.update_inventory('host1', {'VCPU': {'total': 4}})
        copy = self.tree.copy()
        copy.update_inventory('host1', {'VCPU': {'total': 8}})
        copy.add_traits('host1', 'CUSTOM_X')
        self.assertEqual(4, self.tree.data('host1').inventory['VCPU']['total'])
        self.assertEqual(frozenset(), self.tree.data('host1').traits)

    def test_remove(self):
        self.tree.remove('host1')
        self.assertFalse(self.tree.exists(UUID))


class _Caps(object):
    host_arch = 'x86_64'

    def __init__(self, runnable, accelerated=()):
        self._runnable = tuple(runnable)
        self._accelerated = tuple(accelerated)

    def runnable_arches(self):
        return self._runnable

    def accelerated_arches(self):
        return self._accelerated


class TestUpdateProviderTree(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(conf.CONF))
        self.instances = self.useFixture(fixtures.TempDir()).path
        self.conf.config(group='libvirt', instances_path=self.instances)
        self.conf.config(group='compute', reserved_host_memory_mb=512,
                         reserved_host_disk_mb=1025)
        self.useFixture(fakelibvirt.FakeLibvirtFixture('x86_64'))
        self.host = vhost.Host('fake:///x86_64')
        self.tree = ptree.ProviderTree()
        self.tree.new_root('host1', UUID, generation=0)

    def _update(self, caps):
        ptree.update_provider_tree(self.tree, 'host1', self.host, caps,
                                   conf.CONF)
        return self.tree.data('host1')

    def test_inventory_from_host(self):
        st = os.statvfs(self.instances)
        disk_gb = st.f_blocks * st.f_frsize // 1024 ** 3
        inventory = self._update(_Caps(['x86_64'])).inventory
        self.assertEqual(fakelibvirt.HOST_CPUS, inventory['VCPU']['total'])
        self.assertEqual(0, inventory['VCPU']['reserved'])
        self.assertEqual(fakelibvirt.HOST_MEMORY_MB,
                         inventory['MEMORY_MB']['total'])
        self.assertEqual(512, inventory['MEMORY_MB']['reserved'])
        self.assertEqual(fakelibvirt.HOST_MEMORY_MB,
                         inventory['MEMORY_MB']['max_unit'])
        self.assertEqual(disk_gb, inventory['DISK_GB']['total'])
        # 1025 MiB reserved rounds up to 2 GiB.
        self.assertEqual(min(2, disk_gb), inventory['DISK_GB']['reserved'])

    def test_instances_path_not_created_yet_uses_its_parent(self):
        self.conf.config(group='libvirt', instances_path=os.path.join(
            self.instances, 'not', 'yet'))
        inventory = self._update(_Caps([])).inventory
        self.assertIn('DISK_GB', inventory)

    def test_reserved_larger_than_total_is_capped(self):
        self.conf.config(group='compute', reserved_host_memory_mb=10 ** 6)
        inventory = self._update(_Caps([])).inventory
        self.assertEqual(inventory['MEMORY_MB']['total'],
                         inventory['MEMORY_MB']['reserved'])

    def test_traits_replace_owned_and_keep_operator_ones(self):
        self.tree.update_traits('host1', ['CUSTOM_GOLD', 'COMPUTE_ARCH_S390X',
                                          'HW_ARCH_X86_64'])
        traits = self._update(_Caps(['x86_64', 'aarch64'],
                                    ['x86_64'])).traits
        self.assertEqual({'CUSTOM_GOLD', 'COMPUTE_ARCH_X86_64',
                          'COMPUTE_ARCH_AARCH64', 'HW_ARCH_X86_64',
                          'CUSTOM_EMUVIRT_ACCEL_X86_64'}, traits)

    def test_unchanged_host_leaves_tree_unchanged(self):
        first = self._update(_Caps(['x86_64']))
        second = self._update(_Caps(['x86_64']))
        self.assertEqual(first, second)

    def test_missing_provider(self):
        self.tree.remove('host1')
        self.assertRaises(exception.EmuvirtException, self._update,
                          _Caps([]))

    def test_with_real_probe(self):
        self.useFixture(hostfiles.HostFilesFixture())
        probe = hostcaps.CapabilityProbe(
            self.host, conf.CONF, firmware_dirs=[hostfiles.firmware_dir()])
        traits = self._update(probe.get()).traits
        self.assertIn('COMPUTE_ARCH_AARCH64', traits)
        self.assertIn('HW_ARCH_X86_64', traits)

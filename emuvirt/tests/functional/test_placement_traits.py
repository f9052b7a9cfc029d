"""One host against the real Placement: inventory, traits, conflicts,
outages.
"""

import os
import signal
import threading

import fixtures
import libvirt

from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.functional import placement_base

EMU = '/usr/bin/qemu-system-%s'
X86_TRAITS = {'COMPUTE_ARCH_X86_64', 'COMPUTE_ARCH_AARCH64',
              'COMPUTE_ARCH_S390X', 'COMPUTE_ARCH_PPC64LE',
              'COMPUTE_ARCH_MIPSEL', 'COMPUTE_ARCH_RISCV64',
              'HW_ARCH_X86_64', 'CUSTOM_EMUVIRT_ACCEL_X86_64'}


class TestProviderUpdates(placement_base.PlacementTestCase):

    def setUp(self):
        super().setUp()
        self.service = self.add_host('compute1', 'x86_64')

    def cycle(self):
        self.placement.reset_requests()
        return self.service.update_available_resource()

    def test_once_registers_inventory_and_traits(self):
        self.assertEqual(0, self.service.run(once=True))
        traits, inventory, _gen = self.provider('compute1')
        self.assertEqual(X86_TRAITS, traits)
        self.assertEqual(fakelibvirt.HOST_CPUS, inventory['VCPU']['total'])
        self.assertEqual(fakelibvirt.HOST_MEMORY_MB,
                         inventory['MEMORY_MB']['total'])
        self.assertEqual(512, inventory['MEMORY_MB']['reserved'])
        self.assertIn('DISK_GB', inventory)
        providers = self.api('GET', '/resource_providers').json()
        self.assertEqual(['compute1'], [p['name'] for p in
                                        providers['resource_providers']])

    def writes(self):
        return [r for r in self.placement.requests if r[0] != 'GET']

    def test_new_host_registers_in_three_writes(self):
        self.assertTrue(self.cycle())
        paths = [r[1] for r in self.writes()]
        custom = [p for p in paths if p.startswith('/traits/CUSTOM_')]
        self.assertEqual(['/traits/CUSTOM_EMUVIRT_ACCEL_X86_64'], custom)
        self.assertEqual(3, len(paths) - len(custom))
        # It looked before creating: one read, answered 404.
        self.assertEqual(('GET', '/resource_providers/%s/inventories'
                          % self.service.reportclient.provider_uuid, 404),
                         self.placement.requests[0])

    def test_steady_state_reads_its_provider_once_and_writes_nothing(self):
        self.assertTrue(self.cycle())
        uuid = self.service.reportclient.provider_uuid
        for _ in range(3):
            self.assertTrue(self.cycle())
            self.assertEqual([], self.writes())
            self.assertEqual(('GET', '/resource_providers/%s' % uuid, 200),
                             self.placement.requests[0])
            self.assertEqual(
                1, len([r for r in self.placement.requests
                        if r[1].startswith('/resource_providers/%s' % uuid)
                        and not r[1].endswith('/allocations')]))

    def test_restart_with_nothing_changed_writes_nothing(self):
        self.assertEqual(0, self.service.run(once=True))
        self.placement.reset_requests()
        # A new process: new driver, new report client, nothing cached.
        del self.connections['fake:///compute1']
        restarted = self.add_host('compute1', 'x86_64')
        self.assertEqual(0, restarted.run(once=True))
        self.assertEqual([], self.writes())
        self.assertNotIn(409, [r[2] for r in self.placement.requests])
        self.assertEqual(X86_TRAITS, self.traits('compute1'))

    def test_placement_wiped_while_running(self):
        logs = self.useFixture(fixtures.FakeLogger())
        self.assertTrue(self.cycle())
        self.placement.wipe()
        self.assertTrue(self.cycle())
        traits, inventory, _gen = self.provider('compute1')
        self.assertEqual(X86_TRAITS, traits)
        self.assertEqual(fakelibvirt.HOST_CPUS, inventory['VCPU']['total'])
        self.assertIn(('PUT', '/traits/CUSTOM_EMUVIRT_ACCEL_X86_64', 201),
                      self.placement.requests)
        gone = [line for line in logs.output.splitlines()
                if 'gone from Placement' in line]
        self.assertEqual(1, len(gone), logs.output)
        self.assertIn('compute1', gone[0])
        self.assertTrue(self.cycle())
        self.assertEqual([], self.writes())

    def test_provider_deleted_while_running(self):
        self.assertTrue(self.cycle())
        uuid = self.service.reportclient.provider_uuid
        self.assertEqual(204, self.api('DELETE', '/resource_providers/%s'
                                       % uuid).status_code)
        self.assertTrue(self.cycle())
        self.assertEqual(X86_TRAITS, self.traits('compute1'))

    def test_provider_recreated_by_someone_else(self):
        """A lower generation than the cache's: the cache is dropped."""
        logs = self.useFixture(fixtures.FakeLogger())
        self.assertTrue(self.cycle())
        uuid = self.service.reportclient.provider_uuid
        self.placement.wipe()
        self.api('POST', '/resource_providers', {'name': 'compute1',
                                                 'uuid': uuid})
        self.assertTrue(self.cycle())
        self.assertEqual(X86_TRAITS, self.traits('compute1'))
        self.assertIn('older than the', logs.output)
        self.assertNotIn(('POST', '/resource_providers', 200),
                         self.placement.requests)

    def test_emulator_removed_then_installed(self):
        self.assertTrue(self.cycle())
        self.connection('compute1').removed_arches.add('aarch64')
        self.files.remove(EMU % 'aarch64')
        self.assertTrue(self.cycle())
        self.assertEqual(X86_TRAITS - {'COMPUTE_ARCH_AARCH64'},
                         self.traits('compute1'))
        self.connection('compute1').removed_arches.discard('aarch64')
        self.files.add(EMU % 'aarch64')
        self.assertTrue(self.cycle())
        self.assertEqual(X86_TRAITS, self.traits('compute1'))

    def test_firmware_removed_removes_aarch64(self):
        self.assertTrue(self.cycle())
        self.files.remove('/usr/share/AAVMF/AAVMF_CODE.fd')
        self.assertTrue(self.cycle())
        self.assertNotIn('COMPUTE_ARCH_AARCH64', self.traits('compute1'))

    def test_custom_arch_trait_created(self):
        self.flags.config(group='emulation',
                          enabled_architectures=['ppc64', 'x86_64'])
        self.assertTrue(self.cycle())
        self.assertIn(('PUT', '/traits/CUSTOM_EMUVIRT_ARCH_PPC64', 201),
                      self.placement.requests)
        self.assertEqual({'CUSTOM_EMUVIRT_ARCH_PPC64', 'COMPUTE_ARCH_X86_64',
                          'HW_ARCH_X86_64', 'CUSTOM_EMUVIRT_ACCEL_X86_64'},
                         self.traits('compute1'))

    def test_operator_trait_kept(self):
        self.assertTrue(self.cycle())
        self.add_operator_trait('compute1', 'CUSTOM_GOLD')
        # Nothing changed on the host: the newer generation is read,
        # nothing is written, nothing is lost.
        self.assertTrue(self.cycle())
        self.assertEqual([], self.writes())
        self.connection('compute1').removed_arches.add('s390x')
        self.files.remove(EMU % 's390x')
        self.assertTrue(self.cycle())
        self.assertEqual(
            X86_TRAITS - {'COMPUTE_ARCH_S390X'} | {'CUSTOM_GOLD'},
            self.traits('compute1'))

    def test_conflict_during_the_update_is_handled(self):
        self.assertTrue(self.cycle())
        # The operator's trait lands after the provider was checked and
        # before the write: 409, re-read, retry.
        drv = self.service.driver
        real = drv.update_provider_tree
        calls = []

        def update(tree, nodename, allocations=None):
            if not calls:
                self.add_operator_trait('compute1', 'CUSTOM_GOLD')
                self.placement.reset_requests()
            calls.append(nodename)
            return real(tree, nodename, allocations)

        self.useFixture(fixtures.MockPatchObject(
            drv, 'update_provider_tree', side_effect=update))
        self.connection('compute1').removed_arches.add('s390x')
        self.files.remove(EMU % 's390x')
        self.assertTrue(self.cycle())
        statuses = [(r[0], r[2]) for r in self.placement.requests
                    if not r[1].endswith('/allocations')]
        self.assertEqual([('PUT', 409), ('GET', 200), ('GET', 200),
                          ('PUT', 200)], statuses)
        self.assertEqual(2, len(calls))
        self.assertEqual(
            X86_TRAITS - {'COMPUTE_ARCH_S390X'} | {'CUSTOM_GOLD'},
            self.traits('compute1'))

    def test_owned_trait_added_by_hand_is_corrected_on_change(self):
        self.assertTrue(self.cycle())
        self.add_operator_trait('compute1', 'CUSTOM_EMUVIRT_ARCH_PPC64')
        self.files.touch(EMU % 'x86_64')
        self.flags.config(group='compute', reserved_host_memory_mb=1024)
        self.assertTrue(self.cycle())
        self.assertEqual(X86_TRAITS, self.traits('compute1'))

    def test_refused_inventory_does_not_hold_traits_back(self):
        self.assertTrue(self.cycle())
        client = self.service.reportclient
        client.claim('6f1c9a4e-2b0d-4c3e-9a53-0d6c2f0e8b11', {'DISK_GB': 1})
        # DISK_GB vanishes from the host while a guest uses it: Placement
        # refuses the inventory; the trait change still goes through.
        self.useFixture(fixtures.MockPatch(
            'emuvirt.virt.provider_tree._disk_gb', return_value=0))
        self.connection('compute1').removed_arches.add('riscv64')
        self.files.remove(EMU % 'riscv64')
        self.assertFalse(self.cycle())
        traits, inventory, _gen = self.provider('compute1')
        self.assertEqual(X86_TRAITS - {'COMPUTE_ARCH_RISCV64'}, traits)
        self.assertIn('DISK_GB', inventory)
        self.assertIn(('PUT', '/resource_providers/%s/inventories'
                       % client.provider_uuid, 409), self.placement.requests)

    def test_placement_down_then_back(self):
        self.assertTrue(self.cycle())
        self.placement.stop()
        self.connection('compute1').removed_arches.add('mipsel')
        self.files.remove(EMU % 'mipsel')
        for _ in range(2):
            self.assertFalse(self.service.update_available_resource())
        self.placement.start()
        self.assertTrue(self.cycle())
        self.assertEqual(X86_TRAITS - {'COMPUTE_ARCH_MIPSEL'},
                         self.traits('compute1'))
        self.assertTrue(self.cycle())
        self.assertEqual([], self.writes())

    def test_placement_down_at_start(self):
        self.placement.stop()
        self.assertFalse(self.service.update_available_resource())
        self.placement.start()
        self.assertTrue(self.service.update_available_resource())
        self.assertEqual(X86_TRAITS, self.traits('compute1'))

    def test_placement_lost_its_database(self):
        self.assertTrue(self.cycle())
        self.placement.wipe()
        self.files.touch(EMU % 'x86_64')
        self.flags.config(group='compute', reserved_host_memory_mb=1024)
        self.assertTrue(self.cycle())
        traits, inventory, _gen = self.provider('compute1')
        self.assertEqual(X86_TRAITS, traits)
        self.assertEqual(1024, inventory['MEMORY_MB']['reserved'])

    def test_libvirt_down_then_back(self):
        self.assertTrue(self.cycle())
        conn = self.connection('compute1')
        real = conn.getInfo

        def down():
            raise fakelibvirt.make_error(libvirt.VIR_ERR_SYSTEM_ERROR,
                                         'Cannot recv data')

        conn.getInfo = down
        self.assertFalse(self.service.update_available_resource())
        conn.getInfo = real
        self.assertTrue(self.cycle())

    def test_driver_init_fails_then_recovers(self):
        service = self.add_host('late', 'x86_64')
        service.driver.init_host = lambda host: self._raise()
        self.assertFalse(service.update_available_resource())
        del service.driver.init_host
        self.assertTrue(service.update_available_resource())
        self.assertEqual(X86_TRAITS, self.traits('late'))

    @staticmethod
    def _raise():
        raise fakelibvirt.make_error(libvirt.VIR_ERR_SYSTEM_ERROR, 'down')


class TestServiceLoop(placement_base.PlacementTestCase):

    def _run_until(self, signum):
        service = self.add_host('compute1', 'x86_64')
        self.flags.config(group='compute', provider_update_interval=1)
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.addCleanup(signal.signal, sig, signal.getsignal(sig))
        service.install_signal_handlers()
        timer = threading.Timer(1.5, os.kill, (os.getpid(), signum))
        timer.start()
        self.addCleanup(timer.cancel)
        self.assertEqual(0, service.run())
        return service

    def test_sigterm_stops_cleanly(self):
        service = self._run_until(signal.SIGTERM)
        self.assertEqual(2, service.cycles)
        self.assertEqual(0, service.failures)
        self.assertEqual(X86_TRAITS, self.traits('compute1'))

    def test_sigint_stops_cleanly(self):
        service = self._run_until(signal.SIGINT)
        self.assertEqual(2, service.cycles)

    def test_keeps_running_while_placement_is_down(self):
        self.placement.stop()
        service = self._run_until(signal.SIGTERM)
        self.assertEqual(2, service.failures)

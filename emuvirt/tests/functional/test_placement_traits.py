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

    def test_new_host_registers_in_three_requests(self):
        self.assertTrue(self.cycle())
        paths = [r[1] for r in self.placement.requests]
        custom = [p for p in paths if p.startswith('/traits/CUSTOM_')]
        self.assertEqual(['/traits/CUSTOM_EMUVIRT_ACCEL_X86_64'], custom)
        self.assertEqual(3, len(paths) - len(custom))

    def test_steady_state_sends_no_request(self):
        self.assertTrue(self.cycle())
        for _ in range(3):
            self.assertTrue(self.cycle())
            self.assertEqual([], self.placement.requests)

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

    def test_operator_trait_kept_and_conflict_handled(self):
        self.assertTrue(self.cycle())
        self.add_operator_trait('compute1', 'CUSTOM_GOLD')
        # Nothing changed on the host: nothing is sent, nothing is lost.
        self.assertTrue(self.cycle())
        self.assertEqual([], self.placement.requests)
        # A host change now meets a newer generation: 409, re-read, retry.
        self.connection('compute1').removed_arches.add('s390x')
        self.files.remove(EMU % 's390x')
        self.assertTrue(self.cycle())
        statuses = [(r[0], r[2]) for r in self.placement.requests]
        self.assertEqual([('PUT', 409), ('GET', 200), ('GET', 200),
                          ('PUT', 200)], statuses)
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
        self.assertEqual([], self.placement.requests)

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

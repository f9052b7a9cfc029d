"""Tests of host capability discovery and its cache."""

import fixtures
import libvirt
from lxml import etree
from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf
from emuvirt import exception
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import hostfiles
from emuvirt.virt import hostcaps
from emuvirt.virt.libvirt import host as vhost

EMU = '/usr/bin/qemu-system-%s'
ALL_RUNNABLE = ('aarch64', 'mipsel', 'ppc64le', 'riscv64', 's390x', 'x86_64')


class HostCapsTestCase(testtools.TestCase):

    host_arch = 'x86_64'
    remove_arches = ()

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(conf.CONF))
        self.libvirt = self.useFixture(fakelibvirt.FakeLibvirtFixture(
            self.host_arch, remove_arches=self.remove_arches))
        self.files = self.useFixture(
            hostfiles.HostFilesFixture(host_arch=self.host_arch))
        self.host = vhost.Host('fake:///%s' % self.host_arch)
        self.probe = hostcaps.CapabilityProbe(
            self.host, conf.CONF,
            firmware_dirs=[hostfiles.firmware_dir(self.host_arch)])

    def libvirt_calls(self):
        return sum(self.libvirt.calls.values())


class TestDiscovery(HostCapsTestCase):

    def test_runnable_arches(self):
        caps = self.probe.get()
        self.assertEqual('x86_64', caps.host_arch)
        self.assertEqual(ALL_RUNNABLE, caps.runnable_arches())

    def test_arch_details(self):
        aarch64 = self.probe.get().archs['aarch64']
        self.assertEqual(EMU % 'aarch64', aarch64.emulator)
        self.assertTrue(aarch64.emulator_present)
        self.assertIn('virt', aarch64.machines)
        self.assertEqual(('qemu',), aarch64.domain_types)
        self.assertEqual('virt-7.2', aarch64.machine)
        self.assertTrue(aarch64.domcaps)
        self.assertEqual('uefi', aarch64.firmware_needed)
        self.assertEqual(hostfiles.AAVMF_FILES, aarch64.firmware_found)
        self.assertEqual('tcg', aarch64.accelerator)
        self.assertEqual('COMPUTE_ARCH_AARCH64', aarch64.trait)
        s390x = self.probe.get().archs['s390x']
        self.assertEqual('builtin', s390x.firmware_needed)
        self.assertEqual((), s390x.firmware_found)

    def test_kvm_for_host_arch(self):
        caps = self.probe.get()
        self.assertEqual('kvm', caps.archs['x86_64'].accelerator)
        self.assertEqual(('x86_64',), caps.accelerated_arches())
        self.assertIn('CUSTOM_EMUVIRT_ACCEL_X86_64', caps.traits())

    def test_virt_type_qemu_means_no_acceleration(self):
        self.conf.config(group='libvirt', virt_type='qemu')
        caps = self.probe.get()
        self.assertEqual('tcg', caps.archs['x86_64'].accelerator)
        self.assertEqual((), caps.accelerated_arches())
        self.assertIn('x86_64', caps.runnable_arches())

    def test_foreign_arch_probed_as_qemu_even_if_kvm_offered(self):
        # Pretend libvirt offered KVM for aarch64 guests on this x86 host.
        conn = self.libvirt.connection
        root = etree.fromstring(conn._capabilities)
        for arch in root.iter('arch'):
            if arch.get('name') == 'aarch64':
                etree.SubElement(arch, 'domain', type='kvm')
        conn._capabilities = etree.tostring(root)
        probed = []
        real = self.host.get_domain_capabilities

        def spy(arch, machine, virt_type):
            probed.append((arch, virt_type))
            return real(arch, machine, virt_type)

        self.useFixture(fixtures.MockPatchObject(
            self.host, 'get_domain_capabilities', side_effect=spy))
        caps = self.probe.get()
        self.assertIn(('aarch64', 'qemu'), probed)
        self.assertIn(('x86_64', 'kvm'), probed)
        self.assertEqual(
            ['x86_64'], [a for a, t in probed if t == 'kvm'])
        self.assertEqual('tcg', caps.archs['aarch64'].accelerator)
        self.assertEqual(('kvm', 'qemu'),
                         caps.archs['aarch64'].domain_types)

    def test_probed_domain_capabilities_keep_no_document(self):
        # The service keeps them: all read, their parsed document gone.
        caps = self.probe.get()
        kept = [(a, self.host.get_domain_capabilities(
            a, c.machine, c.domain_type))
            for a, c in sorted(caps.archs.items()) if c.domcaps]
        self.assertIn('aarch64', dict(kept))
        for arch, domcaps in kept:
            self.assertNotIn('_pending', vars(domcaps), arch)
            self.assertIn('features', vars(domcaps), arch)

    def test_arch_without_profile(self):
        alpha = self.probe.get().archs['alpha']
        self.assertFalse(alpha.runnable)
        self.assertIn('no arch profile', alpha.reason)
        self.assertIsNone(alpha.accelerator)

    def test_arch_not_enabled(self):
        ppc64 = self.probe.get().archs['ppc64']
        self.assertFalse(ppc64.runnable)
        self.assertIn('enabled_architectures', ppc64.reason)
        self.conf.config(group='emulation', enabled_architectures=[
            'ppc64', 'x86_64'])
        caps = hostcaps.CapabilityProbe(self.host, conf.CONF).get()
        self.assertEqual(('ppc64', 'x86_64'), caps.runnable_arches())
        self.assertIn('CUSTOM_EMUVIRT_ARCH_PPC64', caps.traits())

    def test_host_arch_runs_even_if_not_enabled(self):
        self.conf.config(group='emulation',
                         enabled_architectures=['s390x'])
        self.assertEqual(('s390x', 'x86_64'),
                         self.probe.get().runnable_arches())

    def test_emulator_file_missing(self):
        self.files.remove(EMU % 's390x')
        s390x = self.probe.get().archs['s390x']
        self.assertFalse(s390x.runnable)
        self.assertFalse(s390x.emulator_present)
        self.assertIn('emulator %s is missing' % (EMU % 's390x'),
                      s390x.reason)

    def test_firmware_missing(self):
        for path in hostfiles.AAVMF_FILES:
            self.files.remove(path)
        aarch64 = self.probe.get().archs['aarch64']
        self.assertFalse(aarch64.runnable)
        self.assertIn('No UEFI firmware found for aarch64', aarch64.reason)
        self.assertNotIn('aarch64', self.probe.get().runnable_arches())

    def test_bad_machine_option(self):
        self.conf.config(group='libvirt',
                         hw_machine_type=['s390x=no-such-machine'])
        s390x = self.probe.get().archs['s390x']
        self.assertFalse(s390x.runnable)
        self.assertIn('no-such-machine', s390x.reason)

    def test_libvirt_without_the_emulator(self):
        self.libvirt.remove_arch('riscv64')
        riscv = self.probe.get().archs['riscv64']
        self.assertFalse(riscv.runnable)
        self.assertIsNone(riscv.emulator)
        self.assertIn('no emulator', riscv.reason)

    def test_to_dict(self):
        data = self.probe.get().to_dict()
        self.assertEqual('x86_64', data['host_arch'])
        self.assertIn('COMPUTE_ARCH_S390X', data['traits'])
        self.assertEqual(sorted(data['traits']), data['traits'])
        self.assertTrue(data['archs']['s390x']['runnable'])
        self.assertIsNone(data['archs']['alpha']['trait'])


class TestCache(HostCapsTestCase):

    def test_second_get_asks_libvirt_nothing(self):
        first = self.probe.get()
        calls = self.libvirt_calls()
        self.assertIs(first, self.probe.get())
        self.assertEqual(calls, self.libvirt_calls())
        self.assertEqual(1, self.probe.probes)

    def test_emulator_removed_is_noticed(self):
        self.probe.get()
        self.libvirt.remove_arch('s390x')
        self.files.remove(EMU % 's390x')
        caps = self.probe.get()
        self.assertEqual(2, self.probe.probes)
        self.assertNotIn('s390x', caps.runnable_arches())

    def test_emulator_installed_is_noticed(self):
        self.libvirt.remove_arch('s390x')
        self.files.remove(EMU % 's390x')
        self.assertNotIn('s390x', self.probe.get().runnable_arches())
        self.libvirt.restore_arch('s390x')
        self.files.add(EMU % 's390x')
        self.assertIn('s390x', self.probe.get().runnable_arches())
        self.assertEqual(2, self.probe.probes)

    def test_emulator_upgraded_is_probed_again(self):
        self.probe.get()
        self.files.touch(EMU % 'aarch64')
        self.probe.get()
        self.assertEqual(2, self.probe.probes)
        self.probe.get()
        self.assertEqual(2, self.probe.probes)

    def test_firmware_removed_and_installed(self):
        self.probe.get()
        self.files.remove(hostfiles.AAVMF_FILES[0])
        self.assertNotIn('aarch64', self.probe.get().runnable_arches())
        self.files.add(hostfiles.AAVMF_FILES[0])
        self.assertIn('aarch64', self.probe.get().runnable_arches())
        self.assertEqual(3, self.probe.probes)

    def test_unrelated_file_changes_do_not_probe(self):
        self.probe.get()
        self.files.add('/var/tmp/unrelated')
        self.probe.get()
        self.assertEqual(1, self.probe.probes)

    def test_reprobe_rereads_libvirt(self):
        self.probe.get()
        before = self.libvirt.calls['getCapabilities']
        self.files.touch(EMU % 'x86_64')
        self.probe.get()
        self.assertEqual(before + 1, self.libvirt.calls['getCapabilities'])

    def test_invalidate(self):
        self.probe.get()
        self.probe.invalidate()
        self.probe.get()
        self.assertEqual(2, self.probe.probes)

    def test_libvirt_down_is_not_cached(self):
        self.libvirt.connect_error = 'daemon not running'
        self.assertRaises(exception.HypervisorUnavailable, self.probe.get)
        self.libvirt.connect_error = None
        self.assertEqual(ALL_RUNNABLE, self.probe.get().runnable_arches())

    def test_libvirt_lost_during_probe_is_not_cached(self):
        conn = self.libvirt.connection
        real = conn.getDomainCapabilities
        lost = {'on': True}

        def dying(*args, **kwargs):
            if lost['on'] and args[1] == 'mipsel':
                raise fakelibvirt.make_error(
                    libvirt.VIR_ERR_SYSTEM_ERROR,
                    'Cannot recv data: Connection reset by peer')
            return real(*args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(
            conn, 'getDomainCapabilities', side_effect=dying))
        self.assertRaises(exception.HypervisorUnavailable, self.probe.get)
        lost['on'] = False
        self.assertEqual(ALL_RUNNABLE, self.probe.get().runnable_arches())

    def test_domcaps_refusal_is_a_fact_about_the_arch(self):
        conn = self.libvirt.connection
        real = conn.getDomainCapabilities

        def refuse(*args, **kwargs):
            if args[1] == 'mipsel':
                raise fakelibvirt.make_error(
                    libvirt.VIR_ERR_INVALID_ARG,
                    'invalid argument: the machine is not supported')
            return real(*args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(
            conn, 'getDomainCapabilities', side_effect=refuse))
        caps = self.probe.get()
        self.assertNotIn('mipsel', caps.runnable_arches())
        self.assertIn('not supported', caps.archs['mipsel'].reason)
        self.assertIs(caps, self.probe.get())


class TestOtherHosts(testtools.TestCase):

    def _probe(self, host_arch, remove_arches=()):
        self.useFixture(config_fixture.Config(conf.CONF))
        self.useFixture(fakelibvirt.FakeLibvirtFixture(
            host_arch, remove_arches=remove_arches))
        self.useFixture(hostfiles.HostFilesFixture(host_arch=host_arch))
        return hostcaps.CapabilityProbe(
            vhost.Host('fake:///%s' % host_arch), conf.CONF,
            firmware_dirs=[hostfiles.firmware_dir(host_arch)]).get()

    def test_s390x_host(self):
        caps = self._probe('s390x')
        self.assertEqual('s390x', caps.host_arch)
        self.assertEqual(('s390x',), caps.accelerated_arches())
        self.assertIn('HW_ARCH_S390X', caps.traits())
        self.assertEqual('tcg', caps.archs['x86_64'].accelerator)

    def test_aarch64_host_with_only_its_own_emulator(self):
        others = [a for a in fakelibvirt.KNOWN_ARCHES if a != 'aarch64']
        caps = self._probe('aarch64', remove_arches=others)
        self.assertEqual(('aarch64',), caps.runnable_arches())
        self.assertEqual({'COMPUTE_ARCH_AARCH64', 'HW_ARCH_AARCH64',
                          'CUSTOM_EMUVIRT_ACCEL_AARCH64'}, caps.traits())

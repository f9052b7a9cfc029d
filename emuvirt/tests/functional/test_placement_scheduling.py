"""Several hosts in one Placement: each image gets exactly the capable
hosts; claims use and free the host's resources.
"""

import argparse
import contextlib
import io
import json
import uuid

from emuvirt.cmd import scheduler as scheduler_cmd
from emuvirt import exception
from emuvirt.objects import flavor as flavor_obj
from emuvirt.scheduler.client import report
from emuvirt.tests.functional import placement_base

X86 = 'x86-host'        # x86_64 with qemu-system-aarch64 installed
S390X = 's390x-host'    # s390x, its own emulator only
ARM = 'arm-host'        # aarch64, its own emulator only
ALL = {X86, S390X, ARM}


class TestCandidates(placement_base.PlacementTestCase):

    def setUp(self):
        super().setUp()
        self.add_host(X86, 'x86_64', arches=['x86_64', 'aarch64'])
        self.add_host(S390X, 's390x', arches=['s390x'])
        self.add_host(ARM, 'aarch64', arches=['aarch64'])
        for service in self.hosts.values():
            self.assertEqual(0, service.run(once=True))
        self.client = report.ReportClient.from_conf(
            placement_base.CONF, nodename='scheduler')

    def candidates(self, props, flavor=''):
        _request, hosts = scheduler_cmd.find_candidates(
            props, flavor_obj.Flavor.from_string(flavor), self.client)
        return {h['name'] for h in hosts}

    def test_traits_per_host(self):
        self.assertEqual({'COMPUTE_ARCH_X86_64', 'COMPUTE_ARCH_AARCH64',
                          'HW_ARCH_X86_64', 'CUSTOM_EMUVIRT_ACCEL_X86_64'},
                         self.traits(X86))
        self.assertEqual({'COMPUTE_ARCH_S390X', 'HW_ARCH_S390X',
                          'CUSTOM_EMUVIRT_ACCEL_S390X'}, self.traits(S390X))
        self.assertEqual({'COMPUTE_ARCH_AARCH64', 'HW_ARCH_AARCH64',
                          'CUSTOM_EMUVIRT_ACCEL_AARCH64'}, self.traits(ARM))

    def test_each_image_gets_exactly_the_capable_hosts(self):
        cases = [
            ({}, ALL),
            ({'hw_emulation_architecture': 'aarch64'}, {X86, ARM}),
            ({'hw_emulation_architecture': 'arm64'}, {X86, ARM}),
            ({'hw_emulation_architecture': 's390x'}, {S390X}),
            ({'hw_emulation_architecture': 'x86_64'}, {X86}),
            ({'hw_emulation_architecture': 'ppc64le'}, set()),
            ({'hw_architecture': 'x86_64'}, {X86}),
            ({'hw_architecture': 'aarch64'}, {ARM}),
            ({'hw_emulation_architecture': 'aarch64',
              'hw_architecture': 'x86_64'}, {X86}),
            ({'hw_emulation_architecture': 'aarch64',
              'trait:CUSTOM_EMUVIRT_ACCEL_AARCH64': 'required'}, {ARM}),
            ({'hw_emulation_architecture': 'aarch64',
              'trait:CUSTOM_EMUVIRT_ACCEL_AARCH64': 'forbidden'}, {X86}),
            # A trait no host ever reported: Placement does not know it.
            ({'hw_emulation_architecture': 'ppc64'}, set()),
        ]
        for props, expected in cases:
            self.assertEqual(expected, self.candidates(props), props)

    def test_flavor_too_big_for_every_host(self):
        self.assertEqual(set(), self.candidates(
            {'hw_emulation_architecture': 's390x'}, 'vcpus=3'))

    def test_arch_without_trait_fails_the_request(self):
        e = self.assertRaises(exception.InvalidImageProperty,
                              self.candidates,
                              {'hw_emulation_architecture': 'alpha'})
        self.assertIn('hw_emulation_architecture', str(e))

    def test_emulator_removed_host_drops_out(self):
        self.connection(X86).removed_arches.add('aarch64')
        self.files.remove('/usr/bin/qemu-system-aarch64')
        self.assertTrue(self.hosts[X86].update_available_resource())
        self.assertEqual({ARM}, self.candidates(
            {'hw_emulation_architecture': 'aarch64'}))

    def test_claims_use_and_free_resources(self):
        host = report.ReportClient.from_conf(placement_base.CONF,
                                             nodename=S390X)
        guest1, guest2 = str(uuid.uuid4()), str(uuid.uuid4())
        host.claim(guest1, {'VCPU': 2, 'MEMORY_MB': 1024, 'DISK_GB': 1})
        self.assertEqual({'VCPU': 2, 'MEMORY_MB': 1024, 'DISK_GB': 1},
                         host.get_usages())
        self.assertEqual({host.provider_uuid: {'VCPU': 2, 'MEMORY_MB': 1024,
                                               'DISK_GB': 1}},
                         host.get_allocations(guest1))
        # The host's two CPUs are taken now.
        self.assertEqual(set(), self.candidates(
            {'hw_emulation_architecture': 's390x'}))
        self.assertRaises(report.ClaimFailed, host.claim, guest2,
                          {'VCPU': 1})
        self.assertTrue(host.release(guest1))
        self.assertFalse(host.release(guest1))
        self.assertEqual({'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0},
                         host.get_usages())
        self.assertEqual({S390X}, self.candidates(
            {'hw_emulation_architecture': 's390x'}))

    def _run_cmd(self, *argv):
        parser = argparse.ArgumentParser()
        scheduler_cmd.add_parser(parser.add_subparsers())
        args = parser.parse_args(argv)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(0, args.func(args))
        return out.getvalue()

    def test_command_json(self):
        out = json.loads(self._run_cmd(
            'scheduler', 'candidates', '--property',
            'hw_emulation_architecture=s390x', '--flavor',
            'vcpus=1,ram=256,disk=1', '--format', 'json'))
        self.assertEqual(['COMPUTE_ARCH_S390X'], out['required'])
        self.assertEqual({'VCPU': 1, 'MEMORY_MB': 256, 'DISK_GB': 1},
                         out['resources'])
        self.assertEqual([{'name': S390X,
                           'uuid': report.provider_uuid(S390X)}],
                         out['hosts'])

    def test_command_table(self):
        out = self._run_cmd('scheduler', 'candidates', '--property',
                            'hw_emulation_architecture=aarch64')
        self.assertIn('Required traits: COMPUTE_ARCH_AARCH64', out)
        self.assertIn(X86, out)
        self.assertIn(ARM, out)
        self.assertNotIn(S390X, out)
        out = self._run_cmd('scheduler', 'candidates', '--property',
                            'hw_emulation_architecture=riscv64')
        self.assertIn('No host can take this guest.', out)

    def test_command_without_placement(self):
        self.flags.config(group='placement', auth_type=None)
        self.assertRaises(report.PlacementNotConfigured, self._run_cmd,
                          'scheduler', 'candidates')

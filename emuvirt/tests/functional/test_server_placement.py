"""``emuvirt server create/delete`` with the real Placement in process.

create claims the flavor's resources for the guest before defining it,
delete releases them, and a create that fails at any point leaves no claim
(and no domain, no files) behind.
"""

import re

import libvirt
import requests

from emuvirt.scheduler.client import report
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import placement
from emuvirt.tests.functional import test_server_commands

HOST = 'testhost'
# Log records: Placement runs in this process, and the report client logs
# its claims; the command's own output is what these tests look at. A
# command logs 'emuvirt: WARNING: ...' (its errors: 'emuvirt: error:').
LOG_RECORD = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+ '
                        r'|emuvirt: [A-Z]+: ).*\n', re.MULTILINE)


class ClaimsTestCase(test_server_commands.ServerTestCase):
    """The fake libvirt host 'testhost' with its provider in Placement."""

    def setUp(self):
        super().setUp()
        self.placement = self.useFixture(placement.PlacementFixture())
        self.placement.configure(self.flags.conf)
        self.rp = report.provider_uuid(HOST)
        # The provider the compute service registers for this host.
        self.api('POST', '/resource_providers',
                 {'name': HOST, 'uuid': self.rp}, expect=200)
        self.api('PUT', '/resource_providers/%s/inventories' % self.rp,
                 {'resource_provider_generation': 0, 'inventories': {
                     'VCPU': {'total': 2},
                     'MEMORY_MB': {'total': 2048},
                     'DISK_GB': {'total': 20}}}, expect=200)

    def run_cmd(self, *argv):
        status, out, err = super().run_cmd(*argv)
        return status, LOG_RECORD.sub('', out), LOG_RECORD.sub('', err)

    def api(self, method, path, body=None, expect=None):
        resp = requests.request(
            method, self.placement.endpoint + path, json=body,
            headers={'X-Auth-Token': placement.ADMIN_TOKEN,
                     'OpenStack-API-Version': 'placement 1.39'})
        if expect is not None:
            self.assertEqual(expect, resp.status_code, resp.text)
        return resp

    def usages(self):
        return self.api('GET', '/resource_providers/%s/usages' % self.rp,
                        expect=200).json()['usages']

    def allocations(self, uuid):
        return self.api('GET', '/allocations/%s' % uuid,
                        expect=200).json()['allocations']


class TestServerClaims(ClaimsTestCase):

    def test_create_claims_and_delete_releases(self):
        out, err = self.create('g1', '--flavor', 'vcpus=2,ram=512')
        self.assertEqual('', err)
        uuid = self.domain().UUIDString()
        self.assertEqual({self.rp: {'resources': {'VCPU': 2,
                                                  'MEMORY_MB': 512}}},
                         {rp: {'resources': a['resources']}
                          for rp, a in self.allocations(uuid).items()})
        self.assertEqual(('deleted g1; released its resources\n', ''),
                         self.ok('delete', 'g1'))
        self.assertEqual({}, self.allocations(uuid))
        self.assertEqual({'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0},
                         self.usages())

    def test_disk_is_claimed_for_an_image(self):
        image = self.file('disk.raw', b'\0' * 1024 * 1024)
        self.ok('create', 'g1', '--image', image, '--property',
                'hw_emulation_architecture=s390x', '--flavor', 'disk=5')
        self.assertEqual({'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 5},
                         self.usages())

    def test_refused_claim_creates_nothing(self):
        err = self.refused('create', 'g1', '--kernel', self.kernel,
                           '--flavor', 'vcpus=4')
        self.assertIn('Placement refused to claim', err)
        self.assertNothingLeft()
        self.assertEqual(0, self.usages()['VCPU'])

    def test_failed_spawn_releases_the_claim(self):
        self.useFixture(test_server_commands.fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, 'createWithFlags',
            side_effect=fakelibvirt.make_error(
                libvirt.VIR_ERR_INTERNAL_ERROR,
                'internal error: qemu unexpectedly closed the monitor')))
        err = self.refused('create', 'g1', '--kernel', self.kernel)
        self.assertIn('Could not start instance g1', err)
        self.assertNothingLeft()
        self.assertEqual({'VCPU': 0, 'MEMORY_MB': 0, 'DISK_GB': 0},
                         self.usages())

    def test_bad_input_claims_nothing(self):
        self.refused('create', 'g1', '--kernel', self.kernel, '--property',
                     'hw_emulation_architecture=s390x', '--property',
                     'hw_video_model=vga')
        self.assertEqual([], [r for r in self.placement.requests
                              if '/allocations/' in r[1]])

    def test_mipsel_with_two_vcpus_claims_nothing(self):
        # malta's CPU has no SMP: refused in the plan, before the claim.
        err = self.refused('create', 'g1', '--kernel', self.kernel,
                           '--property', 'hw_emulation_architecture=mipsel',
                           '--flavor', 'vcpus=2')
        self.assertEqual(
            "emuvirt: error: Flavor vcpus=2: mipsel guests take at most 1 "
            "(malta's 24Kf CPU has no SMP; a guest with more vCPUs never "
            "boots)\n", err)
        self.assertNothingLeft()
        self.assertEqual([], [r for r in self.placement.requests
                              if '/allocations/' in r[1]])
        self.ok('create', 'g1', '--kernel', self.kernel, '--property',
                'hw_emulation_architecture=mipsel', '--flavor', 'vcpus=1')
        self.assertEqual(1, self.usages()['VCPU'])

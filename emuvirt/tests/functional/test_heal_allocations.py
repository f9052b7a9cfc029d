"""``emuvirt-manage placement heal_allocations`` against the real Placement.

Guests are created through :class:`ComputeAPI` (the path ``emuvirt
server create`` takes, with its claim) on the fake libvirt; Placement is
then wiped or edited, and the command, run as the console script runs,
must claim again exactly what each create claimed, on this host's
provider, and nothing else.
"""

import io
import os
import re

import fixtures
from oslo_utils import uuidutils

from emuvirt.cmd import manage
from emuvirt.compute import api as compute_api
from emuvirt.compute import heal
from emuvirt import exception
from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.objects import instance as instance_obj
from emuvirt.scheduler.client import report
from emuvirt.tests.fixtures import guests
from emuvirt.tests.functional import test_guest_xml_cmd
from emuvirt.tests.functional import test_reconcile

HOST = 'compute1'
PLACEMENT_LOG = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+ .*\n',
                           re.MULTILINE)
WRITES = ('PUT', 'POST', 'DELETE', 'PATCH')


class HealTestCase(test_reconcile.ReconcileTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(test_guest_xml_cmd.RootLoggerState())
        self.flags.config(group='libvirt', connection_uri='fake:///compute1')
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.conf_file = os.path.join(self.tmp, 'emuvirt.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[DEFAULT]\n')
        self.compute = compute_api.ComputeAPI(
            self.service.conf, driver=self.service.driver,
            reportclient=self.client, ledger=self.ledger)
        self.rp = report.provider_uuid(HOST)

    def _open(self, uri):
        # Each emuvirt-manage run opens the one fake connection and
        # closes it when done, as it would close its own.
        conn = super()._open(uri)
        conn.closed = False
        return conn

    def create(self, name, flavor='vcpus=1,ram=256', image=False):
        """Create a guest as ``emuvirt server create`` does; its UUID."""
        instance, image_meta = guests.make_instance('s390x', name)
        instance.flavor = flavor_obj.Flavor.from_string(flavor)
        if image:
            path = os.path.join(self.tmp, name + '.raw')
            with open(path, 'wb') as f:
                f.write(b'\0' * 1024 * 1024)
            image_meta = image_meta_obj.ImageMeta.from_dict(
                {'properties': {'hw_emulation_architecture': 's390x'},
                 'disk_format': 'raw'}, strict=True)
            instance = instance_obj.Instance.new(
                name=name, flavor=instance.flavor, image_meta=image_meta,
                image_path=path)
        self.assertTrue(self.compute.create(instance, image_meta).claimed)
        return instance.uuid

    def holdings(self):
        """{consumer: {provider: resources}} of this host's guests."""
        return {uuid: self.client.get_allocations(uuid)
                for uuid in self.service.driver.list_instance_uuids()}

    def manage(self, *argv):
        """(exit code, stdout, stderr) of one emuvirt-manage run."""
        out, err = io.StringIO(), io.StringIO()
        with fixtures.MonkeyPatch('sys.stdout', out), \
                fixtures.MonkeyPatch('sys.stderr', err):
            try:
                code = manage.main(['--config-file', self.conf_file,
                                    'placement', 'heal_allocations'] +
                                   list(argv))
            except SystemExit as e:
                code = e.code
        # Placement runs in this process: its own log lines are not the
        # command's.
        return code, out.getvalue(), PLACEMENT_LOG.sub('', err.getvalue())

    def writes(self):
        return [r for r in self.placement.requests if r[0] in WRITES]

    def assertOneLine(self, text):
        self.assertEqual(1, text.count('\n'), text)
        self.assertNotIn('Traceback', text)


class TestHeal(HealTestCase):

    def test_wiped_placement_healed_as_created(self):
        kernel = self.create('small')
        disk = self.create('big', image=True,
                           flavor='vcpus=1,ram=300,disk=3,ephemeral=2,'
                                  'swap=1536')
        created = self.holdings()
        # What create claimed: DISK_GB counts root, ephemeral and swap
        # (rounded up to GiB); a kernel-booted guest has no disk.
        self.assertEqual(
            {kernel: {self.rp: {'VCPU': 1, 'MEMORY_MB': 256}},
             disk: {self.rp: {'VCPU': 1, 'MEMORY_MB': 300, 'DISK_GB': 7}}},
            created)
        self.placement.wipe()
        # The compute service registers the provider again, and warns.
        self.assertEqual(2, self.cycle().unallocated)
        code, out, err = self.manage()
        self.assertEqual((0, ''), (code, err), out)
        self.assertEqual(
            'Claimed DISK_GB=7, MEMORY_MB=300, VCPU=1 on this host for big '
            '(%s)\n'
            'Claimed MEMORY_MB=256, VCPU=1 on this host for small (%s)\n'
            % (disk, kernel), ''.join(sorted(out.splitlines(True))))
        self.assertEqual(created, self.holdings())
        # The compute cycle agrees: nothing without an allocation.
        counts = self.cycle()
        self.assertEqual((2, 0, 0), (counts.allocations, counts.released,
                                     counts.unallocated))

    def test_second_run_has_nothing_to_do(self):
        uuid = self.create('g1')
        self.placement.wipe()
        self.cycle()
        self.assertEqual(0, self.manage()[0])
        self.placement.reset_requests()
        self.assertEqual((4, '', ''), self.manage())
        self.assertEqual([], self.writes())
        code, out, _err = self.manage('--verbose')
        self.assertEqual(4, code)
        self.assertIn('g1 (%s) has its allocation (MEMORY_MB=256, VCPU=1): '
                      'left alone\n' % uuid, out)
        self.assertTrue(out.endswith('0 guest(s) healed, 0 could not be\n'),
                        out)

    def test_dry_run_claims_nothing(self):
        uuid = self.create('g1')
        self.placement.wipe()
        self.cycle()
        self.placement.reset_requests()
        code, out, err = self.manage('--dry-run', '--verbose')
        self.assertEqual((4, ''), (code, err))
        self.assertEqual(
            'Would claim MEMORY_MB=256, VCPU=1 on this host for g1 (%s)\n'
            'Dry run: 1 guest(s) would be healed, 0 could not be; nothing '
            'was claimed\n' % uuid, out)
        self.assertEqual([], self.writes())
        self.assertEqual({}, self.client.get_allocations(uuid))

    def test_existing_allocation_left_alone(self):
        kept = self.create('kept')
        lost = self.create('lost')
        self.client.release(lost)
        before = self.client.get_allocations(kept)
        self.placement.reset_requests()
        code, out, _err = self.manage()
        self.assertEqual(0, code)
        self.assertNotIn(kept, out)
        self.assertEqual([('PUT', '/allocations/%s' % lost, 204)],
                         self.writes())
        self.assertEqual(before, self.client.get_allocations(kept))

    def test_one_instance(self):
        self.create('g1')
        other = self.create('g2')
        self.placement.wipe()
        self.cycle()
        code, out, _err = self.manage('--instance', 'g1')
        self.assertEqual(0, code)
        self.assertIn('for g1 (', out)
        self.assertEqual({}, self.client.get_allocations(other))
        self.assertEqual(0, self.manage('--instance', other)[0])
        self.assertEqual((4, '', ''), self.manage('--instance', other))

    def test_unknown_instance(self):
        code, out, err = self.manage('--instance', 'nope')
        self.assertEqual((2, ''), (code, out))
        self.assertOneLine(err)
        self.assertIn('nope', err)

    def test_provider_gone_is_refused_naming_the_service(self):
        uuid = self.create('g1')
        self.placement.wipe()
        self.placement.reset_requests()
        code, out, err = self.manage()
        self.assertEqual((3, ''), (code, out))
        self.assertOneLine(err)
        self.assertEqual(
            'emuvirt-manage: error: host compute1 has no resource provider '
            'in the Placement of [placement]: run emuvirt-compute (or '
            'emuvirt-compute --once) first, which registers it with its '
            'inventory, then heal again\n', err)
        self.assertEqual([], self.writes())
        # As said: the compute service registers it, then heal works.
        self.cycle()
        self.assertEqual(0, self.manage()[0])
        self.assertIn(self.rp, self.client.get_allocations(uuid))

    def test_placement_down(self):
        self.create('g1')
        self.placement.stop()
        for argv in ((), ('--dry-run',)):
            code, out, err = self.manage(*argv)
            self.assertEqual((3, ''), (code, out))
            self.assertOneLine(err)
            self.assertTrue(err.startswith(
                'emuvirt-manage: error: Placement cannot be reached (see '
                '[placement]), nothing was claimed: '), err)

    def test_placement_not_configured(self):
        self.flags.config(group='placement', auth_type=None)
        code, out, err = self.manage()
        self.assertEqual((3, ''), (code, out))
        self.assertEqual('emuvirt-manage: error: Placement is not '
                         'configured: option [placement]auth_type is not '
                         'set\n', err)

    def test_driver_without_guest_records(self):
        self.flags.config(compute_driver='fake')
        code, out, err = self.manage()
        self.assertEqual((1, ''), (code, out))
        self.assertEqual("emuvirt-manage: error: placement heal_allocations "
                         "needs a compute driver that keeps guest records "
                         "(emuvirt or libvirt); option "
                         "[DEFAULT]compute_driver is 'fake'\n", err)

    def test_claim_in_flight_left_alone(self):
        uuid = self.define('creating')
        self.ledger.begin_claim(uuid)   # this process: its create runs
        code, out, _err = self.manage('--verbose')
        self.assertEqual(4, code)
        self.assertIn('creating (%s): its create is still running: left '
                      'alone' % uuid, out)
        self.assertEqual({}, self.client.get_allocations(uuid))

    def test_broken_record_fails_others_healed(self):
        host = self.service.driver.host
        bad = self.define('bad')
        good = self.define('good')
        guests.corrupt(host, host.lookup_domain(bad), 'flavor-not-a-number')
        code, out, err = self.manage()
        self.assertEqual(3, code)
        self.assertIn('for good (%s)' % good, out)
        self.assertOneLine(err)
        self.assertTrue(err.startswith(
            'emuvirt-manage: cannot heal bad (%s): Instance bad (%s) has '
            'an emuvirt record that cannot be read: ' % (bad, bad)), err)
        self.assertEqual({}, self.client.get_allocations(bad))

    def test_allocation_elsewhere_not_touched(self):
        uuid = self.define('moved')
        other = self.add_host('compute2', 'x86_64')
        self.assertTrue(other.update_available_resource())
        other.reportclient.claim(uuid, {'VCPU': 1})
        code, _out, err = self.manage()
        self.assertEqual(3, code)
        self.assertIn("not on this host's (%s); left alone" % self.rp, err)
        self.assertEqual([report.provider_uuid('compute2')],
                         list(self.client.get_allocations(uuid)))

    def test_claim_refused_is_a_failure(self):
        uuid = self.create('g1')
        self.client.release(uuid)
        # Placement now has no memory to offer (an operator reserved it).
        _traits, inventory, generation = self.provider(HOST)
        memory = dict(inventory['MEMORY_MB'],
                      reserved=inventory['MEMORY_MB']['total'],
                      resource_provider_generation=generation)
        resp = self.api('PUT', '/resource_providers/%s/inventories/'
                        'MEMORY_MB' % self.rp, memory)
        self.assertEqual(200, resp.status_code, resp.text)
        code, _out, err = self.manage()
        self.assertEqual(3, code)
        self.assertOneLine(err)
        self.assertIn('Placement refused to claim', err)
        self.assertEqual({}, self.client.get_allocations(uuid))


class TestHealModule(HealTestCase):
    """heal_allocations() itself: outcomes, as the generator yields them."""

    def test_outcomes(self):
        healed = self.create('a')
        self.client.release(healed)
        kept = self.create('b')
        results = list(heal.heal_allocations(self.compute))
        self.assertEqual(
            sorted([(healed, heal.HEALED), (kept, heal.ALLOCATED)]),
            [(o.uuid, o.status) for o in results])

    def test_stale_claim_left_for_the_compute_service(self):
        uuid = self.define('abandoned')
        self.dead_claim(uuid)
        [outcome] = heal.heal_allocations(self.compute)
        self.assertEqual(heal.ABANDONED, outcome.status)
        self.assertEqual({}, self.client.get_allocations(uuid))

    def test_unknown_uuid(self):
        self.assertRaises(
            exception.InstanceNotFound, list,
            heal.heal_allocations(self.compute,
                                  instance=uuidutils.generate_uuid()))

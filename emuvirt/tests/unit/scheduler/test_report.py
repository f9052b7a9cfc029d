"""Unit tests of the report client (no Placement: a scripted adapter).

Behaviour against the real Placement is in
emuvirt/tests/functional/test_placement_*.py.
"""

import json
import logging
import uuid

import fixtures
from keystoneauth1 import exceptions as ks_exc
from oslo_config import fixture as config_fixture
import requests
import testtools

from emuvirt import conf
from emuvirt import exception
from emuvirt.scheduler.client import report


def _response(status, body=None):
    resp = requests.Response()
    resp.status_code = status
    resp._content = json.dumps(body).encode() if body is not None else b''
    return resp


def _absent():
    """Placement's answer to reading a provider it does not have."""
    return _error(404, 'No resource provider with uuid u1 found')


def _provider_read(generation, traits, inventories=None):
    """Answers to refresh(): GET inventories, then GET traits."""
    return [_response(200, {'resource_provider_generation': generation,
                            'inventories': inventories or {}}),
            _response(200, {'resource_provider_generation': generation,
                            'traits': traits})]


def _error(status, detail, code='placement.undefined_code'):
    return _response(status, {'errors': [{
        'status': status, 'title': 'Error', 'code': code,
        'detail': 'Generic text.\n\n %s  ' % detail}]})


class ScriptedAdapter(object):
    """Answers requests from a list; records (method, url, microversion)."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.calls = []

    def request(self, url, method, **kwargs):
        self.calls.append((method, url, kwargs.get('microversion')))
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class TestConfig(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(conf.CONF))
        conf.register_placement_opts()

    def test_not_configured(self):
        self.assertFalse(report.is_configured(conf.CONF))
        self.assertIsNone(report.get_client(conf.CONF))
        self.assertRaises(report.PlacementNotConfigured,
                          report.ReportClient.from_conf, conf.CONF)

    def test_noauth_endpoint(self):
        self.conf.config(group='placement', auth_type='none',
                         endpoint_override='http://127.0.0.1:1/placement')
        self.assertTrue(report.is_configured(conf.CONF))
        client = report.get_client(conf.CONF, nodename='h1')
        self.assertEqual('h1', client.nodename)
        self.assertEqual('http://127.0.0.1:1/placement',
                         client._adapter.get_endpoint())
        self.assertEqual('placement', client._adapter.service_type)

    def test_nodename_defaults_to_host_option(self):
        self.conf.config(host='compute-7')
        self.conf.config(group='placement', auth_type='none',
                         endpoint_override='http://127.0.0.1:1')
        client = report.get_client(conf.CONF)
        self.assertEqual(report.provider_uuid('compute-7'),
                         client.provider_uuid)

    def test_unknown_auth_plugin(self):
        self.conf.config(group='placement', auth_type='no-such-plugin')
        e = self.assertRaises(exception.PlacementError, report.get_client,
                              conf.CONF)
        self.assertIn('[placement]', str(e))


class TestProviderUUID(testtools.TestCase):

    def test_stable_and_distinct(self):
        a = report.provider_uuid('host-a')
        self.assertEqual(a, report.provider_uuid('host-a'))
        self.assertNotEqual(a, report.provider_uuid('host-b'))
        self.assertEqual(a, str(uuid.UUID(a)))


class TestRequests(testtools.TestCase):

    def client(self, *responses):
        self.adapter = ScriptedAdapter(*responses)
        return report.ReportClient(self.adapter, nodename='h1')

    def test_connection_failure_is_unavailable(self):
        client = self.client(ks_exc.ConnectFailure('refused'))
        e = self.assertRaises(report.PlacementUnavailable,
                              client.get_usages)
        self.assertIn('refused', str(e))
        self.assertEqual(1, client.request_count)

    def test_server_error_is_unavailable(self):
        client = self.client(_error(503, 'database gone'))
        e = self.assertRaises(report.PlacementUnavailable,
                              client.get_providers)
        self.assertIn('database gone', str(e))

    def test_body_cut_short_is_unavailable(self):
        # Placement died while it answered: the status came, the body not.
        client = self.client(_response(200))
        e = self.assertRaises(report.PlacementUnavailable,
                              client.get_providers)
        self.assertIn('GET /resource_providers: HTTP 200 with a body that '
                      'is not JSON', str(e))

    def test_microversion_too_new_names_it(self):
        client = self.client(_error(406, 'Unacceptable version header'))
        e = self.assertRaises(exception.PlacementError,
                              client.get_allocation_candidates, {'VCPU': 1},
                              forbidden=['CUSTOM_X'])
        self.assertIn('1.22', str(e))

    def test_each_call_names_its_microversion(self):
        client = self.client(
            _response(200, {'allocation_requests': [],
                            'provider_summaries': {}}),
            _response(200, {'resource_providers': []}),
            _response(204))
        client.get_allocation_candidates({'VCPU': 1}, ['COMPUTE_ARCH_S390X'])
        client.get_providers()
        client.release('c1')
        self.assertEqual(['1.17', '1.14', '1.28'],
                         [c[2] for c in self.adapter.calls])

    def test_candidates_query(self):
        rp1, rp2 = str(uuid.uuid4()), str(uuid.uuid4())
        client = self.client(_response(200, {
            'allocation_requests': [
                {'allocations': {rp1: {'resources': {'VCPU': 1}}}},
                {'allocations': {rp2: {'resources': {'VCPU': 1}}}},
                {'allocations': {rp1: {'resources': {'VCPU': 1}}}}],
            'provider_summaries': {}}))
        found = client.get_allocation_candidates(
            {'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 0},
            ['HW_ARCH_X86_64', 'COMPUTE_ARCH_AARCH64'], ['CUSTOM_SLOW'],
            limit=5)
        self.assertEqual([rp1, rp2], found)
        self.assertEqual(
            '/allocation_candidates?resources=MEMORY_MB:512,VCPU:1&required='
            'COMPUTE_ARCH_AARCH64,HW_ARCH_X86_64,!CUSTOM_SLOW&limit=5',
            self.adapter.calls[0][1])

    def test_unknown_trait_means_no_candidates(self):
        client = self.client(_error(400, 'No such trait(s): CUSTOM_NEW.'))
        self.assertEqual([], client.get_allocation_candidates(
            {'VCPU': 1}, ['CUSTOM_NEW']))

    def test_other_bad_request_is_an_error(self):
        client = self.client(_error(400, 'Invalid resource class'))
        self.assertRaises(exception.PlacementError,
                          client.get_allocation_candidates, {'BOGUS': 1})

    def test_claim_refused(self):
        client = self.client(_error(409, 'Unable to allocate inventory'))
        e = self.assertRaises(report.ClaimFailed, client.claim, 'c1',
                              {'VCPU': 8, 'DISK_GB': 0})
        self.assertIn('VCPU:8', str(e))
        self.assertNotIn('DISK_GB', str(e))
        self.assertIn(client.provider_uuid, str(e))
        self.assertIn('Unable to allocate inventory', str(e))

    def test_release_without_allocations(self):
        client = self.client(_response(404))
        self.assertFalse(client.release('c1'))

    def test_provider_name_taken_by_another_uuid(self):
        client = self.client(_error(404, 'No resource provider'),
                             _error(409, 'Conflicting resource provider'),
                             _error(404, 'No resource provider'))
        e = self.assertRaises(exception.PlacementError,
                              client.get_provider_tree, 'h1',
                              client.provider_uuid)
        self.assertIn('named h1', str(e))
        # Nothing half-known is cached: the next attempt starts over.
        client = self.client(_absent(), _response(200, {
            'uuid': client.provider_uuid, 'name': 'h1', 'generation': 0}))
        tree = client.get_provider_tree('h1', client.provider_uuid)
        self.assertEqual(0, tree.data('h1').generation)

    def test_provider_created_meanwhile_by_another_process(self):
        client = self.client(_absent(),
                             _error(409, 'Conflicting resource provider'),
                             *_provider_read(3, ['COMPUTE_ARCH_S390X']))
        tree = client.get_provider_tree('h1', 'u1')
        self.assertEqual((3, {'COMPUTE_ARCH_S390X'}),
                         (tree.data('u1').generation,
                          set(tree.data('u1').traits)))

    def test_known_provider_is_read_not_created(self):
        # A restarted client: Placement has the provider; nothing written.
        client = self.client(*_provider_read(
            7, ['COMPUTE_ARCH_S390X'], {'VCPU': {'total': 4}}))
        tree = client.get_provider_tree('h1', 'u1')
        data = tree.data('u1')
        self.assertEqual(7, data.generation)
        self.assertEqual(4, data.inventory['VCPU']['total'])
        self.assertEqual({'COMPUTE_ARCH_S390X'}, set(data.traits))
        self.assertEqual(['GET', 'GET'], [c[0] for c in self.adapter.calls])

    def _registered(self, *responses):
        client = self.client(_absent(), _response(200, {
            'uuid': 'u1', 'name': 'h1', 'generation': 0}), *responses)
        tree = client.get_provider_tree('h1', 'u1')
        tree.add_traits('h1', 'COMPUTE_ARCH_S390X')
        return client, tree

    def test_conflict_refreshes_the_cache(self):
        client, tree = self._registered(
            _error(409, 'generation changed', report.CODE_CONCURRENT_UPDATE),
            *_provider_read(5, ['CUSTOM_GOLD']))
        self.assertRaises(report.GenerationConflict,
                          client.update_from_provider_tree, tree)
        fresh = client.get_provider_tree('h1', 'u1').data('h1')
        self.assertEqual((5, {'CUSTOM_GOLD'}),
                         (fresh.generation, set(fresh.traits)))

    def test_provider_gone_on_conflict_starts_over(self):
        logs = self.useFixture(fixtures.FakeLogger())
        client, tree = self._registered(
            _error(409, 'generation changed', report.CODE_CONCURRENT_UPDATE),
            _error(404, 'No resource provider'))
        self.assertRaises(report.GenerationConflict,
                          client.update_from_provider_tree, tree)
        self.assertIn('is gone from Placement', logs.output)
        # The next use registers the provider again.
        self.adapter.responses += [_absent(), _response(200, {
            'uuid': 'u1', 'name': 'h1', 'generation': 0})]
        client.get_provider_tree('h1', 'u1')
        self.assertEqual(('POST', '/resource_providers', '1.20'),
                         self.adapter.calls[-1])

    def test_put_answered_404_starts_over(self):
        client, tree = self._registered(
            _error(404, 'No resource provider'))
        logs = self.useFixture(fixtures.FakeLogger())
        self.assertRaises(report.GenerationConflict,
                          client.update_from_provider_tree, tree)
        self.assertEqual(1, logs.output.count('\n'), logs.output)
        self.assertIn('h1 (u1) is gone from Placement (HTTP 404 to PUT '
                      'traits); registering it again', logs.output)
        self.assertFalse(client._tree.exists('u1'))

    def _cached(self, generation=0, *responses):
        """A client that registered its provider; then logs are captured."""
        client, _tree = self._registered(*responses)
        client._tree.set_generation('u1', generation)
        client._tree.update_traits('u1', ['COMPUTE_ARCH_S390X'])
        self.adapter.calls[:] = []
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        return client

    def test_check_same_generation_reads_once(self):
        client = self._cached(4, _response(200, {'uuid': 'u1', 'name': 'h1',
                                                 'generation': 4}))
        client.check_provider('u1')
        self.assertEqual([('GET', '/resource_providers/u1', '1.14')],
                         self.adapter.calls)
        self.assertEqual(4, client.get_provider_tree('h1', 'u1').data(
            'u1').generation)

    def test_check_nothing_cached_sends_nothing(self):
        client = self.client()
        client.check_provider('u1')
        self.assertEqual([], self.adapter.calls)

    def test_check_newer_generation_rereads_quietly(self):
        client = self._cached(
            4, _response(200, {'uuid': 'u1', 'name': 'h1', 'generation': 6}),
            *_provider_read(6, ['CUSTOM_GOLD']))
        client.check_provider('u1')
        data = client.get_provider_tree('h1', 'u1').data('u1')
        self.assertEqual((6, {'CUSTOM_GOLD'}),
                         (data.generation, set(data.traits)))
        self.assertEqual(3, len(self.adapter.calls))
        self.assertEqual('', self.logs.output)

    def test_check_older_generation_rereads_and_warns(self):
        client = self._cached(
            9, _response(200, {'uuid': 'u1', 'name': 'h1', 'generation': 1}),
            *_provider_read(1, []))
        client._known_traits.add('CUSTOM_GONE')
        client.check_provider('u1')
        self.assertIn('has generation 1 in Placement, older than the 9 last '
                      'seen', self.logs.output)
        self.assertEqual(1, self.logs.output.count('\n'))
        # Custom traits may be gone with it: they are created again.
        self.assertEqual(set(), client._known_traits)
        data = client.get_provider_tree('h1', 'u1').data('u1')
        self.assertEqual(1, data.generation)
        self.assertNotIn('POST', [c[0] for c in self.adapter.calls])

    def test_check_provider_gone_registers_again(self):
        client = self._cached(
            3, _error(404, 'No resource provider'), _absent(),
            _response(200, {'uuid': 'u1', 'name': 'h1', 'generation': 0}))
        client.check_provider('u1')
        self.assertIn('Resource provider h1 (u1) is gone from Placement',
                      self.logs.output)
        data = client.get_provider_tree('h1', 'u1').data('u1')
        self.assertEqual(0, data.generation)
        self.assertEqual(['GET', 'GET', 'POST'],
                         [c[0] for c in self.adapter.calls])

    def test_sync_checks_then_writes_nothing_when_unchanged(self):
        client = self._cached(
            2, _response(200, {'uuid': 'u1', 'name': 'h1', 'generation': 2}))

        def update(tree):
            tree.add_traits('h1', 'COMPUTE_ARCH_S390X')

        self.assertEqual(1, client.sync_provider('h1', 'u1', update))
        self.assertEqual(['GET'], [c[0] for c in self.adapter.calls])

    def test_provider_allocations(self):
        client = self.client(_response(200, {
            'resource_provider_generation': 3, 'allocations': {
                'c1': {'resources': {'VCPU': 1, 'MEMORY_MB': 512}},
                'c2': {'resources': {'DISK_GB': 5}}}}))
        self.assertEqual({'c1': {'VCPU': 1, 'MEMORY_MB': 512},
                          'c2': {'DISK_GB': 5}},
                         client.get_provider_allocations())
        self.assertEqual(('GET', '/resource_providers/%s/allocations'
                          % client.provider_uuid, '1.0'),
                         self.adapter.calls[0])

    def test_provider_allocations_of_a_lost_provider(self):
        client = self._cached(1, _error(404, 'No resource provider'))
        self.assertRaises(report.ProviderGone,
                          client.get_provider_allocations, 'u1')
        self.assertIn('is gone from Placement', self.logs.output)
        self.assertFalse(client._tree.exists('u1'))

    def test_sync_gives_up_after_repeated_conflicts(self):
        conflict = _error(409, 'changed', report.CODE_CONCURRENT_UPDATE)
        fresh = [_response(200, {'resource_provider_generation': 1,
                                 'inventories': {}}),
                 _response(200, {'resource_provider_generation': 1,
                                 'traits': []})]
        client = self.client(
            _absent(),
            _response(200, {'uuid': 'u1', 'name': 'h1', 'generation': 0}),
            *([conflict] + fresh) * 2)

        def update(tree):
            tree.add_traits('h1', 'COMPUTE_ARCH_S390X')

        e = self.assertRaises(exception.PlacementError,
                              client.sync_provider, 'h1', 'u1', update,
                              attempts=2)
        self.assertIn('gave up after 2 attempts', str(e))

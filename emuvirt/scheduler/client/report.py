"""A Placement client: this host's provider, its inventory and traits,
claims for guests, and allocation candidate queries.

The client speaks to Placement through a keystoneauth1 Adapter built from
the ``[placement]`` options (keystoneauth1's loading helpers). Without an
``auth_type`` there is no Placement: :func:`get_client` returns None and
callers carry on without one (``emuvirt server create`` then makes no
claim). For a standalone Placement running with ``[api]auth_strategy =
noauth2``, use::

    [placement]
    auth_type = admin_token
    endpoint = http://placement.example:8778
    token = admin

Each request names the microversion it needs (the lowest one with the
feature); a Placement too old answers 406, and the error says which
version was asked for and which the server offers.

The provider, its inventory and traits are cached as a
:class:`~emuvirt.virt.provider_tree.ProviderTree`, checked against
Placement at the start of every :meth:`ReportClient.sync_provider` by one
read of the provider (its generation):

* the same generation: nothing else is read, and a periodic update in
  which nothing changed sends no write;
* a higher one (someone else changed the provider: a claim, an operator
  adding a trait): inventory and traits are read again;
* a lower one, or no provider at all (Placement redeployed empty or
  restored from a backup, the provider deleted): the cache is dropped,
  one warning says what happened, and the provider is registered again.

Registration reads first: a client with nothing cached (a restarted
service) asks for the provider's inventory and traits and creates the
provider only if Placement has none, so a restart with nothing changed
writes nothing. A new host registers in three writes (create, inventory,
traits) plus one ``PUT /traits/CUSTOM_X`` per custom trait it has not
created yet. When a write is answered 409 because someone else changed
the provider meanwhile, the client re-reads the provider and
:meth:`ReportClient.sync_provider` runs the update again on the fresh
data; a write answered 404 (the provider vanished) starts over as above.
"""

import urllib.parse
import uuid as uuid_lib

from oslo_log import log as logging

from emuvirt import conf as emuvirt_conf
from emuvirt import exception
from emuvirt.virt import provider_tree as ptree

LOG = logging.getLogger(__name__)

GROUP = 'placement'
SERVICE_TYPE = 'placement'

# The lowest microversion each call needs.
V_PROVIDER_CREATE = '1.20'   # POST /resource_providers returns the body
V_PROVIDER_LIST = '1.14'
V_PROVIDER_SHOW = '1.14'
V_PROVIDER_ALLOCATIONS = '1.0'  # GET /resource_providers/{uuid}/allocations
V_INVENTORY = '1.26'         # reserved may equal total; error codes
V_TRAITS = '1.23'            # 1.23: error codes (concurrent_update)
V_ALLOCATIONS = '1.28'       # consumer generations
V_USAGES = '1.9'
V_CANDIDATES = '1.17'        # required=
V_CANDIDATES_FORBIDDEN = '1.22'  # required=!TRAIT

CODE_CONCURRENT_UPDATE = 'placement.concurrent_update'

# Provider UUIDs are derived from the host name: the same host always
# registers the same provider, with no local state to keep.
_PROVIDER_NAMESPACE = uuid_lib.uuid5(uuid_lib.NAMESPACE_URL,
                                     'emuvirt:resource-provider')


def provider_uuid(nodename):
    """The resource provider UUID of compute host ``nodename``."""
    return str(uuid_lib.uuid5(_PROVIDER_NAMESPACE, nodename))


class PlacementNotConfigured(exception.PlacementError):
    msg_fmt = ("Placement is not configured: option [placement]auth_type "
               "is not set")


class PlacementUnavailable(exception.PlacementError):
    msg_fmt = "Placement cannot be reached: %(reason)s"


class GenerationConflict(exception.PlacementError):
    msg_fmt = ("Resource provider %(uuid)s changed in Placement meanwhile; "
               "re-read it")


class ProviderGone(exception.PlacementError):
    msg_fmt = ("Resource provider %(uuid)s is gone from Placement; it is "
               "registered again at the next update")


class ClaimFailed(exception.PlacementError):
    msg_fmt = ("Placement refused to claim %(resources)s on %(provider)s "
               "for %(consumer)s: %(reason)s")


def is_configured(conf):
    """Whether ``[placement]`` names an auth plugin.

    :raises: ConfigOptionInvalid for a bad ``[placement]`` value.
    """
    emuvirt_conf.register_placement_opts(conf)
    group = conf[GROUP]
    return bool(group.auth_type or group.auth_section)


def get_client(conf, nodename=None):
    """A :class:`ReportClient` from the options, or None without one.

    :raises: PlacementError if the options are set but unusable.
    """
    if not is_configured(conf):
        return None
    return ReportClient.from_conf(conf, nodename=nodename)


def _error(resp):
    """(code, detail) of a Placement error response."""
    try:
        error = resp.json()['errors'][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return None, resp.text.strip()
    detail = error.get('detail') or error.get('title') or ''
    # Placement prefixes the detail with the generic text of the status.
    detail = detail.split('\n\n', 1)[-1].strip()
    return error.get('code'), detail


class ReportClient(object):
    """Talks to Placement for one compute host.

    :param adapter: a keystoneauth1 Adapter for the placement service.
    :param nodename: this host's name (its provider's name), for claims.
    """

    def __init__(self, adapter, nodename=None):
        self._adapter = adapter
        self.nodename = nodename
        self._tree = ptree.ProviderTree()   # what Placement has
        self._known_traits = set()          # custom traits that exist
        self.request_count = 0

    @classmethod
    def from_conf(cls, conf, nodename=None):
        """Build the Adapter from ``[placement]`` (keystoneauth1 options).

        :raises: PlacementNotConfigured without ``auth_type``;
            PlacementError for options keystoneauth1 refuses.
        """
        # keystoneauth1 (and requests) only once Placement is used: the
        # commands that never talk to it do not pay for the import.
        from keystoneauth1 import exceptions as ks_exc
        from keystoneauth1 import loading as ks_loading

        emuvirt_conf.register_placement_opts(conf)
        try:
            auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
            if auth is None:
                raise PlacementNotConfigured()
            session = ks_loading.load_session_from_conf_options(
                conf, GROUP, auth=auth)
            adapter = ks_loading.load_adapter_from_conf_options(
                conf, GROUP, session=session, auth=auth,
                service_type=conf[GROUP].service_type or SERVICE_TYPE)
        except (ks_exc.ClientException, TypeError) as e:
            raise exception.PlacementError(
                reason='options of [placement]: %s' % e)
        return cls(adapter, nodename=nodename or conf.host)

    @property
    def provider_uuid(self):
        """This host's provider UUID (needs ``nodename``)."""
        return provider_uuid(self.nodename)

    # -- HTTP ---------------------------------------------------------------

    def _request(self, method, url, version, body=None):
        from keystoneauth1 import exceptions as ks_exc

        self.request_count += 1
        kwargs = {'microversion': version, 'raise_exc': False,
                  'headers': {'Accept': 'application/json'}}
        if body is not None:
            kwargs['json'] = body
        try:
            resp = self._adapter.request(url, method, **kwargs)
        except ks_exc.ClientException as e:
            raise PlacementUnavailable(reason='%s %s: %s' % (method, url, e))
        if resp.status_code == 406:
            _code, detail = _error(resp)
            raise exception.PlacementError(
                reason='%s %s needs microversion %s: %s' % (
                    method, url, version, detail))
        if resp.status_code >= 500:
            raise PlacementUnavailable(
                reason='%s %s: HTTP %d %s' % (method, url, resp.status_code,
                                              _error(resp)[1]))
        if resp.status_code == 200:
            # A body cut short (Placement killed while it answered) is an
            # outage like a refused connection, not an error to trace.
            try:
                resp.json()
            except ValueError:
                raise PlacementUnavailable(
                    reason='%s %s: HTTP 200 with a body that is not JSON '
                           '(cut short?): %r' % (method, url,
                                                 resp.text[:60]))
        return resp

    def _failed(self, resp, what):
        code, detail = _error(resp)
        return exception.PlacementError(
            reason='%s: HTTP %d %s%s' % (what, resp.status_code, detail,
                                         ' (%s)' % code if code else ''))

    # -- the provider tree ---------------------------------------------------

    def get_provider_tree(self, name, uuid):
        """A copy of what Placement has for the provider, as a tree.

        Registers the provider on first use (see :meth:`_ensure_provider`);
        afterwards it comes from the cache, with no request.
        """
        if not self._tree.exists(uuid):
            self._ensure_provider(name, uuid)
        return self._tree.copy()

    def _ensure_provider(self, name, uuid):
        """Read the provider into the cache; create it if Placement has none.

        Reading first makes a restart with nothing changed write nothing.
        """
        if self._read_provider(name, uuid):
            return
        resp = self._request('POST', '/resource_providers', V_PROVIDER_CREATE,
                             {'name': name, 'uuid': uuid})
        if resp.status_code == 200:
            generation = resp.json()['generation']
            self._tree.new_root(name, uuid, generation)
            LOG.info('Created resource provider %s (%s) in Placement',
                     name, uuid)
            return
        if resp.status_code != 409:
            raise self._failed(resp, 'creating resource provider %s' % name)
        # Created meanwhile by another process, or the name is taken.
        if not self._read_provider(name, uuid):
            raise exception.PlacementError(
                reason='a resource provider named %s exists with a UUID '
                       'other than %s; delete it or change [DEFAULT]host'
                       % (name, uuid))

    def _read_provider(self, name, uuid):
        """Cache the provider as Placement has it; False if it has none."""
        self._tree.new_root(name, uuid)
        try:
            found = self.refresh(uuid)
        except BaseException:
            self._tree.remove(uuid)
            raise
        if not found:
            self._tree.remove(uuid)
        return found

    def _gone(self, uuid, why):
        """Forget a provider Placement lost; one warning says so."""
        name = self._tree.data(uuid).name
        LOG.warning('Resource provider %s (%s) %s; registering it again',
                    name, uuid, why)
        self.invalidate()

    def check_provider(self, uuid):
        """Compare the cached provider with Placement's, in one read.

        The same generation: the cache is right. A higher one: someone
        else changed the provider (a claim, an operator's trait), so its
        inventory and traits are read again. A lower one or none at all:
        Placement lost the provider (redeployed empty, restored from a
        backup, the provider deleted); the cache is dropped, so that the
        next :meth:`get_provider_tree` registers it again. Nothing is
        sent when nothing is cached.
        """
        if not self._tree.exists(uuid):
            return
        resp = self._request('GET', '/resource_providers/%s' % uuid,
                             V_PROVIDER_SHOW)
        if resp.status_code == 404:
            self._gone(uuid, 'is gone from Placement (redeployed empty, or '
                             'the provider was deleted)')
            return
        if resp.status_code != 200:
            raise self._failed(resp, 'reading resource provider %s' % uuid)
        generation = resp.json()['generation']
        cached = self._tree.data(uuid).generation
        if generation == cached:
            return
        if cached is not None and generation < cached:
            self._gone(uuid, 'has generation %d in Placement, older than '
                             'the %d last seen (Placement restored or the '
                             'provider re-created)' % (generation, cached))
            return
        LOG.debug('Resource provider %s changed in Placement (generation '
                  '%s to %d); reading it again', uuid, cached, generation)
        if not self.refresh(uuid):
            self._gone(uuid, 'is gone from Placement')

    def refresh(self, uuid):
        """Re-read the provider's generation, inventory and traits.

        :returns: False if Placement has no such provider.
        """
        inv = self._request('GET', '/resource_providers/%s/inventories'
                            % uuid, V_INVENTORY)
        if inv.status_code == 404:
            return False
        if inv.status_code != 200:
            raise self._failed(inv, 'reading inventory of %s' % uuid)
        traits = self._request('GET', '/resource_providers/%s/traits' % uuid,
                               V_TRAITS)
        if traits.status_code != 200:
            raise self._failed(traits, 'reading traits of %s' % uuid)
        inv, traits = inv.json(), traits.json()
        self._tree.update_inventory(uuid, inv['inventories'])
        self._tree.update_traits(uuid, traits['traits'])
        # Take the lower generation if they differ: a stale one makes the
        # next write fail with 409 and read again, never overwrite blindly.
        self._tree.set_generation(
            uuid, min(inv['resource_provider_generation'],
                      traits['resource_provider_generation']))
        self._known_traits.update(t for t in traits['traits']
                                  if t.startswith('CUSTOM_'))
        return True

    def update_from_provider_tree(self, new_tree):
        """Send Placement what differs between ``new_tree`` and the cache.

        :raises: GenerationConflict after re-reading the provider, when
            Placement had a newer generation (or lost the provider);
            PlacementUnavailable, PlacementError otherwise. The cache only
            takes what Placement accepted, so a failed update is sent
            again next time.
        """
        failed = None
        for uuid in new_tree.get_provider_uuids():
            new = new_tree.data(uuid)
            old = self._tree.data(uuid)
            # A refused inventory (e.g. a resource class still in use) must
            # not hold the traits back: try both, then report the failure.
            try:
                if new.inventory != old.inventory:
                    self._put(uuid, 'inventories', V_INVENTORY,
                              {'inventories': new.inventory})
            except (GenerationConflict, PlacementUnavailable):
                raise
            except exception.PlacementError as e:
                failed = failed or e
            if new.traits != self._tree.data(uuid).traits:
                self._create_custom_traits(new.traits)
                self._put(uuid, 'traits', V_TRAITS,
                          {'traits': sorted(new.traits)})
        if failed is not None:
            raise failed

    def _put(self, uuid, what, version, body):
        body['resource_provider_generation'] = self._tree.data(
            uuid).generation
        resp = self._request('PUT', '/resource_providers/%s/%s' % (
            uuid, what), version, body)
        if resp.status_code == 200:
            data = resp.json()
            generation = data['resource_provider_generation']
            if what == 'inventories':
                self._tree.update_inventory(uuid, data['inventories'],
                                            generation)
            else:
                self._tree.update_traits(uuid, data['traits'], generation)
            LOG.info('Updated %s of resource provider %s', what, uuid)
            return
        code, _detail = _error(resp)
        conflict = resp.status_code == 409 and code == CODE_CONCURRENT_UPDATE
        if conflict and self.refresh(uuid):
            raise GenerationConflict(uuid=uuid)
        if conflict or resp.status_code == 404:
            # The provider is gone from Placement, likely with its whole
            # database (custom traits too): start over.
            self._gone(uuid, 'is gone from Placement (HTTP %d to PUT %s)'
                       % (resp.status_code, what))
            raise GenerationConflict(uuid=uuid)
        if resp.status_code == 400 and what == 'traits':
            # Perhaps a custom trait was deleted: create them again.
            self._known_traits.clear()
        raise self._failed(resp, 'setting %s of %s' % (what, uuid))

    def _create_custom_traits(self, traits):
        for trait in sorted(traits):
            if not trait.startswith('CUSTOM_') or trait in self._known_traits:
                continue
            resp = self._request('PUT', '/traits/%s' % trait, V_TRAITS)
            if resp.status_code not in (201, 204):
                raise self._failed(resp, 'creating trait %s' % trait)
            self._known_traits.add(trait)

    def sync_provider(self, name, uuid, update, attempts=3):
        """Bring the provider up to date: ``update(tree)`` edits a copy.

        ``update`` is called again on freshly read data after a generation
        conflict, up to ``attempts`` times, so changes made by others (an
        operator's traits) are kept.

        The cache is checked against Placement first
        (:meth:`check_provider`: one read).

        :returns: the number of requests sent.
        """
        start = self.request_count
        self.check_provider(uuid)
        for attempt in range(1, attempts + 1):
            tree = self.get_provider_tree(name, uuid)
            update(tree)
            try:
                self.update_from_provider_tree(tree)
                return self.request_count - start
            except GenerationConflict as e:
                LOG.info('%s (attempt %d of %d)', e, attempt, attempts)
        raise exception.PlacementError(
            reason='resource provider %s kept changing; gave up after %d '
                   'attempts' % (uuid, attempts))

    def invalidate(self):
        """Forget everything cached; the next update re-reads Placement."""
        self._tree = ptree.ProviderTree()
        self._known_traits.clear()

    # -- claims -------------------------------------------------------------

    def claim(self, instance_uuid, resources, provider_uuid=None,
              project_id='emuvirt', user_id='emuvirt'):
        """Allocate ``resources`` for a guest (the consumer).

        :param resources: {resource class: amount}, e.g. ``{'VCPU': 2,
            'MEMORY_MB': 1024, 'DISK_GB': 10}``; zero amounts are left out.
        :param provider_uuid: default: this host's provider.
        :raises: ClaimFailed when Placement refuses (not enough free
            resources, the consumer already has allocations, no such
            provider); PlacementUnavailable.
        """
        rp = provider_uuid or self.provider_uuid
        wanted = {rc: int(n) for rc, n in resources.items() if n}
        body = {'allocations': {rp: {'resources': wanted}},
                'project_id': project_id, 'user_id': user_id,
                'consumer_generation': None}
        resp = self._request('PUT', '/allocations/%s' % instance_uuid,
                             V_ALLOCATIONS, body)
        if resp.status_code != 204:
            raise ClaimFailed(resources=_fmt(wanted), provider=rp,
                              consumer=instance_uuid,
                              reason=_error(resp)[1])
        LOG.info('Claimed %s on %s for %s', _fmt(wanted), rp, instance_uuid)

    def release(self, instance_uuid):
        """Remove a guest's allocations; returns False if it had none."""
        resp = self._request('DELETE', '/allocations/%s' % instance_uuid,
                             V_ALLOCATIONS)
        if resp.status_code == 404:
            return False
        if resp.status_code != 204:
            raise self._failed(resp, 'releasing %s' % instance_uuid)
        LOG.info('Released the allocations of %s', instance_uuid)
        return True

    def get_allocations(self, instance_uuid):
        """{provider uuid: {resource class: amount}} of a consumer."""
        resp = self._request('GET', '/allocations/%s' % instance_uuid,
                             V_ALLOCATIONS)
        if resp.status_code != 200:
            raise self._failed(resp, 'reading allocations of %s'
                               % instance_uuid)
        return {rp: alloc['resources']
                for rp, alloc in resp.json()['allocations'].items()}

    def get_provider_allocations(self, provider_uuid=None):
        """{consumer uuid: {resource class: amount}} on a provider.

        :param provider_uuid: default: this host's provider.
        :raises: ProviderGone if Placement has no such provider (a cached
            provider is then forgotten, so the next
            :meth:`sync_provider` registers it again);
            PlacementUnavailable, PlacementError.
        """
        rp = provider_uuid or self.provider_uuid
        resp = self._request('GET', '/resource_providers/%s/allocations'
                             % rp, V_PROVIDER_ALLOCATIONS)
        if resp.status_code == 404:
            if self._tree.exists(rp):
                self._gone(rp, 'is gone from Placement')
            raise ProviderGone(uuid=rp)
        if resp.status_code != 200:
            raise self._failed(resp, 'reading allocations on %s' % rp)
        return {consumer: dict(alloc['resources'])
                for consumer, alloc in resp.json()['allocations'].items()}

    def get_usages(self, provider_uuid=None):
        """{resource class: amount used} on a provider (default: ours)."""
        rp = provider_uuid or self.provider_uuid
        resp = self._request('GET', '/resource_providers/%s/usages' % rp,
                             V_USAGES)
        if resp.status_code != 200:
            raise self._failed(resp, 'reading usages of %s' % rp)
        return resp.json()['usages']

    # -- scheduling -----------------------------------------------------------

    def get_allocation_candidates(self, resources, required=(),
                                  forbidden=(), limit=None):
        """Provider UUIDs that can take ``resources`` with those traits.

        A trait Placement does not know yet makes Placement answer 400;
        no provider can have it, so the answer is an empty list.

        :returns: a list of provider UUIDs, in Placement's order.
        """
        query = {'resources': ','.join(
            '%s:%d' % (rc, n) for rc, n in sorted(resources.items()) if n)}
        traits = sorted(required) + ['!' + t for t in sorted(forbidden)]
        if traits:
            query['required'] = ','.join(traits)
        if limit:
            query['limit'] = int(limit)
        version = V_CANDIDATES_FORBIDDEN if forbidden else V_CANDIDATES
        url = '/allocation_candidates?' + urllib.parse.urlencode(
            query, safe=',:!')
        resp = self._request('GET', url, version)
        if resp.status_code == 400:
            _code, detail = _error(resp)
            if 'No such trait' in detail:
                LOG.info('No provider can match: %s', detail)
                return []
        if resp.status_code != 200:
            raise self._failed(resp, 'querying allocation candidates')
        found = []
        for request in resp.json()['allocation_requests']:
            for rp in request['allocations']:
                if rp not in found:
                    found.append(rp)
        return found

    def get_providers(self):
        """{uuid: name} of every resource provider."""
        resp = self._request('GET', '/resource_providers', V_PROVIDER_LIST)
        if resp.status_code != 200:
            raise self._failed(resp, 'listing resource providers')
        return {rp['uuid']: rp['name']
                for rp in resp.json()['resource_providers']}


def _fmt(resources):
    return ','.join('%s:%s' % (rc, n) for rc, n in sorted(resources.items()))

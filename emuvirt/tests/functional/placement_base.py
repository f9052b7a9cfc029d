"""Base class for tests against the real Placement: compute hosts built
from fake libvirt data, each with its own driver, report client and
compute manager, all registering in one in-process Placement.
"""

import fixtures
from oslo_config import fixture as config_fixture
import requests
import testtools

from emuvirt.compute import manager
from emuvirt import conf
from emuvirt.scheduler.client import report
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import hostfiles
from emuvirt.tests.fixtures import placement
from emuvirt.virt import driver as virt_driver
from emuvirt.virt import emulation
from emuvirt.virt import hostcaps
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt import provider_tree as ptree

CONF = conf.CONF


class _ReportingDriver(emulation.EmuVirtDriver):
    """EmuVirtDriver delegating update_provider_tree to emuvirt's code.

    Used only while EmuVirtDriver itself does not implement it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.capability_probe = hostcaps.CapabilityProbe(self.host, CONF)

    def update_provider_tree(self, provider_tree, nodename,
                             allocations=None):
        ptree.update_provider_tree(provider_tree, nodename, self.host,
                                   self.capability_probe.get(), CONF)


def driver_class():
    own = emulation.EmuVirtDriver.update_provider_tree
    if own is virt_driver.ComputeDriver.update_provider_tree:
        return _ReportingDriver
    return emulation.EmuVirtDriver


class PlacementTestCase(testtools.TestCase):
    """One Placement; hosts added with :meth:`add_host`."""

    def setUp(self):
        super().setUp()
        self.flags = self.useFixture(config_fixture.Config(CONF))
        self.placement = self.useFixture(placement.PlacementFixture())
        self.placement.configure(CONF)
        self.flags.config(group='libvirt', instances_path=self.useFixture(
            fixtures.TempDir()).path)
        # The Placement ledger lives under state_path.
        self.flags.config(state_path=self.useFixture(
            fixtures.TempDir()).path)
        self.files = self.useFixture(hostfiles.HostFilesFixture())
        self.connections = {}
        self.useFixture(fixtures.MonkeyPatch(
            'emuvirt.virt.libvirt.host.open_connection', self._open))
        self.hosts = {}

    def _open(self, uri):
        return self.connections[uri]

    def add_host(self, name, host_arch, arches=None):
        """Add a compute host.

        :param arches: the guest arches its libvirt offers (default: all
            of the captured data).
        """
        removed = ()
        if arches is not None:
            removed = [a for a in fakelibvirt.KNOWN_ARCHES
                       if a not in arches]
        uri = 'fake:///%s' % name
        self.connections[uri] = fakelibvirt.FakeConnection(
            uri, host_arch, removed)
        drv = driver_class()(host=vhost.Host(uri))
        client = report.ReportClient.from_conf(CONF, nodename=name)
        service = manager.ComputeManager(CONF, driver=drv,
                                         reportclient=client, host=name)
        self.hosts[name] = service
        return service

    def connection(self, name):
        return self.connections['fake:///%s' % name]

    # -- looking at Placement directly, as an operator would ---------------

    def api(self, method, path, body=None, version='1.39'):
        resp = requests.request(
            method, self.placement.endpoint + path, json=body,
            headers={'X-Auth-Token': placement.ADMIN_TOKEN,
                     'OpenStack-API-Version': 'placement %s' % version,
                     'Accept': 'application/json'})
        return resp

    def provider(self, name):
        uuid = report.provider_uuid(name)
        traits = self.api('GET', '/resource_providers/%s/traits' % uuid)
        self.assertEqual(200, traits.status_code, traits.text)
        inventory = self.api('GET', '/resource_providers/%s/inventories'
                             % uuid).json()
        return (set(traits.json()['traits']), inventory['inventories'],
                traits.json()['resource_provider_generation'])

    def traits(self, name):
        return self.provider(name)[0]

    def add_operator_trait(self, name, trait):
        self.assertIn(self.api('PUT', '/traits/%s' % trait).status_code,
                      (201, 204))
        traits, _inv, generation = self.provider(name)
        resp = self.api('PUT', '/resource_providers/%s/traits'
                        % report.provider_uuid(name),
                        {'traits': sorted(traits | {trait}),
                         'resource_provider_generation': generation})
        self.assertEqual(200, resp.status_code, resp.text)

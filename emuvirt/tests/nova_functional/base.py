"""Nova's functional harness on emuvirt's captured host data.

:class:`NovaHostDataTestCase` runs Nova 34's own in-process services (API,
conductor, scheduler with an in-process Placement, computes) from
``nova.tests.functional.libvirt.base.ServersTestBase``, on Nova's fake
libvirt module. Each compute gets a :class:`HostDataConnection`: Nova's
fake ``Connection`` answering host questions (capabilities, domain
capabilities, host arch and CPU) from ``emuvirt/tests/data/hosts/
<host arch>/``, the libvirt 9.0 / QEMU 7.2 data emuvirt's own tests use,
and keeping every domain XML Nova hands to libvirt.

Start a compute with::

    self.start_host('compute1', host_arch='x86_64', driver='emuvirt')

``driver`` is ``'emuvirt'`` (``compute_driver = emuvirt.EmuVirtDriver``,
what an operator writes in nova.conf) or ``'stock'`` (Nova's own
``libvirt.LibvirtDriver``); ``remove_arches`` leaves guest arches out of
that host's libvirt capabilities, as on a host whose QEMU package for them
is not installed.
"""

import functools
import os
import sysconfig
import time

import libvirt
from lxml import etree
from nova import conf as nova_conf
from nova.tests.fixtures import libvirt as nova_fakelibvirt
from nova.tests.functional.libvirt import base as nova_libvirt_base
from oslo_utils import uuidutils

from emuvirt.nova import conf as emuvirt_nova_conf
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import hostfiles

CONF = nova_conf.CONF
# The [emulation] group emuvirt's driver adds to nova.conf, registered
# here too so that a test can set it before a compute loads the driver.
emuvirt_nova_conf.register_opts(CONF)

DRIVERS = {
    'emuvirt': 'emuvirt.EmuVirtDriver',
    'stock': 'libvirt.LibvirtDriver',
}

# The daemon the host data was captured from: libvirt 9.0.0, QEMU 7.2.
LIBVIRT_VERSION = 9000000
QEMU_VERSION = 7002000

SCHEMA = os.environ.get('EMUVIRT_LIBVIRT_SCHEMA',
                        '/usr/share/libvirt/schemas/domain.rng')

# Where Nova's wheel installs its paste file: <prefix>/etc/nova/.
WHEEL_API_PASTE = os.path.join(sysconfig.get_path('data'), 'etc', 'nova',
                               'api-paste.ini')


def in_ci():
    return os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


def api_paste_config():
    """The api-paste.ini the in-process API should load.

    ``EMUVIRT_NOVA_API_PASTE`` if set, else Nova's test default
    (``$state_path/etc/nova/api-paste.ini``, which exists in a source
    checkout of Nova) if it exists, else the file Nova's wheel installs
    under ``<venv>/etc/nova/``.
    """
    explicit = os.environ.get('EMUVIRT_NOVA_API_PASTE')
    if explicit:
        return explicit
    default = CONF.wsgi.api_paste_config
    if os.path.isabs(default) and os.path.exists(default):
        return default
    return WHEEL_API_PASTE


@functools.lru_cache(maxsize=None)
def _schema():
    return etree.RelaxNG(etree.parse(SCHEMA))


class LibvirtError(nova_fakelibvirt.libvirtError, libvirt.libvirtError):
    """A libvirt error both of the classes in play catch.

    In these tests Nova's code (``nova.virt.libvirt.*``) sees Nova's fake
    libvirt module while emuvirt's ``Host`` (used by its Nova driver) sees
    the real bindings, so an error from the one connection both use must
    be an instance of both ``libvirtError`` classes, as it is in
    production where there is only one. Nova's fake ``__init__`` comes
    first and does not ask the real library for its last error.
    """


def _libvirt_error(error):
    """:class:`LibvirtError` with the code, domain and message of ``error``.

    emuvirt's host data raises the real bindings' ``libvirtError``.
    """
    return nova_fakelibvirt.make_libvirtError(
        LibvirtError, str(error),
        error_code=error.get_error_code(),
        error_domain=error.get_error_domain(),
        error_message=error.get_error_message(),
        error_level=libvirt.VIR_ERR_ERROR)


class HostDataConnection(nova_fakelibvirt.Connection):
    """Nova's fake libvirt connection serving one captured host.

    Host facts come from ``emuvirt/tests/data/hosts/<host_arch>/``:
    ``getCapabilities`` and ``getDomainCapabilities`` (with libvirt 9.0's
    errors, as :class:`LibvirtError`), and the arch, CPU model and vendor
    of ``getInfo`` and ``compareCPU``. Domains are
    Nova's fake ones; the XML each define or create was given is kept in
    ``defined_xml`` ({uuid: [xml, ...]}, oldest first).
    """

    def __init__(self, host_arch, hostname, remove_arches=(),
                 derive_domcaps=False):
        self.host_arch = host_arch
        self.derive_domcaps = derive_domcaps
        self.host_data = fakelibvirt.FakeConnection(
            'qemu:///system', host_arch, remove_arches)
        caps = etree.fromstring(self.host_data.getCapabilities())
        cpu = caps.find('host/cpu')
        topology = cpu.find('topology')
        info = nova_fakelibvirt.HostInfo(
            cpu_nodes=1,
            cpu_sockets=int(topology.get('sockets')),
            cpu_cores=int(topology.get('cores')),
            cpu_threads=int(topology.get('threads')))
        info.arch = host_arch
        # s390x data has no model or vendor, as some IBM Z hosts report.
        info.cpu_model = cpu.findtext('model')
        info.cpu_vendor = cpu.findtext('vendor')
        super().__init__('qemu:///system', version=LIBVIRT_VERSION,
                         hv_version=QEMU_VERSION, hostname=hostname,
                         host_info=info)
        self.defined_xml = {}

    # -- host facts from the captured data ---------------------------------

    def getCapabilities(self):
        return self.host_data.getCapabilities()

    def _guest_node(self, emulatorbin, arch):
        for node in etree.fromstring(
                self.host_data.getCapabilities()).findall('guest/arch'):
            if ((arch is None or node.get('name') == arch) and
                    (emulatorbin is None or
                     node.findtext('emulator') == emulatorbin)):
                return node
        return None

    def getDomainCapabilities(self, emulatorbin, arch, machine_type,
                              virt_type, flags):
        """The captured document, or libvirt 9.0's refusal.

        With no machine type, libvirt answers for QEMU's default board,
        the first one capabilities list (Nova asks so for arches it has
        no default for, e.g. mipsel and riscv64).

        With ``derive_domcaps``, a board the emulator has but the data
        has no document for (``powernv``, ``spike``) is answered with
        the arch's captured document, the board's canonical name in
        ``<machine>``, as a real daemon would answer rather than fail:
        stock Nova asks for every machine alias of every arch and drops
        the whole arch on one failure. emuvirt's driver is tested without
        it: it must only ask for boards the data has.
        """
        if machine_type is None:
            node = self._guest_node(emulatorbin, arch)
            first = None if node is None else node.find('machine')
            if first is not None:
                machine_type = first.get('canonical') or first.text
        try:
            return self.host_data.getDomainCapabilities(
                emulatorbin, arch, machine_type, virt_type, flags)
        except libvirt.libvirtError as e:
            if (self.derive_domcaps and
                    e.get_error_code() == libvirt.VIR_ERR_INTERNAL_ERROR):
                derived = self._derived_domcaps(emulatorbin, arch,
                                                machine_type, virt_type)
                if derived is not None:
                    return derived
            raise _libvirt_error(e)

    def _derived_domcaps(self, emulatorbin, arch, machine, virt_type):
        node = self._guest_node(emulatorbin, arch)
        if node is None:
            return None
        arch = node.get('name')
        for m in node.findall('machine'):
            if m.text == machine:
                machine = m.get('canonical') or m.text
        _caps, documents = fakelibvirt._load_host(self.host_arch)
        for (doc_arch, _machine, doc_type), data in sorted(
                documents.items()):
            if doc_arch == arch and doc_type == (virt_type or 'qemu'):
                root = etree.fromstring(data)
                root.find('machine').text = machine
                return etree.tostring(root, encoding='unicode')
        return None

    # -- domains: keep what Nova handed to libvirt --------------------------

    def _keep(self, xml):
        uuid = etree.fromstring(xml).findtext('uuid')
        self.defined_xml.setdefault(uuid, []).append(xml)

    def defineXML(self, xml):
        self._keep(xml)
        return super().defineXML(xml)

    def createXML(self, xml, flags):
        self._keep(xml)
        return super().createXML(xml, flags)


class NovaHostDataTestCase(nova_libvirt_base.ServersTestBase):
    """Nova's services with computes on emuvirt's captured hosts.

    All computes of one test share a host arch: ``os.uname()``, through
    which Nova finds the host arch, is one process-wide mock.

    After ``start_host`` these are available:

    * ``self.connections[hostname]``: the compute's
      :class:`HostDataConnection`;
    * ``self.host_files``: the
      :class:`emuvirt.tests.fixtures.hostfiles.HostFilesFixture` deciding
      which emulator and firmware files exist (every emulator the host
      data names, and AAVMF); ``remove`` one to take it away from every
      compute of the test;
    * ``self.compute_rp_uuids[hostname]``: its resource provider.
    """

    def setUp(self):
        self.connections = {}
        self.drivers = {}
        self.host_files = None
        self._host_arch = None
        super().setUp()
        self.flavor_id = self._create_flavor(
            name='emu.small', memory_mb=512, vcpu=1, disk=1)

    def _setup_services(self):
        # Nova's test configuration looks for api-paste.ini next to the
        # nova package, where a wheel does not put it.
        path = api_paste_config()
        if not os.path.exists(path):
            self.fail('Nova api-paste.ini not found at %s; set '
                      'EMUVIRT_NOVA_API_PASTE' % path)
        self.flags(api_paste_config=path, group='wsgi')
        super()._setup_services()

    # -- computes ----------------------------------------------------------

    def _use_host_arch(self, host_arch):
        if self._host_arch is None:
            self._host_arch = host_arch
            self.libvirt.mock_uname.return_value = nova_fakelibvirt.os_uname(
                'Linux', '', '6.1.0-0-generic', '', host_arch)
            self.host_files = self.useFixture(
                hostfiles.HostFilesFixture(host_arch=host_arch))
            self.useFixture(fakelibvirt.FakeFirmwareFixture(host_arch))
        elif host_arch != self._host_arch:
            raise ValueError('all computes of a test share one host arch '
                             '(os.uname is one mock); this test already '
                             'runs %s' % self._host_arch)

    def start_host(self, hostname='compute1', host_arch='x86_64',
                   driver='emuvirt', remove_arches=()):
        """Start a compute on the captured ``host_arch`` data.

        :param driver: 'emuvirt' or 'stock'.
        :param remove_arches: guest arches left out of the host's libvirt
            capabilities (their emulator package is not installed).
        :returns: the hostname.
        """
        self._use_host_arch(host_arch)
        self.flags(compute_driver=DRIVERS[driver])
        connection = HostDataConnection(host_arch, hostname, remove_arches,
                                        derive_domcaps=driver == 'stock')
        self.connections[hostname] = connection
        self.drivers[hostname] = driver
        return self.start_compute(hostname, connection=connection)

    def restart_compute_service(self, hostname, **kwargs):
        """Restart a compute with its driver and libvirt state kept."""
        self.flags(compute_driver=DRIVERS[self.drivers[hostname]])
        return super().restart_compute_service(hostname, **kwargs)

    def driver_of(self, hostname):
        return self.computes[hostname].driver

    # -- images and servers ------------------------------------------------

    def create_image(self, properties, name=None):
        """A Glance image with exactly ``properties``; returns its id."""
        image_id = uuidutils.generate_uuid()
        self.glance.create(None, {
            'id': image_id,
            'name': name or 'image-%s' % image_id[:8],
            'status': 'active',
            'visibility': 'public',
            'container_format': 'bare',
            'disk_format': 'qcow2',
            'size': 1024 * 1024,
            'min_ram': 0,
            'min_disk': 0,
            'protected': False,
            'tags': [],
            'properties': dict(properties),
        })
        return image_id

    def boot(self, properties, expected_state='ACTIVE', name=None):
        """Boot a server through the API from a new image.

        :returns: the server as the admin API shows it (host included).
        """
        image_id = self.create_image(properties)
        body = self._build_server(name=name, image_uuid=image_id,
                                  flavor_id=self.flavor_id)
        server = self.api.post_server({'server': body})
        return self.wait_for_build(server, expected_state)

    def wait_for_build(self, server, expected_state='ACTIVE', timeout=10):
        """Wait for the build to end; fail with its fault if unexpected."""
        deadline = time.monotonic() + timeout
        while True:
            server = self.admin_api.get_server(server['id'])
            done = (server['status'] == 'ACTIVE' or
                    (server['status'] == 'ERROR' and 'fault' in server))
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(expected_state, server['status'],
                         'server %s: %s' % (server['id'],
                                            self.fault_message(server)))
        return server

    def boot_arch(self, arch, expected_state='ACTIVE'):
        props = {'hw_emulation_architecture': arch}
        if arch == 'mipsel':
            # malta boots nothing without a kernel: the image names one.
            props['kernel_id'] = self.create_image({}, name='mipsel-kernel')
        return self.boot(props, expected_state=expected_state)

    @staticmethod
    def server_host(server):
        return server['OS-EXT-SRV-ATTR:host']

    def domain_xml(self, server, hostname=None):
        """The last domain XML Nova handed to libvirt for ``server``."""
        hostname = hostname or self.server_host(server)
        xmls = self.connections[hostname].defined_xml.get(server['id'])
        self.assertTrue(xmls, 'no domain XML for server %s on %s'
                        % (server['id'], hostname))
        return xmls[-1]

    def domain_tree(self, server, hostname=None):
        return etree.fromstring(self.domain_xml(server, hostname))

    # -- checks ------------------------------------------------------------

    def require(self, what):
        """Skip for lack of ``what`` on a laptop; fail in CI."""
        if in_ci():
            self.fail('CI=true and %s is missing' % what)
        self.skipTest('%s is missing' % what)

    def schema_errors(self, xml):
        """libvirt RNG schema errors of a domain XML ('' when valid)."""
        if not os.path.exists(SCHEMA):
            self.require('libvirt domain schema %s' % SCHEMA)
        schema = _schema()
        if schema.validate(etree.fromstring(xml)):
            return ''
        return str(schema.error_log)

    def assertValidDomainXML(self, xml):
        errors = self.schema_errors(xml)
        self.assertEqual('', errors,
                         'domain XML fails libvirt schema:\n%s' % xml)

    # -- placement ---------------------------------------------------------

    def provider_traits(self, hostname):
        return set(self._get_provider_traits(
            self.compute_rp_uuids[hostname]))

    def arch_traits(self, hostname):
        """COMPUTE_ARCH_* traits of the host's provider."""
        return {t for t in self.provider_traits(hostname)
                if t.startswith('COMPUTE_ARCH_')}

    def fault_message(self, server):
        return server.get('fault', {}).get('message', '')

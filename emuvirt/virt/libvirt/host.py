"""The libvirt host: one lazily opened connection plus cached host facts.

Capabilities and domain capabilities are expensive to fetch (a domain
capabilities call costs 1.5 to 2 s per emulator the first time) and never
change while the daemon runs, so :class:`Host` parses each document once
and keeps the typed result until :meth:`Host.invalidate_caches`. Of the
capabilities document (some 24 guest arches, hundreds of machines), a
guest's questions (host arch, its own arch's guest caps) parse only the
parts they need; :meth:`Host.get_capabilities` parses all of it.

Tests replace :func:`open_connection` (see
``emuvirt.tests.fixtures.fakelibvirt``); nothing else in this module talks
to libvirt directly.
"""

import dataclasses
import re
import threading
import uuid as uuid_lib

import libvirt
from oslo_log import log as logging

from emuvirt import conf
from emuvirt import exception
from emuvirt.virt.libvirt import caps as caps_mod
from emuvirt.virt.libvirt import firmware

LOG = logging.getLogger(__name__)

DEFAULT_URI = 'qemu:///system'
CPUINFO_PATH = '/proc/cpuinfo'

# Error codes that mean the connection itself is gone.
_CONNECTION_ERRORS = frozenset((libvirt.VIR_ERR_SYSTEM_ERROR,
                                libvirt.VIR_ERR_NO_CONNECT,
                                libvirt.VIR_ERR_INVALID_CONN,
                                libvirt.VIR_ERR_RPC))
_S390_MACHINE_RE = re.compile(r'\bmachine\s*=\s*([0-9A-Za-z]+)')


def is_connection_error(error):
    """Whether a libvirtError means the connection itself is gone.

    Errors of libvirt's RPC layer count too: after the daemon died, a call
    on its old connection says "client socket is closed" (an internal
    error of domain VIR_FROM_RPC).
    """
    return (error.get_error_code() in _CONNECTION_ERRORS or
            error.get_error_domain() == libvirt.VIR_FROM_RPC)


def _ignore_libvirt_error(ctx, error):
    """Drop libvirt's own error report.

    libvirt's default handler prints every error to stderr, including the
    "Domain not found" that lookup_domain expects; the Python exceptions
    carry the same information.
    """


def open_connection(uri):
    """Open a read-write libvirt connection to ``uri``.

    :raises: HypervisorUnavailable naming the URI and libvirt's reason.
    """
    libvirt.registerErrorHandler(_ignore_libvirt_error, None)
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as e:
        raise exception.HypervisorUnavailable(uri=uri, reason=str(e))


def default_uri():
    """``[libvirt]connection_uri`` if set, else ``qemu:///system``."""
    try:
        uri = conf.CONF.libvirt.connection_uri
    except AttributeError:
        # emuvirt.conf not there yet, or the option is not registered.
        uri = None
    return uri or DEFAULT_URI


def read_s390x_machine_type(path=None):
    """The machine type (e.g. '8561') from an s390x ``/proc/cpuinfo``.

    Returns None when the file cannot be read or has no ``machine =``
    field (any non-s390x host).
    """
    try:
        with open(path or CPUINFO_PATH) as f:
            for line in f:
                match = _S390_MACHINE_RE.search(line)
                if match:
                    return match.group(1)
    except OSError as e:
        LOG.debug('Cannot read %s: %s', path or CPUINFO_PATH, e)
    return None


def _is_uuid(value):
    try:
        uuid_lib.UUID(str(value))
    except ValueError:
        return False
    return True


class Host(object):
    """A libvirt host reached through one connection URI."""

    def __init__(self, uri=None):
        self._uri = uri if uri else default_uri()
        self._conn = None
        self._lock = threading.RLock()
        self._caps = None           # the whole document, parsed
        self._caps_text = None      # its text, fetched once
        self._host_cpu = None
        self._host_arch = None
        self._guest_caps = {}       # (arch, os_type) -> GuestCaps or None
        self._domcaps = {}
        self._uefi = {}

    @property
    def uri(self):
        return self._uri

    # -- connection --------------------------------------------------------

    def get_connection(self):
        """The libvirt connection, opened on first use.

        A connection the daemon dropped (restart) is replaced.
        """
        with self._lock:
            if self._conn is not None and not self._is_alive(self._conn):
                LOG.warning('Connection to libvirt at %s was lost; '
                            'reconnecting', self._uri)
                self._conn = None
            if self._conn is None:
                LOG.debug('Connecting to libvirt at %s', self._uri)
                self._conn = open_connection(self._uri)
            return self._conn

    @staticmethod
    def _is_alive(conn):
        try:
            return bool(conn.isAlive())
        except libvirt.libvirtError:
            return False

    def _lost(self):
        """Forget a connection that failed; the next call reconnects."""
        with self._lock:
            self._conn = None

    def close(self):
        """Close the connection; the next call opens a new one."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except libvirt.libvirtError as e:
                LOG.debug('Closing libvirt connection failed: %s', e)

    # -- host facts --------------------------------------------------------

    def _call(self, method, *args, refused=None):
        """Call a connection method, turning libvirt errors into ours.

        A lost connection becomes HypervisorUnavailable (and the next call
        reconnects); any other error becomes ``refused(error)`` when given,
        else HypervisorUnavailable too.
        """
        try:
            return getattr(self.get_connection(), method)(*args)
        except libvirt.libvirtError as e:
            lost = is_connection_error(e)
            if lost:
                self._lost()
            if lost or refused is None:
                raise exception.HypervisorUnavailable(
                    uri=self._uri, reason='%s: %s' % (method, e))
            raise refused(e)

    def _capabilities_text(self):
        """The capabilities document (fetched once, cached)."""
        with self._lock:
            if self._caps_text is None:
                self._caps_text = self._call('getCapabilities')
            return self._caps_text

    def get_capabilities(self):
        """Parsed host capabilities, every guest arch (parsed once)."""
        with self._lock:
            if self._caps is None:
                caps = caps_mod.parse_capabilities(self._capabilities_text())
                self._caps = dataclasses.replace(
                    caps, host_cpu=self._get_host_cpu())
            return self._caps

    def _get_host_cpu(self):
        with self._lock:
            if self._host_cpu is None:
                self._host_cpu = self._fill_host_cpu_model(
                    caps_mod.parse_host_cpu(self._capabilities_text()))
            return self._host_cpu

    @staticmethod
    def _fill_host_cpu_model(cpu):
        """On s390x, libvirt may report no host CPU model; use cpuinfo's.

        KVM on IBM Z hosts report the CPU as a machine type number in
        ``/proc/cpuinfo`` (``machine = 8561``); that number is what
        operators and the scheduler know the host by.
        """
        if cpu.arch != 's390x' or cpu.model:
            return cpu
        model = read_s390x_machine_type()
        if model is None:
            return cpu
        return dataclasses.replace(cpu, model=model)

    @property
    def host_arch(self):
        """Canonical architecture of the host."""
        with self._lock:
            if self._host_cpu is not None:
                return self._host_cpu.arch
            if self._host_arch is None:
                self._host_arch = caps_mod.parse_host_arch(
                    self._capabilities_text())
            return self._host_arch

    def get_guest_caps(self, arch, os_type='hvm'):
        """GuestCaps for ``arch`` (aliases accepted) or None.

        Only that arch's part of the capabilities is parsed (unless all
        of it already was).
        """
        with self._lock:
            if self._caps is not None:
                return self._caps.guest(arch, os_type)
            key = (caps_mod.canonical_arch(arch), os_type)
            if key not in self._guest_caps:
                self._guest_caps[key] = caps_mod.parse_guest_caps(
                    self._capabilities_text(), arch, os_type)
            return self._guest_caps[key]

    def offers_machine(self, name):
        """Whether libvirt offers machine type ``name`` for any guest arch.

        Aliases count. Read from the capabilities document without
        parsing every arch (unless that was done already).
        """
        if not name:
            return False
        with self._lock:
            if self._caps is not None:
                return any(guest.get_machine(name) is not None
                           for guest in self._caps.guests)
            return caps_mod.machine_offered(self._capabilities_text(), name)

    def require_guest_caps(self, arch):
        """GuestCaps for ``arch``, for a guest about to be planned.

        :raises: ArchitectureNotSupported when libvirt has no emulator
                 for it, naming the QEMU binary to install.
        """
        guest_caps = self.get_guest_caps(arch)
        if guest_caps is None:
            raise exception.ArchitectureNotSupported(
                arch=arch, reason='libvirt offers no emulator for it '
                '(is qemu-system-%s installed?)' % arch)
        return guest_caps

    def get_domain_capabilities(self, arch, machine, virt_type):
        """Domain capabilities for a guest arch, machine and virt type.

        The emulator is the one capabilities name for that arch and domain
        type; the machine is always passed, because without one libvirt
        answers for QEMU's default board (``integratorcp`` on aarch64).
        Results are cached per (arch, canonical machine, virt type), so an
        alias and its canonical name share one entry.

        :raises: ArchitectureNotSupported if libvirt has no emulator for
                 ``arch``, does not offer ``virt_type`` for it or refuses
                 the request (e.g. the emulator was uninstalled since the
                 capabilities were read); InvalidMachineType if
                 ``machine`` is not offered for it; HypervisorUnavailable
                 if the connection fails.
        """
        guest = self.get_guest_caps(arch)
        arch = caps_mod.canonical_arch(arch)
        if guest is None:
            raise exception.ArchitectureNotSupported(
                arch=arch, reason='libvirt reports no emulator for it')
        if not guest.supports_domain_type(virt_type):
            raise exception.ArchitectureNotSupported(
                arch=arch,
                reason="libvirt offers no '%s' domain for it (offered: %s)"
                       % (virt_type, ', '.join(sorted(guest.domain_types))))
        canonical = guest.resolve_machine(machine)
        if canonical is None:
            raise exception.InvalidMachineType(
                mtype=machine, arch=arch,
                source='domain capabilities request',
                offered=', '.join(sorted(guest.machine_names())))
        key = (arch, canonical, virt_type)
        with self._lock:
            domcaps = self._domcaps.get(key)
            if domcaps is None:
                xml = self._call(
                    'getDomainCapabilities', guest.emulator_for(virt_type),
                    arch, canonical, virt_type, 0,
                    refused=lambda e: exception.ArchitectureNotSupported(
                        arch=arch,
                        reason='libvirt refused machine %s, virt type %s: %s'
                               % (canonical, virt_type, e)))
                domcaps = caps_mod.parse_domain_capabilities(xml)
                self._domcaps[key] = domcaps
            return domcaps

    def get_uefi_firmware(self, arch, machine, domcaps=None):
        """UEFI loader + vars template for a guest arch and machine, cached.

        :raises: FirmwareNotFound when none is installed (not cached).
        """
        key = (arch, machine)
        with self._lock:
            found = self._uefi.get(key)
        if found is None:
            found = firmware.find_uefi(arch, machine, domcaps=domcaps)
            with self._lock:
                self._uefi[key] = found
        return found

    def invalidate_caches(self):
        """Forget capabilities, domain capabilities and firmware choices.

        For when emulators or firmware files changed.
        """
        with self._lock:
            self._caps = None
            self._caps_text = None
            self._host_cpu = None
            self._host_arch = None
            self._guest_caps = {}
            self._domcaps = {}
            self._uefi = {}

    def get_version(self):
        """Hypervisor (QEMU) version as libvirt's integer, e.g. 7002022."""
        return self.get_connection().getVersion()

    def get_lib_version(self):
        """libvirt daemon version as an integer, e.g. 9000000."""
        return self.get_connection().getLibVersion()

    def get_hostname(self):
        return self.get_connection().getHostname()

    def get_memory_mb_total(self):
        return self.get_connection().getInfo()[1]

    def get_cpu_count(self):
        return self.get_connection().getInfo()[2]

    def get_free_memory_mb(self):
        return self.get_connection().getFreeMemory() // (1024 * 1024)

    # -- domains -----------------------------------------------------------

    def define_domain(self, xml):
        """Define (or redefine) a persistent domain; returns virDomain."""
        return self.get_connection().defineXML(xml)

    def lookup_domain(self, name_or_uuid):
        """The domain with that UUID or name, or None if there is none.

        :raises: HypervisorUnavailable when the connection fails or is
            lost (the next call reconnects); libvirtError otherwise.
        """
        conn = self.get_connection()
        try:
            if _is_uuid(name_or_uuid):
                try:
                    return conn.lookupByUUIDString(str(name_or_uuid))
                except libvirt.libvirtError as e:
                    if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                        raise
            # A name may look like a UUID; fall back to a name lookup.
            return conn.lookupByName(str(name_or_uuid))
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            if is_connection_error(e):
                self._lost()
                raise exception.HypervisorUnavailable(
                    uri=self._uri, reason='looking up domain %s: %s'
                    % (name_or_uuid, e))
            raise

    def list_domains(self, flags=0):
        """All domains (virDomain objects), active and inactive."""
        return self.get_connection().listAllDomains(flags)

    # -- networks ----------------------------------------------------------

    def has_active_network(self, name):
        """Whether the daemon has a virtual network ``name`` that is up.

        A freshly started daemon has none (not even ``default``); a daemon
        without the network driver answers as if it had none.

        :raises: HypervisorUnavailable if the connection fails.
        """
        try:
            net = self._call('networkLookupByName', name,
                             refused=lambda e: e)
            return bool(net.isActive())
        except libvirt.libvirtError as e:
            LOG.debug('No usable libvirt network %s: %s', name, e)
            return False

"""One guest: a libvirt domain and the operations on it.

:class:`Guest` wraps a ``virDomain`` so that the driver never calls libvirt
directly for a single guest: start, graceful shutdown, destroy, undefine
(with its NVRAM), power state, and the emuvirt record kept in the domain's
``<metadata>``. libvirt errors come out as
:class:`emuvirt.exception.GuestOperationFailed` naming the action, or as
:class:`GuestConnectionLost` (a HypervisorUnavailable) when the connection
itself is gone.
"""

import dataclasses
import time

import libvirt
from lxml import etree
from oslo_log import log as logging

from emuvirt import exception
from emuvirt.virt import driver
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import metadata

LOG = logging.getLogger(__name__)

# libvirt domain state -> power state (Nova's mapping). A guest that is
# shutting down is reported as shut down, a blocked one as running.
_POWER_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: driver.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: driver.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: driver.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: driver.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: driver.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: driver.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: driver.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: driver.SUSPENDED,
}

# Undefine drops the NVRAM file and whatever else libvirt keeps beside the
# definition, so nothing of the guest stays on the host. (No TPM flag: it
# is newer than libvirt 9.0 and emuvirt guests have no TPM.)
UNDEFINE_FLAGS = (libvirt.VIR_DOMAIN_UNDEFINE_NVRAM |
                  libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                  libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                  libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA)

POLL_INTERVAL = 0.2


class GuestConnectionLost(exception.HypervisorUnavailable):
    msg_fmt = ("Connection to libvirt lost while trying to %(action)s "
               "instance %(instance)s: %(reason)s")


def _failed(action, instance, error):
    """The exception for a libvirtError of an operation on a guest."""
    cls = (GuestConnectionLost if vhost.is_connection_error(error)
           else exception.GuestOperationFailed)
    return cls(action=action, instance=instance, reason=str(error))


class Guest(object):
    """A libvirt domain that emuvirt operates on."""

    def __init__(self, domain):
        self._domain = domain

    @property
    def domain(self):
        return self._domain

    @property
    def name(self):
        return self._domain.name()

    @property
    def uuid(self):
        return self._domain.UUIDString()

    def _do(self, action, method, *args):
        try:
            return getattr(self._domain, method)(*args)
        except libvirt.libvirtError as e:
            raise _failed(action, self.name, e)

    # -- state -------------------------------------------------------------

    def is_active(self):
        return bool(self._do('query', 'isActive'))

    def interface_addresses(self):
        """[(MAC, IP address)] from the DHCP leases of its networks.

        Empty for a guest without a lease (yet), or with user-mode NICs.
        """
        try:
            ifaces = self._domain.interfaceAddresses(
                libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID:
                return []   # not running
            raise _failed('query', self.name, e)
        found = []
        for iface in sorted((ifaces or {}).values(),
                            key=lambda i: i.get('hwaddr') or ''):
            for addr in iface.get('addrs') or ():
                found.append((iface.get('hwaddr'), addr.get('addr')))
        return found

    def get_power_state(self):
        """The power state constant of :mod:`emuvirt.virt.driver`."""
        state = self._do('query', 'state')[0]
        return _POWER_STATES.get(state, driver.NOSTATE)

    def wait_for_shutoff(self, timeout, poll=POLL_INTERVAL):
        """Wait up to ``timeout`` seconds; True once the guest is off."""
        deadline = time.monotonic() + timeout
        while self.is_active():
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)
        return True

    # -- lifecycle ---------------------------------------------------------

    def launch(self):
        """Start the defined guest."""
        self._do('start', 'createWithFlags', 0)

    def shutdown(self):
        """Ask the guest to power off (ACPI or the arch's equivalent)."""
        self._do('shut down', 'shutdownFlags', 0)

    def destroy(self):
        """Stop the guest at once; a stopped guest is left as it is."""
        if self.is_active():
            try:
                self._domain.destroyFlags(0)
            except libvirt.libvirtError as e:
                # It may have stopped by itself meanwhile (unless the
                # connection is gone: then nobody can tell).
                if vhost.is_connection_error(e) or self.is_active():
                    raise _failed('destroy', self.name, e)

    def undefine(self):
        """Forget the definition, and the NVRAM file with it."""
        self._do('undefine', 'undefineFlags', UNDEFINE_FLAGS)

    # -- what emuvirt knows about it ---------------------------------------

    def get_xml_desc(self, persistent=False):
        """The live XML, or with ``persistent`` the stored definition."""
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE if persistent else 0
        return self._do('read the XML of', 'XMLDesc', flags)

    def get_record(self):
        """The :class:`metadata.InstanceRecord`, or None if not ours.

        Read from the stored definition: a record updated while the guest
        runs (machine type recorded, properties set) shows at once. A
        record that cannot be read comes back as a
        :class:`metadata.BrokenRecord` with this domain's name and UUID.
        """
        record = metadata.InstanceRecord.from_domain_xml(
            self.get_xml_desc(persistent=True))
        if record is not None and record.broken and not record.uuid:
            record = dataclasses.replace(record, uuid=self.uuid,
                                         name=self.name)
        return record

    def get_console_log_path(self):
        """The file the first console or serial port is logged to."""
        root = etree.fromstring(self.get_xml_desc())
        for dev in root.iterfind('devices/*'):
            if dev.tag in ('serial', 'console'):
                log = dev.find('log')
                if log is not None and log.get('file'):
                    return log.get('file')
        return None

    def get_nvram_path(self):
        return etree.fromstring(self.get_xml_desc()).findtext('os/nvram')

"""Defined guests as emuvirt recorded them, read from and written to libvirt.

The instance record (:class:`emuvirt.virt.libvirt.metadata.InstanceRecord`)
lives in the ``<metadata>`` of the domain's *persistent* definition. Every
read here uses that definition (``VIR_DOMAIN_XML_INACTIVE``): for a running
guest it is what the next start will use, and the record written at spawn
or by ``emuvirt-manage`` is always found there, even before the guest has
been restarted. ``VIR_DOMAIN_XML_SECURE`` keeps secrets (VNC passwords) in
the XML, so that a redefinition does not drop them.

A change is one :func:`redefine`: the whole persistent XML, record and
machine together, goes to libvirt in a single ``defineXML``. libvirt
either takes all of it or refuses it and keeps the old definition, so a
guest is never left half updated.

Domains without an emuvirt record on the same daemon are not instances:
:func:`lookup` reports them as not found and :func:`list_guests` skips
them, so the tools here never touch a guest emuvirt did not create.
A domain whose emuvirt record cannot be read (see
:mod:`~emuvirt.virt.libvirt.metadata`) is an instance nothing here can
change: :func:`lookup` refuses it with
:class:`~emuvirt.virt.libvirt.metadata.RecordBroken` naming the reason,
and :func:`list_guests` hands it apart, or logs it, and carries on with
the others.
"""

import dataclasses

import libvirt
from lxml import etree
from oslo_log import log as logging

from emuvirt import exception
from emuvirt.virt.libvirt import caps
from emuvirt.virt.libvirt import metadata

LOG = logging.getLogger(__name__)

PERSISTENT_XML = libvirt.VIR_DOMAIN_XML_INACTIVE | (
    libvirt.VIR_DOMAIN_XML_SECURE)
_RECORD_PATH = 'metadata/{%s}%s' % (metadata.NAMESPACE, metadata.ROOT)


class NotAnInstance(exception.InstanceNotFound):
    msg_fmt = ("Domain %(instance)s is not an emuvirt instance: its XML "
               "has no emuvirt record.")


@dataclasses.dataclass
class StoredGuest:
    """One defined guest: its domain, persistent XML and record."""

    domain: object
    xml: str
    record: metadata.InstanceRecord

    @property
    def uuid(self):
        return self.domain.UUIDString()

    @property
    def name(self):
        return self.domain.name()

    @property
    def active(self):
        """True while QEMU runs (running, paused...), False if shut off."""
        return bool(self.domain.isActive())

    def _os_type(self):
        node = etree.fromstring(self.xml.encode()).find('os/type')
        return node if node is not None else etree.Element('type')

    @property
    def xml_machine(self):
        """The machine the persistent definition starts QEMU with."""
        return self._os_type().get('machine')

    @property
    def arch(self):
        """The guest arch: the record's, else the domain XML's."""
        return caps.canonical_arch(self.record.guest_arch or
                                   self._os_type().get('arch'))

    @property
    def emulator(self):
        node = etree.fromstring(self.xml.encode()).find('devices/emulator')
        return node.text.strip() if node is not None and node.text else None


def _load(domain):
    xml = domain.XMLDesc(PERSISTENT_XML)
    record = metadata.InstanceRecord.from_domain_xml(xml)
    if record is None:
        return None
    if record.broken and not record.uuid:
        record = dataclasses.replace(record, uuid=domain.UUIDString(),
                                     name=domain.name())
    return StoredGuest(domain=domain, xml=xml, record=record)


def lookup(host, instance):
    """The emuvirt guest ``instance`` (a name or UUID, or an Instance).

    :raises: InstanceNotFound if there is no such domain; NotAnInstance
        (a subclass) if the domain has no emuvirt record; RecordBroken if
        its record cannot be read.
    """
    key = getattr(instance, 'uuid', instance)
    domain = host.lookup_domain(key)
    if domain is None:
        raise exception.InstanceNotFound(instance=key)
    guest = _load(domain)
    if guest is None:
        raise NotAnInstance(instance=key)
    if guest.record.broken:
        raise guest.record.error()
    return guest


def list_guests(host, broken=None):
    """Every emuvirt guest on the daemon, running or not, by name.

    Guests whose record cannot be read are left out: appended to
    ``broken`` (a list of StoredGuest whose ``record`` is a
    :class:`~emuvirt.virt.libvirt.metadata.BrokenRecord`) when given,
    else each logged as a warning.
    """
    guests = []
    for domain in host.list_domains():
        try:
            guest = _load(domain)
        except libvirt.libvirtError as e:
            # Undefined between the listing and the read.
            if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
            continue
        if guest is None:
            continue
        if not guest.record.broken:
            guests.append(guest)
        elif broken is not None:
            broken.append(guest)
        else:
            LOG.warning('Skipping %s (%s): its emuvirt record cannot be '
                        'read: %s', guest.name, guest.uuid,
                        guest.record.reason)
    if broken is not None:
        broken.sort(key=lambda g: g.name)
    return sorted(guests, key=lambda g: g.name)


def require_stopped(guest, action):
    """Refuse ``action`` unless the guest is shut off with no saved state.

    A managed save image holds the running machine; starting the guest
    would resume it whatever the definition now says.

    :raises: InstanceInvalidState naming the state and the action.
    """
    if guest.active:
        state = 'running'
    elif guest.domain.hasManagedSaveImage(0):
        state = 'shut off with a managed save image (start it, then stop it)'
    else:
        return
    raise exception.InstanceInvalidState(
        instance=guest.name, state=state, action=action,
        needed='shut off')


def with_record(xml, record, machine=None):
    """Persistent XML ``xml`` holding ``record`` (and ``machine``)."""
    tree = etree.fromstring(xml.encode())
    old = tree.find(_RECORD_PATH)
    old.getparent().replace(old, record.format_dom())
    if machine is not None:
        tree.find('os/type').set('machine', machine)
    return etree.tostring(tree, encoding='unicode')


def redefine(host, guest, record, machine=None):
    """Write ``record`` (and ``machine``, if given) in one ``defineXML``.

    Everything else in the persistent definition is kept as libvirt gave
    it. Returns the guest as libvirt now stores it.

    :raises: libvirt.libvirtError if libvirt refuses the new definition;
        the old one is then still in place.
    """
    domain = host.define_domain(with_record(guest.xml, record, machine))
    LOG.debug('Redefined %s (%s)', guest.name, guest.uuid)
    return _load(domain)

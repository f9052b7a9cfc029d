"""The machine type of existing guests: read it, record it, change it safely.

QEMU's machine type is a guest's virtual chipset. Changing it under an
existing guest changes the hardware the guest OS sees, so emuvirt records
the machine type each guest was created with and never changes it behind
the operator's back:

* At spawn the driver records the machine type it resolved for the guest
  arch (image ``hw_machine_type``, else ``[libvirt]hw_machine_type`` for
  that arch, else the arch profile's default) under its CANONICAL name:
  ``virt-7.2``, not the alias ``virt``. libvirt itself writes the canonical
  name into the domain XML, so record and XML agree, and the record does
  not silently move to a newer version when QEMU is upgraded.
* libvirt keeps the persistent domain XML; stopping, starting and
  rebooting a guest reuse it, so a later change of
  ``[libvirt]hw_machine_type`` never reaches an existing guest.
* :func:`record_missing` fills the record of older guests from their domain
  XML; the compute service calls it at start.

:func:`update` changes the machine type of a stopped guest, refusing what
could break it (see its docstring). Unlike Nova's, which knows a fixed list
of x86, aarch64 and s390x names, it asks libvirt what the guest arch's
emulator offers, so ``pseries``, ``virt`` (aarch64, riscv64),
``s390-ccw-virtio`` and ``malta`` guests are handled alike.
"""

import collections
import dataclasses
import re

import libvirt
from oslo_log import log as logging

from emuvirt import exception
from emuvirt.virt import archs
from emuvirt.virt.libvirt import records

LOG = logging.getLogger(__name__)

_VERSION = re.compile(r'-(\d+(?:\.\d+)*)$')

Current = collections.namedtuple('Current', 'name recorded')


class MachineTypeNotRecorded(exception.EmuvirtException):
    msg_fmt = ("No machine type is recorded for instance %(instance)s; its "
               "domain XML says %(xml_machine)s (emuvirt-compute records it "
               "at start)")


class MachineTypeUnsupported(exception.Invalid):
    msg_fmt = ("Machine type %(mtype)s cannot be used for %(arch)s guests: "
               "%(reason)s")


class MachineTypeUpdateInvalid(exception.Invalid):
    msg_fmt = ("Machine type of instance %(instance)s cannot change from "
               "%(old)s to %(new)s: %(reason)s")


def version(machine):
    """A machine type's version as a tuple, or None: virt-7.2 -> (7, 2)."""
    match = _VERSION.search(machine or '')
    return tuple(int(p) for p in match.group(1).split('.')) if match else None


def kind(machine, guest_caps):
    """``'alias'`` (libvirt says so), ``'versioned'`` or ``'plain'``."""
    found = guest_caps.get_machine(machine) if guest_caps else None
    if found is not None and found.is_alias:
        return 'alias'
    return 'versioned' if version(machine) else 'plain'


def get(host, instance):
    """The machine type of a guest: ``Current(name, recorded)``.

    ``name`` is the recorded machine type, else the one in the guest's
    persistent domain XML (then ``recorded`` is False).

    :raises: InstanceNotFound
    """
    guest = records.lookup(host, instance)
    if guest.record.machine_type:
        return Current(guest.record.machine_type, True)
    return Current(guest.xml_machine, False)


def list_unset(host, broken=None):
    """The emuvirt guests whose record has no machine type (StoredGuest).

    Guests whose record cannot be read are not among them: see
    :func:`records.list_guests` for ``broken``.
    """
    return [g for g in records.list_guests(host, broken)
            if not g.record.machine_type]


def record_missing(host):
    """Record the machine type of every guest lacking one, from its XML.

    For the compute service at start. The domain XML's machine is the one
    the guest runs with, so recording it changes nothing the guest sees;
    running guests are handled too. A guest that cannot be updated is
    logged and skipped.

    :returns: {uuid: machine type recorded}
    :raises: HypervisorUnavailable if libvirt cannot be reached.
    """
    done = {}
    for guest in list_unset(host):
        machine = guest.xml_machine
        if not machine:
            LOG.warning('Instance %s has no machine type in its domain XML; '
                        'nothing to record', guest.name)
            continue
        record = dataclasses.replace(guest.record, machine_type=machine)
        try:
            records.redefine(host, guest, record)
        except libvirt.libvirtError as e:
            LOG.warning('Could not record machine type %s for instance %s: '
                        '%s', machine, guest.name, e)
            continue
        LOG.info('Recorded machine type %s for instance %s (%s)', machine,
                 guest.name, guest.uuid)
        done[guest.uuid] = machine
    return done


def resolve(host, arch, machine):
    """The canonical name of ``machine`` for ``arch`` guests on this host.

    :raises: MachineTypeUnsupported if libvirt has no emulator for the arch
        or the emulator does not offer the machine.
    """
    guest_caps = host.get_guest_caps(arch)
    if guest_caps is None:
        raise MachineTypeUnsupported(
            mtype=machine, arch=arch,
            reason='libvirt has no emulator for %s on this host' % arch)
    canonical = guest_caps.resolve_machine(machine)
    if canonical is None:
        family = archs.machine_family(machine)
        same = sorted((n for n in guest_caps.machine_names()
                       if archs.machine_family(n) == family),
                      key=lambda n: (version(n) or (), n))
        raise MachineTypeUnsupported(
            mtype=machine, arch=arch,
            reason="%s's emulator does not offer it%s" % (
                arch, '; %s offers: %s' % (family, ', '.join(same))
                if same else ''))
    return canonical, guest_caps


def check_compatible(old, new, guest_caps):
    """Why moving a guest from ``old`` to ``new`` could break it, or None.

    Refused: a change of family (``pc`` and ``q35``, ``virt`` and
    ``pseries``...); a move between an alias (``virt``) and a versioned or
    plain name, whose version would then float with QEMU upgrades; a lower
    version, whose chipset lacks what the guest has seen.
    """
    old_kind, new_kind = kind(old, guest_caps), kind(new, guest_caps)
    if 'alias' in (old_kind, new_kind) and old_kind != new_kind:
        return ('a change between an alias and a versioned machine type '
                '(%s is %s, %s is %s); name the versioned type' % (
                    old, old_kind, new, new_kind))
    old_family = archs.machine_family(old)
    new_family = archs.machine_family(new)
    if old_family != new_family:
        return 'a change of machine family (%s to %s)' % (old_family,
                                                          new_family)
    if version(old) and version(new) and version(new) < version(old):
        return 'a lower version'
    return None


def update(host, instance, new_type, force=False):
    """Change a guest's machine type in its domain XML and its record.

    In order, refusing with the guest untouched:

    1. the machine must be offered by the guest arch's emulator
       (MachineTypeUnsupported; ``force`` cannot help: libvirt would refuse
       to define it);
    2. the same name as recorded (and in the XML) is a success that changes
       nothing;
    3. the guest must be shut off, without a managed save image
       (InstanceInvalidState), unless the update only records the machine
       the domain XML already has;
    4. unless ``force``, the change must be compatible
       (:func:`check_compatible`; MachineTypeUpdateInvalid).

    Then record and XML get the canonical name in one redefinition; an
    image property ``hw_machine_type`` kept in the record follows, so no
    stale name is left to be used when the XML is next built.

    :returns: (new machine type, previous one: recorded, else the XML's)
    :raises: InstanceNotFound, MachineTypeUnsupported, InstanceInvalidState,
        MachineTypeUpdateInvalid (also when libvirt refuses the new
        definition, e.g. after a forced change of family).
    """
    guest = records.lookup(host, instance)
    arch = guest.arch
    canonical, guest_caps = resolve(host, arch, new_type)
    recorded = guest.record.machine_type
    old = recorded or guest.xml_machine
    if recorded == new_type and guest.xml_machine == canonical:
        return canonical, old
    if not (recorded is None and canonical == guest.xml_machine):
        records.require_stopped(guest, 'changing its machine type')
    if not force:
        reason = check_compatible(old, new_type, guest_caps)
        if reason is not None:
            raise MachineTypeUpdateInvalid(
                instance=guest.name, old=old, new=new_type,
                reason=reason + ' (--force skips this check)')
    if guest_caps.get_machine(canonical).deprecated:
        LOG.warning('Machine type %s is deprecated by QEMU', canonical)
    props = dict(guest.record.properties)
    if 'hw_machine_type' in props:
        props['hw_machine_type'] = canonical
    record = dataclasses.replace(guest.record, machine_type=canonical,
                                 properties=props)
    try:
        records.redefine(host, guest, record, machine=canonical)
    except libvirt.libvirtError as e:
        raise MachineTypeUpdateInvalid(
            instance=guest.name, old=old, new=canonical,
            reason='libvirt refused the new definition: %s' % e)
    LOG.info('Machine type of instance %s (%s) changed from %s to %s%s',
             guest.name, guest.uuid, old, canonical,
             ' (forced)' if force else '')
    return canonical, old

"""The host's resource providers as Placement should see them.

:class:`ProviderTree` is the exchange format between the compute driver
and the Placement report client, shaped like Nova's: the client hands the
driver a tree holding what Placement has (generation, inventory, traits),
the driver edits it in :func:`update_provider_tree`, and the client sends
Placement the differences. emuvirt has one provider per host, a root; the
tree still keys providers by name and UUID so that adding children later
does not change its interface.

:func:`update_provider_tree` is the driver's side: VCPU, MEMORY_MB and
DISK_GB inventory read from the host, and the traits of
:mod:`emuvirt.virt.traits`.
"""

import copy
import dataclasses
import math
import os
import typing as ty

from oslo_log import log as logging

from emuvirt import exception
from emuvirt.virt import traits as traits_mod

LOG = logging.getLogger(__name__)

VCPU = 'VCPU'
MEMORY_MB = 'MEMORY_MB'
DISK_GB = 'DISK_GB'

# What Placement stores for a field an inventory record leaves out.
INVENTORY_DEFAULTS = {'reserved': 0, 'min_unit': 1, 'max_unit': 0x7FFFFFFF,
                      'step_size': 1, 'allocation_ratio': 1.0}
INVENTORY_FIELDS = ('total',) + tuple(INVENTORY_DEFAULTS)


def normalize_inventory(inventory):
    """{rc: record} with every field set, as Placement returns it."""
    result = {}
    for rc, record in (inventory or {}).items():
        full = dict(INVENTORY_DEFAULTS)
        full.update((k, v) for k, v in record.items()
                    if k in INVENTORY_FIELDS)
        full['allocation_ratio'] = float(full['allocation_ratio'])
        result[rc] = full
    return result


@dataclasses.dataclass(frozen=True)
class ProviderData:
    """A read-only snapshot of one provider."""

    uuid: str
    name: str
    generation: ty.Optional[int]
    inventory: ty.Dict[str, dict]
    traits: ty.FrozenSet[str]


@dataclasses.dataclass
class _Provider:
    uuid: str
    name: str
    generation: ty.Optional[int] = None
    inventory: dict = dataclasses.field(default_factory=dict)
    traits: frozenset = frozenset()


class ProviderTree(object):
    """Providers by UUID and name, each with inventory and traits.

    ``generation`` is Placement's generation of the provider as last seen;
    methods that store data fetched from Placement take it along.
    """

    def __init__(self):
        self._providers = {}

    def _find(self, name_or_uuid):
        provider = self._providers.get(name_or_uuid)
        if provider is None:
            for candidate in self._providers.values():
                if candidate.name == name_or_uuid:
                    return candidate
            raise ValueError('No resource provider %s in the tree'
                             % name_or_uuid)
        return provider

    def new_root(self, name, uuid, generation=None):
        """Add a root provider; returns its UUID."""
        uuid = str(uuid)
        if self.exists(uuid) or self.exists(name):
            raise ValueError('Resource provider %s (%s) is already in the '
                             'tree' % (name, uuid))
        self._providers[uuid] = _Provider(uuid, name, generation)
        return uuid

    def remove(self, name_or_uuid):
        del self._providers[self._find(name_or_uuid).uuid]

    def exists(self, name_or_uuid):
        try:
            self._find(name_or_uuid)
        except ValueError:
            return False
        return True

    def get_provider_uuids(self):
        return list(self._providers)

    def data(self, name_or_uuid):
        """A :class:`ProviderData` snapshot of one provider."""
        p = self._find(name_or_uuid)
        return ProviderData(p.uuid, p.name, p.generation,
                            copy.deepcopy(p.inventory), p.traits)

    def copy(self):
        new = ProviderTree()
        new._providers = copy.deepcopy(self._providers)
        return new

    def _set_generation(self, provider, generation):
        if generation is not None:
            provider.generation = generation

    def set_generation(self, name_or_uuid, generation):
        self._find(name_or_uuid).generation = generation

    # -- inventory --------------------------------------------------------

    def has_inventory_changed(self, name_or_uuid, inventory):
        return (self._find(name_or_uuid).inventory !=
                normalize_inventory(inventory))

    def update_inventory(self, name_or_uuid, inventory, generation=None):
        """Replace the inventory; returns whether it changed."""
        provider = self._find(name_or_uuid)
        self._set_generation(provider, generation)
        new = normalize_inventory(inventory)
        changed = provider.inventory != new
        provider.inventory = new
        return changed

    # -- traits -----------------------------------------------------------

    def has_traits(self, name_or_uuid, traits):
        return set(traits) <= self._find(name_or_uuid).traits

    def have_traits_changed(self, name_or_uuid, traits):
        return self._find(name_or_uuid).traits != frozenset(traits)

    def update_traits(self, name_or_uuid, traits, generation=None):
        """Replace the traits; returns whether they changed."""
        provider = self._find(name_or_uuid)
        self._set_generation(provider, generation)
        new = frozenset(traits)
        changed = provider.traits != new
        provider.traits = new
        return changed

    def add_traits(self, name_or_uuid, *traits):
        provider = self._find(name_or_uuid)
        provider.traits = provider.traits | frozenset(traits)

    def remove_traits(self, name_or_uuid, *traits):
        provider = self._find(name_or_uuid)
        provider.traits = provider.traits - frozenset(traits)


# --------------------------------------------------------------------------
# The driver's side: what this host offers.
# --------------------------------------------------------------------------

def _disk_gb(path):
    """Size of the filesystem holding ``path`` in GiB (0 if unknown).

    ``path`` may not exist yet (no guest created); its closest existing
    parent is on the same filesystem unless a mount is made later.
    """
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    try:
        st = os.statvfs(path or '/')
    except OSError as e:
        LOG.warning('Cannot read the size of the filesystem of %s: %s',
                    path, e)
        return 0
    return st.f_blocks * st.f_frsize // (1024 ** 3)


def host_inventory(host, conf):
    """VCPU, MEMORY_MB and DISK_GB inventory records for ``host``.

    Reserved amounts come from ``[compute]reserved_host_memory_mb`` and
    ``reserved_host_disk_mb`` (rounded up to GiB); DISK_GB is the size of
    the filesystem holding ``[libvirt]instances_path``. A reserved amount
    larger than the total is capped at the total, which Placement accepts
    and which offers nothing of that class.
    """
    vcpus = host.get_cpu_count()
    memory_mb = host.get_memory_mb_total()
    disk_gb = _disk_gb(conf.libvirt.instances_path)
    reserved_disk_gb = int(math.ceil(conf.compute.reserved_host_disk_mb /
                                     1024.0))
    records = {
        VCPU: (vcpus, 0),
        MEMORY_MB: (memory_mb, conf.compute.reserved_host_memory_mb),
        DISK_GB: (disk_gb, reserved_disk_gb),
    }
    inventory = {}
    for rc, (total, reserved) in records.items():
        if total <= 0:
            continue
        inventory[rc] = {'total': total, 'reserved': min(reserved, total),
                         'min_unit': 1, 'max_unit': total, 'step_size': 1,
                         'allocation_ratio': 1.0}
    return inventory


def update_provider_tree(provider_tree, nodename, host, capabilities, conf):
    """Set this host's inventory and traits on its provider in the tree.

    :param provider_tree: a :class:`ProviderTree` holding the provider
        named ``nodename`` with what Placement has.
    :param host: an :class:`emuvirt.virt.libvirt.host.Host`.
    :param capabilities: an :class:`emuvirt.virt.hostcaps.HostCapabilities`.
    :param conf: the configuration (``[compute]``, ``[libvirt]``).

    Traits this driver owns are replaced by what the host has now; other
    traits on the provider (an operator's) stay.
    """
    if not provider_tree.exists(nodename):
        raise exception.EmuvirtException(
            'Resource provider %s is not in the provider tree' % nodename)
    provider_tree.update_inventory(nodename, host_inventory(host, conf))
    reported = traits_mod.host_traits(capabilities.host_arch,
                                      capabilities.runnable_arches(),
                                      capabilities.accelerated_arches())
    current = provider_tree.data(nodename).traits
    provider_tree.update_traits(nodename,
                                traits_mod.merge(current, reported))

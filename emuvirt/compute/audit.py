"""Audit: this host's allocations in Placement that nothing accounts for.

The compute service releases only the allocations the Placement ledger
accounts for (:mod:`emuvirt.compute.reconcile`): an allocation on this
host's resource provider with no guest here, no claim in flight and no
ledger entry (an *orphan*) is reported and kept, since the guests it
cannot see may be on a daemon it is not connected to. Once the operator
knows the guests are gone, ``emuvirt-manage placement audit`` lists those
allocations and, with ``--delete``, releases them, as
``nova-manage placement audit`` does for Nova.

:func:`audit` reads the snapshots in the compute service's order (the
provider's allocations, the ledger, then the guests), so a create running
meanwhile is seen in flight or with its guest; each orphan is then checked
again on its own before it is released (a guest defined, or a claim begun,
since the first reads keeps it).
"""

import dataclasses

from emuvirt.compute import reconcile
from emuvirt.scheduler.client import report

# What audit did or found for an orphan (Orphan.status).
FOUND = 'found'          # listed (dry run)
RELEASED = 'released'    # released now (--delete)
GONE = 'gone'            # released by someone else meanwhile
KEPT = 'kept'            # has a guest or a claim by now: left alone


@dataclasses.dataclass(frozen=True)
class Orphan(object):
    """An allocation of this host's provider that nothing accounts for."""

    uuid: str
    #: {resource class: amount} on this host's provider
    resources: dict
    status: str


def audit(api, delete=False):
    """The orphans on this host's provider; with ``delete``, released.

    A generator: an :class:`Orphan` per consumer, in UUID order, as each
    is done, so what was released before Placement went away is known.

    :param api: a :class:`~emuvirt.compute.api.ComputeAPI` (its driver,
        report client and ledger).
    :raises: PlacementNotConfigured; PlacementError (PlacementUnavailable,
        ProviderGone) when Placement cannot be used; LedgerError;
        HypervisorUnavailable when the guests cannot be listed.
    """
    client = api.reportclient
    if client is None:
        raise report.PlacementNotConfigured()
    allocations, _guests, decision = reconcile.read(
        client, client.provider_uuid, api.ledger, api.driver)
    for uuid in sorted(decision.orphans):
        status = FOUND
        if delete:
            status = _release(api, client, uuid)
        yield Orphan(uuid=uuid, resources=allocations[uuid], status=status)


def _release(api, client, uuid):
    # A create that began since the snapshots: its guest or claim wins.
    if (uuid in api.ledger.claims() or
            uuid in set(api.driver.list_instance_uuids())):
        return KEPT
    return RELEASED if client.release(uuid) else GONE

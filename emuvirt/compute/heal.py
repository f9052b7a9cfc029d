"""Heal allocations: claim again what this host's guests hold.

A guest whose allocation Placement lost (Placement redeployed empty or
restored from an old backup, an allocation deleted by hand, a guest made
while Placement was not configured) runs with resources Placement does
not count. The compute service reports such guests at every cycle
(:mod:`emuvirt.compute.reconcile`) and leaves them alone, as Nova's does;
``emuvirt-manage placement heal_allocations`` calls
:func:`heal_allocations`, as ``nova-manage placement heal_allocations``
does for Nova.

For each guest on this host (the driver's records), in UUID order:

* a guest with an allocation on this host's provider is left alone;
* a guest whose create is still running (a claim in flight in the
  Placement ledger) is left alone: the create claims for it;
* a guest whose create never finished (a stale claim) is left alone:
  ``emuvirt-compute`` removes it
  (:meth:`emuvirt.compute.api.ComputeAPI.remove_abandoned`);
* a guest with allocations on another provider only is not touched and
  counts as a failure: which one is right is for the operator to decide;
* any other guest gets the claim its create made
  (:func:`emuvirt.compute.api.claim_resources`, from the flavor its
  record keeps) on this host's provider.

The snapshots are read in the compute service's order: the provider's
allocations, the ledger, then the guests; each guest is then checked on
its own (``GET /allocations/{uuid}``) just before it is claimed, so a
create that claimed after the first read is seen. A claim Placement
refuses (the consumer has allocations by now, not enough free resources)
is a failure of that guest; the others are still healed.

The provider must exist: it is the compute service's to register, with
its inventory and traits (one writer), and a provider without inventory
takes no claim anyway. Without one, :class:`ProviderNotRegistered` says
to run ``emuvirt-compute`` first; nothing is claimed.
"""

import dataclasses
import typing

from emuvirt.compute import api as compute_api
from emuvirt import exception
from emuvirt.scheduler.client import report

# What heal_allocations did or found for a guest (Outcome.status).
HEALED = 'healed'            # claimed now
WOULD_HEAL = 'would heal'    # --dry-run: would be claimed
ALLOCATED = 'allocated'      # has its allocation on this host
IN_FLIGHT = 'in flight'      # its create runs and claims for it
ABANDONED = 'abandoned'      # its create never finished
GONE = 'gone'                # deleted while this ran
FAILED = 'failed'            # could not be healed (reason)


class ProviderNotRegistered(exception.PlacementError):
    msg_fmt = ("host %(host)s has no resource provider in the Placement "
               "of [placement]: run emuvirt-compute (or emuvirt-compute "
               "--once) first, which registers it with its inventory, then "
               "heal again")


class NeedsGuestRecords(exception.EmuvirtException):
    msg_fmt = ("placement heal_allocations needs a compute driver that "
               "keeps guest records (emuvirt or libvirt); option "
               "[DEFAULT]compute_driver is '%(name)s'")


@dataclasses.dataclass(frozen=True)
class Outcome(object):
    """What was done (or found) for one guest."""

    uuid: str
    name: str
    status: str
    #: {resource class: amount} claimed, or to claim with --dry-run
    resources: typing.Optional[dict] = None
    #: why a guest failed or was left alone
    reason: typing.Optional[str] = None


def heal_allocations(api, instance=None, dry_run=False):
    """Claim in Placement what the guests without an allocation hold.

    A generator: an :class:`Outcome` per guest, as each is done, so that
    what was healed before Placement went away is known.

    :param api: a :class:`~emuvirt.compute.api.ComputeAPI` (its driver,
        report client and ledger).
    :param instance: a guest's name or UUID: that guest only.
    :param dry_run: claim nothing; say what would be claimed.
    :raises: InstanceNotFound for an unknown ``instance``;
        PlacementNotConfigured; ProviderNotRegistered; PlacementError
        (PlacementUnavailable) when Placement cannot be used;
        NeedsGuestRecords; HypervisorUnavailable.
    """
    drv = api.driver
    if not hasattr(drv, 'find_instance'):
        raise NeedsGuestRecords(name=api.conf.compute_driver)
    client = api.reportclient
    if client is None:
        raise report.PlacementNotConfigured()
    wanted = None
    if instance is not None:
        wanted = drv.find_instance(instance, broken_ok=True).uuid
    rp = client.provider_uuid
    try:
        allocations = client.get_provider_allocations(rp)
    except report.ProviderGone:
        raise ProviderNotRegistered(host=client.nodename)
    ledger = api.ledger
    in_flight = ledger.claims_in_flight()
    stale = ledger.claims() - in_flight
    # By the domain's UUID and name: a broken record's may be unknown.
    guests = {guest.uuid: guest.name for guest, _rec in drv.list_guests()}
    if wanted is not None:
        if wanted not in guests:
            raise exception.InstanceNotFound(instance=instance)
        guests = {wanted: guests[wanted]}
    for uuid in sorted(guests):
        yield _heal_one(api, client, rp, uuid, guests[uuid],
                        allocations, in_flight, stale, dry_run)


def _heal_one(api, client, rp, uuid, name, allocations, in_flight, stale,
              dry_run):
    def outcome(status, **kwargs):
        return Outcome(uuid=uuid, name=name, status=status, **kwargs)

    if uuid in allocations:
        return outcome(ALLOCATED, resources=allocations[uuid])
    if uuid in in_flight:
        return outcome(IN_FLIGHT, reason='its create is still running')
    if uuid in stale:
        return outcome(ABANDONED, reason='its create never finished; '
                                         'emuvirt-compute removes it')
    # Claimed since the provider's allocations were read, or elsewhere?
    held = client.get_allocations(uuid)
    if rp in held:
        return outcome(ALLOCATED, resources=held[rp])
    if held:
        return outcome(FAILED, reason=(
            'it has allocations on resource provider(s) %s, not on this '
            "host's (%s); left alone" % (', '.join(sorted(held)), rp)))
    try:
        found = api.driver.find_instance(uuid)
    except exception.InstanceNotFound:
        return outcome(GONE, reason='deleted meanwhile')
    except exception.InstanceRecordBroken as e:
        return outcome(FAILED, reason=str(e))
    resources = compute_api.claim_resources(found)
    if dry_run:
        return outcome(WOULD_HEAL, resources=resources)
    try:
        client.claim(uuid, resources)
    except report.ClaimFailed as e:
        return outcome(FAILED, resources=resources, reason=str(e))
    return outcome(HEALED, resources=resources)

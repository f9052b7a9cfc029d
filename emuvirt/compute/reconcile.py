"""Reconciliation: this host's allocations in Placement against its guests.

A guest's resources are claimed before its domain is defined and released
after its domain is gone, by a process that may die in between (killed
mid-create or mid-delete) or find Placement down (a delete that could not
release). Every step that can leave an allocation without a guest is first
written to the Placement ledger (:mod:`emuvirt.compute.ledger`). The
compute service therefore compares, every cycle, three snapshots read in
this order:

1. the allocations on this host's resource provider (Placement);
2. the Placement ledger: claims in flight, whose creating process still
   runs, stale claims (it died), and releases owed by deletes (written
   before the delete undefines its guest, dropped once it released);
3. the guests on this host (the driver's ``list_instance_uuids()``:
   every emuvirt domain, those with a damaged record too, by the
   domain's UUID).

The order makes a concurrent ``emuvirt server create`` (ledger entry,
claim, define, ledger entry removed) safe: an allocation seen in (1)
belongs to a claim that was either still in the ledger when (2) was read,
or already ended, in which case its guest was defined before (3) was read
or its creator released the claim (or died, and its stale claim says so).

Only what the ledger accounts for is released: the allocation of a stale
claim or an owed release whose consumer has no guest in (3). An
allocation with no guest, no claim in flight and no ledger entry is an
*orphan*: emuvirt did not leave it (another tool did, or the guests
cannot be seen: ``[libvirt]connection_uri`` names the wrong or an empty
daemon). Orphans are only reported; ``emuvirt-manage placement audit``
lists them and, with ``--delete``, releases them (as Nova's compute
service, which never deletes allocations of consumers it does not know
are gone, and its ``nova-manage placement audit``).

:func:`decide` takes that decision on plain sets; :func:`read` reads the
snapshots in that order and decides, for the compute manager (which
carries the decision out) and for the audit command.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Decision:
    """What one reconciliation does, as sets of consumer UUIDs."""

    # Allocations of stale claims (their create died) with no guest:
    # released.
    stale: frozenset = frozenset()
    # Releases owed by deletes, their consumer without a guest: sent
    # (again: Placement may have released them meanwhile, a release of
    # nothing is fine).
    owed: frozenset = frozenset()
    # Allocations with no guest, no claim in flight and no ledger entry:
    # reported, never released here (emuvirt-manage placement audit).
    orphans: frozenset = frozenset()
    # Ledger entries to drop with nothing to release: stale claims whose
    # consumer has neither an allocation here nor a guest. (A stale claim
    # with a guest stays: it marks a create that never finished, whose
    # domain ComputeAPI.remove_abandoned removes; its allocation goes
    # after. An owed release with a guest stays too: a delete on its way,
    # or one whose process died before it undefined the guest.)
    settle: frozenset = frozenset()
    # Allocations without a guest kept for a claim in flight.
    in_flight: frozenset = frozenset()
    # Guests without an allocation on this host.
    unallocated: frozenset = frozenset()

    @property
    def release(self):
        """Every consumer whose allocations are released."""
        return self.stale | self.owed


def decide(allocations, claims_in_flight, stale_claims, owed_releases,
           guests):
    """Decide what to release, settle and report.

    Releases only what the ledger accounts for (stale claims and owed
    releases without a guest); a claim in flight is never touched;
    allocations with no guest and no ledger entry are reported as orphans.

    :param allocations: consumers with allocations on this host's provider.
    :param claims_in_flight: consumers whose claim is in flight (its
        creating process still runs).
    :param stale_claims: consumers with a claim entry whose process died.
    :param owed_releases: consumers with an owed release (a delete).
    :param guests: UUIDs of the guests on this host.
    :returns: a :class:`Decision`.
    """
    allocations, guests = set(allocations), set(guests)
    in_flight = set(claims_in_flight)
    # A consumer with a claim in flight is never touched, whatever else
    # the ledger says of it.
    owed = set(owed_releases) - in_flight - guests
    stale = set(stale_claims) - in_flight - guests
    unguested = allocations - guests - in_flight
    return Decision(
        stale=frozenset((unguested & stale) - owed),
        owed=frozenset(owed),
        orphans=frozenset(unguested - stale - owed),
        settle=frozenset(stale - allocations - owed),
        in_flight=frozenset((allocations - guests) & in_flight),
        unallocated=frozenset(guests - allocations - in_flight))


def read(reportclient, provider_uuid, ledger, driver):
    """Read the three snapshots, in the order above, and decide.

    :returns: (the provider's allocations as {consumer: {resource class:
        amount}}, the set of guest UUIDs, the :class:`Decision`).
    :raises: whatever reading a snapshot raises; nothing is decided then.
    """
    allocations = reportclient.get_provider_allocations(provider_uuid)
    claims = ledger.claims()
    in_flight = ledger.claims_in_flight()
    owed = ledger.owed_releases()
    guests = set(driver.list_instance_uuids())
    return allocations, guests, decide(allocations, in_flight,
                                       claims - in_flight, owed, guests)

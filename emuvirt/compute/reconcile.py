"""Reconciliation: this host's allocations in Placement against its guests.

A guest's resources are claimed before its domain is defined and released
after its domain is gone, by a process that may die in between (killed
mid-create) or find Placement down (a delete that could not release). The
compute service therefore compares, every cycle, three snapshots read in
this order:

1. the allocations on this host's resource provider (Placement);
2. the Placement ledger (:mod:`emuvirt.compute.ledger`): claims in flight,
   whose creating process still runs, stale claims (it died), and
   releases owed by deletes that could not send them;
3. the guests on this host (the driver's ``list_instance_uuids()``:
   every emuvirt domain, those with a damaged record too, by the
   domain's UUID).

The order makes a concurrent ``emuvirt server create`` (ledger entry,
claim, define, ledger entry removed) safe: an allocation seen in (1)
belongs to a claim that was either still in the ledger when (2) was read,
or already ended, in which case its guest was defined before (3) was read
or its creator released the claim (or died, and nothing will ever use
it). So an allocation is released only when its consumer has neither a
guest in (3) nor a claim in flight in (2).

:func:`decide` takes that decision on plain sets; the compute manager
reads the snapshots and carries it out.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Decision:
    """What one reconciliation does, as sets of consumer UUIDs."""

    # Allocations to release: no guest, no claim in flight (orphans).
    orphans: frozenset = frozenset()
    # Releases owed by deletes: sent again (Placement may have released
    # them meanwhile: a release of nothing is fine).
    owed: frozenset = frozenset()
    # Ledger entries to drop with nothing to release: stale claims whose
    # consumer has neither an allocation here nor a guest, owed releases
    # of a consumer that has a guest again. (A stale claim with a guest
    # stays: it marks a create that never finished, whose domain
    # ComputeAPI.remove_abandoned removes; its allocation goes after.)
    settle: frozenset = frozenset()
    # Allocations without a guest kept for a claim in flight.
    in_flight: frozenset = frozenset()
    # Guests without an allocation on this host.
    unallocated: frozenset = frozenset()

    @property
    def release(self):
        """Every consumer whose allocations are released."""
        return self.orphans | self.owed


def decide(allocations, claims_in_flight, stale_claims, owed_releases,
           guests):
    """Decide what to release, settle and report.

    :param allocations: consumers with allocations on this host's provider.
    :param claims_in_flight: consumers whose claim is in flight (its
        creating process still runs).
    :param stale_claims: consumers with a claim entry whose process died.
    :param owed_releases: consumers whose release a delete could not send.
    :param guests: UUIDs of the guests on this host.
    :returns: a :class:`Decision`.
    """
    allocations, guests = set(allocations), set(guests)
    in_flight = set(claims_in_flight)
    # A consumer with a claim in flight is never touched, whatever else
    # the ledger says of it.
    owed = set(owed_releases) - in_flight
    stale = set(stale_claims) - in_flight
    orphans = allocations - guests - in_flight
    owed_now = owed - guests
    return Decision(
        orphans=frozenset(orphans - owed_now),
        owed=frozenset(owed_now),
        settle=frozenset((stale - guests - orphans - owed_now) |
                         (owed & guests)),
        in_flight=frozenset((allocations - guests) & in_flight),
        unallocated=frozenset(guests - allocations - in_flight))

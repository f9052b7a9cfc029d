"""The compute service: keep this host's resource provider up to date.

:class:`ComputeManager` loads the driver named by
``[DEFAULT]compute_driver``, prepares the host (``init_host``), then every
``[compute]provider_update_interval`` seconds asks the driver to update
the host's provider tree (inventory and traits) and sends Placement what
changed. Then it reconciles the provider's allocations with the guests
(:mod:`emuvirt.compute.reconcile`): it releases the allocations the
Placement ledger accounts for (claims of creates whose process died,
releases owed by deletes) when their consumer has no guest on this host;
it logs, once per consumer, allocations with no guest, no claim in flight
and no ledger entry, naming ``emuvirt-manage placement audit``, which
lists and releases them (the service never does: seeing no guest may
mean ``[libvirt]connection_uri`` names the wrong daemon); and it logs
guests without allocations, naming
``emuvirt-manage placement heal_allocations``, which
claims for them (as Nova's compute service, it claims nothing itself:
:mod:`emuvirt.compute.heal`); before that it removes the domains of
creates whose process died before they finished (stale claims with a
domain, see
:meth:`emuvirt.compute.api.ComputeAPI.remove_abandoned`). A cycle that
fails, because libvirt or Placement is down, is logged and the service
carries on; the next cycle catches up, since nothing that failed to reach
Placement is taken as done, and nothing is released unless the guests
could be listed.

SIGTERM and SIGINT stop the loop between cycles (or interrupt the wait).
"""

import dataclasses
import signal
import threading
import time

import libvirt
from oslo_log import log as logging

from emuvirt.compute import api as compute_api
from emuvirt.compute import ledger as ledger_mod
from emuvirt.compute import reconcile
from emuvirt import exception
from emuvirt.scheduler.client import report
from emuvirt.virt import driver as virt_driver
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import machine_type
from emuvirt.virt import provider_tree as ptree

LOG = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ComputeManager(object):
    """Runs the periodic provider update for one host.

    :param conf: the configuration.
    :param driver: a ComputeDriver; default: load ``compute_driver``.
    :param reportclient: a ReportClient; default: from ``[placement]``
        (None when Placement is not configured: the driver is still
        exercised every cycle, and nothing is reported).
    :param host: this host's name, which is also its node and resource
        provider name; default ``[DEFAULT]host``.
    :param ledger: the Placement ledger; default: under
        ``[DEFAULT]state_path``.
    """

    def __init__(self, conf, driver=None, reportclient=None, host=None,
                 ledger=None):
        self.conf = conf
        self.host = host or conf.host
        self.driver = driver or virt_driver.load_compute_driver()
        if reportclient is None:
            reportclient = report.get_client(conf, nodename=self.host)
        self.reportclient = reportclient
        self.ledger = ledger or ledger_mod.Ledger.from_conf(conf)
        self._stop = threading.Event()
        self.cycles = 0
        self.failures = 0
        self._host_ready = False
        # The last reconciliation (a Reconciled), None before the first.
        self.reconciled = None
        self._reported_unallocated = set()
        self._reported_orphans = set()

    # -- lifecycle ----------------------------------------------------------

    def init_host(self):
        """Prepare the driver; True on success.

        Failure (libvirt down) is logged: the next cycle tries again.
        """
        try:
            self.driver.init_host(self.host)
            self._record_machine_types()
        except Exception as e:
            LOG.warning('Compute driver could not initialise host %s yet: '
                        '%s', self.host, e)
            return False
        self._host_ready = True
        if self.reportclient is None:
            LOG.warning('Placement is not configured ([placement]auth_type '
                        'unset): host %s reports no inventory or traits',
                        self.host)
        return True

    def _record_machine_types(self):
        """Record the machine type of guests that lack one (libvirt only)."""
        host = getattr(self.driver, 'host', None)
        if not isinstance(host, vhost.Host):
            return
        recorded = machine_type.record_missing(host)
        if recorded:
            LOG.info('Recorded the machine type of %d guest(s) that had '
                     'none: %s', len(recorded), ', '.join(
                         '%s=%s' % item for item in sorted(recorded.items())))

    def stop(self, *_args):
        """Ask the loop to stop (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self):
        return self._stop.is_set()

    # -- one cycle ------------------------------------------------------------

    def update_available_resource(self):
        """One cycle: update this host's provider; True if it went well.

        Never raises for an outage: libvirt or Placement errors are logged
        and the next cycle tries again.
        """
        self.cycles += 1
        if not self._host_ready and not self.init_host():
            self.failures += 1
            return False
        try:
            # One node per host, named after the host.
            self._update_node(self.host)
            self._reconcile(self.host)
        except report.PlacementUnavailable as e:
            self.failures += 1
            LOG.warning('Placement is unavailable; will retry: %s', e)
            return False
        except (libvirt.libvirtError,
                exception.HypervisorUnavailable) as e:
            self.failures += 1
            # Host reconnects by itself on the next call.
            LOG.warning('libvirt is unavailable; will retry: %s', e)
            return False
        except Exception as e:
            self.failures += 1
            LOG.warning('Updating the resources of %s failed; will retry: '
                        '%s', self.host, e, exc_info=not isinstance(
                            e, exception.EmuvirtException))
            return False
        return True

    def _update_node(self, nodename):
        def update(tree):
            self.driver.update_provider_tree(tree, nodename)

        if self.reportclient is None:
            tree = ptree.ProviderTree()
            tree.new_root(nodename, report.provider_uuid(nodename))
            update(tree)
            return
        self.reportclient.sync_provider(
            nodename, report.provider_uuid(nodename), update)

    # -- reconciliation -----------------------------------------------------

    def _reconcile(self, nodename):
        """Release what the ledger accounts for; report the rest.

        The three snapshots are read in the order
        :mod:`emuvirt.compute.reconcile` needs: allocations, ledger,
        guests. Any failure to read one of them releases nothing.
        """
        if self.reportclient is None:
            return
        # Domains of creates that never finished go first; their
        # allocations are then released like any other without a guest.
        abandoned = self._remove_abandoned()
        rp = report.provider_uuid(nodename)
        allocations, guests, decision = reconcile.read(
            self.reportclient, rp, self.ledger, self.driver)
        for uuid in sorted(decision.release):
            released = self.reportclient.release(uuid)
            self.ledger.settled(uuid)
            if uuid in decision.owed:
                LOG.info('Released the allocations of %s, which its delete '
                         'could not release%s', uuid,
                         '' if released else ' (none were left)')
            elif released:
                LOG.warning('Released the allocations of %s on %s: its '
                            'create never finished and no guest on this '
                            'host has them', uuid, nodename)
        self._report_orphans(decision.orphans, nodename)
        for uuid in sorted(decision.settle):
            self.ledger.settled(uuid)
            LOG.debug('Placement ledger: dropped the entries of %s; '
                      'nothing to release', uuid)
        unallocated = self._check_unallocated(decision.unallocated, rp)
        self.reconciled = Reconciled(
            allocations=len(allocations), guests=len(guests),
            released=len(decision.release),
            in_flight=len(decision.in_flight),
            orphans=len(decision.orphans),
            unallocated=len(unallocated), abandoned=len(abandoned))
        LOG.debug('Reconciled %s: %s', nodename, self.reconciled)

    def _report_orphans(self, orphans, nodename):
        """A warning for each orphan not reported yet by this process."""
        for uuid in sorted(orphans - self._reported_orphans):
            LOG.warning('Allocations of %s on %s have no guest on this '
                        'host, no claim in flight and no Placement ledger '
                        'entry: not released (is [libvirt]connection_uri '
                        'the right daemon?); list and release such '
                        'allocations with "emuvirt-manage placement audit '
                        '[--delete]"', uuid, nodename)
        self._reported_orphans |= orphans

    def _remove_abandoned(self):
        """Remove the domains of creates whose process died mid-way.

        See :meth:`emuvirt.compute.api.ComputeAPI.remove_abandoned`; only
        for drivers that can tell whether a domain exists.
        """
        # Most cycles have no stale claim: the object model ComputeAPI
        # loads to remove a domain (oslo.versionedobjects, eventlet...)
        # then stays out of the service's memory.
        if not hasattr(self.driver, 'domain_exists') or not (
                self.ledger.stale_claims()):
            return []
        return compute_api.ComputeAPI(
            self.conf, driver=self.driver, reportclient=self.reportclient,
            ledger=self.ledger).remove_abandoned()

    def _check_unallocated(self, candidates, rp):
        """The guests without allocations; a warning for each new one.

        A guest created between the reads may look unallocated; a guest
        not reported yet is therefore checked once more, on its own.
        """
        found = set()
        for uuid in sorted(candidates):
            if uuid not in self._reported_unallocated:
                if rp in self.reportclient.get_allocations(uuid):
                    continue
                LOG.warning('Guest %s on %s has no allocation in Placement: '
                            'its resources are not counted (created '
                            'without Placement, or its allocation was '
                            'removed); claim them with "emuvirt-manage '
                            'placement heal_allocations"', uuid, self.host)
            found.add(uuid)
        self._reported_unallocated = found
        return found

    # -- the loop -------------------------------------------------------------

    def run(self, once=False):
        """Run cycles until stopped; with ``once``, a single cycle.

        :returns: 0, or 1 when ``once`` and the cycle failed.
        """
        self.init_host()
        interval = self.conf.compute.provider_update_interval
        ok = True
        while not self.stopping:
            started = time.monotonic()
            ok = self.update_available_resource()
            if once:
                break
            elapsed = time.monotonic() - started
            self._stop.wait(max(0.0, interval - elapsed))
        LOG.info('Compute service on %s stopping after %d cycles',
                 self.host, self.cycles)
        try:
            self.driver.cleanup_host(self.host)
        except Exception as e:
            LOG.warning('Driver cleanup failed: %s', e)
        return 0 if ok or not once else 1

    def install_signal_handlers(self):
        for signum in STOP_SIGNALS:
            signal.signal(signum, self.stop)


@dataclasses.dataclass(frozen=True)
class Reconciled:
    """Counts of one reconciliation, for logs and status reports."""

    allocations: int   # consumers with allocations on this host
    guests: int        # guests on this host
    released: int      # allocations released (stale claims and owed)
    in_flight: int     # allocations without a guest kept for a claim
    unallocated: int   # guests without an allocation
    abandoned: int = 0  # domains of creates that never finished, removed
    orphans: int = 0   # allocations without guest or ledger entry, kept

    def __str__(self):
        return ('%d allocation(s), %d guest(s), %d released, %d kept for '
                'claims in flight, %d guest(s) without allocation, %d '
                'abandoned domain(s) removed, %d orphan(s) kept' % (
                    self.allocations, self.guests, self.released,
                    self.in_flight, self.unallocated, self.abandoned,
                    self.orphans))

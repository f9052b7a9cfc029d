"""The one owner of a guest's lifecycle: create, delete, power, queries.

``emuvirt server`` is a thin front for :class:`ComputeAPI`; the compute
service uses it too (:meth:`ComputeAPI.remove_abandoned`). It talks to the
compute driver's API only, and to Placement through the report client.

Create::

    name free? -> plan (every decision: bad input fails here, before
    anything is claimed) -> ledger.begin_claim -> Placement claim ->
    spawn (directory, disk, define, start) -> ledger.end_claim

Whatever stops a create after the claim began and before it is done (an
error, Ctrl-C, SIGTERM, a lost libvirt connection), what spawn made is
removed (by the driver's spawn, or here when the signal came as spawn
returned) and the claim is released, with SIGINT/SIGTERM held off
meanwhile (:func:`emuvirt.interrupt.shielded`); the error that stopped it
is the one raised. The create is done once its ledger entry is dropped
and the caller was told (``announce``), both with the signals deferred: a
create says it made a guest only if the guest stays. The claim request
itself runs with the signals deferred (:func:`emuvirt.interrupt.deferred`),
so an interrupted create always knows whether it holds an allocation: none
is left behind by a release racing a claim still on its way.

The Placement ledger (:mod:`emuvirt.compute.ledger`) tells the compute
service what a create or delete could not finish:

* the claim entry is written before the claim is sent and dropped only
  once the guest runs (``end_claim``), or when its create was undone
  (``settled``); while this process lives the claim is in flight;
* a create undone while libvirt stayed unreachable (longer than
  ``[libvirt]reconnect_timeout``) keeps its claim entry: once this
  process is gone it is a stale claim, meaning "a create that never
  finished", and :meth:`ComputeAPI.remove_abandoned` (called by the
  compute service) deletes a domain libvirt still has for it. A domain the
  daemon brings back is thus removed without anyone waiting for it;
* a release Placement did not take (it is down) is an owed release,
  which the compute service sends later.

Delete: ledger.owed_release -> destroy (through a daemon restart, see
``[libvirt]reconnect_timeout``) -> release -> ledger.settled, with the
signals deferred until all are done, so an interrupted delete never stops
half-way; the owed release is written first, so a delete whose process
dies between the undefine and the release leaves the compute service an
entry to finish it by (the service releases nothing the ledger does not
account for). A destroy that fails with the guest still there drops it.
"""

import dataclasses
import time
import typing

from oslo_log import log as logging

from emuvirt.compute import ledger as ledger_mod
from emuvirt import exception
from emuvirt import interrupt
from emuvirt.virt import driver as virt_driver

# The Placement client and the flavor -> resources translation are
# imported by what talks to Placement: listing guests needs neither.

LOG = logging.getLogger(__name__)

POLL_INTERVAL = 0.2

# What an interrupted create says it did (see emuvirt.interrupt.outcome).
UNDONE = 'removed what server create had made'


class NeedsLibvirtDriver(exception.EmuvirtException):
    msg_fmt = ("server commands need a libvirt compute driver; option "
               "[DEFAULT]compute_driver is '%(name)s'")


class NameInUse(exception.Invalid):
    msg_fmt = "server name '%(name)s': a guest of that name exists"


class StoppedBeforeText(exception.EmuvirtException):
    msg_fmt = ("%(name)s stopped before '%(text)s' showed on its console "
               "(see emuvirt server console-log %(name)s)")


@dataclasses.dataclass
class Created(object):
    """What :meth:`ComputeAPI.create` made."""

    instance: typing.Any
    #: the driver's GuestPlan (arch profile, machine, ...)
    plan: typing.Any
    #: False when Placement is not configured: nothing was claimed
    claimed: bool


@dataclasses.dataclass
class Deleted(object):
    """What :meth:`ComputeAPI.delete` did."""

    instance: typing.Any
    #: True: released; False: there was nothing to release; None: no
    #: Placement configured, or the release failed (see release_error)
    released: typing.Optional[bool] = None
    #: the PlacementError of a release that failed (it is owed now)
    release_error: typing.Optional[Exception] = None


@dataclasses.dataclass
class Details(object):
    """What :meth:`ComputeAPI.show` knows of a guest."""

    instance: typing.Any
    arch: str
    state: str
    console_log: str
    instance_dir: str
    #: the config drive file, None when the guest has none
    config_drive: typing.Optional[str] = None
    #: [(MAC, IP address)] from the DHCP leases of its networks
    addresses: typing.Sequence = ()


_UNSET = object()


def claim_resources(instance):
    """{resource class: amount} a guest's create claims in Placement.

    Its flavor's resources (:func:`request_filter.resources_from_flavor`);
    a guest booted from a kernel with no image has no root disk, so its
    DISK_GB counts only its ephemeral and swap disks (as Nova counts a
    guest booted from a volume). ``emuvirt-manage placement
    heal_allocations`` claims the same from the guest's record.
    """
    from emuvirt.scheduler import request_filter
    flavor = instance.flavor
    if not instance.image_path and flavor.root_gb:
        flavor = flavor.obj_clone()
        flavor.root_gb = 0
    return request_filter.resources_from_flavor(flavor)


class ComputeAPI(object):
    """Guests of this host.

    :param conf: the configuration.
    :param driver: a libvirt ComputeDriver; default: ``compute_driver``,
        loaded on first use.
    :param reportclient: a ReportClient, or None for no Placement;
        default: from ``[placement]`` on first use.
    :param ledger: the Placement ledger; default: under ``state_path``.
    """

    def __init__(self, conf, driver=None, reportclient=_UNSET, ledger=None):
        self.conf = conf
        self._driver = driver
        self._reportclient = reportclient
        self._ledger = ledger

    @property
    def driver(self):
        if self._driver is None:
            drv = virt_driver.load_compute_driver()
            if not hasattr(drv, 'find_instance'):
                raise NeedsLibvirtDriver(name=self.conf.compute_driver)
            self._driver = drv
        return self._driver

    @property
    def reportclient(self):
        if self._reportclient is _UNSET:
            from emuvirt.scheduler.client import report
            self._reportclient = report.get_client(
                self.conf, nodename=self.conf.host)
        return self._reportclient

    @property
    def ledger(self):
        if self._ledger is None:
            self._ledger = ledger_mod.Ledger.from_conf(self.conf)
        return self._ledger

    # -- create ---------------------------------------------------------------

    def create(self, instance, image_meta, network_info=None,
               announce=None):
        """Claim, define and start a guest; undo it all if that fails.

        The create is done once its claim entry is dropped and
        ``announce`` (if given) was called with the :class:`Created`
        (the CLI says there that it created the guest): an interruption
        until then undoes it all, even a guest spawn started already; one
        arriving meanwhile waits until it is done.

        :returns: :class:`Created`.
        :raises: NameInUse, the plan's refusals (before anything is
            claimed), ClaimFailed, PlacementError, the spawn's error, or
            the interruption (KeyboardInterrupt, Terminated) after
            undoing, with :func:`emuvirt.interrupt.outcome` saying what
            was undone (or that the create was done first).
        """
        from emuvirt.scheduler.client import report
        drv = self.driver
        if drv.domain_exists(instance.name):
            raise NameInUse(name=instance.name)
        # Every decision first: bad input fails before anything is claimed.
        plan = drv.plan_guest(instance, image_meta,
                              drv.networks_from_info(network_info))
        client = self.reportclient
        if client is not None:
            resources = claim_resources(instance)
        progress = _Progress()
        try:
            if client is not None:
                progress.claim = 'entry'
                self.ledger.begin_claim(instance.uuid)
                # Sent or not, never cut: its outcome must be known.
                with interrupt.deferred():
                    progress.claim = 'maybe'
                    try:
                        client.claim(instance.uuid, resources)
                    except report.ClaimFailed:
                        progress.claim = 'entry'
                        raise
                    progress.claim = 'held'
            progress.spawning = True
            drv.spawn(None, instance, image_meta, [], None, None,
                      network_info=network_info)
            # The guest runs. An interruption until the create is done
            # removes it (see _undo_create); while it finishes, one waits.
            created = Created(instance=instance, plan=plan,
                              claimed=client is not None)
            with interrupt.deferred():
                if client is not None:
                    self.ledger.end_claim(instance.uuid)
                if announce is not None:
                    announce(created)
                progress.done = True
        except BaseException as e:
            if progress.done:
                # Held until the create was done: the guest stays.
                if interrupt.is_interruption(e):
                    interrupt.set_outcome(
                        e, 'server create finished first: %s is created'
                        % instance.name)
                raise
            with interrupt.shielded():
                undone = self._undo_create(instance, client, progress)
            if interrupt.is_interruption(e):
                interrupt.set_outcome(e, undone)
            raise
        return created

    def _undo_create(self, instance, client, progress):
        """Release, record in the ledger; returns what was done (a line).

        A spawn that failed removed its domain and files already. A domain
        still there is deleted with its files: spawn made it (a name or
        UUID in use stops spawn before it defines anything), and either
        finished it (the interruption came after spawn, or as it
        returned: a signal is taken at the next Python call, which may be
        past spawn's own cleanup) or could not remove it.
        """
        uuid = instance.uuid
        gone = True
        if progress.spawning:
            try:
                if self.driver.domain_exists(uuid):
                    self.driver.destroy(None, instance)
                gone = not self.driver.domain_exists(uuid)
            except Exception as e:
                gone = False
                LOG.warning('Cannot tell whether the domain of %s is gone: '
                            '%s', instance.name, e)
        release_error = None
        if progress.claim in ('maybe', 'held'):
            try:
                client.release(uuid)
            except Exception as e:
                # Owed: the compute service sends it later.
                release_error = e
                LOG.info('Could not release the resources claimed for %s '
                         'yet: %s', instance.name, e)
        if progress.claim is not None:
            self._record_undo(uuid, gone, release_error)
        if not gone:
            return ('server create left domain %s defined (libvirt '
                    'unreachable); %s' % (
                        instance.name, 'emuvirt-compute removes it'
                        if progress.claim is not None else
                        "remove it with 'emuvirt server delete %s'"
                        % instance.name))
        if release_error is not None:
            return (UNDONE + '; emuvirt-compute releases its Placement '
                    'claim (Placement unreachable)')
        return UNDONE

    def _record_undo(self, uuid, gone, release_error):
        try:
            if release_error is not None:
                self.ledger.owed_release(uuid)
            if not gone:
                # A stale claim once this process is gone: a create that
                # never finished (see remove_abandoned).
                return
            if release_error is None:
                self.ledger.settled(uuid)
            else:
                self.ledger.end_claim(uuid)
        except Exception as e:
            LOG.warning('Placement ledger not updated for %s: %s', uuid, e)

    def wait(self, instance, text=None, timeout=300, poll=POLL_INTERVAL):
        """Wait until the guest runs, or with ``text`` shows it.

        :returns: the seconds waited.
        :raises: StoppedBeforeText, WaitTimeout.
        """
        drv = self.driver
        start = time.monotonic()
        deadline = start + timeout
        log = drv.get_console_log_path(instance) if text else None
        searcher = _Searcher(text, drv.clean_console_text) if text else None
        while True:
            running = drv.get_info(instance).state == virt_driver.RUNNING
            if searcher is None and running:
                return time.monotonic() - start
            if searcher is not None and searcher.feed(log):
                return time.monotonic() - start
            if searcher is not None and not running:
                raise StoppedBeforeText(name=instance.name, text=text)
            if time.monotonic() >= deadline:
                raise exception.WaitTimeout(
                    seconds=timeout, what="%s to %s" % (
                        instance.name, "show '%s' on its console" % text
                        if text else 'run'))
            time.sleep(poll)

    # -- delete ---------------------------------------------------------------

    def delete(self, name_or_uuid):
        """Destroy a guest, remove its files, release its resources.

        Once the guest is found, SIGINT/SIGTERM wait until both are done.
        A release Placement does not take is recorded as owed.

        :returns: :class:`Deleted`.
        """
        instance = self._find_any(name_or_uuid)
        # [placement] is read (and checked) before anything is deleted.
        client = self.reportclient
        result = Deleted(instance=instance)
        deleted = False
        try:
            with interrupt.deferred():
                if client is not None:
                    # Owed until released: a delete whose process dies
                    # between the undefine and the release leaves the
                    # compute service a ledger entry to finish it by.
                    self.ledger.owed_release(instance.uuid)
                try:
                    self.driver.destroy(None, instance)
                except BaseException:
                    if client is not None:
                        self._keep_if_still_there(instance)
                    raise
                deleted = True
                if client is not None:
                    self._release_deleted(result)
        except BaseException as e:
            if deleted and interrupt.is_interruption(e):
                interrupt.set_outcome(
                    e, 'server delete finished first: %s is deleted'
                    % instance.name)
            raise
        return result

    def _keep_if_still_there(self, instance):
        """A destroy failed: drop the owed release if the guest stays."""
        try:
            still_there = self.driver.domain_exists(instance.uuid)
        except Exception as e:
            LOG.warning('Cannot tell whether the domain of %s is gone '
                        '(its release stays owed): %s', instance.name, e)
            return
        if still_there:
            try:
                self.ledger.cancel_release(instance.uuid)
            except Exception as e:
                LOG.warning('Placement ledger not updated for %s: %s',
                            instance.uuid, e)

    def _release_deleted(self, result):
        uuid = result.instance.uuid
        try:
            result.released = self.reportclient.release(uuid)
        except exception.PlacementError as e:
            result.release_error = e
            LOG.debug('Release of %s failed: %s', uuid, e)
        try:
            if result.release_error is None:
                self.ledger.settled(uuid)
            else:
                self.ledger.owed_release(uuid)
        except Exception as e:
            LOG.warning('Placement ledger not updated for %s: %s', uuid, e)

    def remove_abandoned(self):
        """Delete the domains of creates that never finished.

        Such a create's claim entry outlived its process (a stale claim,
        see the module doc); a domain libvirt has for it is removed with
        its files. Allocations and ledger entries are left to the caller
        (the compute service releases allocations of consumers with no
        guest and no claim in flight).

        :returns: the UUIDs whose domain was removed.
        :raises: HypervisorUnavailable when libvirt cannot be reached.
        """
        removed = []
        for uuid in sorted(self.ledger.stale_claims()):
            if not self.driver.domain_exists(uuid):
                continue
            # The object model (oslo.versionedobjects, with oslo.messaging
            # and eventlet: ~15 MB) loads only when there is something to
            # remove, not in every cycle of the compute service.
            from emuvirt.objects import instance as instance_obj

            instance = instance_obj.Instance.new(uuid=uuid)
            LOG.warning('Removing domain %s: its create never finished',
                        uuid)
            self.driver.destroy(None, instance)
            removed.append(uuid)
        return removed

    # -- power ----------------------------------------------------------------

    def stop(self, name_or_uuid, timeout=None, retry_interval=0):
        """Power a guest off (cleanly first for ``timeout`` seconds).

        :returns: (Instance, whether it was running).
        """
        instance = self._find_any(name_or_uuid)
        if self.driver.get_info(instance).state == virt_driver.SHUTDOWN:
            return instance, False
        if timeout is None:
            timeout = self.conf.libvirt.shutdown_timeout
        self.driver.power_off(instance, timeout=timeout,
                              retry_interval=retry_interval)
        return instance, True

    def start(self, name_or_uuid):
        instance = self._find_any(name_or_uuid)
        self.driver.power_on(None, instance, None)
        return instance

    def reboot(self, name_or_uuid, hard=False, timeout=None):
        instance = self._find_any(name_or_uuid)
        if timeout is not None:
            self.conf.set_override('shutdown_timeout', int(timeout),
                                   'libvirt')
        self.driver.reboot(None, instance, None, 'HARD' if hard else 'SOFT')
        return instance

    # -- queries --------------------------------------------------------------

    def find(self, name_or_uuid):
        """The Instance of a guest (RecordBroken if it cannot be read)."""
        return self.driver.find_instance(name_or_uuid)

    def _find_any(self, name_or_uuid):
        """The Instance of a guest, even one whose record is damaged.

        For a damaged record it has only the domain's UUID and name:
        enough to power the guest or delete it.
        """
        return self.driver.find_instance(name_or_uuid, broken_ok=True)

    def list(self):
        """[(name, uuid, guest arch, state)] of emuvirt's guests.

        A guest deleted while it is listed is left out, as the driver
        leaves it out when it goes before its record is read; any other
        error propagates.
        """
        rows = []
        for guest, record in self.driver.list_guests():
            try:
                state = guest.get_power_state()
            except exception.GuestOperationFailed:
                if self.driver.domain_exists(guest.uuid):
                    raise
                LOG.debug('Skipping %s: deleted while listed', record.name)
                continue
            rows.append((record.name, record.uuid, record.guest_arch,
                         virt_driver.STATE_MAP.get(state, 'unknown')))
        return rows

    def show(self, name_or_uuid):
        """:class:`Details` of a guest."""
        drv = self.driver
        instance = drv.find_instance(name_or_uuid)
        return Details(
            instance=instance,
            arch=drv.guest_arch(instance.image_meta.properties),
            state=virt_driver.STATE_MAP.get(drv.get_info(instance).state,
                                            'unknown'),
            console_log=drv.get_console_log_path(instance),
            instance_dir=drv.instance_dir(instance),
            config_drive=drv.config_drive_path(instance),
            addresses=drv.get_interface_addresses(instance))

    def console(self, name_or_uuid):
        """An interactive session on a running guest's console.

        :returns: the driver's console session (``attach``, ``close``).
        """
        return self.driver.open_console(self._find_any(name_or_uuid))

    def console_output(self, name_or_uuid, lines=None):
        """The end of a guest's console log, the last ``lines`` only."""
        drv = self.driver
        text = drv.get_console_output(None, self._find_any(name_or_uuid))
        if lines:
            text = ''.join(text.splitlines(True)[-lines:])
        return text


class _Progress(object):
    """How far a create got, for undoing it."""

    def __init__(self):
        #: None: no ledger entry, no claim; 'entry': a ledger entry, no
        #: allocation; 'maybe': the claim was sent, its outcome unknown;
        #: 'held': claimed
        self.claim = None
        self.spawning = False
        #: the create is done: nothing is undone any more
        self.done = False


class _Searcher(object):
    """Finds a text in a growing file, reading each byte once."""

    def __init__(self, text, clean):
        self.needle = text.encode()
        self.clean = clean
        self.offset = 0
        self.tail = b''

    def feed(self, path):
        try:
            with open(path, 'rb') as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return False
        self.offset += len(data)
        window = self.tail + data
        # Keep enough to find a needle split across two reads.
        self.tail = window[-len(self.needle):]
        # Escapes (colours) may sit inside the text; match the clean form.
        return (self.needle in window or
                self.needle.decode() in self.clean(window))

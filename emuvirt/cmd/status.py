"""``emuvirt-status upgrade check``: is this host ready for an upgrade?

Usage::

    emuvirt-status [--config-file F] upgrade check [--json]

Run it on the compute host: it reads the guests from the libvirt daemon
of ``[libvirt]connection_uri`` and looks at this host's files. Checks (on
oslo.upgradecheck; exit code 0 success, 1 warning, 2 failure, 255 the
command itself failed):

* **Machine types recorded**: a warning lists the guests whose record has
  no machine type. Until emuvirt-compute (at start) or ``emuvirt-manage
  libvirt update_machine_type`` records one, such a guest takes its
  machine type from ``[libvirt]hw_machine_type`` when its XML is built
  again, so that option must not change yet.
* **Guest emulators**: a failure lists the guests whose architecture has
  no working emulator here any more: libvirt's capabilities no longer
  offer the arch (its QEMU package was removed), or the emulator file the
  guest's XML names is gone. Such a guest cannot start.
* **Guest records**: a warning lists the guests whose emuvirt record (in
  the domain's ``<metadata>``) cannot be read, each with the reason. The
  other checks leave them out: nothing about them can be known. Such a
  guest can still be stopped, started and deleted (``emuvirt server
  delete``).
* **Placement allocations**: with Placement configured, the allocations
  on this host's resource provider against the guests and the Placement
  ledger, as the compute service reconciles them
  (:mod:`emuvirt.compute.reconcile`), read only: a warning counts and
  names the allocations of creates that never finished and the releases
  owed by deletes (``emuvirt-compute`` releases both at its next cycle),
  the allocations with no guest, no claim in flight and no ledger entry
  (``emuvirt-manage placement audit`` lists and releases them), and the
  guests without an allocation (``emuvirt-manage
  placement heal_allocations`` claims for them). Placement unreachable,
  or no provider for this host yet, is a warning too.
"""

import os
import sys

import libvirt
from oslo_config import cfg
from oslo_upgradecheck import upgradecheck

from emuvirt import conf
from emuvirt import exception
from emuvirt import interrupt
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import machine_type
from emuvirt.virt.libvirt import records

PROG = 'emuvirt-status'
Code = upgradecheck.Code
Result = upgradecheck.Result


def _describe(guest):
    return '%s (%s)' % (guest.name, guest.uuid)


class Checks(upgradecheck.UpgradeCommands):
    """The emuvirt upgrade checks, against one libvirt daemon."""

    display_title = 'emuvirt upgrade check'

    def __init__(self, host=None):
        super().__init__()
        self._host = host

    @property
    def host(self):
        if self._host is None:
            self._host = vhost.Host()
        return self._host

    def _unreachable(self, error):
        return Result(Code.FAILURE, 'Cannot read the guests from libvirt: '
                      '%s' % error)

    def _check_machine_types(self):
        try:
            # Guests with a broken record: see _check_records.
            unset = machine_type.list_unset(self.host, broken=[])
        except (exception.HypervisorUnavailable, libvirt.libvirtError) as e:
            return self._unreachable(e)
        if not unset:
            return Result(Code.SUCCESS)
        return Result(Code.WARNING, (
            '%d guest(s) have no recorded machine type: %s. Start '
            'emuvirt-compute (it records them) or run "emuvirt-manage '
            'libvirt update_machine_type", and do not change '
            '[libvirt]hw_machine_type before "emuvirt-manage libvirt '
            'list_unset_machine_type" lists none.' % (
                len(unset), ', '.join(_describe(g) for g in unset))))

    def _emulator_problem(self, guest):
        guest_caps = self.host.get_guest_caps(guest.arch)
        if guest_caps is None:
            return ('libvirt offers no emulator for %s guests any more'
                    % guest.arch)
        emulator = guest.emulator or guest_caps.emulator
        if not emulator or not os.access(emulator, os.X_OK):
            return 'its emulator %s is missing' % emulator
        return None

    def _check_emulators(self):
        try:
            guests = records.list_guests(self.host, broken=[])
            problems = ['%s: %s' % (_describe(g), p) for g in guests
                        for p in [self._emulator_problem(g)] if p]
        except (exception.HypervisorUnavailable, libvirt.libvirtError) as e:
            return self._unreachable(e)
        if not problems:
            return Result(Code.SUCCESS)
        return Result(Code.FAILURE, (
            '%d guest(s) cannot start on this host: %s. Install the QEMU '
            'package of their architecture (qemu-system-*) and restart the '
            'libvirt daemon.' % (len(problems), '; '.join(problems))))

    def _check_records(self):
        broken = []
        try:
            records.list_guests(self.host, broken)
        except (exception.HypervisorUnavailable, libvirt.libvirtError) as e:
            return self._unreachable(e)
        if not broken:
            return Result(Code.SUCCESS)
        return Result(Code.WARNING, (
            '%d guest(s) have an emuvirt record that cannot be read: %s. '
            'emuvirt can neither rebuild nor change them; they can '
            'still be stopped, started and deleted ("emuvirt server '
            'delete").' % (
                len(broken), '; '.join(
                    '%s: %s' % (_describe(g), g.record.reason)
                    for g in broken))))

    def _check_allocations(self):
        # Imported here: only this check talks to Placement.
        from emuvirt.compute import ledger as ledger_mod
        from emuvirt.compute import reconcile
        from emuvirt.scheduler.client import report

        try:
            client = report.get_client(conf.CONF)
            if client is None:
                return Result(Code.SUCCESS, 'Placement is not configured '
                              '([placement]auth_type is unset): nothing '
                              'to check.')
            allocations = client.get_provider_allocations()
        except report.ProviderGone:
            return Result(Code.WARNING, (
                'Host %s has no resource provider in Placement: start '
                'emuvirt-compute, which registers it.' % conf.CONF.host))
        except exception.EmuvirtException as e:
            return Result(Code.WARNING, 'Cannot read the allocations of '
                          'this host from Placement: %s' % e)
        try:
            ledger = ledger_mod.Ledger.from_conf(conf.CONF)
            claims = ledger.claims()
            in_flight = ledger.claims_in_flight()
            owed = ledger.owed_releases()
        except ledger_mod.LedgerError as e:
            return Result(Code.WARNING, str(e))
        broken = []
        try:
            guests = records.list_guests(self.host, broken) + broken
        except (exception.HypervisorUnavailable, libvirt.libvirtError) as e:
            return self._unreachable(e)
        names = {g.uuid: _describe(g) for g in guests}
        decision = reconcile.decide(allocations, in_flight,
                                    claims - in_flight, owed, names)
        problems = []
        if decision.stale:
            problems.append('%d allocation(s) of creates that never '
                            'finished: %s' % (
                                len(decision.stale),
                                ', '.join(sorted(decision.stale))))
        if decision.orphans:
            problems.append('%d allocation(s) have no guest on this host, '
                            'no claim in flight and no ledger entry (list '
                            'and release them with "emuvirt-manage '
                            'placement audit"): %s' % (
                                len(decision.orphans),
                                ', '.join(sorted(decision.orphans))))
        if decision.owed:
            problems.append('%d release(s) owed by deletes that could not '
                            'reach Placement: %s' % (
                                len(decision.owed),
                                ', '.join(sorted(decision.owed))))
        if decision.unallocated:
            problems.append('%d guest(s) have no allocation in Placement '
                            '(claim them with "emuvirt-manage placement '
                            'heal_allocations"): %s' % (
                                len(decision.unallocated), ', '.join(
                                    sorted(names[u]
                                           for u in decision.unallocated))))
        summary = ('%d allocation(s), %d guest(s), %d claim(s) in flight'
                   % (len(allocations), len(guests),
                      len(decision.in_flight)))
        if not problems:
            return Result(Code.SUCCESS, summary + '.')
        return Result(Code.WARNING, '%s; %s.%s' % (
            summary, '; '.join(problems),
            ' emuvirt-compute releases the allocations of creates that '
            'never finished and owed releases at its next cycle: is it '
            'running?'
            if decision.release else ''))

    _upgrade_checks = (
        ('Machine types recorded', _check_machine_types),
        ('Guest emulators', _check_emulators),
        ('Guest records', _check_records),
        ('Placement allocations', _check_allocations),
    )


def _run_checks():
    return Checks().check()


def _add_parsers(subparsers):
    upgrade = subparsers.add_parser('upgrade')
    upgrade.add_argument('check', choices=('check',))
    upgrade.add_argument('--json', action='store_true',
                         help='print the results as JSON')
    upgrade.set_defaults(action_fn=_run_checks)


COMMAND_OPT = cfg.SubCommandOpt('command', handler=_add_parsers)


def main(argv=None):
    return interrupt.run_command(PROG, lambda: _main(argv))


def _main(argv):
    argv = sys.argv if argv is None else argv
    # The sub-command is registered for this run only, so that it never
    # becomes a required argument of another parse in the same process.
    conf.CONF.register_cli_opt(COMMAND_OPT)
    try:
        conf.parse_args(argv, prog=PROG)
        # oslo.upgradecheck reads --json from its module's CONF.
        upgradecheck.CONF = conf.CONF
        return upgradecheck.run(conf.CONF)
    except exception.EmuvirtException as e:
        print('%s: error: %s' % (PROG, e), file=sys.stderr)
        return 255
    finally:
        conf.CONF.clear()
        conf.CONF.unregister_opt(COMMAND_OPT)


if __name__ == '__main__':
    sys.exit(main())

"""``emuvirt-manage``: operator commands on the guests of this host.

Usage::

    emuvirt-manage [--config-file F] libvirt get_machine_type INSTANCE
    emuvirt-manage [--config-file F] libvirt update_machine_type \\
        INSTANCE MACHINE_TYPE [--force]
    emuvirt-manage [--config-file F] libvirt list_unset_machine_type
    emuvirt-manage [--config-file F] image_property show INSTANCE PROPERTY
    emuvirt-manage [--config-file F] image_property set INSTANCE \\
        --property NAME=VALUE [--property ...]
    emuvirt-manage [--config-file F] placement heal_allocations \\
        [--dry-run] [--instance INSTANCE] [--verbose]
    emuvirt-manage [--config-file F] placement audit [--verbose] [--delete]

``image_property set`` changes the record of a stopped guest; the guest's
definition is rebuilt from it at its next hard reboot (``emuvirt server
reboot --hard``). Values that guest could not be rebuilt with (a model its
arch does not offer) are refused at once, naming the property.

INSTANCE is a domain name or UUID. The commands, their meanings and exit
codes follow ``nova-manage``'s (doc/source/admin/machine-types.rst): 0
success, 1 an unexpected error, 2 no such instance, then one code per
refusal. A command line that does not parse exits with 127 (nova-manage's
"invalid input"), so that it is never mistaken for "no such instance".
A guest whose emuvirt record cannot be read is refused with one line
naming the reason (status 1), and listed on stderr with it by
``list_unset_machine_type``, which carries on with the others.

``placement heal_allocations`` claims in Placement, on this host's
resource provider, what each guest without an allocation holds (its
flavor, as its create claimed it; see :mod:`emuvirt.compute.heal`). Its
exit codes are ``nova-manage placement heal_allocations``'s: 0
allocations were created, 3 some guest could not be healed or Placement
could not be used (unreachable, not configured, no provider for this
host yet), 4 nothing to heal (always with ``--dry-run``, unless 3); and
emuvirt-manage's 1 (unexpected error), 2 (``--instance`` names no guest)
and 127.

``placement audit`` lists the allocations on this host's resource
provider with no guest on this host, no claim in flight and no Placement
ledger entry, which the compute service reports and keeps (see
:mod:`emuvirt.compute.audit`); ``--delete`` releases them. Its exit codes
are ``nova-manage placement audit``'s: 0 no such allocation, 3 some were
found (and not all released), 4 all that were found were released
(``--delete``), 1 an error (Placement or libvirt unreachable, Placement
not configured: one line naming the section), 127 invalid input.
"""

import argparse
import sys
import traceback

import libvirt

from emuvirt.cmd import common
from emuvirt import conf
from emuvirt import exception
from emuvirt import interrupt
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import image_props
from emuvirt.virt.libvirt import machine_type

PROG = 'emuvirt-manage'

SUCCESS = 0
ERROR = 1
NOT_FOUND = 2
USAGE_ERROR = 127


class _Parser(argparse.ArgumentParser):
    """argparse, exiting with USAGE_ERROR instead of 2 ("not found")."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, '%s: error: %s\n' % (self.prog, message))


def _err(message):
    print(message, file=sys.stderr)


# -- libvirt ----------------------------------------------------------------

def get_machine_type(host, args):
    """0 recorded (printed), 2 no such instance, 3 none recorded."""
    current = machine_type.get(host, args.instance)
    if not current.recorded:
        _err(str(machine_type.MachineTypeNotRecorded(
            instance=args.instance, xml_machine=current.name or 'nothing')))
        return 3
    print(current.name)
    return SUCCESS


def update_machine_type(host, args):
    """0 updated, 2 no such instance, 3 not stopped, 4 refused, 5 unknown."""
    try:
        new, old = machine_type.update(host, args.instance,
                                       args.machine_type, force=args.force)
    except exception.InstanceInvalidState as e:
        _err(str(e))
        return 3
    except machine_type.MachineTypeUpdateInvalid as e:
        _err(str(e))
        return 4
    except machine_type.MachineTypeUnsupported as e:
        _err(str(e))
        return 5
    if new == old:
        print('Machine type of %s is already %s' % (args.instance, new))
    else:
        print('Updated the machine type of %s from %s to %s'
              % (args.instance, old, new))
    return SUCCESS


def list_unset_machine_type(host, args):
    """0 every guest has one, 3 some have none (their UUIDs printed).

    A guest whose record cannot be read has no machine type emuvirt can
    read: it is named on stderr with the reason, and the status is 3.
    """
    broken = []
    unset = machine_type.list_unset(host, broken)
    for guest in unset:
        print(guest.uuid)
    for guest in broken:
        _err(_broken_line(guest))
    return 3 if unset or broken else SUCCESS


def _broken_line(guest):
    return ('%s (%s): its emuvirt record cannot be read: %s'
            % (guest.name, guest.uuid, guest.record.reason))


# -- image_property ----------------------------------------------------------

def show_image_property(host, args):
    """0 printed, 2 no such instance, 3 not set."""
    try:
        print(image_props.show(host, args.instance, args.property))
    except image_props.ImagePropertyNotSet as e:
        _err(str(e))
        return 3
    return SUCCESS


def set_image_property(host, args):
    """0 set, 2 no such instance, 3 not stopped, 4 bad name, 5 bad value."""
    try:
        props = common.parse_properties(args.property)
    except common.CommandError as e:
        _err(str(e))
        return 4
    # Loaded for this command only: it brings the driver's modules.
    from emuvirt.virt import driver as virt_driver
    drv = virt_driver.load_compute_driver(read_only=True)
    try:
        # Values the guest could not be rebuilt with are refused now.
        stored = image_props.set(host, args.instance, props,
                                 check=getattr(drv, 'plan_rebuild', None))
    except exception.InstanceInvalidState as e:
        _err(str(e))
        return 3
    except image_props.ImagePropertyNameInvalid as e:
        _err(str(e))
        return 4
    except exception.Invalid as e:
        # A bad value, or one the guest's arch does not take.
        _err(str(e))
        return 5
    finally:
        _close(drv)
    for name in sorted(stored):
        print('Image property %s of %s set to %s'
              % (name, args.instance, stored[name]))
    print('It takes effect at the next hard reboot: emuvirt server reboot '
          '--hard %s' % args.instance)
    return SUCCESS


# -- placement ---------------------------------------------------------------

# heal_allocations: nova-manage's codes.
HEALED = 0
NOT_HEALED = 3
NOTHING_TO_HEAL = 4


def heal_allocations(host, args):
    """0 healed, 2 no such instance, 3 some not healed, 4 nothing to do.

    3 also when Placement cannot be used: not configured, unreachable, or
    without a provider for this host (emuvirt-compute registers it).
    """
    # Loaded for this command only: Placement's client, the driver.
    from emuvirt.compute import api as compute_api
    from emuvirt.compute import heal
    from emuvirt.scheduler.client import report
    from emuvirt.virt import driver as virt_driver

    drv = virt_driver.load_compute_driver(read_only=True)
    api = compute_api.ComputeAPI(conf.CONF, driver=drv)
    count = {heal.HEALED: 0, heal.WOULD_HEAL: 0, heal.FAILED: 0}
    try:
        for done in heal.heal_allocations(api, instance=args.instance,
                                          dry_run=args.dry_run):
            _heal_line(done, args.verbose)
            if done.status in count:
                count[done.status] += 1
    except report.PlacementUnavailable as e:
        healed = count[heal.HEALED]
        _placement_unreachable(e, '%d guest(s) healed before that' % healed
                               if healed else 'nothing was claimed')
        return NOT_HEALED
    except exception.PlacementError as e:
        _err('%s: error: %s' % (PROG, e))
        return NOT_HEALED
    finally:
        _close(drv)
    failed = count[heal.FAILED]
    if args.verbose and args.dry_run:
        print('Dry run: %d guest(s) would be healed, %d could not be; '
              'nothing was claimed' % (count[heal.WOULD_HEAL], failed))
    elif args.verbose:
        print('%d guest(s) healed, %d could not be'
              % (count[heal.HEALED], failed))
    if failed:
        return NOT_HEALED
    return HEALED if count[heal.HEALED] else NOTHING_TO_HEAL


# audit: nova-manage's codes.
NO_ORPHANS = 0
ORPHANS_FOUND = 3
ORPHANS_DELETED = 4


def audit(host, args):
    """0 none, 3 found (not all released), 4 all found released.

    1 when Placement cannot be used (not configured, unreachable, no
    provider for this host) or the guests cannot be listed.
    """
    from emuvirt.compute import api as compute_api
    from emuvirt.compute import audit as audit_mod
    from emuvirt.scheduler.client import report
    from emuvirt.virt import driver as virt_driver

    drv = virt_driver.load_compute_driver(read_only=True)
    api = compute_api.ComputeAPI(conf.CONF, driver=drv)
    found = released = 0
    try:
        for orphan in audit_mod.audit(api, delete=args.delete):
            found += 1
            released += orphan.status in (audit_mod.RELEASED,
                                          audit_mod.GONE)
            _audit_line(orphan)
    except report.ProviderGone:
        _err('%s: error: host %s has no resource provider in the '
             'Placement of [placement]: nothing to audit' % (
                 PROG, conf.CONF.host))
        return ERROR
    except report.PlacementUnavailable as e:
        _placement_unreachable(e, '%d allocation(s) released before that'
                               % released if released
                               else 'nothing was released')
        return ERROR
    except exception.PlacementError as e:
        _err('%s: error: %s' % (PROG, e))
        return ERROR
    finally:
        _close(drv)
    if args.verbose:
        print('%d allocation(s) without a guest or ledger entry found, %d '
              'released' % (found, released))
    if not found:
        return NO_ORPHANS
    return ORPHANS_DELETED if released == found else ORPHANS_FOUND


def _placement_unreachable(error, so_far):
    """The one line of a placement command whose Placement went away."""
    _err('%s: error: Placement cannot be reached (see [placement]), %s: %s'
         % (PROG, so_far, error.kwargs.get('reason', error)))


def _audit_line(orphan):
    from emuvirt.compute import audit as audit_mod

    line = '%s %s' % (orphan.uuid, _resources(orphan.resources))
    if orphan.status == audit_mod.RELEASED:
        line += ': released'
    elif orphan.status == audit_mod.GONE:
        line += ': released meanwhile'
    elif orphan.status == audit_mod.KEPT:
        line += ': kept (a guest or a claim appeared meanwhile)'
    print(line)


def _heal_line(done, verbose):
    from emuvirt.compute import heal

    who = '%s (%s)' % (done.name, done.uuid)
    if done.status in (heal.HEALED, heal.WOULD_HEAL):
        print('%s %s on this host for %s' % (
            'Claimed' if done.status == heal.HEALED else 'Would claim',
            _resources(done.resources), who))
    elif done.status == heal.FAILED:
        _err('%s: cannot heal %s: %s' % (PROG, who, done.reason))
    elif verbose and done.status == heal.ALLOCATED:
        print('%s has its allocation (%s): left alone'
              % (who, _resources(done.resources)))
    elif verbose:
        print('%s: %s: left alone' % (who, done.reason))


def _resources(resources):
    return ', '.join('%s=%s' % item for item in sorted(resources.items()))


def _close(drv):
    """Close the driver's libvirt connection, if it has one."""
    # The fake driver's ``host`` is a host name, or None.
    close = getattr(getattr(drv, 'host', None), 'close', None)
    if close is not None:
        close()


# -- the command line --------------------------------------------------------

def _category(subparsers, name, text):
    parser = subparsers.add_parser(name, help=text, description=text)
    actions = parser.add_subparsers(dest='action', metavar='ACTION',
                                    parser_class=_Parser)
    actions.required = True
    return actions


def _action(actions, name, func, text):
    parser = actions.add_parser(name, help=text, description=text)
    parser.set_defaults(func=func)
    return parser


def build_parser():
    parser = _Parser(prog=PROG, description='Manage the emuvirt guests of '
                                            'this host.')
    common.add_config_arguments(parser)
    categories = parser.add_subparsers(dest='category', metavar='CATEGORY',
                                       parser_class=_Parser)
    categories.required = True

    lv = _category(categories, 'libvirt', 'machine types of guests')
    p = _action(lv, 'get_machine_type', get_machine_type,
                'print the recorded machine type of a guest')
    p.add_argument('instance', metavar='INSTANCE', help='name or UUID')
    p = _action(lv, 'update_machine_type', update_machine_type,
                'change the machine type of a stopped guest')
    p.add_argument('instance', metavar='INSTANCE', help='name or UUID')
    p.add_argument('machine_type', metavar='MACHINE_TYPE',
                   help='e.g. virt-7.2, pc-q35-7.2, pseries-7.2')
    p.add_argument('--force', action='store_true',
                   help='skip the compatibility checks (family, alias or '
                        'versioned, lower version); the guest must still '
                        'be stopped and the machine offered')
    _action(lv, 'list_unset_machine_type', list_unset_machine_type,
            'print the UUIDs of guests with no recorded machine type')

    ip = _category(categories, 'image_property',
                   'image properties recorded for guests')
    p = _action(ip, 'show', show_image_property,
                'print a recorded image property of a guest')
    p.add_argument('instance', metavar='INSTANCE', help='name or UUID')
    p.add_argument('property', metavar='PROPERTY',
                   help='e.g. hw_disk_bus')
    p = _action(ip, 'set', set_image_property,
                'set recorded image properties of a stopped guest (used '
                'from its next hard reboot)')
    p.add_argument('instance', metavar='INSTANCE', help='name or UUID')
    p.add_argument('--property', metavar='NAME=VALUE', action='append',
                   required=True, help='repeatable')

    pl = _category(categories, 'placement',
                   "this host's guests in Placement")
    p = _action(pl, 'heal_allocations', heal_allocations,
                'claim in Placement, on this host\'s resource provider, '
                'what each guest without an allocation holds (its flavor)')
    p.add_argument('--dry-run', action='store_true',
                   help='claim nothing; print what would be claimed '
                        '(exit code 4)')
    p.add_argument('--instance', metavar='INSTANCE',
                   help='that guest only (name or UUID)')
    p.add_argument('--verbose', action='store_true',
                   help='also name the guests left alone, and count')
    p = _action(pl, 'audit', audit,
                "list the allocations on this host's resource provider "
                'with no guest here, no claim in flight and no ledger '
                'entry (the compute service keeps them)')
    p.add_argument('--delete', action='store_true',
                   help='release them (exit code 4 when all were)')
    p.add_argument('--verbose', action='store_true',
                   help='also count')
    return parser


def main(argv=None):
    return interrupt.run_command(PROG, lambda: _main(argv))


def _main(argv):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        common.load_config(args, PROG)
        host = vhost.Host()
        try:
            return args.func(host, args)
        finally:
            host.close()
    except exception.InstanceNotFound as e:
        _err(str(e))
        return NOT_FOUND
    except (exception.EmuvirtException, libvirt.libvirtError) as e:
        _err('%s: error: %s' % (PROG, e))
        return ERROR
    except Exception:
        _err('%s: unexpected error:\n%s' % (PROG, traceback.format_exc()))
        return ERROR


if __name__ == '__main__':
    sys.exit(main())

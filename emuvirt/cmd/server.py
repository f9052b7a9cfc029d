"""``emuvirt server``: create, list, show, console, power, delete guests.

Every guest is a libvirt domain with the emuvirt record in its metadata,
so these commands work from any process with no database of their own.
NAME is a guest's name or UUID; domains emuvirt did not define are never
touched.

With Placement configured (``[placement]auth_type``), ``create`` claims the
flavor's resources for the guest before defining it and ``delete``
releases them; a create that fails or is interrupted releases its claim
too. Without Placement it creates the guest with no claim and says so.

This module parses arguments and prints; what happens to a guest is
:class:`emuvirt.compute.api.ComputeAPI`'s.
"""

import os
import sys

from emuvirt import checks
from emuvirt.cmd import common
from emuvirt.compute import api as compute_api
from emuvirt import conf
from emuvirt import exception
from emuvirt.virt import driver as virt_driver

CONF = conf.CONF

DEFAULT_WAIT_TIMEOUT = 300
# stop: repeat the power-off request this often (a guest still booting may
# miss the first one).
STOP_RETRY_INTERVAL = 10


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'server', help='create and manage guests',
        description='Create and manage guests. NAME is a name or a UUID.')
    actions = parser.add_subparsers(dest='action', metavar='ACTION')
    actions.required = True

    create = actions.add_parser('create', help='create and start a guest')
    create.add_argument('name', metavar='NAME',
                        help='guest name (letters, digits, . _ + -)')
    common.add_image_arguments(create)
    create.add_argument('--user-data', metavar='FILE',
                        help='user data for the guest (cloud-init), on '
                             'its config drive')
    create.add_argument('--ssh-key', metavar='FILE',
                        help='OpenSSH public key file (one line), on the '
                             "guest's config drive as keypair 'default'")
    create.add_argument('--config-drive', action='store_true',
                        help='give the guest a config drive even without '
                             '--user-data or --ssh-key')
    create.add_argument('--network', metavar='NAME',
                        help='attach the NIC to the libvirt network NAME '
                             '(it must be active; default: '
                             '[libvirt]network_name if active, else '
                             'user-mode networking)')
    create.add_argument('--mac', metavar='MAC',
                        help='with --network: the MAC address of the NIC '
                             '(default: one libvirt picks)')
    create.add_argument('--wait', action='store_true',
                        help='wait until the guest runs')
    create.add_argument('--wait-for', metavar='TEXT',
                        help='with --wait: also wait until TEXT shows on '
                             'the console')
    create.add_argument('--timeout', metavar='S', type=_seconds,
                        default=DEFAULT_WAIT_TIMEOUT,
                        help='give up waiting after S seconds (default '
                             '%d)' % DEFAULT_WAIT_TIMEOUT)
    create.set_defaults(server_func=_create)

    actions.add_parser('list', help='list guests').set_defaults(
        server_func=_list)

    def with_name(action, func, help):
        sub = actions.add_parser(action, help=help)
        sub.add_argument('name', metavar='NAME')
        sub.set_defaults(server_func=func)
        return sub

    with_name('show', _show, 'show a guest')
    with_name('console', _console,
              "attach to a guest's console (leave with Ctrl-])")
    log = with_name('console-log', _console_log,
                    "print the end of a guest's console log")
    log.add_argument('--lines', metavar='N', type=_positive,
                     help='only the last N lines')
    stop = with_name('stop', _stop, 'power a guest off')
    reboot = with_name('reboot', _reboot, 'reboot a guest')
    reboot.add_argument('--hard', action='store_true',
                        help='reset at once rather than shut down first')
    for sub in (stop, reboot):
        sub.add_argument('--timeout', metavar='S', type=_seconds,
                         help='seconds the guest gets to power off before '
                              'it is destroyed (default [libvirt]'
                              'shutdown_timeout)')
    with_name('start', _start, 'power a guest on')
    with_name('delete', _delete, 'delete a guest and its files')
    parser.set_defaults(func=run)


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(text)
    return value


_positive.__name__ = 'positive integer'


def _seconds(text):
    value = float(text)
    if value < 0:
        raise ValueError(text)
    return value


_seconds.__name__ = 'number of seconds'


def run(args):
    """Run the chosen action; libvirt and OS errors become one line."""
    try:
        return args.server_func(compute_api.ComputeAPI(CONF), args)
    except OSError as e:
        raise common.CommandError(reason=str(e))
    except Exception as e:
        # A libvirtError, named without importing libvirt here: if the
        # module was never imported, no error of its can occur.
        libvirt = sys.modules.get('libvirt')
        if libvirt is not None and isinstance(e, libvirt.libvirtError):
            raise common.CommandError(reason='libvirt: %s' % e)
        raise


def _note(text):
    print('emuvirt: note: %s' % text, file=sys.stderr)


# -- create -------------------------------------------------------------------

def _check_name(name):
    return checks.check_name(name, 'server name')


def _create(api, args):
    if args.wait_for is not None and not args.wait:
        raise common.CommandError(reason='--wait-for needs --wait')
    name = _check_name(args.name)
    instance, image_meta = common.build_instance(args, name=name,
                                                 name_arg='server name')
    _config_drive(instance, args)
    network_info = _network_info(args)

    def announce(created):
        # Said before create returns: an interruption that comes before
        # this removes the guest, one after it keeps it.
        if not created.claimed:
            _note('no Placement configured ([placement]auth_type is '
                  'unset): no resources claimed for %s' % name)
        print('created %s: %s, %s guest, machine %s'
              % (name, instance.uuid, created.plan.profile.arch,
                 created.plan.machine))
    try:
        api.create(instance, image_meta, network_info, announce=announce)
    except exception.InvalidNetworkInfo as e:
        raise common.CommandError(reason='--mac %s: %s' % (
            args.mac, e.kwargs['reason']))
    except exception.NetworkNotFound:
        raise common.CommandError(
            reason="--network %s: the libvirt daemon has no active network "
                   "of that name" % args.network)
    if args.wait:
        # Shown as it happens: the wait may be long.
        sys.stdout.flush()
        waited = api.wait(instance, args.wait_for, args.timeout)
        if args.wait_for:
            print("%s: '%s' on the console after %.1f s"
                  % (name, args.wait_for, waited))
        else:
            print('%s is running' % name)
    return 0


def _network_info(args):
    """--network/--mac as a list shaped like Nova's network_info."""
    if args.network is None:
        if args.mac is not None:
            raise common.CommandError(reason='--mac needs --network')
        return None
    if not args.network.strip():
        raise common.CommandError(reason='--network: give a network name')
    vif = {'network': {'label': args.network}}
    if args.mac is not None:
        vif['address'] = args.mac
    return [vif]


def _read(path, arg):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError as e:
        raise common.CommandError(reason='%s %s: cannot read: %s' % (
            arg, path, e.strerror or e))


def _config_drive(instance, args):
    """Check --user-data and --ssh-key into the instance.

    The guest gets a config drive with either, or with --config-drive.
    """
    from emuvirt.virt import configdrive

    try:
        if args.user_data is not None:
            instance.user_data = configdrive.check_user_data(
                _read(args.user_data, '--user-data'))
    except exception.Invalid as e:
        if isinstance(e, common.CommandError):
            raise
        raise common.CommandError(reason='--user-data %s: %s' % (
            args.user_data, e))
    try:
        if args.ssh_key is not None:
            data = _read(args.ssh_key, '--ssh-key')
            try:
                text = data.decode('ascii')
            except UnicodeDecodeError:
                raise configdrive.InvalidPublicKey(
                    reason='not an OpenSSH public key (not ASCII text)')
            instance.key_data = configdrive.check_public_key(text)
    except exception.Invalid as e:
        if isinstance(e, common.CommandError):
            raise
        raise common.CommandError(reason='--ssh-key %s: %s' % (
            args.ssh_key, e))
    instance.config_drive = bool(args.config_drive or
                                 instance.user_data or instance.key_data)


# -- queries ------------------------------------------------------------------

def _list(api, args):
    rows = sorted(api.list())
    _table(('NAME', 'UUID', 'ARCH', 'STATE'), rows)
    # A guest whose record cannot be read is listed with arch '?'.
    for _name, uuid, arch, _state in rows:
        if arch == '?':
            try:
                api.find(uuid)
            except exception.InstanceRecordBroken as e:
                _note(str(e))
            except exception.InstanceNotFound:
                pass   # deleted meanwhile
    return 0


def _table(header, rows):
    widths = [max(len(str(row[i])) for row in (header,) + tuple(rows))
              for i in range(len(header))]
    for row in (header,) + tuple(rows):
        print('  '.join(str(v).ljust(w)
                        for v, w in zip(row, widths)).rstrip())


def _show(api, args):
    try:
        details = api.show(args.name)
    except exception.InstanceRecordBroken as e:
        return _show_broken(api, args.name, e)
    instance = details.instance
    flavor = instance.flavor
    props = instance.image_meta.properties.to_dict()
    fields = [
        ('name', instance.name),
        ('uuid', instance.uuid),
        ('arch', details.arch),
        ('machine type', instance.machine_type),
        ('state', details.state),
        ('flavor', 'vcpus=%d,ram=%d,disk=%d' % (
            flavor.vcpus, flavor.memory_mb, flavor.root_gb) + ''.join(
                ',%s=%d' % (key, value) for key, value in (
                    ('ephemeral', flavor.ephemeral_gb),
                    ('swap', flavor.swap)) if value)),
        ('properties', ' '.join('%s=%s' % (k, props[k])
                                for k in sorted(props)) or '-'),
        ('image', instance.image_path),
        ('kernel', instance.kernel_path),
        ('ramdisk', instance.ramdisk_path),
        ('console log', details.console_log),
        ('instance dir', details.instance_dir),
        ('config drive', details.config_drive),
        ('addresses', ', '.join('%s (%s)' % (ip, mac)
                                for mac, ip in details.addresses) or None),
    ]
    for key, value in fields:
        if value is not None:
            print('%-13s %s' % (key + ':', value))
    return 0


def _show_broken(api, name, error):
    """What libvirt knows of a guest whose record cannot be read; 1."""
    drv = api.driver
    instance = drv.find_instance(name, broken_ok=True)
    state = virt_driver.STATE_MAP.get(drv.get_info(instance).state,
                                      'unknown')
    for key, value in (('name', instance.name), ('uuid', instance.uuid),
                       ('state', state),
                       ('record', 'cannot be read: %s'
                        % error.kwargs['reason'])):
        print('%-13s %s' % (key + ':', value))
    print('emuvirt: error: %s' % error, file=sys.stderr)
    return 1


def _console(api, args):
    session = api.console(args.name)
    try:
        return _attach(session, sys.stdin.fileno(), sys.stdout.fileno())
    finally:
        session.close()


def _attach(session, in_fd, out_fd):
    """Attach in raw mode; the terminal's mode comes back however it ends."""
    import termios
    import tty

    saved = termios.tcgetattr(in_fd) if os.isatty(in_fd) else None
    sys.stdout.flush()
    try:
        if saved is not None:
            tty.setraw(in_fd)
        # Raw mode first: what the user types from now on goes to the
        # guest (and the line ends need their carriage return).
        os.write(out_fd, b'Connected to %s (escape character is ^])\r\n'
                 % session.name.encode())
        ended = session.attach(in_fd, out_fd)
    finally:
        if saved is not None:
            termios.tcsetattr(in_fd, termios.TCSAFLUSH, saved)
    end = b'\n'
    if ended == 'guest':
        end += b'%s: the console closed (the guest stopped)\n' % (
            session.name.encode())
    os.write(out_fd, end)
    return 0


def _console_log(api, args):
    text = api.console_output(args.name, args.lines)
    sys.stdout.write(text)
    if text and not text.endswith('\n'):
        sys.stdout.write('\n')
    return 0


# -- power and delete ---------------------------------------------------------

def _stop(api, args):
    instance, was_running = api.stop(args.name, args.timeout,
                                     retry_interval=STOP_RETRY_INTERVAL)
    if was_running:
        print('stopped %s' % instance.name)
    else:
        print('%s is already stopped' % instance.name)
    return 0


def _start(api, args):
    print('started %s' % api.start(args.name).name)
    return 0


def _reboot(api, args):
    instance = api.reboot(args.name, hard=args.hard, timeout=args.timeout)
    print('rebooted %s' % instance.name)
    return 0


def _delete(api, args):
    deleted = api.delete(args.name)
    name = deleted.instance.name
    if deleted.release_error is not None:
        print('deleted %s; Placement did not take the release of its '
              'resources, emuvirt-compute will send it' % name)
    elif deleted.released:
        print('deleted %s; released its resources' % name)
    else:
        print('deleted %s' % name)
    return 0

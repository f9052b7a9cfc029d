"""``emuvirt server``: create, list, show, stop, start, reboot, delete guests.

Every guest is a libvirt domain with the emuvirt record in its metadata,
so these commands work from any process with no database of their own.
NAME is a guest's name or UUID; domains emuvirt did not define are never
touched.

With Placement configured (``[placement]auth_type``), ``create`` claims the
flavor's resources for the guest before defining it and ``delete`` releases
them; a create that fails releases its claim too. Without Placement it
creates the guest with no claim and says so.
"""

import re
import sys
import time

import libvirt
from oslo_utils import excutils
from oslo_utils import uuidutils

from emuvirt.cmd import common
from emuvirt import conf
from emuvirt import exception
from emuvirt.scheduler.client import report
from emuvirt.scheduler import request_filter
from emuvirt.virt import driver
from emuvirt.virt.libvirt import instance_files

CONF = conf.CONF

NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._+-]{0,62}$')
DEFAULT_WAIT_TIMEOUT = 300
POLL_INTERVAL = 0.2
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
        return args.server_func(args)
    except libvirt.libvirtError as e:
        raise common.CommandError(reason='libvirt: %s' % e)
    except OSError as e:
        raise common.CommandError(reason=str(e))


def _driver():
    drv = driver.load_compute_driver()
    if not hasattr(drv, 'find_instance'):
        raise common.CommandError(
            reason="server commands need a libvirt compute driver; option "
                   "[DEFAULT]compute_driver is '%s'" % CONF.compute_driver)
    return drv


def _note(text):
    print('emuvirt: note: %s' % text, file=sys.stderr)


# -- create -------------------------------------------------------------------

def _check_name(name):
    if not NAME_RE.match(name):
        raise common.CommandError(
            reason="server name '%s': use 1 to 63 letters, digits, '.', "
                   "'_', '+' or '-', starting with a letter or digit" % name)
    if uuidutils.is_uuid_like(name):
        raise common.CommandError(
            reason="server name '%s' looks like a UUID; NAME arguments "
                   "could not tell them apart" % name)
    return name


def _create(args):
    if args.wait_for is not None and not args.wait:
        raise common.CommandError(reason='--wait-for needs --wait')
    name = _check_name(args.name)
    instance, image_meta = common.build_instance(args, name=name)
    drv = _driver()
    if drv.host.lookup_domain(name) is not None:
        raise common.CommandError(
            reason="server name '%s': a guest of that name exists" % name)
    # Every decision first: bad input fails before anything is claimed.
    plan = drv.plan_guest(instance, image_meta)
    client = report.get_client(CONF, nodename=CONF.host)
    if client is None:
        _note('no Placement configured ([placement]auth_type is unset): '
              'no resources claimed for %s' % name)
    else:
        resources = request_filter.resources_from_flavor(instance.flavor)
        if not instance.image_path:
            resources.pop('DISK_GB', None)
        client.claim(instance.uuid, resources)
    try:
        drv.spawn(None, instance, image_meta, [], None, None)
    except BaseException:
        with excutils.save_and_reraise_exception():
            if client is not None:
                _release(client, instance)
    print('created %s: %s, %s guest, machine %s'
          % (name, instance.uuid, plan.profile.arch, plan.machine))
    if args.wait:
        _wait(drv, instance, args.wait_for, args.timeout)
    return 0


def _release(client, instance):
    try:
        client.release(instance.uuid)
    except exception.EmuvirtException as e:
        _note('could not release the resources claimed for %s: %s'
              % (instance.uuid, e))


def _wait(drv, instance, text, timeout):
    start = time.monotonic()
    deadline = start + timeout
    log = drv.get_console_log_path(instance) if text else None
    searcher = _Searcher(text) if text else None
    while True:
        running = drv.get_info(instance).state == driver.RUNNING
        if searcher is None and running:
            print('%s is running' % instance.name)
            return
        if searcher is not None and searcher.feed(log):
            print("%s: '%s' on the console after %.1f s"
                  % (instance.name, text, time.monotonic() - start))
            return
        if searcher is not None and not running:
            raise common.CommandError(
                reason="%s stopped before '%s' showed on its console (see "
                       "emuvirt server console-log %s)"
                       % (instance.name, text, instance.name))
        if time.monotonic() >= deadline:
            raise exception.WaitTimeout(
                seconds=timeout, what="%s to %s" % (
                    instance.name, "show '%s' on its console" % text
                    if text else 'run'))
        time.sleep(POLL_INTERVAL)


class _Searcher(object):
    """Finds a text in a growing file, reading each byte once."""

    def __init__(self, text):
        self.needle = text.encode()
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
                self.needle.decode() in instance_files.clean_console_text(
                    window))


# -- queries ------------------------------------------------------------------

def _state(drv, instance):
    return driver.STATE_MAP.get(drv.get_info(instance).state, 'unknown')


def _list(args):
    drv = _driver()
    rows = [(r.name, r.uuid, r.guest_arch,
             driver.STATE_MAP.get(g.get_power_state(), 'unknown'))
            for g, r in drv.list_guests()]
    _table(('NAME', 'UUID', 'ARCH', 'STATE'), sorted(rows))
    return 0


def _table(header, rows):
    widths = [max(len(str(row[i])) for row in (header,) + tuple(rows))
              for i in range(len(header))]
    for row in (header,) + tuple(rows):
        print('  '.join(str(v).ljust(w)
                        for v, w in zip(row, widths)).rstrip())


def _show(args):
    drv = _driver()
    instance = drv.find_instance(args.name)
    flavor = instance.flavor
    props = instance.image_meta.properties.to_dict()
    fields = [
        ('name', instance.name),
        ('uuid', instance.uuid),
        ('arch', drv.guest_arch(instance.image_meta.properties)),
        ('machine type', instance.machine_type),
        ('state', _state(drv, instance)),
        ('flavor', 'vcpus=%d,ram=%d,disk=%d' % (
            flavor.vcpus, flavor.memory_mb, flavor.root_gb)),
        ('properties', ' '.join('%s=%s' % (k, props[k])
                                for k in sorted(props)) or '-'),
        ('image', instance.image_path),
        ('kernel', instance.kernel_path),
        ('ramdisk', instance.ramdisk_path),
        ('console log', drv.get_console_log_path(instance)),
        ('instance dir', instance_files.instance_dir(instance)),
    ]
    for key, value in fields:
        if value is not None:
            print('%-13s %s' % (key + ':', value))
    return 0


def _console_log(args):
    drv = _driver()
    text = drv.get_console_output(None, drv.find_instance(args.name))
    if args.lines:
        text = ''.join(text.splitlines(True)[-args.lines:])
    sys.stdout.write(text)
    if text and not text.endswith('\n'):
        sys.stdout.write('\n')
    return 0


# -- power and delete ---------------------------------------------------------

def _stop(args):
    drv = _driver()
    instance = drv.find_instance(args.name)
    if drv.get_info(instance).state == driver.SHUTDOWN:
        print('%s is already stopped' % instance.name)
        return 0
    timeout = (CONF.libvirt.shutdown_timeout if args.timeout is None
               else args.timeout)
    drv.power_off(instance, timeout=timeout,
                  retry_interval=STOP_RETRY_INTERVAL)
    print('stopped %s' % instance.name)
    return 0


def _start(args):
    drv = _driver()
    instance = drv.find_instance(args.name)
    drv.power_on(None, instance, None)
    print('started %s' % instance.name)
    return 0


def _reboot(args):
    drv = _driver()
    instance = drv.find_instance(args.name)
    if args.timeout is not None:
        CONF.set_override('shutdown_timeout', int(args.timeout), 'libvirt')
    drv.reboot(None, instance, None, 'HARD' if args.hard else 'SOFT')
    print('rebooted %s' % instance.name)
    return 0


def _delete(args):
    drv = _driver()
    instance = drv.find_instance(args.name)
    drv.destroy(None, instance)
    client = report.get_client(CONF, nodename=CONF.host)
    if client is not None and client.release(instance.uuid):
        print('deleted %s; released its resources' % instance.name)
    else:
        print('deleted %s' % instance.name)
    return 0

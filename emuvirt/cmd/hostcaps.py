"""``emuvirt host-capabilities``: what guest arches this host can run.

::

    emuvirt host-capabilities [--all] [--format table|json]

Per guest arch: the emulator, the machine guests get (and the machine
types offered), the accelerator (kvm or tcg), the firmware the arch needs
and the one found, and the trait the host reports for it, or why the arch
cannot run. The JSON has a top-level ``traits`` list: every trait the
host reports to Placement.
"""

import json

from emuvirt import conf
from emuvirt.virt import hostcaps
from emuvirt.virt.libvirt import host as vhost

CONF = conf.CONF


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'host-capabilities',
        help='show which guest architectures this host can run, and its '
             'traits')
    parser.add_argument('--all', action='store_true',
                        help='also list arches emuvirt has no profile for')
    parser.add_argument('--format', choices=('table', 'json'),
                        default='table', help='output format')
    parser.set_defaults(func=run)


def _shown(result, show_all):
    for arch in sorted(result.archs):
        info = result.archs[arch]
        if show_all or info.firmware_needed is not None:
            yield info


def _firmware(info):
    if info.firmware_needed is None:
        return '-'
    if info.firmware_needed != 'uefi':
        return info.firmware_needed
    return 'uefi: %s' % (info.firmware_found[0] if info.firmware_found
                         else 'missing')


def run(args):
    probe = hostcaps.CapabilityProbe(vhost.Host(), CONF)
    result = probe.get()
    if args.format == 'json':
        data = result.to_dict()
        data['archs'] = {i.arch: i.to_dict()
                         for i in _shown(result, args.all)}
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    rows = [('ARCH', 'ACCEL', 'MACHINE', 'EMULATOR', 'FIRMWARE',
             'TRAIT OR WHY NOT')]
    for info in _shown(result, args.all):
        rows.append((info.arch, info.accelerator or '-',
                     info.machine or '-', info.emulator or '-',
                     _firmware(info),
                     info.trait if info.runnable else info.reason))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    print('Host arch: %s' % result.host_arch)
    for row in rows:
        print('  '.join(c.ljust(w) for c, w in zip(row, widths)) +
              '  ' + row[-1])
    print('Traits: %s' % ', '.join(sorted(result.traits())))
    return 0

"""``emuvirt scheduler candidates``: the hosts Placement offers an image.

::

    emuvirt scheduler candidates --property hw_emulation_architecture=s390x \
        [--property K=V ...] [--flavor vcpus=1,ram=512,disk=1] \
        [--limit N] [--format table|json]

The image properties become required (and forbidden) traits through the
prefilter (:mod:`emuvirt.scheduler.request_filter`), the flavor becomes
VCPU, MEMORY_MB and DISK_GB amounts, and Placement's allocation candidates
are listed by host name.
"""

import json

from emuvirt.cmd import common
from emuvirt import conf
from emuvirt.objects import flavor as flavor_obj
from emuvirt.scheduler.client import report
from emuvirt.scheduler import request_filter

CONF = conf.CONF


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'scheduler', help='ask Placement where a guest could run')
    commands = parser.add_subparsers(dest='scheduler_command',
                                     metavar='COMMAND')
    commands.required = True
    candidates = commands.add_parser(
        'candidates', help='list the hosts Placement offers for an image '
                           'and flavor')
    common.add_request_arguments(
        candidates, example='hw_emulation_architecture=s390x or '
                            'trait:CUSTOM_X=required')
    candidates.add_argument('--limit', type=int, metavar='N',
                            help='at most N candidates')
    candidates.add_argument('--format', choices=('table', 'json'),
                            default='table', help='output format')
    candidates.set_defaults(func=run)


def find_candidates(props, flavor, client, limit=None):
    """(PlacementRequest, [{'name', 'uuid'}]) for an image and flavor."""
    request = request_filter.build_request(props, flavor)
    uuids = client.get_allocation_candidates(
        request.resources, request.required, request.forbidden, limit=limit)
    names = client.get_providers() if uuids else {}
    hosts = [{'name': names.get(u, u), 'uuid': u} for u in uuids]
    return request, hosts


def run(args):
    props = common.parse_properties(args.property)
    flavor = flavor_obj.Flavor.from_string(args.flavor)
    client = report.get_client(CONF)
    if client is None:
        raise report.PlacementNotConfigured()
    request, hosts = find_candidates(props, flavor, client, args.limit)
    if args.format == 'json':
        print(json.dumps({'resources': dict(request.resources),
                          'required': sorted(request.required),
                          'forbidden': sorted(request.forbidden),
                          'hosts': hosts}, indent=2, sort_keys=True))
        return 0
    print('Resources: %s' % ', '.join(
        '%s=%s' % i for i in sorted(request.resources.items())))
    print('Required traits: %s' % (', '.join(sorted(request.required)) or
                                   '-'))
    if request.forbidden:
        print('Forbidden traits: %s' % ', '.join(sorted(request.forbidden)))
    if not hosts:
        print('No host can take this guest.')
        return 0
    width = max(len(h['name']) for h in hosts + [{'name': 'HOST'}])
    print('%-*s  %s' % (width, 'HOST', 'PROVIDER UUID'))
    for host in hosts:
        print('%-*s  %s' % (width, host['name'], host['uuid']))
    return 0

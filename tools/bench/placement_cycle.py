#!/usr/bin/env python3
"""Benchmark the provider update cycle and Placement scheduling queries.

Runs the real Placement in process (sqlite, HTTP on 127.0.0.1; needs the
test requirements) and prints:

1. requests and time per steady-state update cycle of one host (target:
   0 requests), and the first (registering) cycle;
2. N simulated hosts registering in one Placement: requests per host
   (target: at most 3, plus one per custom trait not yet created by that
   client) and the time they took;
3. the median time of an allocation candidates query per image, with
   the hosts each one found.

The host is the fake x86_64 libvirt data (every emulator installed), or a
real libvirt with ``--uri``. Simulated hosts are copies of three probed
hosts: x86_64 with every emulator, an s390x and an aarch64 host with only
their own.

Usage: python tools/bench/placement_cycle.py [--hosts 1000] [--cycles 50]
       [--queries 20] [--uri qemu:///system]
"""

import argparse
import contextlib
import statistics
import time

from emuvirt import conf
from emuvirt.objects import flavor as flavor_obj
from emuvirt.scheduler.client import report
from emuvirt.scheduler import request_filter
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import hostfiles
from emuvirt.tests.fixtures import placement
from emuvirt.virt import hostcaps
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt import provider_tree as ptree

CONF = conf.CONF

IMAGES = (
    {'hw_emulation_architecture': 'aarch64'},
    {'hw_emulation_architecture': 's390x'},
    {'hw_emulation_architecture': 'x86_64'},
    {'hw_architecture': 'aarch64'},
    {'hw_emulation_architecture': 'aarch64',
     'trait:CUSTOM_EMUVIRT_ACCEL_AARCH64': 'required'},
    {},
)


def _ms(seconds):
    return '%.2f ms' % (seconds * 1000.0)


def _updater(host, probe):
    def update(tree):
        ptree.update_provider_tree(tree, tree_name(tree), host, probe.get(),
                                   CONF)
    return update


def tree_name(tree):
    return tree.data(tree.get_provider_uuids()[0]).name


def bench_cycle(cycles, uri):
    """One host: first cycle, then ``cycles`` steady-state cycles."""
    host = vhost.Host(uri)
    probe = hostcaps.CapabilityProbe(host, CONF)
    client = report.ReportClient.from_conf(CONF, nodename='bench-host')
    update = _updater(host, probe)
    uuid = client.provider_uuid
    started = time.perf_counter()
    first = client.sync_provider('bench-host', uuid, update)
    first_time = time.perf_counter() - started
    times, requests = [], 0
    for _ in range(cycles):
        started = time.perf_counter()
        requests += client.sync_provider('bench-host', uuid, update)
        times.append(time.perf_counter() - started)
    print('Steady-state cycle (%d cycles, %s):' % (cycles, uri))
    print('  first cycle: %d requests, %s (probe included)'
          % (first, _ms(first_time)))
    print('  requests per steady-state cycle: %.2f (target 0)'
          % (requests / float(cycles)))
    print('  time per steady-state cycle: median %s, max %s'
          % (_ms(statistics.median(times)), _ms(max(times))))


@contextlib.contextmanager
def fake_libvirt(conn):
    """Make every Host talk to ``conn``."""
    real = vhost.open_connection
    vhost.open_connection = lambda uri: conn
    try:
        yield
    finally:
        vhost.open_connection = real


def fake_host(host_arch, arches=None):
    removed = [a for a in fakelibvirt.KNOWN_ARCHES
               if arches is not None and a not in arches]
    uri = 'fake:///%s' % host_arch
    return uri, fakelibvirt.FakeConnection(uri, host_arch, removed)


def _templates():
    """(host arch, inventory, traits) of three probed fake hosts."""
    shapes = (('x86_64', None), ('s390x', ['s390x']),
              ('aarch64', ['aarch64']))
    templates = []
    for host_arch, arches in shapes:
        uri, conn = fake_host(host_arch, arches)
        with fake_libvirt(conn):
            host = vhost.Host(uri)
            tree = ptree.ProviderTree()
            tree.new_root('template', 'template')
            ptree.update_provider_tree(
                tree, 'template', host,
                hostcaps.CapabilityProbe(host, CONF).get(), CONF)
            data = tree.data('template')
        templates.append((host_arch, data.inventory, data.traits))
    return templates


def bench_registration(count):
    """``count`` hosts, each with its own client, register once."""
    templates = _templates()
    per_host, custom_puts = [], 0
    started = time.perf_counter()
    for i in range(count):
        _arch, inventory, traits = templates[i % len(templates)]
        name = 'sim-%04d' % i
        client = report.ReportClient.from_conf(CONF, nodename=name)

        def update(tree, name=name, inventory=inventory, traits=traits):
            tree.update_inventory(name, inventory)
            tree.update_traits(name, traits)

        sent = client.sync_provider(name, client.provider_uuid, update)
        created = len([t for t in traits if t.startswith('CUSTOM_')])
        custom_puts += created
        per_host.append(sent - created)
    elapsed = time.perf_counter() - started
    print('%d hosts registering in one Placement:' % count)
    print('  requests per host: max %d, mean %.2f (target <= 3), plus '
          '%.2f custom trait creations per host'
          % (max(per_host), statistics.mean(per_host),
             custom_puts / float(count)))
    print('  total %.1f s, %s per host' % (elapsed,
                                           _ms(elapsed / count)))
    return templates


def bench_queries(queries, limit):
    client = report.ReportClient.from_conf(CONF, nodename='scheduler')
    flavor = flavor_obj.Flavor.from_string('vcpus=1,ram=512,disk=1')
    print('Allocation candidates (%d queries each, limit %s):'
          % (queries, limit or 'none'))
    for props in IMAGES:
        request = request_filter.build_request(props, flavor)
        times = []
        for _ in range(queries):
            started = time.perf_counter()
            found = client.get_allocation_candidates(
                request.resources, request.required, request.forbidden,
                limit=limit)
            times.append(time.perf_counter() - started)
        print('  %-70s %5d hosts, median %s'
              % (props or '(no arch property)', len(found),
                 _ms(statistics.median(times))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=int, default=1000)
    parser.add_argument('--cycles', type=int, default=50)
    parser.add_argument('--queries', type=int, default=20)
    parser.add_argument('--limit', type=int, default=None,
                        help='allocation candidates limit')
    parser.add_argument('--uri', help='real libvirt URI for the cycle '
                                      'benchmark (default: fake x86_64)')
    args = parser.parse_args()

    CONF([], project='emuvirt', default_config_files=[])
    with contextlib.ExitStack() as stack:
        pl = stack.enter_context(placement.PlacementFixture())
        pl.configure(CONF)
        if args.uri is None:
            # Every emulator and the AAVMF firmware "installed".
            stack.enter_context(hostfiles.HostFilesFixture())
            uri, conn = fake_host('x86_64')
            with fake_libvirt(conn):
                bench_cycle(args.cycles, uri)
        else:
            bench_cycle(args.cycles, args.uri)
        bench_registration(args.hosts)
        bench_queries(args.queries, args.limit)


if __name__ == '__main__':
    main()

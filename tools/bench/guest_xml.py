#!/usr/bin/env python3
"""Benchmark: guest config + domain XML generation per golden case.

Runs the real driver code (EmuVirtDriver.get_guest_xml) against the fake
libvirt data of each case's host, as the golden tests do, and prints the
median time per guest. Cold calls (the first of a process: the host's
capabilities, domain capabilities and firmware choice are read and
parsed) are reported apart, as the median of --cold calls each made after
the host's caches were dropped; warm calls use the driver's caches, as a
running compute service does.

Usage: tools/bench/guest_xml.py [--rounds N] [--cold N]
Targets: under 0.25 ms per guest warm (issue 2); under 0.5 ms cold
(issue 9: only the guest arch's capabilities are parsed).
"""

import argparse
import statistics
import sys
import time

from oslo_config import fixture as config_fixture

from emuvirt import conf
from emuvirt.tests.functional import golden


class _Harness:
    """Just enough of a test case for golden.render's fixtures."""

    def __init__(self):
        self._fixtures = []
        self.flags = self.useFixture(config_fixture.Config(conf.CONF))

    def useFixture(self, fixture):
        fixture.setUp()
        self._fixtures.append(fixture)
        return fixture

    def cleanup(self):
        for fixture in reversed(self._fixtures):
            fixture.cleanUp()


def bench_case(case, rounds, cold_rounds):
    from emuvirt.tests.functional import test_base
    harness = _Harness()
    try:
        # Reuse the functional suite's host setup (fake libvirt + firmware).
        harness.use_host = lambda arch: test_base.FunctionalTestCase.use_host(
            harness, arch)
        golden.render(harness, case)
        drv = harness.driver
        instance, image_meta = golden.make_instance(case)
        colds = []
        for _ in range(cold_rounds):
            drv.host.invalidate_caches()
            start = time.perf_counter()
            drv.get_guest_xml(instance, image_meta)
            colds.append(time.perf_counter() - start)
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            drv.get_guest_xml(instance, image_meta)
            times.append(time.perf_counter() - start)
        return statistics.median(colds), statistics.median(times)
    finally:
        harness.cleanup()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=2000)
    parser.add_argument('--cold', type=int, default=50)
    args = parser.parse_args(argv)
    conf.CONF([], project='emuvirt')
    print('%-34s %12s %14s' % ('case', 'cold (ms)', 'median (ms)'))
    medians, colds = [], []
    for case in golden.CASES:
        cold, median = bench_case(case, args.rounds, args.cold)
        medians.append(median)
        colds.append(cold)
        print('%-34s %12.3f %14.4f' % (case.name, cold * 1e3, median * 1e3))
    overall = statistics.median(medians) * 1e3
    overall_cold = statistics.median(colds) * 1e3
    print('%-34s %12.3f %14.4f' % ('median over cases', overall_cold,
                                   overall))
    print('target: < 0.25 ms per guest: %s' % (
        'met' if overall < 0.25 else 'NOT met'))
    print('target: < 0.5 ms per cold guest: %s' % (
        'met' if overall_cold < 0.5 else 'NOT met'))
    return 0


if __name__ == '__main__':
    sys.exit(main())

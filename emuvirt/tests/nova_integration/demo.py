"""Boot emulated servers through Nova's own services, and say what happened.

Not a test module (stestr does not collect it): ``tools/nova-demo`` and
``tools/bench/nova/boot.py`` run it. It uses the nova-integration harness
(:class:`emuvirt.tests.nova_integration.base.NovaIntegrationTestCase`):
Nova 34's API, conductor, scheduler, an in-process Placement and one
compute with ``compute_driver = emuvirt.EmuVirtDriver`` on the real
private libvirt daemon. For each arch it creates Glance images whose only
property besides ``kernel_id``/``ramdisk_id`` is
``hw_emulation_architecture``, boots a server through Nova's API, and
prints the ``uname -m`` line from the console output Nova's API returns,
deletes the server and checks that no domain, file or allocation is left;
last, the provider's ``COMPUTE_ARCH_*`` traits.

Usage: python -m emuvirt.tests.nova_integration.demo [--rounds N] [ARCH ...]
"""

import argparse
import importlib.metadata
import logging
import statistics
import sys
import time
import unittest

from emuvirt.tests.nova_integration import base

DEFAULT_ARCHES = ('aarch64', 's390x')
ARGS = argparse.Namespace(arches=DEFAULT_ARCHES, rounds=1)
# arch -> [(seconds to ACTIVE, seconds to userspace)], one per round
TIMES = {}


def say(line=''):
    # Nova's fixtures capture sys.stdout during the run.
    print(line, file=sys.__stdout__, flush=True)


class Demo(base.NovaIntegrationTestCase):

    def _boot(self, arch, image_id):
        t0 = time.monotonic()
        server = self.boot_server(image_id)
        active = time.monotonic() - t0
        boot, text = self.wait_for_boot(server['id'], arch, ready=False)
        userspace = time.monotonic() - t0
        line = next(ln for ln in text.splitlines()
                    if base.UNAME_MARKER in ln)
        line = line[line.index(base.UNAME_MARKER):]
        TIMES.setdefault(arch, []).append((active, userspace))
        say('  %-8s server %s ACTIVE after %.1f s; console (Nova API): '
            '%r after %.1f s' % (arch, server['id'], active, line.strip(),
                                 userspace))
        return server['id']

    def test_demo(self):
        say('Nova %s services in this process; compute_driver = %s on %s'
            % (importlib.metadata.version('nova'), self.compute_driver(),
               self.uri))
        deleted = 0
        for arch in ARGS.arches:
            self.require_emulator(arch)
            image_id = self.create_arch_images(arch)
            for _ in range(ARGS.rounds):
                # One server at a time: each round measures a boot alone,
                # and a 2-core host's VCPU inventory stays free.
                sid = self._boot(arch, image_id)
                self.delete_server(sid)
                self.assert_gone(sid)
                deleted += 1
        for rp in self.placement.get(
                '/resource_providers').body['resource_providers']:
            traits = sorted(t for t in self._get_provider_traits(rp['uuid'])
                            if t.startswith('COMPUTE_ARCH_'))
            say('Placement provider %s: %s'
                % (rp['name'], ' '.join(traits)))
        say('Deleted each server after its boot (%d): no domain, instance '
            'file or allocation left.' % deleted)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=1,
                        help='servers to boot per arch (default 1)')
    parser.add_argument('arches', nargs='*', default=list(DEFAULT_ARCHES),
                        help='guest arches (default: aarch64 s390x)')
    parser.parse_args(argv, namespace=ARGS)
    # Nova's services log to stdout; this program's report goes there
    # alone (say() writes to the real stdout), their log to stderr.
    sys.stdout = sys.stderr
    # ...but for the thread pools' shutdown notes, logged after the run.
    logging.getLogger('nova.thread_pool_factory').setLevel(logging.WARNING)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=0).run(
        unittest.TestSuite([Demo('test_demo')]))
    if len(ARGS.arches) and ARGS.rounds > 1:
        say('Seconds, median of %d (API create -> ACTIVE; -> uname -m in '
            'the console):' % ARGS.rounds)
    for arch, times in TIMES.items():
        if ARGS.rounds > 1:
            say('  %-8s ACTIVE %.2f  userspace %.2f' % (
                arch, statistics.median(t[0] for t in times),
                statistics.median(t[1] for t in times)))
    if result.skipped:
        for _test, reason in result.skipped:
            say('Skipped: %s' % reason)
        return 1
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())

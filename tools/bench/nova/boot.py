#!/usr/bin/env python3
"""Benchmark: boot to ACTIVE and to userspace through Nova's API, per arch.

Nova 34's services in this process, one compute with emuvirt's Nova
driver on the real private libvirt daemon (the nova-integration harness,
through :mod:`emuvirt.tests.nova_integration.demo`). For each arch,
``--rounds`` servers are booted one after another from Glance images with
only ``hw_emulation_architecture`` set (kernel + initramfs of
tools/guest-images / tools/nova-guest-images); the figures are seconds
from the API's create call to ACTIVE and to the ``uname -m`` line in the
console output Nova's API returns (medians).

Needs the Nova venv and the daemon: ``tox -e nova-bench`` after
``tools/nova-demo`` (or tools/run-tests) set the host up.
Usage: tools/bench/nova/boot.py [--rounds N] [ARCH ...]
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', '..'))

from emuvirt.tests.nova_integration import demo  # noqa: E402

ARCHES = ['aarch64', 's390x', 'ppc64le', 'mipsel']

if __name__ == '__main__':
    argv = sys.argv[1:]
    if not any(not a.startswith('-') and not a.isdigit() for a in argv):
        argv += ARCHES
    if '--rounds' not in argv:
        argv = ['--rounds', '3'] + argv
    sys.exit(demo.main(argv))

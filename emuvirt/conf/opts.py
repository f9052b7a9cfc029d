"""Options of every group, for oslo-config-generator.

The ``oslo.config.opts`` entry point ``emuvirt`` names :func:`list_opts`.
"""

import collections

from emuvirt.conf import compute
from emuvirt.conf import default
from emuvirt.conf import emulation
from emuvirt.conf import libvirt
from emuvirt.conf import placement

_MODULES = (default, libvirt, emulation, placement, compute)


def list_opts():
    """Return [(group, [opts])] over all emuvirt option groups."""
    merged = collections.OrderedDict()
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            merged.setdefault(group, []).extend(opts)
    return list(merged.items())

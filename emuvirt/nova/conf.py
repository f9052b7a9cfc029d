"""Options the Nova flavour adds to nova.conf.

Nova already has every ``[libvirt]`` option emuvirt's guest config reads
(``virt_type``, ``hw_machine_type`` keyed by guest arch, ``num_pcie_ports``,
``tb_cache_size``, ``connection_uri``); the Nova flavour reads those from
Nova's configuration. What it adds is emuvirt's ``[emulation]`` group:
which foreign arches the host offers and the TCG CPU model per arch.

The ``oslo.config.opts`` entry point ``emuvirt.nova`` names
:func:`list_opts`, so ``oslo-config-generator --namespace nova.conf
--namespace emuvirt.nova`` writes a nova.conf sample with them.
"""

from emuvirt.conf import emulation


def register_opts(conf):
    """Register ``[emulation]`` on Nova's ``conf`` (idempotent)."""
    emulation.register_opts(conf)


def list_opts():
    """Return [(group, [opts])] for the config generator."""
    return list(emulation.list_opts().items())

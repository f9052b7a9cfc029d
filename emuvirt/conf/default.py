"""Options of the ``[DEFAULT]`` group."""

import socket

from oslo_config import cfg

default_opts = [
    cfg.StrOpt(
        'compute_driver',
        default='emuvirt',
        help="""
Compute driver to use, by its name in the ``emuvirt.compute_drivers``
entry-point namespace.

Possible values:

* ``emuvirt``: the emulation driver; guests of a foreign CPU architecture run
  under QEMU/TCG, selected by the image property
  ``hw_emulation_architecture``.
* ``libvirt``: the plain libvirt driver (guest arch is ``hw_architecture``
  or the host arch).
* ``fake``: an in-memory driver for tests.
"""),
    cfg.StrOpt(
        'host',
        default=socket.gethostname(),
        sample_default='<current_hostname>',
        help="""
Name of this compute host; used as the resource provider and node name.
Defaults to the host name of the machine.
"""),
    cfg.StrOpt(
        'state_path',
        default='/var/lib/emuvirt',
        help="""
Top-level directory for the state emuvirt keeps on this host (instance
disks, NVRAM copies, console logs, and the Placement ledger in
``placement-ledger/``: claims in flight and releases still owed, which
``emuvirt`` writes and ``emuvirt-compute`` reads, so both must use the
same path).
"""),
    cfg.StrOpt(
        'mkisofs_cmd',
        default='genisoimage',
        help="""
Command that writes a guest's config drive (an ISO 9660 image), as Nova's
option of the same name. It is run with genisoimage's arguments.
"""),
]


def register_opts(conf):
    """Register the ``[DEFAULT]`` options on ``conf``."""
    conf.register_opts(default_opts)


def list_opts():
    """Return the options for the config generator."""
    return {'DEFAULT': default_opts}

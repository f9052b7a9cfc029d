"""Options of the ``[compute]`` group."""

from oslo_config import cfg

compute_group = cfg.OptGroup(
    'compute',
    title='Compute service options',
    help='Options of the compute service loop.')

compute_opts = [
    cfg.IntOpt(
        'provider_update_interval',
        default=60,
        min=1,
        help="""
Seconds between two updates of this host's resource provider tree
(inventory and traits) in Placement.
"""),
    cfg.IntOpt(
        'reserved_host_memory_mb',
        default=512,
        min=0,
        help="""
Memory in MiB kept back for the host and not offered to guests; reported
as the ``reserved`` amount of the ``MEMORY_MB`` inventory.
"""),
    cfg.IntOpt(
        'reserved_host_disk_mb',
        default=0,
        min=0,
        help="""
Disk space in MiB kept back for the host and not offered to guests;
reported (rounded up to GiB) as the ``reserved`` amount of the
``DISK_GB`` inventory.
"""),
]


def register_opts(conf):
    """Register the ``[compute]`` group and its options on ``conf``."""
    conf.register_group(compute_group)
    conf.register_opts(compute_opts, group=compute_group)


def list_opts():
    """Return the options for the config generator."""
    return {compute_group: compute_opts}

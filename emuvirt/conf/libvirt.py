"""Options of the ``[libvirt]`` group."""

from oslo_config import cfg

libvirt_group = cfg.OptGroup(
    'libvirt',
    title='Libvirt options',
    help='Options for the libvirt connection and the guest configuration '
         'that emuvirt generates.')

libvirt_opts = [
    cfg.StrOpt(
        'connection_uri',
        default='',
        help="""
Libvirt connection URI. Empty means ``qemu:///system``.

Examples: ``qemu:///system``, ``qemu:///session?socket=/run/emuvirt/sock``.
"""),
    cfg.StrOpt(
        'virt_type',
        default='kvm',
        choices=[
            ('kvm', 'Use KVM for guests of the host architecture when the '
                    'host offers it. Foreign-architecture guests always '
                    'use QEMU emulation (TCG).'),
            ('qemu', 'Use QEMU emulation (TCG) for every guest.'),
        ],
        help='Domain type for guests of the host architecture.'),
    cfg.ListOpt(
        'hw_machine_type',
        default=[],
        help="""
Default machine type per GUEST architecture, as a list of ``arch=machine``
entries, used when the image does not set ``hw_machine_type``.

The architecture is the guest's (the image's ``hw_emulation_architecture``
or ``hw_architecture``), not the host's, and it is canonicalised, so
``arm64=virt-7.2`` and ``aarch64=virt-7.2`` are the same entry. An
architecture not listed uses its arch profile's default machine.

Example: ``aarch64=virt,ppc64le=pseries,x86_64=q35``.
"""),
    cfg.IntOpt(
        'num_pcie_ports',
        default=0,
        min=0,
        max=28,
        help="""
Number of PCIe root ports to add to guests whose machine type is PCIe-based
(for hot-plug). 0 means the guest arch profile's default.
"""),
    cfg.IntOpt(
        'tb_cache_size',
        default=0,
        min=0,
        help="""
Size in MiB of the QEMU TCG translation block cache for emulated guests.
0 means QEMU's default. A smaller cache saves host memory per guest at the
cost of emulation speed.
"""),
    cfg.StrOpt(
        'instances_path',
        default='$state_path/instances',
        help='Directory where instance disks and NVRAM files are kept.'),
    cfg.StrOpt(
        'network_name',
        default='default',
        help="""
Name of the libvirt virtual network that guests' network interface attaches
to.

When the daemon has no active network of this name (a freshly started
daemon has none, not even ``default``), or the option is empty, the
interface uses QEMU's user-mode networking instead: outbound connections
work, the guest is not reachable from outside. The NIC model is the image's
hw_vif_model, else the guest arch profile's default (virtio:
virtio-net-pci, or virtio-net-ccw on s390x).
"""),
    cfg.IntOpt(
        'shutdown_timeout',
        default=60,
        min=0,
        help="""
Seconds a guest is given to power off by itself when it is asked to (stop,
soft reboot) before it is destroyed. 0 destroys it at once.
"""),
    cfg.IntOpt(
        'reconnect_timeout',
        default=30,
        min=0,
        help="""
Seconds that removing a guest keeps trying to reach libvirt after the
connection was lost (the daemon restarted or was killed), reconnecting
about once a second.

It applies to the cleanup of a create that failed or was interrupted and
to ``emuvirt server delete``: a domain left defined would come back with
the daemon. When the time is up, a delete fails naming the connection
error and the guest stays; a failed create leaves its Placement claim
recorded as unfinished, and the compute service removes the domain once
libvirt answers again. 0 tries once.
"""),
]


def register_opts(conf):
    """Register the ``[libvirt]`` group and its options on ``conf``."""
    conf.register_group(libvirt_group)
    conf.register_opts(libvirt_opts, group=libvirt_group)


def list_opts():
    """Return the options for the config generator."""
    return {libvirt_group: libvirt_opts}

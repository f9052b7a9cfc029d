"""Options of the ``[emulation]`` group."""

from oslo_config import cfg
from oslo_config import types

from emuvirt.conf import validate

emulation_group = cfg.OptGroup(
    'emulation',
    title='Emulation options',
    help='Which foreign guest architectures this host offers, and how they '
         'are emulated.')

DEFAULT_ARCHITECTURES = [
    'aarch64', 'ppc64le', 's390x', 'mipsel', 'riscv64', 'x86_64',
]

emulation_opts = [
    cfg.ListOpt(
        'enabled_architectures',
        item_type=validate.ArchitectureType(),
        default=DEFAULT_ARCHITECTURES,
        help="""
Guest architectures this host offers for emulation (reported to Placement
as ``COMPUTE_ARCH_*`` traits when libvirt also has an emulator for them).

Names are canonicalised (``arm64`` is ``aarch64``, ``ppc64el`` is
``ppc64le``); an unknown name stops start-up.
"""),
    cfg.ListOpt(
        'cpu_models',
        item_type=types.String(),
        default=[],
        help="""
CPU model per guest architecture under emulation (TCG), as a list of
``arch=model`` entries, overriding the arch profile's choice. The image
property ``hw_cpu_model`` overrides this in turn.

Without an entry, the guest arch's profile decides: the first of its CPU
models (fastest first, see the guest architectures table) that libvirt
offers for the arch, else ``maximum`` where the profile allows it, else
QEMU's default.

Example: ``aarch64=cortex-a72,ppc64le=POWER9``.
"""),
]


def register_opts(conf):
    """Register the ``[emulation]`` group and its options on ``conf``."""
    conf.register_group(emulation_group)
    conf.register_opts(emulation_opts, group=emulation_group)


def list_opts():
    """Return the options for the config generator."""
    return {emulation_group: emulation_opts}

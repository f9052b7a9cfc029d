"""``emuvirt guest-xml``: print the domain XML a spawn would define.

A dry run: nothing is defined in libvirt, claimed or written on the host.
The output names files in the guest's instance directory
(``[libvirt]instances_path/<uuid>``): libvirt creates the NVRAM and console
log files there at start, but not the directory itself. So that the output
can be defined and started by hand (``virsh define`` + ``virsh start``),
``--prepare-dir`` also creates that directory, empty.
"""

from emuvirt.cmd import common
from emuvirt.virt import driver


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'guest-xml', help='print the domain XML a spawn would define '
                          '(a dry run: defines and creates nothing)')
    common.add_image_arguments(parser)
    parser.add_argument('--name', help='domain name (default instance-UUID)')
    parser.add_argument(
        '--prepare-dir', action='store_true',
        help="also create the guest's instance directory, empty, for a "
             'later virsh define + virsh start of the output (libvirt '
             'creates the NVRAM and console log in it, not the directory)')
    parser.set_defaults(func=run)


def run(args):
    instance, image_meta = common.build_instance(args, name=args.name)
    drv = driver.load_compute_driver(read_only=True)
    xml = drv.get_guest_xml(instance, image_meta)
    if args.prepare_dir:
        # Only asked for: the driver itself is read-only here.
        from emuvirt.virt.libvirt import instance_files
        instance_files.create_dir(instance_files.instance_dir(instance))
    print(xml, end='')
    return 0

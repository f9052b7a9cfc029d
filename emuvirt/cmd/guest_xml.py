"""``emuvirt guest-xml``: print the domain XML a spawn would define.

Nothing is defined in libvirt. So that the output can be defined and
started by hand (``virsh define`` + ``virsh start``), the guest's instance
directory is prepared, empty: libvirt creates the nvram and console log
files there, but not the directory itself.
"""

from emuvirt.cmd import common
from emuvirt.virt import driver
from emuvirt.virt.libvirt import instance_files


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'guest-xml', help='print the domain XML a spawn would define, '
                          'defining nothing (its instance directory is '
                          'prepared, empty, for a define by hand)')
    common.add_image_arguments(parser)
    parser.add_argument('--name', help='domain name (default instance-UUID)')
    parser.set_defaults(func=run)


def run(args):
    instance, image_meta = common.build_instance(args, name=args.name)
    drv = driver.load_compute_driver(read_only=True)
    xml = drv.get_guest_xml(instance, image_meta)
    instance_files.create_dir(instance_files.instance_dir(instance))
    print(xml, end='')
    return 0

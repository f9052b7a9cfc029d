"""``emuvirt guest-xml``: print the domain XML a spawn would define."""

from emuvirt.cmd import common
from emuvirt.virt import driver


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'guest-xml', help='print the domain XML a spawn would define, '
                          'defining nothing')
    common.add_image_arguments(parser)
    parser.add_argument('--name', help='domain name (default instance-UUID)')
    parser.set_defaults(func=run)


def run(args):
    instance, image_meta = common.build_instance(args, name=args.name)
    drv = driver.load_compute_driver(read_only=True)
    print(drv.get_guest_xml(instance, image_meta), end='')
    return 0

"""Pieces every ``emuvirt`` subcommand shares: arguments, input parsing."""

import os

from emuvirt import exception
from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.objects import instance as instance_obj


class CommandError(exception.Invalid):
    msg_fmt = '%(reason)s'


def add_image_arguments(parser):
    """--property, --flavor and the boot files of a guest."""
    parser.add_argument(
        '--property', metavar='KEY=VALUE', action='append', default=[],
        help='image property, e.g. hw_emulation_architecture=aarch64 '
             '(repeatable)')
    parser.add_argument(
        '--flavor', metavar='vcpus=N,ram=MiB,disk=GiB', default='',
        help='guest size (default vcpus=1,ram=512,disk=1)')
    parser.add_argument('--image', metavar='FILE',
                        help='disk image (qcow2, raw or iso)')
    parser.add_argument('--kernel', metavar='FILE',
                        help='kernel for direct kernel boot')
    parser.add_argument('--ramdisk', metavar='FILE',
                        help='initramfs for direct kernel boot')
    parser.add_argument('--cmdline', metavar='S',
                        help='kernel command line (image property '
                             'os_command_line)')


def parse_properties(items):
    """``['k=v', ...]`` -> dict; a malformed item names --property."""
    props = {}
    for item in items:
        key, sep, value = item.partition('=')
        key = key.strip()
        if not sep or not key:
            raise CommandError(
                reason="--property %s: expected KEY=VALUE" % item)
        if key in props:
            raise CommandError(reason='--property %s: given twice' % key)
        props[key] = value.strip()
    return props


def _existing(path, arg):
    if path is None:
        return None
    if not os.path.isfile(path):
        raise CommandError(reason='%s %s: no such file' % (arg, path))
    return os.path.abspath(path)


def _disk_format(path):
    if path is None:
        return None
    if path.endswith('.iso'):
        return 'iso'
    with open(path, 'rb') as f:
        return 'qcow2' if f.read(4) == b'QFI\xfb' else 'raw'


def build_instance(args, name=None):
    """Instance + ImageMeta from the image arguments, checked strictly."""
    props = parse_properties(args.property)
    if args.cmdline is not None:
        props['os_command_line'] = args.cmdline
    if args.ramdisk and not args.kernel:
        raise CommandError(reason='--ramdisk needs --kernel')
    image = _existing(args.image, '--image')
    image_meta = image_meta_obj.ImageMeta.from_dict(
        {'properties': props, 'disk_format': _disk_format(image)},
        strict=True)
    kwargs = {}
    if name:
        kwargs['name'] = name
    instance = instance_obj.Instance.new(
        flavor=flavor_obj.Flavor.from_string(args.flavor),
        image_meta=image_meta, image_path=image,
        kernel_path=_existing(args.kernel, '--kernel'),
        ramdisk_path=_existing(args.ramdisk, '--ramdisk'), **kwargs)
    return instance, image_meta

"""Pieces every ``emuvirt`` subcommand shares: arguments, input parsing.

Image properties come from ``--property KEY=VALUE`` and from a property
file beside the image (``--image``, else ``--kernel``): ``<file>.json``, a
JSON object of property names to values, or ``<file>.properties``, one
``KEY=VALUE`` per line with ``#`` comments and blank lines ignored::

    # debian-arm64.qcow2.properties
    hw_emulation_architecture=aarch64
    hw_machine_type=virt

``--property`` wins over the file, ``--cmdline`` over both. A key given
twice is refused, in a file as on the command line. A property file is
UTF-8, at most 64 KiB; a JSON one holds no arrays or objects as values.

Every value is checked here, before anything is claimed or created
(:mod:`emuvirt.checks`): a refusal is one line naming the argument.
"""

import json
import logging
import os
import re

from emuvirt import checks
from emuvirt import conf
from emuvirt import exception

# The versioned objects (emuvirt.objects) are imported by the functions
# that build them: oslo.versionedobjects loads oslo.messaging and eventlet,
# which commands that never build an object (server list) need not pay for.


class CommandError(exception.Invalid):
    msg_fmt = '%(reason)s'


def add_config_arguments(parser):
    """--config-file and --debug, for every emuvirt command."""
    parser.add_argument('--config-file', action='append', default=[],
                        metavar='FILE', help='emuvirt configuration file '
                        '(repeatable; default /etc/emuvirt/emuvirt.conf)')
    parser.add_argument('--debug', action='store_true',
                        help='log debug messages')


def load_config(args, prog):
    """Read the files named by --config-file; log to stderr, quietly.

    :raises: ConfigOptionInvalid naming the option for a bad value.
    """
    argv = [prog]
    for path in args.config_file:
        argv += ['--config-file', path]
    if args.debug:
        argv.append('--debug')
    else:
        # A warning reads as one plain line, like the command's own
        # errors; a config file's own format still wins.
        conf.CONF.set_default('logging_default_format_string',
                              '%s: %%(levelname)s: %%(message)s' % prog)
    conf.parse_args(argv, prog=prog)
    if not args.debug:
        # A command reports on stdout; its log says only what went wrong,
        # its own and that of the libraries it loads later (on first use,
        # e.g. oslo.service's "Loading backend" note).
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger('emuvirt').setLevel(logging.WARNING)


def add_request_arguments(parser, example='hw_emulation_architecture='
                                          'aarch64'):
    """--property and --flavor: what a guest asks for."""
    parser.add_argument(
        '--property', metavar='KEY=VALUE', action='append', default=[],
        help='image property, e.g. %s (repeatable)' % example)
    parser.add_argument(
        '--flavor', metavar='vcpus=N,ram=MiB,disk=GiB', default='',
        help='guest size (default vcpus=1,ram=512,disk=1)')


def add_image_arguments(parser):
    """--property, --flavor and the boot files of a guest."""
    add_request_arguments(parser)
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
            raise CommandError(reason='--property %s: expected KEY=VALUE'
                               % exception.label(item))
        if key in props:
            raise CommandError(reason='--property %s: given twice'
                               % exception.label(key))
        props[key] = value.strip()
    return props


PROPERTY_FILE_SUFFIXES = ('.json', '.properties')
PROPERTY_FILE_MAX = 64 * 1024
# A JSON property file is one object of plain values; this deep is
# refused before the parser (which recurses) reads it.
JSON_MAX_DEPTH = 16
_JSON_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET_RE = re.compile(r'[\[\]{}]')


def _parse_properties_text(text, path):
    props, lines = {}, {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        key, sep, value = line.partition('=')
        key = key.strip()
        if not sep or not key:
            raise CommandError(reason='%s line %d: expected KEY=VALUE, got '
                               '%s' % (path, number,
                                       exception.shorten(line)))
        if key in props:
            raise CommandError(reason='%s line %d: %s given twice (first on '
                               'line %d)' % (path, number,
                                             exception.label(key),
                                             lines[key]))
        props[key], lines[key] = value.strip(), number
    return props


def _json_depth(text):
    """How deep arrays and objects nest in JSON ``text`` (strings aside)."""
    depth = deepest = 0
    for match in _JSON_BRACKET_RE.finditer(_JSON_STRING_RE.sub('', text)):
        depth += 1 if match.group() in '[{' else -1
        deepest = max(deepest, depth)
    return deepest


def _unique_keys(path):
    def hook(pairs):
        found = {}
        for key, value in pairs:
            if key in found:
                raise CommandError(reason='%s: property %s given twice' % (
                    path, exception.label(key)))
            found[key] = value
        return found
    return hook


def _parse_properties_json(text, path):
    if _json_depth(text) > JSON_MAX_DEPTH:
        raise CommandError(reason='%s: nested deeper than %d; expected a '
                           'JSON object of image properties' % (
                               path, JSON_MAX_DEPTH))
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys(path))
    except ValueError as e:
        raise CommandError(reason='%s: not valid JSON: %s' % (path, e))
    if not isinstance(data, dict):
        raise CommandError(reason='%s: expected a JSON object of image '
                           'properties' % path)
    props = {}
    for key, value in data.items():
        if isinstance(value, bool):
            value = 'true' if value else 'false'
        elif isinstance(value, (int, float, str)):
            value = str(value)
        else:
            raise CommandError(reason='%s: property %s: expected a string, '
                               'number or boolean' % (
                                   path, exception.label(key)))
        props[key] = value
    return props


def read_property_file(path):
    """Image properties of a ``.json`` or ``.properties`` file (a dict).

    :raises: CommandError naming the file (and the line or property).
    """
    try:
        with open(path, 'rb') as f:
            data = f.read(PROPERTY_FILE_MAX + 1)
    except OSError as e:
        raise CommandError(reason='%s: cannot read: %s' % (
            path, e.strerror or e))
    if len(data) > PROPERTY_FILE_MAX:
        raise CommandError(reason='%s: larger than %d KiB; a property file '
                           'holds a few image properties' % (
                               path, PROPERTY_FILE_MAX // 1024))
    try:
        # utf-8-sig: a byte order mark, which some editors write, is fine.
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError as e:
        raise CommandError(reason='%s: not UTF-8 (byte %d)' % (
            path, e.start))
    from emuvirt.objects import image_meta as image_meta_obj
    if path.endswith('.json'):
        props = _parse_properties_json(text, path)
    else:
        props = _parse_properties_text(text, path)
    try:
        image_meta_obj.ImageMetaProps.from_dict(props, strict=True)
    except exception.Invalid as e:
        raise CommandError(reason='%s: %s' % (path, e))
    return props


def property_file(image):
    """The property file beside ``image``, or None."""
    if image is None:
        return None
    found = [image + s for s in PROPERTY_FILE_SUFFIXES
             if os.path.isfile(image + s)]
    if len(found) > 1:
        raise CommandError(reason='%s: both %s exist; keep one' % (
            image, ' and '.join(found)))
    return found[0] if found else None


def _existing(path, arg):
    if path is None:
        return None
    checks.check_path(path, arg)
    if not os.path.isfile(path):
        raise CommandError(reason='%s %s: no such file' % (
            arg, exception.path_label(path)))
    return checks.check_path(os.path.abspath(path), arg)


def _disk_format(path):
    if path is None:
        return None
    if path.endswith('.iso'):
        return 'iso'
    try:
        with open(path, 'rb') as f:
            magic = f.read(4)
    except OSError as e:
        raise CommandError(reason='--image %s: cannot read: %s' % (
            exception.path_label(path), e.strerror or e))
    return 'qcow2' if magic == b'QFI\xfb' else 'raw'


def build_instance(args, name=None, name_arg='--name'):
    """Instance + ImageMeta from the image arguments, checked strictly.

    :param name: the guest's name (default ``instance-<uuid>``), given as
        argument ``name_arg`` (named in the refusal of a bad one).
    :raises: CommandError, or an emuvirt ``Invalid`` naming the argument
        or image property at fault.
    """
    if name is not None:
        checks.check_name(name, name_arg)
    from emuvirt.objects import flavor as flavor_obj
    from emuvirt.objects import image_meta as image_meta_obj
    from emuvirt.objects import instance as instance_obj
    given = parse_properties(args.property)
    if args.ramdisk and not args.kernel:
        raise CommandError(reason='--ramdisk needs --kernel')
    if args.cmdline is not None and not args.kernel:
        raise CommandError(reason='--cmdline needs --kernel')
    if args.cmdline is not None:
        checks.check_command_line(args.cmdline, '--cmdline')
    image = _existing(args.image, '--image')
    kernel = _existing(args.kernel, '--kernel')
    ramdisk = _existing(args.ramdisk, '--ramdisk')
    prop_file = property_file(image or kernel)
    props = read_property_file(prop_file) if prop_file else {}
    props.update(given)
    if args.cmdline is not None:
        props['os_command_line'] = args.cmdline
    image_meta = image_meta_obj.ImageMeta.from_dict(
        {'properties': props, 'disk_format': _disk_format(image)},
        strict=True)
    kwargs = {}
    if name:
        kwargs['name'] = name
    instance = instance_obj.Instance.new(
        flavor=flavor_obj.Flavor.from_string(args.flavor),
        image_meta=image_meta, image_path=image,
        kernel_path=kernel, ramdisk_path=ramdisk, **kwargs)
    return instance, image_meta

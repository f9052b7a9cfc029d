"""The Flavor object: the resources a guest gets."""

import re

from emuvirt import checks
from emuvirt import exception
from emuvirt.objects import base
from emuvirt.objects import fields

GiB_PER_TiB = 1024
MiB_PER_TiB = 1024 * 1024
# Sane bounds, whatever the host: what a guest's machine and the host
# allow is checked when the guest is planned. Larger numbers would make
# domain XML libvirt's schema refuses (vCPUs past 65535, memory past
# 2**64 KiB) long before that.
MAX_VCPUS = 4096
MAX_MEMORY_MB = 16 * MiB_PER_TiB
MAX_DISK_GB = 64 * GiB_PER_TiB
MAX_SWAP_MB = 1 * MiB_PER_TiB
MAX_NAME = 255
_INTEGER_RE = re.compile(r'-?[0-9]+')


class InvalidFlavorSpec(exception.Invalid):
    msg_fmt = "Option --flavor key %(key)s: %(reason)s"
    names = ('key',)


@base.EmuvirtObjectRegistry.register
class Flavor(base.EmuvirtObject):
    """Virtual hardware sizes, as Nova's flavor (without the DB parts)."""

    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'name': fields.StringField(default='custom'),
        'vcpus': fields.NonNegativeIntegerField(default=1),
        'memory_mb': fields.NonNegativeIntegerField(default=512),
        'root_gb': fields.NonNegativeIntegerField(default=1),
        'ephemeral_gb': fields.NonNegativeIntegerField(default=0),
        'swap': fields.NonNegativeIntegerField(default=0),
        'extra_specs': fields.DictOfStringsField(default={}),
    }

    # --flavor keys -> (field, minimum, maximum). Short and field names
    # both work.
    SPEC_KEYS = {
        'vcpus': ('vcpus', 1, MAX_VCPUS),
        'ram': ('memory_mb', 1, MAX_MEMORY_MB),
        'memory_mb': ('memory_mb', 1, MAX_MEMORY_MB),
        'disk': ('root_gb', 0, MAX_DISK_GB),
        'root_gb': ('root_gb', 0, MAX_DISK_GB),
        'ephemeral': ('ephemeral_gb', 0, MAX_DISK_GB),
        'ephemeral_gb': ('ephemeral_gb', 0, MAX_DISK_GB),
        'swap': ('swap', 0, MAX_SWAP_MB),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.obj_set_defaults()

    @classmethod
    def from_string(cls, spec):
        """Parse a ``--flavor`` value such as ``vcpus=2,ram=1024,disk=10``.

        Keys: ``vcpus``, ``ram`` (MiB), ``disk`` (GiB), ``ephemeral``
        (GiB), ``swap`` (MiB), ``name``; a key containing ``:`` is an extra
        spec (``hw:cpu_model=cortex-a57``). Missing keys keep the defaults
        (1 vCPU, 512 MiB, 1 GiB). Sizes are bounded (at most 4096 vCPUs,
        16 TiB of RAM, 64 TiB of disk, 1 TiB of swap); names and extra
        specs are one line of text.

        :raises: InvalidFlavorSpec naming the key at fault.
        """
        flavor = cls()
        extra_specs = {}
        seen = set()
        for item in (spec or '').split(','):
            item = item.strip()
            if not item:
                continue
            key, sep, value = item.partition('=')
            key, value = key.strip(), value.strip()
            if not sep or not key:
                raise InvalidFlavorSpec(
                    key=key or item,
                    reason='expected KEY=VALUE, got %s' % (
                        exception.shorten(item)))
            _check_text(key, key)
            _check_text(key, value, '%s: ' % exception.shorten(value))
            target = cls.SPEC_KEYS.get(key, (key,))[0]
            if target in seen:
                raise InvalidFlavorSpec(key=key, reason='given twice')
            seen.add(target)
            if ':' in key:
                extra_specs[key] = value
            elif key == 'name':
                if not value:
                    raise InvalidFlavorSpec(key=key, reason='empty name')
                if len(value) > MAX_NAME:
                    raise InvalidFlavorSpec(
                        key=key, reason='longer than %d characters' %
                        MAX_NAME)
                flavor.name = value
            elif key in cls.SPEC_KEYS:
                field, minimum, maximum = cls.SPEC_KEYS[key]
                setattr(flavor, field,
                        _parse_int(key, value, minimum, maximum))
            else:
                raise InvalidFlavorSpec(
                    key=key, reason='unknown key; known: %s' % ', '.join(
                        sorted(set(cls.SPEC_KEYS) | {'name'})))
        flavor.extra_specs = extra_specs
        return flavor


def _check_text(key, text, prefix=''):
    reason = checks.text_problem(text)
    if reason is not None:
        raise InvalidFlavorSpec(key=key, reason=prefix + reason)


def _parse_int(key, value, minimum, maximum):
    # Plain decimal digits only: int() also takes '1_000', other scripts'
    # digits and numbers of thousands of digits.
    if not _INTEGER_RE.fullmatch(value):
        raise InvalidFlavorSpec(
            key=key, reason='%s is not an integer' % (
                exception.shorten(value)))
    # A number of thousands of digits is not worth converting.
    number = int(value) if len(value) <= 20 else (
        maximum + 1 if value[0] != '-' else minimum - 1)
    if number < minimum:
        raise InvalidFlavorSpec(
            key=key, reason='%s is less than %d' % (
                exception.label(value), minimum))
    if number > maximum:
        raise InvalidFlavorSpec(
            key=key, reason='%s is more than %d' % (
                exception.label(value), maximum))
    return number

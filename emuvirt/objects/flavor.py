"""The Flavor object: the resources a guest gets."""

from emuvirt import exception
from emuvirt.objects import base
from emuvirt.objects import fields


class InvalidFlavorSpec(exception.Invalid):
    msg_fmt = "Option --flavor key %(key)s: %(reason)s"


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

    # --flavor keys -> (field, minimum). Short and field names both work.
    SPEC_KEYS = {
        'vcpus': ('vcpus', 1),
        'ram': ('memory_mb', 1),
        'memory_mb': ('memory_mb', 1),
        'disk': ('root_gb', 0),
        'root_gb': ('root_gb', 0),
        'ephemeral': ('ephemeral_gb', 0),
        'ephemeral_gb': ('ephemeral_gb', 0),
        'swap': ('swap', 0),
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
        (1 vCPU, 512 MiB, 1 GiB).

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
                    reason="expected KEY=VALUE, got '%s'" % item)
            target = cls.SPEC_KEYS.get(key, (key,))[0]
            if target in seen:
                raise InvalidFlavorSpec(key=key, reason='given twice')
            seen.add(target)
            if ':' in key:
                extra_specs[key] = value
            elif key == 'name':
                if not value:
                    raise InvalidFlavorSpec(key=key, reason='empty name')
                flavor.name = value
            elif key in cls.SPEC_KEYS:
                field, minimum = cls.SPEC_KEYS[key]
                setattr(flavor, field, _parse_int(key, value, minimum))
            else:
                raise InvalidFlavorSpec(
                    key=key, reason='unknown key; known: %s' % ', '.join(
                        sorted(set(cls.SPEC_KEYS) | {'name'})))
        flavor.extra_specs = extra_specs
        return flavor


def _parse_int(key, value, minimum):
    try:
        number = int(value)
    except ValueError:
        raise InvalidFlavorSpec(
            key=key, reason="'%s' is not an integer" % value)
    if number < minimum:
        raise InvalidFlavorSpec(
            key=key, reason='%d is less than %d' % (number, minimum))
    return number

"""Image metadata objects: ImageMeta and its ImageMetaProps.

Only the properties the guest configuration reads are modelled. Values
arrive as strings (Glance, ``--property KEY=VALUE``) and are coerced by the
field types; a bad value raises InvalidImageProperty naming the property.
"""

import re

from oslo_utils import versionutils
from oslo_versionedobjects import exception as ovo_exception
from oslo_versionedobjects import fields as ovo_fields

from emuvirt import checks
from emuvirt import exception
from emuvirt.objects import base
from emuvirt.objects import fields


def _reason(field, value, exc):
    """Return a one-line reason for a value the field refused."""
    shown = exception.shorten(value)
    if isinstance(field.AUTO_TYPE, fields.Architecture):
        return "%s is not a known architecture name" % shown
    if isinstance(field, ovo_fields.BaseEnumField):
        return "%s is not one of: %s" % (
            shown, ', '.join(field.valid_values))
    if isinstance(field.AUTO_TYPE, ovo_fields.NonNegativeInteger):
        return "%s is not an integer >= 0" % shown
    if isinstance(field.AUTO_TYPE, fields.StrictBoolean):
        return "%s is not a boolean (true/false, yes/no, 1/0)" % shown
    return "%s: %s" % (shown, exc)


# QEMU's machine type and CPU model names: letters, digits, '.', '_', '+',
# ',' and '-'.
_TOKEN_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._+,-]{0,63}')


def _token(value):
    value = str(value)
    if value and not _TOKEN_RE.fullmatch(value):
        return ("%s is not a name: use at most 64 letters, digits, '.', "
                "'_', '+', ',' or '-'" % exception.shorten(value))
    return None


def _command_line(value):
    try:
        checks.check_command_line(str(value))
    except checks.InvalidValue as e:
        return '%s: %s' % (exception.shorten(value), e.kwargs['reason'])
    return None


# Checks of string values beyond their field type: what a domain XML and
# QEMU take. (The field types stay plain strings: the object's wire
# format does not change.)
_VALUE_CHECKS = {
    'hw_machine_type': _token,
    'hw_cpu_model': _token,
    'os_command_line': _command_line,
}


def _set_field(obj, name, key, value):
    check = _VALUE_CHECKS.get(name)
    reason = check(value) if check is not None and value is not None else (
        None)
    if reason is not None:
        raise exception.InvalidImageProperty(name=key, reason=reason)
    try:
        setattr(obj, name, value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise exception.InvalidImageProperty(
            name=key, reason=_reason(obj.fields[name], value, exc))


@base.EmuvirtObjectRegistry.register
class ImageMetaProps(base.EmuvirtObject):
    """Image properties that shape the guest.

    Every field is nullable and unset by default: unset means "the guest
    arch profile decides".
    """

    # Version 1.0: Initial version
    # Version 1.1: Added hw_emulation_architecture
    # Version 1.2: hw_vif_model takes Nova's whole value set (netfront,
    #              sriov, vmxnet, vmxnet3)
    VERSION = '1.2'

    # hw_vif_model values a target older than 1.2 cannot hold.
    VIF_MODELS_1_2 = ('netfront', 'sriov', 'vmxnet', 'vmxnet3')

    # Older, Glance-common names of some properties.
    LEGACY_NAMES = {'architecture': 'hw_architecture'}

    fields = {
        'hw_architecture': fields.ArchitectureField(nullable=True),
        'hw_emulation_architecture': fields.ArchitectureField(nullable=True),
        'hw_machine_type': fields.StringField(nullable=True),
        'hw_cpu_model': fields.StringField(nullable=True),
        'hw_firmware_type': fields.FirmwareTypeField(nullable=True),
        'hw_boot_menu': fields.StrictBooleanField(nullable=True),
        'hw_video_model': fields.VideoModelField(nullable=True),
        'hw_video_ram': fields.NonNegativeIntegerField(nullable=True),
        'hw_console_type': fields.ConsoleTypeField(nullable=True),
        'hw_serial_port_count': fields.NonNegativeIntegerField(
            nullable=True),
        'hw_pointer_model': fields.PointerModelField(nullable=True),
        'hw_input_bus': fields.InputBusField(nullable=True),
        'hw_disk_bus': fields.DiskBusField(nullable=True),
        'hw_cdrom_bus': fields.DiskBusField(nullable=True),
        'hw_scsi_model': fields.SCSIModelField(nullable=True),
        'hw_vif_model': fields.VIFModelField(nullable=True),
        'hw_rng_model': fields.RNGModelField(nullable=True),
        'hw_qemu_guest_agent': fields.StrictBooleanField(nullable=True),
        'os_command_line': fields.StringField(nullable=True),
        'os_type': fields.OSTypeField(nullable=True),
    }

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        target = versionutils.convert_version_to_tuple(target_version)
        if target < (1, 1):
            primitive.pop('hw_emulation_architecture', None)
        if target < (1, 2) and primitive.get('hw_vif_model') in (
                self.VIF_MODELS_1_2):
            raise ovo_exception.ObjectActionError(
                action='obj_make_compatible',
                reason='hw_vif_model=%s needs ImageMetaProps 1.2' % (
                    primitive['hw_vif_model']))

    @classmethod
    def from_dict(cls, props, strict=False):
        """Build the object from a dict of image properties.

        :param props: {name: value}; values may be strings.
        :param strict: if True an unknown property name is an error;
            otherwise unknown names are ignored (Glance images carry many
            properties that do not concern the guest).
        :raises: InvalidImageProperty naming the property, for an unknown
            name (strict only) or a bad value (always).
        """
        obj = cls()
        props = props or {}
        # Legacy names first, so that the hw_* spelling wins when an
        # image carries both.
        keys = sorted(props, key=lambda k: k not in cls.LEGACY_NAMES)
        for key in keys:
            name = cls.LEGACY_NAMES.get(key, key)
            if name not in cls.fields:
                if strict:
                    raise exception.InvalidImageProperty(
                        name=key, reason='unknown image property')
                continue
            _set_field(obj, name, key, props[key])
        return obj

    def get(self, name, default=None):
        """Return property ``name``, or ``default`` if unset or None.

        :raises: AttributeError for a name that is not a property.
        """
        if name not in self.fields:
            raise AttributeError(name)
        if not self.obj_attr_is_set(name):
            return default
        value = getattr(self, name)
        return default if value is None else value

    def to_dict(self):
        """Return {name: value} of the properties that are set."""
        return {name: getattr(self, name) for name in self.fields
                if self.obj_attr_is_set(name)}


@base.EmuvirtObjectRegistry.register
class ImageMeta(base.EmuvirtObject):
    """An image: the Glance record's top-level attributes and properties."""

    # Version 1.0: Initial version, with ImageMetaProps 1.0
    # Version 1.1: ImageMetaProps 1.1
    # Version 1.2: ImageMetaProps 1.2
    VERSION = '1.2'

    fields = {
        'id': fields.StringField(nullable=True, default=None),
        'name': fields.StringField(nullable=True, default=None),
        'disk_format': fields.StringField(nullable=True, default=None),
        'container_format': fields.StringField(nullable=True, default=None),
        'min_ram': fields.NonNegativeIntegerField(default=0),
        'min_disk': fields.NonNegativeIntegerField(default=0),
        'size': fields.NonNegativeIntegerField(nullable=True, default=None),
        'properties': fields.ObjectField('ImageMetaProps'),
    }

    obj_relationships = {
        'properties': [('1.0', '1.0'), ('1.1', '1.1'), ('1.2', '1.2')],
    }

    @classmethod
    def from_dict(cls, image, strict=False):
        """Build the object from a Glance-style image dict.

        Top-level keys that are not fields (status, checksum, owner, ...)
        are ignored; ``properties`` goes through
        :meth:`ImageMetaProps.from_dict` with ``strict``.

        :raises: InvalidImageProperty naming the key for a bad value.
        """
        image = dict(image or {})
        props = image.pop('properties', None) or {}
        obj = cls(properties=ImageMetaProps.from_dict(props, strict=strict))
        for key, value in image.items():
            if key in cls.fields:
                _set_field(obj, key, key, value)
        obj.obj_set_defaults()
        return obj

"""The Instance object: one guest, as the driver needs to know it.

The record is small enough to live in the libvirt domain's own
``<metadata>``: :meth:`Instance.to_primitive` / :meth:`Instance.to_json`
give a JSON-serialisable form and :meth:`Instance.from_primitive` /
:meth:`Instance.from_json` read it back, also from an older version.
"""

import json

from oslo_utils import uuidutils
from oslo_utils import versionutils

from emuvirt import checks
from emuvirt.objects import base
from emuvirt.objects import fields
# Imported for their registration: Instance refers to them by name.
from emuvirt.objects import flavor as flavor_obj  # noqa: F401
from emuvirt.objects import image_meta as image_meta_obj  # noqa: F401

NAME_TEMPLATE = 'instance-%s'
PATH_FIELDS = ('image_path', 'kernel_path', 'ramdisk_path')


@base.EmuvirtObjectRegistry.register
class Instance(base.EmuvirtObject):
    """A guest.

    ``name`` is the libvirt domain name, ``display_name`` the user's name
    for it. ``image_path``, ``kernel_path`` and ``ramdisk_path`` are local
    files. ``machine_type`` records the machine type chosen at first spawn
    so that later rebuilds keep the guest's hardware stable.
    ``config_drive`` says the guest has a config drive, built at spawn
    from ``user_data`` (base64, as in Nova) and ``key_data`` (an OpenSSH
    public key line).
    """

    # Version 1.0: Initial version
    # Version 1.1: Added config_drive, user_data, key_data
    # Version 1.2: ImageMeta 1.2
    VERSION = '1.2'

    fields = {
        'uuid': fields.UUIDField(),
        'name': fields.StringField(),
        'display_name': fields.StringField(nullable=True, default=None),
        'flavor': fields.ObjectField('Flavor'),
        'image_meta': fields.ObjectField('ImageMeta'),
        'image_path': fields.StringField(nullable=True, default=None),
        'kernel_path': fields.StringField(nullable=True, default=None),
        'ramdisk_path': fields.StringField(nullable=True, default=None),
        'system_metadata': fields.DictOfStringsField(default={}),
        'machine_type': fields.StringField(nullable=True, default=None),
        'host': fields.StringField(nullable=True, default=None),
        'node': fields.StringField(nullable=True, default=None),
        'created_at': fields.DateTimeField(nullable=True, default=None),
        'config_drive': fields.BooleanField(default=False),
        'user_data': fields.StringField(nullable=True, default=None),
        'key_data': fields.StringField(nullable=True, default=None),
    }

    obj_relationships = {
        'flavor': [('1.0', '1.0')],
        'image_meta': [('1.0', '1.1'), ('1.2', '1.2')],
    }

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        target = versionutils.convert_version_to_tuple(target_version)
        if target < (1, 1):
            for name in ('config_drive', 'user_data', 'key_data'):
                primitive.pop(name, None)

    @classmethod
    def new(cls, check=True, **kwargs):
        """Return an Instance with defaults filled in.

        ``uuid`` defaults to a fresh one, ``name`` to
        ``instance-<uuid>``, ``flavor`` and ``image_meta`` to empty ones.
        The name and the file paths are checked (:mod:`emuvirt.checks`):
        every way of making a new guest refuses the same values, before
        anything is claimed or created. ``check=False`` is for the record
        of a guest that exists already: it keeps the name it has.

        :raises: emuvirt.checks.InvalidValue naming the field.
        """
        if 'uuid' in kwargs:
            # The default name holds the UUID as the record keeps it.
            kwargs['uuid'] = fields.StrictUUID().coerce(
                cls, 'uuid', kwargs['uuid'])
        else:
            kwargs['uuid'] = uuidutils.generate_uuid()
        kwargs.setdefault('name', NAME_TEMPLATE % kwargs['uuid'])
        if check:
            checks.check_name(kwargs['name'], 'instance name')
            for field in PATH_FIELDS:
                if kwargs.get(field) is not None:
                    checks.check_path(kwargs[field], field)
        if 'flavor' not in kwargs:
            kwargs['flavor'] = flavor_obj.Flavor()
        if 'image_meta' not in kwargs:
            kwargs['image_meta'] = image_meta_obj.ImageMeta.from_dict({})
        inst = cls(**kwargs)
        inst.obj_set_defaults()
        return inst

    def to_primitive(self, target_version=None):
        """Return the JSON-serialisable primitive of this object."""
        return self.obj_to_primitive(target_version=target_version)

    @classmethod
    def from_primitive(cls, primitive):
        """Rebuild an Instance from :meth:`to_primitive` output."""
        return cls.obj_from_primitive(primitive)

    def to_json(self):
        """Return the record as a JSON string (for libvirt metadata)."""
        return json.dumps(self.to_primitive(), sort_keys=True)

    @classmethod
    def from_json(cls, text):
        """Rebuild an Instance from :meth:`to_json` output."""
        return cls.from_primitive(json.loads(text))

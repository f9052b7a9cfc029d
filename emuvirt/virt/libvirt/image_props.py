"""The image properties recorded for a guest: show them, set them.

At spawn the driver records the guest's image properties in its instance
record. Like ``nova-manage image_property set``, :func:`set` changes only
those stored properties, for a stopped guest: the domain XML is not
rebuilt, so a start starts the guest as before, and the new values are
used the next time emuvirt builds the guest's XML from its record: the
next hard reboot (``emuvirt server reboot --hard``, see
:meth:`emuvirt.virt.libvirt.driver.LibvirtDriver.plan_rebuild`). That is
how an operator repairs properties a change of machine type made
invalid, or changes a device model. Given the driver's check, values the
guest could not be rebuilt with are refused here already.

Names and values are checked by
:meth:`emuvirt.objects.image_meta.ImageMetaProps.from_dict` (strict).
Three names are refused: ``hw_machine_type`` (changed with
``emuvirt-manage libvirt update_machine_type``, which checks the change),
and ``hw_architecture`` / ``hw_emulation_architecture`` (a guest keeps
the architecture it was created with).
"""

import dataclasses

from emuvirt import exception
from emuvirt.objects import image_meta
from emuvirt.virt.libvirt import records

FIXED = {
    'hw_machine_type': 'change it with "emuvirt-manage libvirt '
                       'update_machine_type", which checks the change',
    'hw_architecture': 'a guest keeps the architecture it was created with',
    'hw_emulation_architecture': 'a guest keeps the architecture it was '
                                 'created with',
}


class ImagePropertyNotSet(exception.EmuvirtException):
    msg_fmt = "Image property %(name)s is not set for instance %(instance)s"


class ImagePropertyNameInvalid(exception.InvalidImageProperty):
    pass


class ImagePropertyValueInvalid(exception.InvalidImageProperty):
    pass


def _canonical_name(name):
    return image_meta.ImageMetaProps.LEGACY_NAMES.get(name, name)


def show(host, instance, name):
    """The recorded value of image property ``name``, as a string.

    :raises: InstanceNotFound; ImagePropertyNotSet if the record has no
        such property (also for a name that is no image property).
    """
    guest = records.lookup(host, instance)
    props = guest.record.properties
    name = _canonical_name(name)
    if name not in props:
        raise ImagePropertyNotSet(name=name, instance=guest.name)
    return props[name]


def validate(props):
    """Check names then values; return {canonical name: stored string}.

    :raises: ImagePropertyNameInvalid, ImagePropertyValueInvalid
    """
    fields = image_meta.ImageMetaProps.fields
    for key in props:
        name = _canonical_name(key)
        if name not in fields:
            raise ImagePropertyNameInvalid(
                name=key, reason='not an image property emuvirt knows; '
                'known: %s' % ', '.join(sorted(fields)))
        if name in FIXED:
            raise ImagePropertyNameInvalid(name=key, reason=FIXED[name])
    try:
        obj = image_meta.ImageMetaProps.from_dict(props, strict=True)
    except exception.InvalidImageProperty as e:
        raise ImagePropertyValueInvalid(**e.kwargs)
    return {name: str(value) for name, value in obj.to_dict().items()}


def set(host, instance, props, check=None):
    """Set image properties in a stopped guest's record.

    Checks, in order: the guest exists, names, values, the guest is shut
    off, then ``check``; any refusal leaves the guest untouched.

    :param props: {name: value}; values as strings, as on a command line.
    :param check: called with the persistent XML holding the new record;
        raises for a guest that could not be rebuilt from it (the
        driver's ``plan_rebuild``: a property the guest's arch does not
        take).
    :returns: {canonical name: value stored}
    :raises: InstanceNotFound, ImagePropertyNameInvalid,
        ImagePropertyValueInvalid, InstanceInvalidState; the plan's
        refusal (an emuvirt.exception.Invalid) from ``check``
    """
    guest = records.lookup(host, instance)
    new = validate(props)
    records.require_stopped(guest, 'setting its image properties')
    merged = dict(guest.record.properties)
    merged.update(new)
    record = dataclasses.replace(guest.record, properties=merged)
    if check is not None:
        check(records.with_record(guest.xml, record))
    records.redefine(host, guest, record)
    return new

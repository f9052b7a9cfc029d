"""Base classes and registry of the emuvirt versioned objects."""

from oslo_versionedobjects import base as ovo_base

OBJ_PROJECT_NAMESPACE = 'emuvirt'


class EmuvirtObjectRegistry(ovo_base.VersionedObjectRegistry):
    """Registry of emuvirt objects.

    oslo.versionedobjects keeps one process-wide table of classes; the
    hook additionally makes the newest version of each class an attribute
    of :mod:`emuvirt.objects`, so ``objects.ImageMeta`` works.
    """

    def registration_hook(self, cls, index):
        from emuvirt import objects
        current = getattr(objects, cls.obj_name(), None)
        if current is None or _newer(cls.VERSION, current.VERSION):
            setattr(objects, cls.obj_name(), cls)


def _newer(version, other):
    def as_tuple(v):
        return tuple(int(part) for part in v.split('.'))
    return as_tuple(version) >= as_tuple(other)


class EmuvirtObject(ovo_base.VersionedObject):
    """Base of every emuvirt object."""

    OBJ_PROJECT_NAMESPACE = OBJ_PROJECT_NAMESPACE
    OBJ_SERIAL_NAMESPACE = 'emuvirt_object'

    def obj_get(self, name, default=None):
        """Return field ``name`` if it is set, else ``default``."""
        if self.obj_attr_is_set(name):
            return getattr(self, name)
        return default


def emuvirt_classes():
    """Return {name: [classes]} of the registered emuvirt objects."""
    return {name: classes
            for name, classes in ovo_base.VersionedObjectRegistry
            .obj_classes().items()
            if classes[0].OBJ_PROJECT_NAMESPACE == OBJ_PROJECT_NAMESPACE}

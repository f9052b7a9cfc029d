"""emuvirt versioned objects.

Importing this package registers every object; the registry hook makes
each class available here, e.g. ``objects.ImageMeta``.
"""


def register_all():
    """Import the object modules so that their classes are registered."""
    __import__('emuvirt.objects.flavor')
    __import__('emuvirt.objects.image_meta')
    __import__('emuvirt.objects.instance')


register_all()

"""Image properties and flavor -> what to ask Placement for.

Properties that constrain the host become required traits:

``hw_emulation_architecture=X``
    the host must run guests of X: :func:`emuvirt.virt.traits.arch_trait`
    (``COMPUTE_ARCH_X``, or ``CUSTOM_EMUVIRT_ARCH_X`` for an arch os-traits
    lacks);
``hw_architecture=X`` (or the older ``architecture``)
    the host hardware must be X: ``HW_ARCH_X``;
``trait:NAME=required`` / ``trait:NAME=forbidden``
    as in Nova, a trait the host must or must not have.

A value that cannot become a trait (an unknown arch, an arch emuvirt
cannot emulate, a malformed trait) fails the request with an error naming
the property. Unlike Nova's prefilter, which drops the constraint and so
lets the request land on any host, a constraint is never silently lost.
"""

import dataclasses
import math
import re
import typing as ty

from emuvirt import architecture
from emuvirt import exception
from emuvirt.virt import archs
from emuvirt.virt import provider_tree as ptree
from emuvirt.virt import traits as traits_mod

PROP_EMULATION_ARCH = 'hw_emulation_architecture'
PROP_ARCH = 'hw_architecture'
LEGACY_PROP_ARCH = 'architecture'
TRAIT_PROP_PREFIX = 'trait:'
REQUIRED = 'required'
FORBIDDEN = 'forbidden'

_CUSTOM_TRAIT_RE = re.compile(r'^CUSTOM_[A-Z0-9_]+$')


@dataclasses.dataclass(frozen=True)
class PlacementRequest:
    """An allocation candidates query: amounts and trait constraints."""

    resources: ty.Mapping[str, int]
    required: ty.FrozenSet[str] = frozenset()
    forbidden: ty.FrozenSet[str] = frozenset()


def _as_dict(props):
    if props is None:
        return {}
    if hasattr(props, 'properties'):      # ImageMeta
        props = props.properties
    if hasattr(props, 'to_dict'):         # ImageMetaProps
        return props.to_dict()
    return dict(props)


def _value(props, name):
    value = props.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def emulation_arch_trait(value):
    """Trait for ``hw_emulation_architecture=value``.

    :raises: InvalidArchitectureName, InvalidImageProperty.
    """
    arch = architecture.canonicalize(value, what=PROP_EMULATION_ARCH)
    if arch not in archs.PROFILES:
        raise exception.InvalidImageProperty(
            name=PROP_EMULATION_ARCH,
            reason='emuvirt cannot emulate %s, so no host offers it '
                   '(emulated arches: %s)' % (
                       arch, ', '.join(sorted(archs.PROFILES))))
    return traits_mod.arch_trait(arch)


def hw_arch_trait(value, name=PROP_ARCH):
    """Trait for ``hw_architecture=value``.

    :raises: InvalidArchitectureName naming the property.
    """
    arch = architecture.canonicalize(value, what=name)
    return traits_mod.hw_arch_trait(arch)


def _check_trait_name(prop, trait):
    import os_traits    # here: its import walks all its modules (~10 ms)

    if trait in os_traits.get_traits() or _CUSTOM_TRAIT_RE.match(trait):
        return
    raise exception.InvalidImageProperty(
        name=prop, reason="'%s' is neither a standard trait nor a "
                          "CUSTOM_ trait name (A-Z, 0-9, _)" % trait)


def image_traits(props):
    """(required, forbidden) trait sets for image properties.

    :param props: a dict of image properties, an ImageMetaProps or an
        ImageMeta.
    :raises: InvalidImageProperty or InvalidArchitectureName naming the
        property that cannot be turned into a trait.
    """
    props = _as_dict(props)
    required, forbidden = set(), set()
    emu_arch = _value(props, PROP_EMULATION_ARCH)
    if emu_arch is not None:
        required.add(emulation_arch_trait(emu_arch))
    for name in (PROP_ARCH, LEGACY_PROP_ARCH):
        hw_arch = _value(props, name)
        if hw_arch is not None:
            required.add(hw_arch_trait(hw_arch, name))
            break
    _trait_specs(props, required, forbidden)
    return frozenset(required), frozenset(forbidden)


def _trait_specs(specs, required, forbidden):
    """Add ``trait:NAME=required|forbidden`` entries of ``specs``."""
    for key in sorted(specs):
        if not key.startswith(TRAIT_PROP_PREFIX):
            continue
        trait = key[len(TRAIT_PROP_PREFIX):]
        _check_trait_name(key, trait)
        value = str(specs[key]).strip().lower()
        if value == REQUIRED:
            required.add(trait)
        elif value == FORBIDDEN:
            forbidden.add(trait)
        else:
            raise exception.InvalidImageProperty(
                name=key, reason="'%s' is neither %s nor %s" % (
                    specs[key], REQUIRED, FORBIDDEN))
    both = required & forbidden
    if both:
        raise exception.InvalidImageProperty(
            name=TRAIT_PROP_PREFIX + sorted(both)[0],
            reason='the trait is both required and forbidden')


def resources_from_flavor(flavor):
    """{resource class: amount} a guest of ``flavor`` takes.

    DISK_GB is root + ephemeral disk plus swap (MiB) rounded up to GiB.
    """
    disk_gb = (flavor.root_gb + flavor.ephemeral_gb +
               int(math.ceil(flavor.swap / 1024.0)))
    resources = {ptree.VCPU: flavor.vcpus, ptree.MEMORY_MB: flavor.memory_mb,
                 ptree.DISK_GB: disk_gb}
    return {rc: amount for rc, amount in resources.items() if amount}


def build_request(props, flavor):
    """The :class:`PlacementRequest` for an image and a flavor.

    The flavor's extra specs may add ``trait:NAME=required|forbidden``
    too, as in Nova.
    """
    required, forbidden = (set(t) for t in image_traits(props))
    _trait_specs(flavor.extra_specs or {}, required, forbidden)
    return PlacementRequest(resources_from_flavor(flavor),
                            frozenset(required), frozenset(forbidden))

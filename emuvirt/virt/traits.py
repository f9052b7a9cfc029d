"""Architectures to trait names.

A host reports, for Placement to match against image properties:

``COMPUTE_ARCH_<ARCH>``
    the host can run guests of ARCH (``hw_emulation_architecture``), for
    the arches os-traits has a ``COMPUTE_ARCH_`` trait for;
``CUSTOM_EMUVIRT_ARCH_<ARCH>``
    the same, for runnable arches os-traits lacks (armv7l, ppc64, ...);
``HW_ARCH_<ARCH>``
    the host's own hardware arch (``hw_architecture``); os-traits spells a
    few differently from the canonical arch name (``armv7l`` is
    ``HW_ARCH_ARMV7``); an arch os-traits lacks gets
    ``CUSTOM_EMUVIRT_HW_ARCH_<ARCH>``;
``CUSTOM_EMUVIRT_ACCEL_<ARCH>``
    guests of ARCH run hardware-accelerated (KVM), not emulated.

Whether os-traits has a name is asked of os-traits itself
(``os_traits.get_traits``), so a new os-traits release with more
``COMPUTE_ARCH_`` traits changes the answer without a code change.

Every trait above is *owned* by emuvirt: :func:`is_owned` says so, and
the provider tree update removes an owned trait that is no longer true
while leaving every other trait (an operator's) alone.
"""

import functools

COMPUTE_ARCH_PREFIX = 'COMPUTE_ARCH_'
HW_ARCH_PREFIX = 'HW_ARCH_'
# os_traits.CUSTOM_NAMESPACE (a unit test keeps them equal): os-traits is
# imported where a trait name is made, as its import walks all its modules
# (~10 ms), which commands that make none (server list) need not pay for.
CUSTOM_PREFIX = 'CUSTOM_'
EMUVIRT_PREFIX = CUSTOM_PREFIX + 'EMUVIRT_'
CUSTOM_ARCH_PREFIX = EMUVIRT_PREFIX + 'ARCH_'
CUSTOM_HW_ARCH_PREFIX = EMUVIRT_PREFIX + 'HW_ARCH_'
ACCEL_PREFIX = EMUVIRT_PREFIX + 'ACCEL_'

# Canonical arch name -> suffix os-traits uses, where it is not simply the
# upper-cased name.
_HW_ARCH_SPELLING = {'armv7l': 'ARMV7'}


def _suffix(arch):
    """The arch in trait spelling: upper case, A-Z 0-9 and _ only."""
    import os_traits

    return os_traits.normalize_name(arch)[len(CUSTOM_PREFIX):]


@functools.lru_cache(maxsize=None)
def _standard(prefix):
    import os_traits

    return frozenset(os_traits.get_traits(prefix))


def arch_trait(arch):
    """The trait saying "this host runs guests of ``arch``".

    ``aarch64`` -> ``COMPUTE_ARCH_AARCH64``; ``armv7l`` ->
    ``CUSTOM_EMUVIRT_ARCH_ARMV7L``. ``arch`` must be canonical.
    """
    name = COMPUTE_ARCH_PREFIX + _suffix(arch)
    if name in _standard(COMPUTE_ARCH_PREFIX):
        return name
    return CUSTOM_ARCH_PREFIX + _suffix(arch)


def hw_arch_trait(arch):
    """The trait saying "this host's own hardware is ``arch``".

    ``x86_64`` -> ``HW_ARCH_X86_64``; ``armv7l`` -> ``HW_ARCH_ARMV7``;
    ``riscv64`` -> ``CUSTOM_EMUVIRT_HW_ARCH_RISCV64`` (os-traits 3.9 has no
    ``HW_ARCH_RISCV64``).
    """
    suffix = _HW_ARCH_SPELLING.get(arch) or _suffix(arch)
    name = HW_ARCH_PREFIX + suffix
    if name in _standard(HW_ARCH_PREFIX):
        return name
    return CUSTOM_HW_ARCH_PREFIX + _suffix(arch)


def accel_trait(arch):
    """The trait saying "guests of ``arch`` run under KVM here"."""
    return ACCEL_PREFIX + _suffix(arch)


def is_owned(trait):
    """Whether emuvirt sets (and so may remove) ``trait``.

    Operators must not set these by hand: the next update removes an
    owned trait the host does not have.
    """
    return (trait.startswith(COMPUTE_ARCH_PREFIX) or
            trait.startswith(HW_ARCH_PREFIX) or
            trait.startswith(EMUVIRT_PREFIX))


def host_traits(host_arch, runnable_arches, accelerated_arches=()):
    """The traits a host reports.

    :param host_arch: canonical arch of the host hardware.
    :param runnable_arches: canonical arches whose guests the host can
        really run (emulator, firmware and domain capabilities present).
    :param accelerated_arches: those of them that run under KVM.
    :returns: a frozenset of trait names, all owned (:func:`is_owned`).
    """
    traits = {arch_trait(arch) for arch in runnable_arches}
    traits.update(accel_trait(arch) for arch in accelerated_arches
                  if arch in runnable_arches)
    if host_arch:
        traits.add(hw_arch_trait(host_arch))
    return frozenset(traits)


def merge(current, reported):
    """The trait set to store: ``current`` with owned traits replaced.

    Traits someone else set (not owned) are kept; owned ones become
    exactly ``reported``.
    """
    kept = {t for t in current if not is_owned(t)}
    return frozenset(kept | set(reported))

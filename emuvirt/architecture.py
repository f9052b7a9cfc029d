"""Canonical CPU architecture names and the aliases used for them.

Nova's list plus ``riscv64``, as libvirt and ``uname -m`` spell them, and
the other spellings distributions and tools use. Every module that takes
an architecture name from outside (image property, option, command line,
libvirt) passes it through :func:`canonicalize`. The versioned objects'
enum (:class:`emuvirt.objects.fields.Architecture`) holds the same names;
this module needs no more than the standard library, so that commands
which never build an object do not load oslo.versionedobjects to check a
name.
"""

from emuvirt import exception

ALPHA = 'alpha'
ARMV6 = 'armv6'
ARMV7 = 'armv7l'
ARMV7B = 'armv7b'
AARCH64 = 'aarch64'
CRIS = 'cris'
I686 = 'i686'
IA64 = 'ia64'
LM32 = 'lm32'
M68K = 'm68k'
MICROBLAZE = 'microblaze'
MICROBLAZEEL = 'microblazeel'
MIPS = 'mips'
MIPSEL = 'mipsel'
MIPS64 = 'mips64'
MIPS64EL = 'mips64el'
OPENRISC = 'openrisc'
PARISC = 'parisc'
PARISC64 = 'parisc64'
PPC = 'ppc'
PPCLE = 'ppcle'
PPC64 = 'ppc64'
PPC64LE = 'ppc64le'
PPCEMB = 'ppcemb'
RISCV64 = 'riscv64'
S390 = 's390'
S390X = 's390x'
SH4 = 'sh4'
SH4EB = 'sh4eb'
SPARC = 'sparc'
SPARC64 = 'sparc64'
UNICORE32 = 'unicore32'
X86_64 = 'x86_64'
XTENSA = 'xtensa'
XTENSAEB = 'xtensaeb'

ALL = (
    ALPHA, ARMV6, ARMV7, ARMV7B, AARCH64, CRIS, I686, IA64, LM32, M68K,
    MICROBLAZE, MICROBLAZEEL, MIPS, MIPSEL, MIPS64, MIPS64EL, OPENRISC,
    PARISC, PARISC64, PPC, PPCLE, PPC64, PPC64LE, PPCEMB, RISCV64, S390,
    S390X, SH4, SH4EB, SPARC, SPARC64, UNICORE32, X86_64, XTENSA,
    XTENSAEB,
)

# Other spellings of a canonical name: Debian/Ubuntu port names (amd64,
# arm64, ppc64el, i386) and the older x86 generations that Nova also
# folds into i686. x64 is deliberately absent: no libvirt, kernel or
# distribution tool reports it.
ALIASES = {
    'amd64': X86_64,
    'arm64': AARCH64,
    'ppc64el': PPC64LE,
    'i386': I686,
    'i486': I686,
    'i586': I686,
}

_ALL = frozenset(ALL)


def is_valid(name):
    """Whether ``name`` is a canonical architecture name."""
    return name in _ALL


def canonicalize(name, what=None):
    """Return the canonical name for ``name``.

    The name is lower-cased and aliases are resolved. ``None`` is
    returned unchanged (meaning "not given").

    :param name: an architecture name from outside.
    :param what: the property or option the name came from, for the
        error message.
    :raises: InvalidArchitectureName naming the value and ``what``.
    """
    if name is None:
        return None
    if not isinstance(name, str):
        raise exception.InvalidArchitectureName(
            arch=name, name=what or 'architecture')
    newname = name.strip().lower()
    newname = ALIASES.get(newname, newname)
    if newname not in _ALL:
        raise exception.InvalidArchitectureName(
            arch=name, name=what or 'architecture')
    return newname

"""Find a UEFI loader and NVRAM template for a guest arch and machine.

QEMU firmware packages install JSON descriptors (QEMU's
``docs/interop/firmware.json`` schema) in ``/usr/share/qemu/firmware``;
administrators may add or mask them in ``/etc/qemu/firmware``. libvirt's
``<os firmware='efi'>`` picks the first matching descriptor by file name,
which on Debian 12 is the secure-boot build with Microsoft keys enrolled:
unsigned loaders then fail with "Security Violation". emuvirt therefore
chooses the firmware itself and names the loader and template explicitly,
refusing descriptors with ``secure-boot`` or ``enrolled-keys`` unless a
secure boot was asked for.

When no descriptor matches, the loader paths listed in the domain
capabilities are tried, paired with the ``VARS`` file next to each.
"""

import collections
import fnmatch
import json
import os
import re

from oslo_log import log as logging

from emuvirt import exception
from emuvirt.virt.libvirt import caps

LOG = logging.getLogger(__name__)

# Highest priority first, as QEMU and libvirt search them. A file in an
# earlier directory replaces one with the same name in a later one; an
# empty file masks it.
DESCRIPTOR_DIRS = ('/etc/qemu/firmware', '/usr/share/qemu/firmware')

SECURE_FEATURES = frozenset(('secure-boot', 'enrolled-keys'))
# Firmware that only runs inside a confidential-computing guest.
CONFIDENTIAL_FEATURES = frozenset(('amd-sev-es', 'amd-sev-snp',
                                   'intel-tdx'))

# QEMU firmware schema arch names that differ from emuvirt's canonical ones.
_SCHEMA_ARCHES = {'arm': 'armv7l', 'i386': 'i686'}

# Loader paths plausibly built for an arch, for the domain-capabilities
# fallback: without descriptors libvirt lists its compiled-in defaults
# (OVMF and AAVMF) for every arch, even s390x.
_LOADER_HINTS = {
    'aarch64': re.compile(r'aavmf_|aarch64|qemu_efi', re.I),
    'armv7l': re.compile(r'aavmf32|/arm/|armhf', re.I),
    'x86_64': re.compile(r'ovmf(?!32)|x86_64|x64', re.I),
    'i686': re.compile(r'ovmf32|ia32|i386', re.I),
    'riscv64': re.compile(r'riscv64', re.I),
    'loongarch64': re.compile(r'loongarch64', re.I),
}
# Loader builds with secure boot on or Microsoft/test keys enrolled.
_SECURE_LOADER_RE = re.compile(r'\.(ms|secboot|snakeoil)\.', re.I)

Firmware = collections.namedtuple(
    'Firmware', ['loader', 'loader_type', 'nvram_template', 'secure',
                 'descriptor', 'features'], defaults=(None, frozenset()))
Firmware.__doc__ = """A UEFI build to boot a guest with.

``loader_type`` is 'pflash' (flash device, with an NVRAM template) or
'rom'; ``nvram_template`` is None for firmware without a variable store;
``secure`` says the build enforces secure boot; ``descriptor`` is the JSON
file it came from (None when taken from domain capabilities) and
``features`` its feature list (e.g. ``requires-smm``, which the guest
config must honour).
"""


def installed(path):
    """Whether a firmware file (a boot loader QEMU loads) is there."""
    return os.path.isfile(path)


def _descriptor_paths(descriptor_dirs):
    """Descriptor paths in priority order (by file name), masks too."""
    chosen = {}
    for directory in descriptor_dirs:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if name.endswith('.json') and name not in chosen:
                chosen[name] = os.path.join(directory, name)
    return [chosen[name] for name in sorted(chosen)]


def list_descriptors(descriptor_dirs=DESCRIPTOR_DIRS):
    """Descriptor paths in priority order (by file name), masks applied."""
    return [path for path in _descriptor_paths(descriptor_dirs)
            if os.path.getsize(path) > 0]


def load_descriptor(path):
    """The parsed JSON descriptor, or None if it cannot be read.

    An empty file (a mask) is None too, without a warning.
    """
    try:
        with open(path, 'rb') as f:
            text = f.read()
        if not text:
            return None
        data = json.loads(text)
    except (OSError, ValueError) as e:
        LOG.warning('Ignoring firmware descriptor %s: %s', path, e)
        return None
    return data if isinstance(data, dict) else None


def _targets_match(descriptor, arch, machines):
    for target in descriptor.get('targets') or ():
        t_arch = target.get('architecture')
        t_arch = _SCHEMA_ARCHES.get(t_arch, t_arch)
        if caps.canonical_arch(t_arch) != arch:
            continue
        for pattern in target.get('machines') or ():
            if any(fnmatch.fnmatchcase(m, pattern) for m in machines):
                return True
    return False


def _firmware_from(descriptor, path, secure_boot):
    """A Firmware for a matching descriptor, or None if it is unsuitable."""
    if 'uefi' not in (descriptor.get('interface-types') or ()):
        return None
    features = set(descriptor.get('features') or ())
    if features & CONFIDENTIAL_FEATURES:
        return None
    secure = bool(features & SECURE_FEATURES)
    if secure != bool(secure_boot):
        return None
    mapping = descriptor.get('mapping') or {}
    device = mapping.get('device')
    if device == 'flash':
        if mapping.get('mode', 'split') == 'combined':
            return None
        executable = (mapping.get('executable') or {}).get('filename')
        template = (mapping.get('nvram-template') or {}).get('filename')
        if not executable:
            return None
        return Firmware(executable, 'pflash', template,
                        'secure-boot' in features, path,
                        frozenset(features))
    if device == 'memory' and mapping.get('filename'):
        return Firmware(mapping['filename'], 'rom', None,
                        'secure-boot' in features, path,
                        frozenset(features))
    return None


def _from_descriptors(arch, machines, secure_boot, descriptor_dirs, exists):
    # Each file is read once, masks (empty files) included: a stat of
    # every file first costs more than it saves.
    for path in _descriptor_paths(descriptor_dirs):
        descriptor = load_descriptor(path)
        if descriptor is None or not _targets_match(descriptor, arch,
                                                    machines):
            continue
        firmware = _firmware_from(descriptor, path, secure_boot)
        if firmware is None:
            continue
        files = [firmware.loader, firmware.nvram_template]
        missing = [f for f in files if f and not exists(f)]
        if missing:
            LOG.warning('Firmware descriptor %s names missing files %s',
                        path, ', '.join(missing))
            continue
        return firmware
    return None


def _vars_for(loader):
    """The VARS file conventionally shipped next to a CODE loader."""
    directory, name = os.path.split(loader)
    index = name.rfind('CODE')
    if index < 0:
        return None
    return os.path.join(directory,
                        name[:index] + 'VARS' + name[index + len('CODE'):])


def _from_domcaps(arch, domcaps, secure_boot, exists):
    if domcaps is None or domcaps.arch != arch or not domcaps.loader_supported:
        return None
    if 'pflash' not in domcaps.loader_types:
        return None
    hint = _LOADER_HINTS.get(arch)
    for loader in domcaps.loader_values:
        if hint is None or not hint.search(loader):
            continue
        if bool(_SECURE_LOADER_RE.search(loader)) != bool(secure_boot):
            continue
        template = _vars_for(loader)
        if template and exists(loader) and exists(template):
            return Firmware(loader, 'pflash', template, bool(secure_boot),
                            None)
    return None


def find_uefi(arch, machine, domcaps=None, secure_boot=False,
              descriptor_dirs=DESCRIPTOR_DIRS, exists=os.path.exists):
    """Choose UEFI firmware for a guest.

    :param arch: guest architecture (aliases accepted).
    :param machine: machine type; descriptors list versioned globs
        (``virt-*``), so pass the canonical name (``virt-7.2``) or give
        ``domcaps``, whose machine is canonical.
    :param domcaps: DomainCapabilities for the guest, used for its
        canonical machine and as a fallback list of loaders.
    :param secure_boot: want a secure-boot build (default: refuse them,
        and refuse builds with keys enrolled).
    :param descriptor_dirs: where to look for QEMU firmware descriptors,
        highest priority first.
    :param exists: predicate for file existence (tests replace it).
    :returns: Firmware.
    :raises: FirmwareNotFound naming the places looked in.
    """
    arch = caps.canonical_arch(arch)
    machines = [m for m in (machine, domcaps and domcaps.machine) if m]
    firmware = (
        _from_descriptors(arch, machines, secure_boot, descriptor_dirs,
                          exists) or
        _from_domcaps(arch, domcaps, secure_boot, exists))
    if firmware is None:
        looked = list(descriptor_dirs)
        if domcaps is not None:
            looked += list(domcaps.loader_values)
        raise exception.FirmwareNotFound(
            kind='UEFI%s' % (' secure-boot' if secure_boot else ''),
            arch=arch, paths=', '.join(looked))
    LOG.debug('UEFI firmware for %s %s: %s', arch, machines, firmware)
    return firmware

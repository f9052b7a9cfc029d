"""Which guest architectures this host can really run.

For every guest arch libvirt's capabilities list (plus every arch emuvirt
has a profile for, so a missing emulator shows), :class:`CapabilityProbe`
records the emulator and whether the file is there, the machine types and
domain types, whether guests would run under KVM, whether libvirt answers
domain capabilities for the machine guests would get, and the firmware
the arch profile needs and whether it is installed. An arch is
*runnable* when it has an arch profile, is enabled, its emulator exists,
its domain capabilities answered and its firmware (where needed) is
found.

Foreign arches are probed as domain type ``qemu`` (TCG) even with
``[libvirt]virt_type = kvm``: that is what their guests get.

Probing costs libvirt calls (1.5 to 2 s per emulator the first time), so
the result is cached. It is probed again only when a watched file
appears, changes (inode, size or mtime) or disappears: the emulator
binaries, the directories holding them (a new emulator shows up there),
the firmware descriptor directories and descriptors, and the firmware
files in use.
"""

import dataclasses
import os
import types
import typing as ty

from oslo_log import log as logging

from emuvirt.conf import validate
from emuvirt import exception
from emuvirt.virt import archs
from emuvirt.virt.libvirt import decide
from emuvirt.virt.libvirt import firmware as fw
from emuvirt.virt import traits as traits_mod

LOG = logging.getLogger(__name__)

HVM = 'hvm'


def file_signature(path):
    """(inode, size, mtime in ns) of ``path``, or None if it is missing.

    The one place the probe looks at the filesystem; tests replace it.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def file_exists(path):
    return file_signature(path) is not None


@dataclasses.dataclass(frozen=True)
class ArchCapabilities:
    """What the host offers for one guest architecture."""

    arch: str
    emulator: ty.Optional[str] = None
    emulator_present: bool = False
    machines: ty.Tuple[str, ...] = ()
    domain_types: ty.Tuple[str, ...] = ()
    # Domain type guests of this arch get: 'kvm' or 'qemu' (TCG).
    domain_type: ty.Optional[str] = None
    # Canonical machine the domain capabilities were probed with.
    machine: ty.Optional[str] = None
    domcaps: bool = False
    # 'uefi', 'builtin', or None without an arch profile.
    firmware_needed: ty.Optional[str] = None
    firmware_found: ty.Tuple[str, ...] = ()
    # Why guests of this arch cannot run here; None when they can.
    reason: ty.Optional[str] = None

    @property
    def runnable(self):
        return self.reason is None

    @property
    def accelerated(self):
        return self.runnable and self.domain_type == 'kvm'

    @property
    def accelerator(self):
        """'kvm', 'tcg', or None when not runnable."""
        if not self.runnable:
            return None
        return 'kvm' if self.domain_type == 'kvm' else 'tcg'

    @property
    def trait(self):
        return traits_mod.arch_trait(self.arch)

    def to_dict(self):
        data = dataclasses.asdict(self)
        data.update(runnable=self.runnable, accelerator=self.accelerator,
                    trait=self.trait if self.runnable else None)
        return data


@dataclasses.dataclass(frozen=True)
class HostCapabilities:
    """The probe's result: the host arch and one entry per guest arch."""

    host_arch: str
    archs: ty.Mapping[str, ArchCapabilities]

    def runnable_arches(self):
        return tuple(sorted(a for a, c in self.archs.items() if c.runnable))

    def accelerated_arches(self):
        return tuple(sorted(a for a, c in self.archs.items()
                            if c.accelerated))

    def traits(self):
        """The traits this host reports (all owned by emuvirt)."""
        return traits_mod.host_traits(self.host_arch,
                                      self.runnable_arches(),
                                      self.accelerated_arches())

    def to_dict(self):
        return {'host_arch': self.host_arch,
                'traits': sorted(self.traits()),
                'archs': {a: self.archs[a].to_dict()
                          for a in sorted(self.archs)}}


class CapabilityProbe(object):
    """Probes a :class:`~emuvirt.virt.libvirt.host.Host`, with a cache.

    :param host: the libvirt Host.
    :param conf: configuration (``[libvirt]virt_type``,
        ``[libvirt]hw_machine_type``,
        ``[emulation]enabled_architectures``).
    :param firmware_dirs: QEMU firmware descriptor directories; default
        ``emuvirt.virt.libvirt.firmware.DESCRIPTOR_DIRS``.
    """

    def __init__(self, host, conf, firmware_dirs=None):
        self._host = host
        self._conf = conf
        self._firmware_dirs = tuple(firmware_dirs or fw.DESCRIPTOR_DIRS)
        self._result = None
        self._watched = ()
        self._signature = None
        self.probes = 0

    def invalidate(self):
        """Probe again on the next :meth:`get`."""
        self._result = None

    def get(self):
        """The host capabilities, probed again only if files changed.

        libvirt refusing an arch's domain capabilities is a fact about the
        arch (kept until files change); losing libvirt is not.

        :raises: HypervisorUnavailable when libvirt cannot be asked;
            nothing is cached then.
        """
        if self._result is not None:
            signature = self._sign(self._watched)
            if signature == self._signature:
                return self._result
            LOG.info('Emulator or firmware files changed; probing host '
                     'capabilities again')
            self._host.invalidate_caches()
        self._result = None
        result, watched = self._probe()
        self.probes += 1
        self._result = result
        self._watched = watched
        self._signature = self._sign(watched)
        LOG.info('Host %s runs guests of: %s', result.host_arch,
                 ', '.join(result.runnable_arches()) or 'no arch')
        return result

    @staticmethod
    def _sign(paths):
        return tuple(file_signature(p) for p in paths)

    # -- probing ----------------------------------------------------------

    def _probe(self):
        caps = self._host.get_capabilities()
        host_arch = caps.host_cpu.arch
        machine_map = validate.machine_type_map(self._conf)
        enabled = set(self._conf.emulation.enabled_architectures)
        watched = set(self._firmware_dirs)
        watched.update(fw.list_descriptors(self._firmware_dirs))
        found = {}
        arches = set(caps.guest_arches(HVM)) | set(archs.PROFILES)
        for arch in sorted(arches):
            guest = caps.guest(arch, HVM)
            if guest is not None and guest.emulator:
                for emulator in {guest.emulator_for(t)
                                 for t in guest.domain_types} | {
                                     guest.emulator}:
                    watched.update((emulator, os.path.dirname(emulator)))
            found[arch], files = self._probe_arch(
                arch, guest, host_arch, machine_map, enabled)
            watched.update(files)
        result = HostCapabilities(host_arch, types.MappingProxyType(found))
        return result, tuple(sorted(watched))

    def _probe_arch(self, arch, guest, host_arch, machine_map, enabled):
        """(ArchCapabilities, firmware files to watch) for one arch."""
        profile = archs.PROFILES.get(arch)
        info = dict(arch=arch,
                    firmware_needed=profile.firmware if profile else None)
        if guest is None:
            return ArchCapabilities(
                reason='libvirt reports no emulator for it (is its '
                       'qemu-system package installed?)', **info), ()
        domain_type = 'qemu'
        if (arch == host_arch and
                decide.domain_type(self._conf.libvirt.virt_type,
                                   guest) == 'kvm'):
            domain_type = 'kvm'
        emulator = guest.emulator_for(domain_type)
        info.update(emulator=emulator,
                    emulator_present=bool(emulator) and file_exists(
                        emulator),
                    machines=tuple(guest.machine_names()),
                    domain_types=tuple(sorted(guest.domain_types)),
                    domain_type=domain_type)
        if profile is None:
            return ArchCapabilities(
                reason='emuvirt has no arch profile for it', **info), ()
        if arch != host_arch and arch not in enabled:
            return ArchCapabilities(
                reason='not in [emulation]enabled_architectures',
                **info), ()
        if not info['emulator_present']:
            return ArchCapabilities(
                reason='emulator %s is missing' % emulator, **info), ()
        try:
            machine, _source = decide.machine_type(
                {}, machine_map, profile, guest, dom_type=domain_type)
            info['machine'] = machine
            domcaps = self._host.get_domain_capabilities(arch, machine,
                                                         domain_type)
            # Kept by the host for the service's life: read it all now
            # rather than keep its document (a guest's first plan reads
            # only what it needs).
            domcaps.settle()
        except exception.HypervisorUnavailable:
            raise
        except exception.EmuvirtException as e:
            return ArchCapabilities(reason=str(e), **info), ()
        info['domcaps'] = True
        if profile.firmware != 'uefi':
            return ArchCapabilities(**info), ()
        watched = tuple(os.path.dirname(p) for p in domcaps.loader_values)
        try:
            firmware = fw.find_uefi(arch, machine, domcaps=domcaps,
                                    descriptor_dirs=self._firmware_dirs,
                                    exists=file_exists)
        except exception.FirmwareNotFound as e:
            return ArchCapabilities(reason=str(e), **info), watched
        files = tuple(f for f in (firmware.loader, firmware.nvram_template)
                      if f)
        return (ArchCapabilities(firmware_found=files, **info),
                watched + files)

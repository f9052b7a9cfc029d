"""Guest decisions: one function per question, each checked against libvirt.

Each function takes the guest's arch profile, what the image asked for and
what libvirt offers for THAT arch (capabilities, domain capabilities), and
returns a decision or raises an error that names the image property or
option at fault. None of them looks at the host architecture: the only
host fact used is whether libvirt offers KVM for the guest arch.
"""

from emuvirt import architecture
from emuvirt import exception
from emuvirt.virt.libvirt import config as vconfig
from emuvirt.virt.libvirt import firmware

PROP_MACHINE = 'hw_machine_type'
OPT_MACHINE = '[libvirt]hw_machine_type'
PROP_CPU = 'hw_cpu_model'
OPT_CPU = '[emulation]cpu_models'


def _prop(props, name):
    value = props.get(name) if props is not None else None
    return value if value not in ('', None) else None


def guest_arch(props, host_arch):
    """The guest arch an image asks for, canonical.

    ``hw_emulation_architecture``, else ``hw_architecture``, else the
    host's own; the error names the property the bad value came from.
    """
    for name in ('hw_emulation_architecture', 'hw_architecture'):
        value = _prop(props, name)
        if value is not None:
            return architecture.canonicalize(str(value), name)
    return host_arch


def domain_type(virt_type, guest_caps, foreign=False):
    """``kvm`` when asked for and libvirt offers it for this arch.

    libvirt offers KVM only for the host's own arch (and its 32-bit
    sibling); every foreign arch therefore gets ``qemu`` (TCG), whatever
    ``[libvirt]virt_type`` says. ``foreign`` (the guest arch is not the
    host's) makes that explicit even where libvirt lists a ``kvm`` domain
    for another arch.
    """
    if not foreign and virt_type == 'kvm' and (
            guest_caps.supports_domain_type('kvm')):
        return 'kvm'
    return 'qemu'


def emulation_enabled(arch, host_arch, enabled):
    """Refuse a foreign arch ``[emulation]enabled_architectures`` lacks.

    The host's own arch is always allowed.
    """
    if arch != host_arch and arch not in enabled:
        raise exception.ArchitectureNotSupported(
            arch=arch,
            reason='it is not in option '
                   '[emulation]enabled_architectures (%s)' %
                   ', '.join(enabled))


def machine_type(props, conf_map, profile, guest_caps, recorded=None):
    """Return (canonical machine, where the name came from).

    The machine type recorded for an existing guest first (so a guest
    keeps its chipset whatever the config says later), then the image
    property, then ``[libvirt]hw_machine_type`` for the GUEST arch, then
    the arch profile's default; always checked against the machines
    libvirt offers for that arch, aliases resolved.
    """
    name, source = recorded, 'the instance record'
    if name is None:
        name, source = _prop(props, PROP_MACHINE), 'image property %s' % (
            PROP_MACHINE)
    if name is None and conf_map.get(profile.arch):
        name, source = conf_map[profile.arch], 'option %s' % OPT_MACHINE
    if name is None:
        name, source = profile.default_machine, 'the %s default' % (
            profile.arch)
    canonical = guest_caps.resolve_machine(name)
    if canonical is None:
        offered = ', '.join(sorted(guest_caps.machine_names())) or 'none'
        raise exception.InvalidMachineType(
            mtype=name, arch=profile.arch, source=source, offered=offered)
    return canonical, source


def cpu(props, conf_models, profile, domcaps, dom_type):
    """Return a :class:`GuestCPU` or None (no ``<cpu>`` element).

    Under KVM: the profile's host CPU modes in order. Under TCG: the image's
    ``hw_cpu_model``, else ``[emulation]cpu_models`` for the arch, else the
    profile's models in order of speed, else ``maximum`` where the profile
    allows it. Host CPU modes are never used for TCG: libvirt refuses
    them for a foreign guest.
    """
    requested = _prop(props, PROP_CPU)
    what = 'image property %s' % PROP_CPU
    if requested is None and conf_models.get(profile.arch):
        requested, what = conf_models[profile.arch], 'option %s' % OPT_CPU
    if not profile.cpu_element:
        if requested:
            raise exception.Invalid(
                reason='%s=%s: %s guests take no CPU model (libvirt '
                       'accepts no <cpu> element for them)' % (
                           what, requested, profile.arch))
        return None
    if requested:
        if not domcaps.cpu_model_offered(requested):
            raise exception.Invalid(
                reason='%s=%s: not a CPU model libvirt offers for %s; '
                       'offered: %s' % (
                           what, requested, profile.arch,
                           ', '.join(sorted(domcaps.cpu_model_names())) or
                           'none'))
        return vconfig.GuestCPU(mode='custom', model=requested)
    if dom_type == 'kvm':
        for mode in profile.kvm_cpu_modes:
            if domcaps.supports_cpu_mode(mode):
                return vconfig.GuestCPU(mode=mode)
        return None
    for model in profile.tcg_cpu_models:
        if domcaps.cpu_model_offered(model):
            return vconfig.GuestCPU(mode='custom', model=model)
    if profile.tcg_cpu_maximum and domcaps.supports_cpu_mode('maximum'):
        return vconfig.GuestCPU(mode='maximum')
    return None


def firmware_kind(props, profile, direct_kernel):
    """``'uefi'`` or ``'builtin'``: image property, else the profile.

    Direct kernel boot drops UEFI unless the image asks for it (or the
    profile keeps it), since the kernel is loaded by QEMU itself.
    """
    requested = _prop(props, 'hw_firmware_type')
    if requested is not None:
        if requested not in profile.firmware_types:
            allowed = ', '.join(profile.firmware_types) or (
                'none: the arch boots from its built-in firmware')
            raise exception.InvalidImageProperty(
                name='hw_firmware_type',
                reason='%s is not supported for %s guests; supported: %s' % (
                    requested, profile.arch, allowed))
        return 'uefi' if requested == 'uefi' else 'builtin'
    if profile.firmware == 'uefi' and direct_kernel and not (
            profile.uefi_with_kernel):
        return 'builtin'
    return profile.firmware


def boot_loader(profile, direct_kernel):
    """What QEMU loads as the kernel of a guest that has none, or None.

    A guest with a kernel of its own boots it. Otherwise the arch's
    built-in firmware boots the disk itself (None), or hands over to the
    profile's boot loader (riscv64: OpenSBI -> U-Boot), which must be
    installed; an arch no firmware boots without a kernel (mipsel malta)
    is refused, naming what is missing.
    """
    if direct_kernel:
        return None
    if profile.needs_kernel:
        raise exception.KernelRequired(
            arch=profile.arch,
            reason='QEMU has no firmware for its %s machine that boots a '
                   'disk or cdrom image' % profile.default_machine)
    if profile.boot_loader is None:
        return None
    path, package = profile.boot_loader
    if not firmware.installed(path):
        raise exception.FirmwareNotFound(
            kind='boot loader (Debian package %s)' % package,
            arch=profile.arch, paths=path)
    return path


def graphics(props, profile, domcaps):
    """Graphics console type (vnc, spice) or None for serial only."""
    requested = _prop(props, 'hw_console_type')
    if requested in (None, 'serial', 'none'):
        return None
    reason = None
    if requested not in profile.graphics:
        reason = 'the arch serves %s' % (
            ', '.join(('serial',) + profile.graphics))
    elif not domcaps.supports_graphics(requested):
        reason = 'libvirt offers no %s graphics for this machine' % requested
    if reason:
        raise exception.UnsupportedGraphics(
            name='hw_console_type', value=requested, arch=profile.arch,
            reason=reason)
    return requested


def video(props, profile, domcaps, gfx):
    """Video model, or None where the guest gets no video device."""
    requested = _prop(props, 'hw_video_model')
    if requested is None:
        return profile.default_video if gfx else None
    if requested == 'none':
        return None
    if requested not in profile.video_models or not (
            domcaps.supports_video(requested)):
        allowed = [m for m in profile.video_models
                   if domcaps.supports_video(m)]
        raise exception.InvalidImageProperty(
            name='hw_video_model',
            reason='%s is not supported for %s guests; supported: %s' % (
                requested, profile.arch, ', '.join(allowed) or 'none'))
    return requested


def _bus(props, name, allowed, default, arch):
    requested = _prop(props, name)
    if requested is None:
        return default
    if requested not in allowed:
        raise exception.InvalidImageProperty(
            name=name,
            reason='bus %s is not supported for %s guests; supported: %s' % (
                requested, arch, ', '.join(allowed)))
    return requested


def disk_bus(props, profile, domcaps):
    allowed = [b for b in profile.disk_buses if domcaps.supports_disk_bus(b)]
    return _bus(props, 'hw_disk_bus', allowed, profile.default_disk_bus,
                profile.arch)


def cdrom_bus(props, profile, machine, domcaps):
    """Bus for cdroms and config drives: the machine family's, never virtio.

    IDE only where the board has it (x86 ``pc``, mipsel ``malta``).
    """
    family = profile.family(machine)
    allowed = [family.cdrom_bus] + [
        b for b in profile.disk_buses
        if b not in ('virtio', family.cdrom_bus)]
    allowed = [b for b in allowed if domcaps.supports_disk_bus(b)]
    return _bus(props, 'hw_cdrom_bus', allowed, family.cdrom_bus,
                profile.arch)

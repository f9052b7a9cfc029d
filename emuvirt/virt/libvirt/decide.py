"""Guest decisions: one function per question, each checked against libvirt.

Each function takes the guest's arch profile, what the image asked for and
what libvirt offers for THAT arch (capabilities, domain capabilities), and
returns a decision or raises an error that names the image property or
option at fault. None of them looks at the host architecture: the only
host fact used is whether libvirt offers KVM for the guest arch.
"""

from emuvirt import architecture
from emuvirt import exception
from emuvirt.virt import archs
from emuvirt.virt.libvirt import config as vconfig
from emuvirt.virt.libvirt import firmware

PROP_MACHINE = 'hw_machine_type'
OPT_MACHINE = '[libvirt]hw_machine_type'
PROP_CPU = 'hw_cpu_model'
OPT_CPU = '[emulation]cpu_models'
ARCH_PROPS = ('hw_emulation_architecture', 'hw_architecture')


def _prop(props, name):
    value = props.get(name) if props is not None else None
    return value if value not in ('', None) else None


def guest_arch(props, host_arch):
    """The guest arch an image asks for, canonical.

    ``hw_emulation_architecture``, else ``hw_architecture``, else the
    host's own; the error names the property the bad value came from.
    """
    for name in ARCH_PROPS:
        value = _prop(props, name)
        if value is not None:
            return architecture.canonicalize(str(value), name)
    return host_arch


def _arch_property(props, arch):
    """The image property that asked for ``arch``, or None."""
    for name in ARCH_PROPS:
        value = _prop(props, name)
        if value is not None:
            try:
                given = architecture.canonicalize(str(value), name)
            except exception.InvalidArchitectureName:
                continue
            if given == arch:
                return name
    return None


def arch_profile(props, arch):
    """The arch profile of a guest arch, which the image asked for.

    :raises: ArchitectureWithoutProfile naming the property the arch came
        from (ArchitectureNotSupported when it is the host's own) for an
        arch emuvirt has no profile for.
    """
    profile = archs.PROFILES.get(arch)
    if profile is not None:
        return profile
    name = _arch_property(props, arch)
    if name is not None:
        raise exception.ArchitectureWithoutProfile(
            name=name, arch=arch, known=', '.join(sorted(archs.PROFILES)))
    return archs.get_profile(arch)


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


def emulation_enabled(arch, host_arch, enabled, props=None):
    """Refuse a foreign arch ``[emulation]enabled_architectures`` lacks.

    The host's own arch is always allowed. The refusal names the image
    property that asked for the arch, when ``props`` are given.
    """
    if arch != host_arch and arch not in enabled:
        name = _arch_property(props, arch)
        if name is not None:
            raise exception.ArchitectureNotEnabled(
                name=name, arch=arch, enabled=', '.join(enabled))
        raise exception.ArchitectureNotSupported(
            arch=arch,
            reason='it is not in option '
                   '[emulation]enabled_architectures (%s)' %
                   ', '.join(enabled))


def machine_type(props, conf_map, profile, guest_caps, recorded=None,
                 dom_type=None):
    """Return (canonical machine, where the name came from).

    The machine type recorded for an existing guest first (so a guest
    keeps its chipset whatever the config says later), then the image
    property, then ``[libvirt]hw_machine_type`` for the GUEST arch, then
    the arch profile's default; always checked against the machines
    libvirt offers for that arch, aliases resolved, and against the
    profile: a machine family it builds guests on, in a version QEMU
    starts under ``dom_type`` (:func:`emuvirt.virt.archs.machine_problem`;
    without ``dom_type`` the family only).

    :raises: InvalidMachineType (not offered), UnsupportedMachineType
        (offered, but emuvirt's guest config would not start on it), each
        naming where the name came from.
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
        raise exception.InvalidMachineType(
            mtype=name, arch=profile.arch, source=source,
            offered=exception.listing(
                usable_machines(profile, guest_caps, dom_type) or
                sorted(guest_caps.machine_names())))
    problem = archs.machine_problem(profile, canonical, dom_type)
    if problem is not None:
        raise exception.UnsupportedMachineType(
            mtype=name, arch=profile.arch, source=source,
            reason='%s; usable: %s' % (problem, exception.listing(
                usable_machines(profile, guest_caps, dom_type))))
    return canonical, source


def usable_machines(profile, guest_caps, dom_type=None):
    """Names of the offered machines a guest of ``profile`` may use.

    The unversioned names (aliases) first, then versions, newest first.
    """
    usable = [m.name for m in guest_caps.machines
              if archs.machine_problem(profile, m.canonical or m.name,
                                       dom_type) is None]

    def order(name):
        version = archs.machine_version(name)
        return (version is not None,
                tuple(-part for part in version or ()), name)
    return sorted(usable, key=order)


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
                           what, exception.label(requested),
                           profile.arch))
        return None
    if requested:
        if not domcaps.cpu_model_offered(requested):
            raise exception.Invalid(
                reason='%s=%s: not a CPU model libvirt offers for %s; '
                       'offered: %s' % (
                           what, exception.label(requested), profile.arch,
                           exception.listing(_cpu_models(profile, domcaps))))
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


def _cpu_models(profile, domcaps):
    """Offered CPU models, the profile's (fastest first) before the rest."""
    offered = set(domcaps.cpu_model_names())
    preferred = [m for m in profile.tcg_cpu_models if m in offered]
    return preferred + sorted(offered.difference(preferred))


def flavor_fit(vcpus, memory_mib, profile, machine, domcaps,
               guest_caps=None, host_memory_mib=None):
    """Refuse a flavor the guest's machine (or this host) cannot take.

    vCPUs: at most what the domain capabilities say for the machine
    (``<vcpu max>``), the capabilities' ``maxCpus`` and the profile's
    ``max_vcpus`` (with its ``max_vcpus_reason``); the refusal names the
    tightest. RAM: at most the profile's ``max_memory_mib`` and, when
    given, the host's memory (QEMU cannot allocate more).

    :raises: FlavorNotSupported naming the flavor key.
    """
    found = guest_caps.get_machine(machine) if guest_caps else None
    board = 'the %s machine %s takes' % (profile.arch, machine)
    limits = ((domcaps.max_vcpus, board, None),
              (found.maxcpus if found is not None else None, board, None),
              (profile.max_vcpus, '%s guests take' % profile.arch,
               profile.max_vcpus_reason))
    # The tightest bound: the one the flavor has to fit.
    exceeded = sorted((entry for entry in limits
                       if entry[0] and vcpus > entry[0]),
                      key=lambda entry: entry[0])
    if exceeded:
        limit, what, why = exceeded[0]
        raise exception.FlavorNotSupported(
            key='vcpus', value=vcpus,
            reason='%s at most %d%s' % (what, limit,
                                        ' (%s)' % why if why else ''))
    if profile.max_memory_mib and memory_mib > profile.max_memory_mib:
        raise exception.FlavorNotSupported(
            key='ram', value=memory_mib,
            reason='the %s machine %s takes at most %d MiB' % (
                profile.arch, machine, profile.max_memory_mib))
    if host_memory_mib and memory_mib > host_memory_mib:
        raise exception.FlavorNotSupported(
            key='ram', value=memory_mib,
            reason="more than this host's memory (%d MiB)" % (
                host_memory_mib))


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


def _one_of(props, name, allowed, default, arch, what):
    """The image's value of ``name`` if ``allowed`` has it, else refuse.

    ``default`` when the image does not set it; ``what`` names the kind
    of value in the message (bus, model).
    """
    requested = _prop(props, name)
    if requested is None:
        return default
    if requested not in allowed:
        raise exception.InvalidImageProperty(
            name=name,
            reason='%s %s is not supported for %s guests; supported: %s' % (
                what, requested, arch, ', '.join(allowed) or 'none'))
    return requested


def _bus(props, name, allowed, default, arch):
    return _one_of(props, name, allowed, default, arch, 'bus')


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


# Video models libvirt sizes from <model vram=...>: it passes vgamem_mb to
# VGA and vmware-svga, vgamem to bochs-display and vram_size to qxl, and
# drops the size for virtio, cirrus and ramfb (measured, libvirt 9.0 /
# QEMU 7.2). bochs-display refuses 1 GiB.
VIDEO_RAM_MODELS = ('vga', 'vmvga', 'bochs', 'qxl')
VIDEO_RAM_MAX_MIB = 256


def vif_model(props, profile):
    """NIC model: ``hw_vif_model``, else the profile's default.

    libvirt's domain capabilities list no NIC models; the profile lists
    those QEMU's machine for the arch takes.
    """
    return _one_of(props, 'hw_vif_model', profile.nic_models,
                   profile.default_nic_model, profile.arch, 'model')


def scsi_model(props, profile):
    """SCSI controller model the image asks for (``hw_scsi_model``).

    None when it asks for none: a guest with a SCSI disk or cdrom then
    gets the profile's default controller. Like Nova, an image that asks
    gets the controller whether or not a disk uses it.
    """
    return _one_of(props, 'hw_scsi_model', profile.scsi_models, None,
                   profile.arch, 'model')


def rng_model(props, profile, domcaps):
    """RNG model (``hw_rng_model``), or None where libvirt offers none.

    Fed from the host's ``/dev/urandom`` (backend ``random``).
    """
    allowed = [m for m in profile.rng_models if domcaps.supports_rng(m)]
    return _one_of(props, 'hw_rng_model', allowed,
                   allowed[0] if allowed else None, profile.arch, 'model')


def guest_agent(props, domcaps):
    """Whether the guest gets the QEMU guest agent channel.

    ``hw_qemu_guest_agent``: a virtio-serial port (``unix`` channel named
    ``org.qemu.guest_agent.0``), which every arch's machine can take.
    """
    if not _prop(props, 'hw_qemu_guest_agent'):
        return False
    if not domcaps.supports_channel('unix'):
        raise exception.InvalidImageProperty(
            name='hw_qemu_guest_agent',
            reason='libvirt offers no unix channel for %s guests, which '
                   'the agent needs' % domcaps.arch)
    return True


def input_bus(props, profile, gfx):
    """Bus of the guest's tablet and keyboard, or None for none.

    ``hw_input_bus``, else ``usb`` for ``hw_pointer_model=usbtablet``
    (Nova's older way to ask for a USB tablet), else the profile's default
    when the guest has graphics. What the image asks for is given even
    without graphics.
    """
    name = 'hw_input_bus'
    bus = _prop(props, name)
    if bus is None and _prop(props, 'hw_pointer_model') is not None:
        name, bus = 'hw_pointer_model', 'usb'
    if bus is None:
        return profile.default_input_bus if gfx else None
    if bus not in profile.input_buses:
        value = 'usbtablet (a USB tablet)' if name == 'hw_pointer_model' \
            else 'bus %s' % bus
        raise exception.InvalidImageProperty(
            name=name,
            reason='%s is not supported for %s guests; input buses: %s' % (
                value, profile.arch,
                ', '.join(profile.input_buses) or 'none'))
    return bus


def serial_ports(props, profile):
    """How many serial ports (``hw_serial_port_count``).

    The first one is the console, with the console log.
    """
    count = _prop(props, 'hw_serial_port_count')
    if count is None:
        return 1
    if not 1 <= count <= profile.serial_ports:
        raise exception.InvalidImageProperty(
            name='hw_serial_port_count',
            reason='%d: %s guests take 1 to %d' % (
                count, profile.arch, profile.serial_ports))
    return count


def boot_menu(props, profile, direct_kernel):
    """Whether the firmware shows its boot menu (``hw_boot_menu``)."""
    if not _prop(props, 'hw_boot_menu'):
        return False
    reason = None
    if direct_kernel:
        reason = 'the guest boots its kernel directly, not from a ' \
                 'firmware boot menu'
    elif not profile.boot_menu:
        reason = 'the firmware of %s guests has no boot menu' % profile.arch
    if reason:
        raise exception.InvalidImageProperty(name='hw_boot_menu',
                                             reason=reason)
    return True


def video_ram(props, video):
    """Video RAM in MiB (``hw_video_ram``) for the guest's video model."""
    mib = _prop(props, 'hw_video_ram')
    if mib is None:
        return None
    reason = None
    if video is None:
        reason = 'the guest has no video device (see hw_video_model and ' \
                 'hw_console_type)'
    elif video not in VIDEO_RAM_MODELS:
        reason = 'video model %s has no video RAM size; models that ' \
                 'have: %s' % (video, ', '.join(VIDEO_RAM_MODELS))
    elif not 1 <= mib <= VIDEO_RAM_MAX_MIB or mib & (mib - 1):
        reason = '%d MiB: give a power of two from 1 to %d' % (
            mib, VIDEO_RAM_MAX_MIB)
    if reason:
        raise exception.InvalidImageProperty(name='hw_video_ram',
                                             reason=reason)
    return mib


def gic_version(profile, domcaps, vcpus):
    """The guest's GIC version, or None for no ``<gic>`` element.

    The first of the profile's versions the domain capabilities offer:
    3 under TCG (libvirt offers 2 and 3), the host's own under KVM (what
    its GIC can give a guest), 2 where only 2 is offered. A version that
    takes fewer vCPUs than the flavor has is refused.

    :raises: Invalid naming the flavor's vcpus.
    """
    offered = [(version, limit) for version, limit in profile.gic_versions
               if version in domcaps.gic_versions]
    if not offered:
        return None
    version, limit = offered[0]
    if limit is not None and vcpus > limit:
        raise exception.Invalid(
            reason='flavor vcpus=%d: GICv%s, the newest GIC libvirt offers '
                   'for %s guests of machine %s under %s, takes at most %d '
                   'vCPUs' % (vcpus, version, profile.arch, domcaps.machine,
                              domcaps.domain_type, limit))
    return version


# Disks a bus takes, where it takes few: the IDE of the boards that have
# it (malta's PIIX4, x86 pc's PIIX3) is one controller of two channels
# with two devices each, hda to hdd; libvirt derives the channel and unit
# from the target dev's letter. The other buses take more disks than a
# guest gets (SCSI, SATA and USB controllers are added as needed).
BUS_SLOTS = {'ide': 4}
_LETTERS = 'abcdefghijklmnopqrstuvwxyz'


def disk_slots(disks, profile, machine):
    """Refuse a flavor's ephemeral or swap disk its bus has no slot for.

    :param disks: (what, flavor item or None, bus, target dev) of each
        disk in the order they are attached: ``what`` names it (``root
        disk``, ``config drive``...), the flavor item is the (key, value)
        it comes from; the target dev's last letter is its slot.
    :raises: FlavorNotSupported naming the last flavor key with a disk on
        the bus that runs out.
    """
    for bus, slots in sorted(BUS_SLOTS.items()):
        on_bus = [(what, item, _LETTERS.index(dev[-1]))
                  for what, item, b, dev in disks if b == bus]
        items = [item for _what, item, _slot in on_bus if item]
        if not items or max(slot for _w, _i, slot in on_bus) < slots:
            continue
        key, value = items[-1]
        raise exception.FlavorNotSupported(
            key=key, value=value,
            reason='the %s bus of the %s machine %s has %d slots; the '
                   '%s need %d' % (
                       bus, profile.arch, machine, slots,
                       ', '.join(what for what, _item, _slot in on_bus),
                       max(slot for _w, _i, slot in on_bus) + 1))

"""Make the guest config Nova built follow an emuvirt plan.

Nova's ``_get_guest_config`` builds the whole domain (disks, VIFs, volumes,
config drive, metadata, NUMA, consoles with their logs) and takes a few
guest-arch decisions of its own on the way, some of them from the HOST
arch. :func:`apply` overwrites exactly those with the plan's
(:mod:`emuvirt.nova.plan`): domain type, arch and machine, CPU under TCG,
firmware, ``<features>`` (the GIC version among them), clock timers,
PCI(e) controllers, USB, inputs, video, SCSI controller, RNG, serial
ports, console targets, the kernel's console and the boot loader of a
guest without a kernel (riscv64 U-Boot). It reads the arch profile the
plan carries and never asks which arch it is.

The device properties Nova honours itself from the image (NIC model, SCSI
controller model, guest agent, boot menu, video RAM with the flavor's
``hw_video:ram_max_mb``) reach Nova's config unchanged: the plan has
checked them for the guest arch before Nova builds anything.
"""

from nova.virt.libvirt import config as vconfig

PCI_MODELS = ('pci-root', 'pcie-root', 'pcie-root-port')
# <features> children the arch profile owns; Nova's others are kept.
PROFILE_FEATURES = frozenset(('acpi', 'apic', 'gic'))


class GuestFeature(vconfig.LibvirtConfigGuestFeature):
    """A ``<features>`` child with attributes (``<gic version='3'/>``)."""

    def __init__(self, name, attrs=None, **kwargs):
        super().__init__(name, **kwargs)
        self.attrs = dict(attrs or {})

    def format_dom(self):
        root = super().format_dom()
        for key, value in sorted(self.attrs.items()):
            root.set(key, str(value))
        return root


def _devices(guest, cls):
    return [d for d in guest.devices if isinstance(d, cls)]


def _drop(guest, predicate):
    guest.devices = [d for d in guest.devices if not predicate(d)]


def _controller(ctype, model, index):
    ctrl = vconfig.LibvirtConfigGuestController()
    ctrl.type, ctrl.model, ctrl.index = ctype, model, index
    return ctrl


def _is_controller(dev, ctype, models=None):
    return (isinstance(dev, vconfig.LibvirtConfigGuestController) and
            dev.type == ctype and (models is None or dev.model in models))


def set_machine(guest, plan):
    guest.virt_type = plan.domain_type
    guest.os_arch = plan.arch
    guest.os_mach_type = plan.machine


def set_cpu(guest, plan):
    """Under TCG, the plan's CPU model.

    Nova's topology and NUMA cells stay, the host's features go; under
    KVM Nova's own CPU config (host model, flags) stays.
    """
    if plan.domain_type != 'qemu':
        return
    if plan.cpu is None:
        guest.cpu = None
        return
    cpu = guest.cpu or vconfig.LibvirtConfigGuestCPU()
    cpu.mode = plan.cpu.mode
    cpu.model = plan.cpu.model if plan.cpu.mode == 'custom' else None
    cpu.match = 'exact'
    cpu.arch = cpu.vendor = None
    cpu.features = set()
    guest.cpu = cpu


def set_firmware(guest, plan):
    """The plan's UEFI build, named explicitly, or none at all.

    With secure boot asked for, Nova's firmware autoselection stays, but
    without ``<loader secure=...>``: libvirt 9.0 refuses that attribute
    next to ``<os firmware='efi'>`` (the request is carried by
    ``<firmware><feature name='secure-boot'>``).
    """
    if plan.secure_boot:
        if guest.os_firmware == 'efi' and guest.os_loader is None:
            guest.os_loader_secure = None
        return
    guest.os_firmware = None
    guest.os_firmware_secure = None
    guest.os_loader_stateless = None
    fw = plan.firmware
    if fw is None:
        guest.os_loader = guest.os_loader_type = None
        guest.os_loader_readonly = guest.os_loader_secure = None
        guest.os_nvram = guest.os_nvram_template = None
        return
    guest.os_loader = fw.loader
    guest.os_loader_type = fw.loader_type
    guest.os_loader_readonly = True if fw.loader_type == 'pflash' else None
    guest.os_loader_secure = None
    guest.os_nvram = None
    guest.os_nvram_template = fw.nvram_template


def set_features(guest, plan):
    prof = plan.profile
    feats = [f for f in guest.features
             if f.root_name not in PROFILE_FEATURES]
    if prof.acpi == 'always' or (
            prof.acpi == 'with-uefi' and plan.firmware is not None):
        feats.insert(0, vconfig.LibvirtConfigGuestFeatureACPI())
    feats.extend(GuestFeature(name, attrs) for name, attrs in prof.features)
    if plan.gic_version:
        feats.append(GuestFeature('gic', {'version': plan.gic_version}))
    if plan.domain_type == 'qemu' and plan.tb_cache_mib and not any(
            f.root_name == 'tcg' for f in feats):
        feats.append(vconfig.LibvirtConfigGuestFeatureTCG(plan.tb_cache_mib))
    guest.features = feats


def set_clock(guest, plan):
    if guest.clock is not None:
        guest.clock.timers = [t for t in guest.clock.timers
                              if t.name in plan.profile.clock_timers]


def set_pci(guest, plan):
    _drop(guest, lambda d: _is_controller(d, 'pci', PCI_MODELS))
    root = plan.family.pci_root
    if root is None:
        return
    ctrls = [_controller('pci', root, 0)]
    if root == 'pcie-root':
        ctrls.extend(_controller('pci', 'pcie-root-port', i)
                     for i in range(1, plan.pcie_ports + 1))
    guest.devices = ctrls + guest.devices


def set_graphics(guest, plan):
    """Graphics, video and inputs the guest arch can have.

    Nova gives video and inputs only with graphics, and its inputs from
    host-arch rules; the plan's video and inputs are the guest's whether
    or not it has graphics.
    """
    _drop(guest, lambda d: isinstance(
        d, vconfig.LibvirtConfigGuestGraphics) and d.type != plan.graphics)
    videos = _devices(guest, vconfig.LibvirtConfigGuestVideo)
    if plan.video is None:
        _drop(guest, lambda d: isinstance(d, vconfig.LibvirtConfigGuestVideo))
    elif not videos:
        videos = [vconfig.LibvirtConfigGuestVideo()]
        guest.add_device(videos[0])
    for video in videos if plan.video else ():
        video.type = plan.video
        video.vram = plan.video_ram_mib and plan.video_ram_mib * 1024
    _drop(guest, lambda d: isinstance(d, vconfig.LibvirtConfigGuestInput))
    for kind in ('tablet', 'keyboard') if plan.input_bus else ():
        dev = vconfig.LibvirtConfigGuestInput()
        dev.type, dev.bus = kind, plan.input_bus
        guest.add_device(dev)


def _needs_usb(guest, plan):
    """A USB tablet or disk, or graphics (pseries adds USB inputs)."""
    return plan.graphics is not None or any(
        (isinstance(d, vconfig.LibvirtConfigGuestInput) and d.bus == 'usb') or
        (isinstance(d, vconfig.LibvirtConfigGuestDisk) and
         d.target_bus == 'usb') for d in guest.devices)


def set_usb(guest, plan):
    """The profile's USB controller when a device needs one.

    Model 'none' when nothing needs USB; no controller at all where the
    arch has no USB.
    """
    usb = plan.profile.usb_model
    ctrls = [d for d in guest.devices if _is_controller(d, 'usb')]
    if usb is None:
        _drop(guest, lambda d: _is_controller(d, 'usb'))
        return
    if not ctrls:
        ctrls = [_controller('usb', None, 0)]
        guest.devices.append(ctrls[0])
    needed = _needs_usb(guest, plan)
    for ctrl in ctrls:
        if not needed:
            ctrl.model = 'none'
        elif ctrl.model in (None, 'none'):
            ctrl.model = usb


def set_scsi(guest, plan):
    """A SCSI controller for disks and cdroms on the SCSI bus.

    Nova adds one only for ``hw_scsi_model``; a config drive on the
    guest arch's SCSI cdrom bus needs one too: the plan's model, else the
    profile's default (the board's own default may have no working
    interrupt, as on malta).
    """
    on_scsi = any(d.target_bus == 'scsi' for d in
                  _devices(guest, vconfig.LibvirtConfigGuestDisk))
    if (on_scsi or plan.scsi_model) and not any(
            _is_controller(d, 'scsi') for d in guest.devices):
        guest.devices.append(_controller(
            'scsi', plan.scsi_model or plan.profile.default_scsi_model, 0))


def set_rng(guest, plan):
    """No RNG where libvirt offers none for the guest arch."""
    if plan.rng_model is None:
        _drop(guest, lambda d: isinstance(d, vconfig.LibvirtConfigGuestRng))


def set_serials(guest, plan):
    """The plan's serial ports, past the first on the profile's target.

    Nova gives one port (``[serial_console]enabled`` off) or the image's
    count of TCP ports; a board with one UART takes the others on PCI.
    """
    if plan.profile.sclp:
        return
    serials = _devices(guest, vconfig.LibvirtConfigGuestSerial)
    for _port in range(len(serials), plan.serial_ports):
        serials.append(vconfig.LibvirtConfigGuestSerial())
        guest.add_device(serials[-1])
    for port, dev in enumerate(serials):
        if port and plan.profile.serial_extra:
            dev.target_type = plan.profile.serial_extra


def set_consoles(guest, plan):
    """SCLP consoles on arches that have them, serial ports elsewhere."""
    if not plan.profile.sclp:
        return
    for dev in _devices(guest, vconfig.LibvirtConfigGuestSerial):
        console = vconfig.LibvirtConfigGuestConsole()
        for attr in ('type', 'source_path', 'listen_port', 'listen_host',
                     'log', 'target_port'):
            setattr(console, attr, getattr(dev, attr))
        console.target_type = 'sclp'
        guest.devices[guest.devices.index(dev)] = console


def set_kernel_console(guest, plan, image_cmdline):
    """The arch's kernel console in Nova's default command line."""
    if guest.os_kernel is None or image_cmdline or guest.os_cmdline is None:
        return
    words = [w for w in guest.os_cmdline.split()
             if not w.startswith('console=')]
    words.append('console=%s' % plan.profile.kernel_console)
    guest.os_cmdline = ' '.join(words)


def set_boot_loader(guest, plan):
    """The plan's boot loader as the kernel of a guest that has none."""
    if plan.boot_loader and guest.os_kernel is None:
        guest.os_kernel = plan.boot_loader


STEPS = (set_machine, set_cpu, set_firmware, set_features, set_clock,
         set_pci, set_graphics, set_usb, set_scsi, set_rng, set_serials,
         set_consoles, set_boot_loader)


def apply(guest, plan, image_cmdline=None):
    """Rewrite Nova's guest config ``guest`` after ``plan``, in place."""
    for step in STEPS:
        step(guest, plan)
    set_kernel_console(guest, plan, image_cmdline)
    return guest

"""Turn a guest plan (decisions already checked) into config objects.

``GuestPlan`` holds every decision the driver made for one guest; ``build``
reads it together with the arch profile and writes no decision of its own
beyond what the profile says: no host facts, no libvirt calls.
"""

import dataclasses
import os

from emuvirt.virt.libvirt import config as vconfig


@dataclasses.dataclass(frozen=True)
class Boot:
    """How the guest boots: a disk image, a cdrom and/or a kernel.

    ``config_drive_path``: a config drive, attached read-only as one
    more cdrom (never booted from). ``ephemeral_path`` and ``swap_path``:
    the flavor's ephemeral disk (``ephemeral_gb`` GiB) and swap disk
    (``swap_mb`` MiB), raw files the driver makes, attached after the
    root disk on its bus.
    """

    disk_path: str = None
    disk_format: str = 'qcow2'
    cdrom_path: str = None
    kernel: str = None
    ramdisk: str = None
    cmdline: str = None
    config_drive_path: str = None
    ephemeral_path: str = None
    ephemeral_gb: int = 0
    swap_path: str = None
    swap_mb: int = 0

    @property
    def direct_kernel(self):
        return self.kernel is not None


@dataclasses.dataclass(frozen=True)
class Network:
    """One NIC: a libvirt network by name, or user-mode networking."""

    type: str = 'user'
    network: str = None
    mac: str = None


@dataclasses.dataclass(frozen=True)
class GuestPlan:
    name: str
    uuid: str
    vcpus: int
    memory_mib: int
    profile: object
    domain_type: str
    emulator: str
    machine: str
    instance_dir: str
    boot: Boot
    cpu: object = None
    firmware: object = None
    graphics: str = None
    video: str = None
    video_ram_mib: int = None
    input_bus: str = None
    disk_bus: str = 'virtio'
    cdrom_bus: str = 'scsi'
    scsi_model: str = None
    vif_model: str = 'virtio'
    rng_model: str = 'virtio'
    guest_agent: bool = False
    serial_ports: int = 1
    boot_menu: bool = False
    gic_version: str = None
    pcie_ports: int = 0
    tb_cache_mib: int = 0
    networks: tuple = ()
    metadata: object = None
    boot_loader: str = None

    @property
    def console_log(self):
        return os.path.join(self.instance_dir, 'console.log')


def _os(plan):
    prof, boot = plan.profile, plan.boot
    os_ = vconfig.GuestOS(arch=prof.arch, machine=plan.machine)
    fw = plan.firmware
    if fw is not None:
        os_.loader = fw.loader
        os_.loader_type = fw.loader_type
        os_.loader_secure = fw.secure if fw.loader_type == 'pflash' else None
        if fw.nvram_template:
            os_.nvram = os.path.join(plan.instance_dir, 'nvram.fd')
            os_.nvram_template = fw.nvram_template
    if boot.direct_kernel:
        os_.kernel, os_.initrd = boot.kernel, boot.ramdisk
        os_.cmdline = boot.cmdline
        return os_
    # A boot loader the firmware starts as it would a kernel (riscv64
    # U-Boot), which then boots the disk.
    os_.kernel = plan.boot_loader
    if boot.cdrom_path:
        os_.boot_devs = ('cdrom', 'hd')
    elif boot.disk_path:
        os_.boot_devs = ('hd',)
    os_.boot_menu = plan.boot_menu
    return os_


def _features(plan):
    prof = plan.profile
    feats = []
    if prof.acpi == 'always' or (
            prof.acpi == 'with-uefi' and plan.firmware is not None):
        feats.append(vconfig.GuestFeature('acpi'))
    feats.extend(vconfig.GuestFeature(name, dict(attrs))
                 for name, attrs in prof.features)
    if plan.gic_version:
        feats.append(vconfig.GuestFeature(
            'gic', {'version': plan.gic_version}))
    if plan.domain_type == 'qemu' and plan.tb_cache_mib:
        feats.append(vconfig.GuestFeature(
            'tcg', children=(('tb-cache', plan.tb_cache_mib,
                              {'unit': 'MiB'}),)))
    return feats


def _controllers(plan):
    family = plan.profile.family(plan.machine)
    ctrls = []
    if family.pci_root:
        ctrls.append(vconfig.GuestController('pci', family.pci_root, 0))
    if family.pci_root == 'pcie-root':
        ctrls.extend(vconfig.GuestController('pci', 'pcie-root-port', i)
                     for i in range(1, plan.pcie_ports + 1))
    usb = plan.profile.usb_model
    buses = {plan.disk_bus if plan.boot.disk_path or
             plan.boot.ephemeral_path or plan.boot.swap_path else None,
             plan.cdrom_bus if plan.boot.cdrom_path else None,
             plan.cdrom_bus if plan.boot.config_drive_path else None,
             plan.input_bus}
    if usb:
        # For a USB tablet and keyboard, a disk on USB, and with graphics
        # (libvirt gives a pseries guest a USB keyboard and mouse).
        needed = plan.graphics or 'usb' in buses
        ctrls.append(vconfig.GuestController(
            'usb', usb if needed else 'none', 0))
    if 'scsi' in buses or plan.scsi_model:
        # Never the board's default model: it may get no interrupt (malta).
        ctrls.append(vconfig.GuestController(
            'scsi', plan.scsi_model or plan.profile.default_scsi_model, 0))
    return ctrls


#: Target device name prefix of each bus ('sd' for the others).
DEV_PREFIX = {'virtio': 'vd', 'ide': 'hd'}


def disk_targets(plan):
    """[(path, bus, target dev, device, format)] of the guest's disks.

    In order: the root disk (``a``), the ephemeral and swap disks on the
    root disk's bus, then the boot cdrom and the config drive on the
    cdrom bus; each after the root takes the first letter from ``b`` on
    not used on its bus (a cdrom keeps clear of an ``sda`` disk).
    """
    boot, found, used = plan.boot, [], set()

    def add(path, bus, device, fmt, first='b'):
        pre = DEV_PREFIX.get(bus, 'sd')
        dev = next(pre + c for c in 'abcdefghijklmnopqrstuvwxyz'
                   if c >= first and pre + c not in used)
        used.add(dev)
        found.append((path, bus, dev, device, fmt))

    if boot.disk_path:
        add(boot.disk_path, plan.disk_bus, 'disk', boot.disk_format, 'a')
    for path in (boot.ephemeral_path, boot.swap_path):
        if path:
            add(path, plan.disk_bus, 'disk', 'raw')
    for path in (boot.cdrom_path, boot.config_drive_path):
        if path:
            add(path, plan.cdrom_bus, 'cdrom', 'raw')
    return found


def _disks(plan):
    return [vconfig.GuestDisk(path, dev, bus, device=device,
                              driver_type=fmt, readonly=device == 'cdrom')
            for path, bus, dev, device, fmt in disk_targets(plan)]


def _consoles(plan):
    prof, log = plan.profile, plan.console_log
    if prof.sclp:
        # Interactive console on the SCLP VT220 (ttysclp0), kept in the
        # console log too; the line-mode console goes to its own file.
        return [vconfig.GuestCharDevice('console', 'pty', 'sclp', 0,
                                        log_path=log),
                vconfig.GuestCharDevice(
                    'console', 'file', 'sclplm', 1,
                    source_path=os.path.join(plan.instance_dir,
                                             'console-linemode.log'))]
    # The first port is the console; a board with one UART takes the
    # others on PCI (serial_extra).
    return ([vconfig.GuestCharDevice('serial', 'pty', None, 0,
                                     log_path=log)] +
            [vconfig.GuestCharDevice('serial', 'pty', prof.serial_extra, i)
             for i in range(1, plan.serial_ports)] +
            [vconfig.GuestCharDevice('console', 'pty', 'serial', 0)])


def _graphics(plan):
    devs = []
    if plan.graphics:
        devs.append(vconfig.GuestGraphics(plan.graphics))
    if plan.input_bus:
        devs.extend(vconfig.GuestInput(kind, plan.input_bus)
                    for kind in ('tablet', 'keyboard'))
    if plan.video:
        devs.append(vconfig.GuestVideo(
            plan.video, vram_kib=plan.video_ram_mib and (
                plan.video_ram_mib * 1024)))
    return devs


def build(plan):
    """Return the :class:`GuestConfig` for a plan."""
    devices = _controllers(plan) + _disks(plan)
    slots = plan.profile.nic_pci_slots
    devices.extend(vconfig.GuestInterface(
        n.type, plan.vif_model, network=n.network, mac=n.mac,
        pci_slot=slots[i] if i < len(slots) else None)
        for i, n in enumerate(plan.networks))
    devices.extend(_consoles(plan))
    if plan.guest_agent:
        devices.append(vconfig.GuestChannel(vconfig.QEMU_GUEST_AGENT))
    devices.extend(_graphics(plan))
    if plan.rng_model:
        devices.append(vconfig.GuestRng(plan.rng_model))
    devices.append(vconfig.GuestMemballoon('virtio'))
    return vconfig.GuestConfig(
        virt_type=plan.domain_type, name=plan.name, uuid=plan.uuid,
        memory_mib=plan.memory_mib, vcpus=plan.vcpus, os=_os(plan),
        emulator=plan.emulator, metadata=plan.metadata, cpu=plan.cpu,
        features=_features(plan), devices=devices)

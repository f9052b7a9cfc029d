"""The per-architecture profile table.

Everything emuvirt knows about how to dress a guest of a given
architecture lives in ``PROFILES``: data, not branches. Guest-config code
looks up the profile of the GUEST architecture and reads it; it never asks
what the host is, except to choose between KVM and TCG.

Facts behind the values (measured on libvirt 9.0 / QEMU 7.2, see
``shared/DESIGN.md``):

* aarch64 ``virt``: GICv3 lifts the 8-vCPU limit of GICv2. With no
  ``<cpu>`` libvirt picks a 32-bit cortex-a15; ``max`` boots a distro
  kernel four times slower than 64-bit models without pointer
  authentication (which QEMU emulates slowly), so those come first.
  libvirt refuses ``<acpi/>`` without UEFI. The board has one PL011
  UART: QEMU ignores further ``-serial`` ports, so they go on PCI.
* s390x ``s390-ccw-virtio``: consoles are SCLP (one VT220 console, the
  line-mode one keeps the log); VGA and USB are refused; video is
  virtio-gpu-ccw, inputs are virtio-ccw; only virtio devices (no PCI
  NIC or SCSI model is built into qemu-system-s390x).
* ppc64le ``pseries``: the serial port becomes spapr-vty.
* mipsel ``malta``: no ``<cpu>`` element at all; PCI, not PCIe; disks
  and cdroms on the board's IDE (virtio devices fail to probe there);
  three UARTs (two on the southbridge, one in the FPGA); no e1000e (it
  needs PCIe); NICs in PCI slots 18-21 (the only ones with interrupts);
  no firmware that reads a boot menu.
* riscv64 ``virt``: libvirt refuses ``<cpu mode='maximum'/>``. QEMU's
  OpenSBI starts what QEMU loads as the kernel: without a guest kernel,
  that is U-Boot (Debian's u-boot-qemu), which boots a disk through its
  ``extlinux/extlinux.conf``. One UART (further ports on PCI); ramfb
  fails ("requires fw_cfg with DMA"); neither OpenSBI nor U-Boot reads
  QEMU's boot menu request.
* mipsel ``malta``: QEMU has no firmware for it (the board's YAMON is not
  free); nothing boots without a kernel.

Device models (NIC, SCSI controller, video) were measured by defining
and starting each one on every arch: those QEMU 7.2 refuses are not in
the table (``igb`` needs QEMU 8.0; ``lan9118`` is an ARM board device, not
a pluggable one; ``buslogic`` is refused by libvirt).

Machine types: each arch builds guests of the machine families it names
(``machine_families``) only; the other boards libvirt offers (aarch64 has
over a hundred) lack what the guest config adds (a GIC, PCIe root ports,
PCI) and libvirt or QEMU refuses them. Some versions of those families
fail at start too (``broken_machines``), measured by starting every
machine type libvirt 9.0 / QEMU 7.2 offers under TCG:

* aarch64 ``virt-6.1`` and older: QEMU emulates the GICv3 ITS only from
  ``virt-6.2`` on (``no_tcg_its`` before), and without it there is no
  MSI-X, which PCIe root ports need ("MSI-X is not supported by interrupt
  controller"). Under KVM the ITS is there from ``virt-2.8``. (GICv3
  itself works on every version.)
* ppc64le ``pseries-2.8`` to ``-2.11`` turn on hardware transactional
  memory, which TCG lacks ("No Transactional Memory support in TCG").
* x86_64: more than 255 vCPUs need an IOMMU with interrupt remapping,
  which the guest config does not add; mipsel ``malta`` takes at most 2
  GiB of RAM.
"""

import dataclasses
import re
import types
import typing as ty

from emuvirt import exception


@dataclasses.dataclass(frozen=True)
class MachineFamily:
    """What changes with the machine family inside one architecture.

    :param pci_root: root PCI controller model (``pcie-root`` or
        ``pci-root``), None for a machine without PCI (s390x uses CCW).
    :param cdrom_bus: bus for cdrom and config-drive devices.
    """

    pci_root: str
    cdrom_bus: str


@dataclasses.dataclass(frozen=True)
class BrokenMachines:
    """Versions ``first`` to ``last`` of a machine family that fail.

    :param family: the machine family (:func:`machine_family`).
    :param first: first failing version as a tuple, None for the oldest.
    :param last: last failing version as a tuple.
    :param domain_types: where they fail (``qemu``, ``kvm``).
    :param reason: why, for the refusal.
    """

    family: str
    first: ty.Optional[tuple]
    last: tuple
    domain_types: tuple
    reason: str

    def covers(self, family, version, domain_type):
        return (family == self.family and version is not None and
                domain_type in self.domain_types and
                (self.first is None or version >= self.first) and
                version <= self.last)


@dataclasses.dataclass(frozen=True)
class ArchProfile:
    """How guests of one architecture are built.

    :param arch: canonical architecture name.
    :param default_machine: machine type when neither the image nor
        ``[libvirt]hw_machine_type`` names one.
    :param families: machine family -> :class:`MachineFamily`; ``'*'`` is
        the fallback for families not listed.
    :param firmware: ``'uefi'`` or ``'builtin'`` (QEMU's own: SeaBIOS,
        SLOF, the s390-ccw BIOS, OpenSBI, or none at all on malta).
    :param firmware_types: values of ``hw_firmware_type`` this arch accepts.
    :param uefi_with_kernel: keep UEFI for direct kernel boot.
    :param acpi: ``'always'``, ``'with-uefi'`` or ``'never'``.
    :param features: other ``<features>`` children, as (name, attrs) pairs.
    :param cpu_element: whether libvirt accepts a ``<cpu>`` at all.
    :param kvm_cpu_modes: host CPU modes to try under KVM, in order.
    :param tcg_cpu_models: CPU models to try under TCG, fastest first; the
        first one the domain capabilities offer wins.
    :param tcg_cpu_maximum: fall back to ``<cpu mode='maximum'/>``.
    :param kernel_console: the guest kernel's console device, used for a
        default kernel command line.
    :param serial: whether the arch has a serial console (``<serial>``).
    :param sclp: whether consoles are SCLP (s390x).
    :param graphics: graphics console types the arch can serve.
    :param video_models: video models allowed; the first is the default.
    :param usb_model: USB controller model, None where USB is refused.
    :param input_buses: buses allowed for tablet and keyboard
        (``hw_input_bus``); the first is the default, used when there is
        graphics. Empty where the guest can have no input device.
    :param disk_buses: buses allowed for disks; the first is the default.
    :param nic_models: network interface models allowed
        (``hw_vif_model``); the first is the default.
    :param scsi_models: SCSI controller models allowed
        (``hw_scsi_model``); the first is the default.
    :param rng_models: random number generator models allowed
        (``hw_rng_model``); the first is the default.
    :param serial_ports: how many serial ports a guest may have
        (``hw_serial_port_count``); the first is the console.
    :param serial_extra: target type of the ports after the first, None
        for libvirt's default (a board with one UART takes more on PCI).
    :param boot_menu: the firmware shows a boot menu when asked
        (``hw_boot_menu``).
    :param gic_versions: (GIC version, most vCPUs it takes or None)
        pairs, preferred first; the first version the domain capabilities
        offer wins. Empty: no GIC.
    :param default_pcie_ports: root ports added when
        ``[libvirt]num_pcie_ports`` is 0 and the machine is PCIe.
    :param clock_timers: ``<clock>`` timers the arch has (pit, rtc and
        hpet are PC hardware); a guest config keeps no other.
    :param needs_kernel: nothing boots without a kernel given to QEMU (no
        firmware boots a disk): a guest without one is refused.
    :param boot_loader: (path, Debian package) of the boot loader QEMU
        loads as the kernel of a guest that has none, which the built-in
        firmware starts; None where the firmware boots disks itself.
    :param machine_families: the machine families guests may use
        (:func:`machine_family`); the first is the default's.
    :param broken_machines: :class:`BrokenMachines` entries: versions of
        those families QEMU refuses to start as the guest config builds
        them.
    :param max_vcpus: most vCPUs a guest gets, None for what the domain
        capabilities say (``<vcpu max>``).
    :param max_vcpus_reason: why ``max_vcpus`` (said in the refusal of a
        flavor with more); None with no ``max_vcpus``.
    :param max_memory_mib: most RAM the machine takes, None for no bound
        of its own.
    """

    arch: str
    default_machine: str
    families: types.MappingProxyType
    firmware: str
    firmware_types: tuple
    uefi_with_kernel: bool
    acpi: str
    features: tuple
    cpu_element: bool
    kvm_cpu_modes: tuple
    tcg_cpu_models: tuple
    tcg_cpu_maximum: bool
    kernel_console: str
    serial: bool
    sclp: bool
    graphics: tuple
    video_models: tuple
    usb_model: str
    input_buses: tuple
    disk_buses: tuple
    nic_models: tuple
    scsi_models: tuple
    rng_models: tuple
    serial_ports: int
    serial_extra: str
    boot_menu: bool
    gic_versions: tuple
    default_pcie_ports: int
    clock_timers: tuple
    needs_kernel: bool
    #: PCI slots (on bus 0) for the NICs, in order; () lets libvirt place
    #: them
    nic_pci_slots: tuple
    boot_loader: tuple
    machine_families: tuple
    broken_machines: tuple
    max_vcpus: ty.Optional[int]
    max_vcpus_reason: ty.Optional[str]
    max_memory_mib: ty.Optional[int]

    def family(self, machine):
        """Return the :class:`MachineFamily` for a machine type name."""
        name = machine_family(machine)
        return self.families.get(name) or self.families['*']

    @property
    def default_video(self):
        return self.video_models[0] if self.video_models else None

    @property
    def default_disk_bus(self):
        return self.disk_buses[0]

    @property
    def default_input_bus(self):
        return self.input_buses[0] if self.input_buses else None

    @property
    def default_nic_model(self):
        return self.nic_models[0]

    @property
    def default_scsi_model(self):
        return self.scsi_models[0]

    @property
    def default_rng_model(self):
        return self.rng_models[0] if self.rng_models else None


def _families(table):
    return types.MappingProxyType(
        {name: MachineFamily(*value) for name, value in table.items()})


# NIC and SCSI controller models of a PCI(e) machine, the default first.
_PCI_NICS = ('virtio', 'e1000', 'e1000e', 'rtl8139', 'pcnet', 'ne2k_pci',
             'vmxnet3')
_PCI_SCSI = ('virtio-scsi', 'lsilogic', 'lsisas1068', 'lsisas1078',
             'vmpvscsi')
# pseries adds its own VIO devices: ibmveth and ibmvscsi.
_PPC_NICS = ('virtio', 'spapr-vlan') + _PCI_NICS[1:]
_PPC_SCSI = ('virtio-scsi', 'ibmvscsi') + _PCI_SCSI[1:]


def _profile(**kwargs):
    kwargs['families'] = _families(kwargs['families'])
    defaults = dict(firmware='builtin', firmware_types=(),
                    uefi_with_kernel=False, acpi='never', features=(),
                    cpu_element=True,
                    kvm_cpu_modes=('host-model', 'host-passthrough'),
                    tcg_cpu_models=(),
                    tcg_cpu_maximum=False, serial=True, sclp=False,
                    graphics=('vnc', 'spice'), usb_model='qemu-xhci',
                    input_buses=('usb', 'virtio'),
                    disk_buses=('virtio', 'scsi', 'usb'),
                    nic_models=_PCI_NICS, scsi_models=_PCI_SCSI,
                    rng_models=('virtio',), serial_ports=4,
                    serial_extra=None, boot_menu=True, gic_versions=(),
                    default_pcie_ports=0, clock_timers=(),
                    needs_kernel=False, nic_pci_slots=(), boot_loader=None,
                    broken_machines=(), max_vcpus=None,
                    max_vcpus_reason=None, max_memory_mib=None)
    defaults.update(kwargs)
    return ArchProfile(**defaults)


# pseries-2.12-sxxm: pseries-2.12 with Spectre mitigations on.
_PSERIES = ('pseries', 'pseries-2.12-sxxm')
_PSERIES_HTM = BrokenMachines(
    'pseries', (2, 8), (2, 11), ('qemu',),
    'they turn on hardware transactional memory (cap-htm), which TCG lacks')

# The table. Keep it declarative: a new architecture is a new entry here.
_TABLE = (
    _profile(
        arch='aarch64', default_machine='virt',
        families={'*': ('pcie-root', 'scsi')},
        firmware='uefi', firmware_types=('uefi',),
        acpi='with-uefi',
        # GICv2 takes at most 8 CPUs; GICv3 as many as the machine.
        gic_versions=(('3', None), ('2', 8)),
        # libvirt has no host-model for aarch64 KVM.
        kvm_cpu_modes=('host-passthrough',),
        # Measured to userspace, Debian 12 kernel: neoverse-n1 1.15 s,
        # cortex-a76 1.18, cortex-a72 1.15, cortex-a57 1.16-1.41, max 5.2-5.6
        # (pointer authentication). neoverse-n1 (ARMv8.2, with LSE atomics)
        # is the newest of the fast ones.
        tcg_cpu_models=('neoverse-n1', 'cortex-a76', 'cortex-a72',
                        'cortex-a57'),
        tcg_cpu_maximum=True,
        kernel_console='ttyAMA0', serial_extra='pci-serial',
        video_models=('virtio', 'ramfb', 'vga', 'bochs', 'cirrus', 'vmvga'),
        default_pcie_ports=8,
        machine_families=('virt',),
        broken_machines=(
            BrokenMachines(
                'virt', None, (6, 1), ('qemu',),
                'its PCIe root ports need MSI-X, which QEMU emulates (GICv3 '
                'ITS) from virt-6.2 on'),
            BrokenMachines(
                'virt', None, (2, 7), ('kvm',),
                'its PCIe root ports need MSI-X, which needs the GICv3 ITS '
                'of virt-2.8 and later'),
        )),
    _profile(
        arch='s390x', default_machine='s390-ccw-virtio',
        families={'*': (None, 'scsi')},
        kernel_console='ttysclp0', serial=False, sclp=True,
        serial_ports=1, video_models=('virtio',), usb_model=None,
        input_buses=('virtio',), disk_buses=('virtio', 'scsi'),
        nic_models=('virtio',), scsi_models=('virtio-scsi',),
        machine_families=('s390-ccw-virtio',)),
    _profile(
        arch='ppc64le', default_machine='pseries',
        families={'*': ('pci-root', 'scsi')},
        kernel_console='hvc0',
        video_models=('vga', 'virtio', 'bochs', 'cirrus', 'vmvga'),
        nic_models=_PPC_NICS, scsi_models=_PPC_SCSI,
        machine_families=_PSERIES, broken_machines=(_PSERIES_HTM,)),
    _profile(
        arch='ppc64', default_machine='pseries',
        families={'*': ('pci-root', 'scsi')},
        kernel_console='hvc0',
        video_models=('vga', 'virtio', 'bochs', 'cirrus', 'vmvga'),
        nic_models=_PPC_NICS, scsi_models=_PPC_SCSI,
        machine_families=_PSERIES, broken_machines=(_PSERIES_HTM,)),
    _profile(
        arch='mipsel', default_machine='malta',
        # malta's own PIIX4 IDE: a Debian malta kernel probes virtio-blk
        # and virtio-scsi in the PCI slots libvirt gives them (1-6) and
        # fails (-22), so disks and cdroms (config drive) go on IDE.
        families={'*': ('pci-root', 'ide')},
        cpu_element=False, kernel_console='ttyS0', serial_ports=3,
        boot_menu=False, graphics=('vnc',),
        video_models=('cirrus', 'vga', 'virtio', 'bochs', 'vmvga'),
        disk_buses=('ide', 'virtio', 'scsi'),
        nic_models=tuple(m for m in _PCI_NICS if m != 'e1000e'),
        # A malta kernel routes interrupts only to the board's own devices
        # and to PCI slots 1-4 (bus slots 18-21): a NIC in a slot libvirt
        # picks (1-6) gets none (virtio-net fails to probe, e1000 cannot
        # get its IRQ).
        nic_pci_slots=(18, 19, 20, 21),
        needs_kernel=True, machine_families=('malta',),
        # libvirt and QEMU take -smp 2 on malta, but the guest never boots:
        # 24Kf (malta's default, and libvirt sets no other: cpu_element is
        # False) has neither MT nor a CPS/CM. Measured with the Debian 12
        # 4kc-malta kernel (SMP, MIPS_MT_SMP, no MIPS_CPS): 24Kf -smp 2
        # prints nothing at all; 34Kf (MT) brings up 2 VPEs but every boot
        # stalls RCU for 21 s (CPU 0's timer stops) and its clock runs
        # backwards; P5600 (CPS) hangs after bringing up 1 CPU.
        max_vcpus=1,
        max_vcpus_reason="malta's 24Kf CPU has no SMP; a guest with more "
                         "vCPUs never boots",
        # "Too much memory for this machine: ..., maximum 2048MB"
        max_memory_mib=2048),
    _profile(
        arch='riscv64', default_machine='virt',
        families={'*': ('pcie-root', 'scsi')},
        kernel_console='ttyS0', serial_extra='pci-serial', boot_menu=False,
        graphics=('vnc',),
        video_models=('virtio', 'vga', 'bochs', 'cirrus', 'vmvga'),
        default_pcie_ports=8,
        # OpenSBI (QEMU's -bios) -> U-Boot in supervisor mode.
        boot_loader=('/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin',
                     'u-boot-qemu'),
        machine_families=('virt',)),
    _profile(
        arch='x86_64', default_machine='q35',
        families={'q35': ('pcie-root', 'sata'),
                  'pc': ('pci-root', 'ide'),
                  '*': ('pcie-root', 'sata')},
        firmware='builtin', firmware_types=('bios', 'uefi'),
        uefi_with_kernel=False, acpi='always',
        features=(('apic', {}),),
        tcg_cpu_maximum=True, kernel_console='ttyS0',
        video_models=('virtio', 'vga', 'bochs', 'cirrus', 'qxl', 'vmvga',
                      'ramfb'),
        disk_buses=('virtio', 'scsi', 'sata', 'ide', 'usb'),
        default_pcie_ports=8,
        clock_timers=('pit', 'rtc', 'hpet', 'tsc', 'kvmclock',
                      'hypervclock'),
        machine_families=('q35', 'pc'),
        # Beyond 255 QEMU wants an IOMMU with interrupt remapping (and
        # under TCG refuses outright: "current -smp configuration requires
        # kernel irqchip and X2APIC API support").
        max_vcpus=255,
        max_vcpus_reason='more need an IOMMU with interrupt remapping'),
)

PROFILES = types.MappingProxyType({p.arch: p for p in _TABLE})

_VERSION_SUFFIX = re.compile(r'-(\d+(?:\.\d+)*)$')
_FAMILY_ALIASES = {'pc-q35': 'q35', 'pc-i440fx': 'pc'}


def machine_family(machine):
    """Return the family of a machine type: its name without the version.

    ``virt-7.2`` -> ``virt``, ``pc-q35-7.2`` -> ``q35``,
    ``pc-i440fx-7.2`` -> ``pc``, ``s390-ccw-virtio-7.2`` ->
    ``s390-ccw-virtio``, ``malta`` -> ``malta``.
    """
    base = _VERSION_SUFFIX.sub('', machine)
    return _FAMILY_ALIASES.get(base, base)


def machine_version(machine):
    """A machine type's version as a tuple, None for an unversioned one.

    ``virt-6.2`` -> (6, 2); ``malta`` and ``pseries-2.12-sxxm`` (a
    family of its own, :func:`machine_family`) -> None.
    """
    match = _VERSION_SUFFIX.search(machine)
    if match is None:
        return None
    return tuple(int(part) for part in match.group(1).split('.'))


def machine_problem(profile, machine, domain_type):
    """Why a guest of ``profile`` cannot use ``machine``, or None.

    :param machine: the canonical machine type (aliases resolved).
    :param domain_type: ``qemu`` or ``kvm``.
    """
    family = machine_family(machine)
    if family not in profile.machine_families:
        return ('emuvirt builds %s guests on machine famil%s %s only' % (
            profile.arch,
            'y' if len(profile.machine_families) == 1 else 'ies',
            ', '.join(profile.machine_families)))
    version = machine_version(machine)
    for broken in profile.broken_machines:
        if broken.covers(family, version, domain_type):
            return 'QEMU cannot start it under %s: %s' % (
                'TCG' if domain_type == 'qemu' else 'KVM', broken.reason)
    return None


def get_profile(arch):
    """Return the profile of a canonical architecture name.

    :raises ArchitectureNotSupported: emuvirt has no profile for it.
    """
    try:
        return PROFILES[arch]
    except KeyError:
        raise exception.ArchitectureNotSupported(
            arch=arch,
            reason='emuvirt knows how to build guests of %s only' %
            ', '.join(sorted(PROFILES)))

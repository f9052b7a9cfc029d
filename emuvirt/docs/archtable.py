"""The per-arch table of the docs, built from the arch profiles.

:func:`build` reads :data:`emuvirt.virt.archs.PROFILES` and returns one
:class:`Row` per question an operator asks ("which machine type?", "which
disk buses?"), with one :class:`Cell` per guest arch. Cells hold the
profile's own values, unformatted, so the docs cannot drift from the code
and a test can compare them with the profiles. No Sphinx here: the
extension (:mod:`emuvirt.docs.sphinxext`) only lays the rows out.

Every :class:`~emuvirt.virt.archs.ArchProfile` field is shown by some
row (the unit tests check that a new field gets one).
"""

import dataclasses
import typing as ty

from emuvirt.conf import emulation
from emuvirt.virt import archs
from emuvirt.virt import traits

# The ``families`` key of the fallback family, and how the table names it.
ANY_FAMILY = '*'
ANY_FAMILY_LABEL = 'other'


@dataclasses.dataclass(frozen=True)
class Cell:
    """What one arch has for one row.

    :param values: the profile's values, in the profile's order; shown as
        literals.
    :param note: plain text after the values, or alone when there are
        none (``none``, ...).
    :param pairs: (machine family, value) per machine family, for rows
        that depend on the family; ``value`` None means none. Only set
        when the arch has more than the fallback family.
    """

    values: ty.Tuple[str, ...] = ()
    note: str = ''
    pairs: ty.Tuple[ty.Tuple[str, ty.Optional[str]], ...] = ()


@dataclasses.dataclass(frozen=True)
class Row:
    """One question, answered for every arch.

    :param label: what the row shows.
    :param fields: the ArchProfile fields it is made from (empty for rows
        from elsewhere in the code).
    :param cells: one :class:`Cell` per arch, in the table's arch order.
    """

    label: str
    fields: ty.Tuple[str, ...]
    cells: ty.Tuple[Cell, ...]


@dataclasses.dataclass(frozen=True)
class Table:
    arches: ty.Tuple[str, ...]
    rows: ty.Tuple[Row, ...]

    def row(self, label):
        """The row with this label."""
        for row in self.rows:
            if row.label == label:
                return row
        raise KeyError(label)

    def cell(self, label, arch):
        """The cell of ``arch`` in the row with this label."""
        return self.row(label).cells[self.arches.index(arch)]


NONE = 'none'


def _values(values, empty=NONE):
    values = tuple(values)
    return Cell(values=values) if values else Cell(note=empty)


def _family_cell(profile, attr, empty=NONE):
    """A per-machine-family value; one plain value if there is one family.

    Families in the profile's order, the fallback family last.
    """
    families = profile.families
    if set(families) == {ANY_FAMILY}:
        value = getattr(families[ANY_FAMILY], attr)
        return Cell(values=(value,)) if value else Cell(note=empty)
    names = [n for n in families if n != ANY_FAMILY]
    if ANY_FAMILY in families:
        names.append(ANY_FAMILY)
    return Cell(pairs=tuple((n, getattr(families[n], attr))
                            for n in names))


def _firmware(p):
    note = ''
    if p.firmware == 'uefi' and not p.uefi_with_kernel:
        note = 'builtin with direct kernel boot'
    return Cell(values=(p.firmware,), note=note)


def _without_kernel(p):
    if p.needs_kernel:
        return Cell(note='refused: no firmware boots a disk')
    if p.boot_loader:
        path, package = p.boot_loader
        return Cell(values=(path,),
                    note='loaded as the kernel, started by the firmware '
                         '(Debian package %s)' % package)
    return Cell(note='the firmware boots the disk')


def _feature(name, attrs):
    text = ''.join(" %s='%s'" % (k, v) for k, v in sorted(attrs.items()))
    return '<%s%s/>' % (name, text)


def _tcg_models(p):
    if not p.cpu_element:
        return Cell(note='no <cpu> element: libvirt accepts none')
    return _values(p.tcg_cpu_models)


def _tcg_fallback(p):
    if p.cpu_element and p.tcg_cpu_maximum:
        return Cell(values=('maximum',))
    return Cell(note="QEMU's default (no <cpu>)")


def _kvm_modes(p):
    if not p.cpu_element:
        return Cell(note='no <cpu> element: libvirt accepts none')
    return _values(p.kvm_cpu_modes)


def _console(p):
    kinds = [k for k, on in (('serial', p.serial), ('sclp', p.sclp)) if on]
    return _values(kinds)


def _graphics(p):
    return _values(p.graphics, empty='none: text console only')


def _usb(p):
    return Cell(values=(p.usb_model,)) if p.usb_model else Cell(
        note='none: no USB')


def _input(p):
    return _values(p.input_buses, empty='none: no tablet or keyboard')


def _serial_ports(p):
    note = ''
    if p.serial_ports > 1 and p.serial_extra:
        note = 'the first on the board, the others %s' % p.serial_extra
    return Cell(values=(str(p.serial_ports),), note=note)


def _boot_menu(p):
    return Cell(note='yes' if p.boot_menu else 'no: the firmware has none')


def _gic(p):
    return _values(
        ('%s (at most %d vCPUs)' % (v, n) if n else v
         for v, n in p.gic_versions), empty='none: no GIC')


def _version(version):
    return '.'.join(str(part) for part in version)


def _broken(p):
    """Versions refused at planning, e.g. ``virt <= 6.1 (TCG)``."""
    texts = []
    for b in p.broken_machines:
        where = '/'.join('TCG' if t == 'qemu' else t.upper()
                         for t in b.domain_types)
        span = ('<= %s' % _version(b.last) if b.first is None else
                '%s to %s' % (_version(b.first), _version(b.last)))
        texts.append('%s %s (%s)' % (b.family, span, where))
    return _values(texts)


def _limit(value, otherwise, unit='', why=None):
    if value is None:
        return Cell(note=otherwise)
    return Cell(values=('%d%s' % (value, unit),), note=why or '')


def _enabled(arch):
    default = emulation.DEFAULT_ARCHITECTURES
    return Cell(note='yes' if arch in default else 'no')


# (label, profile fields, cell of a profile); the rows in table order.
_ROWS = (
    ('Default machine type', ('default_machine',),
     lambda p: Cell(values=(p.default_machine,))),
    ('Machine families accepted', ('machine_families',),
     lambda p: _values(p.machine_families)),
    ('Machine versions refused (QEMU cannot start them)',
     ('broken_machines',), _broken),
    ('Most vCPUs (and what the machine offers)',
     ('max_vcpus', 'max_vcpus_reason'),
     lambda p: _limit(p.max_vcpus, 'what the machine offers',
                      why=p.max_vcpus_reason)),
    ('Most RAM (and the host memory)', ('max_memory_mib',),
     lambda p: _limit(p.max_memory_mib, "the host's memory", ' MiB')),
    ('PCI root controller', ('families',),
     lambda p: _family_cell(p, 'pci_root', empty='none: no PCI')),
    ('cdrom and config drive bus', ('families',),
     lambda p: _family_cell(p, 'cdrom_bus')),
    ('PCIe root ports when [libvirt]num_pcie_ports = 0',
     ('default_pcie_ports',),
     lambda p: Cell(values=(str(p.default_pcie_ports),))),
    ('Firmware', ('firmware', 'uefi_with_kernel'), _firmware),
    ('hw_firmware_type accepted', ('firmware_types',),
     lambda p: _values(p.firmware_types)),
    ('Boot without a kernel', ('needs_kernel', 'boot_loader'),
     _without_kernel),
    ('ACPI', ('acpi',), lambda p: Cell(values=(p.acpi,))),
    ('Other <features>', ('features',),
     lambda p: _values(_feature(n, a) for n, a in p.features)),
    ('TCG CPU models, first offered wins', ('cpu_element', 'tcg_cpu_models'),
     _tcg_models),
    ('TCG CPU fallback', ('cpu_element', 'tcg_cpu_maximum'), _tcg_fallback),
    ('KVM CPU modes, first offered wins', ('cpu_element', 'kvm_cpu_modes'),
     _kvm_modes),
    ('Kernel console', ('kernel_console',),
     lambda p: Cell(values=(p.kernel_console,))),
    ('Console device', ('serial', 'sclp'), _console),
    ('Graphics consoles', ('graphics',), _graphics),
    ('Video models, first is the default', ('video_models',),
     lambda p: _values(p.video_models)),
    ('USB controller', ('usb_model',), _usb),
    ('Tablet and keyboard buses (hw_input_bus), first is the default',
     ('input_buses',), _input),
    ('Disk buses, first is the default', ('disk_buses',),
     lambda p: _values(p.disk_buses)),
    ('NIC models (hw_vif_model), first is the default', ('nic_models',),
     lambda p: _values(p.nic_models)),
    ('NIC PCI slots (bus 0), in NIC order', ('nic_pci_slots',),
     lambda p: _values((str(s) for s in p.nic_pci_slots),
                       empty="libvirt's choice")),
    ('SCSI controller models (hw_scsi_model), first is the default',
     ('scsi_models',), lambda p: _values(p.scsi_models)),
    ('RNG models (hw_rng_model), first is the default', ('rng_models',),
     lambda p: _values(p.rng_models, empty='none: no RNG')),
    ('Serial ports at most (hw_serial_port_count)',
     ('serial_ports', 'serial_extra'), _serial_ports),
    ('Firmware boot menu (hw_boot_menu)', ('boot_menu',), _boot_menu),
    ('GIC versions, first offered wins', ('gic_versions',), _gic),
    ('Clock timers allowed', ('clock_timers',),
     lambda p: _values(p.clock_timers)),
)

# Rows from elsewhere in the code, keyed by arch name.
_ARCH_ROWS = (
    ('Placement trait (hw_emulation_architecture)',
     lambda arch: Cell(values=(traits.arch_trait(arch),))),
    ('In [emulation]enabled_architectures by default', _enabled),
)


def build(profiles=None):
    """The table for ``profiles`` (default :data:`archs.PROFILES`).

    One column per profile, in the profiles' order.
    """
    if profiles is None:
        profiles = archs.PROFILES
    arches = tuple(profiles)
    chosen = [profiles[a] for a in arches]
    rows = [Row(label, fields, tuple(cell(p) for p in chosen))
            for label, fields, cell in _ROWS]
    rows.extend(Row(label, (), tuple(cell(a) for a in arches))
                for label, cell in _ARCH_ROWS)
    return Table(arches=arches, rows=tuple(rows))


def shown_fields():
    """The ArchProfile fields the table shows (``arch`` is the column)."""
    fields = {'arch'}
    for _label, names, _cell in _ROWS:
        fields.update(names)
    return fields


def family_label(name):
    return ANY_FAMILY_LABEL if name == ANY_FAMILY else name


def cell_text(cell):
    """The cell as one line of plain text (what the HTML shows)."""
    parts = []
    if cell.pairs:
        parts.append('; '.join('%s: %s' % (family_label(n), v or NONE)
                               for n, v in cell.pairs))
    if cell.values:
        parts.append(', '.join(cell.values))
    if cell.note:
        parts.append('(%s)' % cell.note if parts else cell.note)
    return ' '.join(parts)

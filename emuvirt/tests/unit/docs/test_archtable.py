"""The docs' per-arch table says what the arch profiles say."""

import dataclasses
import types

import testtools

from emuvirt.conf import emulation
from emuvirt.docs import archtable
from emuvirt.virt import archs
from emuvirt.virt import traits

# Rows that show one profile field as it is: label -> field.
PLAIN_ROWS = {
    'Default machine type': 'default_machine',
    'Kernel console': 'kernel_console',
    'ACPI': 'acpi',
}
# Rows that show a tuple field in the profile's order, or "none".
TUPLE_ROWS = {
    'hw_firmware_type accepted': 'firmware_types',
    'Graphics consoles': 'graphics',
    'Video models, first is the default': 'video_models',
    'Disk buses, first is the default': 'disk_buses',
    'NIC models (hw_vif_model), first is the default': 'nic_models',
    'SCSI controller models (hw_scsi_model), first is the default':
        'scsi_models',
    'RNG models (hw_rng_model), first is the default': 'rng_models',
    'Tablet and keyboard buses (hw_input_bus), first is the default':
        'input_buses',
    'Clock timers allowed': 'clock_timers',
}


class TestBuildFromProfiles(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.table = archtable.build()

    def cells(self, label):
        """(arch, profile, cell) for every column of a row."""
        row = self.table.row(label)
        return [(arch, archs.PROFILES[arch], cell)
                for arch, cell in zip(self.table.arches, row.cells)]

    def test_every_profile_is_a_column_in_table_order(self):
        self.assertEqual(tuple(archs.PROFILES), self.table.arches)
        for row in self.table.rows:
            self.assertEqual(len(archs.PROFILES), len(row.cells), row.label)

    def test_every_profile_field_is_shown(self):
        # A new ArchProfile field needs a row (or a reason not to have one).
        fields = {f.name for f in dataclasses.fields(archs.ArchProfile)}
        self.assertEqual(fields, archtable.shown_fields())

    def test_rows_name_real_fields_and_unique_labels(self):
        fields = {f.name for f in dataclasses.fields(archs.ArchProfile)}
        labels = [row.label for row in self.table.rows]
        self.assertEqual(len(labels), len(set(labels)))
        for row in self.table.rows:
            self.assertLessEqual(set(row.fields), fields, row.label)

    def test_plain_values_equal_the_profile(self):
        for label, field in PLAIN_ROWS.items():
            for arch, prof, cell in self.cells(label):
                self.assertEqual((getattr(prof, field),), cell.values,
                                 '%s of %s' % (label, arch))

    def test_tuple_values_in_profile_order(self):
        for label, field in TUPLE_ROWS.items():
            for arch, prof, cell in self.cells(label):
                expected = tuple(getattr(prof, field))
                self.assertEqual(expected, cell.values,
                                 '%s of %s' % (label, arch))
                if not expected:
                    self.assertTrue(cell.note.startswith('none'), label)

    def test_pcie_ports(self):
        for arch, prof, cell in self.cells(
                'PCIe root ports when [libvirt]num_pcie_ports = 0'):
            self.assertEqual((str(prof.default_pcie_ports),), cell.values)

    def test_most_vcpus_with_the_reason(self):
        for arch, prof, cell in self.cells(
                'Most vCPUs (and what the machine offers)'):
            if prof.max_vcpus is None:
                self.assertEqual((), cell.values, arch)
                self.assertEqual('what the machine offers', cell.note)
            else:
                self.assertEqual((str(prof.max_vcpus),), cell.values, arch)
                self.assertEqual(prof.max_vcpus_reason, cell.note, arch)
        mipsel = self.table.cell('Most vCPUs (and what the machine offers)',
                                 'mipsel')
        self.assertEqual(('1',), mipsel.values)
        self.assertIn('no SMP', mipsel.note)

    def test_firmware(self):
        for arch, prof, cell in self.cells('Firmware'):
            self.assertEqual((prof.firmware,), cell.values, arch)
            # UEFI arches say what a direct kernel boot gets.
            self.assertEqual(
                prof.firmware == 'uefi' and not prof.uefi_with_kernel,
                'builtin with direct kernel boot' in cell.note, arch)

    def test_features_as_xml(self):
        for arch, prof, cell in self.cells('Other <features>'):
            self.assertEqual(len(prof.features), len(cell.values), arch)
        self.assertEqual('none', self.table.cell(
            'Other <features>', 'aarch64').note)
        self.assertEqual(('<apic/>',), self.table.cell(
            'Other <features>', 'x86_64').values)

    def test_tcg_cpu_models_in_order_then_fallback(self):
        models = dict((a, c) for a, _p, c in self.cells(
            'TCG CPU models, first offered wins'))
        fallback = dict((a, c) for a, _p, c in self.cells(
            'TCG CPU fallback'))
        for arch, prof in archs.PROFILES.items():
            if not prof.cpu_element:
                self.assertEqual((), models[arch].values, arch)
                self.assertIn('no <cpu>', models[arch].note)
            else:
                self.assertEqual(prof.tcg_cpu_models, models[arch].values,
                                 arch)
            self.assertEqual(
                ('maximum',) if prof.cpu_element and prof.tcg_cpu_maximum
                else (), fallback[arch].values, arch)
            if not fallback[arch].values:
                self.assertIn("QEMU's default", fallback[arch].note)

    def test_kvm_cpu_modes(self):
        for arch, prof, cell in self.cells(
                'KVM CPU modes, first offered wins'):
            self.assertEqual(prof.kvm_cpu_modes if prof.cpu_element else (),
                             cell.values, arch)

    def test_console_device(self):
        for arch, prof, cell in self.cells('Console device'):
            expected = tuple(k for k in ('serial', 'sclp')
                             if getattr(prof, k))
            self.assertEqual(expected, cell.values, arch)

    def test_usb_and_input(self):
        for arch, prof, cell in self.cells('USB controller'):
            self.assertEqual((prof.usb_model,) if prof.usb_model else (),
                             cell.values, arch)
        self.assertEqual('none: no USB', self.table.cell(
            'USB controller', 's390x').note)

    def test_serial_ports_boot_menu_and_gic(self):
        for arch, prof, cell in self.cells(
                'Serial ports at most (hw_serial_port_count)'):
            self.assertEqual((str(prof.serial_ports),), cell.values, arch)
        self.assertEqual('4 (the first on the board, the others pci-serial)',
                         archtable.cell_text(self.table.cell(
                             'Serial ports at most (hw_serial_port_count)',
                             'aarch64')))
        for arch, prof, cell in self.cells(
                'Firmware boot menu (hw_boot_menu)'):
            self.assertEqual(prof.boot_menu, cell.note == 'yes', arch)
        self.assertEqual(('3', '2 (at most 8 vCPUs)'), self.table.cell(
            'GIC versions, first offered wins', 'aarch64').values)
        self.assertEqual('none: no GIC', self.table.cell(
            'GIC versions, first offered wins', 'x86_64').note)

    def test_machine_family_rows(self):
        for label, attr in (('PCI root controller', 'pci_root'),
                            ('cdrom and config drive bus', 'cdrom_bus')):
            for arch, prof, cell in self.cells(label):
                if set(prof.families) == {'*'}:
                    value = getattr(prof.families['*'], attr)
                    self.assertEqual((value,) if value else (), cell.values)
                    self.assertEqual((), cell.pairs)
                else:
                    self.assertEqual(
                        {n: getattr(f, attr)
                         for n, f in prof.families.items()},
                        dict(cell.pairs), arch)
                    # The fallback family comes last.
                    self.assertEqual('*', cell.pairs[-1][0])
        self.assertEqual(
            'q35: sata; pc: ide; other: sata',
            archtable.cell_text(self.table.cell(
                'cdrom and config drive bus', 'x86_64')))
        self.assertEqual('none: no PCI', archtable.cell_text(
            self.table.cell('PCI root controller', 's390x')))

    def test_trait_and_default_enabled(self):
        for arch in self.table.arches:
            self.assertEqual(
                (traits.arch_trait(arch),),
                self.table.cell('Placement trait (hw_emulation_architecture)',
                                arch).values)
            self.assertEqual(
                'yes' if arch in emulation.DEFAULT_ARCHITECTURES else 'no',
                self.table.cell(
                    'In [emulation]enabled_architectures by default',
                    arch).note)


class TestOtherProfiles(testtools.TestCase):
    """The table follows whatever profiles it is given."""

    def _profiles(self):
        base = archs.PROFILES['aarch64']
        board = dataclasses.replace(
            base, arch='sparc64', default_machine='sun4u',
            families=types.MappingProxyType({
                'sun4v': archs.MachineFamily('pcie-root', 'sata'),
                '*': archs.MachineFamily(None, 'ide')}),
            tcg_cpu_models=('TI UltraSparc IIi',), tcg_cpu_maximum=False,
            graphics=(), video_models=(), clock_timers=('rtc',),
            firmware='builtin', firmware_types=())
        return types.MappingProxyType({'sparc64': board, 'x86_64':
                                       archs.PROFILES['x86_64']})

    def test_a_new_profile_gets_a_column_with_its_values(self):
        table = archtable.build(self._profiles())
        self.assertEqual(('sparc64', 'x86_64'), table.arches)
        self.assertEqual(('sun4u',), table.cell('Default machine type',
                                                'sparc64').values)
        self.assertEqual((('sun4v', 'pcie-root'), ('*', None)),
                         table.cell('PCI root controller', 'sparc64').pairs)
        self.assertEqual('sun4v: pcie-root; other: none',
                         archtable.cell_text(table.cell(
                             'PCI root controller', 'sparc64')))
        self.assertEqual(('TI UltraSparc IIi',), table.cell(
            'TCG CPU models, first offered wins', 'sparc64').values)
        self.assertEqual("QEMU's default (no <cpu>)", archtable.cell_text(
            table.cell('TCG CPU fallback', 'sparc64')))
        self.assertEqual('none: text console only', archtable.cell_text(
            table.cell('Graphics consoles', 'sparc64')))
        self.assertEqual(('rtc',), table.cell('Clock timers allowed',
                                              'sparc64').values)
        self.assertEqual('builtin', archtable.cell_text(
            table.cell('Firmware', 'sparc64')))
        self.assertEqual('CUSTOM_EMUVIRT_ARCH_SPARC64', table.cell(
            'Placement trait (hw_emulation_architecture)',
            'sparc64').values[0])

    def test_unknown_label(self):
        self.assertRaises(KeyError, archtable.build().row, 'Colour')


class TestCellText(testtools.TestCase):

    def test_forms(self):
        cell = archtable.Cell
        self.assertEqual('a, b', archtable.cell_text(cell(values=('a', 'b'))))
        self.assertEqual('uefi (builtin with direct kernel boot)',
                         archtable.cell_text(cell(
                             values=('uefi',),
                             note='builtin with direct kernel boot')))
        self.assertEqual('none', archtable.cell_text(cell(note='none')))

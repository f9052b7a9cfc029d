"""Tests of the Architecture field and the other field types."""

import testtools

from emuvirt import exception
from emuvirt.objects import fields

NOVA_ARCHES = (
    'alpha', 'armv6', 'armv7l', 'armv7b', 'aarch64', 'cris', 'i686', 'ia64',
    'lm32', 'm68k', 'microblaze', 'microblazeel', 'mips', 'mipsel',
    'mips64', 'mips64el', 'openrisc', 'parisc', 'parisc64', 'ppc', 'ppcle',
    'ppc64', 'ppc64le', 'ppcemb', 's390', 's390x', 'sh4', 'sh4eb', 'sparc',
    'sparc64', 'unicore32', 'x86_64', 'xtensa', 'xtensaeb',
)


class TestArchitecture(testtools.TestCase):

    def test_all_is_nova_list_plus_riscv64(self):
        self.assertEqual(set(NOVA_ARCHES) | {'riscv64'},
                         set(fields.Architecture.ALL))
        self.assertEqual(len(fields.Architecture.ALL),
                         len(set(fields.Architecture.ALL)))

    def test_canonical_names_unchanged(self):
        for name in fields.Architecture.ALL:
            self.assertEqual(name, fields.Architecture.canonicalize(name))

    def test_aliases(self):
        for alias, canonical in (('amd64', 'x86_64'), ('arm64', 'aarch64'),
                                 ('ppc64el', 'ppc64le'), ('i386', 'i686'),
                                 ('i486', 'i686'), ('i586', 'i686')):
            self.assertEqual(canonical,
                             fields.Architecture.canonicalize(alias))

    def test_case_insensitive(self):
        self.assertEqual('x86_64', fields.Architecture.canonicalize('X86_64'))
        self.assertEqual('aarch64', fields.Architecture.canonicalize('ARM64'))

    def test_none_is_none(self):
        self.assertIsNone(fields.Architecture.canonicalize(None))

    def test_x64_is_not_an_alias(self):
        self.assertRaises(exception.InvalidArchitectureName,
                          fields.Architecture.canonicalize, 'x64')

    def test_unknown_names_value_and_source(self):
        exc = self.assertRaises(exception.InvalidArchitectureName,
                                fields.Architecture.canonicalize,
                                'Vax', what='hw_architecture')
        self.assertIn("'Vax'", str(exc))
        self.assertIn('hw_architecture', str(exc))
        self.assertEqual('Vax', exc.kwargs['arch'])

    def test_non_string_refused(self):
        self.assertRaises(exception.InvalidArchitectureName,
                          fields.Architecture.canonicalize, 64)

    def test_field_coerces(self):
        field = fields.ArchitectureField()
        self.assertEqual('ppc64le', field.coerce(None, 'arch', 'ppc64el'))

    def test_field_rejects_with_value_in_message(self):
        field = fields.ArchitectureField()
        exc = self.assertRaises(ValueError, field.coerce, None, 'arch',
                                'z80')
        self.assertIn('z80', str(exc))


class TestStrictBoolean(testtools.TestCase):

    def test_strings(self):
        field = fields.StrictBooleanField()
        for value in ('true', 'yes', '1', 'on', True):
            self.assertIs(True, field.coerce(None, 'b', value))
        for value in ('false', 'no', '0', 'off', False):
            self.assertIs(False, field.coerce(None, 'b', value))

    def test_unknown_string_is_error(self):
        field = fields.StrictBooleanField()
        self.assertRaises(ValueError, field.coerce, None, 'b', 'maybe')


class TestEnums(testtools.TestCase):

    def test_console_type(self):
        self.assertEqual(('serial', 'vnc', 'spice', 'none'),
                         fields.ConsoleType.ALL)

    def test_firmware_type(self):
        self.assertEqual(('bios', 'uefi'), fields.FirmwareType.ALL)

    def test_enum_field_rejects(self):
        self.assertRaises(ValueError, fields.DiskBusField().coerce,
                          None, 'hw_disk_bus', 'floppy')

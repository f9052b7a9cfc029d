"""Checks of values from outside, and how messages show such values."""

import testtools

from emuvirt import checks
from emuvirt import exception


class TestShorten(testtools.TestCase):

    def test_plain_value_quoted(self):
        self.assertEqual("'sparc9'", exception.shorten('sparc9'))
        self.assertEqual("''", exception.shorten(''))
        self.assertEqual("'12'", exception.shorten(12))

    def test_escaped(self):
        self.assertEqual("'a\\nb'", exception.shorten('a\nb'))
        self.assertEqual("'\\x00\\x1b\\udcff'",
                         exception.shorten('\x00\x1b\udcff'))
        self.assertEqual("'a\\u2028b'", exception.shorten('a\u2028b'))

    def test_cut_saying_how_long(self):
        shown = exception.shorten('x' * 1000)
        self.assertEqual("'%s'... (1000 characters)" % ('x' * 40), shown)
        self.assertEqual(1, len(exception.shorten('\n' * 5000).splitlines()))


class TestLabel(testtools.TestCase):

    def test_plain_names_as_they_are(self):
        for name in ('hw_machine_type', '[libvirt]hw_machine_type',
                     'trait:CUSTOM_X', 'ram', 'vcpus=2'):
            self.assertEqual(name, exception.label(name))

    def test_other_names_shortened(self):
        self.assertEqual("''", exception.label(''))
        self.assertEqual("'a b'", exception.label('a b'))
        self.assertEqual("'a\\nb'", exception.label('a\nb'))
        self.assertIn('(41 characters)', exception.label('a' * 41))

    def test_paths(self):
        self.assertEqual('/var/lib/x.qcow2',
                         exception.path_label('/var/lib/x.qcow2'))
        self.assertEqual("'/tmp/a b'", exception.path_label('/tmp/a b'))
        self.assertEqual("'/tmp/\\x01'", exception.path_label('/tmp/\x01'))
        long_path = '/' + 'd/' * 150
        self.assertIn('(301 characters)', exception.path_label(long_path))


class TestListing(testtools.TestCase):

    def test_short_list_whole(self):
        self.assertEqual('a, b', exception.listing(['a', 'b']))
        self.assertEqual('none', exception.listing([]))

    def test_long_list_cut(self):
        items = ['m%d' % i for i in range(300)]
        text = exception.listing(items)
        self.assertTrue(text.startswith('m0, m1, '), text)
        self.assertTrue(text.endswith('m11 and 288 more'), text)


class TestOneLineMessages(testtools.TestCase):

    def test_every_message_is_one_line(self):
        for text in ('a\nb', 'a\rb', 'a\x85b', 'a\u2028b', 'a\x00b'):
            e = exception.EmuvirtException(text)
            self.assertEqual(1, len(str(e).splitlines()), repr(str(e)))
            self.assertEqual(str(e), e.args[0])
        self.assertEqual('a\\nb', str(exception.Invalid(reason='a\nb'))[-4:])

    def test_values_and_names_shown_short(self):
        e = exception.InvalidArchitectureName(arch='x\n' * 100, name='')
        self.assertEqual(1, len(str(e).splitlines()))
        self.assertIn('(200 characters)', str(e))
        self.assertIn("(property or option '')", str(e))
        self.assertEqual('x\n' * 100, e.kwargs['arch'], 'kept as given')

    def test_empty_property_name_is_visible(self):
        e = exception.InvalidImageProperty(name='', reason='unknown')
        self.assertEqual("Image property '': unknown", str(e))
        e = exception.InvalidImageProperty(name='hw_disk_bus', reason='x')
        self.assertEqual('Image property hw_disk_bus: x', str(e))


class TestTextProblem(testtools.TestCase):

    def test_fine(self):
        for text in ('', 'console=ttyS0 root=/dev/vda', 'café', '日本'):
            self.assertIsNone(checks.text_problem(text))

    def test_refused(self):
        for text, reason in (('a\x00', 'control character \\x00'),
                             ('a\nb', 'control character \\n'),
                             ('\t', 'control character \\t'),
                             ('\x7f', 'control character \\x7f'),
                             ('\x9b', 'control character \\x9b'),
                             ('\ufffe', 'control character \\ufffe'),
                             ('a\udcff', 'not valid UTF-8')):
            self.assertIn(reason, checks.text_problem(text), repr(text))
        self.assertEqual('not a string', checks.text_problem(b'x'))


class TestCheckName(testtools.TestCase):

    def test_fine(self):
        for name in ('a', 'web-1', 'db_2.example+x', 'A' * 63,
                     'instance-6f8a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b'):
            self.assertEqual(name, checks.check_name(name, '--name'))

    def test_refused_naming_the_argument(self):
        for name in ('', '../x', 'x\n', 'a b', ' a', 'a\x00', '-a', '.a',
                     'a/b', 'A' * 64, 'é', None):
            e = self.assertRaises(checks.InvalidValue, checks.check_name,
                                  name, '--name')
            self.assertTrue(str(e).startswith('--name '), str(e))
            self.assertEqual(1, len(str(e).splitlines()))

    def test_uuid_like_refused(self):
        for name in ('6f8a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
                     '6F8A1C2E3B4D4E5F8A9B0C1D2E3F4A5B'):
            e = self.assertRaises(checks.InvalidValue, checks.check_name,
                                  name, 'NAME')
            self.assertIn('looks like a UUID', str(e))


class TestCheckPathAndCommandLine(testtools.TestCase):

    def test_paths(self):
        self.assertEqual('/a b/c', checks.check_path('/a b/c', '--image'))
        for path, reason in (('', 'empty path'),
                             ('/x\n', 'control character'),
                             ('/x\udcff', 'not valid UTF-8'),
                             ('/' + 'x' * 4095, 'longer than 4095 bytes')):
            e = self.assertRaises(checks.InvalidPath, checks.check_path,
                                  path, '--kernel')
            self.assertTrue(str(e).startswith('--kernel '), str(e))
            self.assertIn(reason, str(e))

    def test_command_line(self):
        line = 'console=ttyAMA0 root=/dev/vda ' + 'x' * 4000
        self.assertEqual(line, checks.check_command_line(line, '--cmdline'))
        e = self.assertRaises(checks.InvalidValue, checks.check_command_line,
                              'x' * 4096, '--cmdline')
        self.assertIn('4096 bytes long; at most 4095', str(e))
        self.assertIn('(4096 characters)', str(e))
        e = self.assertRaises(checks.InvalidValue, checks.check_command_line,
                              'a\x00b', '--cmdline')
        self.assertEqual("--cmdline 'a\\x00b': control character \\x00 not "
                         "allowed", str(e))

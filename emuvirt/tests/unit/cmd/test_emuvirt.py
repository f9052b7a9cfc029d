"""Tests of the ``emuvirt`` front command: parsing, config, exit codes."""

import io

import fixtures
import testtools

from emuvirt.cmd import emuvirt as emuvirt_cmd
from emuvirt.cmd import guest_xml
from emuvirt import exception


class CommandTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', self.stdout))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', self.stderr))
        self.parse_args = self.useFixture(fixtures.MockPatch(
            'emuvirt.conf.parse_args')).mock
        self.run = self.useFixture(fixtures.MockPatchObject(
            guest_xml, 'run', return_value=0)).mock


class TestParser(CommandTestCase):

    def test_command_required(self):
        exc = self.assertRaises(SystemExit, emuvirt_cmd.main, [])
        self.assertEqual(2, exc.code)
        self.assertIn('COMMAND', self.stderr.getvalue())
        self.run.assert_not_called()

    def test_unknown_command(self):
        exc = self.assertRaises(SystemExit, emuvirt_cmd.main, ['nope'])
        self.assertEqual(2, exc.code)

    def test_unknown_option(self):
        exc = self.assertRaises(SystemExit, emuvirt_cmd.main,
                                ['guest-xml', '--nope'])
        self.assertEqual(2, exc.code)
        self.run.assert_not_called()

    def test_guest_xml_arguments(self):
        args = emuvirt_cmd.build_parser().parse_args(
            ['--config-file', 'a.conf', '--config-file', 'b.conf',
             'guest-xml', '--property', 'hw_emulation_architecture=s390x',
             '--flavor', 'vcpus=2', '--name', 'g1'])
        self.assertEqual(['a.conf', 'b.conf'], args.config_file)
        self.assertEqual(['hw_emulation_architecture=s390x'], args.property)
        self.assertEqual(('vcpus=2', 'g1'), (args.flavor, args.name))
        self.assertIs(guest_xml.run, args.func)


class TestLazySubcommands(CommandTestCase):

    def test_help_lists_every_subcommand_as_its_module_gives_it(self):
        # Without argv every module's own add_parser() runs; with a
        # command line naming no subcommand, only the table's names and
        # help texts are there.  --help must not tell them apart.
        self.assertEqual(emuvirt_cmd.build_parser().format_help(),
                         emuvirt_cmd.build_parser([]).format_help())
        for name, _module, _help in emuvirt_cmd.SUBCOMMANDS:
            self.assertIn(name, emuvirt_cmd.build_parser([]).format_help())

    def test_chosen_subcommand_is_complete(self):
        argv = ['--debug', '--config-file', 'a.conf', 'guest-xml',
                '--name', 'g1']
        args = emuvirt_cmd.build_parser(argv).parse_args(argv)
        self.assertEqual(('g1', True), (args.name, args.debug))
        self.assertIs(guest_xml.run, args.func)

    def test_option_value_is_not_taken_for_the_subcommand(self):
        argv = ['--config-file', 'server', 'guest-xml', '--name', 'g1']
        args = emuvirt_cmd.build_parser(argv).parse_args(argv)
        self.assertEqual((['server'], 'g1'), (args.config_file, args.name))

    def test_other_subcommands_take_no_arguments(self):
        exc = self.assertRaises(
            SystemExit, emuvirt_cmd.build_parser(['guest-xml']).parse_args,
            ['server', 'list'])
        self.assertEqual(2, exc.code)

    def test_bad_top_level_option_still_reported(self):
        exc = self.assertRaises(SystemExit, emuvirt_cmd.main,
                                ['--config-file'])
        self.assertEqual(2, exc.code)
        self.assertIn('--config-file', self.stderr.getvalue())
        self.run.assert_not_called()


class TestMain(CommandTestCase):

    def test_config_files_and_debug_passed_on(self):
        self.assertEqual(0, emuvirt_cmd.main(
            ['--config-file', 'a.conf', '--config-file', 'b.conf',
             '--debug', 'guest-xml']))
        self.parse_args.assert_called_once_with(
            ['emuvirt', '--config-file', 'a.conf', '--config-file',
             'b.conf', '--debug'], prog='emuvirt')
        self.assertEqual(1, self.run.call_count)

    def test_no_config_file(self):
        emuvirt_cmd.main(['guest-xml'])
        self.parse_args.assert_called_once_with(['emuvirt'], prog='emuvirt')

    def test_returns_subcommand_status(self):
        self.run.return_value = 3
        self.assertEqual(3, emuvirt_cmd.main(['guest-xml']))

    def test_reads_sys_argv_by_default(self):
        self.useFixture(fixtures.MonkeyPatch(
            'sys.argv', ['emuvirt', 'guest-xml', '--name', 'from-argv']))
        emuvirt_cmd.main()
        self.assertEqual('from-argv', self.run.call_args[0][0].name)

    def test_error_is_one_line_and_status_1(self):
        self.run.side_effect = exception.InvalidImageProperty(
            name='hw_video_model', reason='vga is not supported')
        self.assertEqual(1, emuvirt_cmd.main(['guest-xml']))
        self.assertEqual('', self.stdout.getvalue())
        self.assertEqual('emuvirt: error: Image property hw_video_model: '
                         'vga is not supported\n', self.stderr.getvalue())

    def test_config_error_is_reported_the_same_way(self):
        self.parse_args.side_effect = exception.ConfigOptionInvalid(
            name='[libvirt]hw_machine_type', reason='bad entry')
        self.assertEqual(1, emuvirt_cmd.main(['guest-xml']))
        self.assertEqual('emuvirt: error: Configuration option '
                         '[libvirt]hw_machine_type: bad entry\n',
                         self.stderr.getvalue())
        self.run.assert_not_called()

"""The ``emuvirt`` command: one front for every subcommand."""

import argparse
import importlib
import os
import sys

from emuvirt.cmd import common
from emuvirt import exception

# The versioned objects' library (oslo.versionedobjects) loads eventlet,
# through oslo.messaging and oslo.service, and eventlet's green DNS
# resolver loads dnspython (~0.1 s, a third of guest-xml) unless
# EVENTLET_NO_GREENDNS=yes, eventlet's own switch. No command uses eventlet.
os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')

# (name, module, help) of each subcommand, in the order --help lists them.
# A module is imported only when its subcommand is chosen: a command does
# not load what the others need (Placement's client, the object model, the
# XML generator).  The help is the one the module's add_parser() gives its
# subcommand (a unit test keeps them equal).
SUBCOMMANDS = (
    ('guest-xml', 'emuvirt.cmd.guest_xml',
     'print the domain XML a spawn would define (a dry run: defines and '
     'creates nothing)'),
    ('server', 'emuvirt.cmd.server', 'create and manage guests'),
    ('host-capabilities', 'emuvirt.cmd.hostcaps',
     'show which guest architectures this host can run, and its traits'),
    ('scheduler', 'emuvirt.cmd.scheduler',
     'ask Placement where a guest could run'),
)


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line: ``emuvirt: error: ...``."""

    def error(self, message):
        command = self.prog.partition(' ')[2]
        where = '%s: ' % command if command else ''
        self.exit(2, 'emuvirt: error: %s%s (see %s --help)\n'
                  % (where, message, self.prog))


class _NoCommand(Exception):
    pass


class _CommandFinder(argparse.ArgumentParser):
    """Finds the subcommand in a command line, as the real parser would."""

    def error(self, message):
        raise _NoCommand()


def _chosen_command(argv):
    """The subcommand ``argv`` names, or None (the parser then reports)."""
    finder = _CommandFinder(add_help=False)
    common.add_config_arguments(finder)
    finder.add_argument('command', nargs='?')
    try:
        return finder.parse_known_args(argv)[0].command
    except _NoCommand:
        return None


def build_parser(argv=None):
    """The ``emuvirt`` parser, complete for the subcommand ``argv`` names.

    The other subcommands are there by name and help only, with no
    arguments: their modules are not imported. Without ``argv`` every
    subcommand is complete.
    """
    chosen = None if argv is None else _chosen_command(argv)
    parser = _Parser(
        prog='emuvirt',
        description='Run foreign-architecture guests under QEMU emulation.')
    common.add_config_arguments(parser)
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND',
                                       parser_class=_Parser)
    subparsers.required = True
    for name, module, help in SUBCOMMANDS:
        if argv is None or name == chosen:
            importlib.import_module(module).add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=help)
    return parser


def main(argv=None):
    # Ctrl-C and SIGTERM unwind like an error (what was made is undone on
    # the way out) and end with one line, status 130 or 143.
    from emuvirt import interrupt
    return interrupt.run_command('emuvirt', lambda: _main(argv))


def _main(argv):
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        common.load_config(args, 'emuvirt')
        return args.func(args)
    except exception.EmuvirtException as e:
        print('emuvirt: error: %s' % e, file=sys.stderr)
        return 1

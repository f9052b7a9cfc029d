"""The ``emuvirt`` command: one front for every subcommand."""

import argparse
import sys

from emuvirt.cmd import common
from emuvirt.cmd import guest_xml
from emuvirt.cmd import hostcaps
from emuvirt.cmd import scheduler
from emuvirt.cmd import server
from emuvirt import exception

SUBCOMMANDS = (guest_xml, server, hostcaps, scheduler)


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line: ``emuvirt: error: ...``."""

    def error(self, message):
        command = self.prog.partition(' ')[2]
        where = '%s: ' % command if command else ''
        self.exit(2, 'emuvirt: error: %s%s (see %s --help)\n'
                  % (where, message, self.prog))


def build_parser():
    parser = _Parser(
        prog='emuvirt',
        description='Run foreign-architecture guests under QEMU emulation.')
    common.add_config_arguments(parser)
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND',
                                       parser_class=_Parser)
    subparsers.required = True
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv=None):
    # Ctrl-C and SIGTERM unwind like an error (what was made is undone on
    # the way out) and end with one line, status 130 or 143.
    from emuvirt import interrupt
    return interrupt.run_command('emuvirt', lambda: _main(argv))


def _main(argv):
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        common.load_config(args, 'emuvirt')
        return args.func(args)
    except exception.EmuvirtException as e:
        print('emuvirt: error: %s' % e, file=sys.stderr)
        return 1

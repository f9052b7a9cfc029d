"""The console scripts' entry points (setup.cfg ``console_scripts``).

Each one first makes SIGINT and SIGTERM end the process with one line
(:func:`emuvirt.interrupt.entry_point`), then imports its command, which
takes a good part of a second, and runs it. Nothing else is imported here.
"""

import importlib

from emuvirt import interrupt


def _run(prog, module):
    interrupt.entry_point(prog)
    return importlib.import_module(module).main()


def emuvirt():
    return _run('emuvirt', 'emuvirt.cmd.emuvirt')


def emuvirt_compute():
    return _run('emuvirt-compute', 'emuvirt.cmd.compute')


def emuvirt_manage():
    return _run('emuvirt-manage', 'emuvirt.cmd.manage')


def emuvirt_status():
    return _run('emuvirt-status', 'emuvirt.cmd.status')

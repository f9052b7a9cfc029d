"""The console scripts' entry points (setup.cfg ``console_scripts``).

Each one first makes SIGINT and SIGTERM end the process with one line
(:func:`emuvirt.interrupt.entry_point`), then imports its command, which
takes a good part of a second, and runs it. Nothing else is imported here.

The objects the imports make (modules, classes, option definitions: a few
hundred thousand) live as long as the process, so the garbage collector is
then told to leave them alone (:func:`gc.freeze`): it would walk them all
again at every full collection, and once more when the process exits, for
nothing (some 10% of a short command). What the command itself makes is
collected as usual.
"""

import gc
import importlib

from emuvirt import interrupt


def _run(prog, module):
    interrupt.entry_point(prog)
    command = importlib.import_module(module)
    gc.freeze()
    return command.main()


def emuvirt():
    return _run('emuvirt', 'emuvirt.cmd.emuvirt')


def emuvirt_compute():
    return _run('emuvirt-compute', 'emuvirt.cmd.compute')


def emuvirt_manage():
    return _run('emuvirt-manage', 'emuvirt.cmd.manage')


def emuvirt_status():
    return _run('emuvirt-status', 'emuvirt.cmd.status')

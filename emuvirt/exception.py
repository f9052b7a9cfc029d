"""Exceptions raised by emuvirt.

Like Nova's: each class carries a ``msg_fmt`` that is filled from the
keyword arguments given at raise time, so every message names the
property, option or argument at fault.

Every message is one line: a value from outside is shown through
:func:`shorten` (quoted, escaped, cut short), a list of choices through
:func:`listing`, and whatever still holds a line break or another
control character is escaped when the exception is made.
"""

import re

# Values longer than this are cut in messages.
SHORT = 40
# Paths are shown whole in messages up to this length.
PATH_SHOWN = 200
# Lists longer than this are cut in messages.
LISTED = 12


def shorten(value, limit=SHORT):
    """A value from outside, as a message shows it: one short line.

    Quoted and escaped as Python's ``repr`` does (``'a\\nb'``, ``'\\x00'``,
    ``'\\udcff'`` for a byte that is not UTF-8), and cut after ``limit``
    characters, saying how long it was. A plain value reads as in a
    message that quotes it: ``'sparc9'``.
    """
    if not isinstance(value, str):
        value = str(value)
    if len(value) <= limit:
        return repr(value)
    return '%r... (%d characters)' % (value[:limit], len(value))


def listing(items, limit=LISTED):
    """``a, b, c``, or the first ``limit`` and how many more; ``none``."""
    items = list(items)
    if not items:
        return 'none'
    if len(items) <= limit:
        return ', '.join(items)
    return '%s and %d more' % (', '.join(items[:limit]), len(items) - limit)


_PLAIN_NAME = re.compile(r'[A-Za-z0-9_.:/\[\]=,+@-]{1,%d}' % SHORT)


def label(name):
    """A property, option or key name as a message shows it.

    A plain name as it is (``hw_machine_type``); anything else (empty,
    spaces, control characters, too long) through :func:`shorten`.
    """
    if isinstance(name, str) and _PLAIN_NAME.fullmatch(name):
        return name
    return shorten(name)


def path_label(path):
    """A file path as a message shows it.

    As it is when it prints plainly (no blanks, quotes or control
    characters, at most PATH_SHOWN characters), else through
    :func:`shorten`.
    """
    if (isinstance(path, str) and 0 < len(path) <= PATH_SHOWN and
            path.isprintable() and not any(c.isspace() for c in path) and
            "'" not in path and '"' not in path):
        return path
    return shorten(path, PATH_SHOWN)


def one_line(text):
    """``text`` with line breaks and other control characters escaped."""
    if text.isprintable():
        return text
    return ''.join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class EmuvirtException(Exception):
    """Base exception; subclasses set ``msg_fmt``."""

    msg_fmt = "An unknown exception occurred."
    #: Keyword arguments that are values from outside: the message shows
    #: them through :func:`shorten` (``kwargs`` keeps them as given).
    values = ()
    #: Keyword arguments that name a property, option or key: shown as
    #: they are when plain, else through :func:`shorten`.
    names = ()
    #: Keyword arguments that are paths from outside: shown through
    #: :func:`path_label`.
    paths = ()

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            shown = dict(kwargs)
            for key in self.values:
                if key in shown:
                    shown[key] = shorten(shown[key])
            for key in self.names:
                if key in shown:
                    shown[key] = label(shown[key])
            for key in self.paths:
                if key in shown:
                    shown[key] = path_label(shown[key])
            try:
                message = self.msg_fmt % shown
            except (KeyError, TypeError):
                # A missing keyword is a programming error; keep the
                # format string rather than hide the original problem.
                message = self.msg_fmt
        self.message = one_line(str(message))
        super().__init__(self.message)

    def __str__(self):
        return self.message


class Invalid(EmuvirtException):
    msg_fmt = "Invalid input: %(reason)s"


class InvalidArchitectureName(Invalid):
    msg_fmt = ("Architecture name %(arch)s is not recognised "
               "(property or option %(name)s)")
    values = ('arch',)
    names = ('name',)


class InvalidImageProperty(Invalid):
    msg_fmt = "Image property %(name)s: %(reason)s"
    names = ('name',)


class KernelRequired(Invalid):
    msg_fmt = ("%(arch)s guests cannot boot without a kernel "
               "(%(reason)s): give the guest a kernel (emuvirt server "
               "create --kernel; Nova: image property kernel_id)")


class InvalidMachineType(Invalid):
    msg_fmt = ("Machine type %(mtype)s for %(arch)s is not offered by "
               "libvirt (from %(source)s); offered: %(offered)s")
    values = ('mtype',)


class UnsupportedMachineType(Invalid):
    msg_fmt = ("Machine type %(mtype)s for %(arch)s (from %(source)s) "
               "cannot be used: %(reason)s")
    values = ('mtype',)


class FlavorNotSupported(Invalid):
    msg_fmt = "Flavor %(key)s=%(value)s: %(reason)s"


class UnsupportedGraphics(Invalid):
    msg_fmt = ("Image property %(name)s=%(value)s is not supported for "
               "%(arch)s guests: %(reason)s")


class NetworkNotFound(Invalid):
    msg_fmt = ("Network '%(network)s': the libvirt daemon has no active "
               "network of that name")


class InvalidNetworkInfo(Invalid):
    msg_fmt = "Network info: %(reason)s"


class ConfigOptionInvalid(Invalid):
    msg_fmt = "Configuration option %(name)s: %(reason)s"


class ArchitectureNotSupported(Invalid):
    msg_fmt = ("Guest architecture %(arch)s cannot run on this host: "
               "%(reason)s")


class ArchitectureWithoutProfile(ArchitectureNotSupported):
    msg_fmt = ("Image property %(name)s=%(arch)s: emuvirt builds guests of "
               "%(known)s only")
    names = ('name',)


class ArchitectureNotEnabled(ArchitectureNotSupported):
    msg_fmt = ("Image property %(name)s=%(arch)s: this host runs no %(arch)s "
               "guests: it is not in option [emulation]enabled_architectures "
               "(%(enabled)s)")
    names = ('name',)


class FirmwareNotFound(EmuvirtException):
    msg_fmt = ("No %(kind)s firmware found for %(arch)s guests "
               "(looked for %(paths)s)")


class DriverNotFound(EmuvirtException):
    msg_fmt = ("Compute driver '%(name)s' (option [DEFAULT]compute_driver) "
               "is not available; available drivers: %(available)s")


class HypervisorUnavailable(EmuvirtException):
    msg_fmt = "Connection to libvirt at %(uri)s failed: %(reason)s"


class InstanceNotFound(EmuvirtException):
    msg_fmt = "Instance %(instance)s could not be found."


class InstanceRecordBroken(EmuvirtException):
    """An emuvirt guest whose record cannot be read (``reason`` says why)."""

    msg_fmt = ("Instance %(instance)s (%(uuid)s) has an emuvirt record "
               "that cannot be read: %(reason)s")


class InstanceExists(EmuvirtException):
    msg_fmt = "Instance %(name)s already exists."


class InstanceInvalidState(EmuvirtException):
    msg_fmt = ("Instance %(instance)s is %(state)s; %(action)s needs it "
               "%(needed)s.")


class PlacementError(EmuvirtException):
    msg_fmt = "Placement request failed: %(reason)s"


class InvalidImage(Invalid):
    msg_fmt = "Image %(path)s: %(reason)s"
    paths = ('path',)


class DiskNotCreated(EmuvirtException):
    msg_fmt = "Cannot create disk %(path)s: %(reason)s"
    paths = ('path',)


class InstanceDirectoryExists(EmuvirtException):
    msg_fmt = ("Instance directory %(path)s already exists; no guest of "
               "that UUID is defined, so it is left over: remove it")


class GuestOperationFailed(EmuvirtException):
    msg_fmt = "Could not %(action)s instance %(instance)s: %(reason)s"


class WaitTimeout(EmuvirtException):
    msg_fmt = "Timed out after %(seconds)s s waiting for %(what)s"

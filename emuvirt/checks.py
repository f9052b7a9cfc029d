"""Checks of values from outside: names, paths, kernel command lines.

Every value a user gives that ends up in a domain XML, a file name or a
QEMU command line passes one of these checks before anything is claimed,
created or defined; a refusal is one line naming the argument or property
(``what``) and showing the value through :func:`emuvirt.exception.shorten`.
The command line calls them with its argument names, and
:meth:`emuvirt.objects.instance.Instance.new` and the image property
fields call them again, so that every other path gets them too.

Text reaching libvirt must be XML: no control character (libxml2 refuses
them, and a line break in a name or path is never meant), no lone
surrogate (how Python shows a byte that is not UTF-8, in a file name or
an argument), no U+FFFE/U+FFFF.
"""

import re

from emuvirt import exception

# Guest names: libvirt domain names and what commands take as NAME.
NAME_MAX = 63
_NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._+-]{0,%d}' % (NAME_MAX - 1))
_HEX32_RE = re.compile(r'[0-9a-fA-F]{32}')
NAME_RULE = ("use 1 to %d letters, digits, '.', '_', '+' or '-', starting "
             "with a letter or digit" % NAME_MAX)
# Linux: PATH_MAX, with its terminating NUL.
PATH_MAX = 4095
# QEMU's largest kernel command line (s390x: 4096 bytes with the NUL).
COMMAND_LINE_MAX = 4095

# C0 and C1 controls, DEL, surrogates and the two XML non-characters.
_BAD_CHAR = re.compile('[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]')


class InvalidValue(exception.Invalid):
    msg_fmt = "%(what)s %(value)s: %(reason)s"
    values = ('value',)


class InvalidPath(InvalidValue):
    msg_fmt = "%(what)s %(path)s: %(reason)s"
    paths = ('path',)


def text_problem(value):
    """Why ``value`` cannot go into a domain XML, or None if it can."""
    if not isinstance(value, str):
        return 'not a string'
    bad = _BAD_CHAR.search(value)
    if bad is None:
        return None
    char = bad.group()
    if '\ud800' <= char <= '\udfff':
        return 'not valid UTF-8'
    return 'control character %s not allowed' % repr(char)[1:-1]


def check_text(value, what, max_bytes=None):
    """Refuse text that cannot go into a domain XML; return it.

    :param max_bytes: longest allowed UTF-8 encoding, if bounded.
    :raises: InvalidValue naming ``what``.
    """
    reason = text_problem(value)
    if reason is None and max_bytes is not None:
        size = len(value.encode('utf-8'))
        if size > max_bytes:
            reason = '%d bytes long; at most %d allowed' % (size, max_bytes)
    if reason is not None:
        raise InvalidValue(what=what, value=value, reason=reason)
    return value


def is_uuid_like(value):
    """Whether libvirt (and Python's uuid) would read ``value`` as a UUID.

    32 hex digits, with hyphens anywhere.
    """
    return bool(_HEX32_RE.fullmatch(value.replace('-', '')))


def check_name(name, what='name'):
    """A guest name: one safe charset, at most NAME_MAX characters.

    Not a UUID either: commands take a name or a UUID as NAME.

    :raises: InvalidValue naming ``what``.
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidValue(what=what, value=name, reason=NAME_RULE)
    if is_uuid_like(name):
        raise InvalidValue(what=what, value=name,
                           reason='looks like a UUID; NAME arguments could '
                                  'not tell them apart')
    return name


def check_path(path, what):
    """A local file path given for a guest: XML text, at most PATH_MAX.

    :raises: InvalidValue naming ``what``.
    """
    if path == '':
        raise InvalidPath(what=what, path=path, reason='empty path')
    reason = text_problem(path)
    if reason is None and len(path.encode('utf-8')) > PATH_MAX:
        reason = 'longer than %d bytes' % PATH_MAX
    if reason is not None:
        raise InvalidPath(what=what, path=path, reason=reason)
    return path


def check_command_line(cmdline, what='kernel command line'):
    """A kernel command line: one line of text, at most COMMAND_LINE_MAX.

    :raises: InvalidValue naming ``what``.
    """
    return check_text(cmdline, what, max_bytes=COMMAND_LINE_MAX)

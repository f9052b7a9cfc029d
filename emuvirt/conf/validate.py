"""Checks of option values that oslo.config types cannot express.

:func:`validate` runs every check and is called by
:func:`emuvirt.conf.parse_args`; a bad value raises ConfigOptionInvalid
naming the option as ``[group]name`` and the bad entry, so that start-up
stops with one clear line.
"""

from oslo_config import cfg
from oslo_config import types

from emuvirt import architecture
from emuvirt import exception


class ArchitectureType(types.String):
    """An oslo.config type holding a canonical architecture name."""

    def __init__(self, type_name='architecture value'):
        super().__init__(type_name=type_name)

    def __call__(self, value):
        value = super().__call__(value)
        try:
            return architecture.canonicalize(value)
        except exception.InvalidArchitectureName:
            raise ValueError("'%s' is not a known architecture name" % value)

    def _formatter(self, value):
        return value


def _opt_name(group, name):
    return '[%s]%s' % (group, name)


def _arch_map(conf, group, name, value_name):
    """Parse a list of ``arch=value`` entries into {canonical_arch: value}.

    :raises: ConfigOptionInvalid naming the option and the entry.
    """
    opt = _opt_name(group, name)
    result = {}
    for entry in getattr(conf[group], name) or []:
        arch, sep, value = entry.partition('=')
        arch, value = arch.strip(), value.strip()
        if not sep or not arch or not value:
            raise exception.ConfigOptionInvalid(
                name=opt, reason="entry '%s' is not of the form arch=%s" % (
                    entry, value_name))
        try:
            arch = architecture.canonicalize(arch, what=opt)
        except exception.InvalidArchitectureName:
            raise exception.ConfigOptionInvalid(
                name=opt, reason="entry '%s': '%s' is not a known "
                                 "architecture name" % (entry, arch))
        if arch in result and result[arch] != value:
            raise exception.ConfigOptionInvalid(
                name=opt, reason="entry '%s': %s already maps to '%s'" % (
                    entry, arch, result[arch]))
        result[arch] = value
    return result


def machine_type_map(conf):
    """Return ``[libvirt]hw_machine_type`` as {canonical_guest_arch: machine}.

    :raises: ConfigOptionInvalid naming the option and the bad entry.
    """
    return _arch_map(conf, 'libvirt', 'hw_machine_type', 'machine')


def cpu_model_map(conf):
    """Return ``[emulation]cpu_models`` as {canonical_guest_arch: model}.

    :raises: ConfigOptionInvalid naming the option and the bad entry.
    """
    return _arch_map(conf, 'emulation', 'cpu_models', 'model')


def _check_values(conf):
    """Read every registered option once.

    oslo.config checks types, choices and ranges of values from files
    only when an option is read; reading all of them here turns a bad
    value into ConfigOptionInvalid at start-up.
    """
    for name in sorted(conf):
        value = _read(conf, 'DEFAULT', name)
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            for opt_name in sorted(value):
                _read(value, name, opt_name)


def check_group(conf, group):
    """Read every option of ``group`` once (see :func:`validate`).

    :raises: ConfigOptionInvalid naming the option for a bad value.
    """
    values = _read(conf, 'DEFAULT', group)
    for opt_name in sorted(values):
        _read(values, group, opt_name)


def _read(mapping, group_name, name):
    try:
        return mapping[name]
    except (cfg.Error, ValueError) as exc:
        raise exception.ConfigOptionInvalid(
            name=_opt_name(group_name, name), reason=_short(exc))


def _short(exc):
    """Return the useful part of an oslo.config value error."""
    text = str(exc)
    marker = 'is not valid: '
    if marker in text:
        text = text.split(marker, 1)[1]
    return text


def validate(conf):
    """Run every check; raise ConfigOptionInvalid for the first bad value."""
    _check_values(conf)
    machine_type_map(conf)
    cpu_model_map(conf)

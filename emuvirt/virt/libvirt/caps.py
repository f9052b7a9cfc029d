"""Host capabilities and domain capabilities as typed, read-only objects.

libvirt describes what a host can run in two XML documents:

* ``virConnectGetCapabilities``: the host CPU plus one ``<guest>`` entry per
  (os type, architecture) with its emulator, machine types (and their
  aliases, e.g. ``virt`` -> ``virt-7.2``) and domain types (``qemu``,
  ``kvm``);
* ``virConnectGetDomainCapabilities``: for one (emulator, arch, machine,
  virt type), which firmware, CPU modes and models, and device models that
  combination accepts.

This module turns both into small dataclasses so the rest of emuvirt never
looks at raw XML. Parsing is pure: no libvirt connection is needed, which
keeps it testable against the data files under ``emuvirt/tests/data``.
Architecture names are canonicalised on the way in.

Parsing is also lazy where a guest reads little of a document: a guest
arch's machine types and each part of the domain capabilities (its OS,
CPU, each device, its features) are read into their fields the first
time one of those fields is used (see :class:`_Deferred`); a machine
looked up by name is found without reading the others.
"""

import dataclasses
import re
import typing as ty

from lxml import etree

from emuvirt import architecture


def canonical_arch(name):
    """Return the canonical name of an architecture reported by libvirt.

    libvirt reports some architectures that emuvirt has no canonical name
    for (``armv6l``, ``riscv32``...); those are kept, lower-cased, instead
    of failing the whole capabilities document.
    """
    if name is None:
        return None
    # What architecture.canonicalize returns for a known name, without
    # raising (and building a message) for the others.
    name = name.strip().lower()
    return architecture.ALIASES.get(name, name)


def _parse(xml):
    if isinstance(xml, etree._Element):
        return xml
    if isinstance(xml, str):
        xml = xml.encode('utf-8')
    return etree.fromstring(xml)


def _text(node, path, default=None):
    found = node.find(path)
    if found is None or found.text is None:
        return default
    return found.text.strip()


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _supported(node):
    return node is not None and node.get('supported') == 'yes'


def _enum(node, name):
    """Values of ``<enum name=NAME>`` directly under ``node`` as a tuple."""
    if node is None:
        return ()
    for enum in node.findall('enum'):
        if enum.get('name') == name:
            return tuple(v.text.strip() for v in enum.findall('value')
                         if v.text)
    return ()


class _Deferred(object):
    """Dataclass fields read from the document when first used.

    An object built by its constructor holds every field, as any
    dataclass. The parse functions below build some with groups of fields
    left out (:meth:`_deferred`): the first read of such a field runs its
    group's parser on the element kept for it and stores the group's
    values, so a guest pays only for the parts of a document its
    decisions read. Equality, ``repr`` and ``dataclasses.replace`` read
    every field, and so fill in all of them.

    A subclass lists its deferred fields with :func:`_defer`.
    """

    _DEFERRED = {}      # field name -> parser(element) -> {field: value}

    @classmethod
    def _deferred(cls, element, **fields):
        """An object with ``fields`` set and the deferred ones to come.

        ``fields`` must name every field that is not deferred.
        """
        obj = cls.__new__(cls)
        obj.__dict__.update(fields)
        obj.__dict__['_pending'] = (element, set(cls._DEFERRED.values()))
        return obj

    def settle(self):
        """Read every deferred field now, and let the document go.

        For an object kept for long (a service's cache): its parsed
        document takes several times the memory of the fields read from
        it (some 100 KiB against 12 for a domain capabilities document).

        :returns: self.
        """
        for name in type(self)._DEFERRED:
            getattr(self, name)
        return self

    def _unread(self, name):
        """The element field ``name`` will be read from, if not read yet."""
        pending = self.__dict__.get('_pending')
        if pending is None or name in self.__dict__:
            return None
        return pending[0]

    def __getattr__(self, name):
        # Only called when the usual lookup failed: a deferred field not
        # read yet, or no such attribute.
        parse = type(self)._DEFERRED.get(name)
        pending = self.__dict__.get('_pending')
        if parse is not None and pending is not None:
            element, parsers = pending
            if parse in parsers:
                values = parse(element)
                self.__dict__.update(values)
                parsers.discard(parse)
                if not parsers:
                    # Everything read: the element is no longer needed.
                    self.__dict__.pop('_pending', None)
                return values[name]
        if parse is not None and name in self.__dict__:
            # Another thread has just read the group.
            return self.__dict__[name]
        raise AttributeError('%r object has no attribute %r'
                             % (type(self).__name__, name))


def _defer(cls, *groups):
    """Make ``groups`` of ``cls``'s fields deferrable.

    :param groups: (parser, field names) pairs; ``parser(element)``
        returns {field: value} for those fields.
    """
    cls._DEFERRED = {name: parser for parser, names in groups
                     for name in names}
    for name in cls._DEFERRED:
        # The dataclass keeps simple defaults as class attributes, which
        # would answer for a field not read yet (its __init__ holds the
        # defaults itself).
        if name in vars(cls):
            delattr(cls, name)
    return cls


# --------------------------------------------------------------------------
# virConnectGetCapabilities
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class HostCPU:
    """The host CPU as the capabilities document reports it."""

    arch: str
    model: ty.Optional[str] = None
    vendor: ty.Optional[str] = None
    features: ty.Tuple[str, ...] = ()

    def has_feature(self, name):
        return name in self.features


class Machine(ty.NamedTuple):
    """One machine type; ``canonical`` is set when ``name`` is an alias.

    A named tuple rather than a frozen dataclass: a capabilities document
    lists hundreds of machines (648 on an x86_64 host with every QEMU
    package), and the tuple is several times cheaper to build.
    """

    name: str
    canonical: ty.Optional[str] = None
    maxcpus: ty.Optional[int] = None
    deprecated: bool = False

    @property
    def is_alias(self):
        return self.canonical is not None


@dataclasses.dataclass(frozen=True)
class GuestCaps(_Deferred):
    """What libvirt offers for one guest architecture and OS type.

    Parsed from a document, its ``machines`` are read on first use;
    :meth:`get_machine` (and so :meth:`resolve_machine`) finds one name
    without reading the others.
    """

    os_type: str
    arch: str
    wordsize: ty.Optional[int]
    emulator: ty.Optional[str]
    machines: ty.Tuple[Machine, ...] = ()
    # domain type ('qemu', 'kvm') -> emulator specific to that type, if any
    domain_types: ty.Dict[str, ty.Optional[str]] = dataclasses.field(
        default_factory=dict)

    def machine_names(self):
        """All machine names libvirt accepts for this arch, aliases too."""
        return [m.name for m in self.machines]

    def get_machine(self, name):
        arch = self._unread('machines')
        if arch is not None:
            # A plan asks for the same one or two names several times.
            found = self.__dict__.setdefault('_found', {})
            if name not in found:
                found[name] = _find_machine(arch, name)
            return found[name]
        for machine in self.machines:
            if machine.name == name:
                return machine
        return None

    def resolve_machine(self, name):
        """Canonical machine name for ``name``, or None if not offered.

        ``virt`` resolves to ``virt-7.2``, ``pc`` to ``pc-i440fx-7.2``; a
        name that is already canonical is returned unchanged.
        """
        machine = self.get_machine(name)
        if machine is None:
            return None
        return machine.canonical or machine.name

    def aliases(self):
        """Mapping alias -> canonical machine name."""
        return {m.name: m.canonical for m in self.machines if m.canonical}

    def supports_domain_type(self, domain_type):
        return domain_type in self.domain_types

    def emulator_for(self, domain_type=None):
        """Emulator binary for a domain type (falls back to the arch's)."""
        return self.domain_types.get(domain_type) or self.emulator


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """The parsed host capabilities document."""

    host_uuid: ty.Optional[str]
    host_cpu: HostCPU
    guests: ty.Tuple[GuestCaps, ...] = ()

    @classmethod
    def from_xml(cls, xml):
        return parse_capabilities(xml)

    def guest(self, arch, os_type='hvm'):
        """GuestCaps for ``arch`` (any alias) and ``os_type``, or None."""
        arch = canonical_arch(arch)
        for guest in self.guests:
            if guest.arch == arch and guest.os_type == os_type:
                return guest
        return None

    def guest_arches(self, os_type='hvm'):
        """Canonical arches libvirt has an emulator for, in document order."""
        return [g.arch for g in self.guests if g.os_type == os_type]


def _parse_host_cpu(host):
    cpu = host.find('cpu') if host is not None else None
    if cpu is None:
        return HostCPU(arch=None)
    features = tuple(f.get('name') for f in cpu.findall('feature')
                     if f.get('name'))
    return HostCPU(arch=canonical_arch(_text(cpu, 'arch')),
                   model=_text(cpu, 'model'),
                   vendor=_text(cpu, 'vendor'),
                   features=features)


def _machine(node, name):
    get = node.get
    maxcpus = get('maxCpus')
    return Machine(name, get('canonical'),
                   int(maxcpus) if maxcpus and maxcpus.isdigit()
                   else _int(maxcpus),
                   get('deprecated') == 'yes')


def _parse_machines(arch):
    # The longest loop of the parse (over a hundred machines on some
    # arches), hence plain.
    machines = []
    append = machines.append
    for machine in arch.iterfind('machine'):
        name = machine.text
        if name:
            append(_machine(machine, name.strip()))
    return {'machines': tuple(machines)}


def _find_machine(arch, name):
    """The first of an ``<arch>``'s machines called ``name``, or None."""
    for machine in arch.iterfind('machine'):
        text = machine.text
        if text and text.strip() == name:
            return _machine(machine, name)
    return None


_defer(GuestCaps, (_parse_machines, ('machines',)))


def _parse_guest(node):
    arch = node.find('arch')
    domain_types = {d.get('type'): _text(d, 'emulator')
                    for d in arch.findall('domain')}
    return GuestCaps._deferred(
        arch, os_type=_text(node, 'os_type'),
        arch=canonical_arch(arch.get('name')),
        wordsize=_int(_text(arch, 'wordsize')),
        emulator=_text(arch, 'emulator'),
        domain_types=domain_types)


# A guest needs the host CPU and its own arch's <guest> of a capabilities
# document, some 24 <guest> elements and hundreds of machines long.
# libvirt writes each top-level element as a plain <host>...</host> or
# <guest>...</guest> (no attributes, none nested) and each guest's arch as
# <arch name='...'> right after its <os_type>, so the text is cut at
# those tags and only the pieces needed are parsed (each piece is a
# well-formed document). Text not laid out so is parsed whole.
_GUEST_HEAD_RE = re.compile(
    r"""<guest>\s*<os_type>(?P<os_type>[^<]*)</os_type>\s*"""
    r"""<arch\s+name=(?P<q>['"])(?P<arch>[^'"<]*)(?P=q)""")


def _as_text(xml):
    if isinstance(xml, bytes):
        return xml.decode('utf-8')
    return xml if isinstance(xml, str) else None


def _host_element(xml):
    text = _as_text(xml)
    if text is not None and text.count('<host') == 1:
        start = text.find('<host>')
        end = text.find('</host>', start)
        if start >= 0 and end >= 0:
            return etree.fromstring(text[start:end + len('</host>')])
    return _parse(xml).find('host')


def _guest_pieces(text, arch, os_type):
    """The text of the first ``<guest>`` of ``arch`` and ``os_type``.

    A list of it, or an empty one; None when the text is not laid out as
    expected up to there (then it is parsed whole).
    """
    # The names canonical_arch turns into arch, compared inline.
    spellings = {arch}.union(alias for alias, name
                             in architecture.ALIASES.items() if name == arch)
    # From each <guest to its </guest>, then to the next; the first one
    # of the arch and OS type is the one the whole document's parse
    # would find, whatever comes after it.
    start = text.find('<guest')
    while start >= 0:
        head = _GUEST_HEAD_RE.match(text, start)
        end = text.find('</guest>', head.end()) if head else -1
        if end < 0 or '&' in head.group(0):
            return None     # no such head, or an entity to decode
        end += len('</guest>')
        if (head.group('arch').strip().lower() in spellings and
                head.group('os_type').strip() == os_type):
            return [text[start:end]]
        start = text.find('<guest', end)
    return []


def _guest_elements(xml, arch, os_type):
    """The ``<guest>`` elements that may be ``arch``'s (maybe others)."""
    text = _as_text(xml)
    pieces = _guest_pieces(text, arch, os_type) if text is not None else None
    if pieces is not None:
        return [etree.fromstring(p) for p in pieces]
    return _parse(xml).findall('guest')


def parse_host_cpu(xml):
    """The :class:`HostCPU` of a ``<capabilities>`` document alone."""
    return _parse_host_cpu(_host_element(xml))


# libvirt's document starts <capabilities> <host> <uuid>...</uuid> <cpu>
# <arch>NAME</arch>: the first <host>'s first <cpu>'s first <arch>.
_HOST_ARCH_RE = re.compile(
    r'\s*(?:<\?xml[^>]*\?>\s*)?<capabilities>\s*<host>\s*'
    r'(?:<uuid>[^<]*</uuid>\s*)?<cpu>\s*<arch>([^<]*)</arch>')


def parse_host_arch(xml):
    """The canonical host arch of a ``<capabilities>`` document alone."""
    text = _as_text(xml)
    match = _HOST_ARCH_RE.match(text) if text is not None else None
    if match is not None:
        return canonical_arch(match.group(1))
    host = _host_element(xml)
    return canonical_arch(_text(host, 'cpu/arch') if host is not None
                          else None)


def parse_guest_caps(xml, arch, os_type='hvm'):
    """:class:`GuestCaps` of one guest arch in a capabilities document.

    Only that arch's ``<guest>`` element is parsed (a document lists
    hundreds of machines across some 24 arches; a guest needs one arch's);
    the result equals ``parse_capabilities(xml).guest(arch, os_type)``.

    :param xml: the document's text (fastest) or tree.
    :param arch: an architecture name (aliases accepted).
    :returns: GuestCaps, or None when libvirt offers no such guest.
    """
    arch = canonical_arch(arch)
    for node in _guest_elements(xml, arch, os_type):
        arch_node = node.find('arch')
        if (arch_node is not None and
                canonical_arch(arch_node.get('name')) == arch and
                _text(node, 'os_type') == os_type):
            return _parse_guest(node)
    return None


def machine_offered(xml, name):
    """Whether any guest arch of a capabilities document offers ``name``.

    Aliases count (``virt`` as well as ``virt-7.2``); nothing is parsed
    into objects.
    """
    text = _as_text(xml)
    if text is not None:
        return re.search(r'<machine(\s[^>]*)?>\s*%s\s*</machine>'
                         % re.escape(name), text) is not None
    return any(m.text is not None and m.text.strip() == name
               for m in _parse(xml).iterfind('guest/arch/machine'))


def parse_capabilities(xml):
    """Parse a ``<capabilities>`` document into :class:`Capabilities`."""
    root = _parse(xml)
    host = root.find('host')
    return Capabilities(
        host_uuid=_text(host, 'uuid') if host is not None else None,
        host_cpu=_parse_host_cpu(host),
        guests=tuple(_parse_guest(g) for g in root.findall('guest')
                     if g.find('arch') is not None))


# --------------------------------------------------------------------------
# virConnectGetDomainCapabilities
# --------------------------------------------------------------------------

class CPUModel(ty.NamedTuple):
    """A custom CPU model; ``usable`` is 'yes', 'no' or 'unknown'."""

    name: str
    usable: str


@dataclasses.dataclass(frozen=True)
class DomainCapabilities(_Deferred):
    """What one (emulator, arch, machine, virt type) combination accepts.

    Parsed from a document, only the emulator, domain type, machine, arch
    and vCPU limit are read at once; the OS (firmware, loader), CPU, each
    device's and the features' fields are read on first use.
    """

    path: ty.Optional[str]
    domain_type: str
    machine: ty.Optional[str]
    arch: str
    max_vcpus: ty.Optional[int] = None
    firmware: ty.Tuple[str, ...] = ()
    loader_supported: bool = False
    loader_values: ty.Tuple[str, ...] = ()
    loader_types: ty.Tuple[str, ...] = ()
    loader_secure: ty.Tuple[str, ...] = ()
    cpu_host_passthrough: bool = False
    cpu_maximum: bool = False
    cpu_host_model: bool = False
    cpu_host_model_name: ty.Optional[str] = None
    cpu_custom: bool = False
    cpu_models: ty.Tuple[CPUModel, ...] = ()
    disk_buses: ty.Tuple[str, ...] = ()
    disk_devices: ty.Tuple[str, ...] = ()
    graphics_types: ty.Tuple[str, ...] = ()
    video_models: ty.Tuple[str, ...] = ()
    input_types: ty.Tuple[str, ...] = ()
    input_buses: ty.Tuple[str, ...] = ()
    rng_models: ty.Tuple[str, ...] = ()
    rng_backends: ty.Tuple[str, ...] = ()
    channel_types: ty.Tuple[str, ...] = ()
    gic_versions: ty.Tuple[str, ...] = ()
    # every <features> child -> supported='yes'
    features: ty.Dict[str, bool] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_xml(cls, xml):
        return parse_domain_capabilities(xml)

    def supports_video(self, model):
        return model in self.video_models

    def supports_graphics(self, graphics_type):
        return graphics_type in self.graphics_types

    def supports_disk_bus(self, bus):
        return bus in self.disk_buses

    def supports_disk_device(self, device):
        return device in self.disk_devices

    def supports_rng(self, model, backend='random'):
        return model in self.rng_models and backend in self.rng_backends

    def supports_channel(self, channel_type):
        return channel_type in self.channel_types

    def supports_firmware(self, firmware):
        return firmware in self.firmware

    def supports_cpu_mode(self, mode):
        """True if the CPU mode (host-passthrough, maximum...) is offered."""
        return {
            'host-passthrough': self.cpu_host_passthrough,
            'maximum': self.cpu_maximum,
            'host-model': self.cpu_host_model,
            'custom': self.cpu_custom,
        }.get(mode, False)

    def cpu_model_names(self):
        return [m.name for m in self.cpu_models]

    def cpu_model_offered(self, name, include_unusable=False):
        """True if custom model ``name`` is listed and may be used.

        A model libvirt marks ``usable='no'`` (it would lose features on
        this host and accelerator) counts only when ``include_unusable``;
        ``unknown`` (what TCG reports for most arches) counts as usable.
        """
        if not self.cpu_custom:
            return False
        root = self._unread('cpu_models')
        if root is not None:
            # One name, looked up without reading the whole list (once:
            # every plan asks again).
            found = self.__dict__.setdefault('_found_models', {})
            if name not in found:
                found[name] = _find_cpu_model(root, name)
            model = found[name]
        else:
            model = next((m for m in self.cpu_models if m.name == name),
                         None)
        return model is not None and (include_unusable or
                                      model.usable != 'no')

    def supports_feature(self, name):
        return self.features.get(name, False)


def _parse_os(root):
    os_node = root.find('os')
    loader = os_node.find('loader') if os_node is not None else None
    return dict(
        firmware=_enum(os_node, 'firmware'),
        loader_supported=_supported(loader),
        loader_values=tuple(v.text.strip()
                            for v in (loader.findall('value')
                                      if loader is not None else ())
                            if v.text),
        loader_types=_enum(loader, 'type'),
        loader_secure=_enum(loader, 'secure'),
    )


def _cpu_modes(root):
    cpu = root.find('cpu')
    return {m.get('name'): m for m in (cpu.findall('mode')
                                       if cpu is not None else ())}


def _parse_cpu_modes(root):
    modes = _cpu_modes(root)
    host_model = modes.get('host-model')
    return dict(
        cpu_host_passthrough=_supported(modes.get('host-passthrough')),
        cpu_maximum=_supported(modes.get('maximum')),
        cpu_host_model=_supported(host_model),
        cpu_host_model_name=(_text(host_model, 'model')
                             if _supported(host_model) else None),
        cpu_custom=_supported(modes.get('custom')),
    )


def _custom_models(root):
    """The ``<model>`` elements of a supported custom CPU mode."""
    custom = _cpu_modes(root).get('custom')
    return custom.iterfind('model') if _supported(custom) else ()


def _parse_cpu_models(root):
    return dict(cpu_models=tuple(
        CPUModel(m.text.strip(), m.get('usable', 'unknown'))
        for m in _custom_models(root) if m.text))


def _find_cpu_model(root, name):
    """The first custom CPU model called ``name``, or None."""
    for model in _custom_models(root):
        text = model.text
        if text and text.strip() == name:
            return CPUModel(name, model.get('usable', 'unknown'))
    return None


def _child(root, parent, name):
    """``root``'s first ``parent``'s first ``name`` child, or None."""
    node = root.find(parent)
    return node.find(name) if node is not None else None


def _device_parser(name, **fields):
    """A parser of one ``<devices>`` child: {field: enum name}."""
    def parse(root):
        node = _child(root, 'devices', name)
        if not _supported(node):
            node = None
        return {field: _enum(node, enum) for field, enum in fields.items()}
    parse.__name__ = '_parse_%s' % name
    return parse


def _parse_features(root):
    features = root.find('features')
    return dict(features={f.tag: _supported(f) for f in features
                          if isinstance(f.tag, str)}
                if features is not None else {})


def _parse_gic(root):
    gic = _child(root, 'features', 'gic')
    return dict(gic_versions=_enum(gic, 'version') if _supported(gic)
                else ())


_DOMCAPS_GROUPS = (
    (_parse_os, ('firmware', 'loader_supported', 'loader_values',
                 'loader_types', 'loader_secure')),
    (_parse_cpu_modes, ('cpu_host_passthrough', 'cpu_maximum',
                        'cpu_host_model', 'cpu_host_model_name',
                        'cpu_custom')),
    (_parse_cpu_models, ('cpu_models',)),
    (_device_parser('disk', disk_buses='bus', disk_devices='diskDevice'),
     ('disk_buses', 'disk_devices')),
    (_device_parser('graphics', graphics_types='type'),
     ('graphics_types',)),
    (_device_parser('video', video_models='modelType'), ('video_models',)),
    (_device_parser('input', input_types='type', input_buses='bus'),
     ('input_types', 'input_buses')),
    (_device_parser('rng', rng_models='model', rng_backends='backendModel'),
     ('rng_models', 'rng_backends')),
    (_device_parser('channel', channel_types='type'), ('channel_types',)),
    (_parse_features, ('features',)),
    (_parse_gic, ('gic_versions',)),
)
_defer(DomainCapabilities, *_DOMCAPS_GROUPS)


def parse_domain_capabilities(xml):
    """Parse a ``<domainCapabilities>`` document.

    The parts past the vCPU limit are read when first used.
    """
    root = _parse(xml)
    vcpu = root.find('vcpu')
    return DomainCapabilities._deferred(
        root,
        path=_text(root, 'path'),
        domain_type=_text(root, 'domain'),
        machine=_text(root, 'machine'),
        arch=canonical_arch(_text(root, 'arch')),
        max_vcpus=_int(vcpu.get('max')) if vcpu is not None else None)

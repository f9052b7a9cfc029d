"""The instance record, kept in the libvirt domain's own ``<metadata>``.

libvirt is the one store: a restart of any emuvirt process loses nothing
and there is no second database to drift from the daemon. The record
lives in one element of the emuvirt XML namespace::

    <emuvirt:instance xmlns:emuvirt="http://emuvirt.dev/xmlns/instance/1.0">
      <emuvirt:uuid>...</emuvirt:uuid>
      <emuvirt:name>web1</emuvirt:name>
      <emuvirt:guestArch>aarch64</emuvirt:guestArch>
      <emuvirt:machineType>virt-7.2</emuvirt:machineType>
      <emuvirt:flavor vcpus="1" memory_mb="512" root_gb="0"/>
      <emuvirt:boot image="..." format="qcow2" kernel="..." ramdisk="..."
                    configDrive=".../disk.config"/>
      <emuvirt:properties>
        <emuvirt:property name="hw_emulation_architecture">aarch64</...>
      </emuvirt:properties>
    </emuvirt:instance>

``emuvirt:flavor`` also carries ``ephemeral_gb`` and ``swap`` when the
flavor's are not 0: the guest's claim counted them in DISK_GB, and
``emuvirt-manage placement heal_allocations`` claims the same again.

The record is read as untrusted input: anyone with access to the daemon
can edit it (``virsh edit``, ``virsh metadata``). A record that does not
read back exactly as :meth:`InstanceRecord.format_dom` would write it (an
element missing, unknown or repeated, a flavor value that is not a whole
number, a UUID that is not the domain's, control characters...) comes
out of :meth:`InstanceRecord.from_domain_xml` as a :class:`BrokenRecord`:
the domain's own name and UUID and the reason, never an exception, so
that one damaged guest is listed as such and never hides the others.
Image property values are checked when the record is turned into an
:class:`~emuvirt.objects.instance.Instance` (:meth:`to_instance`), where
a bad one raises :class:`RecordBroken` naming it.
"""

import dataclasses
import re

from lxml import etree
from oslo_utils import uuidutils

from emuvirt import architecture
from emuvirt import exception

# The versioned objects are imported by the to_instance() methods, their
# one user: reading records (listing guests) then loads no
# oslo.versionedobjects, which brings oslo.messaging and eventlet with it.

NAMESPACE = 'http://emuvirt.dev/xmlns/instance/1.0'
PREFIX = 'emuvirt'
ROOT = 'instance'


def _q(tag):
    return '{%s}%s' % (NAMESPACE, tag)


# Text elements: XML tag -> attribute, and whether it must be there.
_TEXT = (('uuid', 'uuid', True), ('name', 'name', True),
         ('guestArch', 'guest_arch', True),
         ('machineType', 'machine_type', False))
# Flavor attributes and their lowest value; each must be there.
_FLAVOR = (('vcpus', 1), ('memory_mb', 1), ('root_gb', 0))
# Written only when not 0 (records without them read as 0): the flavor's
# ephemeral disk (GiB) and swap (MiB), which its claim counted in DISK_GB.
_FLAVOR_OPTIONAL = ('ephemeral_gb', 'swap')
_BOOT = (('image', 'image_path'), ('format', 'disk_format'),
         ('kernel', 'kernel_path'), ('ramdisk', 'ramdisk_path'),
         ('configDrive', 'config_drive_path'))
# The image's format (how spawn used it: an iso is a cdrom). Records
# written before it was kept have none; see InstanceRecord.disk_format.
DISK_FORMATS = ('qcow2', 'raw', 'iso')
_KNOWN = {tag for tag, _attr, _req in _TEXT}
_KNOWN.update(('flavor', 'boot', 'properties'))
_NUMBER = re.compile(r'[0-9]{1,12}\Z')
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
# A reason quotes at most this much of a bad value.
_SHOWN = 40


class RecordInvalid(ValueError):
    """A record that does not read back; the message says why."""


# Raised for a guest whose record cannot be read; in emuvirt.exception so
# that commands can catch it without loading this module.
RecordBroken = exception.InstanceRecordBroken


def _shown(value):
    """A value for a reason: escaped, on one line, cut short."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + '...'


def _tag(node):
    """``emuvirt:x`` for the emuvirt namespace, else the Clark name."""
    qname = etree.QName(node)
    if qname.namespace == NAMESPACE:
        return '%s:%s' % (PREFIX, qname.localname)
    return node.tag


def _elements(node):
    """Child elements (comments and processing instructions skipped)."""
    return [c for c in node if isinstance(c.tag, str)]


def _check_text(what, value):
    if _CONTROL.search(value):
        raise RecordInvalid('%s has control characters: %s'
                            % (what, _shown(value)))
    return value


def _no_attributes(node):
    if node.attrib:
        raise RecordInvalid('unknown attribute %s of %s' % (
            sorted(node.attrib)[0], _tag(node)))


def _text_of(node):
    """The text of an element that must hold text only."""
    _no_attributes(node)
    if _elements(node):
        raise RecordInvalid('%s holds an element: %s' % (
            _tag(node), _tag(_elements(node)[0])))
    return _check_text(_tag(node), node.text or '')


def _attributes(node, known):
    unknown = sorted(set(node.attrib) - set(known))
    if unknown:
        raise RecordInvalid('unknown attribute %s of %s'
                            % (unknown[0], _tag(node)))
    if _elements(node):
        raise RecordInvalid('%s holds an element: %s' % (
            _tag(node), _tag(_elements(node)[0])))
    return {k: _check_text('%s %s' % (_tag(node), k), v)
            for k, v in node.attrib.items()}


def _children(root):
    """{local name: element}; unknown or repeated elements are refused."""
    found = {}
    for child in _elements(root):
        qname = etree.QName(child)
        if qname.namespace != NAMESPACE or qname.localname not in _KNOWN:
            raise RecordInvalid('unknown element %s' % _tag(child))
        if qname.localname in found:
            raise RecordInvalid('element %s appears twice' % _tag(child))
        found[qname.localname] = child
    return found


def _flavor(node):
    if node is None:
        raise RecordInvalid('no element emuvirt:flavor')
    attrs = _attributes(node, [name for name, _min in _FLAVOR] +
                        list(_FLAVOR_OPTIONAL))
    values = {}
    for name, lowest in _FLAVOR + tuple(
            (name, 1) for name in _FLAVOR_OPTIONAL if name in attrs):
        if name not in attrs:
            raise RecordInvalid('emuvirt:flavor has no %s' % name)
        text = attrs[name]
        if not _NUMBER.match(text) or int(text) < lowest:
            raise RecordInvalid('emuvirt:flavor %s is not a whole number '
                                'of at least %d: %s'
                                % (name, lowest, _shown(text)))
        values[name] = int(text)
    return values


def _properties(node):
    props = {}
    if node is None:
        return props
    _no_attributes(node)
    for prop in _elements(node):
        if prop.tag != _q('property'):
            raise RecordInvalid('unknown element %s in emuvirt:properties'
                                % _tag(prop))
        attrs = _attributes(prop, ['name'])
        name = attrs.get('name')
        if not name:
            raise RecordInvalid('an emuvirt:property has no name')
        if name in props:
            raise RecordInvalid('property %s appears twice' % name)
        props[name] = _check_text('property %s' % name, prop.text or '')
    return props


def _guest_arch(value):
    try:
        architecture.canonicalize(value)
    except exception.InvalidArchitectureName:
        raise RecordInvalid('unknown guest architecture %s'
                            % _shown(value))
    return value


@dataclasses.dataclass
class InstanceRecord:
    """What emuvirt remembers about a guest."""

    uuid: str
    name: str
    guest_arch: str
    machine_type: str = None
    vcpus: int = 1
    memory_mb: int = 512
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    image_path: str = None
    kernel_path: str = None
    ramdisk_path: str = None
    #: the guest's config drive (in its instance directory), if it has one
    config_drive_path: str = None
    properties: dict = dataclasses.field(default_factory=dict)
    #: The image's format, one of DISK_FORMATS; None in records written
    #: before it was kept (and when there is no image).
    disk_format: str = None

    def format_dom(self):
        root = etree.Element(_q(ROOT), nsmap={PREFIX: NAMESPACE})
        for tag, value in (('uuid', self.uuid), ('name', self.name),
                           ('guestArch', self.guest_arch),
                           ('machineType', self.machine_type)):
            if value is not None:
                etree.SubElement(root, _q(tag)).text = str(value)
        flavor = etree.SubElement(root, _q('flavor'), vcpus=str(self.vcpus),
                                  memory_mb=str(self.memory_mb),
                                  root_gb=str(self.root_gb))
        for name in _FLAVOR_OPTIONAL:
            if getattr(self, name):
                flavor.set(name, str(getattr(self, name)))
        boot = {attr: getattr(self, field) for attr, field in _BOOT
                if getattr(self, field)}
        etree.SubElement(root, _q('boot'), boot)
        props = etree.SubElement(root, _q('properties'))
        for key in sorted(self.properties):
            if self.properties[key] is None:
                continue  # unset: nothing to remember
            prop = etree.SubElement(props, _q('property'), name=key)
            prop.text = str(self.properties[key])
        return root

    def to_xml(self):
        return etree.tostring(self.format_dom(), encoding='unicode')

    # A readable record; see BrokenRecord.
    broken = False
    reason = None

    @classmethod
    def parse_dom(cls, root):
        """The record in element ``root``.

        :raises: RecordInvalid saying what is wrong with it.
        """
        if root.tag != _q(ROOT):
            raise RecordInvalid('the record is %s, not %s:%s'
                                % (_tag(root), PREFIX, ROOT))
        _no_attributes(root)
        children = _children(root)
        values = {}
        for tag, attr, required in _TEXT:
            node = children.get(tag)
            text = _text_of(node) if node is not None else None
            if required and not text:
                raise RecordInvalid('no %s:%s' % (PREFIX, tag))
            values[attr] = text or None
        if not uuidutils.is_uuid_like(values['uuid']):
            raise RecordInvalid('emuvirt:uuid is not a UUID: %s'
                                % _shown(values['uuid']))
        _guest_arch(values['guest_arch'])
        values.update(_flavor(children.get('flavor')))
        boot = children.get('boot')
        boot = _attributes(boot, [a for a, _f in _BOOT]) if (
            boot is not None) else {}
        for attr, field in _BOOT:
            if attr in boot and not boot[attr]:
                raise RecordInvalid('emuvirt:boot %s is empty' % attr)
            values[field] = boot.get(attr)
        if values['disk_format'] not in (None,) + DISK_FORMATS:
            raise RecordInvalid('emuvirt:boot format is not one of %s: %s'
                                % (', '.join(DISK_FORMATS),
                                   _shown(values['disk_format'])))
        values['properties'] = _properties(children.get('properties'))
        return cls(**values)

    def to_instance(self):
        """The :class:`Instance` this record describes.

        :raises: RecordBroken for an image property value (or name) that
            emuvirt does not take.
        """
        from emuvirt.objects import flavor as flavor_obj
        from emuvirt.objects import image_meta as image_meta_obj
        from emuvirt.objects import instance as instance_obj

        try:
            image_meta = image_meta_obj.ImageMeta.from_dict(
                {'properties': self.properties,
                 'disk_format': self.disk_format}, strict=True)
            flavor = flavor_obj.Flavor(vcpus=self.vcpus,
                                       memory_mb=self.memory_mb,
                                       root_gb=self.root_gb,
                                       ephemeral_gb=self.ephemeral_gb,
                                       swap=self.swap)
        except (exception.Invalid, ValueError) as e:
            raise RecordBroken(instance=self.name, uuid=self.uuid,
                               reason=str(e).splitlines()[0] if str(e)
                               else type(e).__name__)
        # An existing guest keeps whatever name and paths it has.
        return instance_obj.Instance.new(
            check=False, uuid=self.uuid, name=self.name, flavor=flavor,
            image_meta=image_meta, image_path=self.image_path,
            kernel_path=self.kernel_path, ramdisk_path=self.ramdisk_path,
            machine_type=self.machine_type,
            config_drive=bool(self.config_drive_path))

    @classmethod
    def from_xml(cls, text):
        """The record in XML ``text``.

        :raises: RecordInvalid
        """
        try:
            root = etree.fromstring(text)
        except (etree.XMLSyntaxError, ValueError) as e:
            raise RecordInvalid('not XML: %s' % e)
        return cls.parse_dom(root)

    @classmethod
    def from_domain_xml(cls, domain_xml):
        """The record inside a whole domain XML.

        :returns: an InstanceRecord; a :class:`BrokenRecord` if the domain
            has emuvirt metadata that cannot be read; None if it has no
            emuvirt metadata (not an emuvirt guest).
        """
        try:
            dom = etree.fromstring(domain_xml)
        except (etree.XMLSyntaxError, ValueError) as e:
            return BrokenRecord(uuid=None, name=None,
                                reason='its domain XML cannot be parsed: '
                                       '%s' % e)
        name, uuid = dom.findtext('name'), dom.findtext('uuid')
        ours = [node for node in dom.iterfind('metadata/*')
                if isinstance(node.tag, str) and
                etree.QName(node).namespace == NAMESPACE]
        if not ours:
            return None
        try:
            if len(ours) > 1:
                raise RecordInvalid('%d emuvirt elements in <metadata>'
                                    % len(ours))
            record = cls.parse_dom(ours[0])
            if uuid and record.uuid.lower() != uuid.lower():
                raise RecordInvalid('emuvirt:uuid %s is not the domain\'s '
                                    'UUID' % record.uuid)
        except RecordInvalid as e:
            return BrokenRecord(uuid=uuid, name=name, reason=str(e))
        return record


@dataclasses.dataclass
class BrokenRecord:
    """A guest whose emuvirt record cannot be read: what libvirt says.

    ``name`` and ``uuid`` are the libvirt domain's, ``reason`` says what
    is wrong with the record. It quacks enough like an
    :class:`InstanceRecord` to be listed (``guest_arch`` is ``'?'``).
    """

    uuid: str
    name: str
    reason: str
    guest_arch: str = '?'
    machine_type = None
    broken = True

    def error(self):
        """The :class:`RecordBroken` to raise for it."""
        return RecordBroken(instance=self.name, uuid=self.uuid,
                            reason=self.reason)

    def to_instance(self):
        """An Instance with only the domain's UUID and name.

        Enough to find, stop and delete the guest (its domain, its
        directory ``[libvirt]instances_path/<uuid>`` and its allocation,
        all keyed by that UUID); nothing else about it is known.
        """
        from emuvirt.objects import instance as instance_obj

        return instance_obj.Instance.new(uuid=self.uuid, name=self.name)

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
      <emuvirt:boot image="..." kernel="..." ramdisk="..."/>
      <emuvirt:properties>
        <emuvirt:property name="hw_emulation_architecture">aarch64</...>
      </emuvirt:properties>
    </emuvirt:instance>
"""

import dataclasses

from lxml import etree

from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.objects import instance as instance_obj

NAMESPACE = 'http://emuvirt.dev/xmlns/instance/1.0'
PREFIX = 'emuvirt'
ROOT = 'instance'


def _q(tag):
    return '{%s}%s' % (NAMESPACE, tag)


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
    image_path: str = None
    kernel_path: str = None
    ramdisk_path: str = None
    properties: dict = dataclasses.field(default_factory=dict)

    def format_dom(self):
        root = etree.Element(_q(ROOT), nsmap={PREFIX: NAMESPACE})
        for tag, value in (('uuid', self.uuid), ('name', self.name),
                           ('guestArch', self.guest_arch),
                           ('machineType', self.machine_type)):
            if value is not None:
                etree.SubElement(root, _q(tag)).text = str(value)
        etree.SubElement(root, _q('flavor'), vcpus=str(self.vcpus),
                         memory_mb=str(self.memory_mb),
                         root_gb=str(self.root_gb))
        boot = {k: v for k, v in (('image', self.image_path),
                                  ('kernel', self.kernel_path),
                                  ('ramdisk', self.ramdisk_path)) if v}
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

    @classmethod
    def parse_dom(cls, root):
        flavor = root.find(_q('flavor'))
        boot = root.find(_q('boot'))
        boot = boot.attrib if boot is not None else {}
        props = {p.get('name'): p.text or ''
                 for p in root.iterfind('%s/%s' % (_q('properties'),
                                                   _q('property')))}
        return cls(
            uuid=root.findtext(_q('uuid')),
            name=root.findtext(_q('name')),
            guest_arch=root.findtext(_q('guestArch')),
            machine_type=root.findtext(_q('machineType')),
            vcpus=int(flavor.get('vcpus', 1)) if flavor is not None else 1,
            memory_mb=(int(flavor.get('memory_mb', 512))
                       if flavor is not None else 512),
            root_gb=int(flavor.get('root_gb', 0)) if flavor is not None
            else 0,
            image_path=boot.get('image'),
            kernel_path=boot.get('kernel'),
            ramdisk_path=boot.get('ramdisk'),
            properties=props)

    def to_instance(self):
        """The :class:`Instance` this record describes."""
        image_meta = image_meta_obj.ImageMeta.from_dict(
            {'properties': self.properties})
        flavor = flavor_obj.Flavor(vcpus=self.vcpus,
                                   memory_mb=self.memory_mb,
                                   root_gb=self.root_gb)
        return instance_obj.Instance.new(
            uuid=self.uuid, name=self.name, flavor=flavor,
            image_meta=image_meta, image_path=self.image_path,
            kernel_path=self.kernel_path, ramdisk_path=self.ramdisk_path,
            machine_type=self.machine_type)

    @classmethod
    def from_xml(cls, text):
        return cls.parse_dom(etree.fromstring(text))

    @classmethod
    def from_domain_xml(cls, domain_xml):
        """Return the record inside a whole domain XML, or None."""
        dom = etree.fromstring(domain_xml)
        node = dom.find('metadata/%s' % _q(ROOT))
        return cls.parse_dom(node) if node is not None else None

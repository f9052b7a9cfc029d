"""A guest's definition regenerated from its instance record.

A hard reboot builds the domain XML again, as a spawn does, from what
the record in the stored definition says (flavor, boot files, image
format, image properties, machine type), so that image properties set
with ``emuvirt-manage image_property set`` take effect; Nova's hard
reboot regenerates the domain from its database the same way. What is
not the record's to decide is read from the definition being replaced
and kept, so the guest is the same machine afterwards:

* its name and UUID (the domain's);
* its machine type: the recorded one, else the one the definition has
  (a guest from before machine types were recorded keeps its machine,
  and gets it recorded);
* its NICs: type, network and MAC address, in order;
* its NVRAM file (UEFI variables), where the old definition names one;
* its config drive (``disk.config`` in the instance directory), when the
  new XML does not attach it already.

Its disk overlay, console log and instance directory are where the plan
puts them for that UUID, as at spawn; nothing here creates or changes a
file. Records written before the image format was kept have none: an
image the old definition attaches as a cdrom was an iso.
"""

import copy
import os

from lxml import etree

from emuvirt.virt.libvirt import guest_config

#: The config drive's file in the instance directory.
CONFIG_DRIVE = 'disk.config'


def _tree(xml):
    return etree.fromstring(xml.encode() if isinstance(xml, str) else xml)


def instance_of(record, xml):
    """(Instance, ImageMeta) to plan the guest of ``record`` again.

    :param record: the readable InstanceRecord of the definition ``xml``.
    :raises: RecordBroken for a recorded property emuvirt does not take.
    """
    tree = _tree(xml)
    instance = record.to_instance()
    instance.name = tree.findtext('name') or record.name
    os_type = tree.find('os/type')
    if not instance.machine_type and os_type is not None:
        instance.machine_type = os_type.get('machine')
    image_meta = instance.image_meta
    if record.image_path and not record.disk_format:
        image_meta.disk_format = (
            'iso' if _cdrom_sources(tree) & {record.image_path} else 'qcow2')
    return instance, image_meta


def _cdrom_sources(tree):
    return {disk.find('source').get('file')
            for disk in tree.iterfind('devices/disk[@device="cdrom"]')
            if disk.find('source') is not None}


def networks_of(xml):
    """The definition's NICs as :class:`guest_config.Network`, in order.

    None when one of them is of a type emuvirt does not define (the
    plan's own NICs are used then).
    """
    found = []
    for nic in _tree(xml).iterfind('devices/interface'):
        kind = nic.get('type')
        if kind not in ('user', 'network'):
            return None
        mac = nic.find('mac')
        source = nic.find('source')
        found.append(guest_config.Network(
            type=kind,
            network=source.get('network') if kind == 'network' and (
                source is not None) else None,
            mac=mac.get('address') if mac is not None else None))
    return tuple(found)


def keep_identity(old_xml, new_xml, instance_dir):
    """``new_xml`` with the old definition's NVRAM and config drive.

    :returns: the XML text to define.
    """
    old, new = _tree(old_xml), _tree(new_xml)
    old_nvram, new_nvram = old.find('os/nvram'), new.find('os/nvram')
    if old_nvram is not None and new_nvram is not None and old_nvram.text:
        new_nvram.text = old_nvram.text
    drive = os.path.join(instance_dir, CONFIG_DRIVE)
    if not _has_disk(new, drive):
        for disk in old.iterfind('devices/disk'):
            source = disk.find('source')
            if source is not None and source.get('file') == drive:
                _attach(new, copy.deepcopy(disk))
    return etree.tostring(new, encoding='unicode')


def _has_disk(tree, path):
    return any(s.get('file') == path
               for s in tree.iterfind('devices/disk/source'))


def _attach(tree, disk):
    """Add a disk taken from another definition: libvirt places it."""
    for node in disk.findall('address') + disk.findall('alias'):
        disk.remove(node)
    target = disk.find('target')
    used = {t.get('dev') for t in tree.iterfind('devices/disk/target')}
    if target is not None and target.get('dev') in used:
        prefix = target.get('dev')[:2]
        target.set('dev', next(
            prefix + c for c in 'abcdefghijklmnopqrstuvwxyz'
            if prefix + c not in used))
    devices = tree.find('devices')
    disks = devices.findall('disk')
    if disks:
        disks[-1].addnext(disk)
    else:
        devices.insert(0, disk)

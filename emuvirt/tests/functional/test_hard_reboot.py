"""Hard reboot rebuilds a guest's definition from its record (fake libvirt).

Image properties set with ``emuvirt-manage image_property set`` take
effect at the next hard reboot, and only then: a soft reboot and a start
keep the definition. The rebuilt guest keeps its identity (UUID, name,
machine type, disk overlay, NVRAM, NICs' MACs, config drive); a property
the plan refuses leaves the definition and the running guest as they
were.
"""

import dataclasses
import os

import fixtures
from lxml import etree

from emuvirt import exception
from emuvirt.tests.fixtures import guests
from emuvirt.tests.functional import test_config_drive
from emuvirt.tests.functional import test_lifecycle
from emuvirt.virt import driver
from emuvirt.virt import emulation
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import image_props
from emuvirt.virt.libvirt import metadata
from emuvirt.virt.libvirt import records

MAC = '52:54:00:12:34:56'


class HardRebootTestCase(test_lifecycle.LifecycleTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(guests.ManagedSave())

    def persistent(self, inst):
        return self.domain(inst).XMLDesc(records.PERSISTENT_XML)

    def tree(self, inst, live=False):
        return etree.fromstring(self.domain(inst).XMLDesc(
            0 if live else records.PERSISTENT_XML))

    def record(self, inst):
        return metadata.InstanceRecord.from_domain_xml(self.persistent(inst))

    def set_props(self, inst, check=True, **props):
        """``image_property set`` on the stopped guest (with the check)."""
        return image_props.set(
            self.drv.host, inst.name, props,
            check=self.drv.plan_rebuild if check else None)

    def edit(self, inst, func):
        """Change the stored definition as libvirt or an admin would."""
        tree = self.tree(inst)
        func(tree)
        self.conn.defineXML(etree.tostring(tree, encoding='unicode'))

    def write_record(self, inst, **props):
        """Record properties without any check (``virsh metadata``)."""
        guest = records.lookup(self.drv.host, inst.uuid)
        merged = dict(guest.record.properties, **props)
        records.redefine(self.drv.host, guest, dataclasses.replace(
            guest.record, properties=merged))

    def refused_hard_reboot(self, inst):
        """A hard reboot whose new definition libvirt refuses."""
        self.useFixture(test_lifecycle.fixtures.MockPatchObject(
            self.conn, 'defineXML', side_effect=test_lifecycle.fakelibvirt.
            make_error(test_lifecycle.libvirt.VIR_ERR_XML_DETAIL,
                       'XML error: injected')))
        self.assertRaises(exception.GuestOperationFailed, self.drv.reboot,
                          None, inst, None, 'HARD')

    def video(self, inst, live=False):
        return [v.get('type') for v in
                self.tree(inst, live).iterfind('devices/video/model')]


class TestHardReboot(HardRebootTestCase):

    def uefi_guest_with_disk(self):
        """A running aarch64 UEFI guest booting a qcow2 overlay."""
        inst = self.spawned(image=self.image(), disk_format='qcow2',
                            kernel=False)
        # What libvirt adds at define and first start: a MAC, the NVRAM.
        self.edit(inst, lambda t: etree.SubElement(
            t.find('devices/interface'), 'mac', address=MAC))
        nvram = self.tree(inst).findtext('os/nvram')
        with open(nvram, 'wb') as f:
            f.write(b'uefi variables')
        return inst

    def test_property_takes_effect_and_identity_is_kept(self):
        inst = self.uefi_guest_with_disk()
        before = self.tree(inst)
        disk = os.path.join(self.instance_dir(inst), 'disk')
        disk_stat = os.stat(disk)
        self.assertEqual([], self.video(inst))
        # The operator changes the default machine meanwhile.
        self.flags.config(hw_machine_type=['aarch64=virt-6.2'],
                          group='libvirt')
        self.drv = emulation.EmuVirtDriver()

        self.drv.power_off(inst)
        self.assertEqual({'hw_video_model': 'virtio',
                          'hw_disk_bus': 'scsi'},
                         self.set_props(inst, hw_video_model='virtio',
                                        hw_disk_bus='scsi'))
        # Recorded only: a start keeps the definition.
        self.drv.power_on(None, inst, None)
        self.assertEqual([], self.video(inst, live=True))

        self.drv.reboot(None, inst, None, 'HARD')
        self.assertEqual(driver.RUNNING, self.drv.get_info(inst).state)
        for live in (False, True):
            after = self.tree(inst, live)
            self.assertEqual(['virtio'], self.video(inst, live))
            target = after.find('devices/disk[@device="disk"]/target')
            self.assertEqual(('sda', 'scsi'),
                             (target.get('dev'), target.get('bus')))
            for path in ('name', 'uuid', 'os/nvram'):
                self.assertEqual(before.findtext(path), after.findtext(path))
            self.assertEqual(before.find('os/type').get('machine'),
                             after.find('os/type').get('machine'))
            self.assertEqual(MAC, after.find(
                'devices/interface/mac').get('address'))
            self.assertEqual(disk, after.find(
                'devices/disk[@device="disk"]/source').get('file'))
        self.assertEqual('virt-7.2', self.record(inst).machine_type)
        self.assertEqual('qcow2', self.record(inst).disk_format)
        # The overlay and the NVRAM variables are the same files.
        self.assertEqual((disk_stat.st_ino, disk_stat.st_mtime_ns),
                         (os.stat(disk).st_ino, os.stat(disk).st_mtime_ns))
        with open(before.findtext('os/nvram'), 'rb') as f:
            self.assertEqual(b'uefi variables', f.read())

    def test_config_drive_is_kept(self):
        inst = self.spawned()
        drive = os.path.join(self.instance_dir(inst), 'disk.config')

        def attach(tree):
            disk = etree.SubElement(tree.find('devices'), 'disk',
                                    type='file', device='cdrom')
            etree.SubElement(disk, 'source', file=drive)
            etree.SubElement(disk, 'target', dev='sda', bus='scsi')
            etree.SubElement(disk, 'readonly')
        self.edit(inst, attach)
        self.drv.reboot(None, inst, None, 'HARD')
        sources = [s.get('file') for s in
                   self.tree(inst).iterfind('devices/disk/source')]
        self.assertEqual([drive], sources)

    def test_running_guest_refused_property_keeps_everything(self):
        inst = self.spawned()
        # Recorded behind emuvirt's back (set would refuse it, see below).
        self.write_record(inst, hw_video_model='qxl')
        dom = self.domain(inst)
        before = (self.persistent(inst), dom.XMLDesc(0), dom.ID())
        e = self.assertRaises(exception.InvalidImageProperty,
                              self.drv.reboot, None, inst, None, 'HARD')
        self.assertIn('hw_video_model', str(e))
        self.assertEqual(1, len(str(e).splitlines()))
        self.assertEqual(before, (self.persistent(inst), dom.XMLDesc(0),
                                  dom.ID()))
        self.assertEqual(driver.RUNNING, self.drv.get_info(inst).state)

    def test_set_refuses_what_the_arch_does_not_take(self):
        inst = self.spawned()
        self.drv.power_off(inst)
        before = self.persistent(inst)
        for name, value in (('hw_disk_bus', 'ide'),
                            ('hw_video_model', 'qxl')):
            e = self.assertRaises(exception.InvalidImageProperty,
                                  self.set_props, inst, **{name: value})
            self.assertIn(name, str(e))
            self.assertEqual(before, self.persistent(inst))

    def test_libvirt_refusing_the_xml_keeps_the_old_definition(self):
        inst = self.spawned()
        self.drv.power_off(inst)
        self.set_props(inst, hw_video_model='virtio')
        before = self.persistent(inst)
        self.refused_hard_reboot(inst)
        self.assertEqual(before, self.persistent(inst))
        self.assertEqual(driver.SHUTDOWN, self.drv.get_info(inst).state)

    def test_soft_reboot_and_start_keep_the_definition(self):
        inst = self.spawned()
        self.write_record(inst, hw_video_model='virtio')
        before = self.persistent(inst)
        self.drv.reboot(None, inst, None, 'SOFT')
        self.drv.power_off(inst)
        self.drv.power_on(None, inst, None)
        self.drv.power_off(inst)
        # A soft reboot of a stopped guest starts it as it is, too.
        self.drv.reboot(None, inst, None, 'SOFT')
        self.assertEqual(before, self.persistent(inst))
        self.assertEqual([], self.video(inst, live=True))

    def test_broken_record_keeps_definition_and_resets(self):
        inst = self.spawned()
        self.write_record(inst, hw_video_model='virtio')
        self.edit(inst, lambda t: t.find(
            'metadata/{%s}instance/{%s}flavor' % (
                metadata.NAMESPACE, metadata.NAMESPACE)).set('vcpus', 'x'))
        before = self.persistent(inst)
        first_id = self.domain(inst).ID()
        broken = self.drv.find_instance(inst.uuid, broken_ok=True)
        self.drv.reboot(None, broken, None, 'HARD')
        self.assertEqual(before, self.persistent(inst))
        self.assertNotEqual(first_id, self.domain(inst).ID())


class TestOldRecords(HardRebootTestCase):
    """Records written before the image format was kept."""

    def drop_format(self, inst):
        def edit(tree):
            boot = tree.find('metadata/{%s}instance/{%s}boot' % (
                metadata.NAMESPACE, metadata.NAMESPACE))
            del boot.attrib['format']
        self.edit(inst, edit)
        self.assertIsNone(self.record(inst).disk_format)

    def test_iso_guest_keeps_its_cdrom(self):
        iso = self.image('raw')
        inst = self.spawned(image=iso, disk_format='iso', kernel=False,
                            flavor='disk=2')
        self.assertEqual('iso', self.record(inst).disk_format)
        self.drop_format(inst)
        self.drv.reboot(None, inst, None, 'HARD')
        disks = {d.get('device'): d.find('source').get('file')
                 for d in self.tree(inst).findall('devices/disk')}
        self.assertEqual(
            {'cdrom': iso,
             'disk': os.path.join(self.instance_dir(inst), 'disk')},
            disks)
        self.assertEqual('iso', self.record(inst).disk_format)

    def test_disk_guest_keeps_its_overlay(self):
        inst = self.spawned(image=self.image(), disk_format='qcow2',
                            kernel=False)
        self.drop_format(inst)
        self.drv.reboot(None, inst, None, 'HARD')
        disk = self.tree(inst).find('devices/disk')
        self.assertEqual(
            ('disk', os.path.join(self.instance_dir(inst), 'disk')),
            (disk.get('device'), disk.find('source').get('file')))

    def test_unrecorded_machine_is_kept_and_recorded(self):
        inst = self.spawned()
        machine = self.tree(inst).find('os/type').get('machine')
        guest = records.lookup(self.drv.host, inst.uuid)
        records.redefine(self.drv.host, guest, dataclasses.replace(
            guest.record, machine_type=None))
        self.flags.config(hw_machine_type=['aarch64=virt-6.2'],
                          group='libvirt')
        self.drv = emulation.EmuVirtDriver()
        self.drv.reboot(None, inst, None, 'HARD')
        self.assertEqual(machine,
                         self.tree(inst).find('os/type').get('machine'))
        self.assertEqual(machine, self.record(inst).machine_type)


class TestConfigDriveGuest(test_config_drive.ConfigDriveTestCase):
    """A guest with a real config drive, through ``emuvirt server``."""

    def test_hard_reboot_keeps_the_drive_as_it_is(self):
        self.useFixture(guests.ManagedSave())
        self.create('g1', *self.drive_args())
        path = self.drive_path()
        made = os.stat(path)
        _root, before = self.cdroms()
        self.ok('stop', 'g1', '--timeout', '0')
        host = self.useFixture(HostFixture()).host
        image_props.set(host, 'g1', {'hw_video_model': 'virtio'})
        self.ok('reboot', 'g1', '--hard')
        root, after = self.cdroms()
        self.assertEqual(['virtio'], [
            m.get('type') for m in root.iterfind('devices/video/model')])
        self.assertEqual([etree.tostring(d) for d in before],
                         [etree.tostring(d) for d in after])
        self.assertEqual([path], [d.find('source').get('file')
                                  for d in after])
        self.assertEqual((made.st_ino, made.st_mtime_ns),
                         (os.stat(path).st_ino, os.stat(path).st_mtime_ns))


class HostFixture(fixtures.Fixture):

    def _setUp(self):
        self.host = vhost.Host()
        self.addCleanup(self.host.close)

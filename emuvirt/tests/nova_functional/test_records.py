"""What the Nova flavour records with the instance, and who reads it.

The plan's machine type, disk bus and cdrom bus go into the instance's
system metadata as ``image_hw_*`` (where Nova records
``image_hw_machine_type``), so ``nova-manage libvirt`` machine-type
commands see them and every later guest config (hard reboot) keeps them.
"""

import functools

from nova.cmd import manage
from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects
from nova.virt.libvirt import config as vconfig

from emuvirt.tests.nova_functional import base


class RecordedHintsTest(base.NovaHostDataTestCase):

    def _instance(self, server):
        return objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'],
            expected_attrs=['system_metadata'])

    def test_aarch64_records_machine_and_buses(self):
        self.start_host(driver='emuvirt')
        server = self.boot_arch('aarch64')
        sysmeta = self._instance(server).system_metadata
        self.assertEqual(
            ('virt-7.2', 'virtio', 'scsi'),
            (sysmeta.get('image_hw_machine_type'),
             sysmeta.get('image_hw_disk_bus'),
             sysmeta.get('image_hw_cdrom_bus')))
        # Nova's own firmware hint is never recorded: aarch64 boots UEFI.
        self.assertNotIn('image_hw_firmware_type', sysmeta)

    def test_nova_manage_reads_the_recorded_machine_type(self):
        self.start_host(driver='emuvirt')
        server = self.boot_arch('s390x')
        cmd = manage.LibvirtCommands()
        self.assertEqual(0, cmd.get_machine_type(server['id']))
        self.assertEqual('s390-ccw-virtio-7.2', objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'],
            expected_attrs=['system_metadata']).system_metadata[
                'image_hw_machine_type'])

    def test_image_values_are_not_overwritten(self):
        self.start_host(driver='emuvirt')
        server = self.boot({'hw_emulation_architecture': 'aarch64',
                            'hw_cdrom_bus': 'usb'})
        sysmeta = self._instance(server).system_metadata
        # The image's own property stays the image's (Nova keeps it).
        self.assertEqual('usb', sysmeta['image_hw_cdrom_bus'])

    def test_hard_reboot_keeps_the_recorded_machine(self):
        self.start_host(driver='emuvirt')
        server = self.boot_arch('aarch64')
        # A later default must not change an existing guest's chipset.
        self.flags(hw_machine_type=['aarch64=virt-6.2'], group='libvirt')
        self._reboot_server(server, hard=True)
        tree = self.domain_tree(server)
        self.assertEqual('virt-7.2', tree.find('os/type').get('machine'))
        self.assertValidDomainXML(self.domain_xml(server))

    def test_bad_image_property_fails_the_build_naming_it(self):
        self.start_host(driver='emuvirt')
        server = self.boot({'hw_emulation_architecture': 's390x',
                            'hw_firmware_type': 'uefi'},
                           expected_state='ERROR')
        self.assertIn('hw_firmware_type', self.fault_message(server))

    def test_device_defaults_nova_records_are_the_guests(self):
        # Nova records a default per device property once; with emuvirt
        # they are what the guest got, so a restart plans the same guest.
        self.start_host(driver='emuvirt')
        # s390x: virtio-gpu-ccw and no USB tablet; malta: cirrus.
        expected = {'s390x': 'virtio', 'mipsel': 'cirrus',
                    'aarch64': 'virtio'}
        for arch, video in expected.items():
            server = self.boot_arch(arch)
            sysmeta = self._instance(server).system_metadata
            self.assertEqual(video, sysmeta.get('image_hw_video_model'), arch)
            if arch == 's390x':
                self.assertIsNone(sysmeta.get('image_hw_pointer_model'))
                self.assertIn(sysmeta.get('image_hw_input_bus'),
                              (None, 'virtio'))
            # The recorded values make a valid guest again.
            self._stop_server(server)
            self._start_server(server)
            self.assertValidDomainXML(self.domain_xml(server))

    def test_pointer_defaults_come_from_the_guest_config(self):
        # (Nova's fake libvirt drops <input> from the domains it keeps, so
        # the guest config is given here as libvirt would return it.)
        self.start_host(driver='emuvirt')
        server = self.boot_arch('aarch64')
        drv = self.computes['compute1'].driver
        instance = self._instance(server)
        guest = vconfig.LibvirtConfigGuest()
        find = functools.partial(drv._find_default_for_image_property,
                                 instance, disk_info=None,
                                 guest_config=guest)
        self.assertEqual((None, None), (find('hw_pointer_model'),
                                        find('hw_input_bus')))
        tablet = vconfig.LibvirtConfigGuestInput()
        tablet.type, tablet.bus = 'tablet', 'usb'
        guest.add_device(tablet)
        self.assertEqual(('usbtablet', 'usb'), (find('hw_pointer_model'),
                                                find('hw_input_bus')))
        self.assertEqual('virtio', find('hw_video_model'))

    def test_novas_machine_type_check_reads_emuvirts_capabilities(self):
        self.start_host(driver='emuvirt')
        check = self.computes['compute1'].driver._host._check_machine_type
        for machine in ('virt-7.2', 'virt', 'malta', 'pc-q35-7.2'):
            check(None, machine)
        for machine in ('virt-1.0', None, ''):
            self.assertRaises(nova_exception.InvalidMachineType, check,
                              None, machine)

"""Device image properties through Nova's API, with emuvirt's driver.

Nova honours several device properties itself (NIC model, SCSI controller
model, guest agent, boot menu); emuvirt's plan checks them for the GUEST
arch first, and the adapted config carries what the plan decided where
Nova's answer comes from host-arch rules (inputs, video, serial ports).
A property the guest arch cannot take fails the build with the plan's
one-line message naming it, as the server's fault.
"""

from emuvirt.tests.nova_functional import base


def _devices(tree, path, attr):
    return [e.get(attr) for e in tree.findall('devices/' + path)]


class DevicePropertiesTest(base.NovaHostDataTestCase):

    def setUp(self):
        super().setUp()
        self.start_host(host_arch='x86_64', driver='emuvirt')

    def boot_with(self, arch, expected_state='ACTIVE', **props):
        server = self.boot(dict(props, hw_emulation_architecture=arch),
                           expected_state=expected_state)
        if expected_state != 'ACTIVE':
            return server, None
        xml = self.domain_xml(server)
        self.assertValidDomainXML(xml)
        return server, self.domain_tree(server)

    def refused(self, name, arch, **props):
        server, _tree = self.boot_with(arch, expected_state='ERROR',
                                       **props)
        fault = self.fault_message(server)
        self.assertIn(name, fault)
        self.assertIn(arch, fault)
        return fault

    def test_e1000_on_aarch64(self):
        _server, tree = self.boot_with('aarch64', hw_vif_model='e1000')
        models = _devices(tree, 'interface/model', 'type')
        self.assertTrue(models, 'the server has no NIC')
        self.assertEqual(['e1000'] * len(models), models)

    def test_nic_model_the_arch_lacks(self):
        self.refused('hw_vif_model', 's390x', hw_vif_model='e1000')

    def test_scsi_model(self):
        _server, tree = self.boot_with('ppc64le', hw_scsi_model='ibmvscsi')
        self.assertEqual(['ibmvscsi'],
                         _devices(tree, 'controller[@type="scsi"]', 'model'))
        self.refused('hw_scsi_model', 's390x', hw_scsi_model='lsilogic')

    def test_s390x_recipe_virtio_video(self):
        # Nova's documented s390x image: hw_video_model=virtio.
        _server, tree = self.boot_with('s390x', hw_video_model='virtio')
        self.assertEqual(['virtio'], _devices(tree, 'video/model', 'type'))
        self.assertEqual(['virtio', 'virtio'], _devices(tree, 'input',
                                                        'bus'))
        self.assertEqual([], _devices(tree, 'controller[@type="usb"]',
                                      'model'))

    def test_usb_tablet_on_s390x_refused(self):
        self.refused('hw_pointer_model', 's390x',
                     hw_pointer_model='usbtablet')

    def test_input_bus(self):
        _server, tree = self.boot_with('aarch64', hw_input_bus='virtio')
        self.assertEqual([('tablet', 'virtio'), ('keyboard', 'virtio')],
                         [(i.get('type'), i.get('bus'))
                          for i in tree.findall('devices/input')])

    def test_guest_agent_and_boot_menu(self):
        _server, tree = self.boot_with('aarch64', hw_qemu_guest_agent='yes',
                                       hw_boot_menu='true')
        self.assertEqual(['org.qemu.guest_agent.0'],
                         _devices(tree, 'channel/target', 'name'))
        self.assertEqual('yes', tree.find('os/bootmenu').get('enable'))
        # (The arches without a boot menu, mipsel and riscv64, need a
        # kernel image or are refused by Nova's API: test_plan_adapt.)

    def test_serial_ports(self):
        _server, tree = self.boot_with('aarch64', hw_serial_port_count='3')
        targets = [s.find('target') for s in tree.findall('devices/serial')]
        self.assertEqual(3, len(targets))
        self.assertEqual(['pci-serial', 'pci-serial'],
                         [t.get('type') for t in targets[1:]])
        self.refused('hw_serial_port_count', 's390x',
                     hw_serial_port_count='2')

    def test_gic_follows_the_domain_capabilities(self):
        _server, tree = self.boot_with('aarch64')
        self.assertEqual('3', tree.find('features/gic').get('version'))

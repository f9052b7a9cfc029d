"""Tests of the typed domain XML objects."""

from lxml import etree
import testtools

from emuvirt.virt.libvirt import config as vconfig


def xml_of(obj):
    """Parse an object's serialised XML back into an element."""
    return etree.fromstring(obj.to_xml())


class TestElementHelpers(testtools.TestCase):

    def test_none_attributes_are_not_written(self):
        node = vconfig._el('x', a=None, b=0, c='')
        self.assertEqual({'b': '0', 'c': ''}, dict(node.attrib))
        self.assertIsNone(node.text)

    def test_text_is_stringified(self):
        self.assertEqual('512', vconfig._el('memory', 512).text)


class TestDevices(testtools.TestCase):

    def test_disk(self):
        disk = xml_of(vconfig.GuestDisk('/i/disk', 'vda', 'virtio'))
        self.assertEqual(('disk', 'file', 'disk'),
                         (disk.tag, disk.get('type'), disk.get('device')))
        self.assertEqual({'name': 'qemu', 'type': 'qcow2'},
                         dict(disk.find('driver').attrib))
        self.assertEqual('/i/disk', disk.find('source').get('file'))
        self.assertEqual({'dev': 'vda', 'bus': 'virtio'},
                         dict(disk.find('target').attrib))
        self.assertIsNone(disk.find('readonly'))

    def test_readonly_cdrom(self):
        disk = xml_of(vconfig.GuestDisk('/x.iso', 'sdb', 'scsi',
                                        device='cdrom', driver_type='raw',
                                        readonly=True))
        self.assertEqual('cdrom', disk.get('device'))
        self.assertEqual('raw', disk.find('driver').get('type'))
        self.assertIsNotNone(disk.find('readonly'))

    def test_controller_omits_unset(self):
        ctrl = xml_of(vconfig.GuestController('scsi'))
        self.assertEqual({'type': 'scsi'}, dict(ctrl.attrib))
        ctrl = xml_of(vconfig.GuestController('pci', 'pcie-root-port', 3))
        self.assertEqual({'type': 'pci', 'index': '3',
                          'model': 'pcie-root-port'}, dict(ctrl.attrib))

    def test_index_zero_is_written(self):
        ctrl = xml_of(vconfig.GuestController('usb', 'none', 0))
        self.assertEqual('0', ctrl.get('index'))

    def test_serial_with_log(self):
        dev = xml_of(vconfig.GuestCharDevice('serial', log_path='/i/c.log'))
        self.assertEqual(('serial', 'pty'), (dev.tag, dev.get('type')))
        self.assertEqual({'file': '/i/c.log', 'append': 'on'},
                         dict(dev.find('log').attrib))
        self.assertIsNone(dev.find('source'))
        # No target type: libvirt picks the arch's own (spapr-vty...).
        self.assertEqual({'port': '0'}, dict(dev.find('target').attrib))

    def test_file_console(self):
        dev = xml_of(vconfig.GuestCharDevice(
            'console', 'file', 'sclplm', 1, source_path='/i/lm.log'))
        self.assertEqual('file', dev.get('type'))
        self.assertEqual('/i/lm.log', dev.find('source').get('path'))
        self.assertIsNone(dev.find('log'))
        self.assertEqual({'type': 'sclplm', 'port': '1'},
                         dict(dev.find('target').attrib))

    def test_graphics_listens_on_localhost(self):
        gfx = xml_of(vconfig.GuestGraphics('vnc'))
        self.assertEqual({'type': 'vnc', 'autoport': 'yes',
                          'listen': '127.0.0.1'}, dict(gfx.attrib))
        self.assertEqual({'type': 'address', 'address': '127.0.0.1'},
                         dict(gfx.find('listen').attrib))

    def test_video_input(self):
        self.assertEqual('virtio', xml_of(vconfig.GuestVideo(
            'virtio')).find('model').get('type'))
        self.assertEqual({'type': 'tablet', 'bus': 'usb'},
                         dict(xml_of(vconfig.GuestInput('tablet',
                                                        'usb')).attrib))

    def test_interface(self):
        nic = xml_of(vconfig.GuestInterface('user', 'virtio'))
        self.assertEqual('user', nic.get('type'))
        self.assertEqual([], [c.tag for c in nic if c.tag != 'model'])
        nic = xml_of(vconfig.GuestInterface('network', 'virtio',
                                            network='default',
                                            mac='52:54:00:00:00:01'))
        self.assertEqual(['mac', 'source', 'model'], [c.tag for c in nic])
        self.assertEqual('default', nic.find('source').get('network'))
        self.assertEqual('52:54:00:00:00:01',
                         nic.find('mac').get('address'))

    def test_rng_and_balloon(self):
        rng = xml_of(vconfig.GuestRng())
        self.assertEqual('virtio', rng.get('model'))
        self.assertEqual(('random', '/dev/urandom'),
                         (rng.find('backend').get('model'),
                          rng.find('backend').text))
        self.assertEqual('virtio', xml_of(
            vconfig.GuestMemballoon('virtio')).get('model'))


class TestCPU(testtools.TestCase):

    def test_custom_model_is_exact(self):
        cpu = xml_of(vconfig.GuestCPU('custom', 'cortex-a57'))
        self.assertEqual({'mode': 'custom', 'match': 'exact',
                          'check': 'none'}, dict(cpu.attrib))
        self.assertEqual('cortex-a57', cpu.find('model').text)
        self.assertEqual('forbid', cpu.find('model').get('fallback'))

    def test_other_modes_have_no_model(self):
        for mode in ('maximum', 'host-model', 'host-passthrough'):
            cpu = xml_of(vconfig.GuestCPU(mode))
            self.assertEqual({'mode': mode}, dict(cpu.attrib))
            self.assertEqual(0, len(cpu))


class TestFeature(testtools.TestCase):

    def test_plain(self):
        self.assertEqual('acpi', xml_of(vconfig.GuestFeature('acpi')).tag)

    def test_attrs(self):
        gic = xml_of(vconfig.GuestFeature('gic', {'version': '3'}))
        self.assertEqual({'version': '3'}, dict(gic.attrib))

    def test_children(self):
        tcg = xml_of(vconfig.GuestFeature(
            'tcg', children=(('tb-cache', 256, {'unit': 'MiB'}),)))
        cache = tcg.find('tb-cache')
        self.assertEqual(('256', 'MiB'), (cache.text, cache.get('unit')))

    def test_default_attrs_not_shared(self):
        a, b = vconfig.GuestFeature('a'), vconfig.GuestFeature('b')
        a.attrs['x'] = '1'
        self.assertEqual({}, b.attrs)


class TestOS(testtools.TestCase):

    def test_minimal(self):
        os_ = xml_of(vconfig.GuestOS('s390x', 's390-ccw-virtio-7.2'))
        self.assertEqual(['type'], [c.tag for c in os_])
        type_ = os_.find('type')
        self.assertEqual(('hvm', 's390x', 's390-ccw-virtio-7.2'),
                         (type_.text, type_.get('arch'),
                          type_.get('machine')))

    def test_uefi_loader_and_nvram(self):
        os_ = xml_of(vconfig.GuestOS(
            'aarch64', 'virt-7.2', loader='/fw/CODE.fd',
            loader_type='pflash', loader_secure=False, nvram='/i/nvram.fd',
            nvram_template='/fw/VARS.fd', boot_devs=('hd',)))
        loader = os_.find('loader')
        self.assertEqual('/fw/CODE.fd', loader.text)
        self.assertEqual({'type': 'pflash', 'readonly': 'yes',
                          'secure': 'no'}, dict(loader.attrib))
        self.assertEqual(('/i/nvram.fd', '/fw/VARS.fd'),
                         (os_.find('nvram').text,
                          os_.find('nvram').get('template')))
        self.assertEqual(['type', 'loader', 'nvram', 'boot'],
                         [c.tag for c in os_])

    def test_loader_without_type_or_secure(self):
        os_ = xml_of(vconfig.GuestOS('x86_64', 'q35', loader='/fw/x.fd',
                                     loader_readonly=False))
        self.assertEqual({'readonly': 'no'},
                         dict(os_.find('loader').attrib))

    def test_direct_kernel(self):
        os_ = xml_of(vconfig.GuestOS('mipsel', 'malta', kernel='/k',
                                     initrd='/r', cmdline='console=ttyS0'))
        self.assertEqual(['type', 'kernel', 'initrd', 'cmdline'],
                         [c.tag for c in os_])
        self.assertEqual('console=ttyS0', os_.findtext('cmdline'))

    def test_boot_order(self):
        os_ = xml_of(vconfig.GuestOS('aarch64', 'virt',
                                     boot_devs=('cdrom', 'hd')))
        self.assertEqual(['cdrom', 'hd'],
                         [b.get('dev') for b in os_.findall('boot')])


class TestGuestConfig(testtools.TestCase):

    def _config(self, **kwargs):
        args = dict(virt_type='qemu', name='g1',
                    uuid='6f8a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b',
                    memory_mib=1024, vcpus=2,
                    os=vconfig.GuestOS('aarch64', 'virt-7.2'))
        args.update(kwargs)
        return vconfig.GuestConfig(**args)

    def test_minimal_domain(self):
        dom = xml_of(self._config())
        self.assertEqual(('domain', 'qemu'), (dom.tag, dom.get('type')))
        self.assertEqual(['name', 'uuid', 'memory', 'vcpu', 'os',
                          'on_poweroff', 'on_reboot', 'on_crash', 'devices'],
                         [c.tag for c in dom])
        self.assertEqual(('1024', 'MiB'), (dom.findtext('memory'),
                                           dom.find('memory').get('unit')))
        self.assertEqual('2', dom.findtext('vcpu'))
        self.assertEqual(('destroy', 'restart', 'destroy'),
                         (dom.findtext('on_poweroff'),
                          dom.findtext('on_reboot'),
                          dom.findtext('on_crash')))
        self.assertEqual(0, len(dom.find('devices')))

    def test_full_order(self):
        meta = etree.Element('{urn:x}record')
        cfg = self._config(
            emulator='/usr/bin/qemu-system-aarch64', metadata=meta,
            cpu=vconfig.GuestCPU('maximum'),
            features=[vconfig.GuestFeature('acpi')],
            devices=[vconfig.GuestRng(), vconfig.GuestMemballoon()])
        dom = xml_of(cfg)
        self.assertEqual(['name', 'uuid', 'metadata', 'memory', 'vcpu', 'os',
                          'features', 'cpu', 'on_poweroff', 'on_reboot',
                          'on_crash', 'devices'], [c.tag for c in dom])
        self.assertEqual('{urn:x}record', dom.find('metadata')[0].tag)
        self.assertEqual(['emulator', 'rng', 'memballoon'],
                         [c.tag for c in dom.find('devices')])
        self.assertEqual('/usr/bin/qemu-system-aarch64',
                         dom.find('devices').findtext('emulator'))

    def test_to_xml_pretty_and_compact(self):
        cfg = self._config()
        self.assertIn('\n  <name>', cfg.to_xml())
        self.assertNotIn('\n', cfg.to_xml(pretty_print=False))

    def test_devices_of(self):
        rng, gfx = vconfig.GuestRng(), vconfig.GuestGraphics('vnc')
        cfg = self._config(devices=[rng, gfx, vconfig.GuestRng()])
        self.assertEqual([gfx], cfg.devices_of(vconfig.GuestGraphics))
        self.assertEqual(2, len(cfg.devices_of(vconfig.GuestRng)))

    def test_base_format_dom_is_abstract(self):
        self.assertRaises(NotImplementedError,
                          vconfig.ConfigObject().format_dom)

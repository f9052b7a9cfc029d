"""Servers booted through Nova's API from images naming a foreign arch.

Each image has exactly one property, ``hw_emulation_architecture``. With
emuvirt's driver every such server goes ACTIVE with a domain XML that
libvirt's RNG schema accepts and that is right for the guest arch. The
same images with Nova's stock ``libvirt.LibvirtDriver`` also go ACTIVE on
Nova's fake libvirt (which accepts any XML), with the XML recorded below:
a real libvirt 9.0 refuses it (machine ``pc`` for aarch64, a USB tablet on
s390x, no PCI bus on mipsel, ``<loader secure='no'>`` with
``<os firmware='efi'>``), so the stock tests pin what stock Nova 34 does
and keep the difference visible.
"""

from nova.tests.functional.api import client

from emuvirt.tests.nova_functional import base

# Stock Nova decides foreign guests with [libvirt]virt_type = qemu (with
# kvm it does not offer foreign arches at all; see test_traits).
STOCK_VIRT_TYPE = 'qemu'


def _machine(tree):
    return tree.find('os/type').get('machine')


def _has(tree, path):
    return tree.find(path) is not None


def _usb_inputs(tree):
    return [i.get('type') for i in tree.findall('devices/input')
            if i.get('bus') == 'usb']


def _controllers(tree, kind):
    return [c.get('model') for c in tree.findall('devices/controller')
            if c.get('type') == kind]


class EmuvirtForeignServersTest(base.NovaHostDataTestCase):
    """emuvirt's driver: every foreign arch ACTIVE with valid XML."""

    def _boot(self, arch, host_arch='x86_64'):
        host = self.start_host(host_arch=host_arch, driver='emuvirt')
        server = self.boot_arch(arch)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(host, self.server_host(server))
        xml = self.domain_xml(server)
        self.assertValidDomainXML(xml)
        tree = self.domain_tree(server)
        os_type = tree.find('os/type')
        self.assertEqual(arch, os_type.get('arch'))
        # A foreign guest runs under TCG, whatever [libvirt]virt_type says.
        self.assertEqual('qemu', tree.get('type'))
        # libvirt 9.0 refuses this combination for every arch.
        self.assertFalse(
            tree.find('os').get('firmware') == 'efi' and
            tree.find('os/loader') is not None and
            tree.find('os/loader').get('secure') is not None,
            "<loader secure=...> with <os firmware='efi'>")
        return tree

    def _assert_no_x86_features(self, tree):
        self.assertFalse(_has(tree, 'features/apic'), 'x86-only <apic/>')
        timers = [t.get('name') for t in tree.findall('clock/timer')]
        self.assertNotIn('pit', timers)
        self.assertNotIn('hpet', timers)

    def test_aarch64_on_x86_64(self):
        tree = self._boot('aarch64')
        self.assertTrue(_machine(tree).startswith('virt'), _machine(tree))
        self._assert_no_x86_features(tree)
        self.assertTrue(_has(tree, 'features/gic'))
        # UEFI: the AAVMF build without secure boot, named explicitly.
        loader = tree.find('os/loader')
        self.assertIsNotNone(loader)
        self.assertEqual('/usr/share/AAVMF/AAVMF_CODE.fd', loader.text)
        self.assertEqual('/usr/share/AAVMF/AAVMF_VARS.fd',
                         tree.find('os/nvram').get('template'))
        # Host CPU modes are refused for a foreign guest; a named model.
        cpu = tree.find('cpu')
        self.assertEqual('custom', cpu.get('mode'))
        self.assertIsNotNone(cpu.findtext('model'))
        self.assertIn('pcie-root', _controllers(tree, 'pci'))

    def test_s390x_on_x86_64(self):
        tree = self._boot('s390x')
        self.assertTrue(_machine(tree).startswith('s390-ccw-virtio'),
                        _machine(tree))
        self._assert_no_x86_features(tree)
        # libvirt refuses USB and VGA on s390x: no tablet, no USB bus;
        # Nova's VNC gets virtio-gpu-ccw and virtio inputs.
        self.assertEqual([], _usb_inputs(tree))
        self.assertNotIn('qemu-xhci', _controllers(tree, 'usb'))
        videos = [v.find('model').get('type')
                  for v in tree.findall('devices/video')]
        self.assertEqual(['virtio'], videos)
        self.assertEqual(['virtio', 'virtio'], [
            i.get('bus') for i in tree.findall('devices/input')])
        self.assertEqual(['sclp'], [c.find('target').get('type')
                                    for c in tree.findall('devices/console')
                                    if c.find('target') is not None])

    def test_ppc64le_on_x86_64(self):
        tree = self._boot('ppc64le')
        self.assertTrue(_machine(tree).startswith('pseries'), _machine(tree))
        self._assert_no_x86_features(tree)
        self.assertNotIn('pcie-root', _controllers(tree, 'pci'))

    def test_mipsel_on_x86_64(self):
        tree = self._boot('mipsel')
        self.assertEqual('malta', _machine(tree))
        self._assert_no_x86_features(tree)
        # malta has a PCI bus and no PCIe; libvirt accepts no <cpu>.
        pci = _controllers(tree, 'pci')
        self.assertIn('pci-root', pci)
        self.assertNotIn('pcie-root', pci)
        self.assertIsNone(tree.find('cpu'))

    def test_mipsel_without_a_kernel_refused(self):
        # malta has no firmware that boots a disk: Nova's build fails
        # with emuvirt's reason, and no domain is defined.
        self.start_host(driver='emuvirt')
        server = self.boot({'hw_emulation_architecture': 'mipsel'},
                           expected_state='ERROR')
        self.assertIn('mipsel guests cannot boot without a kernel',
                      self.fault_message(server))
        for connection in self.connections.values():
            self.assertNotIn(server['id'], connection.defined_xml)

    def test_mipsel_with_two_vcpus_refused(self):
        # malta's CPU has no SMP: the build fails naming the flavor's vcpus
        # (the standalone flavour's words), and no domain is defined.
        host = self.start_host(driver='emuvirt')
        self.flavor_id = self._create_flavor(
            name='emu.dual', memory_mb=512, vcpu=2, disk=1)
        server = self.boot_arch('mipsel', expected_state='ERROR')
        self.assertIn(
            "Flavor vcpus=2: mipsel guests take at most 1 (malta's 24Kf "
            "CPU has no SMP", self.fault_message(server))
        for connection in self.connections.values():
            self.assertNotIn(server['id'], connection.defined_xml)
        self.assertEqual(0, self._get_provider_usages(
            self.compute_rp_uuids[host])['VCPU'])

    def test_x86_64_on_aarch64(self):
        tree = self._boot('x86_64', host_arch='aarch64')
        machine = _machine(tree)
        self.assertTrue(machine.startswith('pc'), machine)
        # The x86 guest keeps what x86 needs, even on an aarch64 host.
        self.assertTrue(_has(tree, 'features/apic'))
        self.assertFalse(_has(tree, 'features/gic'))
        cpu = tree.find('cpu')
        if cpu is not None:
            self.assertNotIn(cpu.get('mode'),
                             ('host-passthrough', 'host-model'))

    def _boot_native(self, arch):
        host = self.start_host(host_arch=arch, driver='emuvirt')
        server = self.boot_arch(arch)
        self.assertEqual(host, self.server_host(server))
        self.assertValidDomainXML(self.domain_xml(server))
        tree = self.domain_tree(server)
        # [libvirt]virt_type = kvm (Nova's default): the host's own arch
        # runs accelerated.
        self.assertEqual('kvm', tree.get('type'))
        self.assertEqual(arch, tree.find('os/type').get('arch'))
        return tree

    def test_native_x86_64_keeps_kvm(self):
        tree = self._boot_native('x86_64')
        self.assertTrue(_has(tree, 'features/apic'))

    def test_native_s390x_on_s390x_host(self):
        tree = self._boot_native('s390x')
        self.assertTrue(_machine(tree).startswith('s390-ccw-virtio'))
        self.assertEqual([], _usb_inputs(tree))

    def test_native_ppc64le_on_ppc64le_host(self):
        tree = self._boot_native('ppc64le')
        self.assertTrue(_machine(tree).startswith('pseries'))
        self._assert_no_x86_features(tree)


class StockForeignServersTest(base.NovaHostDataTestCase):
    """Stock Nova 34, same images: what it hands libvirt (measured).

    Nova's fake libvirt defines and starts any XML, so these servers go
    ACTIVE here; the assertions name what a real libvirt 9.0 / QEMU 7.2
    refuses or what the guest arch cannot use.
    """

    def _boot(self, arch, host_arch='x86_64'):
        self.flags(virt_type=STOCK_VIRT_TYPE, group='libvirt')
        self.start_host(host_arch=host_arch, driver='stock')
        server = self.boot_arch(arch)
        self.assertEqual('ACTIVE', server['status'])
        tree = self.domain_tree(server)
        self.assertEqual(arch, tree.find('os/type').get('arch'))
        return tree

    def test_aarch64_gets_machine_pc_and_secure_loader(self):
        tree = self._boot('aarch64')
        # "Emulator ... does not support machine type 'pc'" at start.
        self.assertEqual('pc', _machine(tree))
        # Refused by libvirt 9.0 for every arch.
        self.assertEqual('efi', tree.find('os').get('firmware'))
        self.assertEqual('no', tree.find('os/loader').get('secure'))
        self.assertTrue(_has(tree, 'features/apic'))
        self.assertFalse(_has(tree, 'features/gic'))

    def test_s390x_gets_usb_tablet(self):
        tree = self._boot('s390x')
        self.assertEqual('pc', _machine(tree))
        # libvirt: USB is not supported on s390x.
        self.assertIn('tablet', _usb_inputs(tree))
        self.assertTrue(_has(tree, 'features/apic'))

    def test_ppc64le_gets_machine_pc(self):
        tree = self._boot('ppc64le')
        self.assertEqual('pc', _machine(tree))
        self.assertTrue(_has(tree, 'features/apic'))

    def test_mipsel_gets_no_pci_bus(self):
        tree = self._boot('mipsel')
        self.assertEqual('pc', _machine(tree))
        # QEMU: "No PCI buses available" for the virtio devices.
        self.assertNotIn('pci-root', _controllers(tree, 'pci'))
        self.assertTrue(_has(tree, 'features/apic'))

    def test_x86_64_on_aarch64_gets_machine_virt(self):
        tree = self._boot('x86_64', host_arch='aarch64')
        # The host arch's default board, which x86 QEMU does not have.
        self.assertEqual('virt', _machine(tree))


class RiscvThroughNovaTest(base.NovaHostDataTestCase):
    """Nova 34's API refuses riscv64 before any driver is asked.

    ``hw_emulation_architecture`` is a Nova ``Architecture`` field, and
    Nova 34's list of architectures has no riscv64: the server create
    request is a 400, whichever driver the computes run.
    """

    def test_riscv64_image_refused_by_api(self):
        self.start_host(driver='emuvirt')
        image = self.create_image({'hw_emulation_architecture': 'riscv64'})
        body = self._build_server(image_uuid=image,
                                  flavor_id=self.flavor_id)
        error = self.assertRaises(
            client.OpenStackApiException,
            self.api.post_server, {'server': body})
        self.assertEqual(400, error.response.status_code)
        self.assertIn('riscv64', str(error))

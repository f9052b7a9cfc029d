"""Stock Nova 34 (libvirt.LibvirtDriver) on the real daemon.

The harness itself, proven with Nova's own driver and a native guest: if
these fail, the fault is in the harness or the host, not in emuvirt.
"""

from emuvirt.tests.nova_integration import base


class StockNativeTest(base.NovaIntegrationTestCase):

    COMPUTE_DRIVER = 'libvirt.LibvirtDriver'

    def test_x86_64_boots_to_userspace(self):
        image = self.create_arch_images('x86_64', properties={})
        server = self.boot_server(image)
        self.record('ACTIVE')
        self.wait_for_boot(server['id'], 'x86_64')
        self.record('uname in console output')
        self.delete_server(server['id'])
        self.record('deleted')
        self.assert_gone(server['id'])

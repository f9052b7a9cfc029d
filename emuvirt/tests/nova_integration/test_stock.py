"""Stock Nova 34 (libvirt.LibvirtDriver) on the real daemon.

The harness itself, proven with Nova's own driver and a native x86_64 guest
(no image property at all): the same lifecycle as the emulated guests of
test_guests.  If this fails, the fault is in the harness or the host, not
in emuvirt.
"""

from emuvirt.tests.nova_integration import base
from emuvirt.tests.nova_integration import test_guests


class StockNativeTest(test_guests.LifecycleMixin,
                      base.NovaIntegrationTestCase):

    COMPUTE_DRIVER = 'libvirt.LibvirtDriver'

    def test_x86_64(self):
        self._lifecycle('x86_64', properties={})

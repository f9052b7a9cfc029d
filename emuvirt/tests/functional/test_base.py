"""Base class for functional tests: real emuvirt code, fake libvirt."""

import os

from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf
from emuvirt.tests.fixtures import fakelibvirt


def in_ci():
    return os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


class FunctionalTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.flags = self.useFixture(config_fixture.Config(conf.CONF))

    def use_host(self, host_arch):
        """Serve the fake libvirt data of ``host_arch``.

        Firmware is looked up in that host's descriptor files, as if the
        files they name were installed.
        """
        fake = self.useFixture(fakelibvirt.FakeLibvirtFixture(host_arch))
        self.useFixture(fakelibvirt.FakeFirmwareFixture(host_arch))
        return fake

    def require(self, what):
        """Skip for lack of ``what`` on a laptop; fail in CI."""
        if in_ci():
            self.fail('CI=true and %s is missing' % what)
        self.skipTest('%s is missing' % what)

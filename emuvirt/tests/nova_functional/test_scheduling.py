"""Nova's scheduler routes each image to a host that can run its arch.

Two x86_64 computes run emuvirt's driver; ``compute1`` has no
qemu-system-s390x (libvirt's capabilities list no s390x guest there). Nova
turns ``hw_emulation_architecture`` into a required ``COMPUTE_ARCH_*``
trait when ``[scheduler]image_metadata_prefilter`` is on, so routing
rests on the traits emuvirt reports.
"""

from emuvirt.tests.nova_functional import base


class ArchRoutingTest(base.NovaHostDataTestCase):

    def setUp(self):
        super().setUp()
        self.flags(image_metadata_prefilter=True, group='scheduler')
        # No second try: a server sent to a host that cannot run it stays
        # in ERROR instead of being rescheduled to the right one.
        self.flags(max_attempts=1, group='scheduler')
        # ppc64le is offered by no host of this test.
        self.flags(enabled_architectures=['aarch64', 's390x', 'mipsel',
                                          'riscv64', 'x86_64'],
                   group='emulation')
        self.lacking = self.start_host('compute1', remove_arches=('s390x',))
        self.having = self.start_host('compute2')

    def test_s390x_lands_only_on_the_host_with_its_emulator(self):
        self.assertNotIn('COMPUTE_ARCH_S390X', self.arch_traits(self.lacking))
        self.assertIn('COMPUTE_ARCH_S390X', self.arch_traits(self.having))
        # Make compute1 the weighers' choice (more free RAM), so that only
        # the trait keeps s390x away from it.
        native = self.create_image({})
        self._create_server(image_uuid=native, flavor_id=self.flavor_id,
                            host=self.having)
        for _ in range(2):
            server = self.boot_arch('s390x')
            self.assertEqual(self.having, self.server_host(server))
            self.assertNotIn(server['id'],
                             self.connections[self.lacking].defined_xml)
        # ... while an arch both hosts run still goes to compute1.
        server = self.boot_arch('aarch64')
        self.assertEqual(self.lacking, self.server_host(server))

    def test_arch_no_host_offers_fails_with_no_valid_host(self):
        for host in (self.lacking, self.having):
            self.assertNotIn('COMPUTE_ARCH_PPC64LE', self.arch_traits(host))
        server = self.boot_arch('ppc64le', expected_state='ERROR')
        self.assertIsNone(self.server_host(server))
        self.assertIn('No valid host', self.fault_message(server))
        for connection in self.connections.values():
            self.assertNotIn(server['id'], connection.defined_xml)

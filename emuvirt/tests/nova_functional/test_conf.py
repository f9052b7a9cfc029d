"""emuvirt's options inside a Nova process.

Nova's configuration is oslo.config's global object; emuvirt's standalone
options live on a ConfigOpts of their own (``emuvirt.conf.CONF``), so
importing every emuvirt module a Nova process loads registers nothing on
Nova's but the ``[emulation]`` group the Nova flavour adds.
"""

from nova import conf as nova_conf
from oslo_config import cfg
import testtools

from emuvirt import conf as emu_conf
from emuvirt.nova import conf as emuvirt_nova_conf
from emuvirt.nova import driver  # noqa: F401  (what nova-compute imports)

CONF = nova_conf.CONF


class TestNovaConf(testtools.TestCase):

    def test_emuvirt_conf_is_not_novas(self):
        self.assertIsNot(CONF, emu_conf.CONF)
        self.assertIs(CONF, cfg.CONF)

    def test_emulation_group_on_novas_conf(self):
        self.assertEqual({'enabled_architectures', 'cpu_models'},
                         set(CONF.emulation))

    def test_novas_own_options_are_novas(self):
        # emuvirt's standalone [DEFAULT]compute_driver and [libvirt]
        # options did not replace Nova's: Nova's help text is still there.
        self.assertIn('libvirt.LibvirtDriver',
                      CONF._opts['compute_driver']['opt'].help)
        # An option only emuvirt's standalone [libvirt] has.
        self.assertNotIn('network_name', set(CONF.libvirt))
        self.assertIn('network_name', set(emu_conf.CONF.libvirt))

    def test_register_again_is_harmless(self):
        emuvirt_nova_conf.register_opts(CONF)
        self.assertEqual(['emulation'],
                         [g.name for g, _opts in
                          emuvirt_nova_conf.list_opts()])

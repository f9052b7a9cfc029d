"""Tests of the emuvirt option groups and their validation."""

import os
import tempfile

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf
from emuvirt.conf import opts
from emuvirt.conf import validate
from emuvirt import exception


def _new_conf(config_text=None):
    """Return a private ConfigOpts with every emuvirt group registered."""
    new = cfg.ConfigOpts()
    for module in conf.MODULES:
        module.register_opts(new)
    conf.register_placement_opts(new)
    args = []
    if config_text is not None:
        fd, path = tempfile.mkstemp(suffix='.conf')
        with os.fdopen(fd, 'w') as f:
            f.write(config_text)
        args = ['--config-file', path]
    new(args, project='emuvirt', default_config_files=[])
    return new


class TestDefaults(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = _new_conf()

    def test_default_group(self):
        self.assertEqual('emuvirt', self.conf.compute_driver)
        self.assertEqual('/var/lib/emuvirt', self.conf.state_path)
        self.assertTrue(self.conf.host)

    def test_libvirt_group(self):
        group = self.conf.libvirt
        self.assertEqual('', group.connection_uri)
        self.assertEqual('kvm', group.virt_type)
        self.assertEqual([], group.hw_machine_type)
        self.assertEqual(0, group.num_pcie_ports)
        self.assertEqual(0, group.tb_cache_size)
        self.assertEqual('/var/lib/emuvirt/instances', group.instances_path)

    def test_instances_path_follows_state_path(self):
        self.conf.set_override('state_path', '/srv/emu')
        self.assertEqual('/srv/emu/instances',
                         self.conf.libvirt.instances_path)

    def test_emulation_group(self):
        self.assertEqual(
            ['aarch64', 'ppc64le', 's390x', 'mipsel', 'riscv64', 'x86_64'],
            self.conf.emulation.enabled_architectures)
        self.assertEqual([], self.conf.emulation.cpu_models)

    def test_compute_group(self):
        self.assertEqual(60, self.conf.compute.provider_update_interval)
        self.assertEqual(512, self.conf.compute.reserved_host_memory_mb)
        self.assertEqual(0, self.conf.compute.reserved_host_disk_mb)

    def test_placement_group(self):
        self.assertEqual('placement', self.conf.placement.service_type)
        self.assertIsNone(self.conf.placement.auth_type)
        self.assertIsNone(self.conf.placement.endpoint_override)

    def test_defaults_validate(self):
        validate.validate(self.conf)


class TestConfigFile(testtools.TestCase):

    def test_values_from_file(self):
        conf_ = _new_conf(
            '[DEFAULT]\ncompute_driver = fake\n'
            '[libvirt]\nvirt_type = qemu\n'
            'hw_machine_type = arm64=virt-7.2,PPC64EL=pseries\n'
            '[emulation]\nenabled_architectures = arm64,s390x\n'
            'cpu_models = aarch64=max\n')
        self.assertEqual('fake', conf_.compute_driver)
        self.assertEqual('qemu', conf_.libvirt.virt_type)
        self.assertEqual(['aarch64', 's390x'],
                         conf_.emulation.enabled_architectures)
        self.assertEqual({'aarch64': 'virt-7.2', 'ppc64le': 'pseries'},
                         validate.machine_type_map(conf_))
        self.assertEqual({'aarch64': 'max'}, validate.cpu_model_map(conf_))

    def _assert_invalid(self, text, option, *fragments):
        conf_ = _new_conf(text)
        exc = self.assertRaises(exception.ConfigOptionInvalid,
                                validate.validate, conf_)
        self.assertIn(option, str(exc))
        for fragment in fragments:
            self.assertIn(fragment, str(exc))
        return exc

    def test_bad_virt_type(self):
        self._assert_invalid('[libvirt]\nvirt_type = xen\n',
                             '[libvirt]virt_type', 'xen')

    def test_num_pcie_ports_out_of_range(self):
        self._assert_invalid('[libvirt]\nnum_pcie_ports = 29\n',
                             '[libvirt]num_pcie_ports',
                             'less than or equal to 28')

    def test_negative_tb_cache_size(self):
        self._assert_invalid('[libvirt]\ntb_cache_size = -1\n',
                             '[libvirt]tb_cache_size',
                             'greater than or equal to 0')

    def test_provider_update_interval_zero(self):
        self._assert_invalid('[compute]\nprovider_update_interval = 0\n',
                             '[compute]provider_update_interval')

    def test_bad_enabled_architecture(self):
        self._assert_invalid(
            '[emulation]\nenabled_architectures = aarch64,armv9\n',
            '[emulation]enabled_architectures', 'armv9')

    def test_machine_type_unknown_arch(self):
        self._assert_invalid('[libvirt]\nhw_machine_type = vax=virt\n',
                             '[libvirt]hw_machine_type', 'vax=virt')

    def test_machine_type_without_equals(self):
        self._assert_invalid('[libvirt]\nhw_machine_type = virt\n',
                             '[libvirt]hw_machine_type', "'virt'",
                             'arch=machine')

    def test_machine_type_empty_machine(self):
        self._assert_invalid('[libvirt]\nhw_machine_type = aarch64=\n',
                             '[libvirt]hw_machine_type', 'aarch64=')

    def test_machine_type_conflicting_aliases(self):
        self._assert_invalid(
            '[libvirt]\nhw_machine_type = aarch64=virt,arm64=virt-6.2\n',
            '[libvirt]hw_machine_type', 'arm64=virt-6.2', "'virt'")

    def test_machine_type_same_value_twice_is_fine(self):
        conf_ = _new_conf(
            '[libvirt]\nhw_machine_type = aarch64=virt,arm64=virt\n')
        self.assertEqual({'aarch64': 'virt'}, validate.machine_type_map(conf_))

    def test_cpu_models_unknown_arch(self):
        self._assert_invalid('[emulation]\ncpu_models = arm=cortex-a15\n',
                             '[emulation]cpu_models', 'arm=cortex-a15')


class TestParseArgs(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))

    def _write(self, text):
        fd, path = tempfile.mkstemp(suffix='.conf')
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def test_parse_args_reads_config_file(self):
        path = self._write('[libvirt]\nconnection_uri = test:///default\n')
        conf.parse_args(['emuvirt', '--config-file', path])
        self.assertEqual('test:///default', conf.CONF.libvirt.connection_uri)

    def test_parse_args_default_config_files(self):
        path = self._write('[DEFAULT]\nhost = node-1\n')
        conf.parse_args(['emuvirt'], default_config_files=[path])
        self.assertEqual('node-1', conf.CONF.host)

    def test_parse_args_stops_on_bad_value(self):
        path = self._write('[libvirt]\nhw_machine_type = nope=virt\n')
        exc = self.assertRaises(exception.ConfigOptionInvalid,
                                conf.parse_args, ['emuvirt'],
                                default_config_files=[path])
        self.assertIn('[libvirt]hw_machine_type', str(exc))

    def test_logging_options_registered(self):
        self.assertIn('debug', conf.CONF)
        self.assertIn('log_file', conf.CONF)


class TestPlacementNoAuth(testtools.TestCase):

    def test_noauth_adapter(self):
        conf_ = _new_conf('[placement]\nauth_type = none\n'
                          'endpoint_override = http://127.0.0.1:8778\n')
        auth = ks_loading.load_auth_from_conf_options(conf_, 'placement')
        session = ks_loading.load_session_from_conf_options(
            conf_, 'placement', auth=auth)
        adapter = ks_loading.load_adapter_from_conf_options(
            conf_, 'placement', session=session)
        self.assertEqual('placement', adapter.service_type)
        self.assertEqual('http://127.0.0.1:8778',
                         adapter.get_endpoint())


class TestPlacementRegistration(testtools.TestCase):

    def test_not_on_import_then_once(self):
        new = cfg.ConfigOpts()
        for module in conf.MODULES:
            module.register_opts(new)
        self.assertNotIn('placement', new)
        conf.register_placement_opts(new)
        conf.register_placement_opts(new)
        self.assertEqual('placement', new.placement.service_type)

    def test_bad_value_names_the_option(self):
        new = _new_conf('[placement]\ntimeout = soon\n')
        exc = self.assertRaises(exception.ConfigOptionInvalid,
                                conf.register_placement_opts, new)
        self.assertIn('[placement]timeout', str(exc))


class TestListOpts(testtools.TestCase):

    def _by_group(self):
        result = {}
        for group, group_opts in opts.list_opts():
            name = getattr(group, 'name', group)
            self.assertNotIn(name, result)
            result[name] = {opt.dest: opt for opt in group_opts}
        return result

    def test_every_group_listed(self):
        self.assertEqual(
            {'DEFAULT', 'libvirt', 'emulation', 'placement', 'compute'},
            set(self._by_group()))

    def test_every_registered_option_listed(self):
        listed = self._by_group()
        registered = _new_conf()
        builtin = cfg.ConfigOpts()
        builtin([], default_config_files=[])
        for name in set(registered) - set(builtin):
            value = registered[name]
            if isinstance(value, cfg.ConfigOpts.GroupAttr):
                for opt_name in value:
                    self.assertIn(opt_name, listed[name])
            else:
                self.assertIn(name, listed['DEFAULT'])

    def test_every_emuvirt_option_has_help(self):
        for group, options in self._by_group().items():
            if group == 'placement':
                continue
            for name, opt in options.items():
                self.assertTrue(opt.help, '[%s]%s' % (group, name))

    def test_placement_lists_keystoneauth_options(self):
        placement = self._by_group()['placement']
        for name in ('auth_type', 'auth_section', 'endpoint_override',
                     'service_type', 'valid_interfaces', 'cafile',
                     'timeout', 'auth_url', 'username', 'password'):
            self.assertIn(name, placement)
        self.assertEqual('placement', placement['service_type'].default)


class TestArchitectureType(testtools.TestCase):

    def test_canonicalises(self):
        self.assertEqual('x86_64', validate.ArchitectureType()('AMD64'))

    def test_rejects_unknown(self):
        exc = self.assertRaises(ValueError, validate.ArchitectureType(),
                                'pdp11')
        self.assertIn('pdp11', str(exc))

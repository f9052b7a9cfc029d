"""``emuvirt-compute --once`` against the real Placement."""

import os
from unittest import mock

import fixtures

from emuvirt.cmd import compute as compute_cmd
from emuvirt.compute import manager
from emuvirt import conf
from emuvirt.tests.functional import placement_base


class TestComputeCommand(placement_base.PlacementTestCase):

    def setUp(self):
        super().setUp()
        self.flags.reset()
        # The command parses the config file into the global CONF.
        self.addCleanup(conf.CONF.reset)
        # Keep the process's logging as the test runner set it up.
        self.useFixture(fixtures.MockPatch('oslo_log.log.setup'))
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def write_config(self, **placement):
        path = os.path.join(self.tmp, 'emuvirt.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nhost = cmd-host\ncompute_driver = fake\n'
                    'state_path = %s\n' % self.tmp)
            f.write('[placement]\n')
            for key, value in placement.items():
                f.write('%s = %s\n' % (key, value))
        return path

    def test_once_registers_the_host(self):
        path = self.write_config(**self.placement.conf_overrides())
        rc = compute_cmd.main(['emuvirt-compute', '--config-file', path,
                               '--once'])
        self.assertEqual(0, rc)
        traits, inventory, _gen = self.provider('cmd-host')
        self.assertIn('COMPUTE_ARCH_S390X', traits)
        self.assertEqual(8, inventory['VCPU']['total'])

    def test_once_with_placement_down_fails(self):
        path = self.write_config(**self.placement.conf_overrides())
        self.placement.stop()
        rc = compute_cmd.main(['emuvirt-compute', '--config-file', path,
                               '--once'])
        self.assertEqual(1, rc)

    def test_without_placement_runs_and_says_so(self):
        path = self.write_config()
        with mock.patch.object(manager.LOG, 'warning') as warning:
            rc = compute_cmd.main(['emuvirt-compute', '--config-file', path,
                                   '--once'])
        self.assertEqual(0, rc)
        self.assertIn('Placement is not configured', warning.call_args[0][0])

    def test_unknown_driver(self):
        path = self.write_config()
        with open(path, 'a') as f:
            f.write('[DEFAULT]\ncompute_driver = nope\n')
        stderr = self.useFixture(fixtures.StringStream('stderr'))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr.stream))
        rc = compute_cmd.main(['emuvirt-compute', '--config-file', path,
                               '--once'])
        self.assertEqual(1, rc)
        stderr.stream.flush()
        self.assertIn("Compute driver 'nope'",
                      stderr.getDetails()['stderr'].as_text())

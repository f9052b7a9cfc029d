"""Tests of ``emuvirt host-capabilities``."""

import argparse
import contextlib
import io
import json

from oslo_config import fixture as config_fixture
import testtools

from emuvirt.cmd import hostcaps as hostcaps_cmd
from emuvirt import conf
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import hostfiles


class TestHostCapabilitiesCommand(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        self.useFixture(fakelibvirt.FakeLibvirtFixture('x86_64'))
        self.files = self.useFixture(hostfiles.HostFilesFixture())

    def run_cmd(self, *argv):
        parser = argparse.ArgumentParser()
        hostcaps_cmd.add_parser(parser.add_subparsers())
        args = parser.parse_args(('host-capabilities',) + argv)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(0, args.func(args))
        return out.getvalue()

    def test_json(self):
        data = json.loads(self.run_cmd('--format', 'json'))
        self.assertEqual('x86_64', data['host_arch'])
        self.assertIn('COMPUTE_ARCH_AARCH64', data['traits'])
        self.assertIn('HW_ARCH_X86_64', data['traits'])
        aarch64 = data['archs']['aarch64']
        self.assertEqual('/usr/bin/qemu-system-aarch64', aarch64['emulator'])
        self.assertEqual('tcg', aarch64['accelerator'])
        self.assertEqual('uefi', aarch64['firmware_needed'])
        self.assertEqual(list(hostfiles.AAVMF_FILES),
                         aarch64['firmware_found'])
        self.assertIn('virt', aarch64['machines'])
        self.assertEqual('COMPUTE_ARCH_AARCH64', aarch64['trait'])
        self.assertEqual('kvm', data['archs']['x86_64']['accelerator'])
        # Arches without a profile only with --all.
        self.assertNotIn('alpha', data['archs'])
        data = json.loads(self.run_cmd('--format', 'json', '--all'))
        self.assertFalse(data['archs']['alpha']['runnable'])

    def test_table(self):
        self.files.remove('/usr/bin/qemu-system-s390x')
        out = self.run_cmd()
        self.assertIn('Host arch: x86_64', out)
        lines = {line.split()[0]: line for line in out.splitlines()}
        self.assertIn('COMPUTE_ARCH_AARCH64', lines['aarch64'])
        self.assertIn('uefi: /usr/share/AAVMF/AAVMF_CODE.fd',
                      lines['aarch64'])
        self.assertIn('emulator /usr/bin/qemu-system-s390x is missing',
                      lines['s390x'])
        self.assertIn('kvm', lines['x86_64'])
        self.assertNotIn('COMPUTE_ARCH_S390X', lines['Traits:'])

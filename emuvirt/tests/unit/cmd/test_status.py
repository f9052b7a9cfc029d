"""Tests of ``emuvirt-status upgrade check`` on the fake libvirt."""

import io
import json
import os

import fixtures
from oslo_config import fixture as config_fixture
from oslo_upgradecheck import upgradecheck
import testtools

from emuvirt.cmd import status
from emuvirt import conf
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import guests
from emuvirt.virt.libvirt import host as vhost

Code = upgradecheck.Code


class StatusTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        self.fake = self.useFixture(fakelibvirt.FakeLibvirtFixture('x86_64'))
        self.host = vhost.Host()
        tmp = self.useFixture(fixtures.TempDir()).path
        # An emulator file of our own, so that the test can remove it.
        self.emulator = os.path.join(tmp, 'qemu-system-aarch64')
        with open(self.emulator, 'w') as f:
            f.write('#!/bin/sh\n')
        os.chmod(self.emulator, 0o755)

    def define(self, name, arch='aarch64', **kwargs):
        kwargs.setdefault('emulator', self.emulator)
        return guests.define(self.host, arch, name, **kwargs)

    def results(self):
        checks = status.Checks(host=vhost.Host())
        return {name: func(checks) for name, func in checks._upgrade_checks}


class TestChecks(StatusTestCase):

    def test_success(self):
        self.define('a')
        guests.define_foreign(self.host, 'not-ours')
        results = self.results()
        self.assertEqual({'Machine types recorded': Code.SUCCESS,
                          'Guest emulators': Code.SUCCESS,
                          'Guest records': Code.SUCCESS,
                          'Placement allocations': Code.SUCCESS},
                         {k: r.code for k, r in results.items()})
        self.assertIn('Placement is not configured',
                      results['Placement allocations'].details)

    def test_success_with_no_guests(self):
        for result in self.results().values():
            self.assertEqual(Code.SUCCESS, result.code)

    def test_warning_for_guests_without_a_machine_type(self):
        self.define('a')
        b = self.define('b', recorded=False)
        result = self.results()['Machine types recorded']
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('1 guest(s) have no recorded machine type: b (%s)'
                      % b.UUIDString(), result.details)
        self.assertIn('list_unset_machine_type', result.details)

    def test_failure_when_libvirt_no_longer_offers_the_arch(self):
        a = self.define('a')
        self.define('b', arch='s390x', emulator='/bin/sh')
        self.fake.remove_arch('aarch64')
        result = self.results()['Guest emulators']
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('1 guest(s) cannot start on this host: a (%s): '
                      'libvirt offers no emulator for aarch64 guests any '
                      'more' % a.UUIDString(), result.details)

    def test_failure_when_the_emulator_file_is_gone(self):
        self.define('a')
        os.unlink(self.emulator)
        result = self.results()['Guest emulators']
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('its emulator %s is missing' % self.emulator,
                      result.details)

    def test_broken_records_are_listed_and_the_rest_checked(self):
        logs = self.useFixture(fixtures.FakeLogger())
        kinds = sorted(k for k in guests.CORRUPTIONS
                       if k != 'bad-property-value')
        for i, kind in enumerate(kinds):
            guests.corrupt(self.host, self.define('b%02d' % i), kind)
        self.define('ok-unset', recorded=False)
        missing = self.define('ok-missing', arch='s390x',
                              emulator='/nonexistent/qemu')
        results = self.results()
        records = results['Guest records']
        self.assertEqual(Code.WARNING, records.code)
        self.assertIn('%d guest(s) have an emuvirt record that cannot be '
                      'read' % len(kinds), records.details)
        for i, kind in enumerate(kinds):
            self.assertIn('b%02d (' % i, records.details)
            self.assertIn(guests.CORRUPTIONS[kind][1], records.details)
        self.assertIn('emuvirt server delete', records.details)
        # The other checks see the other guests, and only them.
        unset = results['Machine types recorded']
        self.assertEqual(Code.WARNING, unset.code)
        self.assertIn('1 guest(s) have no recorded machine type: ok-unset',
                      unset.details)
        emulators = results['Guest emulators']
        self.assertEqual(Code.FAILURE, emulators.code)
        self.assertIn('1 guest(s) cannot start on this host: ok-missing '
                      '(%s)' % missing.UUIDString(), emulators.details)
        self.assertNotIn('Traceback', logs.output)

    def test_failure_when_libvirt_is_unreachable(self):
        self.fake.connect_error = 'no socket'
        results = self.results()
        # Without Placement that check reads nothing from libvirt.
        del results['Placement allocations']
        for result in results.values():
            self.assertEqual(Code.FAILURE, result.code)
            self.assertIn('Cannot read the guests from libvirt',
                          result.details)


class TestMain(StatusTestCase):

    def setUp(self):
        super().setUp()
        self.out = self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', io.StringIO())).new_value
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', io.StringIO()))
        self.conf_file = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'emuvirt.conf')
        with open(self.conf_file, 'w') as f:
            f.write('[libvirt]\nconnection_uri = qemu:///system\n')
        self.addCleanup(setattr, upgradecheck, 'CONF', upgradecheck.CONF)

    def main(self, *args):
        return status.main(['emuvirt-status', '--config-file',
                            self.conf_file] + list(args))

    def test_exit_codes(self):
        self.assertEqual(Code.SUCCESS, self.main('upgrade', 'check'))
        self.define('a', recorded=False)
        self.assertEqual(Code.WARNING, self.main('upgrade', 'check'))
        os.unlink(self.emulator)
        self.assertEqual(Code.FAILURE, self.main('upgrade', 'check'))
        self.assertIn('Check: Guest emulators', self.out.getvalue())

    def test_json(self):
        self.define('a', recorded=False)
        self.assertEqual(Code.WARNING,
                         self.main('upgrade', 'check', '--json'))
        output = json.loads(self.out.getvalue())
        self.assertEqual(
            {'Machine types recorded': Code.WARNING,
             'Guest emulators': Code.SUCCESS,
             'Guest records': Code.SUCCESS,
             'Placement allocations': Code.SUCCESS},
            {c['check']: c['result'] for c in output['checks']})

    def test_broken_record_is_a_warning(self):
        guests.corrupt(self.host, self.define('a'), 'flavor-not-a-number')
        self.assertEqual(Code.WARNING, self.main('upgrade', 'check'))
        self.assertIn('Check: Guest records', self.out.getvalue())
        self.assertIn('vcpus is not a whole number', self.out.getvalue())

    def test_bad_command_line(self):
        self.assertRaises(SystemExit, self.main, 'upgrade', 'chekc')

    def test_crash_is_255(self):
        self.useFixture(fixtures.MockPatch(
            'emuvirt.virt.libvirt.records.list_guests',
            side_effect=RuntimeError('bug')))
        self.assertEqual(255, self.main('upgrade', 'check'))

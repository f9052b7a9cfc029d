"""Tests of Guest, one domain of the fake libvirt."""

from unittest import mock

import fixtures
import libvirt
import testtools

from emuvirt import exception
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.virt import driver
from emuvirt.virt.libvirt import guest as vguest
from emuvirt.virt.libvirt import metadata

UUID = '0a1b2c3d-0000-4000-8000-00000000abcd'
LOG = '/srv/instances/%s/console.log' % UUID

DOMAIN = """<domain type='qemu'>
  <name>g1</name>
  <uuid>%(uuid)s</uuid>
  %(metadata)s
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='aarch64' machine='virt'>hvm</type>%(nvram)s</os>
  <devices>%(consoles)s</devices>
</domain>"""
SERIAL = """<serial type='pty'><log file='%s' append='on'/>
  <target port='0'/></serial>
  <console type='pty'><target type='serial' port='0'/></console>""" % LOG
SCLP = """<console type='pty'><log file='%s' append='on'/>
  <target type='sclp' port='0'/></console>""" % LOG


def domain_xml(record=None, nvram=False, consoles=SERIAL):
    return DOMAIN % {
        'uuid': UUID,
        'metadata': ('<metadata>%s</metadata>' % record.to_xml()
                     if record else ''),
        'nvram': '<nvram>/srv/nvram.fd</nvram>' if nvram else '',
        'consoles': consoles}


class GuestTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conn = fakelibvirt.FakeConnection('fake:///x86_64')

    def guest(self, **kwargs):
        return vguest.Guest(self.conn.defineXML(domain_xml(**kwargs)))

    def break_method(self, name, code=libvirt.VIR_ERR_OPERATION_FAILED,
                     message='operation failed: it broke'):
        return self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, name,
            side_effect=fakelibvirt.make_error(code, message))).mock


class TestIdentity(GuestTestCase):

    def test_name_uuid_domain(self):
        guest = self.guest()
        self.assertEqual(('g1', UUID), (guest.name, guest.uuid))
        self.assertIs(self.conn.lookupByName('g1'), guest.domain)


class TestPowerState(GuestTestCase):

    def test_defined_guest_is_shut_down(self):
        guest = self.guest()
        self.assertFalse(guest.is_active())
        self.assertEqual(driver.SHUTDOWN, guest.get_power_state())

    def test_libvirt_states_map_to_power_states(self):
        guest = self.guest()
        cases = {libvirt.VIR_DOMAIN_NOSTATE: driver.NOSTATE,
                 libvirt.VIR_DOMAIN_RUNNING: driver.RUNNING,
                 libvirt.VIR_DOMAIN_BLOCKED: driver.RUNNING,
                 libvirt.VIR_DOMAIN_PAUSED: driver.PAUSED,
                 libvirt.VIR_DOMAIN_SHUTDOWN: driver.SHUTDOWN,
                 libvirt.VIR_DOMAIN_SHUTOFF: driver.SHUTDOWN,
                 libvirt.VIR_DOMAIN_CRASHED: driver.CRASHED,
                 libvirt.VIR_DOMAIN_PMSUSPENDED: driver.SUSPENDED,
                 99: driver.NOSTATE}
        for state, expected in cases.items():
            guest.domain._set_state(state, 0)
            self.assertEqual(expected, guest.get_power_state(), state)

    def test_query_error_names_the_guest(self):
        self.break_method('state')
        error = self.assertRaises(exception.GuestOperationFailed,
                                  self.guest().get_power_state)
        self.assertEqual('Could not query instance g1: operation failed: '
                         'it broke', str(error))


class TestLifecycle(GuestTestCase):

    def test_launch_runs_it(self):
        guest = self.guest()
        guest.launch()
        self.assertEqual(driver.RUNNING, guest.get_power_state())

    def test_launch_error(self):
        self.break_method('createWithFlags',
                          message='internal error: qemu unexpectedly closed')
        error = self.assertRaises(exception.GuestOperationFailed,
                                  self.guest().launch)
        self.assertIn('Could not start instance g1: internal error',
                      str(error))

    def test_lost_connection_is_hypervisor_unavailable(self):
        guest = self.guest()
        guest.launch()
        self.conn.dead = True
        for call in (guest.launch, guest.destroy, guest.undefine,
                     guest.get_power_state):
            error = self.assertRaises(exception.HypervisorUnavailable, call)
            self.assertIsInstance(error, vguest.GuestConnectionLost)
            self.assertIn('Connection to libvirt lost while trying to',
                          str(error))
            self.assertIn('instance g1: End of file', str(error))

    def test_shutdown(self):
        guest = self.guest()
        guest.launch()
        guest.shutdown()
        self.assertFalse(guest.is_active())

    def test_shutdown_of_stopped_guest_fails(self):
        self.assertRaises(exception.GuestOperationFailed,
                          self.guest().shutdown)

    def test_destroy(self):
        guest = self.guest()
        guest.launch()
        guest.destroy()
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED,
                         guest.domain.state()[1])

    def test_destroy_of_stopped_guest_does_nothing(self):
        destroy = self.useFixture(fixtures.MockPatchObject(
            fakelibvirt.FakeDomain, 'destroyFlags')).mock
        self.guest().destroy()
        destroy.assert_not_called()

    def test_destroy_race_with_guest_stopping_by_itself(self):
        guest = self.guest()
        guest.launch()

        def stop_then_fail(flags):
            guest.domain._stopped(libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN)
            raise fakelibvirt.make_error(libvirt.VIR_ERR_OPERATION_INVALID,
                                         'domain is not running')
        with mock.patch.object(guest.domain, 'destroyFlags',
                               side_effect=stop_then_fail):
            guest.destroy()
        self.assertFalse(guest.is_active())

    def test_destroy_error_when_still_running(self):
        guest = self.guest()
        guest.launch()
        self.break_method('destroyFlags')
        self.assertRaises(exception.GuestOperationFailed, guest.destroy)

    def test_undefine_drops_nvram(self):
        # The fake, like libvirt, refuses to undefine a domain with NVRAM
        # unless told what to do with it.
        guest = self.guest(nvram=True)
        guest.undefine()
        self.assertEqual([], self.conn.listAllDomains())

    def test_undefine_flags(self):
        guest = self.guest()
        with mock.patch.object(guest.domain, 'undefineFlags') as undefine:
            guest.undefine()
        flags = undefine.call_args[0][0]
        self.assertTrue(flags & libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        self.assertFalse(flags & libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)


class TestWaitForShutoff(GuestTestCase):

    def test_true_once_off(self):
        guest = self.guest()
        guest.launch()
        states = iter([1, 1, 0])
        with mock.patch.object(guest.domain, 'isActive',
                               side_effect=lambda: next(states)):
            self.assertTrue(guest.wait_for_shutoff(10, poll=0))

    def test_false_after_timeout(self):
        guest = self.guest()
        guest.launch()
        self.assertFalse(guest.wait_for_shutoff(0.05, poll=0.01))
        self.assertTrue(guest.is_active())


class TestMetadata(GuestTestCase):

    def test_record_read_back(self):
        record = metadata.InstanceRecord(
            uuid=UUID, name='g1', guest_arch='aarch64',
            machine_type='virt-7.2', vcpus=2, memory_mb=1024,
            kernel_path='/k', properties={'hw_emulation_architecture':
                                          'aarch64'})
        self.assertEqual(record, self.guest(record=record).get_record())

    def test_no_record_means_not_ours(self):
        self.assertIsNone(self.guest().get_record())

    def test_console_log_path_of_serial(self):
        self.assertEqual(LOG, self.guest().get_console_log_path())

    def test_console_log_path_of_sclp_console(self):
        self.assertEqual(LOG,
                         self.guest(consoles=SCLP).get_console_log_path())

    def test_no_console_log(self):
        self.assertIsNone(self.guest(consoles='').get_console_log_path())

    def test_nvram_path(self):
        self.assertEqual('/srv/nvram.fd',
                         self.guest(nvram=True).get_nvram_path())
        self.assertIsNone(self.guest().get_nvram_path())


class TestRecordOfARunningGuest(GuestTestCase):

    def test_record_read_from_the_stored_definition(self):
        old = metadata.InstanceRecord(uuid=UUID, name='g1',
                                      guest_arch='aarch64')
        g = self.guest(record=old)
        g.launch()
        new = metadata.InstanceRecord(uuid=UUID, name='g1',
                                      guest_arch='aarch64',
                                      machine_type='virt-7.2')
        # Defined again while it runs: libvirt changes only the stored
        # definition, not the live XML.
        self.conn.defineXML(domain_xml(record=new))
        self.assertIsNone(metadata.InstanceRecord.from_domain_xml(
            g.get_xml_desc()).machine_type)
        self.assertEqual('virt-7.2', g.get_record().machine_type)

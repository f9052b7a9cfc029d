"""Tests of the compute service loop (driver and client are doubles)."""

import threading
import time
from unittest import mock

import libvirt
from oslo_config import fixture as config_fixture
import testtools

from emuvirt.compute import manager
from emuvirt import conf
from emuvirt import exception
from emuvirt.scheduler.client import report
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.virt import fake


class TestComputeManager(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.flags = self.useFixture(config_fixture.Config(conf.CONF))
        self.flags.config(host='node1')
        self.driver = fake.FakeDriver()
        self.client = mock.Mock(spec=report.ReportClient)

    def service(self, client='default'):
        return manager.ComputeManager(
            conf.CONF, driver=self.driver,
            reportclient=self.client if client == 'default' else client)

    def test_cycle_syncs_the_host_provider(self):
        service = self.service()
        self.assertTrue(service.update_available_resource())
        name, uuid, update = self.client.sync_provider.call_args[0]
        self.assertEqual(('node1', report.provider_uuid('node1')),
                         (name, uuid))
        self.assertEqual('node1', self.driver.host)

    def test_update_function_is_the_driver(self):
        service = self.service()
        service.update_available_resource()
        update = self.client.sync_provider.call_args[0][2]
        tree = mock.Mock()
        with mock.patch.object(self.driver, 'update_provider_tree') as upt:
            update(tree)
        upt.assert_called_once_with(tree, 'node1')

    def test_host_name_given(self):
        service = manager.ComputeManager(conf.CONF, driver=self.driver,
                                         reportclient=self.client,
                                         host='other')
        service.update_available_resource()
        self.assertEqual('other', self.client.sync_provider.call_args[0][0])

    def test_outages_are_survived(self):
        service = self.service()
        errors = [report.PlacementUnavailable(reason='refused'),
                  exception.PlacementError(reason='HTTP 400'),
                  fakelibvirt.make_error(libvirt.VIR_ERR_SYSTEM_ERROR, 'x'),
                  exception.HypervisorUnavailable(uri='u', reason='r'),
                  RuntimeError('bug')]
        for error in errors:
            self.client.sync_provider.side_effect = error
            self.assertFalse(service.update_available_resource())
        self.client.sync_provider.side_effect = None
        self.assertTrue(service.update_available_resource())
        self.assertEqual((6, len(errors)), (service.cycles, service.failures))

    def test_init_host_failure_is_retried(self):
        service = self.service()
        with mock.patch.object(self.driver, 'init_host',
                               side_effect=libvirt.libvirtError('down')):
            self.assertFalse(service.init_host())
            self.assertFalse(service.update_available_resource())
        self.client.sync_provider.assert_not_called()
        self.assertTrue(service.update_available_resource())
        self.client.sync_provider.assert_called_once()

    def test_without_placement_driver_still_runs(self):
        service = self.service(client=None)
        with mock.patch.object(self.driver, 'update_provider_tree') as upt:
            self.assertTrue(service.update_available_resource())
        tree, nodename = upt.call_args[0]
        self.assertEqual('node1', nodename)
        self.assertTrue(tree.exists(report.provider_uuid('node1')))

    def test_no_placement_configured_means_no_client(self):
        service = manager.ComputeManager(conf.CONF, driver=self.driver)
        self.assertIsNone(service.reportclient)

    def test_run_once(self):
        service = self.service()
        self.assertEqual(0, service.run(once=True))
        self.assertEqual(1, service.cycles)
        self.assertIsNone(self.driver.host)   # cleanup_host ran
        self.client.sync_provider.side_effect = report.PlacementUnavailable(
            reason='down')
        self.assertEqual(1, self.service().run(once=True))

    def test_stop_interrupts_the_wait(self):
        self.flags.config(group='compute', provider_update_interval=3600)
        service = self.service()
        threading.Timer(0.2, service.stop).start()
        started = time.monotonic()
        self.assertEqual(0, service.run())
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(1, service.cycles)

    def test_loads_the_configured_driver(self):
        self.flags.config(compute_driver='fake')
        service = manager.ComputeManager(conf.CONF)
        self.assertIsInstance(service.driver, fake.FakeDriver)

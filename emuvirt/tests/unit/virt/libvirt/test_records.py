"""Tests of finding emuvirt guests and rewriting their records."""

import dataclasses

from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf
from emuvirt import exception
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import guests
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import records


class TestRecords(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        self.useFixture(fakelibvirt.FakeLibvirtFixture('x86_64'))
        self.saves = self.useFixture(guests.ManagedSave())
        self.host = vhost.Host()

    def test_lookup_by_name_uuid_or_instance(self):
        dom = guests.define(self.host, 's390x', 'web1')
        instance, _ = guests.make_instance('s390x', 'web1')
        instance.uuid = dom.UUIDString()
        for key in ('web1', dom.UUIDString(), instance):
            guest = records.lookup(self.host, key)
            self.assertEqual(dom.UUIDString(), guest.uuid)
            self.assertEqual('web1', guest.name)
            self.assertEqual('s390x', guest.arch)
            self.assertEqual('s390-ccw-virtio-7.2', guest.xml_machine)
            self.assertEqual('/usr/bin/qemu-system-s390x', guest.emulator)
            self.assertEqual('s390-ccw-virtio-7.2',
                             guest.record.machine_type)

    def test_lookup_missing_or_foreign(self):
        guests.define_foreign(self.host, 'other')
        self.assertRaises(exception.InstanceNotFound, records.lookup,
                          self.host, 'nope')
        self.assertRaises(records.NotAnInstance, records.lookup,
                          self.host, 'other')

    def test_list_guests_skips_foreign_domains(self):
        guests.define(self.host, 'aarch64', 'b')
        guests.define(self.host, 'mipsel', 'a')
        guests.define_foreign(self.host, 'other')
        self.assertEqual(['a', 'b'],
                         [g.name for g in records.list_guests(self.host)])

    def test_require_stopped(self):
        dom = guests.define(self.host, 'aarch64', 'web1')
        records.require_stopped(records.lookup(self.host, 'web1'), 'x')
        dom.create()
        self.assertRaises(exception.InstanceInvalidState,
                          records.require_stopped,
                          records.lookup(self.host, 'web1'), 'x')
        dom.destroy()
        self.saves.saved.add('web1')
        self.assertRaises(exception.InstanceInvalidState,
                          records.require_stopped,
                          records.lookup(self.host, 'web1'), 'x')

    def test_redefine_writes_record_and_machine_together(self):
        guests.define(self.host, 'aarch64', 'web1')
        guest = records.lookup(self.host, 'web1')
        record = dataclasses.replace(guest.record, machine_type='virt-7.1')
        new = records.redefine(self.host, guest, record, machine='virt-7.1')
        self.assertEqual('virt-7.1', new.record.machine_type)
        self.assertEqual('virt-7.1', new.xml_machine)
        self.assertEqual(guest.uuid, new.uuid)
        self.assertEqual(guest.xml.count('<'), new.xml.count('<'))

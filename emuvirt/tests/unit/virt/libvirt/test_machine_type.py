"""Tests of machine type reading, recording and updating.

Guests are defined on the fake libvirt from the driver's own XML
(:mod:`emuvirt.tests.fixtures.guests`). Every refusal is checked to leave
the guest's persistent XML byte-identical.
"""

import os
from unittest import mock

import fixtures
import libvirt
from lxml import etree
from oslo_config import fixture as config_fixture
import testtools

from emuvirt import conf
from emuvirt import exception
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.fixtures import guests
from emuvirt.virt.libvirt import caps
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import machine_type
from emuvirt.virt.libvirt import records


def _guest_caps(arch, host_arch='x86_64'):
    path = os.path.join(fakelibvirt.HOSTS_DIR, host_arch, 'capabilities.xml')
    with open(path, 'rb') as f:
        return caps.parse_capabilities(f.read()).guest(arch)


def _canonical(xml):
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml.encode(), parser),
                          method='c14n')


class TestNames(testtools.TestCase):

    def test_version(self):
        self.assertEqual((7, 2), machine_type.version('virt-7.2'))
        self.assertEqual((2, 12), machine_type.version('pc-i440fx-2.12'))
        self.assertEqual((7, 2),
                         machine_type.version('s390-ccw-virtio-7.2'))
        self.assertIsNone(machine_type.version('malta'))
        self.assertIsNone(machine_type.version('virt'))
        self.assertIsNone(machine_type.version(None))

    def test_kind_asks_libvirt_which_names_are_aliases(self):
        aarch64 = _guest_caps('aarch64')
        self.assertEqual('alias', machine_type.kind('virt', aarch64))
        self.assertEqual('versioned', machine_type.kind('virt-7.2', aarch64))
        # riscv64's virt is no alias: it has no versions at all.
        self.assertEqual('plain',
                         machine_type.kind('virt', _guest_caps('riscv64')))
        self.assertEqual('plain',
                         machine_type.kind('malta', _guest_caps('mipsel')))
        self.assertEqual('alias',
                         machine_type.kind('q35', _guest_caps('x86_64')))

    # (arch, old, new) -> refused? None means accepted.
    COMPATIBILITY = (
        ('x86_64', 'pc-q35-6.2', 'pc-q35-7.2', None),
        ('x86_64', 'pc-q35-7.2', 'pc-q35-7.2', None),
        ('x86_64', 'pc-i440fx-7.2', 'pc-q35-7.2', 'family'),
        ('x86_64', 'pc-q35-7.2', 'pc-i440fx-7.2', 'family'),
        ('x86_64', 'pc-q35-7.2', 'pc-q35-6.2', 'lower'),
        ('x86_64', 'pc-q35-7.2', 'q35', 'alias'),
        ('x86_64', 'pc', 'pc-i440fx-7.2', 'alias'),
        ('x86_64', 'pc', 'q35', 'family'),
        ('aarch64', 'virt-7.0', 'virt-7.2', None),
        ('aarch64', 'virt-7.2', 'virt-7.1', 'lower'),
        ('aarch64', 'virt-7.2', 'virt-2.12', 'lower'),
        ('aarch64', 'virt-2.12', 'virt-7.0', None),
        ('aarch64', 'virt-7.2', 'virt', 'alias'),
        ('aarch64', 'virt-7.2', 'sbsa-ref', 'family'),
        ('ppc64le', 'pseries-6.2', 'pseries-7.2', None),
        ('ppc64le', 'pseries-7.2', 'pseries-6.2', 'lower'),
        ('ppc64le', 'pseries-7.2', 'powernv9', 'family'),
        ('s390x', 's390-ccw-virtio-6.0', 's390-ccw-virtio-7.2', None),
        ('s390x', 's390-ccw-virtio-7.2', 's390-ccw-virtio-7.1', 'lower'),
        ('s390x', 's390-ccw-virtio-7.2', 's390-ccw-virtio', 'alias'),
        ('mipsel', 'malta', 'malta', None),
        ('mipsel', 'malta', 'mipssim', 'family'),
        ('riscv64', 'virt', 'virt', None),
        ('riscv64', 'virt', 'spike', 'family'),
    )

    def test_check_compatible_for_every_arch(self):
        wrong = {}
        for arch, old, new, refused in self.COMPATIBILITY:
            reason = machine_type.check_compatible(old, new,
                                                   _guest_caps(arch))
            ok = (reason is None if refused is None
                  else reason is not None and refused in reason)
            if not ok:
                wrong['%s %s -> %s' % (arch, old, new)] = reason
        self.assertEqual({}, wrong)


class MachineTypeTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        self.fake = self.useFixture(fakelibvirt.FakeLibvirtFixture('x86_64'))
        self.saves = self.useFixture(guests.ManagedSave())
        self.host = vhost.Host()

    def define(self, arch='aarch64', name='web1', **kwargs):
        return guests.define(self.host, arch, name, **kwargs)

    @staticmethod
    def xml(domain):
        return domain.XMLDesc(records.PERSISTENT_XML)

    @staticmethod
    def record(domain):
        return records.metadata.InstanceRecord.from_domain_xml(
            domain.XMLDesc(records.PERSISTENT_XML))

    @staticmethod
    def machine(domain):
        return etree.fromstring(domain.XMLDesc(0).encode()).find(
            'os/type').get('machine')


class TestGetAndList(MachineTypeTestCase):

    def test_spawn_records_the_canonical_name(self):
        dom = self.define()
        self.assertEqual('virt-7.2', self.record(dom).machine_type)
        self.assertEqual('virt-7.2', self.machine(dom))

    def test_get_by_name_or_uuid(self):
        dom = self.define(machine='virt-7.0')
        expected = machine_type.Current('virt-7.0', True)
        self.assertEqual(expected, machine_type.get(self.host, 'web1'))
        self.assertEqual(expected,
                         machine_type.get(self.host, dom.UUIDString()))

    def test_get_falls_back_to_the_domain_xml(self):
        self.define(arch='s390x', recorded=False)
        self.assertEqual(machine_type.Current('s390-ccw-virtio-7.2', False),
                         machine_type.get(self.host, 'web1'))

    def test_get_unknown_instance(self):
        self.assertRaises(exception.InstanceNotFound, machine_type.get,
                          self.host, 'nope')

    def test_a_domain_emuvirt_did_not_create_is_not_an_instance(self):
        guests.define_foreign(self.host, 'other')
        self.assertRaises(records.NotAnInstance, machine_type.get,
                          self.host, 'other')

    def test_list_unset(self):
        self.define(name='a')
        self.define(arch='ppc64le', name='b', recorded=False)
        self.define(arch='mipsel', name='c', recorded=False)
        guests.define_foreign(self.host, 'other')
        self.assertEqual(['b', 'c'], [g.name for g in
                                      machine_type.list_unset(self.host)])

    def test_list_unset_changes_nothing(self):
        dom = self.define(recorded=False)
        before = self.xml(dom)
        machine_type.list_unset(self.host)
        self.assertEqual(before, self.xml(dom))


class TestRecordMissing(MachineTypeTestCase):

    def test_records_the_xml_machine_of_guests_lacking_one(self):
        a = self.define(arch='ppc64le', name='a', recorded=False)
        b = self.define(arch='mipsel', name='b', recorded=False)
        c = self.define(name='c', machine='virt-7.0')
        c_before = self.xml(c)

        done = machine_type.record_missing(self.host)

        self.assertEqual({a.UUIDString(): 'pseries-7.2',
                          b.UUIDString(): 'malta'}, done)
        self.assertEqual('pseries-7.2', self.record(a).machine_type)
        self.assertEqual('malta', self.record(b).machine_type)
        self.assertEqual(c_before, self.xml(c))
        self.assertEqual([], machine_type.list_unset(self.host))
        self.assertEqual({}, machine_type.record_missing(self.host))

    def test_only_the_record_changes(self):
        dom = self.define(recorded=False)
        expected = guests.rewrite(self.xml(dom), machine='virt-7.2')
        machine_type.record_missing(self.host)
        self.assertEqual(_canonical(expected), _canonical(self.xml(dom)))

    def test_running_guests_too(self):
        dom = self.define(recorded=False)
        dom.create()
        machine_type.record_missing(self.host)
        self.assertEqual('virt-7.2', self.record(dom).machine_type)
        self.assertTrue(dom.isActive())

    def test_a_guest_libvirt_refuses_is_skipped(self):
        self.define(name='a', recorded=False)
        b = self.define(arch='s390x', name='b', recorded=False)
        real = self.host.define_domain

        def define_domain(xml):
            if '<name>a</name>' in xml:
                raise fakelibvirt.make_error(libvirt.VIR_ERR_INTERNAL_ERROR,
                                             'boom')
            return real(xml)

        log = self.useFixture(fixtures.FakeLogger())
        with mock.patch.object(self.host, 'define_domain', define_domain):
            done = machine_type.record_missing(self.host)
        self.assertIn('Could not record machine type virt-7.2 for instance '
                      'a: boom', log.output)
        self.assertEqual({b.UUIDString(): 's390-ccw-virtio-7.2'}, done)
        self.assertEqual(['a'], [g.name for g in
                                 machine_type.list_unset(self.host)])


class TestUpdate(MachineTypeTestCase):

    def assertRefused(self, exc, instance, new_type, force=False,
                      domain=None):
        """The update raises ``exc`` and the guest is byte-identical."""
        domain = domain or self.host.lookup_domain(instance)
        before = (self.xml(domain), domain.XMLDesc(0), domain.state())
        error = self.assertRaises(exc, machine_type.update, self.host,
                                  instance, new_type, force=force)
        self.assertEqual(before, (self.xml(domain), domain.XMLDesc(0),
                                  domain.state()))
        return error

    def test_update_to_a_higher_version(self):
        dom = self.define(machine='virt-7.0')
        before = self.xml(dom)
        self.assertEqual(('virt-7.2', 'virt-7.0'),
                         machine_type.update(self.host, 'web1', 'virt-7.2'))
        self.assertEqual('virt-7.2', self.machine(dom))
        self.assertEqual('virt-7.2', self.record(dom).machine_type)
        # Nothing but the machine and the record changed.
        self.assertEqual(_canonical(guests.rewrite(before, 'virt-7.2')),
                         _canonical(self.xml(dom)))

    def test_every_family_nova_knows_and_those_it_does_not(self):
        cases = (('aarch64', 'virt-6.2', 'virt-7.2'),
                 ('ppc64le', 'pseries-6.2', 'pseries-7.2'),
                 ('s390x', 's390-ccw-virtio-6.0', 's390-ccw-virtio-7.2'),
                 ('x86_64', 'pc-q35-6.2', 'pc-q35-7.2'))
        for arch, old, new in cases:
            dom = self.define(arch=arch, name=arch, machine=old)
            self.assertEqual((new, old),
                             machine_type.update(self.host, arch, new))
            self.assertEqual(new, self.machine(dom))
            self.assertEqual(new, self.record(dom).machine_type)

    def test_by_uuid(self):
        dom = self.define(machine='virt-7.0')
        machine_type.update(self.host, dom.UUIDString(), 'virt-7.1')
        self.assertEqual('virt-7.1', self.machine(dom))

    def test_same_machine_is_a_success_that_changes_nothing(self):
        dom = self.define()
        dom.create()
        before = self.xml(dom)
        self.assertEqual(('virt-7.2', 'virt-7.2'),
                         machine_type.update(self.host, 'web1', 'virt-7.2'))
        self.assertEqual(before, self.xml(dom))

    def test_recording_the_xml_machine_is_allowed_while_running(self):
        dom = self.define(recorded=False)
        dom.create()
        self.assertEqual(('virt-7.2', 'virt-7.2'),
                         machine_type.update(self.host, 'web1', 'virt-7.2'))
        self.assertEqual('virt-7.2', self.record(dom).machine_type)

    def test_an_unrecorded_guest_is_checked_against_its_xml(self):
        self.define(machine='virt-7.1', recorded=False)
        self.assertRefused(machine_type.MachineTypeUpdateInvalid, 'web1',
                           'virt-7.0')
        self.assertEqual(('virt-7.2', 'virt-7.1'),
                         machine_type.update(self.host, 'web1', 'virt-7.2'))

    def test_image_property_follows(self):
        dom = self.define(props={'hw_machine_type': 'virt'},
                          machine='virt-7.0')
        machine_type.update(self.host, 'web1', 'virt-7.2')
        self.assertEqual('virt-7.2',
                         self.record(dom).properties['hw_machine_type'])

    # -- refusals -----------------------------------------------------------

    def test_refused_while_running(self):
        dom = self.define(machine='virt-7.0')
        dom.create()
        error = self.assertRefused(exception.InstanceInvalidState, 'web1',
                                   'virt-7.2')
        self.assertIn('running', str(error))

    def test_refused_while_paused(self):
        dom = self.define(machine='virt-7.0')
        dom.create()
        dom.suspend()
        self.assertRefused(exception.InstanceInvalidState, 'web1',
                           'virt-7.2')

    def test_refused_with_a_managed_save_image(self):
        self.define(machine='virt-7.0')
        self.saves.saved.add('web1')
        error = self.assertRefused(exception.InstanceInvalidState, 'web1',
                                   'virt-7.2')
        self.assertIn('managed save', str(error))

    def test_force_does_not_skip_the_stopped_check(self):
        dom = self.define(machine='virt-7.0')
        dom.create()
        self.assertRefused(exception.InstanceInvalidState, 'web1',
                           'virt-7.2', force=True)

    def test_refused_lower_version(self):
        self.define()
        error = self.assertRefused(machine_type.MachineTypeUpdateInvalid,
                                   'web1', 'virt-7.1')
        self.assertIn('lower version', str(error))

    def test_refused_change_of_family(self):
        self.define(arch='x86_64')
        error = self.assertRefused(machine_type.MachineTypeUpdateInvalid,
                                   'web1', 'pc-i440fx-7.2')
        self.assertIn('family (q35 to pc)', str(error))

    def test_refused_versioned_to_alias(self):
        self.define(arch='ppc64le')
        error = self.assertRefused(machine_type.MachineTypeUpdateInvalid,
                                   'web1', 'pseries')
        self.assertIn('alias', str(error))

    def test_refused_alias_to_versioned(self):
        # A record written by hand (or by another tool) with the alias.
        self.define(arch='s390x', machine='s390-ccw-virtio')
        self.assertRefused(machine_type.MachineTypeUpdateInvalid, 'web1',
                           's390-ccw-virtio-7.2')

    def test_refused_machine_the_emulator_does_not_offer(self):
        self.define()
        error = self.assertRefused(machine_type.MachineTypeUnsupported,
                                   'web1', 'virt-9.0')
        self.assertIn('virt-7.0, virt-7.1, virt-7.2', str(error))

    def test_refused_machine_of_another_arch(self):
        self.define()
        self.assertRefused(machine_type.MachineTypeUnsupported, 'web1',
                           'pseries-7.2', force=True)

    def test_refused_when_the_arch_has_no_emulator_any_more(self):
        self.define(machine='virt-7.0')
        self.fake.remove_arch('aarch64')
        self.host = vhost.Host()  # a new command: fresh capabilities
        error = self.assertRefused(machine_type.MachineTypeUnsupported,
                                   'web1', 'virt-7.2', force=True)
        self.assertIn('no emulator for aarch64', str(error))

    def test_unknown_instance(self):
        self.assertRaises(exception.InstanceNotFound, machine_type.update,
                          self.host, 'nope', 'virt-7.2')

    def test_refused_when_libvirt_refuses_the_definition(self):
        dom = self.define(machine='virt-7.0')
        error = fakelibvirt.make_error(
            libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
            'unsupported configuration: nope')
        with mock.patch.object(self.host, 'define_domain',
                               side_effect=error):
            error = self.assertRefused(machine_type.MachineTypeUpdateInvalid,
                                       'web1', 'virt-7.2', domain=dom)
        self.assertIn('libvirt refused', str(error))

    # -- --force ------------------------------------------------------------

    def test_force_allows_a_lower_version(self):
        dom = self.define()
        self.assertEqual(('virt-7.0', 'virt-7.2'), machine_type.update(
            self.host, 'web1', 'virt-7.0', force=True))
        self.assertEqual('virt-7.0', self.machine(dom))

    def test_force_allows_a_change_of_family(self):
        dom = self.define(arch='x86_64')
        machine_type.update(self.host, 'web1', 'pc-i440fx-7.2', force=True)
        self.assertEqual('pc-i440fx-7.2', self.record(dom).machine_type)

    def test_force_with_an_alias_records_its_canonical_name(self):
        dom = self.define(machine='virt-7.0')
        self.assertEqual(('virt-7.2', 'virt-7.0'), machine_type.update(
            self.host, 'web1', 'virt', force=True))
        self.assertEqual('virt-7.2', self.machine(dom))
        self.assertEqual('virt-7.2', self.record(dom).machine_type)

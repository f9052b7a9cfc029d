"""Tests of capabilities and domain capabilities parsing."""

import dataclasses
import glob
import os
import threading

import testtools

from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.virt.libvirt import caps

HOSTS = fakelibvirt.HOSTS_DIR


def _read(*parts):
    with open(os.path.join(HOSTS, *parts), 'rb') as f:
        return f.read()


def _caps(host):
    return caps.parse_capabilities(_read(host, 'capabilities.xml'))


def _domcaps(host, name):
    return caps.parse_domain_capabilities(_read(host, 'domcaps', name))


class TestCanonicalArch(testtools.TestCase):

    def test_aliases(self):
        for alias, name in (('amd64', 'x86_64'), ('arm64', 'aarch64'),
                            ('ppc64el', 'ppc64le'), ('i386', 'i686'),
                            ('I586', 'i686'), ('X86_64', 'x86_64')):
            self.assertEqual(name, caps.canonical_arch(alias))

    def test_arch_without_canonical_name_is_kept(self):
        # libvirt reports these; they must not break parsing.
        self.assertEqual('armv6l', caps.canonical_arch('armv6l'))
        self.assertEqual('riscv32', caps.canonical_arch('riscv32'))

    def test_none(self):
        self.assertIsNone(caps.canonical_arch(None))


class TestCapabilitiesEveryHost(testtools.TestCase):
    """Every host data set parses into what the README says it holds."""

    EXPECTED = {
        # host: (model, vendor, kvm guest arches)
        'x86_64': ('kvm64', 'AMD', {'x86_64', 'i686'}),
        'aarch64': ('Neoverse-N1', 'ARM', {'aarch64'}),
        's390x': (None, None, {'s390x'}),
        'ppc64le': ('POWER9', 'IBM', {'ppc64le'}),
    }

    def test_hosts_present(self):
        self.assertEqual(sorted(self.EXPECTED), fakelibvirt.host_arches())

    def test_host_cpu_and_kvm_guests(self):
        for host, (model, vendor, kvm) in self.EXPECTED.items():
            c = _caps(host)
            self.assertEqual(host, c.host_cpu.arch, host)
            self.assertEqual(model, c.host_cpu.model, host)
            self.assertEqual(vendor, c.host_cpu.vendor, host)
            self.assertIsNotNone(c.host_uuid)
            with_kvm = {g.arch for g in c.guests
                        if g.supports_domain_type('kvm')}
            self.assertEqual(kvm, with_kvm, host)
            for guest in c.guests:
                self.assertTrue(guest.supports_domain_type('qemu'))

    def test_guest_arches_and_emulators(self):
        wanted = {'x86_64', 'i686', 'aarch64', 'armv7l', 's390x',
                  'ppc64le', 'ppc64', 'mipsel', 'mips64el', 'riscv64'}
        for host in self.EXPECTED:
            c = _caps(host)
            self.assertTrue(wanted <= set(c.guest_arches()), host)
            self.assertEqual('/usr/bin/qemu-system-aarch64',
                             c.guest('aarch64').emulator)
            self.assertEqual('/usr/bin/qemu-system-i386',
                             c.guest('i686').emulator)
            self.assertEqual(64, c.guest('s390x').wordsize)
            self.assertEqual(32, c.guest('mipsel').wordsize)

    def test_x86_64_host_features(self):
        cpu = _caps('x86_64').host_cpu
        self.assertTrue(cpu.has_feature('avx2'))
        self.assertFalse(cpu.has_feature('pauth'))
        self.assertEqual(0, len(_caps('s390x').host_cpu.features))

    def test_unparsed_arch_names_kept(self):
        self.assertIn('armv6l', _caps('x86_64').guest_arches())


class TestOneGuestArch(testtools.TestCase):

    @staticmethod
    def _forms(xml):
        """The document as text, bytes, tree and odd text.

        The odd text has blanks in its tags, which the cutting of the
        text into sections must not trust.
        """
        text = xml.decode()
        odd = text.replace('<guest>', '<guest >').replace(
            '<host>', '<host >')
        return {'text': text, 'bytes': xml, 'tree': caps._parse(xml),
                'odd text': odd}

    def test_same_as_the_whole_document_on_every_host(self):
        for path in glob.glob(os.path.join(HOSTS, '*', 'capabilities.xml')):
            with open(path, 'rb') as f:
                xml = f.read()
            whole = caps.parse_capabilities(xml)
            for form, doc in self._forms(xml).items():
                where = '%s (%s)' % (path, form)
                self.assertEqual(whole.host_cpu, caps.parse_host_cpu(doc),
                                 where)
                self.assertEqual(whole.host_cpu.arch,
                                 caps.parse_host_arch(doc), where)
                for guest in whole.guests:
                    self.assertEqual(
                        whole.guest(guest.arch, guest.os_type),
                        caps.parse_guest_caps(doc, guest.arch,
                                              guest.os_type),
                        '%s %s' % (where, guest.arch))
                self.assertIsNone(caps.parse_guest_caps(doc, 'sparc64'))
                self.assertIsNone(caps.parse_guest_caps(
                    doc, whole.guests[0].arch, os_type='xen'))

    def test_first_guest_of_the_arch_and_os_type(self):
        # The text is cut only as far as the guest sought; one whose head
        # is not laid out as expected before it (or holds an entity to
        # decode) sends the whole document to the parser, which finds the
        # same guest.
        xml = _read('x86_64', 'capabilities.xml').decode()
        whole = caps.parse_capabilities(xml).guest('aarch64')
        doubled = xml.replace('<guest>', '<guest>\n<os_type>xen</os_type>'
                              '<arch name="aarch64"><wordsize>1</wordsize>'
                              '</arch></guest><guest>', 1)
        entity = xml.replace("<arch name='aarch64'>",
                             "<arch name='aarch&#54;4'>")
        self.assertNotEqual(xml, entity)
        odd_before = xml.replace('<guest>', '<guest >', 1)
        for doc in (doubled, entity, odd_before):
            self.assertEqual(whole, caps.parse_guest_caps(doc, 'aarch64'))
        self.assertEqual(1, caps.parse_guest_caps(doubled, 'aarch64',
                                                  'xen').wordsize)

    def test_alias(self):
        xml = _read('x86_64', 'capabilities.xml')
        self.assertEqual('aarch64',
                         caps.parse_guest_caps(xml, 'arm64').arch)

    def test_machine_offered(self):
        xml = _read('x86_64', 'capabilities.xml')
        whole = caps.parse_capabilities(xml)
        names = {m.name for g in whole.guests for m in g.machines}
        for form, doc in self._forms(xml).items():
            for name in ('virt', 'virt-7.2', 'pc', 's390-ccw-virtio'):
                self.assertIn(name, names)
                self.assertTrue(caps.machine_offered(doc, name), name)
            for name in ('virt-99.0', '', 'VIRT', 'virt-7', 'x86_64'):
                self.assertFalse(caps.machine_offered(doc, name),
                                 '%s %s' % (form, name))


class TestDeferredFields(testtools.TestCase):
    """Parsed objects read their parts on first use, with the same values."""

    def test_machines_read_on_first_use(self):
        xml = _read('x86_64', 'capabilities.xml')
        whole = caps.parse_capabilities(xml)
        for arch in whole.guest_arches():
            guest = caps.parse_guest_caps(xml, arch)
            self.assertNotIn('machines', vars(guest), arch)
            eager = whole.guest(arch).machines
            for machine in eager + (caps.Machine('nonesuch'),):
                self.assertEqual(
                    whole.guest(arch).get_machine(machine.name),
                    guest.get_machine(machine.name), machine)
            # Looking machines up one by one read none of the others.
            self.assertNotIn('machines', vars(guest), arch)
            self.assertEqual(eager, guest.machines)
            self.assertIn('machines', vars(guest))
            self.assertEqual(dataclasses.replace(guest), guest)

    def test_constructed_objects_hold_every_field(self):
        guest = caps.GuestCaps('hvm', 'aarch64', 64, '/usr/bin/qemu',
                               machines=(caps.Machine('virt'),))
        self.assertEqual('virt', guest.resolve_machine('virt'))
        self.assertEqual((), caps.GuestCaps('hvm', 'aarch64', 64,
                                            None).machines)
        domcaps = caps.DomainCapabilities(None, 'qemu', 'virt', 'aarch64')
        self.assertEqual((), domcaps.cpu_models)
        self.assertEqual({}, domcaps.features)
        self.assertFalse(domcaps.cpu_model_offered('max'))
        self.assertRaises(AttributeError, getattr, domcaps, 'nonesuch')

    def test_domain_capabilities_groups(self):
        for path in glob.glob(os.path.join(HOSTS, '*', 'domcaps', '*.xml')):
            with open(path, 'rb') as f:
                xml = f.read()
            lazy = caps.parse_domain_capabilities(xml)
            fields = [f.name for f in dataclasses.fields(lazy)]
            unread = [n for n in fields if n not in vars(lazy)]
            self.assertIn('cpu_models', unread)
            self.assertIn('features', unread)
            # One name at a time, as a plan asks, the list stays unread.
            for model in caps.parse_domain_capabilities(xml).cpu_models:
                self.assertEqual(
                    lazy.cpu_custom and model.usable != 'no',
                    lazy.cpu_model_offered(model.name), path)
            self.assertFalse(lazy.cpu_model_offered('nonesuch'))
            self.assertNotIn('cpu_models', vars(lazy))
            self.assertTrue(lazy.supports_disk_bus('virtio'), path)
            self.assertNotIn('features', vars(lazy))
            # Everything read: the same object as an eager build.
            eager = caps.DomainCapabilities(
                **{n: getattr(caps.parse_domain_capabilities(xml), n)
                   for n in fields})
            self.assertEqual(eager, lazy, path)
            self.assertTrue(all(n in vars(lazy) for n in fields))
            self.assertNotIn('_pending', vars(lazy))

    def test_settle_reads_everything_and_drops_the_document(self):
        xml = _read('x86_64', 'domcaps', 'aarch64-virt-7.2-qemu.xml')
        lazy = caps.parse_domain_capabilities(xml)
        self.assertIn('_pending', vars(lazy))
        self.assertIs(lazy, lazy.settle())
        self.assertNotIn('_pending', vars(lazy))
        self.assertEqual(caps.parse_domain_capabilities(xml), lazy)
        guest = caps.parse_guest_caps(_read('x86_64', 'capabilities.xml'),
                                      'aarch64').settle()
        self.assertNotIn('_pending', vars(guest))
        self.assertIn('machines', vars(guest))
        constructed = caps.GuestCaps('hvm', 'aarch64', 64, None)
        self.assertEqual((), constructed.settle().machines)

    def test_threads_read_one_group_alike(self):
        xml = _read('x86_64', 'domcaps', 'aarch64-virt-7.2-qemu.xml')
        for _ in range(20):
            lazy = caps.parse_domain_capabilities(xml)
            seen = []
            threads = [threading.Thread(
                target=lambda: seen.append(lazy.cpu_models))
                for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.assertEqual(4, len(seen))
            self.assertEqual(1, len(set(seen)))


class TestGuestCaps(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.caps = _caps('x86_64')

    def test_guest_lookup_by_alias(self):
        self.assertEqual('aarch64', self.caps.guest('arm64').arch)
        self.assertEqual('ppc64le', self.caps.guest('ppc64el').arch)
        self.assertEqual('x86_64', self.caps.guest('AMD64').arch)

    def test_guest_absent(self):
        self.assertIsNone(self.caps.guest('sparc64'))
        self.assertIsNone(self.caps.guest('x86_64', os_type='xen'))

    def test_resolve_aliases(self):
        cases = (('aarch64', 'virt', 'virt-7.2'),
                 ('armv7l', 'virt', 'virt-7.2'),
                 ('x86_64', 'pc', 'pc-i440fx-7.2'),
                 ('x86_64', 'q35', 'pc-q35-7.2'),
                 ('i686', 'pc', 'pc-i440fx-7.2'),
                 ('ppc64le', 'pseries', 'pseries-7.2'),
                 ('ppc64le', 'powernv', 'powernv9'),
                 ('s390x', 's390-ccw-virtio', 's390-ccw-virtio-7.2'))
        for arch, alias, canonical in cases:
            self.assertEqual(canonical,
                             self.caps.guest(arch).resolve_machine(alias),
                             (arch, alias))

    def test_resolve_canonical_and_unversioned(self):
        aarch64 = self.caps.guest('aarch64')
        self.assertEqual('virt-6.2', aarch64.resolve_machine('virt-6.2'))
        self.assertEqual('malta',
                         self.caps.guest('mipsel').resolve_machine('malta'))
        # riscv64's virt has no versioned name and no alias.
        self.assertEqual('virt',
                         self.caps.guest('riscv64').resolve_machine('virt'))

    def test_resolve_not_offered(self):
        self.assertIsNone(self.caps.guest('aarch64').resolve_machine('q35'))
        self.assertIsNone(self.caps.guest('mipsel').resolve_machine('virt'))
        self.assertIsNone(
            self.caps.guest('s390x').resolve_machine('s390-ccw-virtio-9.9'))

    def test_machine_names_include_aliases(self):
        names = self.caps.guest('x86_64').machine_names()
        for name in ('pc', 'q35', 'pc-q35-7.2', 'pc-i440fx-7.2', 'microvm'):
            self.assertIn(name, names)
        self.assertEqual({'pc': 'pc-i440fx-7.2', 'q35': 'pc-q35-7.2'},
                         self.caps.guest('x86_64').aliases())

    def test_machine_attributes(self):
        x86 = self.caps.guest('x86_64')
        q35 = x86.get_machine('q35')
        self.assertTrue(q35.is_alias)
        self.assertEqual(288, q35.maxcpus)
        self.assertTrue(x86.get_machine('pc-i440fx-1.4').deprecated)
        self.assertFalse(x86.get_machine('pc-q35-7.2').deprecated)
        self.assertIsNone(x86.get_machine('nonesuch'))

    def test_domain_types(self):
        self.assertEqual({'qemu': None, 'kvm': None},
                         self.caps.guest('x86_64').domain_types)
        aarch64 = self.caps.guest('aarch64')
        self.assertFalse(aarch64.supports_domain_type('kvm'))
        self.assertEqual('/usr/bin/qemu-system-aarch64',
                         aarch64.emulator_for('qemu'))

    def test_domain_specific_emulator(self):
        xml = """<capabilities><host><cpu><arch>x86_64</arch></cpu></host>
          <guest><os_type>hvm</os_type>
            <arch name='x86_64'><wordsize>64</wordsize>
              <emulator>/usr/bin/qemu-system-x86_64</emulator>
              <machine>pc</machine>
              <domain type='qemu'/>
              <domain type='kvm'><emulator>/usr/bin/qemu-kvm</emulator>
              </domain>
            </arch></guest></capabilities>"""
        guest = caps.Capabilities.from_xml(xml).guest('x86_64')
        self.assertEqual('/usr/bin/qemu-kvm', guest.emulator_for('kvm'))
        self.assertEqual('/usr/bin/qemu-system-x86_64',
                         guest.emulator_for('qemu'))
        self.assertEqual('pc', guest.resolve_machine('pc'))

    def test_minimal_document(self):
        c = caps.parse_capabilities('<capabilities/>')
        self.assertIsNone(c.host_uuid)
        self.assertIsNone(c.host_cpu.arch)
        self.assertEqual([], c.guest_arches())


class TestDomainCapabilities(testtools.TestCase):

    def test_every_file_parses_and_matches_its_name(self):
        for path in glob.glob(os.path.join(HOSTS, '*', 'domcaps', '*.xml')):
            with open(path, 'rb') as f:
                d = caps.DomainCapabilities.from_xml(f.read())
            name = os.path.basename(path)
            self.assertEqual(
                '%s-%s-%s.xml' % (d.arch, d.machine, d.domain_type), name)
            self.assertTrue(d.path.startswith('/usr/bin/qemu-system-'))
            self.assertGreater(d.max_vcpus, 0)
            self.assertTrue(d.supports_disk_bus('virtio'), path)

    def test_aarch64_tcg(self):
        d = _domcaps('x86_64', 'aarch64-virt-7.2-qemu.xml')
        self.assertEqual('/usr/bin/qemu-system-aarch64', d.path)
        self.assertEqual('qemu', d.domain_type)
        self.assertEqual('virt-7.2', d.machine)
        self.assertEqual(512, d.max_vcpus)
        self.assertEqual(('efi',), d.firmware)
        self.assertTrue(d.supports_firmware('efi'))
        self.assertTrue(d.loader_supported)
        self.assertEqual(('/usr/share/AAVMF/AAVMF_CODE.ms.fd',
                          '/usr/share/AAVMF/AAVMF_CODE.fd'), d.loader_values)
        self.assertEqual(('rom', 'pflash'), d.loader_types)
        self.assertEqual(('no',), d.loader_secure)
        self.assertFalse(d.cpu_host_passthrough)
        self.assertFalse(d.cpu_host_model)
        self.assertIsNone(d.cpu_host_model_name)
        self.assertTrue(d.cpu_maximum)
        self.assertTrue(d.supports_cpu_mode('maximum'))
        self.assertFalse(d.supports_cpu_mode('host-passthrough'))
        self.assertFalse(d.supports_cpu_mode('bogus'))
        self.assertTrue(d.cpu_model_offered('cortex-a57'))
        self.assertTrue(d.cpu_model_offered('max'))
        self.assertFalse(d.cpu_model_offered('POWER9'))
        self.assertIn(caps.CPUModel('neoverse-n1', 'unknown'), d.cpu_models)
        self.assertEqual(('2', '3'), d.gic_versions)
        self.assertTrue(d.supports_video('virtio'))
        self.assertTrue(d.supports_video('ramfb'))
        self.assertFalse(d.supports_video('qxl'))
        self.assertTrue(d.supports_graphics('vnc'))
        self.assertTrue(d.supports_graphics('spice'))
        self.assertFalse(d.supports_disk_bus('ide'))
        self.assertTrue(d.supports_disk_bus('scsi'))
        self.assertTrue(d.supports_disk_device('cdrom'))
        self.assertTrue(d.supports_feature('vmcoreinfo'))
        self.assertFalse(d.supports_feature('sev'))
        self.assertFalse(d.supports_feature('nonesuch'))

    def test_s390x_offers_virtio_video_only(self):
        d = _domcaps('x86_64', 's390x-s390-ccw-virtio-7.2-qemu.xml')
        self.assertEqual(('virtio', 'none'), d.video_models)
        self.assertFalse(d.supports_video('vga'))
        self.assertEqual(('fdc', 'scsi', 'virtio'), d.disk_buses)
        self.assertEqual((), d.firmware)
        self.assertEqual((), d.gic_versions)
        # usable='no' models are listed but not offered by default.
        self.assertTrue(d.cpu_model_offered('z800-base'))
        self.assertFalse(d.cpu_model_offered('gen16a'))
        self.assertTrue(d.cpu_model_offered('gen16a', include_unusable=True))

    def test_ppc64le_custom_models_only(self):
        d = _domcaps('x86_64', 'ppc64le-pseries-7.2-qemu.xml')
        self.assertFalse(d.cpu_maximum)
        self.assertFalse(d.cpu_host_model)
        self.assertTrue(d.cpu_custom)
        self.assertTrue(d.cpu_model_offered('POWER9'))
        self.assertNotIn('ide', d.disk_buses)

    def test_mipsel_and_riscv64_no_cpu_modes(self):
        for name in ('mipsel-malta-qemu.xml', 'riscv64-virt-qemu.xml'):
            d = _domcaps('x86_64', name)
            self.assertFalse(d.cpu_custom, name)
            self.assertFalse(d.cpu_maximum, name)
            self.assertEqual((), d.cpu_models, name)
            self.assertFalse(d.cpu_model_offered('max'), name)
        self.assertEqual('malta', _domcaps('x86_64',
                                           'mipsel-malta-qemu.xml').machine)

    def test_x86_64_kvm(self):
        d = _domcaps('x86_64', 'x86_64-pc-q35-7.2-kvm.xml')
        self.assertEqual('kvm', d.domain_type)
        self.assertTrue(d.cpu_host_passthrough)
        self.assertTrue(d.cpu_host_model)
        self.assertEqual('kvm64', d.cpu_host_model_name)
        self.assertEqual(('yes', 'no'), d.loader_secure)
        self.assertTrue(d.supports_video('qxl'))
        self.assertTrue(d.supports_feature('hyperv'))

    def test_native_kvm_on_each_host(self):
        for host, machine, model in (
                ('s390x', 's390x-s390-ccw-virtio-7.2', 'gen15a-base'),
                ('ppc64le', 'ppc64le-pseries-7.2', 'POWER9')):
            d = _domcaps(host, machine + '-kvm.xml')
            self.assertTrue(d.cpu_host_passthrough, host)
            self.assertTrue(d.cpu_host_model, host)
            self.assertEqual(model, d.cpu_host_model_name, host)
        # libvirt offers no host-model for aarch64 KVM, only passthrough.
        d = _domcaps('aarch64', 'aarch64-virt-7.2-kvm.xml')
        self.assertTrue(d.cpu_host_passthrough)
        self.assertFalse(d.cpu_host_model)
        self.assertEqual(
            ('3',), _domcaps('aarch64', 'aarch64-virt-7.2-kvm.xml')
            .gic_versions)

    def test_foreign_x86_has_no_host_model(self):
        for host in ('aarch64', 's390x', 'ppc64le'):
            d = _domcaps(host, 'x86_64-pc-q35-7.2-qemu.xml')
            self.assertFalse(d.cpu_host_model, host)
            self.assertFalse(d.cpu_host_passthrough, host)
            self.assertTrue(d.cpu_maximum, host)

    def test_input_enums(self):
        xml = """<domainCapabilities><domain>qemu</domain><arch>arm64</arch>
          <devices><input supported='yes'>
            <enum name='type'><value>tablet</value><value>keyboard</value>
            </enum><enum name='bus'><value>usb</value><value>virtio</value>
            </enum></input>
            <video supported='no'><enum name='modelType'><value>vga</value>
            </enum></video></devices></domainCapabilities>"""
        d = caps.parse_domain_capabilities(xml)
        self.assertEqual('aarch64', d.arch)
        self.assertEqual(('tablet', 'keyboard'), d.input_types)
        self.assertEqual(('usb', 'virtio'), d.input_buses)
        # An unsupported device offers nothing, whatever its enums say.
        self.assertFalse(d.supports_video('vga'))
        self.assertIsNone(d.max_vcpus)
        self.assertEqual((), d.loader_values)
        self.assertFalse(d.loader_supported)

    def test_rng_and_channels_on_every_file(self):
        for path in glob.glob(os.path.join(HOSTS, '*', 'domcaps', '*.xml')):
            with open(path, 'rb') as f:
                d = caps.DomainCapabilities.from_xml(f.read())
            self.assertEqual(('virtio', 'virtio-transitional',
                              'virtio-non-transitional'), d.rng_models, path)
            self.assertEqual(('random', 'egd', 'builtin'), d.rng_backends)
            self.assertTrue(d.supports_rng('virtio'), path)
            self.assertFalse(d.supports_rng('virtio', 'nonsense'))
            self.assertTrue(d.supports_channel('unix'), path)
            self.assertFalse(d.supports_channel('nonsense'))

    def test_unsupported_rng_and_channel(self):
        xml = """<domainCapabilities><domain>qemu</domain><arch>s390x</arch>
          <devices><rng supported='no'><enum name='model'>
            <value>virtio</value></enum></rng>
            <channel supported='no'><enum name='type'><value>unix</value>
            </enum></channel></devices></domainCapabilities>"""
        d = caps.parse_domain_capabilities(xml)
        self.assertFalse(d.supports_rng('virtio'))
        self.assertFalse(d.supports_channel('unix'))

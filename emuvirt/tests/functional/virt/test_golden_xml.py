"""Golden domain XML: one file per (host arch, guest) case.

Each case builds the XML a spawn would define, through the real driver
code against the fake libvirt data of its host, and compares it with
``emuvirt/tests/data/golden/<case>.xml``; a change in output shows up as a
readable diff. Every golden file is also validated against libvirt's own
domain RNG schema. ``EMUVIRT_REGENERATE_GOLDEN=1`` rewrites the files.
"""

import difflib
import os

from lxml import etree

from emuvirt.tests.functional import golden
from emuvirt.tests.functional import test_base

SCHEMA = os.environ.get('EMUVIRT_LIBVIRT_SCHEMA',
                        '/usr/share/libvirt/schemas/domain.rng')


class TestGoldenXML(test_base.FunctionalTestCase):

    def _check(self, case):
        xml = golden.render(self, case)
        path = golden.path(case)
        if os.environ.get('EMUVIRT_REGENERATE_GOLDEN'):
            with open(path, 'w') as f:
                f.write(xml)
        with open(path) as f:
            expected = f.read()
        if xml != expected:
            diff = ''.join(difflib.unified_diff(
                expected.splitlines(True), xml.splitlines(True),
                'golden/%s.xml' % case.name, 'generated'))
            self.fail('domain XML for %s changed:\n%s' % (case.name, diff))

    def test_golden_files_match_libvirt_schema(self):
        if not os.path.exists(SCHEMA):
            self.require('libvirt domain schema %s' % SCHEMA)
        schema = etree.RelaxNG(etree.parse(SCHEMA))
        invalid = {}
        for case in golden.CASES:
            if not schema.validate(etree.parse(golden.path(case))):
                invalid[case.name] = str(schema.error_log)
        self.assertEqual({}, invalid)

    def test_a_guest_reads_only_what_its_decisions_use(self):
        # The first guest of a process (the guest-xml command) pays for
        # the parts of the host's documents it reads: its arch's machines
        # are looked up by name, and the domain capabilities' firmware
        # list, CPU model list, input devices and features stay unread.
        case = golden.CASES[0]
        self.assertEqual(('x86_64', {'hw_emulation_architecture':
                                     'aarch64'}), (case.host, case.props))
        golden.render(self, case)
        host = self.driver.host
        guest = host.get_guest_caps('aarch64')
        domcaps = host.get_domain_capabilities('aarch64', 'virt', 'qemu')
        unread = {name for name in ('machines', 'firmware', 'cpu_models',
                                    'input_types', 'features')
                  if name not in vars(guest) and name not in vars(domcaps)}
        self.assertEqual({'machines', 'firmware', 'cpu_models',
                          'input_types', 'features'}, unread)
        self.assertEqual(host.get_capabilities().guest('aarch64').machines,
                         guest.machines)

    def test_every_golden_file_is_a_case(self):
        names = {c.name + '.xml' for c in golden.CASES}
        self.assertEqual(names, set(os.listdir(golden.GOLDEN_DIR)))


def _add_case_test(case):
    def test(self):
        self._check(case)
    test.__doc__ = 'golden XML: %s' % case.name
    setattr(TestGoldenXML, 'test_%s' % case.name.replace('-', '_'), test)


for _case in golden.CASES:
    _add_case_test(_case)

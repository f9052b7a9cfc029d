"""Tests of the Flavor object and --flavor parsing."""

import testtools

from emuvirt import exception
from emuvirt.objects import flavor


class TestFlavor(testtools.TestCase):

    def test_defaults(self):
        f = flavor.Flavor()
        self.assertEqual((1, 512, 1, 0, 0, {}),
                         (f.vcpus, f.memory_mb, f.root_gb, f.ephemeral_gb,
                          f.swap, f.extra_specs))

    def test_from_string(self):
        f = flavor.Flavor.from_string('vcpus=2,ram=1024,disk=10')
        self.assertEqual(2, f.vcpus)
        self.assertEqual(1024, f.memory_mb)
        self.assertEqual(10, f.root_gb)

    def test_from_string_long_names_extra_specs_and_spaces(self):
        f = flavor.Flavor.from_string(
            ' memory_mb = 2048 , ephemeral=1,swap=64,name=tiny,'
            'hw:cpu_model=cortex-a57,')
        self.assertEqual(2048, f.memory_mb)
        self.assertEqual(1, f.ephemeral_gb)
        self.assertEqual(64, f.swap)
        self.assertEqual('tiny', f.name)
        self.assertEqual({'hw:cpu_model': 'cortex-a57'}, f.extra_specs)

    def test_empty_string_gives_defaults(self):
        self.assertEqual(512, flavor.Flavor.from_string('').memory_mb)
        self.assertEqual(512, flavor.Flavor.from_string(None).memory_mb)

    def _assert_bad(self, spec, key, *fragments):
        exc = self.assertRaises(flavor.InvalidFlavorSpec,
                                flavor.Flavor.from_string, spec)
        self.assertIsInstance(exc, exception.Invalid)
        self.assertIn('--flavor', str(exc))
        self.assertEqual(key, exc.kwargs['key'])
        self.assertIn(key, str(exc))
        for fragment in fragments:
            self.assertIn(fragment, str(exc))

    def test_not_an_integer(self):
        self._assert_bad('vcpus=2,ram=lots', 'ram', 'lots')

    def test_zero_vcpus(self):
        self._assert_bad('vcpus=0', 'vcpus', '0')

    def test_negative_disk(self):
        self._assert_bad('disk=-1', 'disk', '-1')

    def test_unknown_key(self):
        self._assert_bad('cpus=2', 'cpus', 'vcpus')

    def test_missing_value(self):
        self._assert_bad('vcpus', 'vcpus', 'KEY=VALUE')

    def test_given_twice_through_alias(self):
        self._assert_bad('ram=1,memory_mb=2', 'memory_mb', 'twice')

    def _refused(self, spec):
        e = self.assertRaises(flavor.InvalidFlavorSpec,
                              flavor.Flavor.from_string, spec)
        self.assertEqual(1, len(str(e).splitlines()))
        return str(e)

    def test_sane_bounds(self):
        f = flavor.Flavor.from_string('vcpus=4096,ram=16777216,disk=65536')
        self.assertEqual((4096, 16777216, 65536),
                         (f.vcpus, f.memory_mb, f.root_gb))
        for spec, text in (
                ('vcpus=4097', 'key vcpus: 4097 is more than 4096'),
                ('ram=16777217', 'key ram: 16777217 is more than 16777216'),
                ('disk=65537', 'key disk: 65537 is more than 65536'),
                ('swap=1048577', 'key swap: 1048577 is more than'),
                ('vcpus=' + '9' * 30, 'key vcpus: %s is more than 4096'
                 % ('9' * 30)),
                ('vcpus=' + '9' * 50, "'%s'... (50 characters) is more"
                 % ('9' * 40)),
                ('vcpus=-' + '9' * 30, 'is less than 1')):
            self.assertIn(text, self._refused(spec))

    def test_only_plain_decimal_numbers(self):
        for value in ('1_0', '٣', '0x10', '1e3', ' '):
            self.assertIn('is not an integer',
                          self._refused('vcpus=%s,ram=1' % value))

    def test_control_characters_refused(self):
        self.assertIn("key name: 'a\\x1bb': control character",
                      self._refused('name=a\x1bb'))
        self.assertIn("key 'v\\x00': control character",
                      self._refused('v\x00=1'))
        self.assertIn("key hw:x: 'a\\udcff': not valid UTF-8",
                      self._refused('hw:x=a\udcff'))

    def test_long_name_refused(self):
        self.assertIn('longer than 255', self._refused('name=' + 'n' * 256))

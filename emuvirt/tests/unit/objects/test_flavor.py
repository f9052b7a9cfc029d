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

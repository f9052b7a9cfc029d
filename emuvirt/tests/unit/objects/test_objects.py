"""Registry-wide tests: fingerprints and version relationships."""

from oslo_versionedobjects import fixture
import testtools

from emuvirt import objects
from emuvirt.objects import base

# A change to an object's fields or remotable methods changes its hash.
# When this test fails, bump the object's VERSION, note the change in its
# version history and, for a new field, drop it in obj_make_compatible
# for older targets; then update the hash here.
EXPECTED_HASHES = {
    'Flavor': '1.0-53dfcfe1cb2abea411e1cdf57002f6d7',
    'ImageMeta': '1.2-b4e5b215d012ff77893415129b1cfaa1',
    'ImageMetaProps': '1.2-6a40ed0351937bc285066863716e4fda',
    'Instance': '1.2-3234241eff420cbd121236fea2715609',
}

EXPECTED_TREE = {
    'ImageMeta': {'ImageMetaProps': '1.2'},
    'Instance': {'Flavor': '1.0', 'ImageMeta': '1.2'},
}


class TestObjectVersions(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.checker = fixture.ObjectVersionChecker(base.emuvirt_classes())

    def test_versions(self):
        expected, actual = self.checker.test_hashes(EXPECTED_HASHES)
        self.assertEqual(expected, actual,
                         'Some objects changed; bump their version')

    def test_relationships(self):
        expected, actual = self.checker.test_relationships(EXPECTED_TREE)
        self.assertEqual(expected, actual)

    def test_relationships_in_order(self):
        self.checker.test_relationships_in_order()

    def test_compatibility_routines(self):
        self.checker.test_compatibility_routines()

    def test_classes_exposed_on_package(self):
        for name in EXPECTED_HASHES:
            self.assertEqual(name, getattr(objects, name).obj_name())

    def test_namespace(self):
        for classes in base.emuvirt_classes().values():
            self.assertEqual('emuvirt', classes[0].OBJ_PROJECT_NAMESPACE)

    def test_fingerprint_detects_field_change(self):
        # The checker must notice a field added without a version bump.
        cls = objects.Flavor

        class Changed(cls):
            fields = dict(cls.fields, extra=cls.fields['name'])

        checker = fixture.ObjectVersionChecker({'Flavor': [Changed]})
        expected, actual = checker.test_hashes(
            {'Flavor': EXPECTED_HASHES['Flavor']})
        self.assertNotEqual(expected, actual)

"""Tests of the image -> required traits prefilter."""

import testtools

from emuvirt import exception
from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta
from emuvirt.scheduler import request_filter as rf


class TestImageTraits(testtools.TestCase):

    def assertTraits(self, required, props, forbidden=()):
        self.assertEqual((frozenset(required), frozenset(forbidden)),
                         rf.image_traits(props))

    def test_no_arch_properties_no_traits(self):
        self.assertTraits([], {})
        self.assertTraits([], {'hw_disk_bus': 'virtio'})
        self.assertTraits([], None)

    def test_emulation_arch(self):
        self.assertTraits(['COMPUTE_ARCH_S390X'],
                          {'hw_emulation_architecture': 's390x'})
        self.assertTraits(['COMPUTE_ARCH_AARCH64'],
                          {'hw_emulation_architecture': 'arm64'})
        self.assertTraits(['COMPUTE_ARCH_PPC64LE'],
                          {'hw_emulation_architecture': 'PPC64EL'})

    def test_emulation_arch_os_traits_lacks_gets_custom_trait(self):
        self.assertTraits(['CUSTOM_EMUVIRT_ARCH_PPC64'],
                          {'hw_emulation_architecture': 'ppc64'})

    def test_hw_architecture(self):
        self.assertTraits(['HW_ARCH_X86_64'], {'hw_architecture': 'amd64'})
        self.assertTraits(['HW_ARCH_ARMV7'], {'hw_architecture': 'armv7l'})
        self.assertTraits(['HW_ARCH_S390X'], {'architecture': 's390x'})

    def test_both(self):
        self.assertTraits(['COMPUTE_ARCH_AARCH64', 'HW_ARCH_X86_64'],
                          {'hw_emulation_architecture': 'aarch64',
                           'hw_architecture': 'x86_64'})

    def test_hw_architecture_wins_over_legacy_name(self):
        self.assertTraits(['HW_ARCH_AARCH64'],
                          {'hw_architecture': 'aarch64',
                           'architecture': 'x86_64'})

    def test_empty_values_are_unset(self):
        self.assertTraits([], {'hw_emulation_architecture': '',
                               'hw_architecture': ' '})

    def test_unknown_arch_names_the_property(self):
        e = self.assertRaises(exception.InvalidArchitectureName,
                              rf.image_traits,
                              {'hw_emulation_architecture': 'z80'})
        self.assertIn('hw_emulation_architecture', str(e))
        e = self.assertRaises(exception.InvalidArchitectureName,
                              rf.image_traits, {'hw_architecture': 'vax'})
        self.assertIn('hw_architecture', str(e))

    def test_arch_emuvirt_cannot_emulate_is_an_error_not_dropped(self):
        e = self.assertRaises(exception.InvalidImageProperty,
                              rf.image_traits,
                              {'hw_emulation_architecture': 'alpha'})
        self.assertIn('hw_emulation_architecture', str(e))
        self.assertIn('alpha', str(e))

    def test_trait_properties(self):
        self.assertTraits(['CUSTOM_GOLD', 'COMPUTE_ARCH_S390X'],
                          {'hw_emulation_architecture': 's390x',
                           'trait:CUSTOM_GOLD': 'required',
                           'trait:HW_CPU_X86_AVX2': 'Forbidden'},
                          forbidden=['HW_CPU_X86_AVX2'])

    def test_bad_trait_properties(self):
        for props in ({'trait:CUSTOM_GOLD': 'yes'},
                      {'trait:gold': 'required'},
                      {'trait:NOT_A_STANDARD_TRAIT': 'required'}):
            e = self.assertRaises(exception.InvalidImageProperty,
                                  rf.image_traits, props)
            self.assertIn(list(props)[0], str(e))

    def test_image_meta_objects(self):
        props = image_meta.ImageMetaProps.from_dict(
            {'hw_emulation_architecture': 'riscv64'})
        self.assertTraits(['COMPUTE_ARCH_RISCV64'], props)
        image = image_meta.ImageMeta.from_dict(
            {'properties': {'hw_architecture': 'aarch64'}})
        self.assertTraits(['HW_ARCH_AARCH64'], image)


class TestBuildRequest(testtools.TestCase):

    def test_resources_from_flavor(self):
        flavor = flavor_obj.Flavor.from_string(
            'vcpus=2,ram=1024,disk=10,ephemeral=5,swap=1025')
        self.assertEqual({'VCPU': 2, 'MEMORY_MB': 1024, 'DISK_GB': 17},
                         rf.resources_from_flavor(flavor))

    def test_zero_disk_left_out(self):
        flavor = flavor_obj.Flavor.from_string('disk=0')
        self.assertEqual({'VCPU': 1, 'MEMORY_MB': 512},
                         rf.resources_from_flavor(flavor))

    def test_build_request_with_flavor_extra_specs(self):
        flavor = flavor_obj.Flavor.from_string(
            'vcpus=1,trait:CUSTOM_SSD=required')
        request = rf.build_request({'hw_emulation_architecture': 's390x'},
                                   flavor)
        self.assertEqual({'COMPUTE_ARCH_S390X', 'CUSTOM_SSD'},
                         request.required)
        self.assertEqual(frozenset(), request.forbidden)
        self.assertEqual(1, request.resources['VCPU'])

    def test_required_and_forbidden_conflict(self):
        flavor = flavor_obj.Flavor.from_string('trait:CUSTOM_SSD=forbidden')
        self.assertRaises(exception.InvalidImageProperty, rf.build_request,
                          {'trait:CUSTOM_SSD': 'required'}, flavor)

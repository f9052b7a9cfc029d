"""Tests of arch -> trait naming and owned-trait merging."""

import fixtures
import os_traits
import testtools

from emuvirt.objects import fields
from emuvirt.virt import archs
from emuvirt.virt import traits


class TestArchTrait(testtools.TestCase):

    def test_custom_prefix_is_os_traits(self):
        self.assertEqual(os_traits.CUSTOM_NAMESPACE, traits.CUSTOM_PREFIX)

    def test_arches_os_traits_knows_get_standard_traits(self):
        for trait in os_traits.get_traits('COMPUTE_ARCH_'):
            arch = trait[len('COMPUTE_ARCH_'):].lower()
            self.assertEqual(trait, traits.arch_trait(arch))

    def test_arches_os_traits_lacks_get_custom_traits(self):
        self.assertEqual('CUSTOM_EMUVIRT_ARCH_ARMV7L',
                         traits.arch_trait('armv7l'))
        self.assertEqual('CUSTOM_EMUVIRT_ARCH_PPC64',
                         traits.arch_trait('ppc64'))
        self.assertEqual('CUSTOM_EMUVIRT_ARCH_MIPS64EL',
                         traits.arch_trait('mips64el'))

    def test_every_arch_and_profile_has_a_valid_trait_name(self):
        for arch in set(fields.Architecture.ALL) | set(archs.PROFILES):
            name = traits.arch_trait(arch)
            if os_traits.is_custom(name):
                self.assertRegex(name, r'^CUSTOM_EMUVIRT_ARCH_[A-Z0-9_]+$')
            else:
                self.assertIn(name, os_traits.get_traits())

    def test_decision_follows_os_traits(self):
        # A newer os-traits with COMPUTE_ARCH_PPC64 would make it standard.
        traits._standard.cache_clear()
        self.addCleanup(traits._standard.cache_clear)
        real = os_traits.get_traits

        def more(prefix=None, suffix=None):
            found = real(prefix, suffix)
            if prefix == 'COMPUTE_ARCH_':
                found = found + ['COMPUTE_ARCH_PPC64']
            return found

        self.useFixture(fixtures.MonkeyPatch('os_traits.get_traits', more))
        self.assertEqual('COMPUTE_ARCH_PPC64', traits.arch_trait('ppc64'))


class TestHwArchTrait(testtools.TestCase):

    def test_standard_names(self):
        self.assertEqual('HW_ARCH_X86_64', traits.hw_arch_trait('x86_64'))
        self.assertEqual('HW_ARCH_AARCH64', traits.hw_arch_trait('aarch64'))
        self.assertEqual('HW_ARCH_S390X', traits.hw_arch_trait('s390x'))
        self.assertEqual('HW_ARCH_I686', traits.hw_arch_trait('i686'))

    def test_armv7l_is_spelt_armv7(self):
        self.assertEqual('HW_ARCH_ARMV7', traits.hw_arch_trait('armv7l'))

    def test_arch_without_hw_trait_gets_custom(self):
        self.assertEqual('CUSTOM_EMUVIRT_HW_ARCH_RISCV64',
                         traits.hw_arch_trait('riscv64'))

    def test_every_canonical_arch_maps_to_a_known_name(self):
        for arch in fields.Architecture.ALL:
            name = traits.hw_arch_trait(arch)
            self.assertTrue(name in os_traits.get_traits('HW_ARCH_') or
                            name.startswith('CUSTOM_EMUVIRT_HW_ARCH_'), name)


class TestHostTraits(testtools.TestCase):

    def test_host_traits(self):
        self.assertEqual(
            {'COMPUTE_ARCH_X86_64', 'COMPUTE_ARCH_AARCH64',
             'CUSTOM_EMUVIRT_ARCH_PPC64', 'CUSTOM_EMUVIRT_ACCEL_X86_64',
             'HW_ARCH_X86_64'},
            traits.host_traits('x86_64', ['x86_64', 'aarch64', 'ppc64'],
                               ['x86_64']))

    def test_accelerated_but_not_runnable_is_not_reported(self):
        self.assertEqual({'HW_ARCH_AARCH64'},
                         traits.host_traits('aarch64', [], ['aarch64']))

    def test_all_reported_traits_are_owned(self):
        for trait in traits.host_traits('armv7l', ['armv7l', 's390x'],
                                        ['armv7l']):
            self.assertTrue(traits.is_owned(trait), trait)

    def test_operator_traits_are_not_owned(self):
        for trait in ('CUSTOM_GOLD', 'COMPUTE_STATUS_DISABLED',
                      'HW_CPU_X86_AVX2', 'CUSTOM_EMUVIRTUAL'):
            self.assertFalse(traits.is_owned(trait), trait)

    def test_merge_keeps_operator_traits_and_replaces_owned(self):
        current = {'CUSTOM_GOLD', 'COMPUTE_ARCH_S390X', 'HW_ARCH_X86_64',
                   'CUSTOM_EMUVIRT_ACCEL_X86_64'}
        self.assertEqual(
            {'CUSTOM_GOLD', 'COMPUTE_ARCH_AARCH64', 'HW_ARCH_X86_64'},
            traits.merge(current, {'COMPUTE_ARCH_AARCH64',
                                   'HW_ARCH_X86_64'}))

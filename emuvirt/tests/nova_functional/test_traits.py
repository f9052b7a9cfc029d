"""The traits a compute's resource provider carries in Placement.

emuvirt's driver reports ``COMPUTE_ARCH_*`` for exactly the arches the
host can run (libvirt lists an emulator, the emulator file is there,
domain capabilities answer, firmware is found, the arch is enabled), the
host's ``HW_ARCH_*``, and leaves traits an operator set alone. Stock Nova
reports every arch libvirt answers domain capabilities for, and none but
the host's own under ``virt_type = kvm``.
"""

from emuvirt.tests.nova_functional import base

# Guest arches emuvirt runs (with an os-traits COMPUTE_ARCH_ name) and
# the captured hosts offer with every emulator installed.
ALL_ARCHES = ('aarch64', 'mipsel', 'ppc64le', 'riscv64', 's390x', 'x86_64')


def arch_traits(*arches):
    return {'COMPUTE_ARCH_%s' % a.upper() for a in arches}


class EmuvirtTraitsTest(base.NovaHostDataTestCase):

    def _check_host(self, host_arch):
        host = self.start_host(host_arch=host_arch)
        traits = self.provider_traits(host)
        self.assertEqual(arch_traits(*ALL_ARCHES), self.arch_traits(host))
        self.assertEqual({'HW_ARCH_%s' % host_arch.upper()},
                         {t for t in traits if t.startswith('HW_ARCH_')})
        # Nova's own traits are still there.
        self.assertIn('COMPUTE_NODE', traits)
        self.assertIn('COMPUTE_NET_VIF_MODEL_VIRTIO', traits)
        # [libvirt]virt_type = kvm (Nova's default): the host's own arch
        # runs accelerated.
        self.assertIn('CUSTOM_EMUVIRT_ACCEL_%s' % host_arch.upper(), traits)

    def test_x86_64_host(self):
        self._check_host('x86_64')

    def test_aarch64_host(self):
        self._check_host('aarch64')

    def test_s390x_host(self):
        self._check_host('s390x')

    def test_ppc64le_host(self):
        self._check_host('ppc64le')

    def test_only_enabled_arches(self):
        self.flags(enabled_architectures=['aarch64'], group='emulation')
        host = self.start_host()
        # The host's own arch is always offered.
        self.assertEqual(arch_traits('aarch64', 'x86_64'),
                         self.arch_traits(host))

    def test_emulator_package_not_installed(self):
        host = self.start_host(remove_arches=('s390x', 'mipsel'))
        self.assertEqual(arch_traits('aarch64', 'ppc64le', 'riscv64',
                                     'x86_64'),
                         self.arch_traits(host))

    def test_emulator_file_missing_and_back(self):
        # libvirt still lists the emulator (its capabilities are cached)
        # but the file is gone: not runnable.
        host = self.start_host()
        self.assertIn('COMPUTE_ARCH_S390X', self.arch_traits(host))
        self.host_files.remove('/usr/bin/qemu-system-s390x')
        self._run_periodics()
        self.assertEqual(arch_traits('aarch64', 'mipsel', 'ppc64le',
                                     'riscv64', 'x86_64'),
                         self.arch_traits(host))
        self.host_files.add('/usr/bin/qemu-system-s390x')
        self._run_periodics()
        self.assertEqual(arch_traits(*ALL_ARCHES), self.arch_traits(host))

    def test_firmware_missing(self):
        # aarch64 guests need UEFI; without the AAVMF files no aarch64.
        host = self.start_host()
        for path in ('/usr/share/AAVMF/AAVMF_CODE.fd',
                     '/usr/share/AAVMF/AAVMF_VARS.fd'):
            self.host_files.remove(path)
        self._run_periodics()
        self.assertNotIn('COMPUTE_ARCH_AARCH64', self.arch_traits(host))
        self.assertIn('COMPUTE_ARCH_S390X', self.arch_traits(host))

    def _operator_sets_traits(self, driver='emuvirt'):
        """An operator adds a trait, and wrongly mipsel (not installed)."""
        host = self.start_host(remove_arches=('mipsel',), driver=driver)
        self._create_trait('CUSTOM_RACK_A')
        before = self.provider_traits(host)
        self._set_provider_traits(
            self.compute_rp_uuids[host],
            before | {'CUSTOM_RACK_A', 'COMPUTE_ARCH_MIPSEL'})
        return host, before

    def test_operator_traits_kept_when_host_changes(self):
        host, before = self._operator_sets_traits()
        # The next update that changes something (s390x emulator gone)
        # reads the provider back from Placement first.
        self.host_files.remove('/usr/bin/qemu-system-s390x')
        self._run_periodics()
        self.assertEqual(
            (before | {'CUSTOM_RACK_A'}) - {'COMPUTE_ARCH_S390X'},
            self.provider_traits(host))

    def test_operator_traits_kept_over_restart(self):
        host, before = self._operator_sets_traits()
        self.restart_compute_service(host)
        self.assertEqual(before | {'CUSTOM_RACK_A'},
                         self.provider_traits(host))


class StockTraitsTest(base.NovaHostDataTestCase):
    """What stock Nova 34 reports on the same hosts (measured)."""

    def test_kvm_offers_no_foreign_arch(self):
        # Nova asks libvirt for domain capabilities of every arch with
        # virt_type kvm, which libvirt refuses for foreign arches.
        host = self.start_host(driver='stock')
        self.assertEqual(arch_traits('x86_64'), self.arch_traits(host))

    def test_qemu_offers_whatever_libvirt_lists(self):
        self.flags(virt_type='qemu', group='libvirt')
        host = self.start_host(driver='stock')
        self.assertEqual(arch_traits(*ALL_ARCHES), self.arch_traits(host))
        # A missing emulator file or firmware changes nothing for stock.
        self.host_files.remove('/usr/bin/qemu-system-s390x')
        self.host_files.remove('/usr/share/AAVMF/AAVMF_CODE.fd')
        self._run_periodics()
        self.assertEqual(arch_traits(*ALL_ARCHES), self.arch_traits(host))

    def test_operator_set_arch_trait_never_removed(self):
        host = self.start_host(remove_arches=('mipsel',), driver='stock')
        self._create_trait('CUSTOM_RACK_A')
        before = self.provider_traits(host)
        self.assertNotIn('COMPUTE_ARCH_MIPSEL', before)
        self._set_provider_traits(
            self.compute_rp_uuids[host],
            before | {'CUSTOM_RACK_A', 'COMPUTE_ARCH_MIPSEL'})
        self.restart_compute_service(host)
        # Stock only ever adds COMPUTE_ARCH_ traits: mipsel images would
        # now be scheduled to a host without qemu-system-mipsel.
        self.assertEqual(before | {'CUSTOM_RACK_A', 'COMPUTE_ARCH_MIPSEL'},
                         self.provider_traits(host))

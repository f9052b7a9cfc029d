"""The integration harness itself, on the real daemon.

These tests use no emuvirt driver code: a hand-written minimal domain
proves that the daemon, the emulators and the guest images work, so that a
failure in a driver test points at the driver.
"""

import time

from emuvirt.tests.integration import base

# Every guest arch emuvirt offers, as libvirt names it.
ARCHES = ('aarch64', 's390x', 'ppc64le', 'mipsel', 'riscv64', 'x86_64')

MINIMAL_AARCH64 = """\
<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='aarch64' machine='virt'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <cpu mode='custom' match='exact'>
    <model fallback='forbid'>cortex-a57</model>
  </cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{emulator}</emulator>
    <serial type='pty'>
      <log file='{log}' append='off'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
"""


class TestHarness(base.IntegrationTestCase):

    def test_capabilities_offer_every_arch(self):
        caps = self.capabilities()
        self.assertIsNotNone(caps.findtext('host/cpu/arch'))
        missing = [a for a in ARCHES if not self.emulator(a)]
        if missing:
            self.require_missing(
                'QEMU emulators for %s in the daemon\'s capabilities '
                '(Debian packages %s)' % (', '.join(missing), ', '.join(
                    sorted({base.EMULATOR_PACKAGES[a] for a in missing}))))

    def test_boot_aarch64_kernel_to_userspace(self):
        emulator = self.require_emulator('aarch64')
        image = self.guest_image('aarch64')
        name = self.domain_name('harness')
        log = '%s/%s.console.log' % (self.tmpdir, name)
        dom = self.define_domain(MINIMAL_AARCH64.format(
            name=name, kernel=image.kernel, initrd=image.initrd,
            cmdline=image.cmdline, emulator=emulator, log=log))
        self.assertEqual(log, self.console_log_path(dom))

        t0 = time.monotonic()
        dom.create()
        text = self.wait_for_console(log, 'EMUVIRT-UNAME: aarch64',
                                     domain=dom)
        self.addDetail('boot-seconds', base.content.text_content(
            '%.2f' % (time.monotonic() - t0)))
        self.assertIn('EMUVIRT-UNAME: aarch64', text)

        # The init powers off; on_poweroff=destroy stops the domain.
        self.wait_for_state(dom, self.libvirt.VIR_DOMAIN_SHUTOFF)

        self.remove_domain(name)
        self.assertFalse(self.domain_exists(name))

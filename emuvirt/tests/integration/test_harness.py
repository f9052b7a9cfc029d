"""The integration harness itself, on the real daemon.

These tests use no emuvirt driver code: hand-written minimal domains prove
that the daemon, the emulators and the guest images work, so that a
failure in a driver test points at the driver.
"""

import time

from emuvirt.tests.integration import base

# Every guest arch emuvirt offers, as libvirt names it.
ARCHES = ('aarch64', 's390x', 'ppc64le', 'mipsel', 'riscv64', 'x86_64')

# The least each arch needs to boot a kernel to its console: machine, CPU
# (aarch64: libvirt's default is a 32-bit cortex-a15; cortex-a57 avoids
# the slow pointer authentication of "max"), and the console device.
MINIMAL = {
    'aarch64': dict(
        machine='virt',
        cpu="<cpu mode='custom' match='exact'>"
            "<model fallback='forbid'>cortex-a57</model></cpu>",
        console="<serial type='pty'><log file='{log}' append='off'/>"
                "<target port='0'/></serial>"),
    's390x': dict(
        machine='s390-ccw-virtio', cpu='',
        console="<console type='pty'><log file='{log}' append='off'/>"
                "<target type='sclp' port='0'/></console>"),
    'ppc64le': dict(
        machine='pseries', cpu='',
        console="<serial type='pty'><log file='{log}' append='off'/>"
                "<target port='0'/></serial>"),
    'mipsel': dict(
        machine='malta', cpu='',
        console="<serial type='pty'><log file='{log}' append='off'/>"
                "<target port='0'/></serial>"),
}

DOMAIN = """\
<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='{arch}' machine='{machine}'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  {cpu}
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{emulator}</emulator>
    {console}
    <controller type='usb' model='none'/>
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

    def _boot(self, arch):
        emulator = self.require_emulator(arch)
        image = self.guest_image(arch)
        name = self.domain_name('harness-' + arch)
        log = '%s/%s.console.log' % (self.tmpdir, name)
        spec = MINIMAL[arch]
        dom = self.define_domain(DOMAIN.format(
            name=name, arch=arch, machine=spec['machine'], cpu=spec['cpu'],
            kernel=image.kernel, initrd=image.initrd, cmdline=image.cmdline,
            emulator=emulator, console=spec['console'].format(log=log)))
        self.assertEqual(log, self.console_log_path(dom))

        t0 = time.monotonic()
        dom.create()
        text = self.wait_for_console(log, image.marker, domain=dom)
        self.addDetail('boot-seconds', base.content.text_content(
            '%.2f' % (time.monotonic() - t0)))
        self.assertIn('EMUVIRT-UNAME: %s' % image.expected_uname, text)

        # The init powers off; on_poweroff=destroy stops the domain.
        self.wait_for_state(dom, self.libvirt.VIR_DOMAIN_SHUTOFF)

        self.remove_domain(name)
        self.assertFalse(self.domain_exists(name))

    def test_boot_aarch64_kernel_to_userspace(self):
        self._boot('aarch64')

    def test_boot_s390x_kernel_to_userspace(self):
        self._boot('s390x')

    def test_boot_ppc64le_kernel_to_userspace(self):
        self._boot('ppc64le')

    def test_boot_mipsel_kernel_to_userspace(self):
        self._boot('mipsel')

"""Guests through Nova's API on the real daemon, boot to delete.

Each test boots a server with a config drive from a disk image whose only
property (besides kernel_id and ramdisk_id) is hw_emulation_architecture
(none at all for the native x86_64 guest), waits for the guest's ``uname
-m`` in the console output Nova's API returns and for the uuid it read from
the config drive (a cdrom on the bus of the arch's profile), then stops,
starts, soft and hard reboots it (each start shows a new boot on the
console) and deletes it: no domain, instance file or Placement allocation
is left.
"""

import os
from xml.etree import ElementTree

import libvirt
from testtools import matchers

from emuvirt.tests.nova_integration import base
from emuvirt.virt import archs


# Guests whose kernel powers off on the power button Nova's clean shutdown
# presses (aarch64: the virt board's GPIO key; s390x: the SCLP quiesce
# signal; ppc64le: the EPOW event; x86_64: the ACPI power button); Linux on
# malta has no such path.
CLEAN_POWER_OFF = ('aarch64', 's390x', 'ppc64le', 'x86_64')


class LifecycleMixin(object):
    """Boot with a config drive, stop, start, reboot, delete, check."""

    # Nova makes config drives with [DEFAULT]mkisofs_cmd, genisoimage.
    REQUIRED_PROGRAMS = base.NovaIntegrationTestCase.REQUIRED_PROGRAMS + (
        ('genisoimage', 'genisoimage'),)

    def _lifecycle(self, arch, properties=None):
        # Nova presses the power button, waits shutdown_timeout (stop) or
        # wait_soft_reboot_seconds (soft reboot), pressing again every 10 s,
        # then pulls the plug.  A guest that powers off gets time to do so
        # on a busy host; one that cannot is not waited for long.
        wait = 60 if arch in CLEAN_POWER_OFF else 3
        self.flags(shutdown_timeout=wait)
        self.flags(wait_soft_reboot_seconds=wait, group='libvirt')
        image = self.create_arch_images(arch, properties)
        server = self.boot_server(image, config_drive=True)
        sid = server['id']
        self.record('ACTIVE')
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, self.domain_state(sid))
        self.assertIn(sid, self.instance_files(sid))
        self.assertNotEqual({}, self.allocations(sid))
        seen = set()
        boot, _ = self.wait_for_boot(sid, arch, config_drive=True)
        seen.add(boot['id'])
        self.record('uname and config drive in console output')
        self._check_config_drive(sid, arch, boot)

        self.api.post_server_action(sid, {'os-stop': None})
        self.wait_for_status(sid, 'SHUTOFF')
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF, self.domain_state(sid))
        if arch in CLEAN_POWER_OFF:
            # The guest says so when it powers itself off.  (The domain's
            # shutoff reason cannot tell: Nova destroys a domain that is
            # still shutting down as soon as it sees that state.)
            self.assertIn(base.POWEROFF_MARKER + boot['id'],
                          self.console_log(sid),
                          'the %s guest did not power itself off' % arch)
        self.record('stopped')

        self.api.post_server_action(sid, {'os-start': None})
        self.wait_for_status(sid, 'ACTIVE')
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, self.domain_state(sid))
        seen.add(self.wait_for_boot(sid, arch, seen)[0]['id'])
        self.record('started, booted again')

        for kind in ('SOFT', 'HARD'):
            self.api.post_server_action(sid, {'reboot': {'type': kind}})
            self.wait_for_status(sid, 'ACTIVE')
            self.assertEqual(libvirt.VIR_DOMAIN_RUNNING,
                             self.domain_state(sid))
            seen.add(self.wait_for_boot(sid, arch, seen)[0]['id'])
            self.record('%s reboot, booted again' % kind.lower())

        self.delete_server(sid)
        self.record('deleted')
        self.assert_gone(sid)

    def _check_config_drive(self, sid, arch, boot):
        # The config drive is a cdrom on the bus emuvirt's profile gives
        # the arch's machine family, and the guest read its own uuid from
        # openstack/latest/meta_data.json on it.  A mismatch fails the test
        # at its end, after the rest of the lifecycle has been tried.
        root = ElementTree.fromstring(self.domain(sid).XMLDesc(0))
        machine = root.find('os/type').get('machine')
        cdroms = [d for d in root.findall('devices/disk')
                  if d.get('device') == 'cdrom']
        self.assertEqual(1, len(cdroms), 'cdroms of the %s guest' % arch)
        self.assertEqual(
            'disk.config',
            os.path.basename(cdroms[0].find('source').get('file')))
        family = archs.get_profile(arch).family(machine)
        self.expectThat(cdroms[0].find('target').get('bus'),
                        matchers.Equals(family.cdrom_bus),
                        'bus of the config drive of the %s guest' % arch)
        self.expectThat(boot['config_drive'],
                        matchers.MatchesRegex(r'/dev/\S+ uuid=%s$' % sid),
                        'what the %s guest read from a config drive (the '
                        'block devices it saw: %s)'
                        % (arch, boot.get('block')))


class GuestLifecycleTest(LifecycleMixin, base.NovaIntegrationTestCase):

    def test_aarch64(self):
        self._lifecycle('aarch64')

    def test_s390x(self):
        self._lifecycle('s390x')

    def test_ppc64le(self):
        self._lifecycle('ppc64le')

    def test_mipsel(self):
        self._lifecycle('mipsel')

    def test_x86_64_native(self):
        # The host's own arch, from an image with no property at all.
        self._lifecycle('x86_64', properties={})

"""A snapshot of an emulated server, through Nova's API, boots again.

The createImage action of a running s390x server uploads an image (Nova's
GlanceFixture keeps its bytes) that keeps hw_emulation_architecture and the
kernel and ramdisk of the server's image; a server booted from it reaches
userspace on the same arch.
"""

import json

from testtools import content

from emuvirt.tests.nova_integration import base


class SnapshotTest(base.NovaIntegrationTestCase):

    ARCH = 's390x'

    def _wait_for_upload(self, server_id, image_id, timeout=180):
        # The compute snapshots in a task of its own: the server's task
        # state goes back to None when the upload is over.
        self.wait_for_status(server_id, 'ACTIVE', task_state=None,
                             timeout=timeout)
        image = self.glance.show(None, image_id)
        self.assertEqual('active', image['status'])
        self.assertGreater(len(self.glance._imagedata.get(image_id, b'')),
                           0, 'bytes uploaded for snapshot %s' % image_id)
        return image

    def test_snapshot_keeps_the_arch_and_boots(self):
        arch = self.ARCH
        image_id = self.create_arch_images(arch)
        source = self.glance.show(None, image_id)
        server = self.boot_server(image_id)
        sid = server['id']
        self.wait_for_boot(sid, arch)
        self.record('first server booted')

        snap_id = self.api.post_server_action(
            sid, {'createImage': {'name': 'emuvirt-snap'}})['image_id']
        snap = self._wait_for_upload(sid, snap_id)
        self.record('snapshot uploaded')
        props = snap['properties']
        self.addDetail('snapshot-properties', content.text_content(
            json.dumps(props, indent=1, sort_keys=True, default=str)))
        self.assertEqual(arch, props.get('hw_emulation_architecture'))
        for key in ('kernel_id', 'ramdisk_id'):
            self.assertEqual(source['properties'][key], props.get(key))
        self.assertEqual('qcow2', snap['disk_format'])

        second = self.boot_server(snap_id)
        self.wait_for_boot(second['id'], arch)
        self.record('server from the snapshot booted')

        for s in (sid, second['id']):
            self.delete_server(s)
            self.assert_gone(s)
        self.record('both deleted')

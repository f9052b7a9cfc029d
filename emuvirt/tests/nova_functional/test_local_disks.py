"""A flavor's ephemeral and swap disks through Nova and emuvirt's driver.

Nova's own libvirt driver makes ``disk.eph0`` and ``disk.swap`` and maps
them (``nova.virt.libvirt.blockinfo``) on the disk bus emuvirt hands it
for the guest arch; emuvirt's changes to Nova's guest config must keep
them: after the root disk, on the same bus, in the XML libvirt gets.
"""

from emuvirt.tests.nova_functional import base


class EphemeralAndSwapTest(base.NovaHostDataTestCase):

    def setUp(self):
        super().setUp()
        self.flavor_id = self._create_flavor(
            name='emu.eph', memory_mb=512, vcpu=1, disk=1, ephemeral=1,
            swap=64)

    def disks(self, arch):
        self.start_host(driver='emuvirt')
        server = self.boot_arch(arch)
        xml = self.domain_xml(server)
        self.assertValidDomainXML(xml)
        tree = self.domain_tree(server)
        return [(d.find('source').get('file').rsplit('/', 1)[-1],
                 d.find('target').get('dev'), d.find('target').get('bus'))
                for d in tree.iterfind('devices/disk[@device="disk"]')]

    def test_aarch64_virtio(self):
        self.assertEqual([('disk', 'vda', 'virtio'),
                          ('disk.eph0', 'vdb', 'virtio'),
                          ('disk.swap', 'vdc', 'virtio')],
                         self.disks('aarch64'))

    def test_s390x_virtio(self):
        self.assertEqual([('disk', 'vda', 'virtio'),
                          ('disk.eph0', 'vdb', 'virtio'),
                          ('disk.swap', 'vdc', 'virtio')],
                         self.disks('s390x'))

    def test_mipsel_ide(self):
        self.assertEqual([('disk', 'hda', 'ide'),
                          ('disk.eph0', 'hdb', 'ide'),
                          ('disk.swap', 'hdc', 'ide')],
                         self.disks('mipsel'))

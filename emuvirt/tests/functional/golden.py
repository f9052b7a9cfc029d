"""The golden domain XML cases and how each one is rendered."""

import dataclasses
import os
import typing as ty

from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.objects import instance as instance_obj
from emuvirt.tests.fixtures import flavors
from emuvirt.virt import emulation

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                          'data', 'golden')
UUID = '6f8a1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b'
INSTANCES = '/var/lib/emuvirt/instances'
IMAGE = '/var/lib/emuvirt/images/guest.qcow2'
KERNEL = '/var/lib/emuvirt/images/vmlinuz'
RAMDISK = '/var/lib/emuvirt/images/initrd.img'


GUEST_ARCHES = ('aarch64', 's390x', 'ppc64le', 'mipsel', 'riscv64',
                'x86_64')


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    host: str
    props: dict
    kernel: bool = False
    image: str = IMAGE
    disk_format: str = 'qcow2'
    #: None: 2 vCPUs (or the arch's most: 1 on mipsel), 1024 MiB, 10 GiB
    flavor: ty.Optional[str] = None
    flags: tuple = ()


def _emu(arch, **props):
    return dict(hw_emulation_architecture=arch, **props)


CASES = (
    # Foreign guests on an x86_64 host, with nothing but the arch set.
    Case('x86_64-host-aarch64', 'x86_64', _emu('aarch64')),
    Case('x86_64-host-aarch64-kernel', 'x86_64', _emu('aarch64'),
         kernel=True, image=None),
    Case('x86_64-host-aarch64-vnc-iso', 'x86_64',
         _emu('aarch64', hw_console_type='vnc'),
         image='/var/lib/emuvirt/images/installer.iso', disk_format='iso'),
    Case('x86_64-host-s390x', 'x86_64', _emu('s390x')),
    Case('x86_64-host-ppc64le', 'x86_64', _emu('ppc64le')),
    Case('x86_64-host-ppc64le-spice', 'x86_64',
         _emu('ppc64le', hw_console_type='spice')),
    Case('x86_64-host-mipsel-kernel', 'x86_64', _emu('mipsel'),
         kernel=True, image=None),
    # riscv64: OpenSBI starts U-Boot (loaded as the kernel), which boots
    # the disk; or OpenSBI starts the guest's own kernel.
    Case('x86_64-host-riscv64', 'x86_64', _emu('riscv64')),
    Case('x86_64-host-riscv64-kernel', 'x86_64', _emu('riscv64'),
         kernel=True, image=None),
    # Options keyed by the guest arch.
    Case('x86_64-host-aarch64-options', 'x86_64', _emu('aarch64'),
         flags=(('num_pcie_ports', 2, 'libvirt'),
                ('tb_cache_size', 256, 'libvirt'),
                ('cpu_models', ['aarch64=cortex-a72'], 'emulation'))),
    # x86_64 emulated on an aarch64 host.
    Case('aarch64-host-x86_64', 'aarch64', _emu('x86_64')),
    # Native guests: the same code path, KVM where offered.
    Case('x86_64-host-native', 'x86_64', {}),
    Case('aarch64-host-native', 'aarch64', {}),
    Case('s390x-host-native', 's390x', {}),
    Case('ppc64le-host-native', 'ppc64le', {}),
    # Nova's s390x recipe with a display: virtio-gpu-ccw, virtio inputs.
    Case('x86_64-host-s390x-vnc', 'x86_64',
         _emu('s390x', hw_console_type='vnc')),
    # More than 8 vCPUs: GICv3 (under TCG libvirt offers 2 and 3).
    Case('x86_64-host-aarch64-16-vcpus', 'x86_64', _emu('aarch64'),
         flavor='vcpus=16,ram=1024,disk=10'),
    # The flavor's ephemeral and swap disks, after the root disk on its
    # bus: virtio (vdb, vdc), and malta's IDE (hdb, hdc).
    Case('x86_64-host-aarch64-ephemeral-swap', 'x86_64', _emu('aarch64'),
         flavor='vcpus=2,ram=1024,disk=10,ephemeral=1,swap=64'),
    Case('x86_64-host-mipsel-kernel-ephemeral-swap', 'x86_64',
         _emu('mipsel'), kernel=True,
         flavor='vcpus=1,ram=1024,disk=10,ephemeral=1,swap=64'),
    Case('x86_64-host-s390x-ephemeral-swap', 'x86_64', _emu('s390x'),
         flavor='vcpus=2,ram=1024,disk=10,ephemeral=1,swap=64'),
)

# Every device property on every guest arch that offers it: the value
# each case sets (a value other than the arch's default where there is
# one), with the properties it needs beside it. An arch missing from a
# property's row refuses the property (test_device_properties).
DEVICE_PROPERTIES = (
    ('hw_vif_model', {'aarch64': 'e1000', 's390x': 'virtio',
                      'ppc64le': 'spapr-vlan', 'mipsel': 'rtl8139',
                      'riscv64': 'e1000e', 'x86_64': 'vmxnet3'}, {}),
    ('hw_scsi_model', {'aarch64': 'lsisas1068', 's390x': 'virtio-scsi',
                       'ppc64le': 'ibmvscsi', 'mipsel': 'lsilogic',
                       'riscv64': 'lsisas1078', 'x86_64': 'vmpvscsi'}, {}),
    ('hw_rng_model', dict.fromkeys(GUEST_ARCHES, 'virtio'), {}),
    ('hw_qemu_guest_agent', dict.fromkeys(GUEST_ARCHES, 'true'), {}),
    ('hw_input_bus', dict.fromkeys(GUEST_ARCHES, 'virtio'),
     {'hw_console_type': 'vnc'}),
    ('hw_pointer_model', dict.fromkeys(
        ('aarch64', 'ppc64le', 'mipsel', 'riscv64', 'x86_64'), 'usbtablet'),
     {}),
    ('hw_serial_port_count', {'aarch64': '4', 's390x': '1',
                              'ppc64le': '4', 'mipsel': '3',
                              'riscv64': '4', 'x86_64': '4'}, {}),
    ('hw_boot_menu', dict.fromkeys(('aarch64', 's390x', 'ppc64le',
                                    'x86_64'), 'true'), {}),
    ('hw_video_ram', dict.fromkeys(('aarch64', 'ppc64le', 'mipsel',
                                    'riscv64', 'x86_64'), '64'),
     {'hw_console_type': 'vnc', 'hw_video_model': 'vga'}),
    # Values Nova's field takes too (ramfb is emuvirt's own).
    ('hw_video_model', {'aarch64': 'bochs', 's390x': 'virtio',
                        'ppc64le': 'virtio', 'mipsel': 'vga',
                        'riscv64': 'vga', 'x86_64': 'qxl'}, {}),
)


def _device_case(name, arch, value, others):
    props = dict(others, **{name: value})
    if arch == 'x86_64':
        return Case('x86_64-host-native-%s' % name, 'x86_64', props)
    # malta has no firmware to boot a disk: a kernel.
    kernel = arch == 'mipsel'
    return Case('x86_64-host-%s-%s' % (arch, name), 'x86_64',
                _emu(arch, **props), kernel=kernel,
                image=None if kernel else IMAGE)


DEVICE_CASES = tuple(
    _device_case(name, arch, value, others)
    for name, values, others in DEVICE_PROPERTIES
    for arch, value in values.items())
CASES += DEVICE_CASES


def path(case):
    return os.path.join(GOLDEN_DIR, case.name + '.xml')


def make_instance(case):
    image_meta = image_meta_obj.ImageMeta.from_dict(
        {'properties': case.props, 'disk_format': case.disk_format},
        strict=True)
    instance = instance_obj.Instance.new(
        uuid=UUID, name='guest-' + case.name,
        flavor=flavor_obj.Flavor.from_string(case.flavor or flavors.flavor(
            case.props.get('hw_emulation_architecture', case.host))),
        image_meta=image_meta, image_path=case.image,
        kernel_path=KERNEL if case.kernel else None,
        ramdisk_path=RAMDISK if case.kernel else None)
    return instance, image_meta


def render(test, case):
    """Render ``case`` inside ``test`` (a FunctionalTestCase)."""
    test.use_host(case.host)
    # virt_type stays at its default, kvm: foreign guests must still get
    # TCG, native ones KVM where the host offers it.
    test.flags.config(group='libvirt', instances_path=INSTANCES)
    for name, value, group in case.flags:
        test.flags.config(group=group, **{name: value})
    drv = test.driver = emulation.EmuVirtDriver()
    instance, image_meta = make_instance(case)
    return drv.get_guest_xml(instance, image_meta)

"""LibvirtDriver: the libvirt compute driver skeleton.

Guest configuration reads top to bottom::

    image props -> guest arch -> arch profile -> guest plan -> config -> XML

Every decision after the first step is taken for the GUEST architecture
(:mod:`emuvirt.virt.libvirt.decide`) through its profile
(:mod:`emuvirt.virt.archs`). The only question the skeleton answers
differently from the emulation driver is the first one: here the guest
arch is ``hw_architecture``, else the host's own.
"""

import os

from oslo_log import log as logging

from emuvirt import conf
from emuvirt.conf import validate
from emuvirt import exception
from emuvirt.objects import fields
from emuvirt.virt import archs
from emuvirt.virt import driver
from emuvirt.virt.libvirt import decide
from emuvirt.virt.libvirt import guest_config
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import metadata

CONF = conf.CONF
LOG = logging.getLogger(__name__)


class LibvirtDriver(driver.ComputeDriver):
    """Builds and runs guests through one libvirt connection."""

    capabilities = {
        'has_imagecache': False,
        'supports_evacuate': False,
        'supports_attach_interface': False,
        'supports_multiattach': False,
    }

    def __init__(self, virtapi=None, read_only=False, host=None):
        super().__init__(virtapi)
        self._host = host or vhost.Host()
        # Options are read once: a config change takes a restart, as in
        # Nova, and guest config stays cheap.
        self._machine_map = validate.machine_type_map(CONF)
        self._cpu_map = validate.cpu_model_map(CONF)

    @property
    def host(self):
        return self._host

    def init_host(self, host):
        validate.validate(CONF)
        caps = self._host.get_capabilities()
        LOG.info('Connected to libvirt at %s; host arch %s, guest arches %s',
                 self._host.uri, self._host.host_arch,
                 ', '.join(caps.guest_arches()))

    # -- step 1: image props -> guest arch --------------------------------

    def guest_arch(self, props):
        """The guest architecture: ``hw_architecture``, else the host's."""
        return props.get('hw_architecture') or self._host.host_arch

    def check_guest_arch(self, arch):
        """Refuse an arch this driver does not offer (hook)."""

    # -- steps 2-4: arch profile -> guest plan ----------------------------

    def _guest_caps(self, arch):
        guest_caps = self._host.get_guest_caps(arch)
        if guest_caps is None:
            raise exception.ArchitectureNotSupported(
                arch=arch, reason='libvirt offers no emulator for it '
                '(is qemu-system-%s installed?)' % arch)
        return guest_caps

    def _domain_type(self, arch, guest_caps):
        return decide.domain_type(CONF.libvirt.virt_type, guest_caps)

    @staticmethod
    def _boot(instance, image_meta, profile):
        props = image_meta.properties
        path = instance.image_path
        is_iso = path is not None and image_meta.disk_format == 'iso'
        disk = None
        if path and not is_iso:
            disk = os.path.join(instance_dir(instance), 'disk')
        cmdline = None
        if instance.kernel_path:
            cmdline = props.get('os_command_line') or (
                'console=%s' % profile.kernel_console +
                (' root=/dev/vda' if disk else ''))
        return guest_config.Boot(
            disk_path=disk, cdrom_path=path if is_iso else None,
            kernel=instance.kernel_path, ramdisk=instance.ramdisk_path,
            cmdline=cmdline)

    def plan_guest(self, instance, image_meta, networks=()):
        """Take every decision for a guest; nothing is defined."""
        props = image_meta.properties
        arch = fields.Architecture.canonicalize(
            self.guest_arch(props), 'hw_architecture')
        self.check_guest_arch(arch)
        profile = archs.get_profile(arch)
        guest_caps = self._guest_caps(arch)
        dom_type = self._domain_type(arch, guest_caps)
        machine, _source = decide.machine_type(
            props, self._machine_map, profile, guest_caps)
        domcaps = self._host.get_domain_capabilities(arch, machine, dom_type)
        boot = self._boot(instance, image_meta, profile)
        fw = None
        if decide.firmware_kind(props, profile, boot.direct_kernel) == 'uefi':
            fw = decide.uefi(arch, machine, domcaps)
        gfx = decide.graphics(props, profile, domcaps)
        flavor = instance.flavor
        record = metadata.InstanceRecord(
            uuid=instance.uuid, name=instance.name, guest_arch=arch,
            machine_type=machine, vcpus=flavor.vcpus,
            memory_mb=flavor.memory_mb, root_gb=flavor.root_gb,
            image_path=instance.image_path,
            kernel_path=instance.kernel_path,
            ramdisk_path=instance.ramdisk_path,
            properties=props.to_dict())
        return guest_config.GuestPlan(
            name=instance.name, uuid=instance.uuid, vcpus=flavor.vcpus,
            memory_mib=flavor.memory_mb, profile=profile,
            domain_type=dom_type, emulator=guest_caps.emulator_for(dom_type),
            machine=machine, instance_dir=instance_dir(instance), boot=boot,
            cpu=decide.cpu(props, self._cpu_map, profile, domcaps, dom_type),
            firmware=fw, graphics=gfx,
            video=decide.video(props, profile, domcaps, gfx),
            disk_bus=decide.disk_bus(props, profile, domcaps),
            cdrom_bus=decide.cdrom_bus(props, profile, machine, domcaps),
            pcie_ports=(CONF.libvirt.num_pcie_ports or
                        profile.default_pcie_ports),
            tb_cache_mib=CONF.libvirt.tb_cache_size,
            networks=tuple(networks), metadata=record.format_dom())

    # -- step 5: guest config -> XML --------------------------------------

    def get_guest_config(self, instance, image_meta, networks=()):
        return guest_config.build(
            self.plan_guest(instance, image_meta, networks))

    def get_guest_xml(self, instance, image_meta, networks=()):
        return self.get_guest_config(instance, image_meta, networks).to_xml()

    # -- host -------------------------------------------------------------

    def get_available_nodes(self, refresh=False):
        return [CONF.host]


def instance_dir(instance):
    """Where an instance's files live: ``[libvirt]instances_path/<uuid>``."""
    return os.path.join(CONF.libvirt.instances_path, instance.uuid)

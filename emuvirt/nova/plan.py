"""Every guest-arch decision for a guest Nova builds, from emuvirt's table.

:func:`plan` reads top to bottom like the standalone driver: image props ->
guest arch -> arch profile -> one decision function per question
(:mod:`emuvirt.virt.libvirt.decide`), each checked against what libvirt
offers for THAT arch. The result is a :class:`NovaPlan`; it holds no Nova
object and nothing from Nova's configuration beyond the values passed in,
so it is the same answer the standalone flavour gives for the same image
and host.

:func:`nova_hints` turns a plan into the image properties Nova itself
honours (machine type, disk and cdrom bus; for the guest config also the
firmware type, :func:`nova_config_hints`), so that Nova's own code paths
(disk mapping, config drive, machine-type records) follow the guest arch
too.
"""

import dataclasses
import typing as ty

from emuvirt.conf import validate
from emuvirt import exception
from emuvirt.virt import archs
from emuvirt.virt.libvirt import decide

# Secure boot policies that leave firmware selection to Nova (libvirt's
# autoselection of a secure-boot build).
SECURE_BOOT = ('required', 'optional')


@dataclasses.dataclass(frozen=True)
class NovaPlan:
    arch: str
    profile: archs.ArchProfile
    foreign: bool
    domain_type: str
    machine: str
    cpu: ty.Any
    firmware: ty.Any
    secure_boot: bool
    graphics: ty.Optional[str]
    video: ty.Optional[str]
    video_ram_mib: ty.Optional[int]
    input_bus: ty.Optional[str]
    disk_bus: str
    cdrom_bus: str
    scsi_model: ty.Optional[str]
    vif_model: str
    rng_model: ty.Optional[str]
    guest_agent: bool
    serial_ports: int
    boot_menu: bool
    gic_version: ty.Optional[str]
    pcie_ports: int
    tb_cache_mib: int
    direct_kernel: bool
    boot_loader: ty.Optional[str] = None

    @property
    def family(self):
        return self.profile.family(self.machine)


# oslo.versionedobjects keeps a set field's value in ``_obj_<name>``.
_SET_FIELD = '_obj_'


def set_fields(obj):
    """{field: value} of the fields set on a versioned object.

    The same as asking ``obj_attr_is_set`` of every field, which costs a
    scan of the field list per field (ImageMetaProps has over a hundred);
    this is on the path of every guest config.
    """
    return {name[len(_SET_FIELD):]: value
            for name, value in vars(obj).items()
            if name.startswith(_SET_FIELD)}


def image_props(image_meta):
    """The image properties set on a Nova ImageMeta, as a dict."""
    return set_fields(image_meta.properties)


def console_type(conf):
    """The graphics console nova.conf turns on (spice wins), or None."""
    if conf.spice.enabled:
        return 'spice'
    if conf.vnc.enabled:
        return 'vnc'
    return None


def _graphics(conf, profile, domcaps):
    """Nova's graphics console where the guest arch can serve it.

    nova.conf turns VNC or SPICE on for the whole host; a guest arch with
    no graphics (s390x) or a console type its machine lacks gets the serial
    console only.
    """
    wanted = console_type(conf)
    if wanted is None:
        return None
    try:
        return decide.graphics({'hw_console_type': wanted}, profile, domcaps)
    except exception.UnsupportedGraphics:
        return None


def plan(host, conf, props, direct_kernel, secure_boot=None, vcpus=1,
         memory_mib=None):
    """Take every guest-arch decision for one guest; nothing is created.

    :param host: an emuvirt Host (:class:`emuvirt.nova.host.NovaHost`).
    :param conf: Nova's configuration, with ``[emulation]`` registered.
    :param props: the image properties (:func:`image_props`).
    :param direct_kernel: the guest boots a kernel (``kernel_id``).
    :param vcpus: the flavor's vCPUs (the GIC version and the machine must
        take them); ``memory_mib`` its RAM (the machine must take it), when
        given.
    :param secure_boot: Nova's secure boot policy for the guest (flavor
        ``os:secure_boot`` or image ``os_secure_boot``): None,
        ``disabled``, ``optional`` or ``required``.
    :raises: emuvirt ``Invalid`` subclasses naming the property or option.
    """
    host_arch = host.host_arch
    arch = decide.guest_arch(props, host_arch)
    profile = decide.arch_profile(props, arch)
    decide.emulation_enabled(arch, host_arch,
                             conf.emulation.enabled_architectures, props)
    guest_caps = host.require_guest_caps(arch)
    loader = decide.boot_loader(profile, direct_kernel)
    foreign = arch != host_arch
    dom_type = decide.domain_type(conf.libvirt.virt_type, guest_caps,
                                  foreign=foreign)
    machine, _source = decide.machine_type(
        props, validate.machine_type_map(conf), profile, guest_caps,
        dom_type=dom_type)
    domcaps = host.get_domain_capabilities(arch, machine, dom_type)
    decide.flavor_fit(vcpus, memory_mib or 0, profile, machine, domcaps,
                      guest_caps)
    firmware = None
    if decide.firmware_kind(props, profile, direct_kernel) == 'uefi':
        firmware = host.get_uefi_firmware(arch, machine, domcaps)
    if secure_boot == 'required' and firmware is None:
        raise exception.Invalid(
            reason='secure boot (flavor extra spec os:secure_boot or image '
                   'property os_secure_boot) needs UEFI firmware; this %s '
                   'guest boots from its built-in firmware' % arch)
    gfx = _graphics(conf, profile, domcaps)
    video = decide.video(props, profile, domcaps, gfx)
    return NovaPlan(
        arch=arch, profile=profile, foreign=foreign, domain_type=dom_type,
        machine=machine,
        cpu=decide.cpu(props, validate.cpu_model_map(conf), profile,
                       domcaps, dom_type),
        firmware=firmware,
        secure_boot=firmware is not None and secure_boot in SECURE_BOOT,
        graphics=gfx, video=video,
        video_ram_mib=decide.video_ram(props, video),
        input_bus=decide.input_bus(props, profile, gfx),
        disk_bus=decide.disk_bus(props, profile, domcaps),
        cdrom_bus=decide.cdrom_bus(props, profile, machine, domcaps),
        scsi_model=decide.scsi_model(props, profile),
        vif_model=decide.vif_model(props, profile),
        rng_model=decide.rng_model(props, profile, domcaps),
        guest_agent=decide.guest_agent(props, domcaps),
        serial_ports=decide.serial_ports(props, profile),
        boot_menu=decide.boot_menu(props, profile, direct_kernel),
        gic_version=decide.gic_version(profile, domcaps, vcpus),
        pcie_ports=conf.libvirt.num_pcie_ports or profile.default_pcie_ports,
        tb_cache_mib=conf.libvirt.tb_cache_size or 0,
        direct_kernel=direct_kernel, boot_loader=loader)


def nova_hints(plan_):
    """Image properties that make Nova's own code follow the plan.

    Machine type, disk bus and cdrom bus: values emuvirt's decisions
    accept as they are, so a plan made again from a hinted image (hard
    reboot, or the guest config of a spawn) is the same plan. These are
    the ones recorded with the instance.
    """
    return {'hw_machine_type': plan_.machine,
            'hw_disk_bus': plan_.disk_bus,
            'hw_cdrom_bus': plan_.cdrom_bus}


def nova_config_hints(plan_):
    """:func:`nova_hints` plus the firmware type for Nova's guest config.

    ``hw_firmware_type`` is ``uefi`` only where Nova must choose a
    secure-boot build itself (libvirt's firmware autoselection); otherwise
    ``bios``, so that Nova writes no firmware and the guest config gets
    the plan's firmware explicitly (:func:`emuvirt.nova.adapt.apply`).
    Never recorded: ``bios`` is not what an aarch64 guest boots.
    """
    hints = nova_hints(plan_)
    hints['hw_firmware_type'] = 'uefi' if plan_.secure_boot else 'bios'
    return hints

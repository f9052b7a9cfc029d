"""EmuVirtDriver: Nova's libvirt driver, dressed by emuvirt's arch table.

nova-compute loads it with ``[DEFAULT] compute_driver =
emuvirt.EmuVirtDriver``. It is Nova's own ``LibvirtDriver`` (Nova 34): VIFs
and Neutron, config drive and metadata, volumes, snapshots, rescue,
resize, migration and console proxies are Nova's. What changes is every
guest-architecture decision, read top to bottom::

    image props -> guest arch -> arch profile -> plan -> Nova's config
    -> adapted to the plan -> XML

* :meth:`spawn` gives Nova the plan's machine type, disk and cdrom bus as
  image properties (Nova's disk mapping and config drive follow them, and
  so do the device names Nova's compute manager asks for before spawn:
  root, ephemeral and swap disks) and
  records them with the instance where Nova records ``hw_machine_type``,
  so every later guest config Nova builds from the instance (a hard
  reboot; rescue and migration read the same record, untested) keeps them;
* :meth:`_get_guest_config` lets Nova build the domain, then
  :func:`emuvirt.nova.adapt.apply` rewrites what depends on the guest arch;
* traits: ``COMPUTE_ARCH_*`` for exactly the arches this host can run,
  probed like emuvirt-compute does (emulator, domain capabilities,
  firmware), re-probed when emulator or firmware files change.

Bad image input becomes Nova's ``ImageUnacceptable`` with emuvirt's
message naming the property, so the build stops (no reschedule) with that
message as the server's fault.
"""

from nova import exception
from nova import objects
from nova.objects import fields as obj_fields
from nova.virt import hardware
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import driver as libvirt_driver
from oslo_log import log as logging

from emuvirt.conf import validate
from emuvirt import exception as emu_exception
from emuvirt.nova import adapt
from emuvirt.nova import conf as nova_conf
from emuvirt.nova import host as nova_host
from emuvirt.nova import plan as plan_mod
from emuvirt.virt import hostcaps
from emuvirt.virt import traits as traits_mod

CONF = libvirt_driver.CONF
nova_conf.register_opts(CONF)
LOG = logging.getLogger(__name__)

SUPPORTED_VIRT_TYPES = ('kvm', 'qemu')


class EmuVirtDriver(libvirt_driver.LibvirtDriver):
    """Nova's libvirt driver with emuvirt's guest-arch decisions."""

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only)
        self.emu_host = nova_host.NovaHost(self._host)
        self.capability_probe = hostcaps.CapabilityProbe(self.emu_host, CONF)
        # Nova checks a guest's machine type against the machines of every
        # arch by formatting and parsing the whole capabilities document
        # again for each guest config (a third of its time); the plan has
        # already checked it against the GUEST arch's machines. Answer
        # Nova's check from emuvirt's parsed, cached capabilities.
        self._host._check_machine_type = self._check_machine_type

    def _check_machine_type(self, caps, mach_type):
        """Nova's machine-type check, from emuvirt's parsed capabilities.

        :raises: InvalidMachineType when no guest arch offers it.
        """
        if self.emu_host.offers_machine(mach_type):
            return
        raise exception.InvalidMachineType(
            message="'%s' is not a machine type libvirt offers here" %
            mach_type)

    def init_host(self, host):
        if CONF.libvirt.virt_type not in SUPPORTED_VIRT_TYPES:
            raise exception.InvalidConfiguration(
                'emuvirt.EmuVirtDriver needs [libvirt]virt_type kvm or '
                'qemu, not %r' % CONF.libvirt.virt_type)
        try:
            validate.machine_type_map(CONF)
            validate.cpu_model_map(CONF)
        except emu_exception.Invalid as e:
            raise exception.InvalidConfiguration(str(e))
        super().init_host(host)

    # -- image props -> guest arch -> profile -> plan ---------------------

    def emulation_plan(self, instance, image_meta, rescue=None):
        """emuvirt's decisions for this guest (nothing is created)."""
        direct_kernel = bool((rescue or {}).get('kernel_id') or
                             instance.kernel_id)
        try:
            return plan_mod.plan(
                self.emu_host, CONF, plan_mod.image_props(image_meta),
                direct_kernel,
                secure_boot=hardware.get_secure_boot_constraint(
                    instance.flavor, image_meta),
                vcpus=instance.flavor.vcpus,
                memory_mib=instance.flavor.memory_mb)
        except (emu_exception.Invalid, exception.Invalid) as e:
            image_id = (image_meta.id if image_meta.obj_attr_is_set('id')
                        else None)
            raise exception.ImageUnacceptable(image_id=image_id,
                                              reason=str(e))

    @staticmethod
    def _hinted(image_meta, hints):
        """A copy of ``image_meta`` that tells Nova the plan's choices.

        Shallow: the image's other fields are shared, not deep-copied
        (``obj_clone`` would cost more than the rest of the plan).
        """
        fields = plan_mod.set_fields(image_meta)
        props = plan_mod.image_props(image_meta)
        props.update(hints)
        fields['properties'] = objects.ImageMetaProps(**props)
        return objects.ImageMeta(**fields)

    @staticmethod
    def _record(instance, image_meta, hints):
        """Record the hints the image did not set with the instance."""
        for name, value in hints.items():
            if image_meta.properties.get(name) is None:
                instance.system_metadata['image_' + name] = value

    # -- Nova's entry points ----------------------------------------------

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        plan = self.emulation_plan(instance, image_meta)
        hints = plan_mod.nova_hints(plan)
        self._record(instance, image_meta, hints)
        LOG.debug('Spawning a %s guest (%s, machine %s)', plan.arch,
                  plan.domain_type, plan.machine, instance=instance)
        return super().spawn(
            context, instance, self._hinted(image_meta, hints),
            injected_files, admin_password, allocations,
            network_info=network_info, block_device_info=block_device_info,
            power_on=power_on, accel_info=accel_info)

    def _hints_or_none(self, instance, image_meta):
        """The plan's hints; None when the plan refuses (spawn says why)."""
        try:
            return plan_mod.nova_hints(
                self.emulation_plan(instance, image_meta))
        except exception.ImageUnacceptable:
            return None

    def default_root_device_name(self, instance, image_meta, root_bdm):
        """Nova's root device name, on the plan's disk bus."""
        hints = self._hints_or_none(instance, image_meta)
        if hints:
            image_meta = self._hinted(image_meta, hints)
        return super().default_root_device_name(instance, image_meta,
                                                root_bdm)

    def default_device_names_for_instance(self, instance, root_device_name,
                                          *block_device_lists):
        """Nova's names of the ephemeral, swap and volume disks.

        Nova's compute manager asks before :meth:`spawn`, and Nova names
        them from the instance's recorded image properties: the plan's
        hints are recorded first (as spawn records them), so that the
        flavor's ephemeral and swap disks sit on the plan's disk bus
        (IDE on mipsel), after the root disk.
        """
        image_meta = instance.image_meta
        hints = self._hints_or_none(instance, image_meta)
        if hints:
            self._record(instance, image_meta, hints)
        return super().default_device_names_for_instance(
            instance, root_device_name, *block_device_lists)

    def _get_guest_config(self, instance, network_info, image_meta,
                          disk_info, rescue=None, *args, **kwargs):
        plan = self.emulation_plan(instance, image_meta, rescue)
        guest = super()._get_guest_config(
            instance, network_info,
            self._hinted(image_meta, plan_mod.nova_config_hints(plan)),
            disk_info, rescue, *args, **kwargs)
        adapt.apply(guest, plan,
                    image_cmdline=image_meta.properties.get(
                        'os_command_line'))
        self._sync_vcpu_model(instance, guest.cpu)
        return guest

    def _sync_vcpu_model(self, instance, cpu):
        """Keep the instance's vCPU model in step with the guest's CPU.

        Nova's VirtCPUModel knows custom, host-model and host-passthrough;
        a ``maximum`` CPU (TCG) has no model to record, as a guest
        without ``<cpu>`` has none.
        """
        if cpu is not None and cpu.mode not in obj_fields.CPUMode.ALL:
            cpu = None
        instance.vcpu_model = self._cpu_config_to_vcpu_model(
            cpu, instance.vcpu_model)

    def _find_default_for_image_property(self, instance, image_property,
                                         disk_info, guest_config):
        """The default Nova records for a device property: the guest's.

        Nova records, once per instance, the default it would pick for
        some device properties (``image_hw_video_model``,
        ``image_hw_input_bus``, ...) from its own host-arch rules: a
        virtio video for a mipsel guest, a USB tablet for s390x. Recorded,
        those come back as image properties at the next start (and into
        snapshots). emuvirt records what the guest really has: the plan's
        video, the guest config's tablet.
        """
        if image_property == 'hw_video_model':
            return self.emulation_plan(instance, instance.image_meta).video
        if image_property in ('hw_pointer_model', 'hw_input_bus') and (
                guest_config is not None):
            tablets = [d for d in guest_config.devices
                       if isinstance(d, vconfig.LibvirtConfigGuestInput) and
                       d.type == 'tablet']
            if not tablets:
                return None
            if image_property == 'hw_input_bus':
                return tablets[0].bus
            return 'usbtablet' if tablets[0].bus == 'usb' else None
        return super()._find_default_for_image_property(
            instance, image_property, disk_info, guest_config)

    # -- traits -------------------------------------------------------------

    def _get_cpu_emulation_arch_traits(self):
        # Nova's list is every arch libvirt names, runnable or not;
        # update_provider_tree reports the probed ones instead.
        return {}

    def update_provider_tree(self, provider_tree, nodename,
                             allocations=None):
        super().update_provider_tree(provider_tree, nodename,
                                     allocations=allocations)
        reported = self.capability_probe.get().traits()
        current = provider_tree.data(nodename).traits
        provider_tree.update_traits(
            nodename, traits_mod.merge(current, reported))

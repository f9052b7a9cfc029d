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
import re
import time

import libvirt
from lxml import etree
from oslo_log import log as logging
from oslo_utils import excutils

from emuvirt import architecture
from emuvirt import conf
from emuvirt.conf import validate
from emuvirt import exception
from emuvirt import interrupt
from emuvirt.virt import driver
from emuvirt.virt.libvirt import guest as vguest
from emuvirt.virt.libvirt import host as vhost
from emuvirt.virt.libvirt import instance_files
from emuvirt.virt.libvirt import metadata

# What plans and builds a guest (decide, guest_config and what they load:
# arch profiles, capabilities, firmware, the XML classes; the config drive
# and rebuild helpers) is imported by the methods that do it: a command
# that only lists or powers guests (server list) does not pay for it.

CONF = conf.CONF
LOG = logging.getLogger(__name__)

# Seconds between attempts to reach a libvirt that went away.
RECONNECT_INTERVAL = 1.0
#: A MAC address as libvirt and Nova write it.
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


class LibvirtDriver(driver.ComputeDriver):
    """Builds and runs guests through one libvirt connection."""

    capabilities = {
        'has_imagecache': False,
        'supports_evacuate': False,
        'supports_attach_interface': False,
        'supports_multiattach': False,
    }

    def __init__(self, virtapi=None, read_only=False, host=None):
        super().__init__(virtapi, read_only=read_only)
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
        """The guest arch (canonical): ``hw_architecture``, else the host's."""
        return architecture.canonicalize(
            props.get('hw_architecture') or None,
            'hw_architecture') or self._host.host_arch

    def check_guest_arch(self, arch, props=None):
        """Refuse an arch this driver does not offer (hook).

        ``props``: the image properties the arch came from, to name.
        """

    # -- steps 2-4: arch profile -> guest plan ----------------------------

    def _domain_type(self, arch, guest_caps):
        from emuvirt.virt.libvirt import decide
        return decide.domain_type(CONF.libvirt.virt_type, guest_caps)

    @staticmethod
    def _boot(instance, image_meta, profile):
        from emuvirt.virt.libvirt import guest_config
        props = image_meta.properties
        path = instance.image_path
        is_iso = path is not None and image_meta.disk_format == 'iso'
        disk = None
        # A disk image is used through a qcow2 overlay; an iso is attached
        # as a cdrom, with a blank disk of the flavor's size to install to.
        if path and (not is_iso or instance.flavor.root_gb):
            disk = os.path.join(instance_dir(instance),
                                instance_files.DISK_NAME)
        cmdline = None
        if instance.kernel_path:
            cmdline = props.get('os_command_line') or (
                'console=%s' % profile.kernel_console +
                (' root=/dev/vda' if disk else ''))
        flavor = instance.flavor
        return guest_config.Boot(
            disk_path=disk, cdrom_path=path if is_iso else None,
            kernel=instance.kernel_path, ramdisk=instance.ramdisk_path,
            cmdline=cmdline,
            config_drive_path=config_drive_path(instance),
            ephemeral_path=local_disk_path(
                instance, instance_files.EPHEMERAL_NAME,
                flavor.ephemeral_gb),
            ephemeral_gb=flavor.ephemeral_gb,
            swap_path=local_disk_path(
                instance, instance_files.SWAP_NAME, flavor.swap),
            swap_mb=flavor.swap)

    def _networks(self):
        """One NIC: on ``[libvirt]network_name`` if up, else user-mode."""
        from emuvirt.virt.libvirt import guest_config
        name = CONF.libvirt.network_name
        if name and self._host.has_active_network(name):
            return (guest_config.Network(type='network', network=name),)
        LOG.debug('No active libvirt network %r: user-mode networking',
                  name)
        return (guest_config.Network(type='user'),)

    def networks_from_info(self, network_info):
        """NICs from a list shaped like Nova's network_info.

        Each VIF is a mapping with ``address`` (its MAC, optional) and
        ``network`` (a mapping whose ``label`` names the libvirt network).
        None or an empty list: None (the default NIC).

        :raises: InvalidNetworkInfo for a VIF without a network label or
            with a MAC that is not a unicast ``xx:xx:xx:xx:xx:xx``;
            NetworkNotFound for a network the daemon does not have up.
        """
        if not network_info:
            return None
        from emuvirt.virt.libvirt import guest_config
        nets = []
        for vif in network_info:
            label = ((vif.get('network') or {}).get('label')
                     if hasattr(vif, 'get') else None)
            if not label:
                raise exception.InvalidNetworkInfo(
                    reason='a VIF names no network (network.label)')
            mac = vif.get('address')
            if mac is not None and not MAC_RE.match(mac):
                raise exception.InvalidNetworkInfo(
                    reason="MAC address '%s' is not six hex pairs "
                           "separated by ':'" % mac)
            if mac is not None and int(mac[:2], 16) & 1:
                raise exception.InvalidNetworkInfo(
                    reason="MAC address '%s' is a multicast address "
                           "(its first octet is odd)" % mac)
            if not self._host.has_active_network(label):
                raise exception.NetworkNotFound(network=label)
            nets.append(guest_config.Network(
                type='network', network=label,
                mac=mac.lower() if mac else None))
        return tuple(nets)

    def plan_guest(self, instance, image_meta, networks=None):
        """Take every decision for a guest; nothing is defined.

        ``networks`` (a sequence of :class:`guest_config.Network`) defaults
        to the one NIC spawn gives every guest.
        """
        from emuvirt.virt.libvirt import decide
        from emuvirt.virt.libvirt import guest_config
        props = image_meta.properties
        arch = self.guest_arch(props)
        profile = decide.arch_profile(props, arch)
        self.check_guest_arch(arch, props)
        guest_caps = self._host.require_guest_caps(arch)
        dom_type = self._domain_type(arch, guest_caps)
        machine, _source = decide.machine_type(
            props, self._machine_map, profile, guest_caps,
            recorded=instance.machine_type, dom_type=dom_type)
        domcaps = self._host.get_domain_capabilities(arch, machine, dom_type)
        decide.flavor_fit(instance.flavor.vcpus, instance.flavor.memory_mb,
                          profile, machine, domcaps, guest_caps,
                          host_memory_mib=self._host.get_memory_mb_total())
        boot = self._boot(instance, image_meta, profile)
        loader = decide.boot_loader(profile, boot.direct_kernel)
        fw = None
        if decide.firmware_kind(props, profile, boot.direct_kernel) == 'uefi':
            fw = self._host.get_uefi_firmware(arch, machine, domcaps)
        gfx = decide.graphics(props, profile, domcaps)
        flavor = instance.flavor
        record = metadata.InstanceRecord(
            uuid=instance.uuid, name=instance.name, guest_arch=arch,
            machine_type=machine, vcpus=flavor.vcpus,
            memory_mb=flavor.memory_mb, root_gb=flavor.root_gb,
            ephemeral_gb=flavor.ephemeral_gb, swap=flavor.swap,
            image_path=instance.image_path,
            kernel_path=instance.kernel_path,
            ramdisk_path=instance.ramdisk_path,
            config_drive_path=boot.config_drive_path,
            properties=props.to_dict(),
            disk_format=_recorded_format(instance, image_meta))
        if networks is None:
            networks = self._networks()
        video = decide.video(props, profile, domcaps, gfx)
        plan = guest_config.GuestPlan(
            name=instance.name, uuid=instance.uuid, vcpus=flavor.vcpus,
            memory_mib=flavor.memory_mb, profile=profile,
            domain_type=dom_type, emulator=guest_caps.emulator_for(dom_type),
            machine=machine, instance_dir=instance_dir(instance), boot=boot,
            cpu=decide.cpu(props, self._cpu_map, profile, domcaps, dom_type),
            firmware=fw, graphics=gfx, video=video,
            video_ram_mib=decide.video_ram(props, video),
            input_bus=decide.input_bus(props, profile, gfx),
            disk_bus=decide.disk_bus(props, profile, domcaps),
            cdrom_bus=decide.cdrom_bus(props, profile, machine, domcaps),
            scsi_model=decide.scsi_model(props, profile),
            vif_model=decide.vif_model(props, profile),
            rng_model=decide.rng_model(props, profile, domcaps),
            guest_agent=decide.guest_agent(props, domcaps),
            serial_ports=decide.serial_ports(props, profile),
            boot_menu=decide.boot_menu(props, profile, boot.direct_kernel),
            gic_version=decide.gic_version(profile, domcaps, flavor.vcpus),
            pcie_ports=(CONF.libvirt.num_pcie_ports or
                        profile.default_pcie_ports),
            tb_cache_mib=CONF.libvirt.tb_cache_size,
            networks=tuple(networks), metadata=record.format_dom(),
            boot_loader=loader)
        decide.disk_slots(_disk_slots(plan), profile, machine)
        return plan

    # -- step 5: guest config -> XML --------------------------------------

    def get_guest_config(self, instance, image_meta, networks=None):
        from emuvirt.virt.libvirt import guest_config
        return guest_config.build(
            self.plan_guest(instance, image_meta, networks))

    def get_guest_xml(self, instance, image_meta, networks=None):
        return self.get_guest_config(instance, image_meta, networks).to_xml()

    # -- lifecycle --------------------------------------------------------

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None):
        """plan -> instance dir -> disk, config drive -> define -> start.

        libvirt copies the NVRAM template named in the XML at first start.
        Whatever stops the spawn (an error, KeyboardInterrupt or SIGTERM's
        :class:`emuvirt.interrupt.Terminated`, a lost libvirt connection),
        the guest's domain, NVRAM and directory are removed before the
        error propagates (see :meth:`_remove`). ``network_info`` (shaped
        like Nova's, see :meth:`networks_from_info`) gives the NICs; none
        given, the guest gets one on ``[libvirt]network_name`` (see
        :meth:`plan_guest`).
        """
        from emuvirt.virt import configdrive
        from emuvirt.virt.libvirt import guest_config
        for key in (instance.uuid, instance.name):
            if self._host.lookup_domain(key) is not None:
                raise exception.InstanceExists(name=key)
        plan = self.plan_guest(instance, image_meta,
                               self.networks_from_info(network_info))
        xml = guest_config.build(plan).to_xml()
        made = False
        try:
            # Whole or not at all: a directory that existed before is
            # never adopted, nor removed on failure.
            with interrupt.deferred():
                instance_files.create_dir(plan.instance_dir)
                made = True
            self._create_disk(instance, image_meta, plan.boot)
            _create_local_disks(plan.boot)
            if plan.boot.config_drive_path:
                configdrive.make(plan.boot.config_drive_path, instance,
                                 CONF.mkisofs_cmd)
            guest = self._define(instance, xml)
            LOG.debug('Starting %s (%s guest, machine %s)', instance.name,
                      plan.profile.arch, plan.machine)
            guest.launch()
        except BaseException:
            with excutils.save_and_reraise_exception():
                # The caller reports the error itself.
                if made:
                    LOG.debug('Spawning %s failed; removing what it '
                              'created', instance.name)
                    with interrupt.shielded():
                        self._remove(instance, plan.instance_dir)

    @staticmethod
    def _create_disk(instance, image_meta, boot):
        if not boot.disk_path:
            return
        if boot.cdrom_path:
            instance_files.create_blank(boot.disk_path,
                                        instance.flavor.root_gb)
        else:
            instance_files.create_overlay(
                boot.disk_path, instance.image_path, image_meta.disk_format,
                instance.flavor.root_gb)

    def _define(self, instance, xml):
        try:
            return vguest.Guest(self._host.define_domain(xml))
        except libvirt.libvirtError as e:
            raise exception.GuestOperationFailed(
                action='define', instance=instance.name, reason=str(e))

    def _remove(self, instance, path):
        """Remove a failed spawn: domain (with its NVRAM), directory.

        Every step runs even when one before it failed, and failures are
        logged, not raised: the caller reports the error that stopped the
        spawn. When libvirt cannot be reached, the directory is removed
        at once and the domain, which the daemon would bring back, is
        tried again for ``[libvirt]reconnect_timeout`` seconds.

        :returns: True when nothing is left, False when something may be.
        """
        try:
            domain_gone = self._remove_domain(instance)
            lost = None
        except exception.HypervisorUnavailable as e:
            domain_gone, lost = False, e
        dir_gone = True
        try:
            instance_files.remove_dir(path)
        except OSError as e:
            dir_gone = False
            LOG.warning('Cleaning up %s: cannot remove %s: %s',
                        instance.name, path, e)
        if lost is not None:
            try:
                domain_gone = self._while_unreachable(
                    'remove', instance,
                    lambda: self._remove_domain(instance), lost)
            except exception.HypervisorUnavailable as e:
                LOG.warning('Cleaning up %s: libvirt is still unreachable; '
                            'its domain may be left: %s', instance.name, e)
        return domain_gone and dir_gone

    def _remove_domain(self, instance):
        """Destroy and undefine, each tried; True if the domain is gone.

        :raises: HypervisorUnavailable when libvirt cannot be reached.
        """
        guest = self._lookup(instance)
        if guest is None:
            return True
        gone = True
        for what, step in (('destroy', guest.destroy),
                           ('undefine', guest.undefine)):
            try:
                step()
            except exception.HypervisorUnavailable:
                raise
            except Exception as e:
                gone = False
                LOG.warning('Cleaning up %s: %s failed: %s', instance.name,
                            what, e)
        return gone

    def _while_unreachable(self, action, instance, func, error=None):
        """``func()``, called again while libvirt cannot be reached.

        A lost connection (HypervisorUnavailable, ``error`` if it already
        happened once) is retried about once a second, each time on a new
        connection, for ``[libvirt]reconnect_timeout`` seconds, or until a
        SIGINT/SIGTERM held off by :mod:`emuvirt.interrupt` waits; then
        the last error propagates.
        """
        timeout = CONF.libvirt.reconnect_timeout
        deadline = time.monotonic() + timeout
        warned = False
        while True:
            if error is None:
                try:
                    return func()
                except exception.HypervisorUnavailable as e:
                    error = e
            remaining = deadline - time.monotonic()
            # A Ctrl-C held off by a guard ends the wait (not the rest of
            # the cleanup).
            if remaining <= 0 or interrupt.pending():
                raise error
            if not warned:
                LOG.warning('Cannot %s %s yet: %s; trying again for up to '
                            '%d s', action, instance.name, error, timeout)
                warned = True
            time.sleep(min(RECONNECT_INTERVAL, remaining))
            error = None

    def destroy(self, context, instance, network_info=None,
                block_device_info=None, destroy_disks=True):
        """Stop and undefine the guest, then remove its files.

        A lost libvirt connection is retried for
        ``[libvirt]reconnect_timeout`` seconds (see
        :meth:`_while_unreachable`); the files stay while the domain does.
        """
        def remove_domain():
            guest = self._lookup(instance)
            if guest is not None:
                guest.destroy()
                guest.undefine()

        self._while_unreachable('delete', instance, remove_domain)
        LOG.debug('Deleted %s', instance.name)
        if destroy_disks:
            instance_files.remove_dir(instance_dir(instance))

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_uri=None):
        """Reboot: SOFT (shut down, start) or HARD (rebuild, reset).

        A hard reboot first regenerates the definition from the instance
        record (see :meth:`plan_rebuild`), so recorded image properties
        changed since the last build take effect; if that fails (a
        property the plan refuses, libvirt refusing the XML), the error
        propagates and the guest and its definition are as they were.
        A soft reboot keeps the definition; it turns into a reset (still
        without rebuilding) when the guest does not power off within
        ``[libvirt]shutdown_timeout`` s. A guest that is not running is
        started (by a hard reboot, from the rebuilt definition).
        """
        guest = self._get_guest(instance)
        if reboot_type != 'SOFT':
            self._redefine_from_record(guest)
        elif guest.is_active():
            if self._clean_shutdown(guest, CONF.libvirt.shutdown_timeout):
                guest.launch()
                return
            LOG.warning('%s did not shut down within %d s; resetting it',
                        instance.name, CONF.libvirt.shutdown_timeout)
        guest.destroy()
        guest.launch()

    def plan_rebuild(self, xml):
        """(plan, XML) regenerating the stored definition ``xml``.

        The plan is made from the record in ``xml`` as at spawn; what
        identifies the guest (name, UUID, machine type, NICs, NVRAM, config
        drive) is kept from ``xml`` (see
        :mod:`~emuvirt.virt.libvirt.rebuild`). Nothing is defined.

        :raises: the plan's refusals, naming the property; RecordBroken
            for a record that cannot be read.
        """
        from emuvirt.virt.libvirt import guest_config
        from emuvirt.virt.libvirt import rebuild
        record = metadata.InstanceRecord.from_domain_xml(xml)
        if record is None:
            raise exception.InstanceNotFound(
                instance=etree.fromstring(xml.encode()).findtext('name'))
        if record.broken:
            raise record.error()
        instance, image_meta = rebuild.instance_of(record, xml)
        plan = self.plan_guest(instance, image_meta,
                               networks=rebuild.networks_of(xml))
        new_xml = guest_config.build(plan).to_xml()
        return plan, rebuild.keep_identity(xml, new_xml, plan.instance_dir)

    def _redefine_from_record(self, guest):
        """Replace the stored definition by one rebuilt from the record.

        One ``defineXML``: libvirt takes the whole new definition or keeps
        the old one. A running guest goes on with the old one until it is
        destroyed. The flavor's ephemeral and swap disks are kept as they
        are; only a missing one is made (a guest spawned before emuvirt
        made them), and removed again if libvirt refuses the definition.
        A guest whose record cannot be read keeps its definition (it can
        still be reset, as it can be stopped or deleted); a warning says
        why.
        """
        try:
            plan, xml = self.plan_rebuild(
                guest.get_xml_desc(persistent=True))
        except metadata.RecordBroken as e:
            LOG.warning('%s keeps its definition: %s', guest.name, e)
            return
        # A guest spawned before emuvirt made them has none yet.
        made = _create_local_disks(plan.boot)
        try:
            self._define(guest, xml)
        except BaseException:
            with excutils.save_and_reraise_exception():
                for path in made:
                    instance_files.remove_file(path)
        if made:
            LOG.info('Created %s for %s', ' and '.join(made), guest.name)
        LOG.debug('Rebuilt the definition of %s from its record',
                  guest.name)

    def power_off(self, instance, timeout=0, retry_interval=0):
        """Ask the guest to power off for ``timeout`` s, then destroy it.

        The request is repeated every ``retry_interval`` s (a guest still
        booting may miss the first one). A stopped guest stays as it is.
        """
        guest = self._get_guest(instance)
        if not guest.is_active():
            return
        if timeout and self._clean_shutdown(guest, timeout, retry_interval):
            return
        guest.destroy()

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None):
        guest = self._get_guest(instance)
        if not guest.is_active():
            guest.launch()

    @staticmethod
    def _clean_shutdown(guest, timeout, retry_interval=0):
        """True once the guest is off; False after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                guest.shutdown()
            except exception.GuestOperationFailed:
                # It stopped meanwhile, or refuses to be asked.
                return not guest.is_active()
            if guest.wait_for_shutoff(min(retry_interval or remaining,
                                          remaining)):
                return True

    # -- queries ----------------------------------------------------------

    def _lookup(self, instance):
        """The instance's Guest (by UUID), or None."""
        dom = self._host.lookup_domain(instance.uuid)
        if dom is None or dom.UUIDString() != instance.uuid:
            return None
        return vguest.Guest(dom)

    def domain_exists(self, name_or_uuid):
        """Whether libvirt has a domain of that name or UUID (any domain).

        :raises: HypervisorUnavailable when libvirt cannot be reached.
        """
        return self._host.lookup_domain(name_or_uuid) is not None

    def _get_guest(self, instance):
        guest = self._lookup(instance)
        if guest is None:
            raise exception.InstanceNotFound(instance=instance.name)
        return guest

    def get_info(self, instance, use_cache=True):
        guest = self._get_guest(instance)
        return driver.InstanceInfo(state=guest.get_power_state(),
                                   internal_id=guest.uuid)

    def list_guests(self):
        """[(Guest, record)] of the domains emuvirt defined.

        A record that cannot be read is a
        :class:`~emuvirt.virt.libvirt.metadata.BrokenRecord`: the guest is
        listed with its libvirt name and UUID, ``guest_arch`` ``'?'`` and
        the ``reason``, and never hides the others. Domains without an
        emuvirt record in their metadata are not ours and are left out,
        as are domains that vanish while listed. Any other libvirt error
        propagates: a guest is never left out because it could not be
        read.
        """
        found = []
        for dom in self._host.list_domains():
            guest = vguest.Guest(dom)
            try:
                record = guest.get_record()
            except exception.GuestOperationFailed as e:
                if self._host.lookup_domain(guest.uuid) is not None:
                    raise
                LOG.debug('Skipping a domain that went away: %s', e)
                continue
            if record is not None:
                found.append((guest, record))
        return found

    def list_instances(self):
        return [guest.name for guest, _record in self.list_guests()]

    def list_instance_uuids(self):
        """UUIDs of the emuvirt guests, those with a broken record too."""
        return [guest.uuid for guest, _record in self.list_guests()]

    def find_instance(self, name_or_uuid, broken_ok=False):
        """The Instance of an emuvirt guest, by name or UUID.

        :param broken_ok: for a guest whose record cannot be read, return
            an Instance with only its domain's UUID and name (enough to
            stop or delete it) instead of raising RecordBroken.
        :raises: InstanceNotFound, also for a domain emuvirt did not
            define; RecordBroken (naming the reason) for a guest whose
            record cannot be read.
        """
        dom = self._host.lookup_domain(name_or_uuid)
        guest = vguest.Guest(dom) if dom is not None else None
        record = guest.get_record() if guest is not None else None
        if record is None:
            raise exception.InstanceNotFound(instance=name_or_uuid)
        try:
            if record.broken:
                raise record.error()
            return record.to_instance()
        except metadata.RecordBroken as e:
            if not broken_ok:
                raise
            return metadata.BrokenRecord(
                uuid=guest.uuid, name=guest.name,
                reason=e.kwargs['reason']).to_instance()

    @staticmethod
    def instance_dir(instance):
        """Where the instance's files live (see instance_files)."""
        return instance_files.instance_dir(instance)

    @staticmethod
    def config_drive_path(instance):
        """The instance's config drive file, or None if it has none."""
        return config_drive_path(instance)

    #: Console bytes as text, terminal escapes removed.
    clean_console_text = staticmethod(instance_files.clean_console_text)

    def get_interface_addresses(self, instance):
        """[(MAC, IP address)] of the guest's NICs with a DHCP lease."""
        return self._get_guest(instance).interface_addresses()

    def get_console_log_path(self, instance):
        path = self._get_guest(instance).get_console_log_path()
        return path or os.path.join(instance_dir(instance),
                                    instance_files.CONSOLE_LOG)

    def open_console(self, instance):
        """An interactive session on the guest's console.

        The first console device of the domain: the one the profile makes
        the kernel's (s390x's SCLP console, else serial port 0).

        :returns: a :class:`emuvirt.virt.libvirt.console.Console`.
        :raises: InstanceNotFound; ConsoleUnavailable (not running, or
            libvirt refuses, e.g. another session holds the console).
        """
        # Imported here: only the console command needs the event loop.
        from emuvirt.virt.libvirt import console

        guest = self._get_guest(instance)
        if not guest.is_active():
            raise console.ConsoleUnavailable(
                instance=instance.name,
                reason="not running (start it with 'emuvirt server start "
                       "%s')" % instance.name)
        return console.Console(self._host.uri, guest.uuid, instance.name)

    def get_console_output(self, context, instance):
        """The end of the console log (at most 100 KiB), escapes removed."""
        return instance_files.read_console_log(
            self.get_console_log_path(instance))

    # -- host -------------------------------------------------------------

    def get_available_nodes(self, refresh=False):
        return [CONF.host]


def _recorded_format(instance, image_meta):
    """The image format the record keeps (None without an image)."""
    fmt = image_meta.disk_format if instance.image_path else None
    return fmt if fmt in metadata.DISK_FORMATS else None


def _create_local_disks(boot):
    """Create the flavor's ephemeral and swap disks that are missing."""
    return instance_files.create_local_disks(
        boot.ephemeral_path, boot.ephemeral_gb, boot.swap_path, boot.swap_mb)


def _disk_slots(plan):
    """(what, flavor item, bus, target dev) of the plan's disks."""
    from emuvirt.virt.libvirt import guest_config
    boot = plan.boot
    names = {boot.disk_path: ('root disk', None),
             boot.ephemeral_path: ('ephemeral disk',
                                   ('ephemeral', boot.ephemeral_gb)),
             boot.swap_path: ('swap disk', ('swap', boot.swap_mb)),
             boot.cdrom_path: ('cdrom', None),
             boot.config_drive_path: ('config drive', None)}
    return [names[path] + (bus, dev)
            for path, bus, dev, _device, _fmt in
            guest_config.disk_targets(plan)]


instance_dir = instance_files.instance_dir


def local_disk_path(instance, name, size):
    """The path of an ephemeral or swap disk of ``size``; None for 0."""
    return os.path.join(instance_dir(instance), name) if size else None


def config_drive_path(instance):
    """The instance's config drive file, or None if it has none."""
    from emuvirt.virt import configdrive
    # An Instance built without its defaults has none.
    if not (instance.obj_attr_is_set('config_drive') and
            instance.config_drive):
        return None
    return os.path.join(instance_dir(instance), configdrive.FILE_NAME)

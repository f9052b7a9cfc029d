"""FakeDriver: an in-memory compute driver for tests.

Guests are records in a dict; nothing touches libvirt or the disk. The
host's size is the class attributes :attr:`FakeDriver.vcpus`,
:attr:`FakeDriver.memory_mb` and :attr:`FakeDriver.local_gb`, which tests
may change, and its traits are the ``COMPUTE_ARCH_*`` traits of
``[emulation]enabled_architectures``.
"""

import math

import os_traits

from emuvirt import conf
from emuvirt import exception
from emuvirt.virt import driver
from emuvirt.virt import traits as traits_mod

CONF = conf.CONF

# Standard Placement resource classes.
VCPU = 'VCPU'
MEMORY_MB = 'MEMORY_MB'
DISK_GB = 'DISK_GB'


class FakeGuest(object):
    """One guest of the fake driver."""

    def __init__(self, instance, state):
        self.instance = instance
        self.state = state
        self.console = []


class FakeDriver(driver.ComputeDriver):
    """A compute driver that keeps its guests in memory."""

    capabilities = dict(driver.ComputeDriver.capabilities)

    vcpus = 8
    memory_mb = 16384
    local_gb = 100

    def __init__(self, virtapi=None, read_only=False):
        super().__init__(virtapi, read_only=read_only)
        self.guests = {}
        self.host = None

    def init_host(self, host):
        self.host = host or CONF.host

    def cleanup_host(self, host):
        self.host = None

    def get_available_nodes(self, refresh=False):
        return [self.host or CONF.host]

    def _guest(self, instance):
        try:
            return self.guests[instance.uuid]
        except KeyError:
            raise exception.InstanceNotFound(instance=instance.uuid)

    def _check_writable(self):
        if self.read_only:
            raise exception.EmuvirtException(
                'The fake driver was loaded read-only')

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None):
        self._check_writable()
        if instance.uuid in self.guests:
            raise exception.InstanceExists(name=instance.name)
        guest = FakeGuest(instance, driver.RUNNING)
        guest.console.append('%s booting' % instance.name)
        self.guests[instance.uuid] = guest

    def destroy(self, context, instance, network_info=None,
                block_device_info=None, destroy_disks=True):
        self._check_writable()
        self.guests.pop(instance.uuid, None)

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_uri=None):
        self._check_writable()
        guest = self._guest(instance)
        guest.state = driver.RUNNING
        guest.console.append('%s rebooting (%s)' % (instance.name,
                                                    reboot_type))

    def power_off(self, instance, timeout=0, retry_interval=0):
        self._check_writable()
        self._guest(instance).state = driver.SHUTDOWN

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None):
        self._check_writable()
        guest = self._guest(instance)
        guest.state = driver.RUNNING
        guest.console.append('%s booting' % instance.name)

    def get_info(self, instance, use_cache=True):
        guest = self._guest(instance)
        return driver.InstanceInfo(state=guest.state,
                                   internal_id=instance.uuid)

    def list_instances(self):
        return [guest.instance.name for guest in self.guests.values()]

    def list_instance_uuids(self):
        return list(self.guests)

    def get_console_output(self, context, instance):
        return '\n'.join(self._guest(instance).console) + '\n'

    def get_inventory(self):
        """Return the host's inventory, Placement-style."""
        reserved_disk_gb = int(math.ceil(
            CONF.compute.reserved_host_disk_mb / 1024.0))
        return {
            VCPU: _record(self.vcpus),
            MEMORY_MB: _record(
                self.memory_mb, CONF.compute.reserved_host_memory_mb),
            DISK_GB: _record(self.local_gb, reserved_disk_gb),
        }

    def get_traits(self):
        """Return the ``COMPUTE_ARCH_*`` traits of the enabled arches."""
        traits = set()
        for arch in CONF.emulation.enabled_architectures:
            trait = getattr(os_traits, 'COMPUTE_ARCH_' + arch.upper(), None)
            if trait:
                traits.add(trait)
        return traits

    def update_provider_tree(self, provider_tree, nodename,
                             allocations=None):
        provider_tree.update_inventory(nodename, self.get_inventory())
        # Operators' traits stay; only the driver's own are replaced.
        current = provider_tree.data(nodename).traits
        provider_tree.update_traits(
            nodename, traits_mod.merge(current, self.get_traits()))


def _record(total, reserved=0):
    return {
        'total': total,
        'reserved': reserved,
        'min_unit': 1,
        'max_unit': total,
        'step_size': 1,
        'allocation_ratio': 1.0,
    }

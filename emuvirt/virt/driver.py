"""The compute driver interface and its loader.

:class:`ComputeDriver` keeps Nova's method names and signatures for what
emuvirt implements; a driver overrides what it supports and the rest raise
NotImplementedError. :func:`load_compute_driver` finds a driver by name in
the ``emuvirt.compute_drivers`` entry-point namespace (setup.cfg):
``libvirt``, ``emuvirt`` and ``fake``, emuvirt's own, which it imports
without a search (:data:`BUILTIN_DRIVERS`), or another package's.

Power states (Nova's values, so that records and logs read the same) are
the module constants :data:`NOSTATE`, :data:`RUNNING`, :data:`PAUSED`,
:data:`SHUTDOWN`, :data:`CRASHED` and :data:`SUSPENDED`;
:data:`STATE_MAP` names them.
"""

import importlib

from oslo_log import log as logging
from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exception
from stevedore import extension

from emuvirt import conf
from emuvirt import exception

CONF = conf.CONF
LOG = logging.getLogger(__name__)

NAMESPACE = 'emuvirt.compute_drivers'

NOSTATE = 0x00
RUNNING = 0x01
PAUSED = 0x03
SHUTDOWN = 0x04  # the guest is off (shut down or never started)
CRASHED = 0x06
SUSPENDED = 0x07

STATE_MAP = {
    NOSTATE: 'pending',
    RUNNING: 'running',
    PAUSED: 'paused',
    SHUTDOWN: 'shutdown',
    CRASHED: 'crashed',
    SUSPENDED: 'suspended',
}


class InstanceInfo(object):
    """What :meth:`ComputeDriver.get_info` returns.

    :param state: one of the power state constants of this module.
    :param internal_id: the hypervisor's id for the guest (for libvirt the
        domain UUID), or None.
    """

    def __init__(self, state, internal_id=None):
        self.state = state
        self.internal_id = internal_id

    def __eq__(self, other):
        return (self.__class__ == other.__class__ and
                self.__dict__ == other.__dict__)

    def __repr__(self):
        return 'InstanceInfo(state=%s, internal_id=%r)' % (
            STATE_MAP.get(self.state, self.state), self.internal_id)


class ComputeDriver(object):
    """Base class of compute drivers.

    Drivers are built as ``DriverClass(virtapi, read_only=False)``:

    :param virtapi: the compute service's callback object, or None (the
        command-line tools have none).
    :param read_only: True when the caller only reads (for instance
        ``emuvirt guest-xml``): a driver may then open a read-only
        connection and must not change the host.
    """

    #: What the driver supports, with Nova's keys.
    capabilities = {
        'has_imagecache': False,
        'supports_evacuate': False,
        'supports_migrate_to_same_host': False,
        'supports_attach_interface': False,
        'supports_device_tagging': False,
        'supports_multiattach': False,
    }

    def __init__(self, virtapi=None, read_only=False):
        self.virtapi = virtapi
        self.read_only = read_only

    # Host

    def init_host(self, host):
        """Prepare the host (connect, check options) before first use."""
        raise NotImplementedError()

    def cleanup_host(self, host):
        """Release what :meth:`init_host` took; the default does nothing."""

    def get_available_nodes(self, refresh=False):
        """Return the node names this driver serves (usually one)."""
        raise NotImplementedError()

    def update_provider_tree(self, provider_tree, nodename,
                             allocations=None):
        """Update the inventory and traits of ``nodename`` in the tree."""
        raise NotImplementedError()

    # Instance lifecycle

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None):
        """Create and start a guest for ``instance``.

        :param instance: emuvirt.objects.instance.Instance
        :param image_meta: emuvirt.objects.image_meta.ImageMeta
        """
        raise NotImplementedError()

    def destroy(self, context, instance, network_info=None,
                block_device_info=None, destroy_disks=True):
        """Stop and undefine the guest; a missing guest is not an error."""
        raise NotImplementedError()

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_uri=None):
        """Reboot the guest; ``reboot_type`` is ``SOFT`` or ``HARD``."""
        raise NotImplementedError()

    def power_off(self, instance, timeout=0, retry_interval=0):
        """Power the guest off, first cleanly for ``timeout`` seconds."""
        raise NotImplementedError()

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None):
        """Power the guest on."""
        raise NotImplementedError()

    # Queries

    def get_info(self, instance, use_cache=True):
        """Return an :class:`InstanceInfo` for the guest.

        :raises: InstanceNotFound
        """
        raise NotImplementedError()

    def list_instances(self):
        """Return the names of the guests this driver manages."""
        raise NotImplementedError()

    def list_instance_uuids(self):
        """Return the UUIDs of the guests this driver manages."""
        raise NotImplementedError()

    def instance_exists(self, instance):
        """Whether the driver knows the guest (by UUID, else by name)."""
        try:
            return instance.uuid in self.list_instance_uuids()
        except NotImplementedError:
            return instance.name in self.list_instances()

    def get_console_output(self, context, instance):
        """Return the guest's console log as text."""
        raise NotImplementedError()


def available_drivers():
    """Return the sorted names of the drivers that can be loaded."""
    manager = extension.ExtensionManager(NAMESPACE)
    return sorted(manager.names())


def _reraise(manager, entrypoint, exc):
    # Without this stevedore logs an import or constructor error and
    # reports the driver as missing; the real error says more.
    raise exc


# The drivers emuvirt ships, as setup.cfg registers them in NAMESPACE (a
# unit test keeps the two equal). They are imported directly: finding an
# entry point makes stevedore check every installed distribution (~5 ms
# from its cache, 100 ms and more when the cache is stale or off, as for a
# Python under /tmp), in a command that takes little more.
BUILTIN_DRIVERS = {
    'emuvirt': 'emuvirt.virt.emulation:EmuVirtDriver',
    'fake': 'emuvirt.virt.fake:FakeDriver',
    'libvirt': 'emuvirt.virt.libvirt.driver:LibvirtDriver',
}


def load_compute_driver(virtapi=None, compute_driver=None, read_only=False):
    """Load and instantiate a compute driver.

    A name of :data:`BUILTIN_DRIVERS` is emuvirt's own driver; any other
    is looked up in the entry-point namespace.

    :param virtapi: passed to the driver (see :class:`ComputeDriver`).
    :param compute_driver: driver name; default ``[DEFAULT]compute_driver``.
    :param read_only: passed to the driver as ``read_only``.
    :returns: a :class:`ComputeDriver` instance.
    :raises: DriverNotFound listing the available names for an unknown
        name; errors raised while importing or building the driver
        propagate unchanged.
    """
    name = compute_driver or CONF.compute_driver
    LOG.debug("Loading compute driver '%s'", name)
    if name in BUILTIN_DRIVERS:
        module, _sep, attr = BUILTIN_DRIVERS[name].partition(':')
        cls = getattr(importlib.import_module(module), attr)
        drv = cls(virtapi, read_only=read_only)
    else:
        drv = _load_entry_point(name, virtapi, read_only)
    if not isinstance(drv, ComputeDriver):
        raise TypeError("Compute driver '%s' (%s) is not a ComputeDriver"
                        % (name, type(drv).__name__))
    return drv


def _load_entry_point(name, virtapi, read_only):
    try:
        manager = stevedore_driver.DriverManager(
            NAMESPACE, name,
            invoke_on_load=True,
            invoke_args=(virtapi,),
            invoke_kwds={'read_only': read_only},
            on_load_failure_callback=_reraise)
    except stevedore_exception.NoMatches:
        raise exception.DriverNotFound(
            name=name, available=', '.join(available_drivers()))
    return manager.driver

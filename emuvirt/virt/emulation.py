"""EmuVirtDriver: guests of any architecture the host can emulate.

The only thing it changes in the libvirt driver is the answer to the first
question, "what is the guest arch?": ``hw_emulation_architecture``, else
``hw_architecture``, else the host's own. Everything after that is the
same code path for native and foreign guests; a foreign guest simply gets
domain type ``qemu`` (TCG) even when ``[libvirt]virt_type`` is ``kvm``.
"""

from emuvirt import conf
from emuvirt.virt.libvirt import driver as libvirt_driver

CONF = conf.CONF

# The decisions (decide), the capability probe and the provider tree are
# imported where used, as in the libvirt driver: listing or powering
# guests needs none of them.


class EmuVirtDriver(libvirt_driver.LibvirtDriver):
    """The emulation-aware compute driver (``compute_driver = emuvirt``)."""

    def __init__(self, virtapi=None, read_only=False, host=None):
        super().__init__(virtapi, read_only=read_only, host=host)
        self._capability_probe = None

    @property
    def capability_probe(self):
        """What the host can really run: a CapabilityProbe, made on use.

        It probes again only when an emulator or firmware file changes.
        """
        if self._capability_probe is None:
            from emuvirt.virt import hostcaps
            self._capability_probe = hostcaps.CapabilityProbe(self._host,
                                                              CONF)
        return self._capability_probe

    def guest_arch(self, props):
        from emuvirt.virt.libvirt import decide
        return decide.guest_arch(props, self._host.host_arch)

    def is_foreign(self, arch):
        return arch != self._host.host_arch

    def check_guest_arch(self, arch, props=None):
        from emuvirt.virt.libvirt import decide
        decide.emulation_enabled(arch, self._host.host_arch,
                                 CONF.emulation.enabled_architectures,
                                 props)

    def _domain_type(self, arch, guest_caps):
        # The one host fact guest config may use: KVM only for the host's
        # own arch; a foreign guest always runs under TCG.
        from emuvirt.virt.libvirt import decide
        return decide.domain_type(CONF.libvirt.virt_type, guest_caps,
                                  foreign=self.is_foreign(arch))

    def update_provider_tree(self, provider_tree, nodename,
                             allocations=None):
        """Inventory from the host; a trait per arch it can really run."""
        from emuvirt.virt import provider_tree as provider_tree_mod
        provider_tree_mod.update_provider_tree(
            provider_tree, nodename, self._host,
            self.capability_probe.get(), CONF)

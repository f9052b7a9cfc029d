"""EmuVirtDriver: guests of any architecture the host can emulate.

The only thing it changes in the libvirt driver is the answer to the first
question, "what is the guest arch?": ``hw_emulation_architecture``, else
``hw_architecture``, else the host's own. Everything after that is the
same code path for native and foreign guests; a foreign guest simply gets
domain type ``qemu`` (TCG) even when ``[libvirt]virt_type`` is ``kvm``.
"""

from emuvirt import conf
from emuvirt import exception
from emuvirt.virt.libvirt import driver as libvirt_driver

CONF = conf.CONF


class EmuVirtDriver(libvirt_driver.LibvirtDriver):
    """The emulation-aware compute driver (``compute_driver = emuvirt``)."""

    def guest_arch(self, props):
        return (props.get('hw_emulation_architecture') or
                props.get('hw_architecture') or
                self._host.host_arch)

    def is_foreign(self, arch):
        return arch != self._host.host_arch

    def check_guest_arch(self, arch):
        enabled = CONF.emulation.enabled_architectures
        if self.is_foreign(arch) and arch not in enabled:
            raise exception.ArchitectureNotSupported(
                arch=arch,
                reason='it is not in option '
                       '[emulation]enabled_architectures (%s)' %
                       ', '.join(enabled))

    def _domain_type(self, arch, guest_caps):
        # The one host fact guest config may use: KVM only for the host's
        # own arch; a foreign guest always runs under TCG.
        if self.is_foreign(arch):
            return 'qemu'
        return super()._domain_type(arch, guest_caps)

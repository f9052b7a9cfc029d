"""emuvirt's view of the host, over the connection Nova already has.

The Nova flavour asks the same questions of libvirt as the standalone
driver (capabilities per guest arch, domain capabilities per arch, machine
and domain type, UEFI firmware), parsed and cached by emuvirt's own
:class:`emuvirt.virt.libvirt.host.Host`. This subclass only changes where
the connection comes from: Nova's ``nova.virt.libvirt.host.Host``, so that
nova-compute keeps one connection and Nova's test fixtures (which replace
the libvirt module) serve both.
"""

from emuvirt.virt.libvirt import host as vhost


class NovaHost(vhost.Host):
    """An emuvirt Host whose connection is Nova's."""

    def __init__(self, nova_host):
        super().__init__(uri=nova_host._uri or vhost.DEFAULT_URI)
        self._nova_host = nova_host

    def get_connection(self):
        # Nova reconnects (and reports the service down) by itself.
        return self._nova_host.get_connection()

    def close(self):
        """Nova owns the connection: nothing to close here."""

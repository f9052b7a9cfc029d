"""Nova's own in-process services on the real libvirt daemon.

``tox -e nova-integration``: Nova's functional harness (API, conductor,
scheduler, an in-process Placement and one compute) whose compute drives the
private libvirtd of ``tools/emuvirt-host`` with real QEMU guests; see
``base.py``.
"""

# Nova's test package applies eventlet monkey patching when it is imported;
# it must come before anything else a test module imports.
import nova.tests  # noqa: F401

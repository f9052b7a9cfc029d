"""emuvirt inside OpenStack Nova.

A subclass of Nova's own libvirt driver (:mod:`emuvirt.nova.driver`) that
nova-compute loads with ``[DEFAULT] compute_driver = emuvirt.EmuVirtDriver``
(the shim module ``nova.virt.emuvirt`` that emuvirt installs into Nova's
tree names it). Nova keeps the API, scheduling, networking, volumes,
images, snapshots and migration; every guest-architecture question is
answered by emuvirt's profile table (:mod:`emuvirt.virt.archs`) and
decision functions (:mod:`emuvirt.virt.libvirt.decide`), the same ones the
standalone driver asks.

Nothing here imports Nova at package import time; modules that a Nova
process imports register no option that Nova already has.
"""

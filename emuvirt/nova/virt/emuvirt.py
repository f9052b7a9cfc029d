"""Installed as ``nova/virt/emuvirt.py``, outside the emuvirt package.

Nova 34 loads ``[DEFAULT] compute_driver`` as ``nova.virt.<value>``; this
module is what ``compute_driver = emuvirt.EmuVirtDriver`` names.  setup.cfg
maps this directory onto ``nova.virt`` and installs this one file there (no
``__init__.py`` of Nova's packages), so uninstalling emuvirt removes just it.
"""

from emuvirt.nova.driver import EmuVirtDriver  # noqa: F401

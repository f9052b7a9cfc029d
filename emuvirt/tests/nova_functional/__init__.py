"""Nova's in-process functional harness running emuvirt's Nova driver.

Importing ``nova.tests.functional`` applies Nova's monkey patching
(eventlet unless ``OS_NOVA_DISABLE_EVENTLET_PATCHING`` says otherwise), as
it does for Nova's own functional tests; doing it here makes it happen
before a test module loads anything else.
"""

import nova.tests.functional  # noqa: F401

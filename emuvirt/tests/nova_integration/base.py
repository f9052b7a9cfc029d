"""Nova's functional harness with one compute on the real libvirt daemon.

``NovaIntegrationTestCase`` runs Nova 34's in-process services from
``nova.tests.functional.integrated_helpers`` (API, conductor, scheduler, an
in-process Placement, Nova's Glance and Neutron fixtures) with ONE compute
service whose virt driver (``COMPUTE_DRIVER``) talks to the private libvirtd
of ``tools/emuvirt-host`` and so starts real QEMU guests.

Nova's TestCase guards on purpose against exactly that; ``RealHostFixture``
undoes, for the whole test process while a test runs, each guard a compute
on a real host trips over (see its docstring), and ``OwnDomainsFixture``
shows each test's compute only the domains of its own test, so parallel
test workers share the one daemon.  Nothing else of Nova's harness changes
(its Neutron fixture serves no networks: servers boot with none).

Images are served by Nova's GlanceFixture with real bytes: per arch a
kernel (``aki``) and a ramdisk (``ari``) image holding the Debian kernel of
``tools/guest-images`` and the initramfs of ``tools/nova-guest-images``, and
a small qcow2 disk image whose only property besides ``kernel_id`` and
``ramdisk_id`` is ``hw_emulation_architecture``.  The initramfs prints
``EMUVIRT-BOOT: <boot id>`` then ``EMUVIRT-UNAME: <uname -m>`` on its
console at each boot, looks for a config drive, and keeps running.

What is missing (libvirt-python, the daemon, a guest image) skips a test on
a developer's machine and fails it when ``CI`` is true, as in
``emuvirt.tests.integration``.

Environment:

``EMUVIRT_NOVA_COMPUTE_DRIVER``
    overrides ``COMPUTE_DRIVER`` of every class (e.g.
    ``libvirt.LibvirtDriver`` to watch stock Nova on the same tests);
``EMUVIRT_LIBVIRT_URI``, ``EMUVIRT_RUNDIR``, ``EMUVIRT_GUEST_IMAGES``
    as for the integration tests.
"""

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from xml.etree import ElementTree

import fixtures
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional.api import client as api_client
from nova.tests.functional import integrated_helpers
import psutil
from testtools import content

from emuvirt.tests.integration import base as it_base

try:
    import libvirt
except ImportError as e:  # pragma: no cover - reported by each test
    libvirt = None
    LIBVIRT_IMPORT_ERROR = str(e)

NOVA_IMAGES_TOOL = 'tools/nova-guest-images'
BOOT_MARKER = 'EMUVIRT-BOOT: '
UNAME_MARKER = 'EMUVIRT-UNAME: '
READY_MARKER = 'EMUVIRT-READY: '
POWEROFF_MARKER = 'EMUVIRT-POWEROFF: '
BLOCK_MARKER = 'EMUVIRT-BLOCK: '
CONFIG_DRIVE_MARKER = 'EMUVIRT-CONFIG-DRIVE: '

# The functions Nova's TestCase poisons that a real compute calls, as they
# are before any test runs (this module is imported before the first test
# starts).
_REAL = {
    'os.uname': os.uname,
    'psutil.net_if_addrs': psutil.net_if_addrs,
}


def _real_libvirtmod_qemu():
    try:
        import libvirtmod_qemu
    except ImportError:
        return None
    return libvirtmod_qemu


_LIBVIRTMOD_QEMU = _real_libvirtmod_qemu()


class RealHostFixture(fixtures.Fixture):
    """Undo the guards of nova.test.TestCase that stop a real compute.

    Each is undone by patching the original object back over Nova's patch,
    so that Nova's fixtures still clean up as they would:

    * the ``libvirt`` module that ``nova.virt.libvirt.{driver,host,guest,
      migration}`` use is the real libvirt-python.  Nothing in this harness
      replaces it (Nova's LibvirtFixture, which swaps in its fake, is not
      used; ImportModulePoisonFixture only stops new imports, and those
      modules imported libvirt when nova.test was imported): patched back
      anyway, so that a fixture added later cannot leave the fake there;
    * ``os.uname`` (GenericPoisonFixture): Nova asks it for the host arch
      (``Architecture.from_host()``, e.g. from ``blockinfo`` when it picks
      the root disk's bus); poisoned, every build fails "Failure prepping
      block device";
    * ``psutil.net_if_addrs`` (GenericPoisonFixture): the driver's
      ``init_host`` checks ``my_ip`` against the host's addresses
      (``_check_my_ip``); poisoned, the compute does not start;
    * privsep (PrivsepNoHelperFixture refuses to start the helper): Nova's
      ``sys_admin_pctxt`` runs in this process instead (Nova's own
      PrivsepFixture), which works because the tests run as root; instance
      dirs, disk images, the console log and the config drive are made this
      way; otherwise every build fails;
    * the libvirt event thread (PoisonFunctions makes ``_init_events`` exit
      the process): ``Host._init_events`` does nothing, as in Nova's own
      libvirt tests, so no lifecycle events arrive and the driver polls the
      domain state wherever it waits for one.  Nova's real event threads
      are not an option: nothing stops them, so the test's thread pool
      never shuts down and the test hangs at its end.

    SysFsPoisonFixture (no ``open``, ``os.listdir``, ``glob`` or
    ``os.path.isdir`` under /sys) stays: with a real libvirt, Nova asks the
    daemon, and none of these tests touches /sys.
    """

    def setUp(self):
        super().setUp()
        for mod in ('driver', 'host', 'guest', 'migration'):
            self.useFixture(fixtures.MonkeyPatch(
                'nova.virt.libvirt.%s.libvirt' % mod, libvirt))
        if _LIBVIRTMOD_QEMU is not None:
            self.useFixture(fixtures.MonkeyPatch(
                'nova.virt.libvirt.guest.libvirtmod_qemu', _LIBVIRTMOD_QEMU))
        for name, real in _REAL.items():
            self.useFixture(fixtures.MonkeyPatch(name, real))
        self.useFixture(nova_fixtures.PrivsepFixture())
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.host.Host._init_events'))


class OwnDomainsFixture(fixtures.Fixture):
    """The compute lists only the domains of its own test.

    Test workers run in parallel against one daemon, each with its own
    Nova database; a compute that saw another test's guests would refuse to
    start ("My hypervisor has existing instances, but I appear to be a new
    service") or count them as its own.  Each test names its domains with a
    prefix of its own (``instance_name_template``), and
    ``Host.list_instance_domains``, which every listing of Nova's libvirt
    driver goes through, keeps only the domains with that prefix, as if
    each test had a hypervisor of its own.
    """

    def __init__(self, prefix):
        super().__init__()
        self.prefix = prefix

    def setUp(self):
        super().setUp()
        from nova.virt.libvirt import host as nova_host
        orig = nova_host.Host.list_instance_domains
        prefix = self.prefix

        def list_instance_domains(host, only_running=True):
            return [dom for dom in orig(host, only_running=only_running)
                    if dom.name().startswith(prefix)]

        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.host.Host.list_instance_domains',
            list_instance_domains))


def api_paste_config():
    """Where Nova's wheel put api-paste.ini (``<prefix>/etc/nova``)."""
    try:
        dist = importlib.metadata.distribution('nova')
        for f in dist.files or ():
            if str(f).replace(os.sep, '/').endswith('etc/nova/api-paste.ini'):
                path = os.path.realpath(dist.locate_file(f))
                if os.path.isfile(path):
                    return path
    except importlib.metadata.PackageNotFoundError:
        pass
    for prefix in (sys.prefix, sys.base_prefix, '/usr/local', '/usr'):
        path = os.path.join(prefix, 'etc', 'nova', 'api-paste.ini')
        if os.path.isfile(path):
            return path
    return None


class NovaGuestImage(object):
    """A kernel + the Nova test initramfs of one arch (paths and markers)."""

    def __init__(self, arch):
        try:
            base = it_base.load_guest_image(arch)
        except it_base.Missing as e:
            # x86_64 comes from tools/nova-guest-images, which also fetches
            # what tools/guest-images would.
            raise it_base.Missing('%s; "%s build %s" fetches it too'
                                  % (e, NOVA_IMAGES_TOOL, arch))
        d = os.path.join(it_base.images_dir(), 'nova', arch)
        self.arch = arch
        self.kernel = base.kernel
        self.initrd = os.path.join(d, 'initrd.img')
        meta = os.path.join(d, 'image.json')
        if not (os.path.isfile(self.initrd) and os.path.isfile(meta)):
            raise it_base.Missing(
                'the Nova test initramfs of %s (%s not found; run "%s build '
                '%s")' % (arch, self.initrd, NOVA_IMAGES_TOOL, arch))
        with open(meta) as f:
            self.meta = json.load(f)
        if self.meta.get('format', 0) < 9:
            raise it_base.Missing(
                'a current Nova test initramfs of %s (%s is older than '
                'this test; run "%s build %s")'
                % (arch, self.initrd, NOVA_IMAGES_TOOL, arch))
        self.marker = self.meta['marker']
        self.expected_uname = self.meta['expected_uname']


def boots(text):
    """The guest boots a console shows, in order.

    Each is a dict: ``id`` (the kernel's boot_id), ``uname`` (``uname -m``,
    or None until printed), ``ready`` (True once the guest acts on a power
    button), ``block`` (the block devices it saw) and ``config_drive``
    (what it read from one, or None).
    """
    out = []
    for line in text.splitlines():
        for marker, key in ((BOOT_MARKER, 'id'), (UNAME_MARKER, 'uname'),
                            (READY_MARKER, 'ready'), (BLOCK_MARKER, 'block'),
                            (CONFIG_DRIVE_MARKER, 'config_drive')):
            i = line.find(marker)
            if i < 0:
                continue
            value = line[i + len(marker):].strip()
            if key == 'id':
                out.append({'id': value, 'uname': None, 'ready': False,
                            'block': None, 'config_drive': None})
            elif out and key == 'ready':
                out[-1]['ready'] = out[-1]['ready'] or value == out[-1]['id']
            elif out:
                out[-1][key] = value
            break
    return out


class NovaIntegrationTestCase(integrated_helpers._IntegratedTestBase):
    """Nova's API -> conductor -> scheduler -> compute on the real daemon."""

    #: The ``compute_driver`` of the one compute (``nova.virt.<value>``).
    COMPUTE_DRIVER = 'emuvirt.EmuVirtDriver'
    ADMIN_API = True
    microversion = 'latest'
    #: Flavor of every server: small, since guests run under TCG.
    FLAVOR = dict(memory_mb=512, vcpu=1, disk=1, ephemeral=0, swap=0)
    #: Seconds any one guest may take to boot to its marker.
    BOOT_TIMEOUT = 240
    #: Seconds a server may take to reach a state.
    STATE_TIMEOUT = 240
    #: [DEFAULT] shutdown_timeout: a guest that ignores the power button is
    #: destroyed after this many seconds on stop.
    SHUTDOWN_TIMEOUT = 10
    #: [libvirt] wait_soft_reboot_seconds: a soft reboot that the guest
    #: ignores becomes a hard one after this many seconds.
    WAIT_SOFT_REBOOT_SECONDS = 10
    #: Programs the tests need on this host: (program, Debian package).
    #: Nova runs qemu-img for every image.
    REQUIRED_PROGRAMS = (('qemu-img', 'qemu-utils'),)

    def compute_driver(self):
        return (os.environ.get('EMUVIRT_NOVA_COMPUTE_DRIVER') or
                self.COMPUTE_DRIVER)

    # ------------------------------------------------------------- set up

    def require_missing(self, what):
        """Skip for lack of ``what``; with CI=true fail instead."""
        if it_base.in_ci():
            self.fail('CI=true and this machine lacks %s' % what)
        self.skipTest('missing %s' % what)

    def setUp(self):
        # What the real host must offer is checked before Nova's harness
        # starts, so that a skip costs nothing.
        if libvirt is None:
            self.require_missing('libvirt-python (%s)' % LIBVIRT_IMPORT_ERROR)
        try:
            self.uri = it_base.find_uri()
        except it_base.Missing as e:
            self.require_missing(str(e))
        try:
            libvirt.registerErrorHandler(lambda ctx, err: None, None)
            self.conn = libvirt.open(self.uri)
        except libvirt.libvirtError as e:
            self.require_missing('a libvirt daemon answering at %s (%s; run '
                                 '"tools/emuvirt-host start")'
                                 % (self.uri, e))
        for prog, package in self.REQUIRED_PROGRAMS:
            if not shutil.which(prog):
                self.require_missing('%s (Debian package %s)'
                                     % (prog, package))
        self.paste = api_paste_config()
        if not self.paste:
            self.require_missing("Nova's api-paste.ini (etc/nova/ of the "
                                 "nova wheel)")
        self.timings = []
        self._t0 = time.monotonic()
        super().setUp()
        self.addCleanup(self.conn.close)
        self.addCleanup(self._destroy_leftovers)
        self.record('harness up')

    def _setup_services(self):
        # Called by _IntegratedTestBase.setUp after its fixtures (config,
        # Placement, Glance, Neutron, ...) and before any service starts.
        self.instances_path = self.useFixture(fixtures.TempDir()).path
        # QEMU runs as root under the daemon; it must reach the disks.
        os.chmod(self.instances_path, 0o755)
        # Every domain of this test is named <prefix><instance uuid> (the
        # default template uses the DB's ids, which each test restarts).
        self.domain_prefix = 'emuvirt-nova-%s-' % uuid.uuid4().hex[:8]
        self.flags(compute_driver=self.compute_driver(),
                   instances_path=self.instances_path,
                   instance_name_template=self.domain_prefix + '%(uuid)s',
                   shutdown_timeout=self.SHUTDOWN_TIMEOUT)
        self.flags(connection_uri=self.uri, virt_type='qemu',
                   wait_soft_reboot_seconds=self.WAIT_SOFT_REBOOT_SECONDS,
                   group='libvirt')
        self.flags(api_paste_config=self.paste, group='wsgi')
        # One compute: a failed build is not rescheduled, so the server's
        # fault is the compute's own error rather than "exhausted hosts".
        self.flags(max_attempts=1, group='scheduler')
        self.useFixture(RealHostFixture())
        self.useFixture(OwnDomainsFixture(self.domain_prefix))
        self._keep_snapshot_bytes()
        self.servers_created = []
        super()._setup_services()
        self.flavor_id = self._create_flavor(
            name='emuvirt-tiny', **self.FLAVOR)
        self._disk_bytes = None
        self._arch_images = {}

    def _keep_snapshot_bytes(self):
        # GlanceFixture.update() drops the data a snapshot uploads; keep it
        # (and its size), as Glance would.
        glance = self.glance
        orig_update = glance.update

        def update(context, image_id, metadata, data=None,
                   purge_props=False):
            image = orig_update(context, image_id, metadata, data=None,
                                purge_props=purge_props)
            if data is not None:
                blob = (data.read() if hasattr(data, 'read')
                        else b''.join(data))
                glance._imagedata[image_id] = blob
                image['size'] = len(blob)
            return image

        glance.update = update

    def record(self, what):
        """Note how long the test has taken so far (a test detail)."""
        self.timings.append((what, time.monotonic() - self._t0))
        self.addDetail('timings', content.text_content('\n'.join(
            '%7.2f s  %s' % (t, w) for w, t in self.timings)))

    # ------------------------------------------------------------- images

    def guest_image(self, arch):
        try:
            return NovaGuestImage(arch)
        except it_base.Missing as e:
            self.require_missing(str(e))

    def require_emulator(self, arch):
        """The daemon must offer a QEMU emulator for ``arch`` guests."""
        caps = ElementTree.fromstring(self.conn.getCapabilities())
        for guest in caps.findall('guest'):
            a = guest.find('arch')
            if a is not None and a.get('name') == arch:
                return
        self.require_missing(
            'a QEMU emulator for %s guests in the daemon\'s capabilities '
            '(Debian package %s; "tools/emuvirt-host install", then restart '
            'the daemon)' % (arch, it_base.EMULATOR_PACKAGES.get(
                arch, 'qemu-system-*')))

    def _disk_image_bytes(self):
        if self._disk_bytes is None:
            path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                'disk.qcow2')
            subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', path,
                            '64M'], check=True, stdin=subprocess.DEVNULL)
            with open(path, 'rb') as f:
                self._disk_bytes = f.read()
        return self._disk_bytes

    def _glance_image(self, name, container_format, disk_format, data,
                      properties=None):
        image = {
            'name': name,
            'status': 'active',
            'deleted': False,
            'deleted_at': None,
            'is_public': True,
            'visibility': 'public',
            'protected': False,
            'container_format': container_format,
            'disk_format': disk_format,
            'size': len(data),
            'min_ram': 0,
            'min_disk': 0,
            'tags': [],
            'properties': dict(properties or {}),
        }

        class _Data(object):
            def read(self):
                return data

        return self.glance.create(None, image, data=_Data())['id']

    def create_arch_images(self, arch, properties=None):
        """Register kernel, ramdisk and disk images of ``arch`` in Glance.

        The disk image carries only ``hw_emulation_architecture`` (plus
        ``kernel_id``/``ramdisk_id``) unless ``properties`` replaces that.
        Returns the disk image's id.
        """
        img = self.guest_image(arch)
        self.require_emulator(arch)
        with open(img.kernel, 'rb') as f:
            kernel = self._glance_image('emuvirt-%s-kernel' % arch, 'aki',
                                        'aki', f.read())
        with open(img.initrd, 'rb') as f:
            ramdisk = self._glance_image('emuvirt-%s-ramdisk' % arch, 'ari',
                                         'ari', f.read())
        props = ({'hw_emulation_architecture': arch} if properties is None
                 else dict(properties))
        props.update(kernel_id=kernel, ramdisk_id=ramdisk)
        disk = self._glance_image('emuvirt-%s-disk' % arch, 'bare', 'qcow2',
                                  self._disk_image_bytes(), props)
        self._arch_images[disk] = img
        return disk

    # ------------------------------------------------------------ servers

    def boot_server(self, image_id, expected='ACTIVE', **extra):
        """Create a server through the API and wait for ``expected``."""
        body = self._build_server(image_uuid=image_id,
                                  flavor_id=self.flavor_id,
                                  networks='none')
        body.update(extra)
        server = self.api.post_server({'server': body})
        self.servers_created.append(server['id'])
        return self.wait_for_status(server['id'], expected)

    def wait_for_status(self, server_id, status, task_state=None,
                        timeout=None):
        """Poll the API until the server has ``status`` and no task.

        Fails at once on an unexpected ERROR, with the fault.
        """
        deadline = time.monotonic() + (timeout or self.STATE_TIMEOUT)
        while True:
            server = self.api.get_server(server_id)
            task = server.get('OS-EXT-STS:task_state')
            if server['status'] == status and task == task_state:
                return server
            if server['status'] == 'ERROR' and status != 'ERROR':
                self.fail('server %s went to ERROR instead of %s: %s'
                          % (server_id, status, server.get('fault')))
            if time.monotonic() >= deadline:
                self.fail('server %s is %s (task %s), not %s, after %d s'
                          % (server_id, server['status'], task, status,
                             timeout or self.STATE_TIMEOUT))
            time.sleep(0.2)

    def console_output(self, server_id):
        """The console log through Nova's os-getConsoleOutput action."""
        return self.api.post_server_action(
            server_id, {'os-getConsoleOutput': {}})['output']

    def wait_for_boot(self, server_id, arch, seen=(), ready=True,
                      config_drive=False, timeout=None):
        """Wait until the console shows a boot not in ``seen``.

        A boot is the initramfs' ``EMUVIRT-BOOT: <id>`` line followed by
        its ``EMUVIRT-UNAME:`` line; with ``ready``, also by its
        ``EMUVIRT-READY: <id>`` line (from then on the guest powers off
        when asked); with ``config_drive``, also by what it found on a
        config drive (``EMUVIRT-CONFIG-DRIVE:``, "none" after 30 s of
        looking).  Returns the boot (see ``boots``) and the console text,
        and fails unless ``uname -m`` is what the arch's kernel says.
        """
        img = self._image_of_arch(arch)
        timeout = timeout or self.BOOT_TIMEOUT
        deadline = time.monotonic() + timeout
        text = ''
        while True:
            text = self.console_output(server_id)
            new = [b for b in boots(text)
                   if b['id'] not in seen and b['uname'] is not None and
                   (b['ready'] or not ready) and
                   (b['config_drive'] is not None or not config_drive)]
            if new:
                boot = new[-1]
                self.addDetail('console-%s-%s' % (server_id[:8],
                                                  boot['id'][:8]),
                               content.text_content(text))
                self.assertEqual(img.expected_uname, boot['uname'],
                                 'uname -m of the %s guest' % arch)
                self.assertIn(img.marker, text)
                return boot, text
            if time.monotonic() >= deadline:
                self.addDetail('console-%s' % server_id[:8],
                               content.text_content(text))
                self.fail('the console of server %s showed no new boot '
                          '(%r%s%s) within %d s; it ended with:\n%s'
                          % (server_id, img.marker,
                             ', ready' if ready else '',
                             ', config drive' if config_drive else '',
                             timeout, text[-3000:]))
            time.sleep(0.5)

    def _image_of_arch(self, arch):
        for img in self._arch_images.values():
            if img.arch == arch:
                return img
        return self.guest_image(arch)

    def wait_for_console(self, server_id, pattern, timeout=None):
        """Wait until the console output matches ``pattern`` (a regex)."""
        timeout = timeout or self.BOOT_TIMEOUT
        deadline = time.monotonic() + timeout
        while True:
            text = self.console_output(server_id)
            m = re.search(pattern, text)
            if m:
                return m
            if time.monotonic() >= deadline:
                self.addDetail('console-%s' % server_id[:8],
                               content.text_content(text))
                self.fail('the console of server %s never matched %r in '
                          '%d s; it ended with:\n%s'
                          % (server_id, pattern, timeout, text[-3000:]))
            time.sleep(0.5)

    # ------------------------------------------------------- host checks

    def domain(self, server_id):
        """The libvirt domain of a server (by its uuid), or None."""
        try:
            return self.conn.lookupByUUIDString(server_id)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def domain_state(self, server_id):
        dom = self.domain(server_id)
        return None if dom is None else dom.state()[0]

    def instance_files(self, server_id):
        """What instances_path holds for a server (its dir, ``_del``...)."""
        return sorted(f for f in os.listdir(self.instances_path)
                      if f.startswith(server_id))

    def console_log(self, server_id):
        """The console log file of a server (what Nova's API reads)."""
        path = os.path.join(self.instances_path, server_id, 'console.log')
        with open(path, 'rb') as f:
            return f.read().decode(errors='replace')

    def allocations(self, server_id):
        return self.placement.get(
            '/allocations/%s' % server_id).body['allocations']

    def assert_gone(self, server_id):
        """No domain, no file and no Placement allocation is left."""
        self.assertIsNone(self.domain(server_id),
                          'libvirt still has a domain for %s' % server_id)
        self.assertEqual([], self.instance_files(server_id))
        self.assertEqual({}, self.allocations(server_id))

    def delete_server(self, server_id, timeout=None):
        self.api.delete_server(server_id)
        deadline = time.monotonic() + (timeout or self.STATE_TIMEOUT)
        while True:
            try:
                self.api.get_server(server_id)
            except api_client.OpenStackApiNotFoundException:
                return
            if time.monotonic() >= deadline:
                self.fail('server %s still exists %d s after delete'
                          % (server_id, timeout or self.STATE_TIMEOUT))
            time.sleep(0.2)

    def _destroy_leftovers(self):
        # A failed test must not leave QEMU running on the shared daemon.
        for server_id in self.servers_created:
            dom = self.domain(server_id)
            if dom is None:
                continue
            try:
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(
                    libvirt.VIR_DOMAIN_UNDEFINE_NVRAM |
                    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
            except libvirt.libvirtError:
                pass
        shutil.rmtree(self.instances_path, ignore_errors=True)

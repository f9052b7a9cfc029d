"""Base class for integration tests: a real libvirtd and real QEMU.

Where the daemon is:

1. ``$EMUVIRT_LIBVIRT_URI``, if set;
2. else the private daemon of ``tools/emuvirt-host`` (its ``uri``), if its
   socket exists (``tools/emuvirt-host start`` starts it).

Guest images (kernel + busybox initramfs per arch, and a disk image per
arch that boots through the arch's firmware) come from the cache of
``tools/guest-images``: ``$EMUVIRT_GUEST_IMAGES``, else
``<repo>/cache/guest-images``.

What is missing (the daemon, a qemu-system-* emulator, a guest image) skips
the test on a developer's machine and FAILS it when ``CI`` is true, with a
message saying what is missing and which command provides it.
"""

import collections
import fcntl
import functools
import hashlib
import json
import os
import subprocess
import tempfile
import time
import uuid
from xml.etree import ElementTree

import fixtures
import testtools
from testtools import content

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
HOST_TOOL = os.path.join(REPO, 'tools', 'emuvirt-host')
IMAGES_TOOL = os.path.join(REPO, 'tools', 'guest-images')

# Guest arch -> Debian package with its emulator (for messages only).
EMULATOR_PACKAGES = {
    'aarch64': 'qemu-system-arm',
    'armv7l': 'qemu-system-arm',
    'ppc64le': 'qemu-system-ppc',
    'ppc64': 'qemu-system-ppc',
    's390x': 'qemu-system-misc',
    'riscv64': 'qemu-system-misc',
    'mipsel': 'qemu-system-mips',
    'x86_64': 'qemu-system-x86',
    'i686': 'qemu-system-x86',
}

# Name prefix of every domain these tests define, so that what a killed
# test run left behind is easy to recognise (virsh list --all).
DOMAIN_PREFIX = 'emuvirt-it-'

GuestImage = collections.namedtuple(
    'GuestImage', 'arch kernel initrd cmdline marker expected_uname meta')
DiskImage = collections.namedtuple('DiskImage', 'arch path marker meta')


def in_ci():
    return os.environ.get('CI', '').strip().lower() in ('1', 'true', 'yes')


class Missing(Exception):
    """Something the integration tests need is not on this machine."""


def find_uri():
    """The URI of the daemon to test against; raises Missing if none."""
    uri = os.environ.get('EMUVIRT_LIBVIRT_URI')
    if uri:
        return uri
    return _host_tool_uri(os.environ.get('EMUVIRT_RUNDIR'))


@functools.lru_cache(maxsize=None)
def _host_tool_uri(rundir):
    if not os.path.exists(HOST_TOOL):
        raise Missing('a libvirt daemon: EMUVIRT_LIBVIRT_URI is unset and '
                      '%s is not there' % HOST_TOOL)
    try:
        out = subprocess.run([HOST_TOOL, 'uri'], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Missing('a libvirt daemon: "tools/emuvirt-host uri" failed: '
                      '%s' % e)
    uri = out.stdout.strip()
    if out.returncode != 0 or not uri:
        raise Missing('a libvirt daemon: "tools/emuvirt-host uri" failed: '
                      '%s' % out.stderr.strip())
    sock = uri.partition('socket=')[2].partition('&')[0]
    if sock and not os.path.exists(sock):
        raise Missing('a libvirt daemon: no socket at %s (run '
                      '"tools/emuvirt-host start", or set '
                      'EMUVIRT_LIBVIRT_URI)' % sock)
    return uri


def images_dir():
    return os.path.abspath(os.environ.get('EMUVIRT_GUEST_IMAGES') or
                           os.path.join(REPO, 'cache', 'guest-images'))


def load_guest_image(arch):
    """Paths of the cached guest image of ``arch``; raises Missing."""
    d = os.path.join(images_dir(), arch)
    paths = {k: os.path.join(d, k) for k in
             ('vmlinuz', 'initrd.img', 'cmdline', 'image.json')}
    absent = [p for p in paths.values() if not os.path.isfile(p)]
    if absent:
        raise Missing('the %s guest image (%s not found; run '
                      '"tools/guest-images fetch %s")'
                      % (arch, ', '.join(absent), arch))
    with open(paths['image.json']) as f:
        meta = json.load(f)
    with open(paths['cmdline']) as f:
        cmdline = f.read().strip()
    return GuestImage(arch=arch, kernel=paths['vmlinuz'],
                      initrd=paths['initrd.img'], cmdline=cmdline,
                      marker=meta['marker'],
                      expected_uname=meta['expected_uname'], meta=meta)


def load_disk_image(arch):
    """The cached disk image of ``arch`` (a DiskImage); raises Missing."""
    d = os.path.join(images_dir(), 'disk', arch)
    path, meta_path = (os.path.join(d, 'disk.qcow2'),
                       os.path.join(d, 'disk.json'))
    absent = [p for p in (path, meta_path) if not os.path.isfile(p)]
    if absent:
        raise Missing('the %s disk image (%s not found; run '
                      '"tools/guest-images fetch %s")'
                      % (arch, ', '.join(absent), arch))
    with open(meta_path) as f:
        meta = json.load(f)
    return DiskImage(arch=arch, path=path, marker=meta['marker'], meta=meta)


def read_until(path, marker, timeout, is_alive=None, max_bytes=4 << 20,
               poll=0.1):
    """Read a growing file until ``marker`` shows up.

    Returns (found, text): text is what the file held (at most
    ``max_bytes``).  Gives up after ``timeout`` seconds, or as soon as
    ``is_alive()`` says the writer has gone and a last read has no marker.
    """
    deadline = time.monotonic() + timeout
    data = b''
    needle = marker.encode()
    while True:
        alive = is_alive() if is_alive else True
        try:
            with open(path, 'rb') as f:
                f.seek(len(data))
                data += f.read(max_bytes - len(data))
        except FileNotFoundError:
            pass
        if needle in data:
            return True, data.decode(errors='replace')
        if (not alive or len(data) >= max_bytes or
                time.monotonic() >= deadline):
            return False, data.decode(errors='replace')
        time.sleep(poll)


class IntegrationTestCase(testtools.TestCase):
    """A test that talks to a real libvirtd which runs real QEMU.

    ``self.conn`` is an open libvirt connection (``self.uri``).
    """

    # Bound on any one guest's wait; TCG boots here take 1.5 to 8 s.
    BOOT_TIMEOUT = 180

    # Every test holds a lock on the daemon, shared; a test that kills the
    # daemon holds it exclusively (LOCK_EX), so that no other test finds
    # the daemon gone under it.
    DAEMON_LOCK = fcntl.LOCK_SH

    def setUp(self):
        super().setUp()
        try:
            import libvirt
        except ImportError as e:
            self.require_missing('libvirt-python (%s)' % e)
        self.libvirt = libvirt
        libvirt.registerErrorHandler(lambda ctx, err: None, None)
        try:
            self.uri = find_uri()
        except Missing as e:
            self.require_missing(str(e))
        self._lock_daemon()
        try:
            self.conn = libvirt.open(self.uri)
        except libvirt.libvirtError as e:
            self.require_missing('a libvirt daemon answering at %s (%s; run '
                                 '"tools/emuvirt-host start")'
                                 % (self.uri, e))
        self.addCleanup(self._close)
        self.tmpdir = self.useFixture(fixtures.TempDir()).path
        # QEMU runs as root under the daemon; let it write console logs.
        os.chmod(self.tmpdir, 0o755)

    def _lock_daemon(self):
        path = os.path.join(tempfile.gettempdir(), 'emuvirt-integration-'
                            'daemon-%s.lock' % hashlib.sha256(
                                self.uri.encode()).hexdigest()[:16])
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, self.DAEMON_LOCK)
        self.addCleanup(fcntl.flock, fd, fcntl.LOCK_UN)

    def _close(self):
        try:
            self.conn.close()
        except self.libvirt.libvirtError:
            pass

    # ------------------------------------------------------------ require

    def require_missing(self, what):
        """Skip for lack of ``what``; with CI=true fail instead."""
        if in_ci():
            self.fail('CI=true and this machine lacks %s' % what)
        self.skipTest('missing %s' % what)

    def capabilities(self):
        return ElementTree.fromstring(self.conn.getCapabilities())

    def emulator(self, arch, domain_type='qemu'):
        """Path of the daemon's emulator for guest ``arch``, or None."""
        for guest in self.capabilities().findall('guest'):
            a = guest.find('arch')
            if a is None or a.get('name') != arch:
                continue
            for dom in a.findall('domain'):
                if dom.get('type') == domain_type:
                    emu = dom.findtext('emulator') or a.findtext('emulator')
                    if emu:
                        return emu
        return None

    def require_emulator(self, arch, domain_type='qemu'):
        emu = self.emulator(arch, domain_type)
        if not emu:
            self.require_missing(
                'a QEMU emulator for %s guests in the daemon\'s '
                'capabilities (Debian package %s; "tools/emuvirt-host '
                'install", then restart the daemon)'
                % (arch, EMULATOR_PACKAGES.get(arch, 'qemu-system-*')))
        return emu

    def guest_image(self, arch):
        """The cached kernel/initramfs of ``arch`` (a GuestImage)."""
        try:
            return load_guest_image(arch)
        except Missing as e:
            self.require_missing(str(e))

    def disk_image(self, arch):
        """The cached disk image of ``arch`` (a DiskImage)."""
        try:
            return load_disk_image(arch)
        except Missing as e:
            self.require_missing(str(e))

    # ------------------------------------------------------------ guests

    def domain_name(self, what='guest'):
        return '%s%s-%s' % (DOMAIN_PREFIX, what, uuid.uuid4().hex[:8])

    def define_domain(self, xml):
        """Define ``xml`` persistently; destroyed and undefined at cleanup."""
        dom = self.conn.defineXML(xml)
        self.addCleanup(self.remove_domain, dom.name())
        return dom

    def remove_domain(self, name):
        """Destroy and undefine ``name`` (with its nvram), if it exists."""
        lv = self.libvirt
        try:
            dom = self.conn.lookupByName(name)
        except lv.libvirtError:
            return
        try:
            if dom.isActive():
                dom.destroy()
        except lv.libvirtError:
            pass
        try:
            dom.undefineFlags(lv.VIR_DOMAIN_UNDEFINE_NVRAM |
                              lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                              lv.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        except lv.libvirtError:
            # Transient, or already gone.
            pass

    def domain_exists(self, name):
        try:
            self.conn.lookupByName(name)
        except self.libvirt.libvirtError:
            return False
        return True

    def console_log_path(self, dom):
        """The file a domain's first serial/console is logged to, or None.

        ``<log file=.../>`` of a serial or console, else the ``<source
        path=.../>`` of a file-type one.
        """
        root = ElementTree.fromstring(dom.XMLDesc(0))
        for tag in ('serial', 'console'):
            for dev in root.findall('devices/' + tag):
                log = dev.find('log')
                if log is not None and log.get('file'):
                    return log.get('file')
                if dev.get('type') == 'file':
                    src = dev.find('source')
                    if src is not None and src.get('path'):
                        return src.get('path')
        return None

    def wait_for_console(self, path, marker, timeout=None, domain=None):
        """Wait until the console log at ``path`` shows ``marker``.

        Returns the log text.  Fails (with the log's tail) on timeout, or
        early when ``domain`` (a virDomain) stops before the marker shows.
        """
        timeout = self.BOOT_TIMEOUT if timeout is None else timeout

        def domain_alive():
            try:
                return bool(domain.isActive())
            except self.libvirt.libvirtError:
                return False

        is_alive = domain_alive if domain is not None else None
        t0 = time.monotonic()
        found, text = read_until(path, marker, timeout, is_alive)
        self.addDetail('console-log', content.text_content(text))
        if not found:
            why = ('the guest stopped' if is_alive and not is_alive()
                   else 'nothing within %d s' % timeout)
            self.fail('console %s never showed %r: %s; it ended with:\n%s'
                      % (path, marker, why, text[-2000:]))
        self.addDetail('console-seconds', content.text_content(
            '%.2f' % (time.monotonic() - t0)))
        return text

    def wait_for_state(self, dom, state, timeout=60):
        """Wait until ``dom`` is in libvirt state ``state``."""
        deadline = time.monotonic() + timeout
        while True:
            cur = dom.state()[0]
            if cur == state:
                return
            if time.monotonic() >= deadline:
                self.fail('domain %s stayed in state %d, not %d, for %d s'
                          % (dom.name(), cur, state, timeout))
            time.sleep(0.1)

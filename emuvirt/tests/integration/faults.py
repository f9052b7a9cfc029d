"""Fault injection for the integration tests: what test_faults breaks.

* :class:`PlacementProcess` -- the real Placement (the in-process fixture
  of ``emuvirt.tests.fixtures.placement``) in a process of its own, on
  127.0.0.1, with its sqlite database in a file: :meth:`kill` is a real
  crash (SIGKILL, requests in flight cut), :meth:`start` brings it back on
  the same port with the same database or, with ``wipe=True``, an empty
  one (a Placement redeployed from scratch).  Its requests are logged as
  they arrive, and a control file can make some of them slow, so that a
  fault can land while one is in flight.
* :class:`PrivateDaemon` -- the private libvirtd of ``tools/emuvirt-host``:
  killed with SIGKILL and started again, as a supervisor would.
* :class:`Trigger` and :func:`run_with_fault` -- a command in its own
  process, and a fault fired at a point of its run: after a time, when a
  request reaches Placement, when the instance directory or the domain
  appears or goes.

``python -m emuvirt.tests.integration.faults --port N --db FILE --control
DIR`` is the Placement process (what :class:`PlacementProcess` runs).
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from emuvirt.tests.integration import base

TOKEN = 'admin'
# Enough for every call these tests make (consumer generations).
MICROVERSION = '1.28'
# How often a trigger looks at what it waits for.
POLL = 0.002


# ---------------------------------------------------------------- Placement

def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class PlacementProcess(object):
    """A real Placement in its own process: killed, restarted, wiped."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.db = os.path.join(workdir, 'placement.sqlite')
        self.control = os.path.join(workdir, 'control')
        self.log = os.path.join(workdir, 'placement.log')
        os.makedirs(self.control, exist_ok=True)
        self.port = _free_port()
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        self.proc = None

    @property
    def requests_log(self):
        return os.path.join(self.control, 'requests')

    def conf_text(self):
        return ('[placement]\nauth_type = admin_token\nendpoint = %s\n'
                'token = %s\n' % (self.endpoint, TOKEN))

    def start(self, wipe=False, timeout=90):
        """Start (again) on the same port; ``wipe``: an empty database."""
        assert self.proc is None, 'Placement runs already'
        if wipe:
            for suffix in ('', '-journal', '-wal', '-shm'):
                try:
                    os.unlink(self.db + suffix)
                except FileNotFoundError:
                    pass
        with open(self.log, 'ab') as log:
            self.proc = subprocess.Popen(
                [sys.executable, '-m', __name__, '--port', str(self.port),
                 '--db', self.db, '--control', self.control],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while True:
            status = self.proc.poll()
            if status is not None:
                self.proc = None
                raise base.Missing(
                    'a Placement that starts (exit status %s; see %s):\n%s'
                    % (status, self.log, _tail(self.log)))
            try:
                if self.request('GET', '/')[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise base.Missing('a Placement that answers within %d s '
                                   '(see %s)' % (timeout, self.log))
            time.sleep(0.05)

    def kill(self):
        """SIGKILL: connections and requests in flight are cut."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    @property
    def running(self):
        return self.proc is not None

    def slow(self, method=None, prefix=None, seconds=0.0):
        """Make some requests wait before Placement handles them.

        Requests ``method`` of paths starting with ``prefix`` wait
        ``seconds``; with no arguments, none waits.
        """
        path = os.path.join(self.control, 'slow')
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            if method:
                f.write('%s %s %s\n' % (method, prefix, seconds))
        os.rename(tmp, path)

    def requests_seen(self):
        """The requests that reached Placement so far, as 'METHOD PATH'."""
        try:
            with open(self.requests_log) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    # -- what Placement holds -------------------------------------------

    def request(self, method, path, body=None):
        """(status, decoded JSON body or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.endpoint + path, data=data, method=method, headers={
                'X-Auth-Token': TOKEN, 'Accept': 'application/json',
                'Content-Type': 'application/json',
                'OpenStack-API-Version': 'placement %s' % MICROVERSION})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, text = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, None

    def provider_allocations(self, rp_uuid):
        """{consumer: resources} on the provider ({} if it is not there)."""
        status, body = self.request(
            'GET', '/resource_providers/%s/allocations' % rp_uuid)
        if status == 404:
            return {}
        assert status == 200, (status, body)
        return {c: a['resources'] for c, a in body['allocations'].items()}

    def consumer_allocations(self, consumer):
        status, body = self.request('GET', '/allocations/%s' % consumer)
        assert status == 200, (status, body)
        return body['allocations']

    def all_allocations(self):
        """{(provider, consumer): resources} over every provider."""
        status, body = self.request('GET', '/resource_providers')
        assert status == 200, (status, body)
        found = {}
        for rp in body['resource_providers']:
            for consumer, res in self.provider_allocations(
                    rp['uuid']).items():
                found[(rp['uuid'], consumer)] = res
        return found

    def provider(self, rp_uuid):
        """(inventory {rc: total}, traits) of a provider; None if absent."""
        status, inv = self.request(
            'GET', '/resource_providers/%s/inventories' % rp_uuid)
        if status == 404:
            return None
        assert status == 200, (status, inv)
        status, traits = self.request(
            'GET', '/resource_providers/%s/traits' % rp_uuid)
        assert status == 200, (status, traits)
        return ({rc: v['total'] for rc, v in inv['inventories'].items()},
                set(traits['traits']))


def _tail(path, lines=20):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


class _Controlled(object):
    """WSGI middleware: log each request as it arrives; maybe wait."""

    def __init__(self, app, control):
        self.app = app
        self.requests = os.path.join(control, 'requests')
        self.slow = os.path.join(control, 'slow')

    def _delay(self, method, path):
        try:
            with open(self.slow) as f:
                rules = [line.split() for line in f if line.strip()]
        except FileNotFoundError:
            return 0
        for rule in rules:
            if rule[0] == method and path.startswith(rule[1]):
                return float(rule[2])
        return 0

    def __call__(self, environ, start_response):
        method = environ['REQUEST_METHOD']
        path = environ.get('PATH_INFO', '')
        fd = os.open(self.requests, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                     0o644)
        try:
            os.write(fd, ('%s %s\n' % (method, path)).encode())
        finally:
            os.close(fd)
        delay = self._delay(method, path)
        if delay:
            time.sleep(delay)
        return self.app(environ, start_response)


def serve_placement(argv=None):
    from emuvirt.tests.fixtures import placement

    parser = argparse.ArgumentParser(description='Placement for the '
                                     'fault-injection tests.')
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--db', required=True)
    parser.add_argument('--control', required=True)
    args = parser.parse_args(argv)

    class Fixture(placement.PlacementFixture):
        def _load_app(self):
            return _Controlled(super()._load_app(), args.control)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Fixture(port=args.port, db_path=args.db):
        while True:
            time.sleep(3600)


# ------------------------------------------------------------------ libvirtd

class PrivateDaemon(object):
    """The private libvirtd of ``tools/emuvirt-host``, to kill and restart.

    :raises: base.Missing when ``uri`` is not that daemon's (an
        ``EMUVIRT_LIBVIRT_URI`` naming another one).
    """

    def __init__(self, uri):
        self.rundir = os.path.abspath(
            os.environ.get('EMUVIRT_RUNDIR') or
            os.path.join(base.REPO, 'run', 'libvirt'))
        self.pidfile = os.path.join(self.rundir, 'libvirtd.pid')
        self.conf = os.path.join(self.rundir, 'libvirtd.conf')
        sock = os.path.join(self.rundir, 'sock', 'libvirt-sock')
        if 'socket=%s' % sock not in uri:
            raise base.Missing(
                'the private libvirtd of tools/emuvirt-host, which these '
                'tests kill and restart (the tests use %s, not its socket '
                '%s)' % (uri, sock))
        try:
            with open(os.path.join(self.rundir, 'mode')) as f:
                mode = f.read().strip()
        except OSError:
            mode = 'shared'
        # Where libvirt keeps NVRAM files it names itself.
        self.nvram_dir = (os.path.join(self.rundir, 'root', 'lib', 'qemu',
                                       'nvram')
                          if mode == 'namespace'
                          else '/var/lib/libvirt/qemu/nvram')

    def pid(self):
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv = f.read().split(b'\0')
        except (OSError, ValueError):
            return None
        if b'libvirtd' in argv[0] and self.conf.encode() in argv:
            return pid
        return None

    def kill(self):
        """SIGKILL the daemon; returns once it is dead."""
        pid = self.pid()
        if pid is None:
            raise AssertionError('the private libvirtd is not running')
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.005)

    def start(self):
        """``tools/emuvirt-host start`` (0.2-0.5 s after a kill)."""
        r = subprocess.run([sys.executable, base.HOST_TOOL, 'start'],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300)
        if r.returncode != 0:
            raise AssertionError('tools/emuvirt-host start failed: %s'
                                 % r.stdout)


def _alive(pid):
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rpartition(')')[2].split()[0] != 'Z'
    except OSError:
        return False


def qemu_processes(name):
    """Pids of QEMU processes running guest ``name``."""
    needle = 'guest=%s,' % name
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                args = f.read().decode(errors='replace').split('\0')
        except OSError:
            continue
        if any(a.startswith(needle) for a in args) and _alive(int(pid)):
            found.append(int(pid))
    return found


# ------------------------------------------------------------------ triggers

class Trigger(object):
    """When, in a command's run, to fire a fault.

    ``kind`` is one of: ``time`` (``arg`` seconds after the command
    started), ``request`` (a request whose 'METHOD PATH' starts with
    ``arg`` reached Placement), ``dir`` (an instance directory exists),
    ``dir-gone`` (none does), ``defined`` / ``active`` / ``inactive`` /
    ``undefined`` (the domain named ``arg``); then ``jitter`` more seconds.
    """

    def __init__(self, kind, arg=None, jitter=0.0):
        self.kind = kind
        self.arg = arg
        self.jitter = jitter

    def __str__(self):
        what = self.kind
        if isinstance(self.arg, float):
            what += ' %.3f s' % self.arg
        elif self.arg is not None:
            what += ' %s' % self.arg
        return '%s + %.3f s' % (what, self.jitter)

    def condition(self, test, started, requests_before):
        kind, arg = self.kind, self.arg
        if kind == 'time':
            return lambda: time.monotonic() - started >= arg
        if kind == 'request':
            return lambda: any(
                r.startswith(arg)
                for r in test.placement.requests_seen()[requests_before:])
        if kind == 'dir':
            return lambda: bool(os.listdir(test.instances))
        if kind == 'dir-gone':
            return lambda: not os.listdir(test.instances)

        def domain_state():
            try:
                dom = test.conn.lookupByName(arg)
                return 'active' if dom.isActive() else 'inactive'
            except test.libvirt.libvirtError:
                return 'undefined'
        if kind == 'defined':
            return lambda: domain_state() != 'undefined'
        return lambda: domain_state() == kind


def run_with_fault(test, argv, trigger, fault, timeout=300):
    """Run ``argv``; fire ``fault(proc)`` at ``trigger``.

    :returns: (returncode, stdout, stderr, fired): ``fired`` is False when
        the command ended before the trigger.
    """
    requests_before = len(test.placement.requests_seen())
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    fired = False
    try:
        ready = trigger.condition(test, started, requests_before)
        deadline = started + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if ready():
                if trigger.jitter:
                    time.sleep(trigger.jitter)
                if proc.poll() is None:
                    fault(proc)
                    fired = True
                break
            time.sleep(POLL)
        out, err = proc.communicate(timeout=max(1, deadline -
                                                time.monotonic()))
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, out, err, fired


def in_thread(func, *args):
    """Run ``func(*args)`` in a thread; returns a join() that re-raises."""
    errors = []

    def run():
        try:
            func(*args)
        except BaseException as e:
            errors.append(e)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join():
        thread.join()
        if errors:
            raise errors[0]
    return join


if __name__ == '__main__':
    serve_placement()

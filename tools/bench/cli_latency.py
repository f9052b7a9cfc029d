#!/usr/bin/env python3
"""Benchmark: command latency and memory, against virt-install and virsh.

Whole-process figures, each the median of --runs runs of a fresh process
(the runs of two commands compared alternate, so that load from elsewhere
hits both alike), on the real daemon:

  guest-xml    ``emuvirt guest-xml`` for an aarch64 direct-kernel-boot
               guest vs ``virt-install --print-xml`` for the same guest
               (both ask the daemon for its capabilities)
  server list  ``emuvirt server list`` vs ``virsh list --all`` with
               --guests emuvirt guests defined (stopped; removed after),
               also with ``[placement]`` configured (list never uses it)
  compute RSS  peak resident memory of ``emuvirt-compute --once`` (no
               Placement), and of a running ``emuvirt-compute`` reporting
               to Placement (the in-process fixture in a child process)
               after --cycles cycles; with PSS and private memory, as RSS
               counts the shared libraries (libvirt, libcrypto, Python)

Import floors (``python -c "import ..."``) show what a command cannot go
below: Python's start, the libraries every emuvirt command loads
(oslo.config, oslo.log, libvirt-python, lxml), and those plus
oslo.versionedobjects - what guest-xml needs to build its objects - in
its two parts: ``fields`` loads oslo.utils' strutils (which compiles some
500 password-masking regexes at import), ``base`` imports oslo.messaging
(and with it oslo.service and eventlet). Each floor counts the
interpreter's exit too, whose last garbage collection walks every object
the imports made; the floor with that collection skipped (``gc.freeze()``
before exit) is shown beside it.

Targets (issue 9): guest-xml no slower than virt-install --print-xml,
server list under 0.15 s at 50 guests, emuvirt-compute RSS under 40 MB.

Usage: tools/bench/cli_latency.py [--uri URI] [--runs N] [--guests N]
                                  [--cycles N]
Run it with the Python that has emuvirt installed (tox -e bench does).
The daemon: --uri, else $EMUVIRT_LIBVIRT_URI, else tools/emuvirt-host's.
Without a daemon it says what is missing and exits 0 (1 with CI=true).
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuid_lib

import libvirt
from lxml import etree

from emuvirt.tests.integration import base

PREFIX = 'emuvirt-bench-cli-'
META_NS = 'http://emuvirt.dev/xmlns/instance/1.0'
RSS_TARGET_MB = 40.0
LIST_TARGET_S = 0.15
_COMMON = 'import oslo_config.cfg, oslo_log.log, libvirt, lxml.etree'
# What guest-xml loads: emuvirt sets EVENTLET_NO_GREENDNS=yes.
_GREEN = 'import os; os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes"); '
_FREEZE = '; import gc; gc.freeze()'
FLOORS = (
    ('python', 'pass'),
    ('+ oslo.config, oslo.log, libvirt, lxml', _COMMON),
    ('  the same, gc.freeze() before exit', _COMMON + _FREEZE),
    ('+ oslo.utils strutils (o.vo fields)',
     _COMMON + ', oslo_utils.strutils'),
    ('+ oslo.messaging (o.vo base)',
     _GREEN + _COMMON + ', oslo_messaging'),
    ('+ oslo.versionedobjects (all of it)',
     _GREEN + _COMMON + ', oslo_versionedobjects.base'),
    ('  the same (o.vo), gc.freeze() before exit',
     _GREEN + _COMMON + ', oslo_versionedobjects.base' + _FREEZE),
)


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def tool(name):
    """The console script ``name`` beside this Python, else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.access(here, os.X_OK) else shutil.which(name)


# Runs a command and writes "<wall s> <peak RSS KiB> <CPU s>" to fd argv[1].
# A child's peak RSS (ru_maxrss) counts what it inherited at fork, so the
# command is forked from this small Python (-S -I: ~9 MiB) and not from the
# benchmark's, which has libvirt and lxml loaded; the wall time is taken
# around fork and wait, leaving out this Python's own start.
TRAMPOLINE = """
import os, sys, time
fd = int(sys.argv[1])
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_pid, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
os.write(fd, b"%.6f %d %.6f" % (wall, usage.ru_maxrss,
                                usage.ru_utime + usage.ru_stime))
sys.exit(os.waitstatus_to_exitcode(status))
"""


# The commands run as installed ones do, with their bytecode cached (pip
# writes it at install; tox sets PYTHONDONTWRITEBYTECODE, under which an
# editable emuvirt would be compiled anew by each run). The warm-up run of
# compare() writes it.
ENV = {k: v for k, v in os.environ.items()
       if k != 'PYTHONDONTWRITEBYTECODE'}


def run_once(cmd):
    """(wall s, peak RSS KiB, CPU s) of one run of ``cmd``; must exit 0."""
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.run(
            [sys.executable, '-S', '-I', '-c', TRAMPOLINE, str(write_fd)] +
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, pass_fds=(write_fd,), env=ENV)
        os.close(write_fd)
        write_fd = None
        with os.fdopen(read_fd, 'rb') as f:
            read_fd = None
            result = f.read().split()
    finally:
        for fd in (read_fd, write_fd):
            if fd is not None:
                os.close(fd)
    if proc.returncode != 0 or len(result) != 3:
        raise RuntimeError('%s: exit %d: %s' % (
            ' '.join(cmd[:4]), proc.returncode,
            proc.stderr.decode(errors='replace').strip()[-500:]))
    return float(result[0]), int(result[1]), float(result[2])


def compare(commands, runs):
    """{name: (wall, RSS KiB, CPU)} medians, the commands alternating."""
    results = {name: [] for name, _cmd in commands}
    for name, cmd in commands:      # one warm-up run each (caches)
        run_once(cmd)
    for _ in range(runs):
        for name, cmd in commands:
            results[name].append(run_once(cmd))
    return {name: tuple(statistics.median(r[i] for r in runs_)
                        for i in range(3))
            for name, runs_ in results.items()}


class Bench(object):

    def __init__(self, uri, workdir):
        self.uri = uri
        self.workdir = workdir
        self.emuvirt = tool('emuvirt')
        self.conf = self.write_conf('emuvirt.conf')
        kernel_dir = os.path.join(workdir, 'boot')
        os.mkdir(kernel_dir)
        self.kernel = self._file(kernel_dir, 'vmlinuz')
        self.initrd = self._file(kernel_dir, 'initrd.img')
        self.conn = libvirt.open(uri)

    def write_conf(self, name, extra=''):
        path = os.path.join(self.workdir, name)
        with open(path, 'w') as f:
            f.write('[libvirt]\nconnection_uri = %s\ninstances_path = %s\n'
                    % (self.uri, os.path.join(self.workdir, 'instances')) +
                    extra)
        return path

    @staticmethod
    def _file(directory, name):
        path = os.path.join(directory, name)
        with open(path, 'wb') as f:
            f.write(b'\0' * 4096)
        return path

    def close(self):
        self.remove_guests()
        self.conn.close()

    # -- the commands --------------------------------------------------------

    def guest_xml(self, name='bench'):
        return [self.emuvirt, '--config-file', self.conf, 'guest-xml',
                '--kernel', self.kernel, '--ramdisk', self.initrd,
                '--cmdline', 'console=ttyAMA0', '--property',
                'hw_emulation_architecture=aarch64', '--name', name]

    def virt_install(self):
        return ['virt-install', '--connect', self.uri, '--print-xml',
                '--arch', 'aarch64', '--name', PREFIX + 'vi',
                '--memory', '512', '--vcpus', '1',
                '--boot', 'kernel=%s,initrd=%s,kernel_args=console=ttyAMA0'
                % (self.kernel, self.initrd),
                '--disk', 'none', '--osinfo', 'detect=off,name=generic',
                '--graphics', 'none', '--noautoconsole',
                # What libvirt 9.0 needs: no ACPI without UEFI on aarch64,
                # and no "default" network on a private daemon.
                '--features', 'acpi=off', '--network', 'user',
                '--console', 'pty']

    def server_list(self, conf=None):
        return [self.emuvirt, '--config-file', conf or self.conf, 'server',
                'list']

    def virsh_list(self):
        return ['virsh', '-c', self.uri, 'list', '--all']

    # -- guests ------------------------------------------------------------

    def define_guests(self, count):
        """Define ``count`` stopped emuvirt guests from one guest-xml."""
        xml = subprocess.run(self.guest_xml(PREFIX + 'template'),
                             check=True, stdout=subprocess.PIPE,
                             stdin=subprocess.DEVNULL).stdout
        for i in range(count):
            root = etree.fromstring(xml)
            name, uuid = '%s%03d' % (PREFIX, i), str(uuid_lib.uuid4())
            root.find('name').text = name
            root.find('uuid').text = uuid
            record = root.find('metadata/{%s}instance' % META_NS)
            record.find('{%s}name' % META_NS).text = name
            record.find('{%s}uuid' % META_NS).text = uuid
            self.conn.defineXML(etree.tostring(root, encoding='unicode'))

    def remove_guests(self):
        for dom in self.conn.listAllDomains():
            if dom.name().startswith(PREFIX):
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)

    def domain_count(self):
        return len(self.conn.listAllDomains())

    # -- emuvirt-compute ---------------------------------------------------

    def compute_once(self, runs):
        cmd = [tool('emuvirt-compute'), '--config-file', self.conf,
               '--once']
        return statistics.median(run_once(cmd)[1] for _ in range(runs))

    def compute_with_placement(self, cycles):
        """(RSS, peak RSS, PSS, private) KiB of a running emuvirt-compute.

        Read after ``cycles`` cycles of 1 s, reporting to the in-process
        Placement fixture (a child process).
        """
        log = open(os.path.join(self.workdir, 'compute.log'), 'w+')
        placement = subprocess.Popen(
            [sys.executable, '-m', 'emuvirt.tests.fixtures.placement',
             '--port', '0'], stdout=subprocess.PIPE, stderr=log,
            stdin=subprocess.DEVNULL, text=True,
            env=dict(ENV, PYTHONUNBUFFERED='1'))
        compute = None
        try:
            first = placement.stdout.readline()
            match = re.match(r'Placement at (\S+);', first)
            if not match:
                raise RuntimeError('Placement fixture did not start: %s'
                                   % first)
            conf = self.write_conf(
                'placement.conf',
                '[compute]\nprovider_update_interval = 1\n'
                '[placement]\nauth_type = admin_token\nendpoint = %s\n'
                'token = admin\n' % match.group(1))
            compute = subprocess.Popen(
                [tool('emuvirt-compute'), '--config-file', conf],
                stdout=subprocess.DEVNULL, stderr=log,
                stdin=subprocess.DEVNULL, env=ENV)
            time.sleep(cycles + 2)
            if compute.poll() is not None:
                log.seek(0)
                raise RuntimeError('emuvirt-compute exited %d: %s' % (
                    compute.returncode, log.read()[-500:]))
            return memory(compute.pid)
        finally:
            log.close()
            for proc, sig in ((compute, signal.SIGTERM),
                              (placement, signal.SIGINT)):
                if proc is None:
                    continue
                proc.send_signal(sig)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def memory(pid):
    """(RSS, peak RSS, PSS, private) of a running process, KiB."""
    with open('/proc/%d/status' % pid) as f:
        status = f.read()
    with open('/proc/%d/smaps_rollup' % pid) as f:
        rollup = f.read()

    def field(text, name):
        return int(re.search(r'^%s:\s+(\d+) kB' % name, text, re.M).group(1))

    private = (field(rollup, 'Private_Clean') +
               field(rollup, 'Private_Dirty'))
    return (field(status, 'VmRSS'), field(status, 'VmHWM'),
            field(rollup, 'Pss'), private)


def floors(runs, also=()):
    """{label: (wall, RSS KiB, CPU)}: the floors, and ``also`` alongside.

    ``also``: (label, command) pairs measured in the same rounds (the
    reference tools), so that the floors compare with them under the
    same load.
    """
    commands = [(label, [sys.executable, '-W', 'ignore', '-c', code])
                for label, code in FLOORS]
    return compare(commands + list(also), runs)


def ratio_line(label, ours, theirs, target_ok):
    """Wall time (and CPU time) of ours vs theirs, with the ratios."""
    return ('%-38s %6.3f s vs %6.3f s: ratio %5.2f (CPU %5.3f vs %5.3f s: '
            '%5.2f)  %s' % (label, ours[0], theirs[0], ours[0] / theirs[0],
                            ours[2], theirs[2], ours[2] / theirs[2],
                            'target met' if target_ok else 'target NOT met'))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--uri', help='libvirt URI of the daemon')
    parser.add_argument('--runs', type=int, default=11,
                        help='runs per command (median; default 11)')
    parser.add_argument('--guests', type=int, default=50,
                        help='guests defined for server list (default 50)')
    parser.add_argument('--cycles', type=int, default=5,
                        help='emuvirt-compute cycles before its memory is '
                             'read (default 5)')
    args = parser.parse_args(argv)

    missing = [n for n in ('emuvirt', 'emuvirt-compute', 'virsh',
                           'virt-install') if not tool(n)]
    try:
        uri = args.uri or base.find_uri()
    except base.Missing as e:
        missing.append(str(e))
    if missing:
        say('cli_latency: %s, missing: %s (tools/emuvirt-host install '
            'bench provides the tools)' % (
                'failed (CI=true)' if base.in_ci() else 'skipped',
                '; '.join(missing)))
        return 1 if base.in_ci() else 0

    load_before = os.getloadavg()[0]
    workdir = tempfile.mkdtemp(prefix='emuvirt-bench-cli-')
    os.chmod(workdir, 0o755)
    bench = Bench(uri, workdir)
    try:
        bench.remove_guests()   # what an interrupted run left
        say('guest-xml vs virt-install --print-xml ...')
        xml = compare([('emuvirt', bench.guest_xml()),
                       ('virt-install', bench.virt_install())], args.runs)
        say('defining %d guests ...' % args.guests)
        bench.define_guests(args.guests)
        guests = bench.domain_count()
        placement_conf = bench.write_conf(
            'with-placement.conf', '[placement]\nauth_type = admin_token\n'
            'endpoint = http://127.0.0.1:9\ntoken = admin\n')
        say('server list vs virsh list --all ...')
        lists = compare([('emuvirt', bench.server_list()),
                         ('emuvirt+placement',
                          bench.server_list(placement_conf)),
                         ('virsh', bench.virsh_list())], args.runs)
        bench.remove_guests()
        say('emuvirt-compute memory ...')
        once_rss = bench.compute_once(max(3, args.runs // 3))
        try:
            running = bench.compute_with_placement(args.cycles)
        except (RuntimeError, OSError) as e:
            running = 'not measured: %s' % e
        say('import floors ...')
        # The references again, in the same rounds as the floors.
        floor = floors(args.runs, (('virt-install', bench.virt_install()),
                                   ('emuvirt guest-xml', bench.guest_xml())))
    finally:
        bench.close()
        shutil.rmtree(workdir, ignore_errors=True)

    print('Command latency, whole process, median of %d runs (%s):'
          % (args.runs, os.uname().nodename))
    print(ratio_line('guest-xml vs virt-install --print-xml',
                     xml['emuvirt'], xml['virt-install'],
                     xml['emuvirt'][0] <= xml['virt-install'][0]))
    print(ratio_line('server list vs virsh list (%d domains)' % guests,
                     lists['emuvirt'], lists['virsh'],
                     lists['emuvirt'][0] < LIST_TARGET_S))
    print(ratio_line('  the same, [placement] configured',
                     lists['emuvirt+placement'], lists['virsh'],
                     lists['emuvirt+placement'][0] < LIST_TARGET_S))
    print('  (targets: guest-xml ratio <= 1; server list < %.2f s)'
          % LIST_TARGET_S)
    print('Peak RSS, MiB: guest-xml %.1f, virt-install %.1f, server list '
          '%.1f, virsh %.1f' % (xml['emuvirt'][1] / 1024,
                                xml['virt-install'][1] / 1024,
                                lists['emuvirt'][1] / 1024,
                                lists['virsh'][1] / 1024))
    print('emuvirt-compute --once (no Placement): peak RSS %.1f MiB, '
          'ratio to the %.0f MiB target %.2f' % (
              once_rss / 1024, RSS_TARGET_MB, once_rss / 1024 /
              RSS_TARGET_MB))
    if isinstance(running, str):
        print('emuvirt-compute running, Placement: %s' % running)
    else:
        rss, hwm, pss, private = running
        print('emuvirt-compute running, Placement, %d cycles: RSS %.1f MiB '
              '(peak %.1f), ratio to target %.2f; PSS %.1f MiB, private '
              '%.1f MiB' % (args.cycles, rss / 1024, hwm / 1024,
                            rss / 1024 / RSS_TARGET_MB, pss / 1024,
                            private / 1024))
    print('Import floors (python -c "import ..."): wall, CPU, peak RSS:')
    for label in [label for label, _code in FLOORS] + [
            'virt-install', 'emuvirt guest-xml']:
        wall, peak, cpu = floor[label]
        print('  %-44s %6.3f s  %6.3f s  %5.1f MiB'
              % (label, wall, cpu, peak / 1024))
    vi = floor['virt-install']
    print('  Floors against virt-install --print-xml (same rounds): wall '
          'ratio (CPU ratio)')
    for label in [label for label, _code in FLOORS[1:]] + [
            'emuvirt guest-xml']:
        print('  %-44s %5.2f (%5.2f)' % (label, floor[label][0] / vi[0],
                                         floor[label][2] / vi[2]))
    print('Load average (1 min) before and after: %.2f, %.2f (wall times '
          'grow with it, CPU times less)' % (load_before,
                                             os.getloadavg()[0]))
    return 0


if __name__ == '__main__':
    sys.exit(main())

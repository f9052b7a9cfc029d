#!/usr/bin/env python3
"""Benchmark: multi-threaded TCG and the translation cache, per guest arch.

On the real daemon, through emuvirt's driver API (EmuVirtDriver.spawn, a
direct kernel boot of the arch's test kernel from $EMUVIRT_GUEST_IMAGES),
with a workload initramfs: the cached initrd.img with a second gzip'd newc
cpio appended (Linux unpacks both) whose /init runs --workers busybox-sh
arithmetic loops in parallel (the same total work at any vCPU count),
prints the elapsed time measured inside the guest from /proc/uptime as
``EMUVIRT-MTTCG: ...`` on the console, and waits to be destroyed.

  MTTCG     for a 2-vCPU guest, the QEMU threads' names (libvirt starts
            QEMU with debug-threads=on): one ``CPU n/TCG`` thread per vCPU
            is multi-threaded TCG, one ``ALL CPUs/TCG`` thread is not
  speed-up  the workload's in-guest time at 1 and 2 vCPUs (median of
            --runs boots each), t1/t2
  tb-cache  on the --tb-arch arches: boot-to-marker time (from the spawn
            call), the workload's time and QEMU's resident memory at the
            marker, with [libvirt]tb_cache_size unset (QEMU's default) and
            each of --tb-sizes MiB

QEMU uses multi-threaded TCG by default where the target supports it and
the host's memory model is strong enough for the guest's; a guest kernel
without SMP support sees one CPU whatever the vCPU count (the ``online``
column shows what the guest saw).  An arch whose profile takes fewer
vCPUs (mipsel: 1, malta's CPU has no SMP) skips the 2-vCPU runs, saying
why; such a guest is refused at spawn.  Figures taken while other work runs
on the host are noisy (the load average is printed): compare them on a
quiet machine.

Usage: tools/bench/mttcg.py [--uri URI] [--runs N] [--arch A ...]
                            [--tb-arch A ...] [--tb-sizes 32,128,512]
                            [--iterations N] [--timeout S] [--no-tb]
                            [--no-speedup]
Run it with the Python that has emuvirt installed (tox -e bench does).
The daemon: --uri, else $EMUVIRT_LIBVIRT_URI, else tools/emuvirt-host's.
Without a daemon or a guest image it says what is missing and exits 0
(1 with CI=true).
"""

import argparse
import gzip
import importlib.machinery
import importlib.util
import io
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid as uuid_lib

import libvirt
from oslo_config import fixture as config_fixture

from emuvirt import conf
from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.objects import instance as instance_obj
from emuvirt.tests.integration import base
from emuvirt.virt import archs
from emuvirt.virt import emulation

ARCHES = ('aarch64', 's390x', 'ppc64le', 'mipsel', 'riscv64', 'x86_64')
PREFIX = 'emuvirt-bench-mttcg-'
MARKER = 'EMUVIRT-MTTCG:'
BOOT_TIMEOUT = 120
POLL = 0.05
# Loop iterations per worker: about 5 s of workload for the two workers
# on one vCPU for aarch64 (host at load 4 on 2 cores, QEMU 7.2).
ITERATIONS = 120000
# Arches whose guest runs the loop much slower: iterations divided by this
# (mipsel took 17-77 s for the full count at 1 vCPU, at load 4-9).
SLOW = {'mipsel': 4}

# The workload /init.  %(workers)d workers each count to %(iterations)d
# in busybox sh arithmetic; times from /proc/uptime (1/100 s).
INIT = """\
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
up() { read u _ < /proc/uptime; echo "$u"; }
work() { i=0; while [ $i -lt %(iterations)d ]; do i=$((i+1)); done; }
online=$(cat /sys/devices/system/cpu/online)
t0=$(up)
n=0
while [ $n -lt %(workers)d ]; do work & n=$((n+1)); done
wait
t1=$(up)
echo "%(marker)s start=$t0 end=$t1 online=$online"
while :; do sleep 60; done
"""


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def _guest_images():
    """tools/guest-images as a module (it has no .py suffix)."""
    path = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), 'guest-images')
    loader = importlib.machinery.SourceFileLoader('_emuvirt_guest_images',
                                                  path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def workload_initrd(base_initrd, path, workers, iterations):
    """``base_initrd`` + a gzip'd newc cpio whose /init is the workload."""
    raw = io.BytesIO()
    init = INIT % dict(workers=workers, iterations=iterations,
                       marker=MARKER)
    cpio_entry = _guest_images()._cpio_entry
    cpio_entry(raw, 1, 'init', 0o100755, init.encode())
    cpio_entry(raw, 0, 'TRAILER!!!', 0)
    with open(base_initrd, 'rb') as f:
        first = f.read()
    with open(path, 'wb') as f:
        f.write(first)
        # Each cpio starts 4-byte aligned; gzip members may follow padding.
        f.write(b'\0' * (-len(first) % 4))
        with gzip.GzipFile(fileobj=f, mode='wb', mtime=0) as gz:
            gz.write(raw.getvalue())
    return path


def qemu_pid(name):
    """The pid of the QEMU process running the domain ``name``."""
    needle = ('guest=%s,' % name).encode()
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                if needle in f.read():
                    return int(entry)
        except OSError:
            continue
    return None


def thread_names(pid):
    names = []
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/comm' % (pid, tid)) as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return sorted(names)


def rss_mib(pid):
    with open('/proc/%d/status' % pid) as f:
        match = re.search(r'^VmRSS:\s+(\d+) kB', f.read(), re.M)
    return int(match.group(1)) / 1024.0


def mttcg_state(names):
    tcg = [n for n in names if n.endswith('/TCG')]
    if any(n.startswith('ALL CPUs') for n in tcg):
        return 'off', tcg
    if len(tcg) > 1:
        return 'on', tcg
    return '?', tcg


class Bench(object):

    def __init__(self, uri, memory, workdir, timeout):
        self.uri = uri
        self.timeout = timeout
        self.memory = memory
        self.workdir = workdir
        self.conn = libvirt.open(uri)
        self.flags = config_fixture.Config(conf.CONF)
        self.flags.setUp()
        # TCG for every arch: x86_64 guests on an x86_64 host too.
        self.flags.config(group='libvirt', connection_uri=uri,
                          virt_type='qemu',
                          instances_path=os.path.join(workdir, 'instances'))
        self.drv = emulation.EmuVirtDriver()

    def close(self):
        self.remove_leftovers()
        self.flags.cleanUp()
        self.drv.host.close()
        self.conn.close()

    def remove_leftovers(self):
        for dom in self.conn.listAllDomains():
            if dom.name().startswith(PREFIX):
                try:
                    if dom.isActive():
                        dom.destroy()
                    dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
                except libvirt.libvirtError:
                    pass

    def boot(self, arch, image, initrd, vcpus, tb_cache=None):
        """One boot; a dict of the figures."""
        self.flags.config(group='libvirt', tb_cache_size=tb_cache or 0)
        image_meta = image_meta_obj.ImageMeta.from_dict(
            {'properties': {'hw_emulation_architecture': arch,
                            'os_command_line': image.cmdline}},
            strict=True)
        inst = instance_obj.Instance.new(
            name=PREFIX + uuid_lib.uuid4().hex[:8],
            flavor=flavor_obj.Flavor.from_string(
                'vcpus=%d,ram=%d' % (vcpus, self.memory)),
            image_meta=image_meta, kernel_path=image.kernel,
            ramdisk_path=initrd)
        t0 = time.monotonic()
        self.drv.spawn(None, inst, image_meta, [], None, None)
        try:
            dom = self.conn.lookupByUUIDString(inst.uuid)
            name = dom.name()
            pid = qemu_pid(name)
            names = thread_names(pid) if pid else []
            found, text = base.read_until(
                self.drv.get_console_log_path(inst), MARKER, BOOT_TIMEOUT,
                is_alive=dom.isActive, poll=POLL)
            to_marker = time.monotonic() - t0
            if not found:
                # The threads still tell whether MTTCG is on.
                return dict(threads=names, error='no %r in %d s; console '
                            'ends: %s' % (MARKER, self.timeout,
                                          text[-200:].strip()))
            rss = rss_mib(pid) if pid else float('nan')
        finally:
            self.drv.destroy(None, inst)
        line = text[text.index(MARKER):].splitlines()[0]
        fields = dict(f.split('=', 1) for f in line.split()[1:])
        return dict(to_marker=to_marker,
                    work=float(fields['end']) - float(fields['start']),
                    boot=float(fields['start']), online=fields['online'],
                    rss=rss, threads=names)


def too_many(arch, vcpus):
    """Why ``arch`` takes no ``vcpus`` (its profile's bound), or None.

    Such a guest is refused at spawn; before the bound a 2-vCPU mipsel
    guest hung with an empty console until the boot timeout.
    """
    profile = archs.get_profile(arch)
    if profile.max_vcpus is None or vcpus <= profile.max_vcpus:
        return None
    return '%s guests take at most %d (%s)' % (
        arch, profile.max_vcpus, profile.max_vcpus_reason)


def median(values):
    return statistics.median(values) if values else float('nan')


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--uri', help='libvirt URI of the daemon')
    parser.add_argument('--runs', type=int, default=3,
                        help='boots per figure (median; default 3)')
    parser.add_argument('--arch', action='append', choices=ARCHES,
                        help='guest arch (repeatable; default: all)')
    parser.add_argument('--tb-arch', action='append', choices=ARCHES,
                        help='arches of the tb-cache runs (repeatable; '
                             'default: aarch64)')
    parser.add_argument('--tb-sizes', default='32,128,512',
                        help='tb_cache_size values in MiB, besides unset '
                             '(default 32,128,512)')
    parser.add_argument('--iterations', type=int, default=ITERATIONS,
                        help='loop iterations per worker (default %d)'
                             % ITERATIONS)
    parser.add_argument('--workers', type=int, default=2,
                        help='parallel workers in the guest (default 2)')
    parser.add_argument('--memory', type=int, default=512,
                        help='guest memory, MiB (default 512)')
    parser.add_argument('--timeout', type=int, default=BOOT_TIMEOUT,
                        help='seconds a boot may take to the marker '
                             '(default %d)' % BOOT_TIMEOUT)
    parser.add_argument('--no-speedup', action='store_true',
                        help='skip the 1 vs 2 vCPU runs')
    parser.add_argument('--no-tb', action='store_true',
                        help='skip the tb-cache runs')
    args = parser.parse_args(argv)
    arches = args.arch or list(ARCHES)
    tb_arches = [] if args.no_tb else (args.tb_arch or ['aarch64'])
    try:
        tb_sizes = [int(s) for s in args.tb_sizes.split(',') if s.strip()]
    except ValueError:
        parser.error('--tb-sizes: expected MiB values such as 32,128,512')

    missing = []
    images = {}
    try:
        uri = args.uri or base.find_uri()
    except base.Missing as e:
        missing.append(str(e))
    for arch in sorted(set(arches + tb_arches)):
        try:
            images[arch] = base.load_guest_image(arch)
        except base.Missing as e:
            missing.append(str(e))
    if missing:
        say('mttcg: %s, missing: %s' % (
            'failed (CI=true)' if base.in_ci() else 'skipped',
            '; '.join(missing)))
        return 1 if base.in_ci() else 0

    load_before = os.getloadavg()
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix='emuvirt-bench-mttcg-')
    os.chmod(workdir, 0o755)
    bench = Bench(uri, args.memory, workdir, args.timeout)
    speed, tb, failed, skipped = {}, {}, {}, {}
    try:
        bench.remove_leftovers()
        initrds = {arch: workload_initrd(
            images[arch].initrd, os.path.join(workdir, arch + '.img'),
            args.workers, args.iterations // SLOW.get(arch, 1))
            for arch in images}
        for arch in ([] if args.no_speedup else arches):
            for vcpus in (1, 2):
                why = too_many(arch, vcpus)
                if why:
                    say('%s vcpus=%d: skipped: %s' % (arch, vcpus, why))
                    skipped[arch, vcpus] = why
                    continue
                runs = []
                for _ in range(args.runs):
                    try:
                        run = bench.boot(arch, images[arch],
                                         initrds[arch], vcpus)
                    except Exception as e:  # one line, then go on
                        run = dict(threads=[], error=str(e))
                    if 'error' in run:
                        say('%s vcpus=%d: %s' % (arch, vcpus, run['error']))
                        failed[arch, vcpus] = run
                        break
                    runs.append(run)
                    say('%-8s vcpus=%d  workload %6.2f s  to marker %6.2f '
                        's  online %s  load %.1f' % (
                            arch, vcpus, runs[-1]['work'],
                            runs[-1]['to_marker'], runs[-1]['online'],
                            os.getloadavg()[0]))
                speed[arch, vcpus] = runs
        for arch in tb_arches:
            why = too_many(arch, 2)
            if why:
                say('%s tb-cache runs (2 vCPUs): skipped: %s' % (arch, why))
                skipped[arch, 'tb'] = why
                continue
            for size in [None] + tb_sizes:
                runs = []
                for _ in range(args.runs):
                    try:
                        run = bench.boot(arch, images[arch],
                                         initrds[arch], 2, size)
                    except Exception as e:  # one line, then go on
                        run = dict(threads=[], error=str(e))
                    if 'error' in run:
                        say('%s tb_cache_size=%s: %s' % (arch, size,
                                                         run['error']))
                        break
                    runs.append(run)
                    say('%-8s tb_cache_size=%-5s to marker %6.2f s  '
                        'workload %6.2f s  RSS %6.1f MiB' % (
                            arch, size or 'unset', runs[-1]['to_marker'],
                            runs[-1]['work'], runs[-1]['rss']))
                tb[arch, size] = runs
    finally:
        bench.close()
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    report(args, arches, tb_arches, tb_sizes, speed, tb, failed, skipped,
           load_before, elapsed)
    return 0


def _med(runs, key):
    return median([r[key] for r in runs])


def report(args, arches, tb_arches, tb_sizes, speed, tb, failed, skipped,
           load_before, elapsed):
    print('MTTCG, %d workers x %d iterations (%s), median of %d boots, '
          '%d MiB (%s):' % (
              args.workers, args.iterations,
              ', '.join('%s /%d' % kv for kv in sorted(SLOW.items())),
              args.runs, args.memory, os.uname().nodename))
    if speed:
        print('  %-8s %-6s %-8s %9s %9s %8s  %s' % (
            'arch', 'MTTCG', 'online', 't1 s', 't2 s', 't1/t2',
            'TCG threads at 2 vCPUs'))
    for arch in arches:
        one, two = speed.get((arch, 1), []), speed.get((arch, 2), [])
        if (arch, 1) not in speed and (arch, 2) not in speed:
            continue
        seen = two[0] if two else failed.get((arch, 2), {})
        state, threads = mttcg_state(seen.get('threads', []))
        if (arch, 2) in skipped:
            state = '-'
        t1, t2 = _med(one, 'work'), _med(two, 'work')
        print('  %-8s %-6s %-8s %9.2f %9.2f %8.2f  %s' % (
            arch, state, seen.get('online', '-'), t1, t2,
            t1 / t2 if one and two else float('nan'),
            ', '.join(threads) or '-'))
    if speed:
        print('  each boot, workload s (1 vCPU | 2 vCPUs):')
    for arch in arches:
        if (arch, 1) in speed or (arch, 2) in speed:
            print('    %-8s %s | %s' % (arch, ' '.join(
                '%.2f' % r['work'] for r in speed.get((arch, 1), [])),
                ' '.join('%.2f' % r['work']
                         for r in speed.get((arch, 2), [])) or '-'))
    for (arch, vcpus), run in sorted(failed.items()):
        print('  %s, %d vCPUs failed: %s' % (arch, vcpus, run['error']))
    for (arch, what), why in skipped.items():
        print('  %s, %s skipped: %s' % (
            arch, 'tb-cache runs' if what == 'tb' else '%d vCPUs' % what,
            why))
    for arch in tb_arches:
        if (arch, 'tb') in skipped:
            continue
        print('Translation cache, %s, 2 vCPUs (to marker: from the spawn '
              'call; RSS: QEMU at the marker):' % arch)
        print('  %-14s %11s %11s %10s' % (
            'tb_cache_size', 'to marker s', 'workload s', 'RSS MiB'))
        for size in [None] + tb_sizes:
            runs = tb.get((arch, size), [])
            print('  %-14s %11.2f %11.2f %10.1f' % (
                'unset' if size is None else '%d MiB' % size,
                _med(runs, 'to_marker'), _med(runs, 'work'),
                _med(runs, 'rss')))
    print('Load average (1, 5, 15 min) before: %.2f %.2f %.2f, after: '
          '%.2f %.2f %.2f on %d CPUs (figures under load are noisy)' % (
              load_before + os.getloadavg() + (os.cpu_count(),)))
    print('Whole run: %.0f s' % elapsed)


if __name__ == '__main__':
    sys.exit(main())

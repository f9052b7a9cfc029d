#!/usr/bin/env python3
"""Benchmark: spawn to guest userspace, per guest arch, on the real daemon.

For each arch, the same Debian kernel + busybox initramfs of
tools/guest-images boots until its init prints ``EMUVIRT-UNAME: ...`` on
the console, from three domain XMLs:

  emuvirt       EmuVirtDriver.spawn with only hw_emulation_architecture set
                (timed from the spawn call: planning, instance dir, define,
                start)
  minimal       a hand-written domain: kernel + initrd, the CPU model and
                console the arch needs, nothing else (no NIC, no balloon)
  virt-install  ``virt-install --arch ARCH --print-xml`` (Debian package
                virtinst) for the same kernel, with the flags libvirt 9.0
                makes it need (--features acpi=off, --network user) and a
                console log file

Each figure is the median of --runs boots (default 3), one boot at a time.
With --ablate, emuvirt's XML is also booted with one element taken out at
a time, to see what each one costs.

Usage: tools/bench/spawn_boot.py [--uri URI] [--runs N] [--arch A ...]
                                 [--ablate] [--memory MIB]
Run it with the Python that has emuvirt installed (e.g. .venv/bin/python).
The daemon: --uri, else $EMUVIRT_LIBVIRT_URI, else tools/emuvirt-host's.
Target (issue 3): emuvirt within 10% of minimal on every arch.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuid_lib

import libvirt
from lxml import etree
from oslo_config import fixture as config_fixture

from emuvirt import conf
from emuvirt.objects import flavor as flavor_obj
from emuvirt.objects import image_meta as image_meta_obj
from emuvirt.objects import instance as instance_obj
from emuvirt.tests.integration import base
from emuvirt.virt import emulation
from emuvirt.virt.libvirt import instance_files

ARCHES = ('aarch64', 's390x', 'ppc64le', 'mipsel')
PREFIX = 'emuvirt-bench-'
BOOT_TIMEOUT = 120
POLL = 0.02

# What the minimal XML needs per arch (DESIGN.md): the machine, a 64-bit
# CPU model on aarch64, and the console device.
SERIAL = ("<serial type='pty'><log file='{log}' append='off'/>"
          "<target port='0'/></serial>")
MINIMAL_ARCH = {
    'aarch64': ('virt', "<cpu mode='custom' match='exact'><model "
                "fallback='forbid'>cortex-a57</model></cpu>", SERIAL),
    's390x': ('s390-ccw-virtio', '',
              "<console type='pty'><log file='{log}' append='off'/>"
              "<target type='sclp' port='0'/></console>"),
    'ppc64le': ('pseries', '', SERIAL),
    'mipsel': ('malta', '', SERIAL),
}
MINIMAL = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{memory}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='{arch}' machine='{machine}'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  {cpu}
  <on_poweroff>destroy</on_poweroff>
  <devices>
    {console}
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>"""


def _drop(xpath):
    def change(root):
        for node in root.xpath(xpath):
            node.getparent().remove(node)
    return change


def _cpu_model(model):
    def change(root):
        for node in root.xpath('cpu/model'):
            node.text = model
    return change


# --ablate: emuvirt's XML with one thing changed; (name, arches or None
# for all, change(root)).
ABLATIONS = (
    ('no rng', None, _drop('devices/rng')),
    ('no memballoon', None, _drop('devices/memballoon')),
    ('no NIC', None, _drop('devices/interface')),
    ('no pcie-root-ports', ('aarch64',),
     _drop("devices/controller[@model='pcie-root-port']")),
    ('no line-mode console', ('s390x',),
     _drop("devices/console[target/@type='sclplm']")),
    ('cortex-a57 CPU', ('aarch64',), _cpu_model('cortex-a57')),
)


def say(msg):
    print(msg, file=sys.stderr, flush=True)


class Bench(object):

    def __init__(self, uri, memory, workdir):
        self.uri = uri
        self.memory = memory
        self.workdir = workdir
        self.conn = libvirt.open(uri)
        self.flags = config_fixture.Config(conf.CONF)
        self.flags.setUp()
        self.flags.config(group='libvirt', connection_uri=uri,
                          instances_path=os.path.join(workdir, 'instances'))
        self.drv = emulation.EmuVirtDriver()

    def close(self):
        self.flags.cleanUp()
        self.drv.host.close()
        self.conn.close()

    # -- one boot ----------------------------------------------------------

    @staticmethod
    def _wait(log, marker, dom):
        deadline = time.monotonic() + BOOT_TIMEOUT
        needle = marker.encode()
        while time.monotonic() < deadline:
            try:
                with open(log, 'rb') as f:
                    if needle in f.read():
                        return
            except FileNotFoundError:
                pass
            if not dom.isActive():
                # A last look: the guest powers off right after the marker.
                with open(log, 'rb') as f:
                    if needle in f.read():
                        return
                raise RuntimeError('guest stopped before %r (%s)'
                                   % (marker, log))
            time.sleep(POLL)
        raise RuntimeError('no %r within %d s (%s)'
                           % (marker, BOOT_TIMEOUT, log))

    def _remove(self, dom):
        try:
            if dom.isActive():
                dom.destroy()
        except libvirt.libvirtError:
            pass
        try:
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        except libvirt.libvirtError:
            pass

    def boot_xml(self, xml, log, marker):
        """Seconds from define to the marker, for a ready-made XML."""
        t0 = time.monotonic()
        dom = self.conn.defineXML(xml)
        try:
            dom.create()
            self._wait(log, marker, dom)
            return time.monotonic() - t0
        finally:
            self._remove(dom)

    def _instance(self, arch, image):
        image_meta = image_meta_obj.ImageMeta.from_dict(
            {'properties': {'hw_emulation_architecture': arch,
                            'os_command_line': image.cmdline}},
            strict=True)
        inst = instance_obj.Instance.new(
            name=PREFIX + uuid_lib.uuid4().hex[:8],
            flavor=flavor_obj.Flavor.from_string('ram=%d' % self.memory),
            image_meta=image_meta, kernel_path=image.kernel,
            ramdisk_path=image.initrd)
        return inst, image_meta

    # -- the three XMLs ----------------------------------------------------

    def emuvirt(self, arch, image):
        inst, image_meta = self._instance(arch, image)
        t0 = time.monotonic()
        self.drv.spawn(None, inst, image_meta, [], None, None)
        try:
            dom = self.conn.lookupByUUIDString(inst.uuid)
            self._wait(self.drv.get_console_log_path(inst), image.marker,
                       dom)
            return time.monotonic() - t0
        finally:
            self.drv.destroy(None, inst)

    def emuvirt_changed(self, change):
        """emuvirt's XML after ``change(root)``, defined and started."""
        def run(arch, image):
            inst, image_meta = self._instance(arch, image)
            root = etree.fromstring(
                self.drv.get_guest_xml(inst, image_meta))
            change(root)
            path = instance_files.instance_dir(inst)
            instance_files.create_dir(path)
            try:
                return self.boot_xml(
                    etree.tostring(root, encoding='unicode'),
                    os.path.join(path, 'console.log'), image.marker)
            finally:
                instance_files.remove_dir(path)
        return run

    def _log(self):
        return os.path.join(self.workdir, 'console-%s.log'
                            % uuid_lib.uuid4().hex[:8])

    def minimal(self, arch, image):
        machine, cpu, console = MINIMAL_ARCH[arch]
        log = self._log()
        xml = MINIMAL.format(
            name=PREFIX + uuid_lib.uuid4().hex[:8], memory=self.memory,
            arch=arch, machine=machine, kernel=image.kernel,
            initrd=image.initrd, cmdline=image.cmdline, cpu=cpu,
            console=console.format(log=log))
        return self.boot_xml(xml, log, image.marker)

    def virt_install(self, arch, image):
        log = self._log()
        cmd = ['virt-install', '--connect', self.uri, '--print-xml',
               '--arch', arch, '--name', PREFIX + uuid_lib.uuid4().hex[:8],
               '--memory', str(self.memory), '--vcpus', '1',
               '--boot', 'kernel=%s,initrd=%s,kernel_args=%s'
               % (image.kernel, image.initrd, image.cmdline),
               '--disk', 'none', '--osinfo', 'detect=off,name=generic',
               '--graphics', 'none', '--noautoconsole',
               # What libvirt 9.0 needs: no ACPI without UEFI on aarch64,
               # and no "default" network on a private daemon.
               '--features', 'acpi=off', '--network', 'user',
               '--console', 'pty,log.file=%s' % log]
        xml = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                             text=True).stdout
        return self.boot_xml(xml, log, image.marker)


def median(bench, func, arch, image, runs):
    times = []
    for _ in range(runs):
        times.append(func(arch, image))
    return statistics.median(times), times


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--uri', help='libvirt URI of the daemon')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--arch', action='append', choices=ARCHES,
                        help='guest arch (repeatable; default: all)')
    parser.add_argument('--memory', type=int, default=512,
                        help='guest memory in MiB, the same for all XMLs')
    parser.add_argument('--ablate', action='store_true',
                        help="also time emuvirt's XML less one element")
    parser.add_argument('--no-virt-install', action='store_true')
    args = parser.parse_args(argv)

    uri = args.uri or base.find_uri()
    if not args.no_virt_install and not shutil.which('virt-install'):
        parser.error('virt-install not found: install the Debian package '
                     'virtinst (tools/emuvirt-host install bench), or pass '
                     '--no-virt-install')
    workdir = tempfile.mkdtemp(prefix='emuvirt-bench-')
    os.chmod(workdir, 0o755)
    bench = Bench(uri, args.memory, workdir)
    variants = [('minimal', None, bench.minimal),
                ('emuvirt', None, bench.emuvirt)]
    if not args.no_virt_install:
        variants.append(('virt-install', None, bench.virt_install))
    if args.ablate:
        variants += [('emuvirt, ' + name, arches,
                      bench.emuvirt_changed(change))
                     for name, arches, change in ABLATIONS]
    results = {}
    try:
        for arch in args.arch or ARCHES:
            image = base.load_guest_image(arch)
            # Warm the daemon's domain capabilities cache (1.5-2 s the
            # first time per emulator), which is no part of a boot.
            bench.drv.get_guest_xml(*bench._instance(arch, image))
            for name, arches, func in variants:
                if arches and arch not in arches:
                    continue
                med, times = median(bench, func, arch, image, args.runs)
                results[arch, name] = med
                say('%-8s %-32s median %6.2f s  (%s)' % (
                    arch, name, med, ', '.join('%.2f' % t for t in times)))
    finally:
        bench.close()
        shutil.rmtree(workdir, ignore_errors=True)
    report(results, args.arch or ARCHES, variants)
    return 0


def report(results, arches, variants):
    names = [n for n, _a, _f in variants]
    head = ['arch'] + names + ['emuvirt vs minimal']
    rows = []
    for arch in arches:
        row = [arch]
        for name in names:
            value = results.get((arch, name))
            row.append('-' if value is None else '%.2f' % value)
        mini, emu = results.get((arch, 'minimal')), results.get(
            (arch, 'emuvirt'))
        row.append('%+.0f%% %s' % (100 * (emu / mini - 1),
                                   'ok' if emu <= mini * 1.1 else 'SLOW'))
        rows.append(row)
    widths = [max(len(r[i]) for r in [head] + rows)
              for i in range(len(head))]
    print('spawn to userspace, seconds (median):')
    for row in [head] + rows:
        print('  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


if __name__ == '__main__':
    sys.exit(main())

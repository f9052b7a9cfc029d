"""What a command imports: only what it uses.

Commands start in a fresh Python each time, so their import time is most
of what they take (issue 9): ``emuvirt server list`` must not load the
versioned objects (oslo.versionedobjects, which brings oslo.messaging,
oslo.service and eventlet), nor keystoneauth1 (Placement), nor the other
subcommands. Each case runs the real command in a child Python, on
libvirt's own test driver (``test:///default``, in libvirt-python, no
daemon), and reads the child's ``sys.modules``.
"""

import json
import os
import subprocess
import sys

import fixtures
import testtools

CHILD = '''
import json, sys
from emuvirt.cmd import emuvirt
status = emuvirt.main(sys.argv[1:])
json.dump({"status": status, "modules": sorted(sys.modules)}, sys.stderr)
'''

HEAVY = ('oslo_versionedobjects', 'oslo_messaging', 'oslo_service',
         'eventlet', 'keystoneauth1', 'requests', 'emuvirt.objects',
         # Lighter, still some 10 ms each: os-traits walks its modules,
         # oslo.concurrency loads oslo.utils' strutils (~100 regexes).
         'os_traits', 'oslo_concurrency',
         # What plans and builds a guest, probes the host or talks to
         # Placement: some 20 ms of dataclasses and regexes together.
         'emuvirt.virt.libvirt.decide', 'emuvirt.virt.libvirt.guest_config',
         'emuvirt.virt.libvirt.config', 'emuvirt.virt.archs',
         'emuvirt.virt.hostcaps', 'emuvirt.virt.provider_tree',
         'emuvirt.virt.configdrive', 'emuvirt.virt.libvirt.rebuild',
         'emuvirt.scheduler.request_filter',
         'emuvirt.scheduler.client.report')


class TestImports(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.conf = os.path.join(self.tmp, 'emuvirt.conf')
        with open(self.conf, 'w') as f:
            f.write('[libvirt]\nconnection_uri = test:///default\n'
                    'instances_path = %s\n' % self.tmp)

    def run_child(self, *argv, extra_conf=''):
        if extra_conf:
            with open(self.conf, 'a') as f:
                f.write(extra_conf)
        proc = subprocess.run(
            [sys.executable, '-c', CHILD, '--config-file', self.conf] +
            list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, timeout=120)
        result = json.loads(proc.stderr)
        self.assertEqual(0, result['status'], proc.stderr)
        return proc.stdout, set(result['modules'])

    @staticmethod
    def run_python(code, env=None):
        """What ``python -c code`` prints, in a fresh interpreter."""
        return subprocess.run(
            [sys.executable, '-c', code], stdout=subprocess.PIPE, text=True,
            check=True, timeout=120, env=env).stdout

    def test_server_list_loads_no_objects_placement_or_other_commands(self):
        out, modules = self.run_child('server', 'list')
        self.assertEqual('NAME  UUID  ARCH  STATE\n', out)
        self.assertEqual([], [m for m in HEAVY if m in modules])
        self.assertIn('emuvirt.cmd.server', modules)
        for other in ('guest_xml', 'hostcaps', 'scheduler'):
            self.assertNotIn('emuvirt.cmd.' + other, modules)

    def test_placement_options_unused_load_no_keystoneauth1(self):
        # Configured, but server list never talks to Placement: it does
        # not read [placement] (a bad value there is the business of the
        # commands that do, e.g. server delete).
        out, modules = self.run_child(
            'server', 'list',
            extra_conf='[placement]\nauth_type = none\ntimeout = soon\n')
        self.assertNotIn('keystoneauth1', modules)

    def test_help_loads_no_subcommand(self):
        out = self.run_python(
            'import sys\nfrom emuvirt.cmd import emuvirt\n'
            'emuvirt.build_parser(["--help"])\n'
            'print(sorted(m for m in sys.modules '
            'if m.startswith("emuvirt.cmd.")))')
        self.assertEqual("['emuvirt.cmd.common', 'emuvirt.cmd.emuvirt']\n",
                         out)

    def test_objects_load_without_eventlet_dns(self):
        # The objects are real oslo.versionedobjects ones, which load
        # oslo.messaging and eventlet; the command keeps eventlet's green
        # DNS (dnspython) out.
        env = {k: v for k, v in os.environ.items()
               if k != 'EVENTLET_NO_GREENDNS'}
        out = self.run_python(
            'import sys\nfrom emuvirt.cmd import emuvirt\n'
            'from emuvirt.objects import image_meta\n'
            'print(issubclass(image_meta.ImageMeta, '
            '__import__("oslo_versionedobjects.base").base.VersionedObject),'
            ' "eventlet" in sys.modules, "dns" in sys.modules)', env=env)
        self.assertEqual('True True False\n', out)

    def test_compute_cycle_removing_nothing_loads_no_objects(self):
        # Each cycle of emuvirt-compute looks for abandoned creates; the
        # object model (~15 MB resident) loads only to remove one.
        code = (
            'import sys\n'
            'from emuvirt.compute import api\n'
            'from emuvirt import conf\n'
            'class Ledger:\n'
            '    def stale_claims(self):\n'
            '        return {"0c6f1ad2-5bd5-4bd6-9a77-1f4b1b06b0a1"}\n'
            'class Driver:\n'
            '    def domain_exists(self, uuid):\n'
            '        return False\n'
            'compute = api.ComputeAPI(conf.CONF, driver=Driver(),\n'
            '                         reportclient=None, ledger=Ledger())\n'
            'print(compute.remove_abandoned(),\n'
            '      "oslo_versionedobjects" in sys.modules)\n')
        self.assertEqual('[] False\n', self.run_python(code))

    def test_console_script_leaves_the_imports_to_the_collector_no_more(self):
        # The console script's imports are frozen out of garbage
        # collection (they live as long as the process); what the command
        # makes is still collected, and the collector stays on.
        code = (
            'import gc, sys\n'
            'from emuvirt.cmd import entry, emuvirt\n'
            'def report(argv=None):\n'
            '    frozen = gc.get_freeze_count()\n'
            '    garbage = []\n'
            '    garbage.append(garbage)\n'
            '    del garbage\n'
            '    print(frozen > 10000, gc.isenabled(), gc.collect() > 0,\n'
            '          "oslo_config.cfg" in sys.modules)\n'
            '    return 0\n'
            'emuvirt.main = report\n'
            'sys.exit(entry.emuvirt())\n')
        self.assertEqual('True True True True\n', self.run_python(code))

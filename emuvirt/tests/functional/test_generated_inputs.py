"""Generated input for ``emuvirt guest-xml``: XML libvirt takes, or one line.

Hypothesis draws image properties (on the command line, in a property
file beside the image or kernel, or both), a flavor, a guest name and
boot files (images of each format, kernels, ramdisks, command lines,
paths that are odd or missing), for every captured host of the fake
libvirt, and runs :func:`emuvirt.cmd.emuvirt.main` as the console script
does. Every run must end in one of two ways:

* status 0, nothing on stderr and a domain XML on stdout that libvirt's
  own RNG schema (domain.rng) accepts;
* status 1 (2 for a usage error), nothing on stdout and one line on
  stderr, ``emuvirt: error: ...``, naming an argument, an image property,
  a flavor key, a property file or an option that was given.

Nothing else: no traceback, no other exception, no message of several
lines, no XML the schema refuses.

How many examples: ``EMUVIRT_HYPOTHESIS_EXAMPLES`` (default 10,000 with
``CI=true``, else 300). The examples are derandomized (the same on every
run, so a CI failure reproduces anywhere); ``EMUVIRT_HYPOTHESIS_SEED=N``
explores other ones, and the seed is printed with the run's figures.
"""

import contextlib
import functools
import io
import json
import os
import shutil
import time
import uuid

import fixtures
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import seed
from hypothesis import settings
from hypothesis import strategies as st
from lxml import etree
from testtools import content

from emuvirt.cmd import emuvirt as emuvirt_cmd
from emuvirt import exception
from emuvirt.objects import fields
from emuvirt.objects import image_meta
from emuvirt.tests.fixtures import fakelibvirt
from emuvirt.tests.functional import test_base
from emuvirt.tests.functional import test_guest_xml_cmd
from emuvirt.tests.functional.virt import test_golden_xml
from emuvirt.virt import archs
from emuvirt.virt.libvirt import caps

EXAMPLES = int(os.environ.get('EMUVIRT_HYPOTHESIS_EXAMPLES') or (
    10000 if test_base.in_ci() else 300))
SEED = os.environ.get('EMUVIRT_HYPOTHESIS_SEED')

HOSTS = tuple(fakelibvirt.host_arches())


@functools.lru_cache(maxsize=None)
def _offered():
    """What the captured hosts offer.

    (all machine names, all CPU model names, {(host, arch): machine
    names}, {arch: CPU model names}).
    """
    machines, models, by_arch, models_by_arch = set(), set(), {}, {}
    for host in HOSTS:
        capabilities, domcaps = fakelibvirt._load_host(host)
        for guest in caps.parse_capabilities(capabilities).guests:
            names = guest.machine_names()
            machines.update(names)
            by_arch[(host, guest.arch)] = sorted(names)
        for (arch, _machine, _type), data in domcaps.items():
            names = caps.parse_domain_capabilities(data).cpu_model_names()
            models.update(names)
            models_by_arch.setdefault(arch, set()).update(names)
    return (sorted(machines), sorted(models), by_arch,
            {a: sorted(m) for a, m in models_by_arch.items()})


# -- strategies ---------------------------------------------------------------

# Text as users and files give it: mostly plain, sometimes anything at all
# (control characters, lone surrogates as Python shows bytes that are not
# UTF-8, line breaks, very long).
_ANY_TEXT = st.text(max_size=12) | st.text(
    st.characters(exclude_categories=()), max_size=60) | st.sampled_from(
    ('', ' ', 'a\nb', 'x\x00', '\udcff', '\x1b[31m', 'é', '\u2028',
     '\ufffe', 'x' * 5000))
_PLAIN = st.from_regex(r'[a-z0-9][a-z0-9._+-]{0,20}', fullmatch=True)
_INTS = st.sampled_from(
    (0, 1, 2, 8, 16, 17, 248, 249, 255, 256, 288, 512, 513, 2048, 2049,
     4096, 4097, 5338, 5339, 65535, 65536, 16777216, 16777217, 2 ** 64,
     10 ** 25, -1)) | st.integers(min_value=-10, max_value=10 ** 6)
_ARCHES = st.sampled_from(
    fields.Architecture.ALL + tuple(fields.Architecture.ALIASES) +
    ('AArch64', ' s390x ', 'x64', 'arm', ''))


def _value_strategy(name):
    field = image_meta.ImageMetaProps.fields[name]
    machines, models = _offered()[:2]
    if name in ('hw_architecture', 'hw_emulation_architecture'):
        good = _ARCHES
    elif name == 'hw_machine_type':
        good = st.sampled_from(machines)
    elif name == 'hw_cpu_model':
        good = st.sampled_from(models)
    elif name == 'os_command_line':
        good = st.sampled_from(('console=ttyAMA0', 'quiet',
                                'root=/dev/vda rw', 'x' * 4095))
    elif hasattr(field, 'valid_values') and field.valid_values:
        good = st.sampled_from(field.valid_values)
    elif name in ('hw_boot_menu', 'hw_qemu_guest_agent'):
        good = st.sampled_from(('true', 'false', 'yes', 'no', '1', 'maybe'))
    else:
        good = _INTS.map(str)
    return good | good | _ANY_TEXT


_PROP_NAMES = tuple(sorted(image_meta.ImageMetaProps.fields)) + (
    'architecture',)
_PROPS = st.fixed_dictionaries(
    {}, optional={name: _value_strategy(
        image_meta.ImageMetaProps.LEGACY_NAMES.get(name, name))
        for name in _PROP_NAMES}) | st.dictionaries(
    st.sampled_from(_PROP_NAMES) | _ANY_TEXT, _ANY_TEXT, max_size=3)

_FLAVOR_KEYS = ('vcpus', 'ram', 'disk', 'memory_mb', 'root_gb', 'ephemeral',
                'swap', 'name', 'hw:cpu_model', 'trait:CUSTOM_X')
_FLAVOR = st.none() | st.lists(
    st.tuples(st.sampled_from(_FLAVOR_KEYS) | _ANY_TEXT,
              _INTS.map(str) | _PLAIN | _ANY_TEXT),
    max_size=4).map(lambda items: ','.join('%s=%s' % kv for kv in items)) | (
    _ANY_TEXT)

_NAME = st.none() | _PLAIN | _ANY_TEXT | st.sampled_from(
    ('../x', 'x\n', 'a b', 'a' * 63, 'a' * 64, str(uuid.UUID(int=7)),
     '-x', '.x'))

# Boot files: a key of the files made for each example, or a path.
_FILE = st.sampled_from(('qcow2', 'raw', 'iso', 'odd name', 'nul in name',
                         'missing', 'directory', 'relative'))
_PROPERTY_FILE = st.sampled_from((None, '.json', '.properties'))


def _encode_json(props, dupe, deep):
    text = json.dumps(props, ensure_ascii=False) if props else '{}'
    if dupe and props:
        key = json.dumps(sorted(props)[0], ensure_ascii=False)
        text = text[:-1] + ', %s: "x"}' % key
    if deep:
        text = '{"hw_disk_bus": %s}' % ('[' * deep + ']' * deep)
    return text


def _encode_properties(props, dupe, deep):
    lines = ['# generated'] + ['%s=%s' % kv for kv in props.items()]
    if dupe and props:
        lines.append(lines[-1])
    return '\n'.join(lines) + '\n'


_BOOT = st.fixed_dictionaries({
    'image': st.none() | _FILE,
    'kernel': st.none() | _FILE,
    'ramdisk': st.none() | _FILE,
    'cmdline': st.none() | st.sampled_from(('console=ttyS0 quiet', '')) |
    _ANY_TEXT,
    'file': _PROPERTY_FILE,
    'file_props': _PROPS,
    'file_dupe': st.booleans(),
    'file_deep': st.sampled_from((0, 0, 0, 3, 5000)),
    'file_bytes': st.none() | st.binary(max_size=40),
})

_HOSTILE = st.fixed_dictionaries({
    'host': st.sampled_from(HOSTS),
    'virt_type': st.sampled_from(('kvm', 'qemu')),
    'props': _PROPS,
    'flavor': _FLAVOR,
    'name': _NAME,
    'boot': _BOOT,
})

_GUEST_ARCHES = tuple(archs.PROFILES) + ('arm64', 'amd64', 'ppc64el')
_ENUM_PROPS = tuple(
    name for name, field in sorted(image_meta.ImageMetaProps.fields.items())
    if getattr(field, 'valid_values', None) and 'architecture' not in name)


@st.composite
def _plausible(draw):
    """What a user who read the docs gives: known names, offered values.

    Combinations are still free (a machine of another family, a video
    model the arch lacks), and so are the sizes.
    """
    host = draw(st.sampled_from(HOSTS))
    _machines, _models, by_arch, models_by_arch = _offered()
    props = {}
    arch = draw(st.none() | st.sampled_from(_GUEST_ARCHES))
    if arch is not None:
        props[draw(st.sampled_from(('hw_emulation_architecture',
                                    'hw_emulation_architecture',
                                    'hw_architecture')))] = arch
    canonical = fields.Architecture.canonicalize(arch) or host
    offered = by_arch.get((host, canonical), ())
    if offered and draw(st.booleans()):
        props['hw_machine_type'] = draw(st.sampled_from(offered))
    models = models_by_arch.get(canonical, ())
    if models and draw(st.integers(0, 3)) == 0:
        props['hw_cpu_model'] = draw(st.sampled_from(models))
    for name in draw(st.lists(st.sampled_from(_ENUM_PROPS), max_size=3)):
        props[name] = draw(st.sampled_from(
            image_meta.ImageMetaProps.fields[name].valid_values))
    flavor = draw(st.none() | st.builds(
        'vcpus={},ram={},disk={}'.format,
        st.sampled_from((1, 2, 4, 8, 16, 17, 255, 256, 512, 513)),
        st.sampled_from((64, 512, 1024, 2048, 2049, 5338, 5339)),
        st.sampled_from((0, 1, 10, 65536))))
    boot = draw(st.fixed_dictionaries({
        'image': st.sampled_from((None, 'qcow2', 'raw', 'iso')),
        'kernel': st.sampled_from((None, None, 'raw')),
        'ramdisk': st.sampled_from((None, None, 'raw')),
        'cmdline': st.sampled_from((None, 'console=ttyS0 quiet')),
        'file': _PROPERTY_FILE,
        'file_props': st.just({}),
        'file_dupe': st.just(False),
        'file_deep': st.just(0),
        'file_bytes': st.none(),
    }))
    if boot['kernel'] is None:
        boot['ramdisk'] = boot['cmdline'] = None
    if boot['file'] is not None and props and draw(st.booleans()):
        # The same properties from a property file instead.
        boot['file_props'], props = props, {}
    return {'host': host,
            'virt_type': draw(st.sampled_from(('kvm', 'qemu'))),
            'props': props, 'flavor': flavor,
            'name': draw(st.none() | _PLAIN), 'boot': boot}


# Two plausible cases for one hostile one.
_CASE = _plausible() | _plausible() | _HOSTILE


def _key_names(key):
    """How a refusal may name a property key: as given, or as read.

    ``KEY=VALUE`` is split at the first ``=`` and the key stripped.
    """
    read = key.partition('=')[0].strip()
    return [key, exception.label(key), read, exception.label(read)]


def _settings():
    kwargs = dict(max_examples=EXAMPLES, deadline=None, database=None,
                  print_blob=True,
                  suppress_health_check=list(HealthCheck))
    if SEED is None:
        kwargs['derandomize'] = True
    return settings(**kwargs)


# -- the test -----------------------------------------------------------------

class TestGeneratedInputs(test_base.FunctionalTestCase):

    def setUp(self):
        super().setUp()
        if not os.path.exists(test_golden_xml.SCHEMA):
            self.require('libvirt domain schema %s' % test_golden_xml.SCHEMA)
        self.schema = etree.RelaxNG(etree.parse(test_golden_xml.SCHEMA))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.useFixture(test_guest_xml_cmd.RootLoggerState())
        self.instances = os.path.join(self.tmp, 'instances')
        self.configs = {}
        for virt_type in ('kvm', 'qemu'):
            path = os.path.join(self.tmp, '%s.conf' % virt_type)
            with open(path, 'w') as f:
                f.write('[libvirt]\ninstances_path = %s\nvirt_type = %s\n'
                        % (self.instances, virt_type))
            self.configs[virt_type] = path
        self.runs = {'xml': 0, 'refused': 0}

    # Files of one example, in a directory of its own.

    def _file(self, where, key, role):
        if key is None:
            return None
        if key == 'missing':
            return os.path.join(where, 'missing-' + role)
        if key == 'directory':
            return where
        if key == 'relative':
            return os.path.relpath(self._file(where, 'raw', role))
        names = {'qcow2': role + '.qcow2', 'raw': role + '.img',
                 'iso': role + '.iso', 'odd name': role + ' \u00e9\x01x',
                 'nul in name': role + '\x00x'}
        path = os.path.join(where, names[key])
        if '\x00' not in path:
            with open(path, 'wb') as f:
                f.write(b'QFI\xfb' + b'\0' * 60 if key == 'qcow2' else
                        b'\0' * 64)
        return path

    def _argv(self, case, where):
        boot = case['boot']
        argv = ['--config-file', self.configs[case['virt_type']],
                'guest-xml']
        # A refusal names what was given, or the argument that is
        # missing (a mipsel guest needs --kernel), or an option.
        named = ['[libvirt]', '[emulation]', '--kernel', '--image']
        for key, value in case['props'].items():
            argv.append('--property=%s=%s' % (key, value))
            named += _key_names(key)
        if case['props']:
            named.append('--property')
        if case['flavor'] is not None:
            argv.append('--flavor=%s' % case['flavor'])
            named += ['--flavor', 'Flavor ']
        if case['name'] is not None:
            argv.append('--name=%s' % case['name'])
            named += ['--name', 'instance name']
        paths = {}
        for role in ('image', 'kernel', 'ramdisk'):
            path = self._file(where, boot[role], role)
            if path is not None:
                argv.append('--%s=%s' % (role, path))
                named += ['--' + role, role + '_path']
                paths[role] = path
        if boot['cmdline'] is not None:
            argv.append('--cmdline=%s' % boot['cmdline'])
            named += ['--cmdline', 'os_command_line']
        beside = paths.get('image') or paths.get('kernel')
        if boot['file'] and beside and '\x00' not in beside and (
                os.path.isfile(beside)):
            encode = (_encode_json if boot['file'] == '.json' else
                      _encode_properties)
            data = boot['file_bytes']
            if data is None:
                data = encode(boot['file_props'], boot['file_dupe'],
                              boot['file_deep']).encode(
                                  'utf-8', 'surrogatepass')
            with open(beside + boot['file'], 'wb') as f:
                f.write(data)
            named += [beside + boot['file'],
                      os.path.abspath(beside) + boot['file']]
            for key in boot['file_props']:
                named += _key_names(key)
        return argv, named

    def _run(self, argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = emuvirt_cmd.main(argv)
            except SystemExit as e:
                status = e.code
        return status, out.getvalue(), err.getvalue()

    def _check(self, case):
        where = os.path.join(self.tmp, 'files')
        os.mkdir(where)
        try:
            with fakelibvirt.FakeLibvirtFixture(case['host']), \
                    fakelibvirt.FakeFirmwareFixture(case['host']):
                argv, named = self._argv(case, where)
                status, out, err = self._run(argv)
        finally:
            shutil.rmtree(where)
            shutil.rmtree(self.instances, ignore_errors=True)
        if status == 0:
            self.assertEqual('', err, 'status 0 with a message')
            dom = etree.fromstring(out.encode())
            if not self.schema.validate(dom):
                self.fail('XML refused by domain.rng: %s\n%s'
                          % (self.schema.error_log, out))
            if case['name'] is not None:
                self.assertEqual(case['name'], dom.findtext('name'))
            self.runs['xml'] += 1
            return
        self.assertIn(status, (1, 2), err)
        self.assertEqual('', out, 'a refusal printed XML')
        self.assertTrue(err.startswith('emuvirt: error: ') and
                        err.endswith('\n') and err.count('\n') == 1 and
                        len(err.splitlines()) == 1,
                        'not one line: %r' % err)
        self.assertTrue(any(n in err for n in named),
                        'names nothing that was given: %r (given: %r)'
                        % (err, argv))
        self.runs['refused'] += 1

    def test_every_outcome_is_valid_xml_or_one_line(self):
        start = time.monotonic()

        @_settings()
        @given(case=_CASE)
        def check(case):
            self._check(case)

        if SEED is not None:
            check = seed(int(SEED))(check)
        check()
        elapsed = time.monotonic() - start
        total = self.runs['xml'] + self.runs['refused']
        figures = ('%d examples (%d domain XMLs, %d refusals) in %.1f s, '
                   '%s' % (total, self.runs['xml'], self.runs['refused'],
                           elapsed, 'seed %s' % SEED if SEED is not None
                           else 'derandomized'))
        print(figures)
        self.addDetail('figures', content.text_content(figures))
        # Both outcomes must be reached, or the strategies are broken.
        self.assertGreater(self.runs['xml'], EXAMPLES // 50, figures)
        self.assertGreater(self.runs['refused'], EXAMPLES // 50, figures)

"""Config drives: instance metadata on an ISO 9660 image, as Nova writes it.

A config drive is what a guest reads its metadata from when there is no
metadata service (emuvirt standalone never has one). The layout is
OpenStack's, so cloud-init and other agents find it the same way under
Nova and here: a filesystem labelled ``config-2`` (ISO 9660 with Rock
Ridge and Joliet, written by ``genisoimage``) holding, for every OpenStack
metadata version and for ``latest``::

    openstack/<version>/meta_data.json     uuid, name, hostname, keys, ...
    openstack/<version>/user_data          when user data was given
    openstack/<version>/network_data.json  (2015-10-15 and later)
    openstack/<version>/vendor_data.json   (vendor_data2.json: 2016-10-06+)

Fields appear from the version that introduced them (``random_seed`` from
2013-04-04, ``project_id`` from 2015-10-15, ``devices`` from 2016-06-30,
``dedicated_cpus`` from 2020-10-14). The EC2-style tree (``ec2/``) is not
written. The SSH key is the keypair ``default``.

Input is checked before anything is made (:func:`check_user_data`,
:func:`check_public_key`): user data is limited as by Nova's API (at most
65535 characters once base64-encoded, i.e. 49149 bytes), and a key file
must hold one OpenSSH public key line.
"""

import base64
import json
import os
import re
import subprocess
import tempfile

from emuvirt import exception

#: The file in the instance directory.
FILE_NAME = 'disk.config'
LABEL = 'config-2'
KEY_NAME = 'default'
#: Nova's API limit on user data: 65535 characters of base64.
MAX_USER_DATA_BASE64 = 65535
MAX_USER_DATA = MAX_USER_DATA_BASE64 // 4 * 3
AVAILABILITY_ZONE = 'nova'
#: OpenStack metadata versions, oldest first (as Nova serves them).
VERSIONS = ('2012-08-10', '2013-04-04', '2013-10-17', '2015-10-15',
            '2016-06-30', '2016-10-06', '2017-02-22', '2018-08-27',
            '2020-10-14', '2025-04-04')
# meta_data.json field -> first version that has it.
_SINCE = {'random_seed': '2013-04-04', 'project_id': '2015-10-15',
          'devices': '2016-06-30', 'dedicated_cpus': '2020-10-14'}
_NETWORK_DATA_SINCE = '2015-10-15'
_VENDOR_DATA2_SINCE = '2016-10-06'

_KEY_TYPES = ('ssh-rsa', 'ssh-dss', 'ssh-ed25519', 'ecdsa-sha2-nistp256',
              'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
              'sk-ssh-ed25519@openssh.com',
              'sk-ecdsa-sha2-nistp256@openssh.com')
_HOSTNAME_BAD = re.compile(r'[^a-z0-9.-]+')


class InvalidUserData(exception.Invalid):
    msg_fmt = 'user data: %(reason)s'


class InvalidPublicKey(exception.Invalid):
    msg_fmt = 'SSH public key: %(reason)s'


class ConfigDriveFailed(exception.EmuvirtException):
    msg_fmt = 'config drive %(path)s could not be made: %(reason)s'


def check_user_data(data):
    """Refuse user data (bytes) Nova's API would refuse; returns base64."""
    if not data:
        raise InvalidUserData(reason='the file is empty')
    encoded = base64.b64encode(data).decode('ascii')
    if len(encoded) > MAX_USER_DATA_BASE64:
        raise InvalidUserData(
            reason='%d bytes; at most %d (Nova\'s limit: %d characters '
                   'base64-encoded)' % (len(data), MAX_USER_DATA,
                                        MAX_USER_DATA_BASE64))
    return encoded


def check_public_key(text):
    """The one OpenSSH public key line of ``text`` (trailing newline ok)."""
    lines = text.strip('\n').split('\n') if text.strip() else []
    if len(lines) != 1:
        raise InvalidPublicKey(
            reason='expected one line of an OpenSSH public key, found %d '
                   'lines' % len(lines))
    line = lines[0].strip()
    parts = line.split()
    if len(parts) < 2 or parts[0] not in _KEY_TYPES:
        raise InvalidPublicKey(
            reason="not an OpenSSH public key (expected '<type> <base64> "
                   "[comment]' with type one of %s)" % ', '.join(_KEY_TYPES))
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise InvalidPublicKey(reason='the key is not valid base64')
    # The blob starts with the key type, length-prefixed.
    if blob[4:4 + len(parts[0])] != parts[0].encode():
        raise InvalidPublicKey(reason='the key does not match its type %s'
                               % parts[0])
    return line


def hostname(name):
    """A hostname from a guest name: lower case, letters digits . -"""
    host = _HOSTNAME_BAD.sub('-', name.lower()).strip('.-')[:63]
    return host.strip('.-') or 'instance'


def _field(instance, name):
    """An Instance field, None when it was never set."""
    return getattr(instance, name) if instance.obj_attr_is_set(name) else None


def meta_data(instance, version):
    """meta_data.json of ``version`` ('latest' has every field)."""
    def has(field):
        return version == 'latest' or version >= _SINCE[field]

    data = {'uuid': instance.uuid, 'meta': {},
            'hostname': hostname(instance.name), 'name': instance.name,
            'launch_index': 0, 'availability_zone': AVAILABILITY_ZONE}
    key = _field(instance, 'key_data')
    if key:
        data['public_keys'] = {KEY_NAME: key}
        data['keys'] = [{'name': KEY_NAME, 'type': 'ssh', 'data': key}]
    if has('random_seed'):
        data['random_seed'] = base64.b64encode(os.urandom(512)).decode()
    if has('project_id'):
        data['project_id'] = None
    if has('devices'):
        data['devices'] = []
    if has('dedicated_cpus'):
        data['dedicated_cpus'] = []
    return data


def network_data():
    """network_data.json: no links described (the guest uses DHCP)."""
    return {'links': [], 'networks': [], 'services': []}


def files(instance):
    """{path inside the drive: bytes} for ``instance``."""
    user_data = _field(instance, 'user_data')
    if user_data is not None:
        user_data = base64.b64decode(user_data)
    out = {}
    for version in VERSIONS + ('latest',):
        top = 'openstack/%s/' % version

        def since(first):
            return version == 'latest' or version >= first

        out[top + 'meta_data.json'] = _json(meta_data(instance, version))
        if user_data is not None:
            out[top + 'user_data'] = user_data
        out[top + 'vendor_data.json'] = _json({})
        if since(_NETWORK_DATA_SINCE):
            out[top + 'network_data.json'] = _json(network_data())
        if since(_VENDOR_DATA2_SINCE):
            out[top + 'vendor_data2.json'] = _json({})
    return out


def _json(value):
    return json.dumps(value, sort_keys=True).encode()


def make(path, instance, mkisofs='genisoimage'):
    """Write the config drive of ``instance`` to ``path`` (an ISO image).

    :raises: ConfigDriveFailed naming the tool's complaint.
    """
    with tempfile.TemporaryDirectory(prefix='emuvirt-cd-') as tmp:
        for name, data in files(instance).items():
            target = os.path.join(tmp, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, 'wb') as f:
                f.write(data)
        cmd = [mkisofs, '-o', path, '-ldots', '-allow-lowercase',
               '-allow-multidot', '-l', '-publisher', 'emuvirt', '-quiet',
               '-J', '-r', '-V', LABEL, tmp]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        except OSError as e:
            raise ConfigDriveFailed(path=path, reason='%s: %s' % (
                mkisofs, e.strerror))
    if proc.returncode:
        lines = proc.stdout.decode(errors='replace').strip().splitlines()
        raise ConfigDriveFailed(path=path, reason='%s exited %d: %s' % (
            mkisofs, proc.returncode, lines[-1] if lines else 'no output'))
    os.chmod(path, 0o644)

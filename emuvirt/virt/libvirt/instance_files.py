"""An instance's files on the host: its directory, root disk and console log.

Each guest owns one directory, ``[libvirt]instances_path/<uuid>``::

    disk              qcow2 overlay of the image (or a blank disk for an
                      iso install); the image itself is never written
    nvram.fd          UEFI variables, copied by libvirt from the firmware's
                      template at first start (UEFI guests only)
    console.log       everything the guest printed on its console
    console-linemode.log   the s390x line-mode console

Disks are made with ``qemu-img``. The image format is always passed
explicitly (``-f`` / ``-F``): a raw image is never probed, so its content
cannot pass itself off as a qcow2 header naming some other host file.
"""

import errno
import json
import os
import re
import shutil

from oslo_log import log as logging

from emuvirt import conf
from emuvirt import exception

CONF = conf.CONF
LOG = logging.getLogger(__name__)

GiB = 1024 ** 3
DISK_NAME = 'disk'
CONSOLE_LOG = 'console.log'
# get_console_output returns at most this much of the log's end, like
# Nova's libvirt driver bounds it.
MAX_CONSOLE_BYTES = 100 * 1024
BACKING_FORMATS = ('qcow2', 'raw')

# CSI (colours, cursor moves), OSC (titles) and the short escapes
# (charset selection, keypad modes) that UEFI and Linux write; a console
# log is easier to read without them.
_ANSI_RE = re.compile(r'\x1b\[[0-?]*[ -/]*[@-~]'
                      r'|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)'
                      r'|\x1b[ -/]*[0-~]')


def instance_dir(instance):
    """Where an instance's files live: ``[libvirt]instances_path/<uuid>``."""
    return os.path.join(CONF.libvirt.instances_path, instance.uuid)


def create_dir(path):
    """Create an instance directory; it must not exist yet.

    :raises: InstanceDirectoryExists, so that a spawn never adopts (and on
        failure never deletes) files it did not create.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        raise exception.InstanceDirectoryExists(path=path)
    # The mode argument is subject to the umask; QEMU may run as another
    # user and must reach the disk and console log inside.
    os.chmod(path, 0o755)
    LOG.debug('Created instance directory %s', path)


def remove_dir(path):
    """Remove an instance directory and all in it; gone already is fine."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    LOG.debug('Removed instance directory %s', path)


def _qemu_img(path, *args, error=exception.InvalidImage):
    """Run ``qemu-img ARGS``; a failure raises ``error`` naming ``path``.

    ``path`` is the file the command is about: the image it reads, or the
    disk it creates (never the size that may come last).
    """
    # Imported here: oslo.concurrency loads oslo.utils' strutils, whose
    # import compiles some hundred regular expressions (~40 ms), which
    # the commands that run no qemu-img (server list) need not pay for.
    from oslo_concurrency import processutils

    try:
        out, _err = processutils.execute(
            'qemu-img', *args, env_variables={'LC_ALL': 'C'})
    except processutils.ProcessExecutionError as e:
        reason = (e.stderr or e.stdout or str(e)).strip().splitlines()
        raise error(
            path=path, reason='qemu-img %s failed: %s' % (
                args[0], reason[-1] if reason else 'exit %s' % e.exit_code))
    except OSError as e:
        raise error(
            path=path,
            reason='cannot run qemu-img (Debian package qemu-utils): %s' % e)
    return out


def image_info(path, fmt):
    """``qemu-img info`` of an image read as format ``fmt`` (a dict).

    ``-U`` (force share) lets it read an image that running guests use as
    their backing file.
    """
    return json.loads(_qemu_img(path, 'info', '-U', '--output=json',
                                '-f', fmt, path))


def create_overlay(path, backing, backing_format, size_gb=0):
    """Create a qcow2 overlay of ``backing`` at ``path``.

    The backing path is stored absolute, with its format (``-F``), so the
    overlay never depends on the current directory or on format probing.
    The overlay's size is ``size_gb`` when that is larger than the image,
    else the image's own: a disk never shrinks below its image.

    :raises: InvalidImage for a format other than qcow2/raw or an image
        qemu-img cannot read; DiskNotCreated naming ``path`` when the
        overlay cannot be written (a full disk, for one).
    """
    backing = os.path.abspath(backing)
    if backing_format not in BACKING_FORMATS:
        raise exception.InvalidImage(
            path=backing, reason="format '%s' cannot back a disk; use one "
            'of %s' % (backing_format, ', '.join(BACKING_FORMATS)))
    virtual_size = image_info(backing, backing_format)['virtual-size']
    args = ['create', '-q', '-f', 'qcow2', '-b', backing,
            '-F', backing_format, path]
    if size_gb and size_gb * GiB > virtual_size:
        args.append(str(size_gb * GiB))
    _qemu_img(path, *args, error=exception.DiskNotCreated)
    LOG.debug('Created overlay %s of %s (%s)', path, backing, backing_format)


def create_blank(path, size_gb):
    """Create an empty qcow2 disk of ``size_gb`` GiB (an install target).

    :raises: DiskNotCreated naming ``path``.
    """
    _qemu_img(path, 'create', '-q', '-f', 'qcow2', path, str(size_gb * GiB),
              error=exception.DiskNotCreated)
    LOG.debug('Created blank disk %s of %d GiB', path, size_gb)


def clean_console_text(data):
    """Console bytes as text: ANSI escapes and carriage returns gone."""
    text = data.decode('utf-8', errors='replace')
    return _ANSI_RE.sub('', text.replace('\r\n', '\n')).replace('\r', '')


def read_console_log(path, max_bytes=MAX_CONSOLE_BYTES):
    """The end of a console log (at most ``max_bytes``), cleaned.

    A guest that never started has no log: that reads as ''. When the file
    is cut, the first, partial line is dropped.
    """
    try:
        with open(path, 'rb') as f:
            size = f.seek(0, os.SEEK_END)
            cut = size > max_bytes
            # With a cut, one byte more: the one before the kept part.
            f.seek(size - max_bytes - 1 if cut else 0)
            data = f.read(max_bytes + 1)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return ''
        raise
    if cut:
        # Keep whole lines only: a newline before the cut means the kept
        # part starts on a line.
        data = data[1:] if data[:1] == b'\n' else data.partition(b'\n')[2]
    return clean_console_text(data)

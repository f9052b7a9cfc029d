"""An instance's files on the host: its directory, root disk and console log.

Each guest owns one directory, ``[libvirt]instances_path/<uuid>``::

    disk              qcow2 overlay of the image (or a blank disk for an
                      iso install); the image itself is never written
    disk.eph0         the flavor's ephemeral disk: a sparse raw file with
                      an ext4 filesystem labelled ephemeral0
    disk.swap         the flavor's swap disk: a sparse raw file made swap
                      space by mkswap
    nvram.fd          UEFI variables, copied by libvirt from the firmware's
                      template at first start (UEFI guests only)
    console.log       everything the guest printed on its console
    console-linemode.log   the s390x line-mode console

The ephemeral and swap disks are made once, at spawn (a hard reboot
keeps them as they are), with e2fsprogs' ``mkfs.ext4`` and util-linux's
``mkswap``, which format a plain file without root. Other disks are made
with ``qemu-img``. The image format is always passed
explicitly (``-f`` / ``-F``): a raw image is never probed, so its content
cannot pass itself off as a qcow2 header naming some other host file.
"""

import errno
import json
import os
import re
import shutil
import subprocess

from oslo_log import log as logging

from emuvirt import conf
from emuvirt import exception

CONF = conf.CONF
LOG = logging.getLogger(__name__)

GiB = 1024 ** 3
MiB = 1024 ** 2
DISK_NAME = 'disk'
EPHEMERAL_NAME = 'disk.eph0'
SWAP_NAME = 'disk.swap'
#: The ephemeral disk's filesystem and label (Nova's, for Linux guests).
EPHEMERAL_FS = 'ext4'
EPHEMERAL_LABEL = 'ephemeral0'
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


def remove_file(path):
    """Remove one file of an instance; gone already is fine."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _tool(name):
    """The path of a formatting tool, found in /usr/sbin or /sbin too.

    Those are not on most users' PATH.
    """
    return (shutil.which(name) or
            shutil.which(name, path='/usr/sbin:/sbin') or name)


def _formatted(path, size_bytes, command, package):
    """Create the sparse file ``path`` and run ``command`` on it.

    A file that exists is never touched; one left half made is removed.

    :raises: DiskNotCreated naming ``path``.
    """
    try:
        with open(path, 'xb') as f:
            f.truncate(size_bytes)
    except OSError as e:
        raise exception.DiskNotCreated(path=path, reason=e.strerror or e)
    try:
        subprocess.run(command + [path], check=True, capture_output=True,
                       env=dict(os.environ, LC_ALL='C'))
    except BaseException as e:
        try:
            remove_file(path)
        except OSError:
            pass
        if isinstance(e, subprocess.CalledProcessError):
            lines = (e.stderr or e.stdout or b'').decode(
                'utf-8', 'replace').strip().splitlines()
            raise exception.DiskNotCreated(
                path=path, reason='%s failed: %s' % (
                    os.path.basename(command[0]),
                    lines[-1] if lines else 'exit %s' % e.returncode))
        if isinstance(e, OSError):
            raise exception.DiskNotCreated(
                path=path, reason='cannot run %s (Debian package %s): %s' % (
                    command[0], package, e.strerror or e))
        raise


def create_ephemeral(path, size_gb):
    """Create the ephemeral disk: ``size_gb`` GiB, ext4, ``ephemeral0``.

    :raises: DiskNotCreated naming ``path``.
    """
    _formatted(path, size_gb * GiB,
               [_tool('mkfs.' + EPHEMERAL_FS), '-q', '-F', '-L',
                EPHEMERAL_LABEL], 'e2fsprogs')
    LOG.debug('Created ephemeral disk %s of %d GiB', path, size_gb)


def create_swap(path, size_mb):
    """Create the swap disk: ``size_mb`` MiB of swap space.

    :raises: DiskNotCreated naming ``path``.
    """
    _formatted(path, size_mb * MiB, [_tool('mkswap')], 'util-linux')
    LOG.debug('Created swap disk %s of %d MiB', path, size_mb)


def create_local_disks(ephemeral_path, ephemeral_gb, swap_path, swap_mb):
    """Create those of the ephemeral and swap disks that do not exist.

    A path that is None, or whose size is 0, is left alone; so is a file
    that exists (never formatted again). Returns the paths created.
    """
    made = []
    for path, size, create in ((ephemeral_path, ephemeral_gb,
                                create_ephemeral),
                               (swap_path, swap_mb, create_swap)):
        if path and size and not os.path.exists(path):
            create(path, size)
            made.append(path)
    return made


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

"""The Placement ledger: claims in flight and releases still owed.

A guest's resources are claimed in Placement before its domain exists and
released after the domain is gone, so for a moment an allocation stands
with no guest. The ledger makes those moments visible to the compute
service, which releases the allocations it accounts for whose consumer
has no guest on this host, and only those (:mod:`emuvirt.compute.manager`):

* ``begin_claim(uuid)`` is written *before* the claim is sent and
  ``end_claim(uuid)`` once the domain is defined (or the claim released).
  While the process that wrote the entry lives, the claim is *in flight*
  and the service leaves its allocation alone. When that process dies
  (killed mid-create), the entry stays, but the claim is no longer in
  flight: the next cycle releases the allocation if no guest has it.
* ``owed_release(uuid)`` is written by a delete before it undefines the
  guest, and stays if the release could not be sent (Placement down, or
  the process died); ``cancel_release(uuid)`` drops it when the guest
  stays after all; ``settled(uuid)`` drops every entry of a consumer once
  its allocation is gone.

One small file per entry under ``$state_path/placement-ledger``:
``<uuid>.claim`` holds the writer's pid and its start time (so a reused
pid is not taken for the writer), ``<uuid>.release`` is empty. Files are
written whole (temporary file, then rename). The ledger is read as
untrusted input: an entry that cannot be parsed is logged and taken as
not in flight.
"""

import os
import tempfile

from oslo_log import log as logging
from oslo_utils import uuidutils

from emuvirt import exception

LOG = logging.getLogger(__name__)

DIR_NAME = 'placement-ledger'
CLAIM = '.claim'
RELEASE = '.release'


class LedgerError(exception.EmuvirtException):
    msg_fmt = "Placement ledger %(path)s: %(reason)s"


def _process_start(pid):
    """The start time of process ``pid`` (clock ticks), or None if gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return None
    # Field 2 (the command) is in parentheses and may hold blanks.
    fields = stat.rpartition(')')[2].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


class Ledger(object):
    """The ledger kept in directory ``path`` (created on first write)."""

    def __init__(self, path):
        self.path = path

    @classmethod
    def from_conf(cls, conf):
        return cls(os.path.join(conf.state_path, DIR_NAME))

    def _file(self, uuid, suffix):
        if not uuidutils.is_uuid_like(uuid):
            raise LedgerError(path=self.path,
                              reason='not a UUID: %r' % (uuid,))
        return os.path.join(self.path, uuid + suffix)

    def _write(self, uuid, suffix, text):
        path = self._file(uuid, suffix)
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix='.tmp-')
            try:
                with os.fdopen(fd, 'w') as f:
                    f.write(text)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as e:
            raise LedgerError(path=self.path, reason=str(e))

    def _remove(self, uuid, suffix):
        try:
            os.unlink(self._file(uuid, suffix))
        except FileNotFoundError:
            pass
        except OSError as e:
            raise LedgerError(path=self.path, reason=str(e))

    # -- writers ------------------------------------------------------------

    def begin_claim(self, uuid):
        """This process is about to claim resources for ``uuid``."""
        pid = os.getpid()
        self._write(uuid, CLAIM, '%d %s\n' % (pid, _process_start(pid)))

    def end_claim(self, uuid):
        """The claim of ``uuid`` has its guest, or was released."""
        self._remove(uuid, CLAIM)

    def owed_release(self, uuid):
        """The allocation of ``uuid`` must be released; it could not be."""
        self._write(uuid, RELEASE, '')

    def cancel_release(self, uuid):
        """The release of ``uuid`` is not owed after all (its guest stays)."""
        self._remove(uuid, RELEASE)

    def settled(self, uuid):
        """``uuid`` has no allocation any more: forget it."""
        self._remove(uuid, CLAIM)
        self._remove(uuid, RELEASE)

    # -- readers ------------------------------------------------------------

    def _entries(self, suffix):
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise LedgerError(path=self.path, reason=str(e))
        found = []
        for name in names:
            uuid = name[:-len(suffix)]
            if name.endswith(suffix) and uuidutils.is_uuid_like(uuid):
                found.append(uuid)
        return sorted(found)

    def _writer_alive(self, uuid):
        try:
            with open(self._file(uuid, CLAIM)) as f:
                pid, start = f.read().split()
            pid = int(pid)
        except FileNotFoundError:
            return False
        except (OSError, ValueError, UnicodeDecodeError) as e:
            LOG.warning('Placement ledger: unreadable claim entry for %s '
                        '(%s); taking it as not in flight', uuid, e)
            return False
        return str(_process_start(pid)) == start and start != 'None'

    def claims(self):
        """Every consumer with a claim entry, in flight or not."""
        return set(self._entries(CLAIM))

    def claims_in_flight(self):
        """Consumers whose claiming process is still running."""
        return {u for u in self._entries(CLAIM) if self._writer_alive(u)}

    def stale_claims(self):
        """Claim entries whose writer is gone (killed mid-create)."""
        return self.claims() - self.claims_in_flight()

    def owed_releases(self):
        """Consumers whose release could not be sent."""
        return set(self._entries(RELEASE))

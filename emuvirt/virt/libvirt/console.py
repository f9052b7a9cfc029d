"""A guest's interactive console through libvirt, as ``virsh console``.

The console's pty is reached through the daemon (``virDomainOpenConsole``
into a non-blocking ``virStream``), so it works for a remote daemon too.
Everything runs in the calling thread on libvirt's default event loop: the
stream's data and the input file descriptor are both events of that loop,
and a timer makes the loop return often enough for Python's signal
handlers (Ctrl-C is only a byte in raw mode, SIGTERM still arrives).

The connection is one of its own, opened after the event loop was
registered: libvirt watches a connection's socket only when an event loop
existed at the time it was opened.
"""

import errno
import os

import libvirt

from emuvirt import exception
from emuvirt.virt.libvirt import host as vhost

#: Ctrl-], as virsh console.
ESCAPE = b'\x1d'
# The loop returns at least this often (ms), for signal handlers.
TICK_MS = 200
_CHUNK = 65536

_event_loop = []


class ConsoleUnavailable(exception.EmuvirtException):
    msg_fmt = "console of %(instance)s: %(reason)s"


def _register_event_loop():
    if not _event_loop:
        libvirt.virEventRegisterDefaultImpl()
        _event_loop.append(True)


class Console(object):
    """One open console session of a guest.

    :param uri: the daemon's URI.
    :param uuid: the guest's UUID.
    :param name: its name (for messages).
    :param device: the console device's alias (None: the first console).
    """

    def __init__(self, uri, uuid, name, device=None):
        self.name = name
        _register_event_loop()
        self._conn = vhost.open_connection(uri)
        self._stream = None
        try:
            dom = self._conn.lookupByUUIDString(uuid)
            self._stream = self._conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
            dom.openConsole(device, self._stream, 0)
        except libvirt.libvirtError as e:
            self.close()
            raise ConsoleUnavailable(instance=name, reason=str(e))
        self._in_fd = self._out_fd = None
        self._pending = b''
        self.ended = None

    def close(self):
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.eventRemoveCallback()
            except libvirt.libvirtError:
                pass
            try:
                stream.finish()
            except libvirt.libvirtError:
                try:
                    stream.abort()
                except libvirt.libvirtError:
                    pass
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except libvirt.libvirtError:
                pass

    # -- the session ------------------------------------------------------

    def attach(self, in_fd, out_fd, escape=ESCAPE):
        """Copy ``in_fd`` to the guest and the guest to ``out_fd``.

        Returns 'escape' when ``escape`` is read from ``in_fd``, 'input'
        when ``in_fd`` ends, 'guest' when the guest's console closes (it
        stopped).
        """
        self._in_fd, self._out_fd, self._escape = in_fd, out_fd, escape
        self.ended = None
        self._stream.eventAddCallback(
            libvirt.VIR_STREAM_EVENT_READABLE |
            libvirt.VIR_STREAM_EVENT_ERROR |
            libvirt.VIR_STREAM_EVENT_HANGUP, self._on_stream, None)
        watch = libvirt.virEventAddHandle(
            in_fd, libvirt.VIR_EVENT_HANDLE_READABLE, self._on_input, None)
        timer = libvirt.virEventAddTimeout(TICK_MS, lambda *a: None, None)
        try:
            while self.ended is None:
                if libvirt.virEventRunDefaultImpl() < 0:
                    raise ConsoleUnavailable(instance=self.name,
                                             reason='libvirt event loop '
                                                    'failed')
        finally:
            libvirt.virEventRemoveHandle(watch)
            libvirt.virEventRemoveTimeout(timer)
            try:
                self._stream.eventRemoveCallback()
            except libvirt.libvirtError:
                pass
        return self.ended

    def _on_stream(self, stream, events, opaque):
        if events & (libvirt.VIR_STREAM_EVENT_ERROR |
                     libvirt.VIR_STREAM_EVENT_HANGUP):
            self.ended = self.ended or 'guest'
        while self.ended is None or events & libvirt.VIR_STREAM_EVENT_READABLE:
            try:
                data = stream.recv(_CHUNK)
            except libvirt.libvirtError:
                self.ended = self.ended or 'guest'
                return
            if data == -2:      # nothing more for now
                return
            if not data:        # end of stream: the guest went away
                self.ended = self.ended or 'guest'
                return
            self._write_out(data)

    def _write_out(self, data):
        while data:
            try:
                done = os.write(self._out_fd, data)
            except InterruptedError:
                continue
            data = data[done:]

    def _on_input(self, watch, fd, events, opaque):
        try:
            data = os.read(fd, 4096)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EINTR):
                return
            data = b''
        if not data:
            self.ended = self.ended or 'input'
            return
        cut = data.find(self._escape)
        if cut >= 0:
            data = data[:cut]
        self._send(data)
        if cut >= 0:
            self.ended = 'escape'

    def _send(self, data):
        while data and self._stream is not None:
            try:
                sent = self._stream.send(data)
            except libvirt.libvirtError:
                self.ended = self.ended or 'guest'
                return
            if sent == -2:
                # Would block: let the loop run the stream, then again.
                libvirt.virEventRunDefaultImpl()
                continue
            data = data[sent:]

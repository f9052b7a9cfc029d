"""Interruptions: SIGINT and SIGTERM unwind the work; cleanup is not cut.

A command stops on Ctrl-C (SIGINT, :class:`KeyboardInterrupt`) or on
SIGTERM, which :func:`install` turns into :class:`Terminated`, an exception
that unwinds the same way (not an :class:`Exception`, so no ``except
Exception`` swallows it). What a command has made is then undone by the
``except``/``finally`` blocks it passes through.

Two guards keep that undoing whole:

* :func:`shielded` -- cleanup: SIGINT and SIGTERM are blocked while it
  runs, and those that arrived meanwhile are dropped, so a second Ctrl-C
  does not abandon a cleanup half-way and its error stays the one
  reported.
* :func:`deferred` -- a step whose outcome must be known (a Placement
  claim: sent or not?): the signals are blocked while it runs and
  delivered when it ends, in the caller's ``try`` block.

Blocking uses ``pthread_sigmask``, so a signal also waits while C code
(libvirt, a socket read) runs. Outside the main thread the guards do
nothing: Python runs signal handlers in the main thread only.
"""

import contextlib
import signal
import threading

SIGNALS = frozenset((signal.SIGINT, signal.SIGTERM))

#: Exit status of a command stopped by a signal (128 + signal number).
EXIT_STATUS = {signal.SIGINT: 128 + signal.SIGINT,
               signal.SIGTERM: 128 + signal.SIGTERM}

# Guards entered by the main thread and not left yet. A signal whose
# Python handler runs inside a shield (it arrived just before the signals
# were blocked) is dropped too.
_shields = 0


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread, like KeyboardInterrupt."""

    signum = signal.SIGTERM

    def __str__(self):
        return 'terminated by SIGTERM'


def signal_number(exc):
    """SIGINT or SIGTERM for an interruption exception, else None."""
    if isinstance(exc, Terminated):
        return signal.SIGTERM
    if isinstance(exc, KeyboardInterrupt):
        return signal.SIGINT
    return None


def is_interruption(exc):
    return signal_number(exc) is not None


def _handler(signum, frame):
    if _shields:
        return
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


def install():
    """Make SIGINT and SIGTERM raise (main thread only).

    :returns: {signum: previous handler}, for :func:`restore`.
    """
    return {signum: signal.signal(signum, _handler)
            for signum in sorted(SIGNALS)}


def restore(previous):
    """Put back the handlers :func:`install` returned."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _in_main_thread():
    return threading.current_thread() is threading.main_thread()


def _drain():
    """Consume SIGINT/SIGTERM pending while they were blocked."""
    while signal.sigtimedwait(SIGNALS, 0) is not None:
        pass


@contextlib.contextmanager
def _blocked(drop):
    global _shields
    if not _in_main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    if drop:
        _shields += 1
    try:
        yield
    finally:
        try:
            if drop and not (SIGNALS & previous):
                _drain()
        finally:
            if drop:
                _shields -= 1
            # Unblocking delivers what is pending (deferred only).
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def shielded():
    """Run cleanup with SIGINT/SIGTERM blocked; drop those that came."""
    return _blocked(drop=True)


def deferred():
    """Run a step with SIGINT/SIGTERM blocked; deliver them after it."""
    return _blocked(drop=False)

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

Once an interruption has been raised, the command is ending: further
SIGINT and SIGTERM are dropped until :func:`install` runs again, so that
one arriving as the first unwinds (between an ``except`` line and its
:func:`shielded` cleanup, say) cannot cut that cleanup short.

Blocking uses ``pthread_sigmask``, so a signal also waits while C code
(libvirt, a socket read) runs. Outside the main thread the guards do
nothing: Python runs signal handlers in the main thread only.
"""

import contextlib
import os
import signal
import sys
import threading
import time

SIGNALS = frozenset((signal.SIGINT, signal.SIGTERM))

#: Exit status of a command stopped by a signal (128 + signal number).
EXIT_STATUS = {signal.SIGINT: 128 + signal.SIGINT,
               signal.SIGTERM: 128 + signal.SIGTERM}

# Guards the main thread is in: shields (signals dropped) and deferrals
# (signals held until the outermost one ends). Besides pthread_sigmask,
# the handler itself obeys them: a signal may be taken by another thread
# (one that does not block it) or have arrived just before the guard, and
# Python then runs the handler in the main thread all the same.
_shields = 0
_deferrals = 0
_held = []
# An interruption was raised in this command: it is unwinding.
_unwinding = False


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


def set_outcome(exc, text):
    """Say what the interrupted work did about it, e.g. what it undid.

    The command's one line names it: ``emuvirt: interrupted: TEXT``.
    """
    exc.emuvirt_outcome = text


def outcome(exc):
    """The text :func:`set_outcome` gave ``exc``, or None."""
    return getattr(exc, 'emuvirt_outcome', None)


def message(prog, exc):
    """The one line a command prints when ``exc`` stopped it."""
    what = ('terminated' if signal_number(exc) == signal.SIGTERM
            else 'interrupted')
    text = outcome(exc)
    return '%s: %s%s' % (prog, what, ': %s' % text if text else '')


def exit_status(exc):
    """130 for SIGINT, 143 for SIGTERM."""
    return EXIT_STATUS[signal_number(exc)]


def _exception(signum):
    global _unwinding
    _unwinding = True
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _handler(signum, frame):
    if _shields or _unwinding:
        return
    if _deferrals:
        _held.append(signum)
        return
    raise _exception(signum)


def _unraisable(unraisable):
    """sys.unraisablehook: a signal that hit a finaliser is taken again.

    Python cannot raise out of a ``__del__`` (libvirt's
    ``virConnect.__del__`` runs whenever a connection is dropped): it
    prints the exception with a traceback and carries on as if the signal
    never came. Re-sent, the signal raises at the next line of the work
    instead, where the command unwinds and cleans up. (Sent a moment
    later from another thread: sent at once, Python would run the handler
    inside this hook.)
    """
    global _unwinding
    signum = signal_number(unraisable.exc_value)
    if signum is None:
        return _next_unraisablehook(unraisable)
    _unwinding = False
    threading.Thread(target=_resend, args=(signum,), daemon=True).start()


def _resend(signum):
    time.sleep(_RESEND_DELAY)
    os.kill(os.getpid(), signum)


_RESEND_DELAY = 0.01


_next_unraisablehook = sys.unraisablehook


def install():
    """Make SIGINT and SIGTERM raise (main thread only).

    :returns: {signum: previous handler}, for :func:`restore` (empty
        outside the main thread, where handlers cannot be set).
    """
    global _unwinding
    if not _in_main_thread():
        return {}
    _unwinding = False
    previous = {signum: signal.signal(signum, _handler)
                for signum in sorted(SIGNALS)}
    global _next_unraisablehook
    previous['unraisablehook'] = sys.unraisablehook
    if sys.unraisablehook is not _unraisable:
        _next_unraisablehook = sys.unraisablehook
    sys.unraisablehook = _unraisable
    return previous


def restore(previous):
    """Put back the handlers :func:`install` returned."""
    previous = dict(previous)
    hook = previous.pop('unraisablehook', None)
    if hook is not None:
        sys.unraisablehook = hook
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _in_main_thread():
    return threading.current_thread() is threading.main_thread()


def pending():
    """Whether a SIGINT or SIGTERM waits behind a guard.

    A long wait inside a guard (libvirt gone for a while) can end early
    when the user insists.
    """
    if not _in_main_thread():
        return False
    return bool(SIGNALS & signal.sigpending())


def _drain():
    """Consume SIGINT/SIGTERM pending while they were blocked."""
    while signal.sigtimedwait(SIGNALS, 0) is not None:
        pass


@contextlib.contextmanager
def _blocked(drop):
    global _shields, _deferrals
    if not _in_main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    if drop:
        _shields += 1
    else:
        _deferrals += 1
    try:
        yield
    finally:
        try:
            if drop and not (SIGNALS & previous):
                _drain()
        finally:
            if drop:
                _shields -= 1
            else:
                _deferrals -= 1
            # Unblocking delivers what is pending (deferred only).
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        if not (_shields or _deferrals) and _held:
            signum = _held[0]
            del _held[:]
            raise _exception(signum)


def shielded():
    """Run cleanup with SIGINT/SIGTERM blocked; drop those that came."""
    return _blocked(drop=True)


def deferred():
    """Run a step with SIGINT/SIGTERM blocked; deliver them after it."""
    return _blocked(drop=False)


# Set by entry_point(): this process is one command, and ends with it.
_entry = False


def entry_point(prog):
    """Called first by a console script, before the command's imports.

    Until :func:`run_command` takes over, SIGINT and SIGTERM end the
    process at once with one line (nothing has been made yet: Python is
    still importing, which takes a good part of a second). After the
    command's work, they are blocked: a signal arriving while the process
    exits no longer changes the outcome the command reported.
    """
    global _entry
    _entry = True

    def early(signum, frame):
        what = 'terminated' if signum == signal.SIGTERM else 'interrupted'
        os.write(2, ('%s: %s\n' % (prog, what)).encode())
        os._exit(EXIT_STATUS[signum])

    for signum in sorted(SIGNALS):
        signal.signal(signum, early)


def run_command(prog, body):
    """``body()``, the work of command ``prog``, stopped cleanly.

    SIGINT and SIGTERM raise (see :func:`install`) and end the command
    with one line on stderr (:func:`message`) and status 130 or 143,
    never a traceback.

    :returns: what ``body()`` returns, or the exit status.
    """
    handlers = install()
    try:
        return body()
    except (KeyboardInterrupt, Terminated) as e:
        print(message(prog, e), file=sys.stderr)
        return exit_status(e)
    finally:
        if _entry and _in_main_thread():
            # The process ends with the command: keep its status.
            signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        else:
            restore(handlers)

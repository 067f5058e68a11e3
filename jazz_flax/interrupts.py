"""SIGINT (Ctrl-C) and SIGTERM on the command line: never lost.

A KeyboardInterrupt raised where Python swallows exceptions (a garbage-collection callback such
as JAX's `_xla_gc_callback`, a `__del__`, music21 unpickling its corpus) is printed as "Exception
ignored" and the program goes on. So the handler also remembers the signal, and `check()` raises
it again at the next safe point: between training calls, and as a command ends. Until `deliver()`
(the command's error handling in place), a signal is only remembered.

Library use is untouched: without `catch()`, `check()` never raises.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

_received: int | None = None  # the last signal caught
_raising = False  # whether the handler raises KeyboardInterrupt, or only remembers


def catch() -> None:
    """Installs the handler for SIGINT and SIGTERM; it only remembers them until `deliver()`.
    A KeyboardInterrupt that Python swallows is not printed: `check()` raises it again."""
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    sys.unraisablehook = _unraisable


def received() -> bool:
    """Whether a signal was caught."""
    return _received is not None


def deliver() -> None:
    """From now on a signal raises KeyboardInterrupt at once; one remembered so far, now."""
    global _raising
    _raising = True
    check()


def check() -> None:
    """Raises KeyboardInterrupt if a signal was caught, even one whose exception was swallowed."""
    if _received is not None:
        raise KeyboardInterrupt


def _unraisable(unraisable) -> None:
    if not issubclass(unraisable.exc_type, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


def _handler(signum, frame) -> None:
    global _received
    _received = signum
    if _raising:
        raise KeyboardInterrupt


def run_command(command: Callable[[], object]) -> None:
    """Runs a command line. After an interrupt it exits at once with the command's status,
    skipping the interpreter's teardown: with threads that a signal cut short still running (XLA's,
    mid-compile), that teardown can crash with SIGSEGV after the one-line message. Every file is
    whole by then: the with-blocks that write them have closed."""
    try:
        command()
    except SystemExit as e:
        if not received():
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(e.code if isinstance(e.code, int) else 1)

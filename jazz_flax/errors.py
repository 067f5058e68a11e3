"""The one exception type a user should ever see, how command lines print it, and the ranges of
numeric settings."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import sys
from collections.abc import Mapping
from typing import NoReturn

from jazz_flax import interrupts

DEBUG_HINT = "a bug: run again with --debug and report the traceback"
MEMORY_HINT = (
    "a setting asked for more memory than this machine has: lower the one you raised "
    "(batch_size, n_a, layers, model.embed, data.Tx, --num_outputs, --beam_size)"
)


class JazzFlaxError(ValueError):
    """A problem with the user's input, files or settings, worded for the user.

    `hint` (optional) says what to do about it; command lines print it after the message.
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} ({self.hint})" if self.hint else message

    def __reduce__(self):  # the hint too crosses to the process that reads a worker's error
        return type(self), (self.args[0], self.hint)


def exit_with(error: Exception, status: int = 2) -> NoReturn:
    """Prints `error: MESSAGE (HINT)` on stderr, one line, and exits with `status`."""
    print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
    raise SystemExit(status) from None


@contextlib.contextmanager
def one_line_errors(debug: bool = False):
    """Turns every exception into one line on stderr: a JazzFlaxError, a file that cannot be read
    or written, or an interrupt with exit status 2; anything else (a bug) with status 1. An
    interrupt whose exception a library swallowed (`interrupts`) still ends the command.

    With `debug=True` the exception propagates with its traceback.
    """
    try:
        interrupts.deliver()
        yield
        interrupts.check()
    except (Exception, KeyboardInterrupt) as e:
        if debug:
            raise
        exit_with(*_worded(e))


def _worded(error: BaseException) -> tuple[Exception, int]:
    """(the error as the user reads it, the exit status)."""
    if isinstance(error, JazzFlaxError):
        return error, 2
    if isinstance(error, KeyboardInterrupt) or interrupts.received():  # whatever it turned into
        return JazzFlaxError("interrupted"), 2
    if isinstance(error, OSError) and error.filename is not None:
        return JazzFlaxError(f"{error.filename}: {error.strerror or error}"), 2
    if out_of_memory(error):
        return JazzFlaxError("out of memory", hint=MEMORY_HINT), 2
    return JazzFlaxError(f"{type(error).__name__}: {error}", hint=DEBUG_HINT), 1


@contextlib.contextmanager
def memory_asked_by(settings: Mapping[str, tuple[float, float]]):
    """Running out of memory inside is a JazzFlaxError naming the setting that asked for it: of
    `settings` ({name: (value, default)}), the one raised furthest above its default."""
    try:
        yield
    except Exception as e:
        raised = {name: value / max(default, 1) for name, (value, default) in settings.items()}
        name = max(raised, key=raised.get, default=None)
        if not out_of_memory(e) or name is None or raised[name] <= 1:
            raise
        asked = f"{name}={settings[name][0]} asked for more memory than this machine has"
        raise JazzFlaxError("out of memory", hint=f"{asked}: lower it") from None


def out_of_memory(error: BaseException) -> bool:
    """Whether `error` is Python's MemoryError or XLA's RESOURCE_EXHAUSTED (an allocation that
    failed on the CPU or the accelerator)."""
    return isinstance(error, MemoryError) or "RESOURCE_EXHAUSTED" in str(error)


_warned: set[str] = set()


def warn_once(message: str) -> None:
    """Prints `warning: MESSAGE` on stderr, the first time only."""
    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr, flush=True)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, its usage errors in one line with exit status 2."""

    def error(self, message: str) -> NoReturn:
        exit_with(JazzFlaxError(message, hint=f"{self.prog} --help lists the options"))


@dataclasses.dataclass(frozen=True)
class Range:
    """The numbers a setting may take: an interval (`low`, `high` excluded where `open`), whole
    numbers only where `integer`. NaN is in none; infinity only in a closed infinite bound."""

    low: float = -math.inf
    high: float = math.inf
    integer: bool = False
    low_open: bool = False
    high_open: bool = True  # an infinite high bound: finite numbers only
    note: str = ""  # e.g. "(0: all)"

    def __contains__(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not (isinstance(value, int) or float(value).is_integer()):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        if self.high == math.inf:
            text = f"{'>' if self.low_open else '≥'} {_number(self.low)}"
        else:
            left, right = "(["[not self.low_open], ")]"[not self.high_open]
            text = f"in {left}{_number(self.low)}, {_number(self.high)}{right}"
        return f"{text} {self.note}" if self.note else text

    def check(self, name: str, value) -> None:
        """Raises a JazzFlaxError saying `name` must be in this range, unless `value` is."""
        if value not in self:
            finite = "a finite number " if _not_finite(value) else ""
            raise JazzFlaxError(f"{name} must be {finite}{self}, got {value}")


SEED = Range(0, 2**32 - 1, integer=True, high_open=False)  # what numpy and JAX both take
POSITIVE = Range(1, integer=True)  # counts: epochs, solos, beams, …


def _not_finite(value) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"

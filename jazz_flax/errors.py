"""The one exception type a user should ever see, and how command lines print it."""

from __future__ import annotations

import contextlib
import sys
from typing import NoReturn


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


def exit_with(error: Exception) -> NoReturn:
    """Prints `error: MESSAGE (HINT)` on stderr, one line, and exits with status 2."""
    print(f"error: {error}", file=sys.stderr)
    raise SystemExit(2) from None


@contextlib.contextmanager
def one_line_errors(debug: bool = False):
    """Turns a JazzFlaxError, a missing file or an interrupt into one line on stderr, exit status 2.

    With `debug=True` the exception propagates with its traceback.
    """
    try:
        yield
    except (JazzFlaxError, FileNotFoundError) as e:
        if debug:
            raise
        exit_with(e)
    except KeyboardInterrupt:
        if debug:
            raise
        exit_with(JazzFlaxError("interrupted"))

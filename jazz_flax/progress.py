"""Progress on the command line: a line as each stage starts (loading, compiling), then the
epochs as a bar with the time left. On a terminal the bar is redrawn in place; in a log (stdout
not a terminal) each training call adds one line, so a log reads as it always did."""

from __future__ import annotations

import sys


class Redrawn(str):
    """A progress line that a terminal redraws in place rather than adding."""


def bar(done: int, total: int, width: int = 20) -> str:
    """`[######--------------]` for `done` of `total`."""
    filled = width * done // max(total, 1)
    return f"[{'#' * filled}{'-' * (width - filled)}]"


def duration(seconds: float) -> str:
    """`42 s`, `3:07`, `1:02:03`."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Console:
    """Prints progress lines to stdout as they come, a `Redrawn` one over the last on a
    terminal; as a context manager, ends with a whole line whatever happens."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.redraw = self.stream.isatty()
        self.pending = False  # a redrawn line without its newline yet

    def __call__(self, line: str) -> None:
        if self.redraw and isinstance(line, Redrawn):
            self.stream.write(f"\r{line}\x1b[K")
            self.pending = True
        else:
            self.stream.write(("\n" if self.pending else "") + line + "\n")
            self.pending = False
        self.stream.flush()

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *exception) -> None:
        self.end()

    def end(self) -> None:
        """Ends a redrawn line left without its newline."""
        if self.pending:
            self.stream.write("\n")
            self.stream.flush()
            self.pending = False

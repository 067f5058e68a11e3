"""Runs many command lines in one process, each as `python -m MODULE ARGS` would, but for the cost
of starting Python and importing JAX and music21 once.

    python -m tests.run_many < commands.json > results.json

stdin: a JSON list of command lines, each [module, arg, ...]. For each, a forked child sets
sys.argv and runs the module as `__main__` (`runpy`, as `python -m` does), its stdout and stderr
going to files of their own; an exception that escapes is printed as the interpreter prints it
(a traceback) and gives status 1. stdout: a JSON list of {"status", "stdout", "stderr", "seconds"}.

The parent imports the packages only, never runs JAX (forking a process whose JAX has started
threads could deadlock the child).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import tempfile
import time
import traceback

import absl.app  # noqa: F401 (imported once, for every child)
import flax.linen  # noqa: F401
import jax  # noqa: F401
import ml_collections  # noqa: F401
import optax  # noqa: F401
from music21 import converter, harmony, stream  # noqa: F401


def child(command: list[str], out: int, err: int) -> None:
    """Runs `command` in this (forked) process and exits with its status; never returns."""
    os.dup2(out, 1)
    os.dup2(err, 2)
    module, *args = command
    sys.modules.pop(module, None)  # as in a fresh interpreter: not imported before it runs
    sys.argv = [module, *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        status = 0
    except SystemExit as e:
        status = _exit_status(e.code)
    except BaseException:
        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _exit_status(code) -> int:
    """The status `raise SystemExit(code)` gives: None 0, an int itself, else printed and 1."""
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def run(command: list[str]) -> dict:
    began = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            child(command, out.fileno(), err.fileno())
        _, status = os.waitpid(pid, 0)
        texts = []
        for f in (out, err):
            f.seek(0)
            texts.append(f.read().decode(errors="replace"))
    status = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - began
    return dict(status=status, stdout=texts[0], stderr=texts[1], seconds=seconds)


if __name__ == "__main__":
    print(json.dumps([run(command) for command in json.load(sys.stdin)]))

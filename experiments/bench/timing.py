"""Timing helpers of the benchmarks: medians of repeated runs, and PyTorch on the same chip."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import jax


def timing(runs: list[float]) -> dict:
    """{"median", "min", "runs"} of some timed runs, in seconds."""
    return dict(median=statistics.median(runs), min=min(runs), runs=runs)


def repeat(run: Callable[[], float], repeats: int, warmup: int = 1) -> dict:
    """`timing` of `repeats` calls of `run` (each returns its own seconds) after `warmup` calls."""
    for _ in range(warmup):
        run()
    return timing([run() for _ in range(repeats)])


def stopwatch(fn: Callable[[], object]) -> Callable[[], float]:
    """A `run` for `repeat`: the seconds `fn()` takes, its result waited for."""

    def run() -> float:
        began = time.perf_counter()
        jax.block_until_ready(fn())
        return time.perf_counter() - began

    return run


def torch_device(torch) -> str:
    """Where a PyTorch reference runs: on CUDA when JAX runs on a GPU and torch sees one, so that
    both run on the same chip; else on the CPU."""
    return "cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu"


def torch_synchronize(torch) -> None:
    """Waits for the work queued on torch's GPU, if any, so a host clock can be read after it."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()

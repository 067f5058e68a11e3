"""Several processes, one per host, on JAX's distributed runtime; process 0 the one that writes.

    every process: start (jax.distributed.initialize) ──▶ the same windows, state and program
                   ──▶ each batch split over every host's devices (parallel.make_mesh)
    process 0:     the run directory: its lock, config, metrics, checkpoints, summary, TensorBoard
    the others:    wait for each write (`on_writer`), and raise its error if it fails

`config.distributed` says when to start the runtime: "auto" (the default) when a launcher of
several processes is found in the environment (`launcher`), "on" always (JAX then finds its
settings itself or fails), "off" never. Every process reads the same data with the same seed, so
each holds the same replicated state after each call; process 0 alone needs the run directory: a
resumed run's checkpoint is read there and sent to the others (`from_writer`). One process (no
launcher, a notebook, a sweep): every function here is the plain call it wraps. docs/distributed.md
has the SLURM and Cloud TPU commands.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from pathlib import Path

import jax
import numpy as np

from jazz_flax.errors import JazzFlaxError

MODES = ("auto", "on", "off")  # config.distributed
# The settings jax.distributed.initialize takes, as environment variables of any launcher:
# JAX reads the first itself; the other two are ours (JAX's own launchers set theirs).
ADDRESS, COUNT, INDEX = "JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"
SLURM = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID")


def launcher() -> str | None:
    """The launcher of several processes this one was started by: "jax" ($JAX_COORDINATOR_ADDRESS),
    "slurm" (a job step of several tasks: srun), "tpu" (a Cloud TPU VM), or None."""
    if ADDRESS in os.environ:
        return "jax"
    if all(name in os.environ for name in SLURM) and int(os.environ["SLURM_NTASKS"]) > 1:
        return "slurm"
    accelerators = [*Path("/dev").glob("accel[0-9]*"), *Path("/dev/vfio").glob("[0-9]*")]
    if importlib.util.find_spec("libtpu") is not None and accelerators:
        return "tpu"
    return None


def start(mode: str) -> None:
    """Starts JAX's distributed runtime as `mode` says (`MODES`); call it before JAX computes
    anything. Once started, it stays (a second call changes nothing)."""
    found = launcher()
    if mode == "off" or (mode == "auto" and found is None) or jax.distributed.is_initialized():
        return
    settings = {}
    if found == "jax" and COUNT in os.environ:
        settings = dict(num_processes=int(os.environ[COUNT]), process_id=int(os.environ[INDEX]))
    try:
        jax.distributed.initialize(**settings)
    except (RuntimeError, ValueError, KeyError) as e:
        raise JazzFlaxError(
            f"cannot start JAX's distributed runtime: {' '.join(str(e).split())}",
            hint=f"launch with srun, on a Cloud TPU VM, or set {ADDRESS}, {COUNT} and {INDEX}",
        ) from None


def is_writer() -> bool:
    """Whether this process writes the run directory: process 0 (the only one, alone)."""
    return jax.process_index() == 0


def on_writer(function, *args):
    """function(*args) called by process 0 alone, then a wait of every process for it: what it
    returns on process 0 (None on the others); an exception it raises, raised on every process
    (the others' a JazzFlaxError saying it). One process: function(*args)."""
    if jax.process_count() == 1:
        return function(*args)
    result, error = None, None
    if is_writer():
        try:
            result = function(*args)
        except Exception as e:  # given to the others before it is raised here
            error = e
    failure = share(None if error is None else f"process 0: {type(error).__name__}: {error}")
    if error is not None:
        raise error
    if failure is not None:
        raise JazzFlaxError(failure)
    return result


@contextlib.contextmanager
def held_by_writer(lock):
    """`lock` (a context manager: `files.lock`) held by process 0 alone, while every process runs
    the body; a refusal (another run holds it) raised on every process."""
    with contextlib.ExitStack() as stack:
        on_writer(stack.enter_context, lock)
        yield


def restored(restore, state):
    """`restore()`: (state, history) read by process 0 alone (a resumed run's checkpoint), on
    every process; the state's arrays sent in the shapes of `state` (a fresh one)."""
    if jax.process_count() == 1:
        return restore()
    read = on_writer(restore)
    state = from_writer(state if read is None else read[0])
    return jax.device_put(state), share(None if read is None else read[1])


def share(value):
    """Process 0's `value` (JSON) on every process."""
    if jax.process_count() == 1:
        return value
    payload = np.frombuffer(json.dumps(value).encode(), np.uint8)  # the others': a placeholder
    size = from_writer(np.int32(payload.size))
    payload = payload if is_writer() else np.zeros(size, np.uint8)
    return json.loads(from_writer(payload).tobytes())


def from_writer(tree):
    """Process 0's arrays on every process, host arrays: a tree the same shapes on each."""
    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    return multihost_utils.broadcast_one_to_all(tree)

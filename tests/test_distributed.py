"""Two processes on JAX's distributed runtime train as one process with two devices; process 0
alone writes and prints; a refused lock and a resumed run reach every process; launchers."""

import json
import os
import socket
import subprocess
import sys

import pytest

from jazz_flax import distributed, files
from jazz_flax.errors import JazzFlaxError
from tests.commands import ROOT, environment

# Each process: CPU collectives over gloo (as docs/distributed.md says), 1 CPU device; its own
# working directory, so that what it writes to the relative run directory "run" is its own. First
# a run directory another holds (refused on both), then 4 epochs, then resumed to 6 (TensorBoard
# on where installed: process 0 alone samples).
WORKER = r"""
import importlib.util, json, sys
import jax, ml_collections
from jazz_flax import train
from jazz_flax.errors import JazzFlaxError
train.enable_compilation_cache()  # the resumed run's program is the first's
config = ml_collections.ConfigDict(json.loads(sys.argv[1]))
try:
    train.train(config, workdir=sys.argv[2])
except JazzFlaxError as e:
    refused = str(e)
config.epochs = 4
train.train(config, workdir="run")
config.update(epochs=6, resume=True)
config.log.tensorboard = importlib.util.find_spec("tensorboardX") is not None
state, history = train.train(config, workdir="run")
print(json.dumps(dict(
    refused=refused, losses=[row["loss"] for row in history], history=history,
    processes=jax.process_count(), devices=jax.device_count(),
)))
"""

# One process with two CPU devices, the same 6 epochs straight.
REFERENCE = r"""
import json, sys
import jax, ml_collections
from jazz_flax import train
config = ml_collections.ConfigDict(json.loads(sys.argv[1]))
_, history = train.train(config)
print(json.dumps(dict(losses=[row["loss"] for row in history], devices=jax.device_count())))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def start(script: str, args: list[str], cwd, **env) -> subprocess.Popen:
    environ = {k: v for k, v in environment().items() if k != "XLA_FLAGS"} | env
    command = [sys.executable, "-c", script, *args]
    return subprocess.Popen(command, cwd=cwd, env=environ, stdout=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[list[str], dict]:
    """(the lines it printed before its result, its result); killed after 4 minutes."""
    try:
        out, _ = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("a process hung")
    assert process.returncode == 0
    *lines, result = [line for line in out.splitlines() if not line.startswith("[Gloo]")]
    return lines, json.loads(result)


@pytest.fixture(scope="module")
def processes(tiny, tmp_path_factory):
    """The two processes' printed lines and results, their folders, and the reference's."""
    config = tiny.copy_and_resolve_references()
    config.update(epochs=6, epochs_per_call=2)
    folders = [tmp_path_factory.mktemp(f"process{i}") for i in range(2)]
    held = tmp_path_factory.mktemp("held")
    address = f"localhost:{free_port()}"
    with files.lock(held, "train"):  # another run writes it
        workers = [
            start(
                WORKER,
                [config.to_json(), str(held)],
                folder,
                JAX_COORDINATOR_ADDRESS=address,
                JAX_NUM_PROCESSES="2",
                JAX_PROCESS_ID=str(i),
                JAX_CPU_COLLECTIVES_IMPLEMENTATION="gloo",
            )
            for i, folder in enumerate(folders)
        ]
        flags = "--xla_force_host_platform_device_count=2"
        reference = start(REFERENCE, [config.to_json()], ROOT, XLA_FLAGS=flags)
        outcomes = [finish(worker) for worker in workers]
    return outcomes, folders, finish(reference)[1]


def test_two_processes_train_as_one_process_with_two_devices(processes):
    (_, first), (_, second) = processes[0]
    reference = processes[2]
    assert (first["processes"], first["devices"], reference["devices"]) == (2, 2, 2)
    assert first["losses"] == reference["losses"]  # resumed after 4 epochs
    # process 0's history, sent to process 1 on resuming; each times its own epochs
    assert untimed(second["history"]) == untimed(first["history"])


def untimed(history: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if key != "seconds"} for row in history]


def test_process_0_alone_writes_and_prints(processes):
    (printed, _), (silent, _) = processes[0]
    first, second = processes[1]
    assert sorted(p.name for p in second.iterdir()) == []
    written = sorted(p.name for p in (first / "run").iterdir())
    kinds = ["checkpoint", "config", "events", "loss", "metrics", "summary"]  # one event file
    assert [name.split(".")[0] for name in written] == kinds
    rows = (first / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(row)["epoch"] for row in rows] == list(range(1, 7))
    assert any(line.startswith("epoch    6/6") for line in printed) and silent == []


def test_a_run_directory_in_use_stops_every_process(processes):
    (_, first), (_, second) = processes[0]
    assert "is in use: another train" in first["refused"]
    assert second["refused"] == f"process 0: JazzFlaxError: {first['refused']}"


@pytest.mark.parametrize(
    "variables, expected",
    [
        ({}, None),
        ({"JAX_COORDINATOR_ADDRESS": "h:1234"}, "jax"),
        (dict.fromkeys(distributed.SLURM, "0") | {"SLURM_NTASKS": "4"}, "slurm"),
        (dict.fromkeys(distributed.SLURM, "0") | {"SLURM_NTASKS": "1"}, None),  # one task
        ({"SLURM_JOB_ID": "7", "SLURM_NTASKS": "4"}, None),  # salloc's shell, not srun's step
    ],
)
def test_launcher(monkeypatch, variables, expected):
    for name in [*distributed.SLURM, distributed.ADDRESS]:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert distributed.launcher() == expected


def test_without_a_launcher_auto_and_off_start_nothing_and_on_is_a_clear_error(monkeypatch):
    for name in [*distributed.SLURM, distributed.ADDRESS]:
        monkeypatch.delenv(name, raising=False)
    distributed.start("auto")
    distributed.start("off")
    with pytest.raises(JazzFlaxError, match="cannot start JAX's distributed runtime"):
        distributed.start("on")
    assert not os.environ.get(distributed.ADDRESS)


def test_one_process_calls_through():
    assert distributed.on_writer(sum, [1, 2]) == 3 and distributed.share({"a": 1}) == {"a": 1}
    assert distributed.restored(lambda: ("state", []), None) == ("state", [])
    with pytest.raises(JazzFlaxError, match="boom"):
        distributed.on_writer(_raise)


def _raise():
    raise JazzFlaxError("boom")

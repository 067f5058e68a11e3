"""Stopping `make train` halfway — Ctrl-C, SIGTERM or kill -9 — loses nothing: resuming ends on
the loss of an uninterrupted run, bit for bit, with every epoch in metrics.jsonl exactly once."""

import json
import signal
import subprocess
import time

import pytest

from jazz_flax import checkpoints, train
from tests.commands import ROOT, environment, main_command, tiny_flags

EPOCHS = 3000  # long enough to be stopped in the middle (a few seconds)


@pytest.fixture(scope="module")
def long_run(tiny):
    config = tiny.copy_and_resolve_references()
    config.epochs = EPOCHS
    _, history = train.train(config)
    return config, history


def start(config, workdir):
    command = main_command("train", *tiny_flags(config), f"--workdir={workdir}")
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_checkpoint(workdir, process, timeout=60.0):
    began = time.monotonic()
    while not (workdir / checkpoints.CHECKPOINT).exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() - began < timeout
        time.sleep(0.05)
    time.sleep(0.3)  # into the middle of the run


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_stopped_run_resumes_to_the_uninterrupted_loss(long_run, tmp_path, sent):
    config, uninterrupted = long_run
    workdir = tmp_path / "run"
    process = start(config, workdir)
    wait_for_checkpoint(workdir, process)
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=60)
    if sent == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == 2, stderr
        assert stderr.count("\n") == 1 and "interrupted after epoch" in stderr
        assert "the same train command continues it" in stderr
    kept = checkpoints.load_checkpoint(workdir).epoch
    assert 0 < kept < EPOCHS, "stopped too late to test anything"

    resumed = main_command("train", *tiny_flags(config), f"--workdir={workdir}")  # the same
    result = subprocess.run(resumed, cwd=ROOT, env=environment(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == list(range(1, EPOCHS + 1))
    assert [row["loss"] for row in rows] == [row["loss"] for row in uninterrupted]


SWEEP = """
from experiments import baseline


def get_sweep():
    config = baseline.get_config()
    config.data.update(path={path!r}, start=0.0, end=16.0, Tx=5, m=10)
    config.update(batch_size=4, epochs=10**6, epochs_per_call={per_call})
    return dict(base=config, seeds=[0], points=[{{"n_a": 8}}, {{"n_a": 12}}])
"""


@pytest.mark.slow
def test_an_interrupted_sweep_stops_its_runs_in_flight_at_once(tiny, tmp_path):
    """It waited for the calls in flight to end (8-24 s; 177 s with epochs=2000), then for the
    other groups' runs; now it stops within a second of the signal, mid-call."""
    per_call = 4000  # epochs a call: seconds (the first one's checkpoint: the runs are in flight)
    definition = tmp_path / "long.py"
    definition.write_text(SWEEP.format(path=tiny.data.path, per_call=per_call))
    out = tmp_path / "sweep"
    command = main_command("sweep", "--sweep", str(definition), f"--workdir={out}")
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    run = out / "n_a=8" / "seed0"
    wait_for_checkpoint(run, process, timeout=120.0)
    began = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    seconds = time.monotonic() - began
    assert process.returncode == 2 and stderr.count("\n") == 1, stderr
    assert stderr.startswith("error: interrupted; 0 of 2 runs") and "run the sweep again" in stderr
    assert seconds < 2.5, f"{seconds:.1f} s to stop"
    kept = checkpoints.load_checkpoint(run).epoch  # what `train` keeps: its last call's
    assert kept % per_call == 0 and kept > 0
    rows = (run / "metrics.jsonl").read_text().splitlines()
    assert len(rows) >= kept and not list(run.glob(".*.tmp"))

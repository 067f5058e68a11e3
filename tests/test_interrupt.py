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

"""Running the command lines from tests."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main_command(*args) -> list[str]:
    return [sys.executable, "-m", "jazz_flax.main", *args]


def environment() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def run_main(*args, cwd=ROOT):
    """`python -m jazz_flax.main train ARGS`, finished."""
    command = main_command("train", *args)
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=environment())


def tiny_flags(config) -> list[str]:
    """The baseline experiment, overridden on the command line into the tiny config."""
    # a None (a placeholder's) is the experiment's own, and no flag can give it
    data = {key: value for key, value in config.data.items() if value is not None}
    overrides = [f"--config.data.{key}={value}" for key, value in data.items()]
    overrides += [f"--config.{key}={config[key]}" for key in ("n_a", "batch_size", "epochs")]
    return ["--config", str(ROOT / "experiments" / "baseline.py"), *overrides]

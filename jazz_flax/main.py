"""Command lines.

    python -m jazz_flax.main train --config experiments/baseline.py [--config.epochs=200]
                                   [--workdir runs/baseline] [--debug]

The config file is the experiment; `--config.KEY=VALUE` overrides one of its settings. The run
directory defaults to runs/<experiment name> (the config file's stem).
"""

from __future__ import annotations

from pathlib import Path

from absl import app, flags, logging
from ml_collections import config_flags

from jazz_flax import train
from jazz_flax.errors import one_line_errors

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "experiment config, e.g. experiments/baseline.py")
flags.DEFINE_string("workdir", None, "run directory (default: runs/<experiment name>)")
flags.DEFINE_bool("debug", False, "show the traceback of an error")


def workdir() -> Path:
    experiment = Path(config_flags.get_config_filename(FLAGS["config"])).stem
    return Path(FLAGS.workdir or Path("runs") / experiment)


def train_command() -> None:
    train.enable_compilation_cache()
    train.train(FLAGS.config, workdir=workdir())


COMMANDS = {"train": train_command}


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[1] not in COMMANDS:
        raise app.UsageError(f"give one command: {', '.join(COMMANDS)}")
    logging.set_verbosity(logging.WARNING)  # not JAX's INFO lines about absent accelerators
    with one_line_errors(FLAGS.debug):
        COMMANDS[argv[1]]()


if __name__ == "__main__":
    flags.mark_flags_as_required(["config"])
    app.run(main)

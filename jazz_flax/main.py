"""Command lines.

    python -m jazz_flax.main train --config experiments/baseline.py [--config.epochs=200]
                                   [--workdir runs/baseline] [--debug]
    python -m jazz_flax.main generate --config experiments/baseline.py [--temperature 0.8]
                                   [--top_k 10] [--top_p 0.9] [--greedy] [--seed 3]
                                   [--chords "Dm7 G7 Cmaj7 Cmaj7"] [--mode notebook] [--primer ...]

The config file is the experiment; `--config.KEY=VALUE` overrides one of its settings. The run
directory defaults to runs/<experiment name> (the config file's stem).
"""

from __future__ import annotations

from pathlib import Path

from absl import app, flags, logging
from ml_collections import config_flags

from jazz_flax import generate, train
from jazz_flax.errors import one_line_errors
from jazz_flax.sample import Strategy

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "experiment config, e.g. experiments/baseline.py")
flags.DEFINE_string("workdir", None, "run directory (default: runs/<experiment name>)")
flags.DEFINE_bool("debug", False, "show the traceback of an error")
flags.DEFINE_integer("seed", 0, "generate: seed of the sampler and the decoder")
flags.DEFINE_float("temperature", 1.0, "generate: softmax temperature (> 0)")
flags.DEFINE_integer("top_k", 0, "generate: sample among the k likeliest tokens (0: all)")
flags.DEFINE_float("top_p", 1.0, "generate: nucleus sampling, in (0, 1]")
flags.DEFINE_bool("greedy", False, "generate: always the likeliest token, as the notebook")
flags.DEFINE_string("chords", None, 'generate: one chord per measure, e.g. "Dm7 G7 Cmaj7"')
flags.DEFINE_enum("mode", "measures", generate.MODES, "generate: measures or notebook layout")
flags.DEFINE_string("primer", None, "generate: tokens the solo starts with, space-separated")


def workdir() -> Path:
    experiment = Path(config_flags.get_config_filename(FLAGS["config"])).stem
    return Path(FLAGS.workdir or Path("runs") / experiment)


def train_command() -> None:
    train.enable_compilation_cache()
    train.train(FLAGS.config, workdir=workdir())


def generate_command() -> None:
    train.enable_compilation_cache()
    strategy = Strategy(FLAGS.temperature, FLAGS.top_k, FLAGS.top_p, FLAGS.greedy)
    result = generate.generate(
        workdir(),
        seed=FLAGS.seed,
        strategy=strategy,
        chords=FLAGS.chords,
        mode=FLAGS.mode,
        primer=FLAGS.primer,
    )
    for path in result.paths.values():
        print(path)
    print(result.describe())


COMMANDS = {"train": train_command, "generate": generate_command}


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[1] not in COMMANDS:
        raise app.UsageError(f"give one command: {', '.join(COMMANDS)}")
    logging.set_verbosity(logging.WARNING)  # not JAX's INFO lines about absent accelerators
    with one_line_errors(FLAGS.debug):
        COMMANDS[argv[1]]()


if __name__ == "__main__":
    flags.mark_flags_as_required(["config"])
    app.run(main)

"""What a notebook needs, in five calls; `import jazz_flax` exposes them without importing JAX.

    config = jazz_flax.get_config("baseline", epochs=5)  # experiments/baseline.py, or a file
    jazz_flax.train_run(config, "runs/baseline")  # as `jazz-flax train` writes a run directory
    solo = jazz_flax.generate_solo("runs/baseline", seed=3)  # output/my_music.*; solo.audio()
    scores = jazz_flax.evaluate_run("runs/baseline")  # and runs/baseline/eval.json
    run = jazz_flax.load_run("runs/baseline")  # the trained model, params, vocabulary, config

The experiment configs are the `experiments` package, shipped in the wheel beside jazz_flax, so a
name works from any directory (`cli.options.experiment_file`); `generate_solo` is
`generate.generate` (its keywords are `generate.Settings`'), `load_run` and `evaluate_run` are
`checkpoints`' and `evaluate`'.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ml_collections


def get_config(name: str | Path, **changes) -> ml_collections.ConfigDict:
    """The config of an experiment (`experiment_file`) with `changes`, dotted keys as a dict's:
    get_config("wjazzd", epochs=5, **{"data.Tx": 32})."""
    from jazz_flax import sweep  # here: `jazz_flax.api` stays light
    from jazz_flax.cli.options import experiment_config

    return sweep.override(experiment_config(name), changes)


def train_run(config: ml_collections.ConfigDict, workdir: str | Path):
    """Trains `config` into `workdir` as `jazz-flax train` does: checked first, on a CPU one JAX
    device per core (when JAX has not started yet), compiled programs cached. Returns (state,
    history), history one dict per epoch."""
    from jazz_flax import config as config_lib
    from jazz_flax import parallel, train

    config_lib.check(config)
    parallel.split_cpu(config.devices, config.batch_size)
    train.enable_compilation_cache()
    return train.train(config, workdir=workdir)

"""What a notebook needs, in five calls; `import jazz_flax` exposes them without importing JAX.

    config = jazz_flax.get_config("baseline", epochs=5)  # experiments/baseline.py, or a file
    jazz_flax.train_run(config, "runs/baseline")  # as `jazz-flax train` writes a run directory
    solo = jazz_flax.generate_solo("runs/baseline", seed=3)  # output/my_music.*; solo.audio()
    scores = jazz_flax.evaluate_run("runs/baseline")  # and runs/baseline/eval.json
    run = jazz_flax.load_run("runs/baseline")  # the trained model, params, vocabulary, config

The experiment configs are the `experiments` package, shipped in the wheel beside jazz_flax, so a
name works from any directory; `generate_solo` is `generate.generate` (its keywords are
`generate.Settings`'), `load_run` and `evaluate_run` are `checkpoints`' and `evaluate`'.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import TYPE_CHECKING

from jazz_flax.errors import JazzFlaxError
from jazz_flax.files import call_function

if TYPE_CHECKING:
    import ml_collections


def experiment_names() -> list[str]:
    """The experiment configs shipped in the `experiments` package: baseline, wjazzd, …"""
    folder = importlib.resources.files("experiments")
    return sorted(f.name.removesuffix(".py") for f in folder.iterdir() if is_config(f.name))


def is_config(file_name: str) -> bool:
    return file_name.endswith(".py") and not file_name.startswith("_")


def experiment_file(name: str | Path) -> Path:
    """The config file of an experiment: a name in `experiment_names()` (baseline: the shipped
    experiments/baseline.py), or the path of a file."""
    given = Path(name)
    if given.suffix == ".py" or len(given.parts) > 1:
        if not given.is_file():
            raise JazzFlaxError(f"no such config file: {given}")
        return given
    shipped = importlib.resources.files("experiments") / f"{name}.py"
    if not shipped.is_file():
        raise JazzFlaxError(
            f"no experiment named {str(name)!r}",
            hint=f"one of {', '.join(experiment_names())}, or the path of a config file",
        )
    return Path(str(shipped))


def get_config(name: str | Path, **changes) -> ml_collections.ConfigDict:
    """The config of an experiment (`experiment_file`) with `changes`, dotted keys as a dict's:
    get_config("wjazzd", epochs=5, **{"data.Tx": 32})."""
    from jazz_flax import sweep  # here: `jazz_flax.api` stays light

    config = call_function(experiment_file(name), "get_config")
    return sweep.override(config, changes)


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

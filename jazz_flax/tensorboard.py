"""TensorBoard summaries of a run (`config.log.tensorboard`), beside its metrics.jsonl.

    after each call: the scalars of its epochs: loss, lr and (split by piece) valid_nll, by epoch
    first:           the config as hparams (TensorBoard's HParams tab compares runs by them)
    at the end:      a solo of the trained model (its best state), improvised over the corpus'
                     first measures, as the piano roll `generate` draws (music.render)

The event file lies in the run directory itself, so `tensorboard --logdir runs` lists each run by
its folder, a sweep's as <point>/seed<k>. Written with tensorboardX (the `tensorboard` extra:
`pip install jazz_flax[tensorboard]`), imported only when the setting is on; never TensorFlow.
A fresh run removes the event files of the one it replaces; a resumed run adds a file of its own.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jax
import ml_collections
import numpy as np

from jazz_flax import config as config_lib
from jazz_flax import data, soloist
from jazz_flax.errors import JazzFlaxError
from jazz_flax.models import context_of
from jazz_flax.music import render

EVENTS = "events.out.tfevents.*"  # the event files' names
SCALARS = ("loss", "lr", "valid_nll")  # the metrics.jsonl keys shown, by epoch
MEASURES = 8  # of the solo whose piano roll is shown


def require() -> None:
    """A JazzFlaxError unless tensorboardX can be imported."""
    if importlib.util.find_spec("tensorboardX") is None:
        raise JazzFlaxError(
            "log.tensorboard needs tensorboardX, which is not installed",
            hint="pip install 'jazz_flax[tensorboard]' (or tensorboardX), or leave it False",
        )


class Board:
    """The TensorBoard event file of a run directory, open for writing."""

    def __init__(self, workdir: Path, config: ml_collections.ConfigDict, fresh: bool):
        """Opens a new event file in `workdir` (`fresh`: the old ones removed first) and writes
        the config as hparams."""
        require()
        from tensorboardX import SummaryWriter
        from tensorboardX.summary import hparams

        if fresh:
            for old in workdir.glob(EVENTS):
                old.unlink(missing_ok=True)
        self.writer = SummaryWriter(str(workdir), flush_secs=10)
        for summary in hparams(hparam_values(config), {key: 0.0 for key in SCALARS}):
            self.writer.file_writer.add_summary(summary)

    def scalars(self, rows: list[dict]) -> None:
        """The `SCALARS` of metrics rows, at their epochs; written to the file at once."""
        for row in rows:
            for key in SCALARS:
                if key in row:
                    self.writer.add_scalar(key, row[key], row["epoch"])
        self.writer.flush()

    def piano_roll(self, solo: render.Solo, epoch: int) -> None:
        """The solo's piano roll, as the image "solo" at `epoch`."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(render.piano_roll(solo, f"a solo of epoch {epoch}"))
        canvas.draw()
        image = np.asarray(canvas.buffer_rgba())[..., :3]
        self.writer.add_image("solo", image, epoch, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def hparam_values(config: ml_collections.ConfigDict) -> dict:
    """The config's settings by dotted key, as TensorBoard takes them: numbers, text and flags
    as they are, anything else (None, mappings) as its text."""
    settings = config_lib.flat_settings(config.to_dict())
    return {
        key: value if isinstance(value, bool | int | float | str) else str(value)
        for key, value in settings.items()
    }


def solo_of(config, model, params, vocab: data.Vocabulary) -> render.Solo:
    """A solo of the model, seeded by `config.seed`, over the first `MEASURES` measures of the
    changes `generate` plays by default (the corpus', or its first test piece's)."""
    changes = data.default_changes(data.load_corpus_from_config(config.data)).chords[:MEASURES]
    key, rng = jax.random.key(config.seed), np.random.default_rng(config.seed)
    params = jax.device_get(params)  # the host's copy: sampled on this process alone
    improvised = soloist.solos(model, params, vocab, changes, key, rng, context=context_of(config))
    return improvised[0].solo

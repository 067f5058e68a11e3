"""Every training setting in one place: its default, a comment saying what it does, and its check.

In the style of flax's examples/lm1b/configs/default.py: `defaults()` is the complete config, the
seed notebook's setup (experiments/baseline.py is exactly it), which every experiment in
experiments/ starts from and overrides where it differs. `CHECKS` holds each setting, by dotted
key, to its type, range (`errors.Range`) or choices (a registry's names); `check(config)` applies
them and the few rules between settings, before anything is written, each failure one line
naming the key. `with_defaults(saved)` completes a config saved before a setting existed with
that setting's default, so a new key needs no other edit for older runs to resume, generate,
evaluate and count as finished in a sweep.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Iterator

import ml_collections
from ml_collections.config_dict import placeholder

from jazz_flax import cells, distributed, grammar, losses, model, models, transformer
from jazz_flax.data.readers import READERS
from jazz_flax.data.roots import METHENY, data_path
from jazz_flax.data.splits import SPLIT_BY
from jazz_flax.errors import POSITIVE, SEED, JazzFlaxError, Range
from jazz_flax.windows import context_parts

WINDOWS = ("notebook", "sliding")  # data.windows: how training windows are cut


def defaults() -> ml_collections.ConfigDict:
    """The complete config: the seed notebook's corpus, model, loss and optimiser."""
    config = ml_collections.ConfigDict()
    config.seed = 0  # initial parameters, shuffles and dropout all derive from it
    config.data = data_defaults()  # the corpus and its windows

    config.model = ml_collections.ConfigDict()
    config.model.kind = "lstm"  # the family, a name in models.MODELS: "lstm", "transformer"
    config.model.cell = "lstm"  # a name in cells.CELLS: lstm (nn.LSTMCell), gru, fused_lstm, …
    config.model.embed = 0  # 0: one-hot inputs (the notebook's); E > 0: a learnt embedding of E
    config.model.head_layer = "dense"  # a name in model.HEADS: dense (nn.Dense), fused_dense
    config.model.heads = 4  # transformer: attention heads, each n_a / heads wide (even)
    config.model.mlp = 4  # transformer: each block's MLP hidden width, × n_a
    config.model.tied = False  # transformer: the head is the token embedding's transpose
    config.n_a = 64  # hidden units per layer (a transformer's width)
    config.layers = 1  # stacked recurrent layers (a transformer's blocks)
    config.dropout = 0.0  # after each layer, in training
    config.init = "keras"  # initial parameters: "keras" (the notebook's) or "flax" (model.INITS)
    config.condition_on_chords = False  # True: each token's chord joins the input (Improv RNN)

    config.loss = losses.DEFAULT  # a name in losses.LOSSES: Σ over time of the cross-entropy
    config.label_smoothing = 0.0  # α: 1 − α on the target, α spread over all values

    config.lr = 0.01  # Adam's learning rate
    config.b1 = 0.9  # Adam's β1
    config.b2 = 0.999  # Adam's β2
    config.decay = 0.01  # legacy Keras decay: lr_t = lr / (1 + decay · step)
    config.batch_size = 32  # windows per update; the last batch of an epoch smaller
    config.epochs = 100  # epochs in all (a resumed run: up to this many)
    config.epochs_per_call = 10  # epochs per jit call; progress, validation, checkpoint between
    config.devices = 0  # each batch split over this many devices; 0: all that split it evenly
    config.resume = False  # continue from the run directory's checkpoint
    config.distributed = "auto"  # JAX's runtime over hosts: "auto" (a launcher found), "on", "off"

    config.log = ml_collections.ConfigDict()  # what a run directory receives beside metrics.jsonl
    config.log.tensorboard = False  # TensorBoard: scalars, hparams, a solo's piano roll
    return config


def data_defaults() -> ml_collections.ConfigDict:
    """`config.data`: the corpus (by default the Metheny solo's section) and its windows."""
    data = ml_collections.ConfigDict()
    data.reader = "music21"  # a name in data.READERS: "music21" (MIDI / MusicXML), "wjazzd"
    data.path = str(data_path(METHENY))  # file, folder or glob; $JAZZ_FLAX_DATA/…
    data.melody_part = "Guitar"  # a file of one part: that part, whatever its name
    data.chord_part = "Piano"  # "symbols" (lead sheets): the melody part's chord symbols
    data.parts = {}  # per file: {"<stem or glob of stems>": {"melody_part": …, "chord_part": …}}
    data.start = 476.0  # the section, in quarter notes; None: from the piece's start
    data.end = 548.0  # None: to the piece's end
    data.solos = "*"  # wjazzd reader: a glob of solo names, e.g. "JohnColtrane_*"
    data.grammar = "notebook"  # "notebook" (the seed's, exactly), "v2", "pitch", "pitch_relative"
    data.context = ""  # what the model reads beside each token: "chord,next_chord,position,…"
    data.windows = "notebook"  # "notebook": m random windows; "sliding": every window (WINDOWS)
    data.m = 60  # notebook windows: how many
    data.Tx = 30  # tokens per window
    data.window_seed = 0  # notebook windows: np.random.seed of their starts
    data.stride = 1  # sliding windows: tokens between two starts
    data.windows_per_epoch = placeholder(int)  # an epoch's windows, a fresh sample; None: all
    data.holdout_measures = 0  # each piece's last measures, kept out of training (held-out NLL)
    data.split_seed = placeholder(int)  # None: one corpus; a seed: split by piece, train/valid/test
    data.split_by = "path"  # what a split keeps together: "path" (a piece); wjazzd: "performer",
    # "tune" (every take of a tune, by every performer)
    data.valid_fraction = 0.05  # of the pieces, split by piece
    data.test_fraction = 0.05  # of the pieces, split by piece
    data.min_count = 1  # split by piece: training tokens seen fewer times are <unk>
    return data


@dataclasses.dataclass(frozen=True)
class OneOf:
    """A setting that takes one of `choices` (e.g. a registry's names)."""

    choices: Collection[str]

    def check(self, name: str, value) -> None:
        if not isinstance(value, str) or value not in self.choices:
            allowed = ", ".join(repr(choice) for choice in self.choices)
            raise JazzFlaxError(f"{name} must be one of {allowed}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class Kind:
    """A setting of a type: `str`, `bool` or a mapping (`dict`)."""

    type_: type

    def check(self, name: str, value) -> None:
        mapping = self.type_ is dict and isinstance(value, ml_collections.ConfigDict)
        if not (isinstance(value, self.type_) or mapping):
            raise JazzFlaxError(f"{name} must be a {self.type_.__name__}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class OrNone:
    """A setting that may also be None."""

    inner: Range | OneOf | Kind

    def check(self, name: str, value) -> None:
        if value is not None:
            self.inner.check(name, value)


TEXT, FLAG, FRACTION = Kind(str), Kind(bool), Range(0, 1, low_open=True)
CHECKS = {  # every setting of `defaults()`, by dotted key: what it may be
    "seed": SEED,
    "data.reader": OneOf(READERS),
    "data.path": TEXT,
    "data.melody_part": TEXT,
    "data.chord_part": TEXT,
    "data.parts": Kind(dict),
    "data.start": OrNone(Range(0)),
    "data.end": OrNone(Range(0)),
    "data.solos": TEXT,
    "data.grammar": OneOf(grammar.GRAMMARS),
    "data.context": TEXT,  # parts of features.PARTS, checked by `_check_together`
    "data.windows": OneOf(WINDOWS),
    "data.m": POSITIVE,
    "data.Tx": POSITIVE,
    "data.window_seed": SEED,
    "data.stride": POSITIVE,
    "data.windows_per_epoch": OrNone(Range(1, integer=True, note="(None: all)")),
    "data.holdout_measures": Range(0, integer=True),
    "data.split_seed": OrNone(SEED),
    "data.split_by": OneOf(SPLIT_BY),
    "data.valid_fraction": FRACTION,
    "data.test_fraction": FRACTION,
    "data.min_count": POSITIVE,
    "model.kind": OneOf(models.MODELS),
    "model.cell": OneOf(cells.CELLS),
    "model.embed": Range(0, integer=True, note="(0: one-hot inputs)"),
    "model.head_layer": OneOf(model.HEADS),
    "model.heads": POSITIVE,
    "model.mlp": POSITIVE,
    "model.tied": FLAG,
    "n_a": POSITIVE,
    "layers": POSITIVE,
    "dropout": Range(0, 1),
    "init": OneOf(model.INITS),
    "condition_on_chords": FLAG,
    "loss": OneOf(losses.LOSSES),
    "label_smoothing": Range(0, 1),
    "lr": Range(0, low_open=True),
    "b1": Range(0, 1),
    "b2": Range(0, 1),
    "decay": Range(0),
    "batch_size": POSITIVE,
    "epochs": POSITIVE,
    "epochs_per_call": POSITIVE,
    "devices": Range(0, integer=True, note="(0: all)"),
    "resume": FLAG,
    "distributed": OneOf(distributed.MODES),
    "log.tensorboard": FLAG,
}
HINT = "start the config from jazz_flax.config.defaults()"
MEMORY = ("batch_size", "n_a", "layers", "model.embed", "data.Tx", "data.m")  # memory grows with


def memory_settings(config: ml_collections.ConfigDict) -> dict[str, tuple[float, float]]:
    """{--config.KEY: (value, default)} of the MEMORY settings, for `errors.memory_asked_by`."""
    given, default = flat_settings(config.to_dict()), flat_settings(plain_defaults())
    return {f"--config.{key}": (given[key], default[key]) for key in MEMORY}


def check(config: ml_collections.ConfigDict) -> None:
    """Raises a JazzFlaxError, one line naming the setting, for a setting missing, unknown or
    out of its `CHECKS`, or settings that do not go together."""
    given = dict(_leaves(config.to_dict()))
    unknown = sorted(set(given) - set(CHECKS))
    if unknown:
        raise JazzFlaxError(f"unknown config setting {unknown[0]!r}", hint=HINT)
    for key, allowed in CHECKS.items():
        if key not in given:
            raise JazzFlaxError(f"the config lacks the setting {key!r}", hint=HINT)
        allowed.check(key, given[key])
    _check_together(config)


def _leaves(tree: dict, prefix: str = "") -> Iterator[tuple[str, object]]:
    """(dotted key, value) of each setting: a CHECKS key is a leaf, whatever its value."""
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in CHECKS:
            yield from _leaves(value, f"{name}.")
        else:
            yield name, value


def _check_together(config: ml_collections.ConfigDict) -> None:
    """The rules between settings."""
    data = config.data
    if data.windows == "notebook" and data.Tx < 2:
        raise JazzFlaxError(
            f"notebook windows need data.Tx ≥ 2 (their last target is empty), got {data.Tx}",
            hint="use a larger --config.data.Tx",
        )
    if None not in (data.start, data.end) and not data.start < data.end:
        raise JazzFlaxError(f"data.start must be before data.end, got {data.start} and {data.end}")
    if data.valid_fraction + data.test_fraction >= 1:
        raise JazzFlaxError(
            f"data.valid_fraction + data.test_fraction must be < 1 (to leave some to train), got "
            f"{data.valid_fraction} + {data.test_fraction}"
        )
    cells.make(config.model.cell, config.n_a)  # a cell may refuse its settings
    if config.model.kind == "transformer":
        transformer.check_config(config)
    if context_parts(data.context) and config.condition_on_chords:
        raise JazzFlaxError(
            "condition_on_chords and data.context both choose the model's context",
            hint="name the chord in data.context ('chord,…') and leave condition_on_chords False",
        )


def plain_defaults() -> dict:
    """`defaults()` as JSON reads it back (tuples as lists, placeholders as None)."""
    return json.loads(defaults().to_json())


def with_defaults(saved: dict, defaults_: dict | None = None) -> dict:
    """A saved config (a dict) with each setting it lacks taken from `defaults()`: a run saved
    before a setting existed behaved as its default does."""
    filled = dict(saved)
    for key, default in (plain_defaults() if defaults_ is None else defaults_).items():
        if key not in filled:
            filled[key] = default
        elif isinstance(default, dict) and default and isinstance(filled[key], dict):
            filled[key] = with_defaults(filled[key], default)
    return filled


def flat_settings(tree: dict, prefix: str = "") -> dict:
    """A nested config dict as {dotted key: value}: {"data.Tx": 30, …}."""
    items = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            items.update(flat_settings(value, f"{prefix}{key}."))
        else:
            items[f"{prefix}{key}"] = value
    return items

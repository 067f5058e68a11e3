"""Training: the notebook's loss and optimiser, many epochs per `jax.jit` call, the run directory.

    config ──data──▶ Windows (m, Tx) ──train_epochs (jit; scan over epochs, then batches)──▶ state

Keras semantics kept under jit: per-epoch shuffling, batches of `batch_size` with the last one
smaller (padded here with weight-0 rows), the epoch loss as the size-weighted mean of the batch
losses, and the batch loss `config.loss` (losses.py), by default the sum over time of the
batch-mean cross-entropy — the number the notebook printed (129.9 at chance for 90 values).
Every random choice derives from `config.seed` and the epoch number, so a resumed run repeats an
uninterrupted one exactly.

The learning rate and its decay live in the optimiser state (`scale_by_keras_decay`), so runs that
differ only in them, or in the seed, share one compiled program (`sweep.py` relies on it).

Run directory: config.json, metrics.jsonl (one line per epoch, appended to), summary.json, loss.png
and checkpoint.msgpack (params, optimiser state, step, epoch, vocabulary, config, the folder it was
trained from; in an envelope with its sha256). The other files are written whole through a
temporary file and a rename. One train at a time holds the directory (`files.lock`), and writes
to it only once its first epochs have trained.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import NamedTuple

import flax.serialization
import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax.training import train_state

from jazz_flax import cells, data, files, interrupts, losses, parallel, transformer
from jazz_flax import model as model_lib
from jazz_flax.errors import POSITIVE, SEED, JazzFlaxError, Range, warn_once
from jazz_flax.files import atomic_write, write_figure
from jazz_flax.model import DJModel, count_params, init_params, token_scores
from jazz_flax.transformer import Transformer

REFERENCE = {"epoch_1": 129.9, "epoch_100": 9.2}  # the notebook's printed losses
BEST = "best"  # the run directory's folder of the checkpoint with the lowest validation NLL
EPOCHS_PER_CALL = 10  # epochs per jit call; progress, metrics and checkpoint come between calls
CHECKPOINT = "checkpoint.msgpack"
CHECKPOINT_FORMAT = 2  # 2: an envelope with the sha256 of the checkpoint, which holds no history
METRICS = "metrics.jsonl"
NO_RESUME = "train it again without resume"
RESUMABLE_CHANGES = ("epochs", "resume", "devices")  # config keys a resumed run may change
HISTORY_KEYS = {"epoch": int, "loss": float, "lr": float, "seconds": float}  # a metrics row


class TrainState(train_state.TrainState):
    """Flax's train state, whether its model takes each token's chord features, and its loss."""

    chord_features: int = flax.struct.field(pytree_node=False, default=0)
    loss: losses.Loss = flax.struct.field(pytree_node=False, default=losses.NOTEBOOK)


class Batches(NamedTuple):
    """One epoch's windows, shuffled into batches."""

    x: jax.Array  # int32 (n_batches, Tx, batch_size): time-major, as the model computes
    y: jax.Array  # int32 (n_batches, Tx, batch_size)
    weights: jax.Array  # float32 (n_batches, batch_size): a window's share of its batch, 0: padding
    chords: jax.Array | None  # float32 (n_batches, Tx, batch_size, F): the chord of each target


BATCH_AXES = Batches(x=1, y=1, weights=0, chords=1)  # each field's batch axis, for one batch


def keras_decay(lr: float, decay: float) -> optax.Schedule:
    """Legacy Keras' time decay: lr / (1 + decay · t), t the number of updates made so far."""
    return lambda step: lr / (1.0 + decay * step)


class KerasDecayState(NamedTuple):
    """The state of `scale_by_keras_decay`: the update count and the schedule's two numbers."""

    count: jax.Array  # int32 (): updates made so far
    lr: jax.Array  # float32 (): traced, so runs that differ in it share one compiled program
    decay: jax.Array  # float32 ()


def scale_by_keras_decay(lr: float, decay: float) -> optax.GradientTransformation:
    """Scales updates by -lr / (1 + decay · t), `keras_decay` with lr and decay in the state.

    The same arithmetic as `optax.scale_by_schedule(-keras_decay(lr, decay))`, but the numbers are
    arrays of the optimiser state rather than constants of the compiled program.
    """

    def init(params):
        del params
        as_array = functools.partial(jnp.asarray, dtype=jnp.float32)
        return KerasDecayState(jnp.zeros([], jnp.int32), as_array(lr), as_array(decay))

    def update(updates, state, params=None):
        del params
        step_size = -(state.lr / (1.0 + state.decay * state.count))
        updates = jax.tree.map(lambda g: jnp.asarray(step_size, g.dtype) * g, updates)
        return updates, state._replace(count=optax.safe_increment(state.count))

    return optax.GradientTransformation(init, update)


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """Adam with legacy Keras' decay; lr and decay are traced (see `scale_by_keras_decay`)."""
    return optax.chain(
        optax.scale_by_adam(b1=config.b1, b2=config.b2),
        scale_by_keras_decay(config.lr, config.decay),
    )


def sequence_loss(
    logits: jax.Array, targets: jax.Array, weights: jax.Array, loss=losses.NOTEBOOK
) -> jax.Array:
    """`loss` (the notebook's by default) of logits (T, B, V) for targets int32 (T, B), where
    weights (B,) is each row's share of the batch (1/rows, 0 for padding); EMPTY targets add 0.
    A share of the batch's rows gives its share of the loss, and the shares sum."""
    return loss(logits, targets, losses.target_weights(targets, weights))


def epoch_batches(
    key: jax.Array,
    windows: data.Windows,
    batch_size: int,
    with_chords: bool = True,
    per_epoch: int | None = None,
) -> Batches:
    """The windows shuffled into batches; the last one filled up with weight-0 rows. Without
    chords (for a model that does not read them), Batches.chords is None. With `per_epoch`, the
    first `per_epoch` windows of the shuffle only (`data.windows_per_epoch`)."""
    m = epoch_windows(windows.x.shape[0], per_epoch)
    n_batches = math.ceil(m / batch_size)
    shuffled = jax.random.permutation(key, windows.x.shape[0])[:m]
    order = jnp.zeros(n_batches * batch_size, jnp.int32).at[:m].set(shuffled)
    rows = order.reshape(n_batches, batch_size)
    real = np.arange(n_batches * batch_size).reshape(n_batches, batch_size) < m
    weights = real / real.sum(axis=1, keepdims=True)  # numpy: constants, no reduction in the step
    x, y = (jnp.swapaxes(ids[rows], 1, 2) for ids in (windows.x, windows.y))
    chords = jnp.swapaxes(windows.chords[rows], 1, 2) if with_chords else None
    return Batches(x, y, jnp.asarray(weights, jnp.float32), chords)


def train_step(state: TrainState, batch: Batches, key: jax.Array, mesh=None):
    """One update on one batch (x, y: (Tx, B)); returns the new state and the batch loss.

    With a `mesh` each device takes its share of the batch (`parallel.value_and_grad`)."""

    def loss_fn(params, batch: Batches, key: jax.Array):
        variables, rngs = {"params": params}, {"dropout": key}
        logits = state.apply_fn(
            variables, batch.x, batch.chords, deterministic=False, time_major=True, rngs=rngs
        )
        return sequence_loss(logits, batch.y, batch.weights, state.loss)

    grad_fn = parallel.value_and_grad(loss_fn, mesh, BATCH_AXES)
    loss, grads = grad_fn(state.params, batch, key)
    return state.apply_gradients(grads=grads), loss


def epoch_calls(epochs: int, per_call: int, first: int = 0) -> list[np.ndarray]:
    """The epoch numbers `first` … epochs - 1 (0-based) in calls of `per_call`: what each jit
    call trains."""
    return [np.arange(i, min(i + per_call, epochs)) for i in range(first, epochs, per_call)]


def epochs_per_call(config: ml_collections.ConfigDict) -> int:
    """Epochs a jit call trains (validation, progress and checkpoint come between calls)."""
    return config.get("epochs_per_call", EPOCHS_PER_CALL)


def epoch_windows(n_windows: int, per_epoch: int | None) -> int:
    """How many windows an epoch trains on: all, or `per_epoch` of them if fewer."""
    return min(n_windows, per_epoch or n_windows)


@functools.partial(jax.jit, static_argnames=("batch_size", "mesh", "per_epoch"), donate_argnums=0)
def train_epochs(
    state,
    windows: data.Windows,
    epochs: jax.Array,
    key: jax.Array,
    batch_size: int,
    mesh=None,
    per_epoch: int | None = None,
):
    """Trains the epochs numbered `epochs` (K,); returns the state and their losses (K,).

    With a `mesh` (`parallel.make_mesh`) each batch is split over its devices.
    """

    def epoch(state, number):
        shuffle_key, dropout_key = jax.random.split(jax.random.fold_in(key, number))
        chords = state.chord_features > 0
        batches = epoch_batches(shuffle_key, windows, batch_size, chords, per_epoch)
        batch_keys = jax.random.split(dropout_key, batches.x.shape[0])
        state, losses = jax.lax.scan(
            lambda state, args: train_step(state, *args, mesh=mesh), state, (batches, batch_keys)
        )
        sizes = (batches.weights > 0).sum(axis=1)
        return state, losses @ sizes / sizes.sum()

    return jax.lax.scan(epoch, state, epochs)


@functools.partial(jax.jit, static_argnames="batch_size", donate_argnums=0)
def train_epochs_stacked(
    states, windows: data.Windows, epochs: jax.Array, keys: jax.Array, batch_size: int
):
    """`train_epochs` for S runs in one program (`jax.vmap`): states and keys (S,) stacked on a
    leading axis, the windows shared; returns the states and their losses (S, K)."""

    def one(state, key):
        return train_epochs(state, windows, epochs, key, batch_size=batch_size)

    return jax.vmap(one)(states, keys)


class Run(NamedTuple):
    """What training starts from: the windows, their vocabulary, and the state to continue."""

    windows: data.Windows
    vocab: data.Vocabulary
    state: TrainState
    history: list[dict]  # one row per epoch already trained: epoch, loss, lr, seconds
    valid: data.Windows | None = None  # a corpus split by piece: its validation split


def _kept(workdir: Path | None, saved: int) -> str:
    """What the run directory keeps, for a message about a stopped run."""
    if workdir is None:
        return ""
    return f"; {workdir / CHECKPOINT} keeps epoch {saved}" if saved else "; nothing was saved"


MODELS = {"lstm": model_lib.from_config, "transformer": transformer.from_config}  # model.kind


def make_model(config: ml_collections.ConfigDict, n_values: int) -> DJModel | Transformer:
    """The model `config.model.kind` names; `condition_on_chords` feeds it each token's chord."""
    features = data.CHORD_FEATURES if config.get("condition_on_chords", False) else 0
    return MODELS[model_kind(config)](config, n_values, features)


def model_kind(config: ml_collections.ConfigDict) -> str:
    """`config.model.kind`, a name in MODELS ("lstm" for a config from before it existed)."""
    kind = config.get("model", model_lib.default_config()).get("kind", "lstm")
    if kind not in MODELS:
        raise JazzFlaxError(f"unknown model.kind {kind!r}", hint=f"use one of {', '.join(MODELS)}")
    return kind


def make_loss(config: ml_collections.ConfigDict) -> losses.Loss:
    """The loss `config.loss` names, with its `label_smoothing`."""
    return losses.Loss(config.get("loss", losses.DEFAULT), config.get("label_smoothing", 0.0))


SETTINGS = {  # the range of each numeric setting; check_config holds a config to them
    "seed": SEED,
    "epochs": POSITIVE,
    "batch_size": POSITIVE,
    "n_a": POSITIVE,
    "layers": POSITIVE,
    "devices": Range(0, integer=True, note="(0: all)"),
    "dropout": Range(0, 1),
    "lr": Range(0, low_open=True),
    "b1": Range(0, 1),
    "b2": Range(0, 1),
    "decay": Range(0),
}


def check_config(config: ml_collections.ConfigDict) -> None:
    """Raises a JazzFlaxError for a setting out of its range (the data's: `data.check_config`),
    an unknown cell or loss, or cell settings the cell cannot honour."""
    for key, allowed in SETTINGS.items():
        allowed.check(key, config[key])
    settings = config.get("model", model_lib.default_config())
    cells.make(settings.cell, config.n_a)
    Range(0, integer=True, note="(0: one-hot inputs)").check("model.embed", settings.embed)
    if model_kind(config) == "transformer":
        transformer.check_config(config)
    make_loss(config)
    data.check_config(config.data)


def create_state(
    config: ml_collections.ConfigDict,
    model: DJModel,
    key: jax.Array,
    tx: optax.GradientTransformation | None = None,
) -> TrainState:
    """A fresh state: `config.init`'s parameters and the optimiser's state.

    `tx` defaults to `make_optimizer(config)`. States given the same `tx` object (and model) have
    the same tree structure, so one compiled program trains them all; each still gets its own lr
    and decay, which the optimiser state holds and the update reads from there.
    """
    own = make_optimizer(config)
    params = init_params(model, key, config.init)
    return TrainState(
        step=0,
        apply_fn=model.apply,
        chord_features=model.chord_features,
        loss=make_loss(config),
        params=params,
        tx=own if tx is None else tx,
        opt_state=own.init(params),
    )


def training_windows(config: ml_collections.ConfigDict, corpus: data.Corpus) -> data.Windows:
    """The windows `config` trains on: cut from each piece less its held-out measures."""
    trained, _ = corpus.split(config.data.holdout_measures)
    return data.segment_windows(trained, config.data)


def prepare(config: ml_collections.ConfigDict, key: jax.Array, workdir: Path | None) -> Run:
    """Loads the corpus and builds a fresh state, or the checkpoint's when `config.resume`."""
    corpus = data.load_corpus_from_config(config.data)
    windows = training_windows(config, corpus)
    valid = validation_windows(config, corpus)
    state = create_state(config, make_model(config, len(corpus.vocab)), key)
    if not config.resume:
        return Run(windows, corpus.vocab, state, [], valid)
    if workdir is None:
        raise JazzFlaxError("resuming needs the run directory", hint="pass workdir")
    return Run(windows, corpus.vocab, *restore(workdir, state, corpus.vocab, config), valid)


class EpochRunner:
    """Runs epochs through `train_epochs`, compiled once per chunk length; times both apart.

    With `stacked=True` it runs `train_epochs_stacked`: the state and key are S runs' stacked, and
    the losses (S, K). A call may pass another `key` (and a state of the same structure): it reuses
    the compiled program, as a sweep does for its seeds. With a `mesh` (not stacked), each batch
    is split over the mesh's devices, the windows and the state copied to each.
    """

    def __init__(
        self,
        windows: data.Windows,
        key: jax.Array,
        batch_size: int,
        stacked=False,
        mesh=None,
        per_epoch: int | None = None,
    ):
        self.mesh = mesh
        self.devices = 1 if mesh is None else mesh.size
        self.windows = parallel.replicate(data.Windows(*map(jnp.asarray, windows)), mesh)
        self.key = key
        self.function = train_epochs_stacked if stacked else train_epochs
        self.options = dict(batch_size=batch_size) | (dict(mesh=mesh) if mesh else {})
        self.options |= dict(per_epoch=per_epoch) if per_epoch else {}
        self.compiled = {}
        self.compile_seconds = self.train_seconds = 0.0
        self.epochs_run = 0

    def __call__(self, state, epochs: np.ndarray, key: jax.Array | None = None):
        """(state, losses (K,) or (S, K), seconds) after the epochs numbered `epochs` (0-based)."""
        key = self.key if key is None else key
        args = (parallel.replicate(state, self.mesh), self.windows, jnp.asarray(epochs), key)
        shape = (len(epochs), key.shape)
        if shape not in self.compiled:
            began = time.perf_counter()
            lowered = self.function.lower(*args, **self.options)
            self.compiled[shape] = lowered.compile()
            self.compile_seconds += time.perf_counter() - began
        began = time.perf_counter()
        state, losses = self.compiled[shape](*args)
        losses = np.asarray(losses)  # waits for the computation
        seconds = time.perf_counter() - began
        self.train_seconds += seconds
        self.epochs_run += len(epochs)
        return state, losses, seconds


def train(config: ml_collections.ConfigDict, *, workdir: str | Path | None = None):
    """Trains as `config` says; returns (state, history), history one dict per epoch.

    With a `workdir`, writes the run directory there (and `config.resume` continues from its
    checkpoint); without one, writes nothing. One run at a time per directory (`files.lock`), and
    nothing in it changes before the first epochs have trained: a run that fails its checks leaves
    the directory as it found it.
    """
    if workdir is None:
        return _train(config, None)
    with files.lock(Path(workdir), "train"):
        return _train(config, Path(workdir))


def _train(config: ml_collections.ConfigDict, workdir: Path | None):
    check_config(config)
    init_key, train_key = jax.random.split(jax.random.key(config.seed))
    run = prepare(config, init_key, workdir)
    mesh = parallel.make_mesh(config.devices, config.batch_size)
    per_epoch = config.data.get("windows_per_epoch")
    runner = EpochRunner(run.windows, train_key, config.batch_size, mesh=mesh, per_epoch=per_epoch)
    state, history = run.state, list(run.history)
    print(
        f"training {count_params(state.params):,} parameters on {len(run.windows.x)} windows "
        f"of {run.windows.x.shape[1]} tokens ({len(run.vocab)} values), "
        f"{runner.devices} {jax.devices()[0].platform} device{'s' * (runner.devices > 1)}",
        flush=True,
    )
    saved = len(history)  # the epochs the checkpoint in `workdir` holds
    written = None  # the epochs this process has written to metrics.jsonl; None: nothing yet
    try:
        for epochs in epoch_calls(config.epochs, epochs_per_call(config), first=len(history)):
            interrupts.check()  # one a library swallowed stops the run here
            state, losses, seconds = runner(state, epochs)
            if not np.all(np.isfinite(losses)):
                raise JazzFlaxError(
                    f"the loss is not finite at epoch {epochs[~np.isfinite(losses)][0] + 1}"
                    + _kept(workdir, saved),
                    hint="lower --config.lr",
                )
            trained = epoch_windows(len(run.windows.x), per_epoch)
            history += history_rows(config, trained, epochs, losses, seconds)
            row = history[-1]
            print(
                f"epoch {row['epoch']:4d}/{config.epochs}  loss {row['loss']:8.3f}  "
                f"lr {row['lr']:.5f}  ({seconds:.3f} s)",
                flush=True,
            )
            if run.valid is not None:
                validate(state, run, history, workdir, config)
            if workdir is not None:
                if written is None:
                    start_writing(workdir, config)
                save(workdir, state, history, run.vocab, config, saved=written or 0)
                saved = written = len(history)
        interrupts.check()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM through main.py
        raise JazzFlaxError(
            f"interrupted after epoch {len(history)}" + _kept(workdir, saved),
            hint="continue with --config.resume=True" if saved else None,
        ) from None
    summary = summarize(state, history, len(run.vocab), runner)
    print(summary_table(summary), flush=True)
    if workdir is not None:
        atomic_write(workdir / "summary.json", json.dumps(summary, indent=2) + "\n")
        plot_loss(history, workdir / "loss.png")
    return state, history


STALE = ("summary.json", "loss.png")  # the results of a finished run, removed when another starts


def start_writing(workdir: Path, config: ml_collections.ConfigDict) -> None:
    """The run's first write to its directory, once its first epochs have trained: config.json,
    and no results of an earlier run left beside it."""
    atomic_write(workdir / "config.json", config.to_json(indent=2) + "\n")
    for name in STALE:
        (workdir / name).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Validation: a corpus split by piece scores its validation split between calls


def validation_windows(config: ml_collections.ConfigDict, corpus: data.Corpus):
    """The validation split's windows of Tx tokens side by side (stride Tx: each token once, a
    solo's last tokens short of a window left out); None for a corpus not split by piece."""
    if not isinstance(corpus, data.SplitCorpus) or not corpus.indices["valid"]:
        return None
    Tx = config.data.Tx
    side_by_side = ml_collections.ConfigDict(dict(windows="sliding", Tx=Tx, stride=Tx))
    return data.segment_windows(corpus.segments_of("valid"), side_by_side)


def validate(state, run: Run, history: list[dict], workdir: Path | None, config) -> None:
    """Adds the validation NLL to the last row of `history`; a run directory keeps the state of
    the lowest one so far in BEST (a run directory of its own: evaluate or generate from it)."""
    nll = validation_nll(make_model(config, len(run.vocab)), state.params, run.valid)
    best = min((row["valid_nll"] for row in history if "valid_nll" in row), default=math.inf)
    history[-1]["valid_nll"] = nll
    print(f"  validation NLL {nll:.4f} nats/token{' (best)' * (nll < best)}", flush=True)
    if workdir is not None and nll < best:
        save(workdir / BEST, state, history, run.vocab, config)


def validation_nll(model: DJModel, params, valid: data.Windows) -> float:
    """The mean NLL (nats/token) of the validation windows' tokens."""
    return float(token_scores(model, params, valid)[0].mean())


def history_rows(config, n_windows: int, epochs, losses, seconds: float) -> list[dict]:
    """Metrics rows of the epochs numbered `epochs` (0-based): epoch, loss, lr, seconds.

    lr is the last update's of the epoch; the epochs of a call share its time equally.
    """
    steps_per_epoch = math.ceil(n_windows / config.batch_size)
    schedule = keras_decay(config.lr, config.decay)
    return [
        dict(
            epoch=int(number) + 1,
            loss=float(loss),
            lr=float(schedule((number + 1) * steps_per_epoch - 1)),
            seconds=seconds / len(epochs),
        )
        for number, loss in zip(epochs, losses, strict=True)
    ]


# ---------------------------------------------------------------------------------------------
# Run directory


def save(workdir: Path, state, history: list[dict], vocab: data.Vocabulary, config, saved=0):
    """Appends the rows of `history` after the first `saved` to metrics.jsonl (a new file when
    `saved` is 0), then writes the checkpoint of the epochs trained so far. The checkpoint holds
    no history: its size, and the time to save, do not grow with the epochs run."""
    append_metrics(workdir / METRICS, history[saved:], new=saved == 0)
    checkpoint = dict(
        state=flax.serialization.to_state_dict(state),
        epoch=len(history),
        vocab=vocab.to_json(),
        config=config.to_json(),
        cwd=os.getcwd(),  # where a relative data path starts (`trained_data`)
    )
    write_checkpoint(workdir / CHECKPOINT, checkpoint)


def append_metrics(path: Path, rows: list[dict], new: bool = False) -> None:
    """metrics.jsonl, one JSON line per epoch: appended to (or `new`, written whole). An append
    that fails or is interrupted is undone; one that kill -9 cuts leaves a half line, which a
    resumed run drops as it cuts the file back to its checkpoint's epoch (`read_metrics`)."""
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if new:
        atomic_write(path, text)
        return
    try:
        with open(path, "ab", buffering=0) as f:
            size = f.seek(0, os.SEEK_END)
            try:
                _write_all(f, text.encode())
                os.fsync(f.fileno())
            except BaseException:  # an interrupt or a full disk: no half line stays
                os.ftruncate(f.fileno(), size)
                raise
    except OSError as e:
        raise files.unwritable(path, e) from e


def _write_all(f, payload: bytes) -> None:
    while payload:
        payload = payload[f.write(payload) :]


def read_metrics(path: Path, epochs: int) -> list[dict]:
    """The first `epochs` rows of metrics.jsonl (a run killed while appending may leave more)."""
    try:
        with open(path) as f:
            lines = [line for _, line in zip(range(epochs), f, strict=False)]
        rows = [json.loads(line) for line in lines]
        history = [{key: type_(row[key]) for key, type_ in HISTORY_KEYS.items()} for row in rows]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise JazzFlaxError(f"cannot read {path}: {e}", hint=NO_RESUME) from None
    if len(history) < epochs:
        raise JazzFlaxError(
            f"{path} holds {len(history)} epochs, the checkpoint {epochs}", hint=NO_RESUME
        )
    return history


def write_checkpoint(path: Path, checkpoint: dict) -> None:
    """The checkpoint as msgpack, inside an envelope that carries its sha256."""
    payload = flax.serialization.msgpack_serialize(checkpoint)
    envelope = dict(format=CHECKPOINT_FORMAT, sha256=hashlib.sha256(payload).hexdigest())
    atomic_write(path, flax.serialization.msgpack_serialize(dict(envelope, checkpoint=payload)))


def read_checkpoint(path: Path) -> dict:
    """The checkpoint `write_checkpoint` wrote, its checksum verified (one written before
    checksums, as it is)."""
    raw = flax.serialization.msgpack_restore(path.read_bytes())
    if "sha256" not in raw:
        return raw
    if hashlib.sha256(raw["checkpoint"]).hexdigest() != raw["sha256"]:
        raise ValueError("its checksum does not match: the file is damaged")
    return flax.serialization.msgpack_restore(raw["checkpoint"])


class Checkpoint(NamedTuple):
    """A checkpoint as plain data: enough to sample without the training code."""

    params: dict
    vocab: data.Vocabulary
    config: ml_collections.ConfigDict
    epoch: int
    raw: dict  # everything saved, the optimiser state and history included


def defaults() -> dict:
    """The settings that have defaults (`data.*`, `model.*`, the loss), as JSON reads them back.

    A run saved before one of them existed behaved as its default does: `with_defaults` fills it
    into the saved config, so the run still resumes, evaluates and counts as a finished sweep run.
    """
    return json.loads(
        json.dumps(
            dict(
                data=data.default_config().to_dict(),
                model=model_lib.default_config().to_dict(),
                loss=losses.DEFAULT,
                label_smoothing=0.0,
            )
        )
    )


def with_defaults(saved: dict, defaults_: dict | None = None) -> dict:
    """A saved config (a dict) with each setting it lacks taken from `defaults()`."""
    filled = dict(saved)
    for key, default in (defaults() if defaults_ is None else defaults_).items():
        if key not in filled:
            filled[key] = default
        elif isinstance(default, dict) and isinstance(filled[key], dict):
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


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Reads a checkpoint written by `train` (a run directory or the file itself): its checksum
    verified, its weights finite."""
    path = Path(path)
    path = path if path.suffix == Path(CHECKPOINT).suffix else path / CHECKPOINT
    if not path.is_file():
        raise JazzFlaxError(
            f"no checkpoint at {path}", hint=f"train first: {_train_hint(path.parent)}"
        )
    try:
        raw = read_checkpoint(path)
        vocab = data.Vocabulary.from_json(raw["vocab"])
        config = ml_collections.ConfigDict(with_defaults(json.loads(raw["config"])))
        checkpoint = Checkpoint(raw["state"]["params"], vocab, config, int(raw["epoch"]), raw)
    except OSError as e:
        raise JazzFlaxError(f"cannot read the checkpoint {path}: {e.strerror or e}") from None
    except Exception as e:  # msgpack raises many types for a damaged file
        raise JazzFlaxError(f"cannot read the checkpoint {path}: {e}") from None
    if not all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(checkpoint.params)):
        raise JazzFlaxError(
            f"the checkpoint {path} holds weights that are not finite (NaN or infinity)",
            hint="train it again",
        )
    return checkpoint


def model_checkpoint(workdir: str | Path) -> Path:
    """The checkpoint a run's model is used from (evaluate, generate): its BEST, the state of the
    lowest validation NLL, when the run kept one; else its last."""
    best = Path(workdir) / BEST / CHECKPOINT
    return best if best.is_file() else Path(workdir) / CHECKPOINT


def _train_hint(workdir: Path) -> str:
    """How to train into `workdir`: by `make train` where it is a default run directory."""
    if workdir.parent.name == "runs":  # runs/<experiment>
        return f"make train EXP={workdir.name}"
    return f"python -m jazz_flax.main train --config <experiment> --workdir {workdir}"


def trained_data(checkpoint: Checkpoint) -> ml_collections.ConfigDict:
    """The checkpoint's data settings; a relative path that is not found from here is taken from
    where the run was trained."""
    settings, trained_in = checkpoint.config.data, checkpoint.raw.get("cwd")
    path = Path(settings.path)
    if trained_in is None or path.is_absolute() or path.exists():
        return settings
    return ml_collections.ConfigDict(dict(settings.to_dict(), path=str(Path(trained_in) / path)))


def checkpoint_corpus(checkpoint: Checkpoint) -> data.Corpus:
    """The corpus the checkpoint was trained on, which must still have its vocabulary."""
    corpus = data.load_corpus_from_config(trained_data(checkpoint))
    if corpus.vocab != checkpoint.vocab:
        raise JazzFlaxError(
            f"the checkpoint's vocabulary ({len(checkpoint.vocab)} values) is not that of "
            f"{checkpoint.config.data.path} ({len(corpus.vocab)} values)",
            hint="retrain on this data (or, to generate, pass --chords)",
        )
    return corpus


def restore(workdir: Path, state, vocab: data.Vocabulary, config):
    """(state, history) from the checkpoint in `workdir`, which must match `config` and `vocab`."""
    checkpoint = load_checkpoint(workdir)
    saved, wanted = (flat_settings(c.to_dict()) for c in (checkpoint.config, config))
    changed = [
        key for key in wanted if key not in RESUMABLE_CHANGES and saved.get(key) != wanted[key]
    ]
    if changed:
        raise JazzFlaxError(
            f"the checkpoint in {workdir} was trained with other settings ({', '.join(changed)})",
            hint="resume with the same config",
        )
    if checkpoint.vocab.values != vocab.values:
        raise JazzFlaxError(f"the checkpoint in {workdir} has another vocabulary")
    if config.epochs <= checkpoint.epoch:
        raise JazzFlaxError(
            f"the checkpoint in {workdir} holds {checkpoint.epoch} epochs already, "
            f"and epochs={config.epochs} asks for no more",
            hint=f"resume with --config.epochs above {checkpoint.epoch}",
        )
    try:
        state = flax.serialization.from_state_dict(state, checkpoint.raw["state"])
    except (ValueError, KeyError) as e:  # e.g. the optimiser state before lr and decay lived in it
        raise JazzFlaxError(
            f"the checkpoint in {workdir} holds a training state of another layout: {e}",
            hint="it was written by an older jazz_flax: train it again without resume",
        ) from None
    return jax.device_put(state), read_metrics(workdir / METRICS, checkpoint.epoch)


def summarize(state, history: list[dict], n_values: int, runner: EpochRunner) -> dict:
    """summary.json: the model's size, the first and last loss beside the notebook's (or, with a
    validation split, the lowest validation NLL and its epoch), the times."""
    validated = [row for row in history if "valid_nll" in row]
    best = min(validated, key=lambda row: row["valid_nll"]) if validated else None
    return dict(
        params=count_params(state.params),
        n_values=n_values,
        epochs=len(history),
        steps=int(state.step),
        epoch_1_loss=history[0]["loss"],
        final_loss=history[-1]["loss"],
        reference=None if best else REFERENCE,
        **(dict(best_valid_nll=best["valid_nll"], best_epoch=best["epoch"]) if best else {}),
        compile_seconds=round(runner.compile_seconds, 3),
        train_seconds=round(runner.train_seconds, 3),
        train_epochs=runner.epochs_run,  # the epochs train_seconds is for (fewer if resumed)
        devices=runner.devices,  # each batch split over them
    )


def summary_table(summary: dict) -> str:
    """Loss at the first and last epoch beside the notebook's (a run with a validation split: the
    lowest validation NLL instead), and the times."""
    last, reference = summary["epochs"], summary.get("reference") or {}
    rows = [
        ("", "jazz_flax", "notebook" if reference else ""),
        ("loss, epoch 1", f"{summary['epoch_1_loss']:.2f}", reference.get("epoch_1", "")),
        (
            f"loss, epoch {last}",
            f"{summary['final_loss']:.2f}",
            reference.get("epoch_100", "") if last == 100 else "",
        ),
        ("compile", f"{summary['compile_seconds']:.2f} s", ""),
        (f"train ({summary['train_epochs']} epochs)", f"{summary['train_seconds']:.2f} s", ""),
    ]
    if "best_valid_nll" in summary:
        rows.insert(
            3,
            (
                f"valid NLL, epoch {summary['best_epoch']}",
                f"{summary['best_valid_nll']:.3f}",
                "best",
            ),
        )
    return "\n".join(f"{a:<20}{b:>12}{c!s:>12}" for a, b, c in rows)


def plot_loss(history: list[dict], path: Path) -> None:
    """The loss per epoch (log scale) with the notebook's two printed values, or, with a
    validation split, the validation NLL per token on a second axis."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    epochs = [row["epoch"] for row in history]
    ax.plot(epochs, [row["loss"] for row in history], label="training loss")
    ax.set(xlabel="epoch", ylabel="loss (Σ over time of the cross-entropy)", yscale="log")
    if "valid_nll" in history[-1]:
        valid = ax.twinx()
        valid.plot(
            epochs, [row.get("valid_nll", math.nan) for row in history], "C1", label="validation"
        )
        valid.set(ylabel="validation NLL (nats/token)")
        valid.legend(loc="upper center")
    else:
        ax.plot([1, 100], [REFERENCE["epoch_1"], REFERENCE["epoch_100"]], "o", label="notebook")
    ax.legend()
    write_figure(fig, path, bbox_inches="tight")


def enable_compilation_cache() -> None:
    """Keeps compiled programs on disk (beside the corpus cache): a repeated run skips compiling."""
    folder = data.cache_root() / "xla"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        warn_once(f"cannot write {folder}: {e.strerror}; compiling without the cache")
        return
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)

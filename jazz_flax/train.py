"""Training: the notebook's loss and optimiser, many epochs per `jax.jit` call, one loop (`fit`).

    config ──data──▶ Windows (m, Tx) ──train_epochs (jit; scan over epochs, then batches)──▶ state

Keras semantics kept under jit: per-epoch shuffling, batches of `batch_size` with the last one
smaller (padded here with weight-0 rows), the epoch loss as the size-weighted mean of the batch
losses, and the batch loss `config.loss` (losses.py), by default the sum over time of the
batch-mean cross-entropy — the number the notebook printed (129.9 at chance for 90 values).
Every random choice derives from `config.seed` and the epoch number, so a resumed run repeats an
uninterrupted one exactly. The learning rate and its decay live in the optimiser state
(`scale_by_keras_decay`), so runs that differ only in them, or in the seed, share one compiled
program. `fit` is the one training loop, of `train` and of every run of a sweep; the run
directory it writes is checkpoints.py's, and one train at a time holds it (`files.lock`).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax.training import train_state

from jazz_flax import (
    checkpoints,
    data,
    distributed,
    evaluate,
    files,
    interrupts,
    losses,
    parallel,
    progress,
    report,
)
from jazz_flax import config as config_lib
from jazz_flax.errors import JazzFlaxError, memory_asked_by, warn_once
from jazz_flax.model import DJModel, count_params, init_params
from jazz_flax.models import make_model
from jazz_flax.optimizers import keras_decay, make_optimizer
from jazz_flax.recorder import Recorder

EPOCHS_PER_CALL = config_lib.defaults().epochs_per_call  # the default (the benchmarks use it)


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


def make_loss(config: ml_collections.ConfigDict) -> losses.Loss:
    """The loss `config.loss` names, with its `label_smoothing`."""
    return losses.Loss(config.loss, config.label_smoothing)


def run_keys(config: ml_collections.ConfigDict) -> tuple[jax.Array, jax.Array]:
    """(the initial parameters' key, the training key), both from `config.seed`."""
    return tuple(jax.random.split(jax.random.key(config.seed)))


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
    """The windows `config` trains on: cut from each piece less its held-out measures; an epoch's
    must fill a batch."""
    trained, _ = corpus.split(config.data.holdout_measures)
    windows = data.segment_windows(trained, config.data)
    per_epoch = epoch_windows(len(windows.x), config.data.windows_per_epoch)
    if config.batch_size > per_epoch:
        raise JazzFlaxError(
            f"batch_size={config.batch_size} is more than the {per_epoch} windows of an epoch",
            hint=f"use --config.batch_size ≤ {per_epoch}",
        )
    return windows


class Start(NamedTuple):
    """What training starts from: the windows, their vocabulary, and the state to continue."""

    windows: data.Windows
    vocab: data.Vocabulary
    state: TrainState
    history: list[dict]  # one row per epoch already trained: epoch, loss, lr, seconds
    valid: tuple[data.Segment, ...] | None = None  # a corpus split by piece: its validation split


def prepare(config: ml_collections.ConfigDict, key: jax.Array, workdir: Path | None) -> Start:
    """Loads the corpus and builds a fresh state, or the checkpoint's when `config.resume`."""
    corpus = data.load_corpus_from_config(config.data)
    windows = training_windows(config, corpus)
    valid = validation_segments(config, corpus)
    state = create_state(config, make_model(config, len(corpus.vocab)), key)
    if not config.resume:
        return Start(windows, corpus.vocab, state, [], valid)
    if workdir is None:
        raise JazzFlaxError("resuming needs the run directory", hint="pass workdir")
    read = functools.partial(checkpoints.restore, workdir, state, corpus.vocab, config)
    return Start(windows, corpus.vocab, *distributed.restored(read, state), valid)


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
    checkpoint); without one, writes nothing. The config is checked first (`config.check`), one
    run at a time per directory (`files.lock`), and nothing in it changes before the first epochs
    have trained: a run that fails its checks leaves the directory as it found it. Of several
    processes (`config.distributed`), process 0 alone holds the lock, writes and prints.
    """
    config_lib.check(config)
    distributed.start(config.distributed)  # before JAX computes anything
    with memory_asked_by(config_lib.memory_settings(config)):
        if workdir is None:
            return _train(config, None)
        with distributed.held_by_writer(files.lock(Path(workdir), "train")):
            return _train(config, Path(workdir))


def _train(config: ml_collections.ConfigDict, workdir: Path | None):
    with progress.Console() as console:  # the progress lines; the last one whole whatever happens
        log = console if distributed.is_writer() else silent
        init_key, train_key = run_keys(config)
        log(f"loading the corpus {config.data.path} (parsed once, then cached) …")
        start = prepare(config, init_key, workdir)
        mesh = parallel.make_mesh(config.devices, config.batch_size)
        per_epoch = config.data.windows_per_epoch
        runner = EpochRunner(
            start.windows, train_key, config.batch_size, mesh=mesh, per_epoch=per_epoch
        )
        log(
            f"training {count_params(start.state.params):,} parameters on {len(start.windows.x)} "
            f"windows of {start.windows.x.shape[1]} tokens ({len(start.vocab)} values), "
            f"{runner.devices} {jax.devices()[0].platform} device{'s' * (runner.devices > 1)}"
        )
        log("compiling the training step (cached for the next run) …")
        state, history, _ = fit(config, runner, start, workdir=workdir, log=log)
        summary = report.summarize(state, history, len(start.vocab), runner)
        log(report.summary_table(summary))
        if workdir is not None:
            distributed.on_writer(report.write, workdir / checkpoints.SUMMARY, summary, history)
        return state, history


# ---------------------------------------------------------------------------------------------
# The training loop, of `train` and of each run of a sweep


def silent(line: str) -> None:
    """`fit`'s progress lines dropped (each run of a sweep)."""
    del line


class Best(NamedTuple):
    """The state of a run's lowest validation NLL, copied to the host."""

    epoch: int  # 1-based: the last epoch of the call it followed
    nll: float
    state: TrainState


class Fitted(NamedTuple):
    """What `fit` trained: the last state, one history row per epoch (those of the start
    first), and of a corpus split by piece the state of the lowest validation NLL."""

    state: TrainState
    history: list[dict]
    best: Best | None = None


def fit(config, runner: EpochRunner, start: Start, *, key=None, workdir=None, log=silent) -> Fitted:
    """Trains `start` up to `config.epochs` through `runner` (with `key`, else the runner's), in
    calls of `config.epochs_per_call` epochs. After each call: the losses checked finite, their
    history rows, a progress line to `log`, the validation NLL of `start.valid`
    (the best state kept), and with a `workdir` the run directory written (`Recorder`: config.json,
    then metrics.jsonl and the checkpoint; the best in its BEST folder; TensorBoard). Every random
    choice derives from the key and the epoch number, so resuming repeats an uninterrupted run
    exactly."""
    state, history, best = start.state, list(start.history), None
    n_windows = epoch_windows(len(start.windows.x), config.data.windows_per_epoch)
    model = make_model(config, len(start.vocab))
    out = Recorder(workdir, config, saved=len(history))
    try:
        for epochs in epoch_calls(config.epochs, config.epochs_per_call, first=len(history)):
            interrupts.check()  # one a library swallowed stops the run here
            state, losses, seconds = runner(state, epochs, key)
            check_finite(losses, epochs, out.kept())
            history += history_rows(config, n_windows, epochs, losses, seconds)
            timed = history[len(start.history) :]  # this process's epochs: the pace now
            log(progress_line(history[-1], config.epochs, seconds, timed))
            lowest = None
            if start.valid is not None:
                lowest = validate(model, state, start, history, config.data.Tx, log)
            best = lowest or best
            out.save(state, history, start.vocab, best=lowest)
        interrupts.check()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM through main.py
        raise JazzFlaxError(
            f"interrupted after epoch {len(history)}" + out.kept(),
            hint="the same train command continues it" if out.saved else None,
        ) from None
    fitted = Fitted(state, history, best)
    out.finish(model, fitted, start.vocab)
    return fitted


def check_finite(losses: np.ndarray, epochs: np.ndarray, kept: str) -> None:
    """Raises a JazzFlaxError at the first epoch whose loss is not finite."""
    if not np.all(np.isfinite(losses)):
        raise JazzFlaxError(
            f"the loss is not finite at epoch {epochs[~np.isfinite(losses)][0] + 1}{kept}",
            hint="lower --config.lr",
        )


def progress_line(row: dict, epochs: int, seconds: float, timed: list[dict]) -> str:
    """The epoch, its loss and lr, the call's seconds, a bar, and the time left at the pace of
    the `timed` rows (this process's epochs)."""
    left = (epochs - row["epoch"]) * sum(r["seconds"] for r in timed) / max(len(timed), 1)
    return progress.Redrawn(
        f"epoch {row['epoch']:4d}/{epochs} {progress.bar(row['epoch'], epochs)}  "
        f"loss {row['loss']:8.3f}  lr {row['lr']:.5f}  ({seconds:.3f} s)"
        + (f"  {progress.duration(left)} left" if left else "")
    )


# ---------------------------------------------------------------------------------------------
# Validation: a corpus split by piece scores its validation split between calls


def validation_segments(config: ml_collections.ConfigDict, corpus: data.Corpus):
    """The validation split's segments, scored as `evaluate` scores the test split; None for a
    corpus not split by piece."""
    if not isinstance(corpus, data.SplitCorpus) or not corpus.indices["valid"]:
        return None
    return tuple(corpus.segments_of("valid"))


def validate(model, state, start: Start, history, Tx: int, log=silent) -> Best | None:
    """Adds the validation NLL to the last row of `history`; returns the state as the Best when
    it is the lowest so far (None otherwise), which a run directory keeps in BEST (a run
    directory of its own: evaluate or generate from it; `Recorder.save` writes it)."""
    nll = validation_nll(model, state.params, start.valid, Tx)
    lowest = min((row["valid_nll"] for row in history if "valid_nll" in row), default=math.inf)
    history[-1]["valid_nll"] = nll
    log(f"  validation NLL {nll:.4f} nats/token{' (best)' * (nll < lowest)}")
    if not nll < lowest:
        return None
    return Best(history[-1]["epoch"], nll, jax.device_get(state))  # the next call donates it


def validation_nll(model: DJModel, params, valid: Sequence[data.Segment], Tx: int) -> float:
    """The mean NLL (nats/token) of the validation segments' tokens, by the test protocol
    (`evaluate.heldout_scores`: each token once, after up to Tx - 1 tokens of its piece)."""
    return evaluate.heldout_scores(model, params, valid, Tx)["nll"]


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

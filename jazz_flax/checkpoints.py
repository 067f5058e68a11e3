"""The run directory and its checkpoints, and `load_run`: a trained model without the trainer.

A run directory holds config.json, metrics.jsonl (one line per epoch, appended to), summary.json,
loss.png and checkpoint.msgpack (params, optimiser state, step, epoch, vocabulary, config, the
folder it was trained from; in an envelope with its sha256); a run validated between calls keeps
the state of its lowest validation NLL in best/, a run directory of its own. The other files are
written whole through a temporary file and a rename. A saved config is completed from
`config.with_defaults` when it is read, so runs written before a setting existed still load.

`load_run(workdir)` is what generate, evaluate and sweep read a run with, as nanoGPT's sample.py
does: the model rebuilt from the saved config (`models.make_model`), its parameters, vocabulary and
config, from the best checkpoint when the run kept one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import NamedTuple

import flax.serialization
import jax
import ml_collections
import numpy as np

from jazz_flax import config as config_lib
from jazz_flax import data, files
from jazz_flax.errors import JazzFlaxError
from jazz_flax.files import atomic_write
from jazz_flax.model import DJModel
from jazz_flax.models import make_model

BEST = "best"  # the run directory's folder of the checkpoint with the lowest validation NLL
CHECKPOINT = "checkpoint.msgpack"
CHECKPOINT_FORMAT = 2  # 2: an envelope with the sha256 of the checkpoint, which holds no history
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
STALE = (SUMMARY, "loss.png")  # the results of a finished run, removed when another starts
EVAL = "eval.json"  # evaluate's results
OUTPUT = "output"  # generate's files
OUTDATED = (EVAL, OUTPUT)  # results of an earlier model, moved into STALE_FOLDER when it changes
STALE_FOLDER = "stale"
NO_RESUME = "train it again without resume"
# Settings a resumed run may change: how long and where it trains, and the head's fast path (the
# same parameters and numbers up to float rounding, as the device count)
RESUMABLE_CHANGES = (
    "epochs", "resume", "devices", "distributed", "log.tensorboard", "model.head_layer"
)  # fmt: skip
HISTORY_KEYS = {"epoch": int, "loss": float, "lr": float, "seconds": float}  # a metrics row


# ---------------------------------------------------------------------------------------------
# Writing


def start_writing(workdir: Path, config: ml_collections.ConfigDict) -> None:
    """A run's first write to its directory, once its first epochs have trained: config.json,
    and no results of an earlier model left beside it: its evaluation and generated files move
    into stale/ (replacing older ones there), and a run started over drops the old best/."""
    atomic_write(workdir / "config.json", config.to_json(indent=2) + "\n")
    for name in STALE:
        (workdir / name).unlink(missing_ok=True)
    for name in OUTDATED:
        set_aside(workdir / name, workdir / STALE_FOLDER / name)
    if not config.resume:
        shutil.rmtree(workdir / BEST, ignore_errors=True)


def set_aside(path: Path, to: Path) -> None:
    """Moves `path`, if it exists, to `to`, replacing what was there."""
    if not path.exists():
        return
    to.parent.mkdir(exist_ok=True)
    if to.is_dir():
        shutil.rmtree(to)
    to.unlink(missing_ok=True)
    path.rename(to)


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


def write_checkpoint(path: Path, checkpoint: dict) -> None:
    """The checkpoint as msgpack, inside an envelope that carries its sha256."""
    payload = flax.serialization.msgpack_serialize(checkpoint)
    envelope = dict(format=CHECKPOINT_FORMAT, sha256=hashlib.sha256(payload).hexdigest())
    atomic_write(path, flax.serialization.msgpack_serialize(dict(envelope, checkpoint=payload)))


def kept(workdir: Path | None, saved: int) -> str:
    """What the run directory keeps, for a message about a stopped run."""
    if workdir is None:
        return ""
    return f"; {workdir / CHECKPOINT} keeps epoch {saved}" if saved else "; nothing was saved"


# ---------------------------------------------------------------------------------------------
# Reading


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
    config: ml_collections.ConfigDict  # completed with the settings added since it was saved
    epoch: int
    raw: dict  # everything saved, the optimiser state and history included


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Reads a checkpoint written by `save` (a run directory or the file itself): its checksum
    verified, its weights finite, its config completed with the current defaults."""
    path = Path(path)
    path = path if path.suffix == Path(CHECKPOINT).suffix else path / CHECKPOINT
    if not path.is_file():
        files.check_folder(path.parent)  # a file or a dangling link says so
        raise JazzFlaxError(
            f"no checkpoint at {path}", hint=f"train first: {_train_hint(path.parent)}"
        )
    try:
        raw = read_checkpoint(path)
        vocab = data.Vocabulary.from_json(raw["vocab"])
        config = ml_collections.ConfigDict(config_lib.with_defaults(json.loads(raw["config"])))
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


class Run(NamedTuple):
    """A trained run's model, as generate and evaluate use it."""

    model: DJModel  # rebuilt from the saved config
    params: dict
    vocab: data.Vocabulary
    config: ml_collections.ConfigDict
    checkpoint: Checkpoint  # the one read: its epoch, everything saved
    path: Path  # its file: the best checkpoint's when the run kept one


def load_run(workdir: str | Path) -> Run:
    """The model of the run in `workdir` (`model_checkpoint`: its best state when it kept one),
    rebuilt from the config it was trained with, which is checked (`config.check`)."""
    path = model_checkpoint(workdir)
    checkpoint = load_checkpoint(path)
    config_lib.check(checkpoint.config)
    model = make_model(checkpoint.config, len(checkpoint.vocab))
    return Run(model, checkpoint.params, checkpoint.vocab, checkpoint.config, checkpoint, path)


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


# ---------------------------------------------------------------------------------------------
# Resuming


def other_settings(saved: ml_collections.ConfigDict, config) -> dict[str, tuple]:
    """{dotted key: (saved value, `config`'s)} of the settings a resumed run may not change."""
    before, wanted = (config_lib.flat_settings(c.to_dict()) for c in (saved, config))
    return {
        key: (before.get(key), value)
        for key, value in wanted.items()
        if key not in RESUMABLE_CHANGES and before.get(key) != value
    }


def restore(workdir: Path, state, vocab: data.Vocabulary, config):
    """(state, history) from the checkpoint in `workdir`, which must match `config` and `vocab`."""
    checkpoint = load_checkpoint(workdir)
    changed = other_settings(checkpoint.config, config)
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

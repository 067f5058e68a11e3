"""What `train` does with the run directory it is given, decided before anything is written.

    no checkpoint, or --fresh        a new run (the old one's files replaced once it has trained)
    the same settings, epochs to go  resumed from the checkpoint
    the same settings, trained       finished: nothing to do
    other settings                   refused, naming them (--fresh starts over)

"The same settings" are all but those a resumed run may change (`checkpoints.RESUMABLE_CHANGES`:
epochs, resume, devices). Results of an earlier model (eval.json, output/) move to stale/ when
the new one first writes the directory (`checkpoints.start_writing`).
"""

from __future__ import annotations

from pathlib import Path

import ml_collections

from jazz_flax import checkpoints
from jazz_flax.errors import JazzFlaxError

NEW, RESUME, FINISHED = "new", "resume", "finished"
FRESH_HINT = "--fresh starts over, or choose another --workdir"


def plan(workdir: Path, config: ml_collections.ConfigDict, fresh: bool) -> tuple[str, int]:
    """(NEW, RESUME or FINISHED, the epochs the directory holds); a JazzFlaxError for a
    directory that holds another run (or a checkpoint that cannot be read), unless `fresh`."""
    if fresh or not (workdir / checkpoints.CHECKPOINT).exists():
        return NEW, 0
    try:
        checkpoint = checkpoints.load_checkpoint(workdir)
    except JazzFlaxError as e:
        raise JazzFlaxError(str(e), hint=FRESH_HINT) from None
    changed = checkpoints.other_settings(checkpoint.config, config)
    if changed:
        differences = ", ".join(f"{key} {old!r} → {new!r}" for key, (old, new) in changed.items())
        raise JazzFlaxError(f"{workdir} holds another run: {differences}", hint=FRESH_HINT)
    return (FINISHED if checkpoint.epoch >= config.epochs else RESUME), checkpoint.epoch


def finished_line(workdir: Path, epochs: int) -> str:
    return (
        f"{workdir} holds this run, finished ({epochs} epochs): nothing to train "
        f"(--config.epochs above {epochs} continues it, --fresh starts over)"
    )

"""Saving a run does not grow with the run: one `checkpoints.save` after 100 and 100,000 epochs.

A training run saves every `train.EPOCHS_PER_CALL` epochs: it appends those epochs' rows to
metrics.jsonl and writes the checkpoint (the baseline's model, 85 values), which holds no history.
Beside it, the peer that saving replaced: the whole of metrics.jsonl rewritten (atomically) at
every save, as before. Each figure is the median of `--repeats` saves, in milliseconds.

    python -m experiments.bench.save_benchmark [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import jax

from experiments import baseline
from jazz_flax import checkpoints, data, files, models, train

EPOCHS = (100, 100_000)


def history(epochs: int) -> list[dict]:
    return [dict(epoch=e, loss=9.0, lr=0.001, seconds=0.003) for e in range(1, epochs + 1)]


def median_ms(save, repeats: int) -> float:
    """The median time of `save(i)` for i in range(repeats), in milliseconds."""
    runs = []
    for i in range(repeats):
        began = time.perf_counter()
        save(i)
        runs.append(time.perf_counter() - began)
    return 1e3 * statistics.median(runs)


def timings(epochs: int, repeats: int, folder: Path) -> dict:
    """(appending save, whole rewrite of metrics.jsonl) after `epochs` epochs, and the sizes."""
    config = baseline.get_config()
    vocab = data.Vocabulary(tuple(f"C,{i / 4:.3f}" for i in range(85)))
    state = train.create_state(config, models.make_model(config, 85), jax.random.key(0))
    rows = history(epochs + train.EPOCHS_PER_CALL * repeats)
    checkpoints.save(folder, state, rows[:epochs], vocab, config)

    def save(i: int) -> None:
        done = epochs + train.EPOCHS_PER_CALL * i
        checkpoints.save(folder, state, rows[: done + 10], vocab, config, saved=done)

    def rewrite(i: int) -> None:
        text = "".join(json.dumps(row) + "\n" for row in rows[: epochs + 10 * i])
        files.atomic_write(folder / "rewritten.jsonl", text)

    return dict(
        save_ms=median_ms(save, repeats),
        rewrite_ms=median_ms(rewrite, repeats),
        checkpoint_bytes=(folder / checkpoints.CHECKPOINT).stat().st_size,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    repeats = parser.parse_args().repeats
    results = {}
    for epochs in EPOCHS:
        with tempfile.TemporaryDirectory() as folder:
            results[epochs] = timings(epochs, repeats, Path(folder))
    print(f"{'epochs':>8}  {'save (ms)':>10}  {'rewrite peer (ms)':>18}  {'checkpoint (B)':>15}")
    for epochs, r in results.items():
        print(
            f"{epochs:>8,}  {r['save_ms']:>10.2f}  {r['rewrite_ms']:>18.2f}  "
            f"{r['checkpoint_bytes']:>15,}"
        )
    first, last = (results[e]["save_ms"] for e in EPOCHS)
    print(f"save at {EPOCHS[-1]:,} epochs / at {EPOCHS[0]}: {last / first:.2f}×")


if __name__ == "__main__":
    main()

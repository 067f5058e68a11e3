"""What a training run reports: summary.json's figures, the table printed at its end, loss.png.

The notebook's run is the reference: its printed losses at epochs 1 and 100 stand beside ours; a
run validated between calls (a corpus split by piece) reports its lowest validation NLL instead.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from jazz_flax.files import atomic_write, write_figure
from jazz_flax.model import count_params

REFERENCE = {"epoch_1": 129.9, "epoch_100": 9.2}  # the notebook's printed losses


def summarize(state, history: list[dict], n_values: int, runner) -> dict:
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


def write(path: Path, summary: dict, history: list[dict]) -> None:
    """summary.json at `path`, and loss.png beside it."""
    atomic_write(path, json.dumps(summary, indent=2) + "\n")
    plot_loss(history, path.parent / "loss.png")


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

"""A sweep's results: results.csv (one row per run), results.md (one row per point, means ± std
over the seeds) and curves.png (mean training loss per point with ±std bands).

Each result is a `sweep.Result`: the run (its point's label, seed, config, directory), its
summary.json and its loss per epoch. A corpus split by piece is tabulated by its test split's
scores at each run's best validation epoch, beside the bigram baseline's.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from jazz_flax import evaluate, ngrams
from jazz_flax.files import atomic_write, write_figure
from jazz_flax.report import REFERENCE

if TYPE_CHECKING:  # for the annotations only: sweep imports this module
    from jazz_flax.sweep import Result


def label(point: dict) -> str:
    """A point's name and folder: "n_a=16", "data.Tx=20,lr=0.003"; "base" for no change."""
    text = ",".join(f"{key}={value}" for key, value in point.items()) or "base"
    return text.replace("/", "_").replace(" ", "")


CSV_SCORES = ("final_loss", "epoch_1_loss", "params")
TEST_SCORES = ("tokens", "oov_rate", *evaluate.HELDOUT_KEYS)  # of a corpus split by piece


def _flat(summary: dict) -> dict:
    """A run's numbers: losses, held-out scores, the musical metrics, seconds; of a corpus split
    by piece also the best validation epoch, the test split's scores and its baselines' NLL."""
    row = {key: summary[key] for key in CSV_SCORES}
    row.update({f"heldout_{key}": summary["heldout"][key] for key in evaluate.HELDOUT_KEYS})
    if "test" in summary:
        test = summary["test"]
        row.update({key: summary.get(key) for key in ("best_epoch", "best_valid_nll")})
        row.update({f"test_{key}": test[key] for key in TEST_SCORES})
        row.update({f"{key}_nll": value for key, value in test["baselines"].items()})
        generated = summary["test_changes"]["generated"]
        row.update({f"test_changes_{key}": value for key, value in generated.items()})
    row.update(summary["generated"])
    row.update({f"{key}_seconds": value for key, value in summary["seconds"].items()})
    return {key: math.nan if value is None else value for key, value in row.items()}


def write_results(results: Sequence[Result], definition: dict, out: Path, name: str) -> None:
    rows = [dict(point=r.run.label, seed=r.run.seed, **_flat(r.summary)) for r in results]
    buffer = io.StringIO()
    fieldnames = list(dict.fromkeys(key for row in rows for key in row))  # older runs: fewer
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(out / "results.csv", buffer.getvalue())
    atomic_write(out / "results.md", results_markdown(results, definition, name))
    plot_curves(results, out / "curves.png", title=f"sweep {name}")


def by_point(results: Sequence[Result]) -> dict[str, list[Result]]:
    points: dict[str, list[Result]] = {}
    for result in results:
        points.setdefault(result.run.label, []).append(result)
    return points


def number(value, digits: int) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def mean_std(values: Sequence[float], digits: int) -> str:
    """ "mean ± std" over seeds (sample std; none for one seed); "—" when a value is missing."""
    values = np.array([math.nan if v is None else v for v in values], float)
    if not np.all(np.isfinite(values)):
        return "—"
    if len(values) == 1:
        return number(values[0], digits)
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


MARKDOWN_METRICS = (  # musical metrics in results.md, with their digits
    ("chord_tone_ratio", 2),
    ("scale_tone_ratio", 2),
    ("pitch_class_entropy", 2),
    ("mean_abs_interval", 1),
    ("notes_per_measure", 1),
    ("rest_ratio", 2),
    ("duration_distance", 2),
    ("clean_measure_ratio", 2),
    ("strong_beat_chord_tones", 2),  # jazz_flax.line_metrics
    ("register_span", 1),
    ("spacing_sixteenths", 2),
    ("motif_reuse", 2),
    ("harmony_onsets_differ", 2),
)


def _title(results: Sequence[Result], definition: dict, name: str) -> list[str]:
    """results.md's title and the line naming the base, the seeds and the epochs."""
    base = definition.get("overrides", {})
    changed = f" + `{label(base)}`" if base else ""
    seeds = ", ".join(str(seed) for seed in dict.fromkeys(r.run.seed for r in results))
    return [
        f"# Sweep `{name}`",
        "",
        f"Base `{definition.get('base_name', 'config')}`{changed} · seeds {seeds} · "
        f"{results[0].run.config.epochs} epochs.",
        "",
    ]


def results_markdown(results: Sequence[Result], definition: dict, name: str) -> str:
    """A GitHub table, one row per point, and the training solo's musical metrics last; of a
    corpus split by piece, `split_markdown`'s."""
    first = results[0]
    if "test" in first.summary:
        return split_markdown(results, definition, name)
    settings = first.summary["eval"]
    heldout = first.summary["heldout"]
    held_text = (
        f"held-out: the last {heldout['measures']} measures, {heldout['tokens']} tokens; NLL in "
        "nats/token, accuracy of the argmax"
        if heldout["tokens"]
        else "nothing held out"
    )
    lines = _title(results, definition, name) + [
        f"Final training loss and held-out scores: mean ± std over the seeds ({held_text}). "
        f"Musical metrics: mean over {settings['solos']} solos per seed (temperature "
        f"{settings['temperature']:g}), the training solo's last. s/run: training and evaluation "
        "of one run; compile s: once per point, its seeds share the program.",
        "",
    ]
    header = ["setting", "params", "final loss", "held-out NLL", "accuracy"]
    header += [evaluate.LABELS[key] for key, _ in MARKDOWN_METRICS] + ["s/run", "compile s"]
    lines += ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for point, members in by_point(results).items():
        summaries = [member.summary for member in members]
        cells = [
            f"`{point}`",
            f"{summaries[0]['params']:,}",
            mean_std([s["final_loss"] for s in summaries], 2),
            mean_std([s["heldout"]["nll"] for s in summaries], 2),
            mean_std([s["heldout"]["accuracy"] for s in summaries], 2),
        ]
        for key, digits in MARKDOWN_METRICS:
            values = [s["generated"].get(key) for s in summaries]
            cells.append(number(np.nanmean([np.nan if v is None else v for v in values]), digits))
        cells += _seconds(summaries)
        lines.append("| " + " | ".join(cells) + " |")
    reference = first.summary["training_solo"]
    cells = ["training solo", "", "", "", ""]
    cells += [number(reference.get(key), digits) for key, digits in MARKDOWN_METRICS] + ["", ""]
    lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "![Mean training loss per setting, ±std over the seeds](curves.png)"]
    return "\n".join(lines) + "\n"


def _seconds(summaries: Sequence[dict]) -> list[str]:
    """The s/run and compile s cells of a point."""
    run_seconds = [s["seconds"]["train"] + s["seconds"]["eval"] for s in summaries]
    return [number(np.mean(run_seconds), 2), number(summaries[0]["seconds"]["compile"], 1)]


SPLIT_HEADER = ["setting", "params", "best epoch", "valid NLL", "test NLL", "vs bigram"]
SPLIT_HEADER += ["vs best n-gram", "perplexity", "top-1", "nats/note", "continuation"]
SPLIT_HEADER += ["s/run", "compile s"]


def split_markdown(results: Sequence[Result], definition: dict, name: str) -> str:
    """results.md of a corpus split by piece: per point, the best validation epoch and NLL and the
    test split's scores of that epoch's state, mean ± std over the seeds."""
    first = results[0]
    test = first.summary["test"]
    per_call = first.run.config.epochs_per_call
    baselines = ", ".join(f"{key} {value:.3f}" for key, value in test["baselines"].items())
    lines = _title(results, definition, name) + [
        f"Each run is scored at its best validation epoch (validated after every {per_call} "
        f"epoch{'s' * (per_call > 1)}). "
        f"Test split (by {first.run.config.data.split_by}): {test['tokens']:,} tokens "
        f"({test['oov_rate']:.2%} OOV); NLL in "
        f"nats/token, vs bigram / best n-gram: the test NLL's difference to the Witten–Bell "
        f"bigram's / the lowest baseline's; top-1: accuracy "
        f"of the argmax; nats/note: of the real test melodies (pitch, onset, duration); "
        f"continuation: the share of 8-bar prompts whose true next 2 bars the model ranks "
        f"above 3 others (`likelihood`). Baselines fitted on the training split: {baselines}. "
        "Mean ± std over the seeds; s/run: training and evaluation of one run. Musical "
        "metrics: results.csv.",
        "",
        "| " + " | ".join(SPLIT_HEADER) + " |",
        "|---" + "|---:" * (len(SPLIT_HEADER) - 1) + "|",
    ]
    for point, members in by_point(results).items():
        summaries = [member.summary for member in members]
        tests = [s["test"] for s in summaries]
        vs_bigram = [ngrams.gain(t["nll"], t["baselines"], "bigram") for t in tests]
        vs_best = [ngrams.gain(t["nll"], t["baselines"]) for t in tests]
        cells = [
            f"`{point}`",
            f"{summaries[0]['params']:,}",
            mean_std([s["best_epoch"] for s in summaries], 0),
            mean_std([s["best_valid_nll"] for s in summaries], 3),
            mean_std([t["nll"] for t in tests], 3),
            percent(vs_bigram),
            percent(vs_best),
            mean_std([t["perplexity"] for t in tests], 1),
            mean_std([t["accuracy"] for t in tests], 3),
            mean_std([t.get("nats_per_note") for t in tests], 3),
            mean_std([s.get("continuation", {}).get("accuracy") for s in summaries], 3),
        ]
        lines.append("| " + " | ".join(cells + _seconds(summaries)) + " |")
    lines += ["", "![Mean training loss per setting, ±std over the seeds](curves.png)"]
    return "\n".join(lines) + "\n"


def percent(gains: Sequence[float | None]) -> str:
    """`mean_std` of relative differences, in %; "—" where one is missing (older summaries)."""
    text = mean_std([None if gain is None else 100 * gain for gain in gains], 1)
    return text if text == "—" else f"{text} %"


def plot_curves(results: Sequence[Result], path: Path, title: str = "") -> None:
    """Mean training loss per point (log scale) with ±std bands, and the notebook's two values
    (not for a corpus split by piece)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for point, members in by_point(results).items():
        losses = np.stack([member.losses for member in members])
        mean, std = losses.mean(axis=0), losses.std(axis=0)
        epochs = np.arange(1, len(mean) + 1)
        (line,) = ax.plot(epochs, mean, label=point)
        ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    if "test" not in results[0].summary:  # the notebook's solo, not a corpus split by piece
        reference = REFERENCE
        ax.plot([1, 100], [reference["epoch_1"], reference["epoch_100"]], "ko", label="notebook")
    ax.set(xlabel="epoch", ylabel="training loss (Σ over time of the cross-entropy)", yscale="log")
    ax.set_title(title)
    ax.legend(fontsize="small")
    write_figure(fig, path, bbox_inches="tight")

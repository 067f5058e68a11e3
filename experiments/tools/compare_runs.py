"""Models compared over seeds, from their runs: the table of the model-family question.

Each argument is `LABEL=RUN[,RUN...]`, the runs of one model (its seeds), each evaluated (`make
evaluate`: eval.json) over a corpus split by piece. One markdown row a model: its parameters, the
epochs it trained and the best (by validation), the wall time of its training, then the mean ±
sd over its runs of the test NLL, its difference to the best n-gram (on each run's own tokens),
top-1 accuracy, the nats per note of the real test melodies and the continuation accuracy. A
second table gives the musical figures (`--figures`) of the solos `evaluate` sampled over the test
solos' changes, beside the test solos' own: where a longer memory would show (motif reuse, phrases).

    python -m experiments.tools.compare_runs LSTM=runs/a-s0,runs/a-s1 Transformer=runs/b-s0,...
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from jazz_flax import evaluate, ngrams
from jazz_flax.errors import JazzFlaxError, one_line_errors
from jazz_flax.sweep_results import mean_std, percent

FIGURES = (  # line_metrics' figures of the second table
    "motif_reuse,phrase_notes,phrase_beats,register_swing,repeated_notes,strong_beat_chord_tones"
)
HEADER = (
    "| model | parameters | epochs (best) | training, min | test NLL | vs best n-gram | top-1 "
    "| nats per note | continuation |"
)


def read_json(path: Path) -> dict:
    if not path.is_file():
        raise JazzFlaxError(f"{path} not found", hint="train and evaluate the run first")
    return json.loads(path.read_text(encoding="utf-8"))


def run_figures(workdir: str) -> dict:
    """The figures of one run: its summary.json (training) and eval.json (the test split's)."""
    summary, result = (read_json(Path(workdir) / name) for name in ("summary.json", evaluate.EVAL))
    if "test" not in result:
        raise JazzFlaxError(f"{workdir}'s eval.json has no test split", hint="split by piece")
    test = result["test"]
    return dict(
        params=summary["params"],
        epochs=summary["epochs"],
        best_epoch=result["epoch"],
        minutes=summary["train_seconds"] / 60,
        nll=test["nll"],
        vs_best=ngrams.gain(test["nll"], test["baselines"]),
        accuracy=test["accuracy"],
        nats_per_note=test["nats_per_note"],
        continuation=result["continuation"]["accuracy"],
        prompts=result["continuation"]["prompts"],
        sampled=result["test_changes"]["generated"],
        real=result["test_changes"]["test_solos"],
    )


def listed(runs: list[dict], key: str) -> str:
    return ", ".join(str(run[key]) for run in runs)


def row(label: str, runs: list[dict]) -> str:
    """One model's markdown row over its runs."""
    params = sorted({run["params"] for run in runs})
    cells = [
        label,
        " / ".join(f"{p / 1e6:.2f} M" for p in params),
        f"{listed(runs, 'epochs')} ({listed(runs, 'best_epoch')})",
        mean_std([r["minutes"] for r in runs], 1),
        mean_std([r["nll"] for r in runs], 3),
        percent([r["vs_best"] for r in runs]),
        mean_std([r["accuracy"] for r in runs], 3),
        mean_std([r["nats_per_note"] for r in runs], 3),
        f"{mean_std([r['continuation'] for r in runs], 3)} ({runs[0]['prompts']} prompts)",
    ]
    return "| " + " | ".join(cells) + " |"


def table(models: dict[str, list[dict]]) -> str:
    lines = [HEADER, "|---" + "|---:" * (HEADER.count("|") - 2) + "|"]
    return "\n".join(lines + [row(label, runs) for label, runs in models.items()])


def figures_table(models: dict[str, list[dict]], figures: Sequence[str]) -> str:
    """Markdown: a row per figure; the test solos' own, then each model's mean ± sd."""
    first = next(iter(models.values()))[0]
    lines = [
        "| figure (sampled over the test changes) | test solos | " + " | ".join(models) + " |",
        "|---" + "|---:" * (len(models) + 1) + "|",
    ]
    for key in figures:
        means = [mean_std([run["sampled"][key] for run in runs], 3) for runs in models.values()]
        lines.append(f"| {key} | {first['real'][key]:.3f} | " + " | ".join(means) + " |")
    return "\n".join(lines)


def parse_model(text: str) -> tuple[str, list[str]]:
    """`LABEL=RUN,RUN` as (label, runs)."""
    label, sep, runs = text.partition("=")
    if not sep or not label or not runs:
        raise JazzFlaxError(f"{text!r} is not LABEL=RUN[,RUN...]", hint="e.g. LSTM=runs/a,runs/b")
    return label, runs.split(",")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="LABEL=RUN[,RUN...]: a model's runs (seeds)")
    parser.add_argument("--figures", default=FIGURES, help="line_metrics' figures, comma-separated")
    args = parser.parse_args(argv)
    models = {
        label: [run_figures(workdir) for workdir in runs]
        for label, runs in map(parse_model, args.models)
    }
    print(table(models))
    print()
    print(figures_table(models, args.figures.split(",")))


if __name__ == "__main__":
    with one_line_errors():
        main()

"""Does a model repeat notes more than the players by itself, or only once it samples?

Sampled solos of the pitch grammars repeat the last pitch far more often than the players do. For
each model (`LABEL=RUN[,RUN...]`, its seeds), over the real notes of a split that follow a note:
the share that repeat the last pitch, and the model's mean probability of the last pitch given
that a note comes, reading the real tokens (`likelihood.repeat_odds`). Where the two agree, the
repeats come from sampling's drift off the real lines; where the model's odds are higher, the
model over-repeats before it samples anything.

    python -m experiments.tools.repeat_odds LSTM=runs/a-s0,runs/a-s1 Transformer=... [--split valid]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from experiments.tools import compare_runs, targets
from jazz_flax import likelihood
from jazz_flax.errors import JazzFlaxError, one_line_errors
from jazz_flax.sweep_results import mean_std

HEADER = "| model | notes after a note | repeat the last pitch | the model's odds of it |"


def run_odds(workdir: str, split: str) -> dict:
    """`likelihood.repeat_odds` of the run's best model over its corpus' `split`."""
    run, corpus = targets.loaded(workdir)
    odds = likelihood.repeat_odds(run.model, run.params, corpus, run.config.data.Tx, split)
    if not odds:
        raise JazzFlaxError(f"{workdir}: its tokens name no pitch, or its {split} split is empty")
    return odds


def row(label: str, runs: list[dict]) -> str:
    """A model's markdown row: the notes (the first run's) and the means ± sd over its runs."""
    share, odds = ([run[key] for run in runs] for key in ("repeat_share", "repeat_odds"))
    return f"| {label} | {runs[0]['notes']:,} | {mean_std(share, 3)} | {mean_std(odds, 3)} |"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="LABEL=RUN[,RUN...]: a model's runs (seeds)")
    parser.add_argument("--split", default="test", choices=("train", "valid", "test"))
    args = parser.parse_args(argv)
    lines = [HEADER, "|---|---:|---:|---:|"]
    for label, workdirs in map(compare_runs.parse_model, args.models):
        lines.append(row(label, [run_odds(workdir, args.split) for workdir in workdirs]))
    print("\n".join(lines))


if __name__ == "__main__":
    with one_line_errors():
        main()

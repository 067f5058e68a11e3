"""Metheny, OpenEWLD and WJazzD side by side: one markdown table of their evaluated runs.

For each experiment of CORPORA it reads runs/<experiment>/eval.json (`make evaluate`: the model
of the run's best validation NLL where it kept one). Per corpus, two rows: the model's, with the
corpus' pieces, training tokens and vocabulary, its NLL, the Witten–Bell bigram's and the best
n-gram's (`ngrams.best`; "—" in eval.json files older than the Kneser–Ney baselines) on the same
tokens (the test split of a corpus split by piece; Metheny's held-out last measures, so train it
with `--config.data.holdout_measures=3`) and the musical metrics of its solos; below, the same
metrics of the real solos they are compared with (the test solos; Metheny: its one solo). A run
not evaluated yet is a one-line note in place of its rows.

    python -m experiments.tools.compare_corpora [--runs runs] [--out FILE]
"""

from __future__ import annotations

import json
from pathlib import Path

from jazz_flax import ngrams
from jazz_flax.errors import ArgumentParser, one_line_errors
from jazz_flax.files import atomic_write

CORPORA = (  # (name, experiment, the `make train` ARGS its row needs)
    ("Metheny", "baseline_v2", "--config.data.holdout_measures=3"),  # else nothing is scored
    ("OpenEWLD", "openewld", ""),
    ("WJazzD", "wjazzd", ""),
)
RUN_COLUMNS = (  # (column, key path in `facts`, format): on the model's row only
    ("scored on", "scored_on", "{}"),
    ("pieces", "corpus.pieces", "{:,}"),
    ("training tokens", "corpus.training_tokens", "{:,}"),
    ("vocabulary", "corpus.vocabulary", "{:,}"),
    ("NLL", "scores.nll", "{:.3f}"),
    ("bigram NLL", "scores.baselines.bigram", "{:.3f}"),
    ("below the bigram", "below_bigram", "{:.1%}"),
    ("best n-gram NLL", "best_ngram", "{}"),
    ("below the best n-gram", "below_best", "{:.1%}"),
)
METRIC_COLUMNS = (  # (column, key of the musical metrics, format): on both rows
    ("chord tones", "chord_tone_ratio", "{:.3f}"),
    ("scale tones", "scale_tone_ratio", "{:.3f}"),
    ("pc entropy", "pitch_class_entropy", "{:.2f}"),
    ("abs. interval", "mean_abs_interval", "{:.2f}"),
    ("leaps > 8ve", "leaps_over_octave", "{:.3f}"),
    ("rests", "rest_ratio", "{:.3f}"),
    ("grooving", "grooving_similarity", "{:.3f}"),
    ("verbatim run (median)", "verbatim_run_median", "{:g}"),
    # jazz_flax.line_metrics: of the line, against its tempo, over a vamp
    ("chord tones on 1 & 3", "strong_beat_chord_tones", "{:.3f}"),
    ("chord tones at a change", "change_chord_tones", "{:.3f}"),
    ("span 5–95 %", "register_span", "{:.1f}"),
    ("4-bar swing", "register_swing", "{:.1f}"),
    ("leap recovery", "leap_recovery", "{:.3f}"),
    ("repeated notes", "repeated_notes", "{:.3f}"),
    ("16ths", "spacing_sixteenths", "{:.3f}"),
    ("16ths ≥ 250 bpm", "sixteenths_250_up_bpm", "{:.3f}"),
    ("syncopation", "syncopation", "{:.3f}"),
    ("phrase (notes)", "phrase_notes", "{:.1f}"),
    ("motif reuse", "motif_reuse", "{:.3f}"),
    ("onsets vs vamp", "harmony_onsets_differ", "{:.3f}"),
)
MISSING = "—"


def eval_path(runs: Path, experiment: str) -> Path | None:
    """The eval.json of `experiment`'s run; None when it has none."""
    path = runs / experiment / "eval.json"
    return path if path.is_file() else None


def facts(result: dict) -> dict:
    """What the table shows of one eval.json: the test split's scores where the corpus has one,
    else the held-out measures'; solos over the test changes beside the test solos, else beside
    the training solo."""
    split = "test" in result
    scores = result["test"] if split else result["heldout"]
    nll, baselines = scores.get("nll"), scores.get("baselines", {})
    best = ngrams.best(baselines)
    return dict(
        scored_on="test split" if split else held_out(result["heldout"]["measures"]),
        corpus=result.get("corpus", {}),  # absent from eval.json files of older versions
        scores=scores,
        below_bigram=_below(nll, baselines, "bigram"),
        best_ngram=best and f"{best[1]:.3f} ({best[0]})",
        below_best=_below(nll, baselines),
        generated=result["test_changes"]["generated"] if split else result["generated"],
        real=result["test_changes"]["test_solos"] if split else result["training_solo"],
        real_name="test solos" if split else "its solo",
    )


def _below(nll: float | None, baselines: dict, name: str | None = None) -> float | None:
    """How far `nll` is below the baseline `name` (else the best n-gram), as a share of it."""
    gain = None if nll is None else ngrams.gain(nll, baselines, name)
    return None if gain is None else -gain


def held_out(measures: int) -> str:
    return f"last {measures} measures" if measures else "nothing held out"


def lookup(values: dict, path: str):
    """The value at the dotted `path` of `values`; None where a key is missing."""
    for key in path.split("."):
        values = values.get(key) if isinstance(values, dict) else None
    return values


def cell(value, form: str) -> str:
    return MISSING if value is None else form.format(value)


def rows(name: str, experiment: str, result: dict) -> list[list[str]]:
    """The model's row and the real solos' row of one corpus."""
    found = facts(result)
    run = [cell(lookup(found, path), form) for _, path, form in RUN_COLUMNS]
    blank = [""] * len(RUN_COLUMNS)
    return [
        [f"{name} (`{experiment}`)", "generated", *run, *metric_cells(found["generated"])],
        ["", found["real_name"], *blank, *metric_cells(found["real"])],
    ]


def metric_cells(metrics: dict) -> list[str]:
    return [cell(metrics.get(key), form) for _, key, form in METRIC_COLUMNS]


def markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table(runs: Path) -> str:
    """The markdown table of CORPORA's runs under `runs`, a note for each one not evaluated."""
    header = ["corpus", "solos", *(c[0] for c in RUN_COLUMNS), *(c[0] for c in METRIC_COLUMNS)]
    lines = [markdown_row(header), markdown_row(["---"] * len(header))]
    for name, experiment, train_args in CORPORA:
        path = eval_path(runs, experiment)
        if path is None:
            lines.append(markdown_row([name, missing_note(runs, experiment, train_args)]))
            continue
        lines += map(markdown_row, rows(name, experiment, json.loads(path.read_text())))
    return "\n".join(lines) + "\n"


def missing_note(runs: Path, experiment: str, train_args: str) -> str:
    train = f"make train EXP={experiment}" + (f' ARGS="{train_args}"' if train_args else "")
    return (
        f"not evaluated: no eval.json in {runs / experiment} "
        f"(`{train}`, then `make evaluate EXP={experiment}`)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(prog="python -m experiments.tools.compare_corpora")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="the runs' folder")
    parser.add_argument("--out", type=Path, help="write the table here (else print it)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    with one_line_errors(args.debug):
        text = table(args.runs)
        if args.out:
            atomic_write(args.out, text)
    print(text, end="")


if __name__ == "__main__":
    main()

"""Which sampling strategy and beam search play solos closest to the real ones? Chosen on the
validation solos, so that the test figures (`targets --temperature T --top_p P --beam B,K,S`) stay
honest.

For runs of one setting (seeds), each strategy of the grid (temperature × pitch temperature ×
top_p) plays one solo over each validation solo's changes, at its tempo, and the targets that
`targets` checks on sampled solos are measured beside the validation solos themselves; then each
beam search of `--beams` (with the chosen strategy) plays them for the beam's targets. Each table
row gives the figures' means over the runs and how many targets they meet; the chosen row meets
the most, and of those is nearest (the sum of the distances in units of the distance allowed).
The rhythm (rests, eighths, syncopation) and the repeated notes are shown beside and not counted:
read them before taking the choice. A low temperature meets the pitch targets with an unbroken
eighth-note stream; a low pitch temperature keeps the model's rhythm and repeats notes, fewer
with the last pitch kept (`--keep_repeats 1`) (docs/results.md). `--beams` with none plays the
sampled rows alone.

    python -m experiments.tools.tune_sampling RUN [RUN ...] [--temperatures 0.8,0.9,1] \\
        [--pitch_temperatures 0.15,1] [--keep_repeats 0,1] [--top_ps 0.9,1] \\
        [--beams 8,4,1 8,4,4,0.75]
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence

import numpy as np

from experiments.tools import targets
from jazz_flax.beam import Beam
from jazz_flax.errors import one_line_errors

SPLIT = "valid"
# shown beside, not counted: the rhythm, and the repeated notes a sharpened pitch plays
WATCHED = ("rest_ratio", "spacing_eighths", "syncopation", "repeated_notes")


def figures(workdirs: Sequence[str], eval_config, beam: Beam | None) -> list[dict]:
    """Each run's mean metrics of the solos played over the validation solos' changes."""
    return [
        targets.played_metrics(*targets.loaded(workdir), SPLIT, eval_config, beam)
        for workdir in workdirs
    ]


def shown(chosen: Sequence[tuple]) -> list[str]:
    """The metrics a table shows: the `chosen` targets', then the WATCHED figures."""
    return [key for _, _, key, *_ in chosen] + list(WATCHED)


def scored(played: list[dict], real: dict, chosen: Sequence[tuple]) -> dict:
    """The runs' mean of each `chosen` target's figure, how many are met, and the summed distance
    in units of the distance allowed (the lower, the nearer)."""
    means = {key: float(np.mean([run[key] for run in played])) for key in shown(chosen)}
    distances = [
        targets.distance_in_units(means[key], real[key], distance, relative)
        for _, _, key, distance, relative in chosen
    ]
    return dict(means=means, met=sum(d <= 1 for d in distances), distance=float(sum(distances)))


def best(rows: list[tuple[str, dict]]) -> tuple[str, dict]:
    """The row meeting the most targets, the nearest of those."""
    return max(rows, key=lambda row: (row[1]["met"], -row[1]["distance"]))


def table(rows: list[tuple[str, dict]], real: dict, chosen: Sequence[tuple]) -> str:
    """Markdown: a row per setting, a column per target and per WATCHED figure, the validation
    solos' figures first."""
    keys = shown(chosen)
    names = [f"{name} ({by})" for name, by, *_ in chosen] + list(WATCHED)
    lines = [
        "| setting | " + " | ".join(names) + " | met | distance |",
        "|---" * (len(names) + 3) + "|",
        "| validation solos | " + " | ".join(f"{real[key]:.3f}" for key in keys) + " | | |",
    ]
    for setting, score in rows:
        cells = " | ".join(f"{score['means'][key]:.3f}" for key in keys)
        lines.append(f"| {setting} | {cells} | {score['met']} | {score['distance']:.2f} |")
    return "\n".join(lines)


def float_list(text: str) -> list[float]:
    return [float(part) for part in text.split(",")]


def label(setting: dict) -> str:
    """`temperature 1.0, pitch_temperature 0.2, top_p 1.0`, then `keep_repeats` if it is on."""
    names = [f"{name} {value}" for name, value in setting.items() if name != "keep_repeats"]
    return ", ".join(names + ["keep_repeats"] * setting["keep_repeats"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories of one setting (seeds)")
    parser.add_argument("--temperatures", type=float_list, default=[0.8, 0.9, 1.0])
    parser.add_argument("--pitch_temperatures", type=float_list, default=[1.0])
    parser.add_argument("--top_ps", type=float_list, default=[0.9, 0.95, 1.0])
    parser.add_argument("--keep_repeats", type=float_list, default=[0], help="0 (off), 1 or 0,1")
    parser.add_argument("--beams", nargs="*", type=targets.parse_beam, default=[Beam(8, 4, 1)])
    args = parser.parse_args(argv)
    real = targets.real_metrics(targets.loaded(args.runs[0])[1], SPLIT)
    sampled = [t for t in targets.TARGETS if t[1] == "sampled"]
    grid = itertools.product(
        args.temperatures, args.pitch_temperatures, args.top_ps, map(bool, args.keep_repeats)
    )
    names = ("temperature", "pitch_temperature", "top_p", "keep_repeats")
    settings = [dict(zip(names, point, strict=True)) for point in grid]
    strategies = {label(setting): targets.strategy_config(**setting) for setting in settings}
    rows = []
    for setting, eval_config in strategies.items():
        rows.append((setting, scored(figures(args.runs, eval_config, None), real, sampled)))
        print(table(rows[-1:], real, sampled).splitlines()[-1], flush=True)
    print(table(rows, real, sampled))
    setting, _ = best(rows)
    print(f"chosen: {setting}")
    eval_config = strategies[setting]
    beamed = [t for t in targets.TARGETS if t[1] == "beam"]
    beam_rows = [
        (
            f"beam {targets.beam_label(beam)}",
            scored(figures(args.runs, eval_config, beam), real, beamed),
        )
        for beam in args.beams
    ]
    if beam_rows:  # `--beams` with none: the sampled rows alone
        print(table(beam_rows, real, beamed))
        print(f"chosen: {best(beam_rows)[0]}")


if __name__ == "__main__":
    with one_line_errors():
        main()

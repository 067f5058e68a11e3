"""Do a model's solos match the real ones over the same changes? The targets of issue 22, checked.

For runs of one setting (several training seeds), it plays one solo over each test solo's changes,
at its tempo, sampled (`--temperature`, `--pitch_temperature`, `--keep_repeats`, `--top_p`: 1, 1,
off and 1 are `make evaluate`'s solos) and by beam search (`--beam B,K,S` and a length penalty
in beats, `B,K,S,L`), and measures them beside the test solos
themselves; it adds the harmony sensitivity over Giant Steps (a test solo of the WJazzD split)
against a Dm7 vamp, the same seed over both, and reads the nats per note of the real test melodies
from each run's eval.json (`make evaluate`). It prints one markdown table: each figure of the real
test solos, the runs' mean ± sd, the distance allowed and whether the mean is within it.
`--baseline` runs (e.g. grammar v2 without context) add the nats per note the best setting must
beat by 10 %. `tune_sampling` chooses the strategy on the validation solos.

    python -m experiments.tools.targets runs/wjazzd_pitch-s0 runs/wjazzd_pitch-s1 \\
        [--baseline runs/wjazzd-s0 ...] [--beam 8,4,4,0.75] [--temperature 0.9] [--top_p 0.95] \\
        [--pitch_temperature 0.15 --keep_repeats] [--json FILE] [--piano_rolls DIR]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from experiments.tools.compare_runs import read_json
from jazz_flax import checkpoints, data, evaluate
from jazz_flax.beam import Beam
from jazz_flax.errors import JazzFlaxError, one_line_errors
from jazz_flax.files import atomic_write
from jazz_flax.music import line_metrics, render, solo
from jazz_flax.sample import check_strategy

TARGETS = (  # (figure, played by, metric, distance allowed, relative to the real figure)
    ("chord tones on beats 1 and 3", "sampled", "strong_beat_chord_tones", 0.05, False),
    ("chord tones after a change", "sampled", "change_chord_tones", 0.07, False),
    ("register span, semitones", "sampled", "register_span", 0.30, True),
    ("4-bar swing, semitones", "sampled", "register_swing", 0.30, True),
    ("16ths at ≥ 250 bpm", "sampled", "sixteenths_250_up_bpm", 0.10, False),
    ("rest share", "beam", "rest_ratio", 0.50, True),
)
SHOWN = (  # figures shown beside the targets, with no distance to meet
    ("eighths", "beam", "spacing_eighths"),
    ("rest share", "sampled", "rest_ratio"),
    ("eighths", "sampled", "spacing_eighths"),
    ("leap recovery", "sampled", "leap_recovery"),
    ("repeated notes", "sampled", "repeated_notes"),
    ("syncopation", "sampled", "syncopation"),
    ("motif reuse", "sampled", "motif_reuse"),
)
GIANT_STEPS = "JohnColtrane_GiantSteps-1"  # a test solo of the WJazzD split by solo
NATS_BELOW = 0.10  # the best setting's nats per note, below the baseline's


@functools.cache
def loaded(workdir: str) -> tuple[checkpoints.Run, data.SplitCorpus]:
    """The run's model (its best checkpoint) and corpus, read once for the figures and the rolls."""
    run = checkpoints.load_run(workdir)
    return run, checkpoints.checkpoint_corpus(run.checkpoint)


def played_metrics(
    run: checkpoints.Run, corpus: data.SplitCorpus, split: str, eval_config, beam: Beam | None
) -> dict:
    """The mean metrics of one solo over each of the split's solos' changes: sampled with
    `eval_config`'s strategy, or the best beam of a search with `beam`."""
    played = evaluate.solos_over_pieces(
        run.model, run.params, run.vocab, corpus.pieces_of(split), eval_config, corpus.context, beam
    )
    return evaluate.mean_metrics([one for _, one in played], training_solo(corpus))


def real_metrics(corpus: data.SplitCorpus, split: str) -> dict:
    """The mean metrics of the split's real solos, each at its tempo."""
    real = [solo.of_corpus(data.Corpus((p,)), data.piece_bpm(p)) for p in corpus.pieces_of(split)]
    return evaluate.mean_metrics(real, training_solo(corpus))


def training_solo(corpus: data.SplitCorpus) -> solo.Solo:
    """The training split as one solo: the reference of the metrics that compare with it."""
    return solo.of_corpus(data.Corpus(tuple(corpus.pieces_of("train"))))


def giant_steps_sensitivity(run: checkpoints.Run, corpus: data.SplitCorpus, eval_config) -> float:
    """The share of onsets that differ between solos of one seed over Giant Steps and a vamp."""
    piece = data.piece_named(corpus, GIANT_STEPS)
    bpm = data.piece_bpm(piece)

    def improvise(progression: Sequence) -> list:
        return evaluate.generated_solos(
            run.model, run.params, run.vocab, progression, eval_config, bpm, corpus.context
        )

    vamp = line_metrics.vamp(len(piece.chords))
    return line_metrics.harmony_sensitivity_of(improvise, piece.chords, vamp)[
        "harmony_onsets_differ"
    ]


def giant_steps_rolls(workdir: str, beam: Beam, eval_config, folder: Path) -> list[Path]:
    """Piano rolls of Giant Steps: the real solo, a sampled one and a beam-search one over its
    changes, at its tempo (the run's model, `eval_config`'s seed and strategy)."""
    run, corpus = loaded(workdir)
    piece = data.piece_named(corpus, GIANT_STEPS)
    real = solo.of_corpus(data.Corpus((piece,)), data.piece_bpm(piece))
    played = {"real": real}
    for name, searched in (("sampled", None), ("beam", beam)):
        ((_, played[name]),) = evaluate.solos_over_pieces(
            run.model, run.params, run.vocab, [piece], eval_config, corpus.context, searched
        )
    return [
        render.write_piano_roll(one, folder / f"giant_steps_{name}.png", f"Giant Steps, {name}")
        for name, one in played.items()
    ]


def nats_per_note(workdir: str) -> float:
    """The nats per note of the real test melodies, from the run's eval.json."""
    path = Path(workdir) / evaluate.EVAL
    result = read_json(path)
    if "nats_per_note" not in result.get("test", {}):
        raise JazzFlaxError(f"{path} has no nats per note", hint="re-evaluate the run")
    return result["test"]["nats_per_note"]


def run_figures(workdir: str, beam: Beam, eval_config) -> dict:
    """Every figure of one run over the test solos' changes: played by the sampler (with
    `eval_config`'s strategy), by beam search, and the real test solos."""
    nats = nats_per_note(workdir)
    run, corpus = loaded(workdir)
    return dict(
        sampled=played_metrics(run, corpus, "test", eval_config, None),
        real=real_metrics(corpus, "test"),
        beam=played_metrics(run, corpus, "test", eval_config, beam),
        sensitivity=giant_steps_sensitivity(run, corpus, eval_config),
        nats_per_note=nats,
    )


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def within(mean: float, real: float, distance: float, relative: bool) -> bool:
    return distance_in_units(mean, real, distance, relative) <= 1


def distance_in_units(mean: float, real: float, distance: float, relative: bool) -> float:
    """|mean − real| in units of the distance allowed (of the real figure's, when relative)."""
    return abs(mean - real) / (distance * (abs(real) if relative else 1))


def target_rows(runs: list[dict]) -> list[str]:
    """A row per target: the figure, the real test solos', the runs' mean ± sd, allowed, met."""
    rows = []
    for name, by, key, distance, relative in TARGETS:
        mean, sd = mean_sd([run[by][key] for run in runs])
        real = runs[0]["real"][key]
        allowed = f"± {distance:.0%}" if relative else f"± {distance:.2f}"
        met = "yes" if within(mean, real, distance, relative) else "no"
        rows.append(f"| {name} ({by}) | {real:.3f} | {mean:.3f} ± {sd:.3f} | {allowed} | {met} |")
    for name, by, key in SHOWN:
        mean, sd = mean_sd([run[by][key] for run in runs])
        rows.append(f"| {name} ({by}) | {runs[0]['real'][key]:.3f} | {mean:.3f} ± {sd:.3f} | | |")
    return rows


def summary_rows(runs: list[dict], baseline: list[float]) -> list[str]:
    """Harmony sensitivity over Giant Steps, and the nats per note against the baseline's."""
    mean, sd = mean_sd([run["sensitivity"] for run in runs])
    rows = [f"| onsets differing, Giant Steps vs vamp | — | {mean:.3f} ± {sd:.3f} | > 0 | "
            f"{'yes' if mean > 0 else 'no'} |"]  # fmt: skip
    nats, nats_sd = mean_sd([run["nats_per_note"] for run in runs])
    if baseline:
        base, base_sd = mean_sd(baseline)
        met = "yes" if nats <= (1 - NATS_BELOW) * base else "no"
        change = f"{nats / base - 1:+.1%} vs {base:.3f} ± {base_sd:.3f}"
        rows.append(
            f"| nats per note | — | {nats:.3f} ± {nats_sd:.3f} ({change}) | ≤ −10 % | {met} |"
        )
    else:
        rows.append(f"| nats per note | — | {nats:.3f} ± {nats_sd:.3f} | | |")
    return rows


def table(runs: list[dict], baseline: list[float]) -> str:
    head = [
        "| figure | real test solos | generated (mean ± sd) | allowed | met |",
        "|---" * 5 + "|",
    ]
    return "\n".join(head + target_rows(runs) + summary_rows(runs, baseline))


def parse_beam(text: str) -> Beam:
    """`B,K,S` (`8,4,1`), or `B,K,S,L` with a length penalty L in beats (`8,4,4,0.5`)."""
    parts = text.split(",")
    penalty = [float(parts.pop())] if len(parts) == 4 else []
    return Beam(*(int(part) for part in parts), *penalty)


def beam_label(beam: Beam) -> str:
    """The text `parse_beam` reads back."""
    penalty = f",{beam.length_penalty:g}" if beam.length_penalty else ""
    return ",".join(map(str, beam[:3])) + penalty


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories of one setting (seeds)")
    parser.add_argument("--baseline", nargs="*", default=[], help="runs to beat in nats/note")
    beam_help = "size,branch,steps[,length penalty in beats]"
    parser.add_argument("--beam", type=parse_beam, default=Beam(8, 4, 1), help=beam_help)
    parser.add_argument("--temperature", type=float, default=1.0, help="of the sampled solos")
    parser.add_argument("--top_p", type=float, default=1.0, help="nucleus of the sampled solos")
    parser.add_argument("--pitch_temperature", type=float, default=1.0, help="of the pitch alone")
    repeats_help = "at the pitch temperature, repeat the last pitch as the model would"
    parser.add_argument("--keep_repeats", action="store_true", help=repeats_help)
    parser.add_argument("--json", help="also write every run's figures here")
    parser.add_argument("--piano_rolls", help="a folder for Giant Steps' piano rolls (first run)")
    args = parser.parse_args(argv)
    sampling = dict(temperature=args.temperature, top_p=args.top_p)
    sampling.update(pitch_temperature=args.pitch_temperature, keep_repeats=args.keep_repeats)
    eval_config = strategy_config(**sampling)
    runs = [run_figures(workdir, args.beam, eval_config) for workdir in args.runs]
    baseline = [nats_per_note(workdir) for workdir in args.baseline]
    settings = ", ".join(f"{name} {value}" for name, value in sampling.items())
    print(
        f"{len(runs)} runs: {', '.join(args.runs)}; beam search {beam_label(args.beam)}; {settings}"
    )
    print(table(runs, baseline))
    if args.json:
        atomic_write(Path(args.json), json.dumps(dict(runs=runs, baseline=baseline), indent=1))
    if args.piano_rolls:
        folder = Path(args.piano_rolls)
        for path in giant_steps_rolls(args.runs[0], args.beam, eval_config, folder):
            print(f"wrote {path}")


def strategy_config(**settings):
    """evaluate's config of the solos (its seed) with the sampling `settings` (temperature, top_p,
    pitch_temperature, keep_repeats), checked as the sampler checks them."""
    eval_config = evaluate.default_config()
    eval_config.update(**settings)
    check_strategy(evaluate.strategy(eval_config), length=1)
    return eval_config


if __name__ == "__main__":
    with one_line_errors():
        main()

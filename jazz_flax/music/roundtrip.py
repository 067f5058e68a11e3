"""Round trip: how much of a solo survives its grammar.

    python -m jazz_flax.music.roundtrip [--midi PATH | --config EXP] [--grammar notebook|v2]
                                        [--seeds 10] [--json]

Parses the section (or the experiment's corpus) in the grammar, decodes every measure's own tokens
over its own chords and compares the notes with the original's. Per measure, each measure starts
from the original previous pitch; free-running, from the decoded one, as one line (as `generate`
decodes). The original is the monophonic line of each measure (`v2.line`), for both grammars.

Figures, averaged over `seeds` decoder seeds (ratios in [0, 1]):
  durations_identical  elements (notes and rests) whose duration the decoded element at the same
                       place in the measure has
  onsets_identical     notes of the original with a decoded note starting at the same time
  measures_exact_length  measures whose decoded elements last exactly 4 beats
  pitch_class_match, exact_pitch_match  notes whose decoded note at the same place in the measure
                       has the same pitch class, the same pitch
  scale_tone_ratio, mean_abs_interval, leaps_over_octave, pitch_range
                       (music.metrics) of all the measures as one solo, original and decoded
  chord_tones_by_construction  the chord-tone ratio (`metrics.chord_tone_ratio`), original and
                       decoded. It is no evidence of fidelity: a note is a `C` token because it is
                       a chord tone, and a `C` token always decodes to a chord tone, so the decoded
                       ratio follows from the tokens' types whatever else the decoder loses; in v2
                       it equals the original's by construction (up to the decoder's rare repairs)
  snapped_durations    v2: notes snapped to its grid (by the WJazzD reader, or by v2's parse);
                       notebook: tokens off its grid (rounded at random when decoded)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np

from jazz_flax import config, data
from jazz_flax.cli.options import experiment_config
from jazz_flax.errors import POSITIVE, ArgumentParser, one_line_errors
from jazz_flax.grammar import GRAMMARS, GRID, Event, Rules, Token, v2
from jazz_flax.meter import BEATS
from jazz_flax.music import metrics
from jazz_flax.music.solo import last_pitch, lay_out

TOLERANCE = 1e-3  # beats: the notebook's durations are written with three decimals
MATCHES = (
    "durations_identical",
    "onsets_identical",
    "measures_exact_length",
    "pitch_class_match",
    "exact_pitch_match",
)
SOLO_METRICS = ("scale_tone_ratio", "mean_abs_interval", "leaps_over_octave")
IDENTITY = "chord_tones_by_construction"  # the chord-tone ratio: see the module's docstring
SOLO_FIGURES = (*SOLO_METRICS, "pitch_range", IDENTITY)


def original_lines(corpus: data.Corpus) -> list[list[Event]]:
    """Each measure's monophonic line, its rests included."""
    return [v2.line_events(v2.line(events)[0]) for events in corpus.melody]


def decode_corpus(
    corpus: data.Corpus, lines, decoding: Rules, rng, free_running: bool
) -> list[list[Event]]:
    """Every measure decoded from its own tokens; each piece's first starts afresh, the others
    from the previous pitch of the decoded line (`free_running`) or of the original."""
    decoded = []
    for piece in corpus.pieces:
        previous = None
        for tokens, chords in zip(piece.measures, piece.chords, strict=True):
            decoded.append(decoding.decode(list(tokens), chords, rng, previous=previous))
            before = decoded[-1] if free_running else lines[len(decoded) - 1]
            previous = last_pitch([before], previous)
    return decoded


def _notes(events: Sequence[Event]) -> list[Event]:
    return [e for e in events if e.pitch is not None]


def matches(original: Sequence[Event], decoded: Sequence[Event]) -> dict[str, tuple[int, int]]:
    """(hits, out of) of each of MATCHES in one measure."""
    notes, decoded_notes = _notes(original), _notes(decoded)
    onsets = [e.offset for e in decoded_notes]
    pairs = list(zip(notes, decoded_notes, strict=False))  # the i-th note with the i-th
    elements = zip(original, decoded, strict=False)
    length = sum(e.duration for e in decoded)
    return dict(
        durations_identical=(
            sum(abs(a.duration - b.duration) < TOLERANCE for a, b in elements),
            len(original),
        ),
        onsets_identical=(
            sum(any(abs(n.offset - o) < TOLERANCE for o in onsets) for n in notes),
            len(notes),
        ),
        measures_exact_length=(int(abs(length - BEATS) < TOLERANCE), 1),
        pitch_class_match=(sum(a.pitch % 12 == b.pitch % 12 for a, b in pairs), len(notes)),
        exact_pitch_match=(sum(a.pitch == b.pitch for a, b in pairs), len(notes)),
    )


def solo_figures(measures: Sequence[Sequence[Event]], chords) -> dict[str, float]:
    """SOLO_FIGURES of the measures laid end to end as one solo."""
    solo = lay_out(measures, chords)
    figures = {name: getattr(metrics, name)(solo) for name in SOLO_METRICS}
    figures |= {"pitch_range": list(metrics.pitch_range(solo))}
    return figures | {IDENTITY: metrics.chord_tone_ratio(solo)}


def figures(corpus: data.Corpus, lines, decoded) -> dict:
    """MATCHES and the solo figures of one decoding."""
    hits = [matches(o, d) for o, d in zip(lines, decoded, strict=True)]
    result = {
        name: sum(h[name][0] for h in hits) / max(1, sum(h[name][1] for h in hits))
        for name in MATCHES
    }
    return result | solo_figures(decoded, corpus.chords)


def snapped_durations(corpus: data.Corpus) -> int:
    """A line grammar (v2, pitch): the notes snapped to its grid (by a reader or its parse);
    notebook: tokens whose duration is off its grid."""
    if corpus.grammar != "notebook":
        return sum(piece.source["snapped_durations"] for piece in corpus.pieces)
    steps = [Token.parse(t).duration / GRID for m in corpus.measures for t in m]
    return sum(abs(s - round(s)) > TOLERANCE for s in steps)


def roundtrip(corpus: data.Corpus, seeds: int = 10) -> dict:
    """The round-trip figures of the corpus in its grammar (module docstring), both ways."""
    decoding = corpus.vocab.rules
    lines = original_lines(corpus)
    original = solo_figures(lines, corpus.chords)
    result = dict(
        grammar=corpus.grammar,
        measures=corpus.n_measures,
        notes=sum(len(_notes(line)) for line in lines),
        seeds=seeds,
        snapped_durations=snapped_durations(corpus),
    )
    for free_running in (False, True):
        runs = [
            figures(corpus, lines, decode_corpus(corpus, lines, decoding, rng, free_running))
            for rng in map(np.random.default_rng, range(seeds))
        ]
        mean = {key: np.mean([run[key] for run in runs], axis=0).tolist() for key in runs[0]}
        for key in SOLO_FIGURES:
            mean[key] = {"original": original[key], "decoded": mean[key]}
        result.update(dict(free_running=mean) if free_running else mean)
    return result


def table(result: dict) -> str:
    """The figures, per measure and free-running, one line each."""
    lines = [
        f"grammar {result['grammar']}: {result['measures']} measures, {result['notes']} notes, "
        f"{result['snapped_durations']} snapped durations, mean of {result['seeds']} seeds",
        f"{'':<28}{'per measure':>16}{'free-running':>16}",
    ]
    for key in MATCHES:
        lines.append(f"{key:<28}{result[key]:>16.3f}{result['free_running'][key]:>16.3f}")
    for key in SOLO_FIGURES:
        original = result[key]["original"]
        lines.append(
            f"{key:<28}{_cell(result[key]['decoded']):>16}"
            f"{_cell(result['free_running'][key]['decoded']):>16}   original {_cell(original)}"
        )
    lines.append(f"({IDENTITY}: a C token always decodes to a chord tone; no evidence)")
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, list):
        return f"[{value[0]:.1f}, {value[1]:.1f}]"
    return f"{value:.3f}"


def corpus_of(midi: str | None, experiment: str | None, grammar: str | None) -> data.Corpus:
    """The corpus of a file (the notebook's section and parts) or of an experiment's config."""
    data_config = config.data_defaults()
    if experiment is not None:
        data_config = experiment_config(experiment).data
    if midi is not None:
        data_config.path = midi
    data_config.grammar = grammar or data_config.grammar
    data_config.split_seed = None  # every piece as one corpus: a round trip needs no split
    return data.load_corpus_from_config(data_config)


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(
        prog="python -m jazz_flax.music.roundtrip",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--midi", help="a MIDI or MusicXML file (default: the Metheny solo)")
    source.add_argument("--config", help="an experiment: its corpus (e.g. baseline)")
    parser.add_argument("--grammar", choices=GRAMMARS, help="default: the config's, else notebook")
    parser.add_argument("--seeds", type=int, default=10, help="decoder seeds to average over")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    with one_line_errors(args.debug):
        POSITIVE.check("--seeds", args.seeds)
        result = roundtrip(corpus_of(args.midi, args.config, args.grammar), args.seeds)
    print(json.dumps(result) if args.json else table(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""A solo from tokens: a stream cut into 4-beat measures, each decoded over its chords, laid out.

    token stream ──cut_into_measures──▶ tokens per measure ──decode (grammar rules, over each
    measure's chords, the melody carried across bar lines)──▶ events per measure ──lay_out──▶ Solo

`from_stream` is the whole path, the one `generate`, `evaluate` and the sweeps' solos take
(`jazz_flax.soloist` samples the streams). The seed notebook's layout (`notebook`) decodes
segments of its own, each after a `C,0.25`, laid 4 beats apart (they overlap). `of_corpus` lays a
corpus' own measures out, the solos generated ones are compared with; `roundtrip` lays out its
decoded measures the same way.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from jazz_flax import grammar
from jazz_flax.meter import BEATS
from jazz_flax.music.render import Solo

BPM = 130.0  # the tempo of a solo when none is given
NOTEBOOK_SEGMENT = 50  # tokens sampled per segment in the seed notebook's layout
NOTEBOOK_PREFIX = "C,0.250"  # what the seed's decoder reads before each segment


def tokens_needed(n_measures: int, grid: float = grammar.GRID) -> int:
    """Tokens enough to fill `n_measures`: no pruned token is shorter than one `grid` step."""
    return round(n_measures * BEATS / grid)


def cut_into_measures(
    tokens: Sequence[str],
    n_measures: int,
    rng: np.random.Generator,
    rules: grammar.Rules = grammar.NOTEBOOK,
) -> list[list[str]]:
    """Prunes the stream's durations and cuts it into `n_measures` measures of exactly 4 beats.

    A token that crosses a bar line is shortened to end there (its remainder is dropped); when the
    stream runs out, the rest is filled with rests.
    """
    durations = rules.prune_durations([grammar.duration(t) for t in tokens], rng)
    measures, current, room = [], [], BEATS
    for text, duration in zip(tokens, durations, strict=True):
        if len(measures) == n_measures:
            break
        take = min(duration, room)
        current.append(grammar.with_duration(text, take))
        room -= take
        if room < 1e-9:  # thirds of a beat do not add up exactly
            measures.append(current)
            current, room = [], BEATS
    while len(measures) < n_measures:
        current.append(f"R,{room:.3f}")
        measures.append(current)
        current, room = [], BEATS
    return measures


def decode(
    measures: Sequence[Sequence[str]],
    chords: Sequence[Sequence[grammar.Chord]],
    rng: np.random.Generator,
    bpm: float = BPM,
    rules: grammar.Rules = grammar.NOTEBOOK,
    previous: int | None = None,
) -> Solo:
    """Decodes each measure over its chords with the grammar's `rules`, the melody continuing from
    measure to measure (each measure gets the last pitch before it; the first, `previous`)."""
    events = []
    for tokens, measure_chords in zip(measures, chords, strict=True):
        events.append(rules.decode(tokens, measure_chords, rng, previous=previous))
        previous = last_pitch(events[-1:], previous)
    return lay_out(events, chords, bpm)


def from_stream(
    stream: Sequence[str],
    chords: Sequence[Sequence[grammar.Chord]],
    rng: np.random.Generator,
    bpm: float = BPM,
    rules: grammar.Rules = grammar.NOTEBOOK,
    previous: int | None = None,
) -> tuple[list[list[str]], Solo]:
    """(tokens per measure, Solo): the stream cut into the measures of `chords` and decoded over
    them, the melody starting from `previous`."""
    measures = cut_into_measures(stream, len(chords), rng, rules)
    return measures, decode(measures, chords, rng, bpm, rules, previous)


def last_pitch(
    measures: Sequence[Sequence[grammar.Event]], default: int | None = None
) -> int | None:
    """The pitch of the last note of the measures; `default` without notes."""
    return next(
        (e.pitch for m in reversed(measures) for e in reversed(m) if e.pitch is not None), default
    )


def lay_out(
    events: Sequence[Sequence[grammar.Event]],
    chords: Sequence[Sequence[grammar.Chord]],
    bpm: float = BPM,
) -> Solo:
    """A Solo of measures laid end to end, 4 beats apart; it lasts until its last note ends."""
    notes = [_shift(e, i * BEATS) for i, measure in enumerate(events) for e in measure]
    shifted = [_shift(c, i * BEATS) for i, measure in enumerate(chords) for c in measure]
    length = max([float(len(events) * BEATS)] + [n.offset + n.duration for n in notes])
    return Solo(tuple(notes), tuple(shifted), length, bpm)


def joined(first: Solo, second: Solo) -> Solo:
    """`second` played after `first`'s whole measures."""
    start = float(math.ceil(first.length / BEATS) * BEATS)
    notes = (*first.notes, *(_shift(e, start) for e in second.notes))
    chords = (*first.chords, *(_shift(c, start) for c in second.chords))
    return Solo(notes, chords, start + second.length, first.bpm)


def of_corpus(corpus, bpm: float = BPM) -> Solo:
    """A corpus' own measures (a data.Corpus: its pieces end to end) as a Solo over its chords."""
    return lay_out(corpus.melody, corpus.chords, bpm)


def notebook(
    segments: Sequence[Sequence[str]],
    chords: Sequence[Sequence[grammar.Chord]],
    rng: np.random.Generator,
    bpm: float = BPM,
    rules: grammar.Rules = grammar.NOTEBOOK,
) -> Solo:
    """The seed's layout: segment i, after a `C,0.25`, decoded over chords[i + 1] at offset 4i."""
    segment_chords = chords[1 : len(segments) + 1]
    events = [
        rules.decode([NOTEBOOK_PREFIX, *tokens], measure_chords, rng)
        for tokens, measure_chords in zip(segments, segment_chords, strict=True)
    ]
    return lay_out(events, segment_chords, bpm)


def notebook_segments(n_measures: int) -> int:
    """The seed's `len(chords) // 3 - 1` segments (5 for the Metheny solo's 19 measures)."""
    return max(1, n_measures // 3 - 1)


def _shift(item, start: float):
    """An Event or Chord moved `start` beats later."""
    return dataclasses.replace(item, offset=item.offset + start)

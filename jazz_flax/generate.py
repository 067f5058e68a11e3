"""From sampled tokens to a solo over chords.

    sampled ids ──vocab──▶ tokens ──cut_into_measures──▶ 4-beat measures ──grammar.decode──▶ Solo

`measures` mode (the default) samples one long stream, the LSTM state carried across measures, and
cuts it into measures of exactly four beats. `notebook` mode is the seed's `generate_music`: five
independent segments of 50 tokens, each after a `C,0.25`, laid at offsets 0, 4, 8, … (they overlap).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import numpy as np

from jazz_flax import grammar
from jazz_flax.errors import JazzFlaxError
from jazz_flax.render import Solo

BEATS = 4.0
NOTEBOOK_SEGMENT = 50  # tokens sampled per segment in notebook mode
NOTEBOOK_PREFIX = "C,0.250"


def parse_chords(text: str) -> list[tuple[grammar.Chord, ...]]:
    """One chord per measure from lead-sheet symbols, e.g. "Dm7 G7 Cmaj7 Cmaj7" or "Bbmaj7"."""
    from music21 import harmony

    measures = []
    for symbol in text.split():
        figure = re.sub(r"(^|/)([A-G])b", r"\1\2-", symbol)  # music21 spells flats with "-"
        try:
            pitches = harmony.ChordSymbol(figure).pitches
        except Exception as e:  # music21 raises ValueError and others for a bad symbol
            raise JazzFlaxError(f"bad chord symbol {symbol!r}: {e}") from None
        if not pitches:
            raise JazzFlaxError(f"bad chord symbol {symbol!r}: it names no pitches")
        measures.append((grammar.Chord(0.0, tuple(p.nameWithOctave for p in pitches)),))
    if not measures:
        raise JazzFlaxError("no chords given", hint='e.g. --chords "Dm7 G7 Cmaj7 Cmaj7"')
    return measures


def tokens_needed(n_measures: int) -> int:
    """Tokens enough to fill `n_measures`: no pruned token is shorter than one grid step."""
    return int(n_measures * BEATS / grammar.GRID)


def cut_into_measures(
    tokens: Sequence[str], n_measures: int, rng: np.random.Generator
) -> list[list[str]]:
    """Prunes the stream's durations and cuts it into `n_measures` measures of exactly 4 beats.

    A token that crosses a bar line is shortened to end there (its remainder is dropped); when the
    stream runs out, the rest is filled with rests.
    """
    durations = grammar.prune_durations([grammar.Token.parse(t).duration for t in tokens], rng)
    measures, current, room = [], [], BEATS
    for text, duration in zip(tokens, durations, strict=True):
        if len(measures) == n_measures:
            break
        take = min(duration, room)
        current.append(grammar.with_duration(text, take))
        room -= take
        if room == 0:
            measures.append(current)
            current, room = [], BEATS
    while len(measures) < n_measures:
        current.append(f"R,{room:.3f}")
        measures.append(current)
        current, room = [], BEATS
    return measures


def solo_from_measures(
    measures: Sequence[Sequence[str]],
    chords: Sequence[Sequence[grammar.Chord]],
    rng: np.random.Generator,
    bpm: float = 130.0,
) -> Solo:
    """Decodes each measure over its chords, the melody continuing from measure to measure."""
    notes, solo_chords, previous = [], [], None
    for index, (tokens, measure_chords) in enumerate(zip(measures, chords, strict=True)):
        start = index * BEATS
        events = grammar.decode(tokens, measure_chords, rng, previous=previous)
        notes += [_shift(e, start) for e in events]
        solo_chords += [_shift(c, start) for c in measure_chords]
        previous = next((e.pitch for e in reversed(events) if e.pitch is not None), previous)
    return Solo(tuple(notes), tuple(solo_chords), len(measures) * BEATS, bpm)


def corpus_solo(corpus, bpm: float = 130.0) -> Solo:
    """The training piece itself (a data.Corpus) as a Solo: its notes over its chords."""
    notes, chords = [], []
    for index, (events, measure_chords) in enumerate(
        zip(corpus.melody, corpus.chords, strict=True)
    ):
        notes += [_shift(e, index * BEATS) for e in events]
        chords += [_shift(c, index * BEATS) for c in measure_chords]
    return Solo(tuple(notes), tuple(chords), corpus.n_measures * BEATS, bpm)


def notebook_solo(
    segments: Sequence[Sequence[str]],
    chords: Sequence[Sequence[grammar.Chord]],
    rng: np.random.Generator,
    bpm: float = 130.0,
) -> Solo:
    """The seed's layout: segment i, after a `C,0.25`, decoded over chords[i + 1] at offset 4i."""
    notes, solo_chords = [], []
    for index, tokens in enumerate(segments):
        start = index * BEATS
        measure_chords = chords[index + 1]
        events = grammar.decode([NOTEBOOK_PREFIX, *tokens], measure_chords, rng)
        notes += [_shift(e, start) for e in events]
        solo_chords += [_shift(c, start) for c in measure_chords]
    end = max([n.offset + n.duration for n in notes] + [len(segments) * BEATS])
    return Solo(tuple(notes), tuple(solo_chords), end, bpm)


def notebook_segments(n_measures: int) -> int:
    """The seed's `len(chords) // 3 - 1` segments (5 for the Metheny solo's 19 measures)."""
    return max(1, n_measures // 3 - 1)


def _shift(item, start: float):
    """An Event or Chord moved `start` beats later."""
    return dataclasses.replace(item, offset=item.offset + start)

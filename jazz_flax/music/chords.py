"""Chords written as lead-sheet text (`--chords`): each measure's `grammar.Chord`s.

Bars are separated by "|" and share their beats evenly among their chords, or by weights:
"Dm7 G7 | Cmaj7 | Dm7:3 G7:1"; every chord gets a grid step at least (a weight too small for one
is refused). Text with neither "|" nor ":" has one chord per measure, the older
form: "Dm7 G7 Cmaj7 Cmaj7". Symbols are music21's, with the lead-sheet spellings it does not read
(`ALIASES`: 7alt, ø7, Δ7 …) and flats written "b". "N.C." (no chord) is allowed, as on the data
side, where it is left out: the chord before it goes on sounding (before the first chord, the
first).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence

import numpy as np

from jazz_flax import grammar
from jazz_flax.errors import JazzFlaxError
from jazz_flax.meter import BEATS

NO_CHORD = ("N.C.", "NC", "N.C")
# Lead-sheet spellings music21 does not read, and what it reads for them.
ALIASES = {"7alt": "7#5#9", "alt": "7#5#9", "ø7": "m7b5", "ø": "m7b5", "Δ7": "maj7", "Δ": "maj7"}


def parse_chords(text: str) -> list[tuple[grammar.Chord, ...]]:
    """The chords of each measure from lead-sheet text (see the module's docstring)."""
    if not text.strip():
        raise JazzFlaxError("no chords given", hint='e.g. --chords "Dm7 G7 | Cmaj7 | Cmaj7"')
    if "|" in text or ":" in text:
        bars = [bar.split() for bar in text.strip().strip("|").split("|")]
    else:
        bars = [[symbol] for symbol in text.split()]
    written = [_bar(symbols, number) for number, symbols in enumerate(bars, 1)]
    return _held(written)


def _bar(symbols: Sequence[str], number: int) -> list[grammar.Chord]:
    """The chords of one bar, offsets from the weights (default 1 each), on the grid; "N.C." as a
    chord without pitches."""
    if not symbols:
        raise JazzFlaxError(f"bar {number} of the chords is empty", hint="write a chord or N.C.")
    names, weights = zip(*(_weighted(symbol) for symbol in symbols), strict=True)
    starts = np.concatenate([[0.0], np.cumsum(weights)[:-1]]) / sum(weights) * BEATS
    offsets = [round(start / grammar.GRID) * grammar.GRID for start in starts]
    for symbol, start, end in zip(symbols, offsets, [*offsets[1:], BEATS], strict=True):
        if end <= start:  # its share rounds to nothing: it would never sound
            raise JazzFlaxError(
                f"{symbol!r} in bar {number} gets no time: its share of the bar's {BEATS:g} "
                f"beats rounds to less than a grid step ({grammar.GRID:g} beat)",
                hint='give it more weight, e.g. "Dm7:3 G7:1", or fewer chords to the bar',
            )
    return [grammar.Chord(o, _pitches(n)) for o, n in zip(offsets, names, strict=True)]


def _weighted(symbol: str) -> tuple[str, float]:
    """("Dm7", 3.0) for "Dm7:3"; weight 1 without one."""
    name, _, weight = symbol.partition(":")
    try:
        value = float(weight) if weight else 1.0
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise JazzFlaxError(f"bad chord weight in {symbol!r}", hint='beats, e.g. "Dm7:3 G7:1"')
    return name, value


def _pitches(symbol: str) -> tuple[str, ...]:
    """The pitch names (with octave) of a lead-sheet symbol; () for "N.C."."""
    from music21 import harmony

    if symbol in NO_CHORD:
        return ()
    root, kind = re.fullmatch(r"([A-G][#b]?|)(.*)", symbol).groups()
    figure = re.sub(r"(^|/)([A-G])b", r"\1\2-", root + ALIASES.get(kind, kind))  # flats as "-"
    try:
        pitches = harmony.ChordSymbol(figure).pitches
    except Exception as e:  # music21 raises ValueError and others for a bad symbol
        raise JazzFlaxError(f"bad chord symbol {symbol!r}: {e}") from None
    if not pitches:
        raise JazzFlaxError(f"bad chord symbol {symbol!r}: it names no pitches")
    return tuple(p.nameWithOctave for p in pitches)


def _held(bars: Sequence[Sequence[grammar.Chord]]) -> list[tuple[grammar.Chord, ...]]:
    """Each bar's chords with N.C. left out; a bar that starts without a chord starts with the
    one sounding (before the first chord, the first chord)."""
    sounding = [c for bar in bars for c in bar if c.pitches]
    if not sounding:
        raise JazzFlaxError("the chords are all N.C.", hint="a solo needs a chord to decode over")
    measures, last = [], sounding[0]
    for bar in bars:
        own = [c for c in bar if c.pitches]
        if not own or own[0].offset > 0:
            own.insert(0, dataclasses.replace(last, offset=0.0))
        measures.append(tuple(own))
        last = own[-1]
    return measures

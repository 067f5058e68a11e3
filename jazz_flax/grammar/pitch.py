"""The pitch grammar: every note is its pitch and its duration, both chosen by the model.

Grammars `notebook` and `v2` write a note's *kind* (chord tone, scale tone, …) and leave its pitch
to a random decoder. Here a token is one element of v2's monophonic line (`v2.line`: the upper
voice, on v2's grid of 1/12 beat, measures of exactly 4 beats): `R,DURATION` for a rest,
`N,DURATION,PITCH` for a note.

One token a note, not a pitch token and a duration token: the model's step stays one element of
the line, so the sampler's position in the bar, the cutting into measures and the scores per note
work as for the other grammars, and the vocabulary (the pitches × durations a corpus plays) is no
larger than v2's, whose tokens also pair a kind, an interval range and a duration.

Two spellings of PITCH, chosen by the grammar's name:

* `pitch`: the MIDI number: `N,0.500,67`.
* `pitch_relative`: the interval above the root of the chord sounding at the note's onset, and the
  note's octave (MIDI octave, C4 = 60): `N,0.500,+7o4` is the fifth above the root, in octave 4.
  The same line over the same changes in another key gives the same tokens, and over other
  changes the line moves with the harmony.

Decoding is exact: the tokens of a line over its own chords decode to that line (`rng` unused).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from jazz_flax.grammar import v2
from jazz_flax.grammar.notebook import Chord, Event

GRID = v2.GRID
NAMES = ("pitch", "pitch_relative")
_TOKEN = re.compile(r"([RN]),(\d+\.\d+)(?:,(?:(\d+)|\+(\d+)o(-?\d+)))?")


class Element(NamedTuple):
    """A parsed token: a rest (`pitch` and `interval` None), an absolute pitch, or an interval
    above the chord root with an octave."""

    duration: float
    pitch: int | None = None
    interval: int | None = None
    octave: int | None = None

    @property
    def is_note(self) -> bool:
        return self.pitch is not None or self.interval is not None


@functools.cache
def parse_token(text: str) -> Element:
    """Parses `text`; a malformed token raises a ValueError that names it."""
    match = _TOKEN.fullmatch(text) if isinstance(text, str) else None
    if match is None or (match[1] == "R") != (match[3] is None and match[4] is None):
        raise ValueError(
            f"malformed pitch-grammar token {text!r}: expected R,DURATION, N,DURATION,PITCH "
            "or N,DURATION,+INTERVALoOCTAVE"
        )
    kind, duration, pitch, interval, octave = match.groups()
    if pitch is not None:
        return Element(float(duration), pitch=int(pitch))
    if interval is not None:
        return Element(float(duration), interval=int(interval) % 12, octave=int(octave))
    return Element(float(duration))


def duration(token: str) -> float:
    """The token's duration in beats."""
    return parse_token(token).duration


def with_duration(token: str, duration: float) -> str:
    """`token` with its duration replaced, e.g. ("N,0.500,67", 0.25) -> "N,0.250,67"."""
    parse_token(token)  # validates
    kind, _, rest = token.partition(",")
    pitch = rest.partition(",")[2]
    return f"{kind},{duration:.3f}" + (f",{pitch}" if pitch else "")


def root_at(chords: Sequence[Chord], offset: float) -> int:
    """Pitch class of the root of the chord sounding at `offset` (v2's chord-scale root)."""
    return v2.scale_at(chords, offset).root


# ---------------------------------------------------------------------------------------------
# Parsing: a line of events -> tokens


def note_token(event: Event, chords: Sequence[Chord], relative: bool) -> str:
    """The token of one element of a line."""
    if event.pitch is None:
        return f"R,{event.duration:.3f}"
    if not relative:
        return f"N,{event.duration:.3f},{event.pitch}"
    interval = (event.pitch - root_at(chords, event.offset)) % 12
    return f"N,{event.duration:.3f},+{interval}o{event.pitch // 12 - 1}"


def parse(
    melody: Sequence[Sequence[Event]], chords: Sequence[Sequence[Chord]], relative: bool = False
) -> v2.Parse:
    """Tokens and lines of consecutive measures (each its events and chords, offsets in beats from
    its start), the line as v2 takes it."""
    measures, lines, snapped = [], [], 0
    for events, measure_chords in zip(melody, chords, strict=True):
        notes, snapped_here = v2.line(events)
        lines.append(v2.line_events(notes))
        measures.append([note_token(e, measure_chords, relative) for e in lines[-1]])
        snapped += snapped_here
    return v2.Parse(measures, lines, snapped)


# ---------------------------------------------------------------------------------------------
# Decoding: tokens + chords -> notes


def pitch_of(element: Element, chords: Sequence[Chord], offset: float) -> int | None:
    """The MIDI pitch of a parsed token starting at `offset` over `chords`; None for a rest."""
    if element.pitch is not None or element.interval is None:
        return element.pitch
    pitch_class = (root_at(chords, offset) + element.interval) % 12
    return 12 * (element.octave + 1) + pitch_class


def decode(
    tokens: Sequence[str],
    chords: Sequence[Chord],
    rng: np.random.Generator | None = None,
    *,
    previous: int | None = None,
) -> list[Event]:
    """The notes and rests of `tokens` over `chords`, on v2's grid, filling exactly the tokens'
    durations. `rng` and `previous` are taken for the grammars' common signature: nothing here is
    drawn at random, and no pitch depends on the one before."""
    del rng, previous
    elements = [parse_token(t) for t in tokens]
    durations = v2.prune_durations([e.duration for e in elements], None)
    starts = list(itertools.accumulate((v2.snap(d) for d in durations), initial=0))[:-1]
    return [
        Event(start * GRID, length, pitch_of(element, chords, start * GRID))
        for element, length, start in zip(elements, durations, starts, strict=True)
    ]

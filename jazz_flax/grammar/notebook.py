"""The jazz grammar of Gillick, Tang & Keller (2009), as deepjazz and the seed notebook use it.

A melody element of a measure becomes one token, `TYPE,DURATION` or `TYPE,DURATION,<UP,DOWN>`:

* TYPE, against the chord sounding at the element: `R` rest, `C` chord tone (or a double stop),
  `S` scale tone, `A` approach tone (a semitone from a chord tone), `X` anything else.
* DURATION: quarter notes, `%.3f`.
* `<UP,DOWN>`: for every note after the first note of the measure, the interval from the previous
  note plus and minus a minor third (`<m3,m-3>` = a repeated pitch). Rests and double stops do not
  move "the previous note".

`parse_measure` turns a measure into tokens; `decode` turns tokens back into notes over chords.
Nothing here reads files or knows about JAX.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
from collections.abc import Sequence

import numpy as np
from music21 import chord as m21chord
from music21 import interval as m21interval
from music21 import note as m21note
from music21 import scale as m21scale

KINDS = "RCSAX"
GRID = 0.25  # decoded durations are multiples of a sixteenth note
TOP_OCTAVE = 6  # decoded notes stay below C7; the seed had no ceiling and could drift off MIDI
_TOKEN = re.compile(r"([RCSAX]),(\d+\.\d+)(?:,<([^,<>]+),([^,<>]+)>)?")


# ---------------------------------------------------------------------------------------------
# Chords and the theory derived from them


@dataclasses.dataclass(frozen=True)
class Chord:
    """A chord sounding from `offset` (quarter notes from the start of its measure)."""

    offset: float
    pitches: tuple[str, ...]  # names with octave, e.g. ("E-4", "G4", "C4")

    @classmethod
    def from_music21(cls, chord: m21chord.Chord, offset: float) -> Chord:
        return cls(float(offset), tuple(p.nameWithOctave for p in chord.pitches))

    @property
    def harmony(self) -> Harmony:
        return harmony(self.pitches)


@dataclasses.dataclass(frozen=True)
class Harmony:
    """What the grammar needs to know of a chord, computed once per distinct chord."""

    names: frozenset[str]  # pitch names of the chord, without octave
    # Major scale if the chord is major, else Dorian, from music21's derive(): the first scale that
    # holds every chord pitch, as in the seed (for C major that is G major).
    scale_names: frozenset[str]
    midi: tuple[int, ...]  # the chord's pitches as MIDI numbers
    root: int  # pitch class of the chord's root (music21's root())
    pitch_classes: dict[str, frozenset[int]]  # candidate pitch classes per decoded token type


@functools.cache
def harmony(pitches: tuple[str, ...]) -> Harmony:
    """The theory of the chord made of `pitches` (names with octave), from music21."""
    chord = m21chord.Chord(list(pitches))
    scale = m21scale.MajorScale() if chord.quality == "major" else m21scale.DorianScale()
    scale_pitches = scale.derive(chord).getPitches()
    chord_pcs = frozenset(p.pitchClass for p in chord.pitches)
    return Harmony(
        names=frozenset(p.name for p in chord.pitches),
        scale_names=frozenset(p.name for p in scale_pitches),
        midi=tuple(p.midi for p in chord.pitches),
        root=chord.root().pitchClass,
        pitch_classes={
            "C": chord_pcs,
            "S": frozenset(p.pitchClass for p in scale_pitches),
            "A": frozenset((pc + step) % 12 for pc in chord_pcs for step in (-1, 1)),
            "X": frozenset(range(12)),
        },
    )


def chord_at(chords: Sequence[Chord], offset: float) -> Chord:
    """The last chord starting at or before `offset`; the first chord when none has started yet."""
    if not chords:
        raise ValueError("no chord sounds in this measure")
    sounding = [c for c in chords if c.offset <= offset + 1e-9]
    return sounding[-1] if sounding else chords[0]


# ---------------------------------------------------------------------------------------------
# Parsing: a measure of music21 elements -> tokens


def element_type(element: m21note.GeneralNote, chord: Chord) -> str:
    """R, C, S, A or X for a note, rest or double stop against the sounding chord."""
    if isinstance(element, m21note.Rest):
        return "R"
    if isinstance(element, m21chord.Chord):
        return "C"
    theory = chord.harmony
    if element.pitch.name in theory.names:
        return "C"
    if element.pitch.name in theory.scale_names:
        return "S"
    if element.pitch.pitchClass in theory.pitch_classes["A"]:
        return "A"
    return "X"


def interval_range(previous: m21note.Note, current: m21note.Note) -> str:
    """`<UP,DOWN>`: the interval previous -> current, plus and minus a minor third."""
    return _interval_range(previous.nameWithOctave, current.nameWithOctave)


@functools.cache  # music21 intervals are slow; a corpus of 200k notes has a few thousand pairs
def _interval_range(previous: str, current: str) -> str:
    step = m21interval.Interval(noteStart=m21note.Note(previous), noteEnd=m21note.Note(current))
    up = m21interval.add([step, "m3"])
    down = m21interval.subtract([step, "m3"])
    return f"<{up.directedName},{down.directedName}>"


def parse_measure(
    elements: Sequence[m21note.GeneralNote], chords: Sequence[Chord], measure_start: float
) -> list[str]:
    """Tokens of one measure.

    Args:
      elements: its notes, rests and double stops (music21), in order, with absolute offsets.
      chords: the chords of the measure, offsets relative to `measure_start`.
      measure_start: absolute offset of the measure's first beat.
    """
    tokens = []
    previous = None
    for element in elements:
        chord = chord_at(chords, float(element.offset) - measure_start)
        duration = float(element.quarterLength) or GRID
        token = f"{element_type(element, chord)},{duration:.3f}"
        if isinstance(element, m21note.Note):
            if previous is not None:
                token += "," + interval_range(previous, element)
            previous = element
        tokens.append(token)
    return tokens


# ---------------------------------------------------------------------------------------------
# Tokens


@dataclasses.dataclass(frozen=True)
class Token:
    """A parsed token. `steps` is the (low, high) semitone range from the previous note."""

    kind: str
    duration: float
    steps: tuple[int, int] | None

    @staticmethod
    @functools.cache
    def parse(text: str) -> Token:
        """Parses `text`; a malformed token raises a ValueError that names it."""
        match = _TOKEN.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(
                f"malformed grammar token {text!r}: expected TYPE,DURATION[,<UP,DOWN>]"
            )
        kind, duration, up, down = match.groups()
        if kind == "R" and up is not None:
            raise ValueError(f"malformed grammar token {text!r}: a rest has no interval range")
        steps = None
        if up is not None:
            low, high = sorted((_semitones(up, text), _semitones(down, text)))
            steps = (low, high)
        return Token(kind, float(duration), steps)


def with_duration(text: str, duration: float) -> str:
    """`text` with its duration replaced, e.g. ("S,0.333,<m3,m-3>", 0.25) -> "S,0.250,<m3,m-3>"."""
    Token.parse(text)  # validates
    kind, _, rest = text.partition(",")
    interval = rest.partition(",")[2]
    return f"{kind},{duration:.3f}" + (f",{interval}" if interval else "")


def onsets(tokens: Sequence[str]) -> list[float]:
    """Where each token of a measure starts: the summed durations of the tokens before it.

    Rounded to hundredths, so that three triplet eighths (0.333 each) reach the next beat.
    """
    starts = itertools.accumulate((Token.parse(t).duration for t in tokens), initial=0.0)
    return [round(onset, 2) for onset in list(starts)[:-1]]


@functools.cache
def _semitones(name: str, token: str) -> int:
    try:
        return int(m21interval.Interval(name).semitones)
    except Exception as e:  # music21 raises several types for a bad interval name
        raise ValueError(f"malformed grammar token {token!r}: bad interval {name!r}") from e


# ---------------------------------------------------------------------------------------------
# Decoding: tokens + chords -> notes


@dataclasses.dataclass(frozen=True)
class Event:
    """A decoded melody element: a note (`pitch` a MIDI number) or a rest (`pitch` None)."""

    offset: float  # quarter notes from the start of the measure
    duration: float
    pitch: int | None
    repaired: bool = False  # nothing of the token's type was in range: moved a whole step


def prune_durations(durations: Sequence[float], rng: np.random.Generator) -> list[float]:
    """Rounds each duration down or up (at random) to the grid; never below one grid step."""
    directions = rng.integers(0, 2, size=len(durations))
    rounded = [
        (math.ceil(d / GRID - 1e-6) if up else math.floor(d / GRID + 1e-6)) * GRID
        for d, up in zip(durations, directions, strict=True)
    ]
    return [max(d, GRID) for d in rounded]


def decode(
    tokens: Sequence[str],
    chords: Sequence[Chord],
    rng: np.random.Generator,
    *,
    approach_as_chord: bool = True,
    previous: int | None = None,
) -> list[Event]:
    """Notes and rests for `tokens` over `chords`, as the seed decodes them.

    Durations are pruned to the grid (`prune_durations`), so the events fill exactly the sum of the
    pruned durations. Each note picks a pitch of its type inside the interval range from the
    previous note (not repeating it when there is a choice; ±2 semitones when nothing fits); a
    repeated note is merged into the one before it.

    Args:
      tokens: grammar tokens; a malformed one raises ValueError.
      chords: the measure's chords, offsets relative to its start.
      rng: the only source of randomness: the same seed gives the same notes.
      approach_as_chord: decode A and X tokens as C tokens, as the seed does.
      previous: MIDI pitch of the note before the first token (None: start afresh).
    """
    parsed = [Token.parse(t) for t in tokens]
    durations = prune_durations([t.duration for t in parsed], rng)
    events: list[Event] = []
    offset = 0.0
    for token, duration in zip(parsed, durations, strict=True):
        pitch, repaired = None, False
        if token.kind != "R":
            kind = "C" if approach_as_chord and token.kind in "AX" else token.kind
            theory = chord_at(chords, offset).harmony
            if previous is None or token.steps is None:
                pitch = _first_pitch(kind, theory, rng)
            else:
                pitch, repaired = _next_pitch(kind, theory, previous, token.steps, rng)
            previous = pitch
        if events and pitch is not None and events[-1].pitch == pitch:
            last = events[-1]
            events[-1] = dataclasses.replace(
                last, duration=last.duration + duration, repaired=last.repaired or repaired
            )
        else:
            events.append(Event(offset, duration, pitch, repaired))
        offset += duration
    return events


def _first_pitch(kind: str, theory: Harmony, rng: np.random.Generator) -> int:
    """A pitch with no previous note: a chord pitch (C), or a pitch class of its type in the octave
    of a random chord pitch; never below octave 4 (nor above 6)."""
    pitch = int(rng.choice(theory.midi))
    if kind != "C":
        pitch = pitch // 12 * 12 + int(rng.choice(sorted(theory.pitch_classes[kind])))
    return _in_register(pitch, 4)


def _next_pitch(
    kind: str, theory: Harmony, previous: int, steps: tuple[int, int], rng: np.random.Generator
) -> tuple[int, bool]:
    """A pitch of its type within `steps` of `previous`, never below octave 3 (nor above 6), and
    whether it had to be repaired (nothing of its type in range)."""
    allowed = theory.pitch_classes[kind]
    candidates = [
        p for p in range(previous + steps[0], previous + steps[1] + 1) if p % 12 in allowed
    ]
    if len(candidates) > 1:
        pitch = int(rng.choice([p for p in candidates if p != previous]))
    elif candidates:
        pitch = candidates[0]
    else:
        return _in_register(previous + int(rng.choice((-2, 2))), 3), True
    return _in_register(pitch, 3), False


def _in_register(pitch: int, lowest_octave: int) -> int:
    """`pitch` moved by octaves into [lowest_octave, TOP_OCTAVE] (scientific octaves, C4 = 60)."""
    lowest = 12 * (lowest_octave + 1)
    if pitch < lowest:
        pitch = lowest + pitch % 12
    while pitch >= 12 * (TOP_OCTAVE + 2):
        pitch -= 12
    return pitch

"""Grammar v2: the notebook's token syntax, made to keep the music.

Tokens are the notebook's, `TYPE,DURATION` or `TYPE,DURATION,<UP,DOWN>`, with four changes:

* Durations lie on a grid of 1/12 beat, which holds sixteenths and triplets; a token's duration is
  an exact number of grid steps, so decoding never rounds at random. Onsets and ends off the grid
  are snapped to the nearest grid point and counted (`Parse.snapped`).
* A measure is one monophonic line (`line`): the upper voice wins where notes overlap, so a double
  stop is its top note, the lower of two voices is dropped where both sound, and a rest is only
  the gap the notes really leave. A note crossing the bar line ends there. Every measure's tokens
  add up to exactly 4 beats.
* `<UP,DOWN>` (the interval from the previous note, plus and minus a minor third, spelt as
  music21 spells the semitones) is carried across bar lines and rests: only the first note of a
  piece has none.
* TYPE comes from the chord-scale a jazz player would use over the chord (`SCALES`, chosen by
  `scale_name` from the chord's intervals above its music21 root): C chord tone, S a scale tone
  that is not a chord tone, A a semitone neighbour of a chord tone that is neither, X the rest.

Decoding (`decode`) draws each note from its type's own pitch classes inside the token's interval
range from the previous note, which carries across measures (`previous`), and inside the voice
`register`; `weights` says which candidates it prefers. An A resolves by a semitone to the next note
of its measure when the next token allows it.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from music21 import chord as m21chord
from music21 import interval as m21interval

from jazz_flax.grammar.notebook import Chord, Event, Token, chord_at

STEPS_PER_BEAT = 12  # the grid: 1/12 beat holds sixteenths (3 steps) and triplet eighths (4)
GRID = 1 / STEPS_PER_BEAT
MEASURE_STEPS = 4 * STEPS_PER_BEAT
DEFAULT_REGISTER = (55, 84)  # G3..C6, when no corpus gave one
REGISTER_PERCENTILES = (0.5, 99.5)  # the voice range learnt from a corpus' pitches
# Decoding prefers a candidate p by exp(-|p - previous| / MOVE_SPREAD): small moves first, but not
# always the nearest (that would flatten the line); one outside the register counts not at all.
MOVE_SPREAD = 3.0
EDGE = 4  # semitones at each end of the register that decoding leans away from (`weights`)

# Chord-scales as semitones above the chord's root.
SCALES = {
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "melodic minor": (0, 2, 3, 5, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "lydian dominant": (0, 2, 4, 6, 7, 9, 10),
    "altered": (0, 1, 3, 4, 6, 8, 10),
    "half-whole diminished": (0, 1, 3, 4, 6, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "whole-half diminished": (0, 2, 3, 5, 6, 8, 9, 11),
    "whole tone": (0, 2, 4, 6, 8, 10),
}


# ---------------------------------------------------------------------------------------------
# Chord-scales


def scale_name(intervals: frozenset[int]) -> str:
    """The chord-scale of a chord whose pitch classes lie `intervals` semitones above its root.

    maj/maj7/6 -> ionian (lydian with #11), augmented -> whole tone, m/m7/m6 -> dorian,
    m(maj7) -> melodic minor, m7b5 -> locrian, dim7 -> whole-half diminished, 7/sus -> mixolydian,
    7#11 -> lydian dominant, 7b9 -> half-whole diminished, 7#9/7b13/7alt -> altered.
    """
    if {3, 6, 9} <= intervals and not {4, 7, 10} & intervals:
        return "whole-half diminished"
    if 3 in intervals and 4 not in intervals:
        return _minor_scale(intervals)
    if 10 in intervals:
        return _dominant_scale(intervals)
    if 4 in intervals and 8 in intervals and 7 not in intervals:
        return "whole tone"
    return "lydian" if 6 in intervals and 4 in intervals else "ionian"


def _minor_scale(intervals: frozenset[int]) -> str:
    if 6 in intervals and 7 not in intervals:
        return "locrian"
    return "melodic minor" if 11 in intervals else "dorian"


def _dominant_scale(intervals: frozenset[int]) -> str:
    if {3, 8} & intervals:  # #9 (a minor third beside the major one) or b13
        return "altered"
    if 1 in intervals:
        return "half-whole diminished"
    return "lydian dominant" if 6 in intervals else "mixolydian"


@dataclasses.dataclass(frozen=True)
class ChordScale:
    """A chord's root, its chord-scale and the pitch classes of each token type over it."""

    root: int
    name: str
    pitch_classes: dict[str, frozenset[int]]  # "C", "S", "A", "X"

    def kind(self, pitch: int) -> str:
        return next(k for k in "CSAX" if pitch % 12 in self.pitch_classes[k])


@functools.cache
def chord_scale(pitches: tuple[str, ...]) -> ChordScale:
    """The ChordScale of the chord made of `pitches` (names with octave); music21 finds its root."""
    chord = m21chord.Chord(list(pitches))
    root = chord.root().pitchClass
    chord_pcs = frozenset(p.pitchClass for p in chord.pitches)
    name = scale_name(frozenset((pc - root) % 12 for pc in chord_pcs))
    scale = frozenset((root + step) % 12 for step in SCALES[name])
    approach = frozenset((pc + step) % 12 for pc in chord_pcs for step in (-1, 1))
    s = scale - chord_pcs
    a = approach - chord_pcs - s
    return ChordScale(
        root, name, {"C": chord_pcs, "S": s, "A": a, "X": frozenset(range(12)) - chord_pcs - s - a}
    )


def scale_at(chords: Sequence[Chord], offset: float) -> ChordScale:
    return chord_scale(chord_at(chords, offset).pitches)


# ---------------------------------------------------------------------------------------------
# Parsing: the notes of each measure -> one monophonic line -> tokens


class Note(NamedTuple):
    """A note on the grid: start and end in grid steps from the start of its measure."""

    start: int
    end: int
    pitch: int


def snap(beats: float) -> int:
    """`beats` in grid steps, to the nearest."""
    return round(beats * STEPS_PER_BEAT)


def on_grid(beats: float) -> bool:
    return math.isclose(beats * STEPS_PER_BEAT, snap(beats), abs_tol=1e-3)


def line(events: Sequence[Event]) -> tuple[list[Note], int]:
    """(The monophonic line of one measure's events, how many notes were snapped to the grid).

    Offsets are beats from the measure's start. Rests are ignored (the line's gaps are its rests);
    a note that starts while a higher one sounds is dropped, one that starts above a sounding note
    cuts it; notes end at the bar line; a note snapped to nothing is dropped.
    """
    notes = sorted((e for e in events if e.pitch is not None), key=lambda e: (e.offset, -e.pitch))
    result: list[Note] = []
    snapped = 0
    for event in notes:
        end = event.offset + event.duration
        snapped += not (on_grid(event.offset) and on_grid(end))
        note = Note(snap(event.offset), min(snap(end), MEASURE_STEPS), event.pitch)
        if note.end > note.start:
            _add_on_top(result, note)
    return result, snapped


def _add_on_top(result: list[Note], note: Note) -> None:
    """Appends `note` to the line unless a higher or equal note sounds then; cuts a lower one."""
    if result and note.start < result[-1].end:
        if note.pitch <= result[-1].pitch:
            return
        last = result.pop()
        if note.start > last.start:
            result.append(last._replace(end=note.start))
    result.append(note)


def line_events(notes: Sequence[Note]) -> list[Event]:
    """The line as Events: its notes and the rests between them, filling the measure exactly."""
    events, at = [], 0
    for note in [*notes, Note(MEASURE_STEPS, MEASURE_STEPS, None)]:
        if note.start > at:
            events.append(Event(at / STEPS_PER_BEAT, (note.start - at) / STEPS_PER_BEAT, None))
        if note.pitch is not None:
            duration = (note.end - note.start) / STEPS_PER_BEAT
            events.append(Event(note.start / STEPS_PER_BEAT, duration, note.pitch))
        at = max(at, note.end)
    return events


@functools.cache
def interval_range(steps: int) -> str:
    """`<UP,DOWN>` of a move of `steps` semitones: plus and minus a minor third, as music21 spells
    the semitones (a move of 6 is a d5, whatever the notes' spelling)."""
    up, down = (m21interval.Interval(steps + d).directedName for d in (3, -3))
    return f"<{up},{down}>"


def measure_tokens(
    events: Sequence[Event], chords: Sequence[Chord], previous: int | None
) -> list[str]:
    """Tokens of one measure's line (`line_events`); `previous`: the pitch of the note before."""
    tokens = []
    for event in events:
        kind = "R" if event.pitch is None else scale_at(chords, event.offset).kind(event.pitch)
        token = f"{kind},{event.duration:.3f}"
        if event.pitch is not None:
            token += "" if previous is None else "," + interval_range(event.pitch - previous)
            previous = event.pitch
        tokens.append(token)
    return tokens


class Parse(NamedTuple):
    """A piece in grammar v2."""

    measures: list[list[str]]  # the tokens of each measure
    melody: list[list[Event]]  # the line of each measure, its rests included
    snapped: int  # notes whose onset or end was off the grid


def parse(melody: Sequence[Sequence[Event]], chords: Sequence[Sequence[Chord]]) -> Parse:
    """Tokens and lines of consecutive measures (each its events and chords, offsets in beats from
    its start); the interval carries from measure to measure."""
    measures, lines, snapped, previous = [], [], 0, None
    for events, measure_chords in zip(melody, chords, strict=True):
        notes, snapped_here = line(events)
        lines.append(line_events(notes))
        measures.append(measure_tokens(lines[-1], measure_chords, previous))
        snapped += snapped_here
        previous = notes[-1].pitch if notes else previous
    return Parse(measures, lines, snapped)


def register(pitches: Sequence[int]) -> tuple[int, int]:
    """The voice range of a corpus: the REGISTER_PERCENTILES of its pitches."""
    if not len(pitches):
        return DEFAULT_REGISTER
    low, high = np.percentile(pitches, REGISTER_PERCENTILES)
    return int(math.floor(low)), int(math.ceil(high))


# ---------------------------------------------------------------------------------------------
# Decoding: tokens + chords -> notes


def prune_durations(durations: Sequence[float], rng: np.random.Generator) -> list[float]:
    """Each duration on the grid (its nearest point, at least one step); `rng` is not used."""
    del rng
    return [max(snap(d), 1) / STEPS_PER_BEAT for d in durations]


def weights(candidates: np.ndarray, previous: int, register: tuple[int, int]) -> np.ndarray:
    """How much decoding prefers each candidate pitch, normalised: exp(-|move| / MOVE_SPREAD),
    times exp(-depth / MOVE_SPREAD) for a pitch `depth` semitones into the register's outer
    EDGE semitones (so a line pressed against its top or bottom leans back in), 0 outside."""
    low, high = register
    inside = (candidates >= low) & (candidates <= high)
    depth = np.maximum(0, np.maximum(low + EDGE - candidates, candidates - (high - EDGE)))
    w = np.exp(-(np.abs(candidates - previous) + depth) / MOVE_SPREAD) * inside
    return w / w.sum()


class _Step(NamedTuple):
    """What picking one pitch needs to know."""

    allowed: frozenset[int]  # pitch classes of the token's type over its chord
    low: int  # the interval range, as pitches
    high: int


def decode(
    tokens: Sequence[str],
    chords: Sequence[Chord],
    rng: np.random.Generator,
    *,
    previous: int | None = None,
    register: tuple[int, int] = DEFAULT_REGISTER,
) -> list[Event]:
    """Notes and rests for `tokens` over `chords`, filling exactly the tokens' durations.

    Args:
      tokens: grammar tokens; a malformed one raises ValueError naming it.
      chords: the measure's chords, offsets relative to its start.
      rng: the only source of randomness: the same seed gives the same notes.
      previous: MIDI pitch of the note before the first token (None: none; start mid-register).
      register: (lowest, highest) MIDI pitch of the voice; every note lies inside.
    """
    parsed = [Token.parse(t) for t in tokens]
    durations = prune_durations([t.duration for t in parsed], rng)
    starts = list(itertools.accumulate((snap(d) for d in durations), initial=0))
    events, resolve_to = [], None
    for i, token in enumerate(parsed):
        pitch, repaired = None, False
        if token.kind != "R":
            step = _step(token, chords, starts[i], previous, register)
            if token.kind == "A":
                follow = _next_step(parsed, i, chords, starts, register)
                step = _resolvable(step, follow)
            pitch, repaired = _pick(step, previous, register, rng, resolve_to)
            resolve_to = (pitch - 1, pitch + 1) if token.kind == "A" else None
            previous = pitch
        events.append(Event(starts[i] / STEPS_PER_BEAT, durations[i], pitch, repaired))
    return events


def _step(token: Token, chords, start: int, previous: int | None, register) -> _Step:
    allowed = scale_at(chords, start / STEPS_PER_BEAT).pitch_classes[token.kind]
    if previous is None or token.steps is None:
        return _Step(allowed, *register)
    return _Step(allowed, previous + token.steps[0], previous + token.steps[1])


def _next_step(parsed: list[Token], i: int, chords, starts, register) -> _Step | None:
    """The kind and range of the note after token `i`, relative to token `i`'s pitch (so as a
    range of moves, `previous`=0); None when the next token is no note with a range."""
    if i + 1 >= len(parsed) or parsed[i + 1].kind == "R" or parsed[i + 1].steps is None:
        return None
    return _step(parsed[i + 1], chords, starts[i + 1], 0, register)


def _resolvable(step: _Step, follow: _Step | None) -> _Step:
    """`step` narrowed to the approach tones the next note can reach by a semitone, if any."""
    if follow is None:
        return step
    resolvable = frozenset(
        pc
        for pc in step.allowed
        for move in (-1, 1)
        if (pc + move) % 12 in follow.allowed and follow.low <= move <= follow.high
    )
    return step._replace(allowed=resolvable) if resolvable else step


def _pick(step: _Step, previous, register, rng, resolve_to) -> tuple[int, bool]:
    """A pitch for `step` and whether it had to be repaired (`_choices`)."""
    candidates, probabilities, repaired = _choices(step, previous, register, resolve_to)
    if probabilities is None:
        return int(candidates[0]), repaired
    return int(rng.choice(candidates, p=probabilities)), repaired


def _choices(step: _Step, previous, register, resolve_to):
    """(candidate pitches, their probabilities, whether repaired) of the decoder for `step`: the
    pitches of its type in range, weighted by `weights`; with none, the range an octave down or up
    (the same move, folded back into the register); with none there either, `_repair`'s one pitch
    (probabilities None: certain)."""
    centre = previous if previous is not None else sum(register) // 2
    for shift in (0, -12, 12):
        candidates = _candidates(step, shift, register)
        if resolve_to is not None and np.isin(candidates, resolve_to).any():
            candidates = candidates[np.isin(candidates, resolve_to)]
        if len(candidates):
            return candidates, weights(candidates, centre, register), shift != 0
    return np.array([_repair(step, register)]), None, True


def _candidates(step: _Step, shift: int, register) -> np.ndarray:
    """The pitches of the step's type in its range moved by `shift` semitones, in the register."""
    low, high = max(step.low + shift, register[0]), min(step.high + shift, register[1])
    return np.array([p for p in range(low, high + 1) if p % 12 in step.allowed], int)


def _repair(step: _Step, register) -> int:
    """The pitch of the step's type in the register nearest to its range; with none of the type
    at all, the nearest pitch of the register."""
    pitches = range(register[0], register[1] + 1)
    typed = [p for p in pitches if p % 12 in step.allowed] or list(pitches)
    return min(typed, key=lambda p: (max(step.low - p, p - step.high, 0), p))


# ---------------------------------------------------------------------------------------------
# Scoring: the decoder as a distribution over pitches

# A pitch the decoder cannot produce (outside its register or its token's range) gets this share
# of the probability, spread over the 128 MIDI pitches, so that every real note has a finite score.
OUTSIDE = 1e-3


def pitch_log_probs(
    tokens: Sequence[str],
    chords: Sequence[Chord],
    pitches: Sequence[int | None],
    *,
    previous: int | None = None,
    register: tuple[int, int] = DEFAULT_REGISTER,
) -> np.ndarray:
    """log p(pitch) of each note of a measure under `decode`'s distribution, given its token and
    the real pitches before it (`pitches`: the measure's real pitch per token, None for rests;
    `previous`: the real pitch before the measure). Rests score 0. Mixed with OUTSIDE / 128."""
    parsed = [Token.parse(t) for t in tokens]
    starts = list(itertools.accumulate((snap(t.duration) for t in parsed), initial=0))
    scores, resolve_to = np.zeros(len(parsed)), None
    for i, (token, pitch) in enumerate(zip(parsed, pitches, strict=True)):
        if token.kind == "R":
            continue
        step = _step(token, chords, starts[i], previous, register)
        if token.kind == "A":
            step = _resolvable(step, _next_step(parsed, i, chords, starts, register))
        scores[i] = _log_prob(pitch, *_choices(step, previous, register, resolve_to)[:2])
        resolve_to = (pitch - 1, pitch + 1) if token.kind == "A" else None
        previous = pitch
    return scores


def _log_prob(pitch: int, candidates: np.ndarray, probabilities: np.ndarray | None) -> float:
    """log of the decoder's probability of `pitch`, mixed with OUTSIDE spread over 128 pitches."""
    chosen = candidates == pitch
    p = chosen.astype(float) if probabilities is None else np.where(chosen, probabilities, 0.0)
    return float(np.log((1 - OUTSIDE) * p.sum() + OUTSIDE / 128))

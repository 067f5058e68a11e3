"""Context features: what a model conditioned on the music reads beside each token.

`data.context` names the parts (PARTS): the chord sounding (`chord_vector`: its 12 pitch classes,
multi-hot, then its root, one-hot), the next chord, the position in the bar on the 1/12-beat
grid, the whole beats until the next change and the tempo's bucket; `condition_on_chords` alone is
the chord. A corpus gives the context at each token's onset (`token_context`), `context_grid` at
every grid step of the measures a solo is sampled over (`sample.sample` reads it by position).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from jazz_flax import grammar, meter
from jazz_flax.windows import (
    CHANGE_CAP,
    CHORD_ALONE,
    CHORD_FEATURES,
    CONTEXT_STEPS,
    TEMPO_EDGES,
    width,
)


def chord_vector(chord: grammar.Chord) -> np.ndarray:
    """float32 (CHORD_FEATURES,): the chord's pitch classes (multi-hot), then its root (one-hot)."""
    return _chord_vector(chord.pitches).copy()


@functools.cache  # once per distinct chord; not `chord.harmony`, whose scale is slow to derive
def _chord_vector(pitches: tuple[str, ...]) -> np.ndarray:
    from music21 import chord as m21chord

    chord = m21chord.Chord(list(pitches))
    vector = np.zeros(CHORD_FEATURES, np.float32)
    vector[sorted({p.pitchClass for p in chord.pitches})] = 1.0
    vector[12 + chord.root().pitchClass] = 1.0
    return vector


# ---------------------------------------------------------------------------------------------
# Context: what a jazz player knows beside the chord (`data.context`, windows.PARTS)

DEFAULT_BPM = 130.0  # a piece that states no tempo: the notebook's

class Timeline(NamedTuple):
    """A piece's chords laid end to end: each change's beat from the start of its first measure,
    and the chord; a chord repeated at a bar line is no change."""

    beats: np.ndarray
    chords: tuple[grammar.Chord, ...]


def timeline(measure_chords: Sequence[Sequence[grammar.Chord]]) -> Timeline:
    """The Timeline of consecutive measures' chords (offsets within each measure)."""
    beats, chords = [], []
    for number, measure in enumerate(measure_chords):
        for chord in measure:
            if not chords or chord.pitches != chords[-1].pitches:
                beats.append(number * meter.BEATS + chord.offset)
                chords.append(chord)
    return Timeline(np.array(beats, np.float64), tuple(chords))


def context_vector(line: Timeline, beat: float, parts: Sequence[str], bpm: float) -> np.ndarray:
    """float32 (width(parts),): the context of a note starting `beat` beats into `line`."""
    now = max(int(np.searchsorted(line.beats, beat + 1e-6, side="right")) - 1, 0)
    later = now + 1 if now + 1 < len(line.chords) else None
    vectors = {
        "chord": lambda: chord_vector(line.chords[now]),
        "next_chord": lambda: _next_chord(line, later),
        "position": lambda: _position(beat),
        "to_change": lambda: _one_hot(_beats_to(line, later, beat), CHANGE_CAP + 1),
        "tempo": lambda: _one_hot(int(np.searchsorted(TEMPO_EDGES, bpm)), len(TEMPO_EDGES) + 1),
    }
    return np.concatenate([vectors[part]() for part in parts] or [np.zeros(0)], dtype=np.float32)


def _next_chord(line: Timeline, later: int | None) -> np.ndarray:
    return (
        np.zeros(CHORD_FEATURES, np.float32) if later is None else chord_vector(line.chords[later])
    )


def _beats_to(line: Timeline, later: int | None, beat: float) -> int:
    if later is None:
        return CHANGE_CAP
    return min(int(line.beats[later] - beat + 1e-6), CHANGE_CAP)


def _position(beat: float) -> np.ndarray:
    """The beat of the bar (one-hot) and the twelfth of the beat (one-hot) of `beat`."""
    step = round(beat * CONTEXT_STEPS) % (meter.BEATS * CONTEXT_STEPS)
    beat_of_bar, twelfth = divmod(step, CONTEXT_STEPS)
    return np.concatenate([_one_hot(beat_of_bar, meter.BEATS), _one_hot(twelfth, CONTEXT_STEPS)])


def _one_hot(index: int, size: int) -> np.ndarray:
    vector = np.zeros(size, np.float32)
    vector[index] = 1.0
    return vector


def piece_bpm(piece) -> float:
    """The tempo a piece states (`source["bpm"]`, as the WJazzD reader keeps it), else
    DEFAULT_BPM."""
    return float(piece.source.get("bpm", DEFAULT_BPM))


def token_context(piece, parts: Sequence[str]) -> np.ndarray:
    """float32 (len(piece.tokens), width(parts)): the context of each training token (every
    measure's but the first's) at its onset."""
    line, bpm = timeline(piece.chords), piece_bpm(piece)
    rows = [
        context_vector(line, number * meter.BEATS + onset, parts, bpm)
        for number, measure in enumerate(piece.measures[1:], start=1)
        for onset in grammar.onsets(measure)
    ]
    return np.array(rows, np.float32).reshape(-1, width(parts))


def context_grid(
    measure_chords: Sequence[Sequence[grammar.Chord]],
    parts: Sequence[str] = CHORD_ALONE,
    bpm: float = DEFAULT_BPM,
) -> np.ndarray:
    """float32 (n_measures, BEATS × CONTEXT_STEPS, width(parts)): the context at each 1/12-beat
    step of each measure a solo is sampled over (`sample.sample` reads it by position)."""
    line, steps = timeline(measure_chords), meter.BEATS * CONTEXT_STEPS
    return np.array(
        [
            [
                context_vector(line, m * meter.BEATS + s / CONTEXT_STEPS, parts, bpm)
                for s in range(steps)
            ]
            for m in range(len(measure_chords))
        ],
        np.float32,
    ).reshape(len(measure_chords), steps, width(parts))

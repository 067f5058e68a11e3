"""Chord features: the vector a chord-conditioned model reads beside each token.

`chord_vector` is a chord's 12 pitch classes (multi-hot), then its root (one-hot); a corpus gives
it for the chord sounding at each token's onset, `chord_grid` for every grid step of the measures a
solo is sampled over (`sample.sample` takes the grid as an array).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from jazz_flax import grammar, meter
from jazz_flax.windows import CHORD_FEATURES

STEPS = round(meter.BEATS / grammar.GRID)  # grid steps per measure: 16, as `sample.STEPS`


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


def chord_grid(
    measure_chords: Sequence[Sequence[grammar.Chord]],
    vector: Callable[[grammar.Chord], np.ndarray] = chord_vector,
) -> np.ndarray:
    """float32 (n_measures, STEPS, F): `vector` of the chord sounding at each grid step of each
    measure (`grammar.chord_at`: the last chord starting at or before the step)."""
    return np.asarray(
        [
            [vector(grammar.chord_at(chords, step * grammar.GRID)) for step in range(STEPS)]
            for chords in measure_chords
        ],
        np.float32,
    )

"""Chord features: the chord grid a chord-conditioned model is sampled over."""

import jax.numpy as jnp
import numpy as np

from jazz_flax import data, grammar, sample
from jazz_flax.data import features


def chord(offset: float, root: str) -> grammar.Chord:
    return grammar.Chord(offset, (f"{root}3", f"{root}4"))


def test_chord_grid_holds_the_chord_sounding_at_each_step():
    measures = [(chord(0.0, "C"), chord(2.0, "G")), (chord(1.0, "D"),)]
    grid = data.chord_grid(measures, lambda c: np.array([c.offset, len(c.pitches)]))
    assert grid.shape == (2, sample.STEPS, 2) and grid.dtype == np.float32
    assert grid[0, :, 0].tolist() == [0.0] * 8 + [2.0] * 8  # G from beat 2 (step 8)
    assert grid[1, :, 0].tolist() == [1.0] * 16  # before the first chord: the first chord


def test_the_sampler_reads_the_grid_on_the_grammars_grid():
    assert sample.GRID == grammar.GRID and sample.STEPS == features.STEPS == 16
    measures = [(chord(0.0, "C"), chord(3.0, "F")), (chord(0.0, "G"),)]
    grid = data.chord_grid(measures)  # chord_vector by default
    beats = jnp.array([0.0, 2.9, 3.0, 4.5], jnp.float32)
    read = np.asarray(sample.chords_at(jnp.asarray(grid), beats))
    expected = [data.chord_vector(c) for c in (measures[0][0], *measures[0], measures[1][0])]
    np.testing.assert_array_equal(read, np.array(expected))

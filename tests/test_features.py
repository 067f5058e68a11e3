"""Context features: the chord and the rest of a player's context, at each token and on the grid
a model is sampled over."""

import jax.numpy as jnp
import numpy as np
import pytest

from jazz_flax import config as config_lib
from jazz_flax import data, grammar, sample, windows
from jazz_flax.data import features
from jazz_flax.errors import JazzFlaxError


def chord(offset: float, root: str) -> grammar.Chord:
    return grammar.Chord(offset, (f"{root}3", f"{root}4"))


def test_the_grid_holds_the_chord_sounding_at_each_step():
    measures = [(chord(0.0, "C"), chord(2.0, "G")), (chord(1.0, "D"),)]
    grid = data.context_grid(measures)
    c, g, d = (data.chord_vector(chord(0.0, root)) for root in "CGD")
    assert grid.shape == (2, sample.STEPS, windows.CHORD_FEATURES) and grid.dtype == np.float32
    np.testing.assert_array_equal(grid[0], [c] * 24 + [g] * 24)  # G from beat 2 (step 24)
    np.testing.assert_array_equal(grid[1], [g] * 12 + [d] * 36)  # D from beat 1 of bar 2


def test_the_sampler_reads_the_grid_on_the_context_grid():
    assert sample.GRID == 1 / windows.CONTEXT_STEPS and sample.STEPS == 48
    measures = [(chord(0.0, "C"), chord(3.0, "F")), (chord(0.0, "G"),)]
    grid = data.context_grid(measures)
    beats = jnp.array([0.0, 2.9, 3.0, 4.5], jnp.float32)
    read = np.asarray(sample.chords_at(jnp.asarray(grid), beats))
    expected = [data.chord_vector(c) for c in (measures[0][0], *measures[0], measures[1][0])]
    np.testing.assert_array_equal(read, np.array(expected))


def test_context_parts_are_named_in_data_context():
    assert windows.context_parts("") == ()
    assert windows.context_parts(" tempo,chord ") == ("chord", "tempo")
    assert windows.width(("chord", "position", "to_change")) == 24 + 16 + 9
    with pytest.raises(JazzFlaxError, match="unknown context part 'meter'"):
        windows.context_parts("chord,meter")


def test_a_chord_repeated_at_the_bar_line_is_no_change():
    line = features.timeline([(chord(0.0, "C"),), (chord(0.0, "C"), chord(2.0, "F"))])
    assert line.beats.tolist() == [0.0, 6.0] and len(line.chords) == 2


def test_each_part_of_the_context():
    line = features.timeline([(chord(0.0, "C"),), (chord(0.0, "C"), chord(2.0, "F"))])
    parts = ("next_chord", "position", "to_change", "tempo")
    vector = features.context_vector(line, 1.0 + 4 / 12, parts, bpm=300.0)
    next_chord, position, to_change, tempo = np.split(vector, np.cumsum([24, 16, 9])[:])
    np.testing.assert_array_equal(next_chord, data.chord_vector(chord(0.0, "F")))
    assert np.flatnonzero(position).tolist() == [1, 4 + 4]  # beat 2 of the bar, its 5th twelfth
    assert np.flatnonzero(to_change).tolist() == [4]  # 4.67 beats to F at beat 6
    assert np.flatnonzero(tempo).tolist() == [5]  # ≥ 270 bpm
    last = features.context_vector(line, 7.0, parts, bpm=120.0)
    assert not last[:24].any() and last[24 + 16 + 8] == 1 and last[-6 + 1] == 1  # no next chord


def test_tokens_read_the_context_at_their_onsets():
    measures = (("R,4.000",), ("C,1.000", "C,0.500", "C,2.500"), ("C,4.000",))
    chords = ((chord(0.0, "C"),), (chord(0.0, "C"), chord(1.5, "F")), (chord(0.0, "G"),))
    piece = data.Piece(measures, chords, ((),) * 3, dict(bpm=200.0))
    parts = ("chord", "position", "to_change", "tempo")
    rows = features.token_context(piece, parts)
    line = features.timeline(chords)
    expected = [features.context_vector(line, b, parts, 200.0) for b in (4.0, 5.0, 5.5, 8.0)]
    np.testing.assert_array_equal(rows, expected)
    grid = data.context_grid(chords, parts, 200.0)
    np.testing.assert_array_equal(grid[1, 18], rows[2])  # beat 1.5 of bar 2: step 18


def test_a_corpus_with_a_context_gives_its_segments_the_context(tmp_path):
    from tests.music import write_solo

    config = config_lib.data_defaults()
    config.update(path=str(write_solo(tmp_path / "solo.musicxml")), start=0.0, end=16.0)
    config.context = "chord,position"
    corpus = data.get_corpus(config)
    assert corpus.context == ("chord", "position")
    assert corpus.segments[0].chords.shape == (len(corpus.tokens), 40)

import numpy as np
import pytest
from music21 import converter

from jazz_flax import data, generate, grammar, render
from jazz_flax.errors import JazzFlaxError
from tests.music import write_solo

STREAM = ["C,0.500", "S,1.333,<m2,P-4>", "R,0.250", "A,0.750,<M3,m-3>", "C,2.000,<P4,m-2>"] * 6


def beats(measure):
    return sum(grammar.Token.parse(t).duration for t in measure)


def test_parse_chords():
    measures = generate.parse_chords("Dm7 G7 Bbmaj7  F#m7b5")
    assert [m[0].pitches for m in measures] == [
        ("D3", "F3", "A3", "C4"),
        ("G2", "B2", "D3", "F3"),
        ("B-2", "D3", "F3", "A3"),
        ("F#2", "A2", "C3", "E3"),
    ]


@pytest.mark.parametrize("text", ["H7", "Dm7 xyz", "N.C.", "   "])
def test_bad_chord_text_is_a_clear_error(text):
    with pytest.raises(JazzFlaxError, match="chord"):
        generate.parse_chords(text)


def test_cut_into_measures_gives_four_beats_each():
    measures = generate.cut_into_measures(STREAM, 5, np.random.default_rng(0))
    assert len(measures) == 5
    assert all(beats(m) == 4.0 for m in measures)
    assert measures[0][0] == "C,0.500"


def test_short_stream_is_padded_with_rests():
    measures = generate.cut_into_measures(
        ["C,1.000", "S,1.000,<m3,m-3>"], 3, np.random.default_rng(0)
    )
    assert measures == [["C,1.000", "S,1.000,<m3,m-3>", "R,2.000"], ["R,4.000"], ["R,4.000"]]


def test_token_crossing_the_bar_line_is_truncated():
    measures = generate.cut_into_measures(
        ["C,3.000", "S,2.000,<m3,m-3>", "R,4.000"], 2, np.random.default_rng(0)
    )
    assert measures == [["C,3.000", "S,1.000,<m3,m-3>"], ["R,4.000"]]


def test_tokens_needed_fill_the_measures_even_at_the_shortest_duration():
    stream = ["C,0.083"] * generate.tokens_needed(3)
    measures = generate.cut_into_measures(stream, 3, np.random.default_rng(0))
    assert all(not t.startswith("R") for m in measures for t in m)


def test_measures_mode_midi_has_whole_measures_and_no_overlaps(tmp_path):
    chords = generate.parse_chords("Dm7 G7 Cmaj7 Cmaj7 A7")
    rng = np.random.default_rng(3)
    measures = generate.cut_into_measures(STREAM, len(chords), rng)
    solo = generate.solo_from_measures(measures, chords, rng)
    assert solo.length == 20.0
    path = render.write_midi(solo, tmp_path / "solo.mid")
    melody = converter.parse(str(path)).parts[0]
    melody_measures = list(melody.getElementsByClass("Measure"))
    assert len(melody_measures) == 5
    assert all(m.duration.quarterLength == 4.0 for m in melody_measures)
    notes = list(melody.flatten().notes)
    ends = [float(n.offset + n.quarterLength) for n in notes]
    assert all(end <= float(nxt.offset) for end, nxt in zip(ends, notes[1:], strict=False))
    assert notes and max(ends) <= 20.0


def test_same_seed_same_solo():
    chords = generate.parse_chords("Dm7 G7 Cmaj7")

    def make(seed):
        rng = np.random.default_rng(seed)
        return generate.solo_from_measures(generate.cut_into_measures(STREAM, 3, rng), chords, rng)

    assert make(5) == make(5)


def test_notebook_solo_lays_segments_four_beats_apart():
    chords = generate.parse_chords("C Dm7 G7 Cmaj7 A7 Dm7 G7")
    segments = [STREAM[:10]] * 3
    solo = generate.notebook_solo(segments, chords, np.random.default_rng(0))
    assert [c.offset for c in solo.chords] == [0.0, 4.0, 8.0]
    assert solo.chords[1].pitches == chords[2][0].pitches
    assert {0.0, 4.0, 8.0} <= {n.offset for n in solo.notes}
    # 11 tokens do not fit 4 beats: segments overlap, as in the seed
    assert solo.length > 12.0


def test_notebook_segment_count_is_the_seeds():
    assert generate.notebook_segments(19) == 5


def test_corpus_solo_lays_the_measures_end_to_end(tmp_path):
    path = write_solo(tmp_path / "solo.musicxml")
    corpus = data.load_corpus(path, start=0.0, end=16.0, cache_dir=tmp_path)
    solo = generate.corpus_solo(corpus)
    assert solo.length == 16.0
    assert [c.offset for c in solo.chords] == [0.0, 4.0, 8.0, 10.0, 12.0]
    assert [n.offset for n in solo.notes if 4.0 <= n.offset < 8.0] == [4.0, 5.0, 6.0, 7.0]

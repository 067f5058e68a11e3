"""A solo from tokens: streams cut into 4-beat measures, decoded over their chords, laid out."""

import numpy as np
from music21 import converter

from jazz_flax import data, grammar
from jazz_flax.music import render, solo
from jazz_flax.music.chords import parse_chords
from tests.music import write_solo

STREAM = ["C,0.500", "S,1.333,<m2,P-4>", "R,0.250", "A,0.750,<M3,m-3>", "C,2.000,<P4,m-2>"] * 6


def beats(measure):
    return sum(grammar.Token.parse(t).duration for t in measure)


def test_cut_into_measures_gives_four_beats_each():
    measures = solo.cut_into_measures(STREAM, 5, np.random.default_rng(0))
    assert len(measures) == 5
    assert all(beats(m) == 4.0 for m in measures)
    assert measures[0][0] == "C,0.500"


def test_short_stream_is_padded_with_rests():
    measures = solo.cut_into_measures(["C,1.000", "S,1.000,<m3,m-3>"], 3, np.random.default_rng(0))
    assert measures == [["C,1.000", "S,1.000,<m3,m-3>", "R,2.000"], ["R,4.000"], ["R,4.000"]]


def test_token_crossing_the_bar_line_is_truncated():
    measures = solo.cut_into_measures(
        ["C,3.000", "S,2.000,<m3,m-3>", "R,4.000"], 2, np.random.default_rng(0)
    )
    assert measures == [["C,3.000", "S,1.000,<m3,m-3>"], ["R,4.000"]]


def test_tokens_needed_fill_the_measures_even_at_the_shortest_duration():
    stream = ["C,0.083"] * solo.tokens_needed(3)
    measures = solo.cut_into_measures(stream, 3, np.random.default_rng(0))
    assert all(not t.startswith("R") for m in measures for t in m)


def test_measures_mode_midi_has_whole_measures_and_no_overlaps(tmp_path):
    chords = parse_chords("Dm7 G7 Cmaj7 Cmaj7 A7")
    rng = np.random.default_rng(3)
    measures = solo.cut_into_measures(STREAM, len(chords), rng)
    played = solo.decode(measures, chords, rng)
    assert played.length == 20.0
    path = render.write_midi(played, tmp_path / "solo.mid")
    melody = converter.parse(str(path)).parts[0]
    melody_measures = list(melody.getElementsByClass("Measure"))
    assert len(melody_measures) == 5
    assert all(m.duration.quarterLength == 4.0 for m in melody_measures)
    notes = list(melody.flatten().notes)
    ends = [float(n.offset + n.quarterLength) for n in notes]
    assert all(end <= float(nxt.offset) for end, nxt in zip(ends, notes[1:], strict=False))
    assert notes and max(ends) <= 20.0


def test_same_seed_same_solo():
    chords = parse_chords("Dm7 G7 Cmaj7")

    def make(seed):
        rng = np.random.default_rng(seed)
        return solo.decode(solo.cut_into_measures(STREAM, 3, rng), chords, rng)

    assert make(5) == make(5)


def test_notebook_solo_lays_segments_four_beats_apart():
    chords = parse_chords("C Dm7 G7 Cmaj7 A7 Dm7 G7")
    segments = [STREAM[:10]] * 3
    played = solo.notebook(segments, chords, np.random.default_rng(0))
    assert [c.offset for c in played.chords] == [0.0, 4.0, 8.0]
    assert played.chords[1].pitches == chords[2][0].pitches
    assert {0.0, 4.0, 8.0} <= {n.offset for n in played.notes}
    # 11 tokens do not fit 4 beats: segments overlap, as in the seed
    assert played.length > 12.0


def test_notebook_segment_count_is_the_seeds():
    assert solo.notebook_segments(19) == 5


def test_corpus_solo_lays_the_measures_end_to_end(tmp_path):
    path = write_solo(tmp_path / "solo.musicxml")
    corpus = data.load_corpus(path, start=0.0, end=16.0, cache_dir=tmp_path)
    played = solo.of_corpus(corpus)
    assert played.length == 16.0
    assert [c.offset for c in played.chords] == [0.0, 4.0, 8.0, 10.0, 12.0]
    assert [n.offset for n in played.notes if 4.0 <= n.offset < 8.0] == [4.0, 5.0, 6.0, 7.0]


def test_the_improvisation_continues_from_the_openings_last_note():
    chords = parse_chords("C")
    opening = [(grammar.Event(0.0, 4.0, 64),)]  # E4
    played = solo.decode(
        [["C,4.000,<m2,m3>"]],
        chords,
        np.random.default_rng(0),
        previous=solo.last_pitch(opening),
    )
    assert [n.pitch for n in played.notes] == [67]  # the one chord tone 1 to 3 semitones above E4


def test_from_stream_cuts_the_stream_into_the_changes_measures_then_decodes_them():
    chords = parse_chords("Dm7 G7 | Cmaj7 | A7")
    measures, played = solo.from_stream(STREAM, chords, np.random.default_rng(1), bpm=90.0)
    rng = np.random.default_rng(1)  # the same draws, in the same order
    assert measures == solo.cut_into_measures(STREAM, 3, rng)
    assert played == solo.decode(measures, chords, rng, bpm=90.0)
    assert played.length == 12.0 and played.bpm == 90.0


def test_joined_plays_the_second_solo_after_the_firsts_whole_measures():
    first = solo.lay_out([[grammar.Event(0.0, 1.0, 60)]], parse_chords("C"))
    second = solo.lay_out([[grammar.Event(0.0, 4.0, 62)]] * 2, parse_chords("Dm7 G7"))
    both = solo.joined(first, second)
    assert [(n.offset, n.pitch) for n in both.notes] == [(0.0, 60), (4.0, 62), (8.0, 62)]
    assert [c.offset for c in both.chords] == [0.0, 4.0, 8.0] and both.length == 12.0

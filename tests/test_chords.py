"""Lead-sheet chord text (`--chords`) read into each measure's chords."""

import pytest

from jazz_flax.errors import JazzFlaxError
from jazz_flax.music import render
from jazz_flax.music.chords import parse_chords


def test_parse_chords():
    measures = parse_chords("Dm7 G7 Bbmaj7  F#m7b5")
    assert [m[0].pitches for m in measures] == [
        ("D3", "F3", "A3", "C4"),
        ("G2", "B2", "D3", "F3"),
        ("B-2", "D3", "F3", "A3"),
        ("F#2", "A2", "C3", "E3"),
    ]


def names(measures):
    """Each measure's (offset, chord name)."""
    return [[(c.offset, render.chord_name(c)) for c in measure] for measure in measures]


def test_bars_share_their_beats_among_their_chords():
    measures = parse_chords("Dm7 G7 | Cmaj7 | A7alt | Dm7:3 G7:1 |")
    assert names(measures[:2] + measures[3:]) == [
        [(0.0, "Dm7"), (2.0, "G7")],
        [(0.0, "Cmaj7")],
        [(0.0, "Dm7"), (3.0, "G7")],
    ]
    assert measures[2][0].pitches == ("A2", "C#3", "E#3", "G3", "B#3")  # 7alt read as 7#5#9
    assert [c.offset for c in parse_chords("C D E")[0]] == [0.0]  # the older form
    assert [c.offset for c in parse_chords("C D E |")[0]] == [0.0, 1.25, 2.75]  # on grid


def test_no_chord_leaves_the_chord_before_sounding():
    measures = parse_chords("N.C. | Dm7 NC | N.C. | G7:1 N.C.:3")
    assert names(measures) == [[(0.0, "Dm7")], [(0.0, "Dm7")], [(0.0, "Dm7")], [(0.0, "G7")]]


@pytest.mark.parametrize(
    "text, message",
    [
        ("H7", "bad chord symbol 'H7'"),
        ("Dm7 xyz", "bad chord symbol 'xyz'"),
        ("N.C.", "the chords are all N.C."),
        ("   ", "no chords given"),
        ("Dm7 || G7", "bar 2 of the chords is empty"),
        ("Dm7:x G7", "bad chord weight in 'Dm7:x'"),
        ("Dm7:0 G7", "bad chord weight in .Dm7:0."),
        ("Dm7:inf G7", "bad chord weight in .Dm7:inf."),
        ("C:1 D:1 E:100", "'C:1' in bar 1 gets no time"),
        ("Dm7:1000 G7:1", "'G7:1' in bar 1 gets no time"),  # it rounded to beat 4 of 4
        ("C | C D E F G A B C D E F G A B C D E F", "in bar 2 gets no time"),
    ],
)
def test_bad_chord_text_is_a_clear_error(text, message):
    with pytest.raises(JazzFlaxError, match=message):
        parse_chords(text)

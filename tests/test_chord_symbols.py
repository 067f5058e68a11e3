"""Jazzomat chord symbols (the Weimar Jazz Database's) as pitches, by the tables."""

import pytest

from jazz_flax.data import chord_symbols
from jazz_flax.errors import JazzFlaxError


@pytest.mark.parametrize(
    ("symbol", "pitch_classes"),
    [
        ("Bb6", {10, 2, 5, 7}),
        ("C-7", {0, 3, 7, 10}),
        ("Fj7", {5, 9, 0, 4}),
        ("F7alt", {5, 9, 3, 6, 8, 11, 1}),
        ("Ab79b", {8, 0, 3, 6, 9}),
        ("Dm7b5", {2, 5, 8, 0}),
        ("Co7", {0, 3, 6, 9}),
        ("Gsus7913", {7, 0, 2, 5, 9, 4}),
        ("F-7/Bb", {10, 5, 8, 0, 3}),
        ("E+", {4, 8, 0}),
    ],
)
def test_chord_symbols_parse_by_the_tables(symbol, pitch_classes):
    midi = chord_symbols.chord_midi(symbol)
    assert {m % 12 for m in midi} == pitch_classes


def test_an_unknown_chord_symbol_names_itself_and_its_file():
    with pytest.raises(JazzFlaxError, match=r"'Cmaj7' in solo_beattrack.csv"):
        chord_symbols.parse_chord("Cmaj7", 0.0, "solo_beattrack.csv")

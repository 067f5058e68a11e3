"""Chord symbols in the Jazzomat notation of the Weimar Jazz Database, as grammar chords.

A symbol is a root, an optional quality (`-` minor, `+` augmented, `o` diminished, `sus`, `m7b5`),
a seventh or sixth (`6`, `7`, `j7` major, `7alt`), extensions (9 11 13 with b or #) and an
optional /bass, e.g. `Ab79b` (A♭7♭9) or `F-7/Bb`; `NC` is no chord.
"""

from __future__ import annotations

import functools
import re

from music21 import pitch as m21pitch

from jazz_flax import grammar
from jazz_flax.errors import JazzFlaxError

NO_CHORD = "NC"
ROOTS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ACCIDENTALS = {"": 0, "b": -1, "#": 1}
TRIADS = {  # semitones above the root
    "": (4, 7),
    "-": (3, 7),
    "+": (4, 8),
    "o": (3, 6),
    "sus": (5, 7),
    "m7b5": (3, 6, 10),  # half-diminished: its seventh is part of the name
}
SEVENTHS = {"": (), "6": (9,), "7": (10,), "j7": (11,)}
DIMINISHED_SEVENTH = 9  # `o7`: the seventh of a diminished triad is diminished
ALTERED = (4, 10, 13, 15, 18, 20)  # `7alt`: 3, b7, b9, #9, #11 (b5), b13; no fifth
EXTENSIONS = {"9": 14, "9b": 13, "9#": 15, "11": 17, "11#": 18, "13": 21, "13b": 20}
_SYMBOL = re.compile(
    r"(?P<root>[A-G][b#]?)(?P<triad>m7b5|-|\+|o|sus)?(?P<seventh>j7|7alt|7|6)?"
    r"(?P<extensions>(?:(?:9|11|13)[b#]?)*)(?:/(?P<bass>[A-G][b#]?))?"
)
_EXTENSION = re.compile(r"(?:9|11|13)[b#]?")


def pitch_class(name: str) -> int:
    """`Bb` -> 10, `F#` -> 6."""
    return (ROOTS[name[0]] + ACCIDENTALS[name[1:]]) % 12


@functools.cache
def chord_midi(symbol: str) -> tuple[int, ...] | None:
    """MIDI pitches of a Jazzomat chord symbol, root in octave 3 (a /bass below it); None for
    NC or a symbol the tables do not cover."""
    match = _SYMBOL.fullmatch(symbol)
    if match is None:
        return None
    triad, seventh = match["triad"] or "", match["seventh"] or ""
    if seventh == "7alt":
        intervals = ALTERED if triad == "" else None
    else:
        sevenths = (DIMINISHED_SEVENTH,) if (triad, seventh) == ("o", "7") else SEVENTHS[seventh]
        intervals = TRIADS[triad] + sevenths
    if intervals is None:
        return None
    extensions = tuple(EXTENSIONS[e] for e in _EXTENSION.findall(match["extensions"]))
    root = 48 + pitch_class(match["root"])
    bass = (36 + pitch_class(match["bass"]),) if match["bass"] else ()
    return (*bass, root, *(root + i for i in intervals + extensions))


def parse_chord(symbol: str, offset: float, where: str) -> grammar.Chord:
    """The grammar chord of a Jazzomat symbol, e.g. `Ab79b` (A♭7♭9) or `F-7/Bb`.

    Pitches are spelt as music21 spells MIDI numbers, as the melody's are. An unknown symbol is a
    JazzFlaxError naming it and `where` it was found.
    """
    midi = chord_midi(symbol)
    if midi is None:
        raise JazzFlaxError(
            f"unknown chord symbol {symbol!r} in {where}",
            hint="WJazzD symbols are root, quality (- + o sus m7b5), 6/7/j7/7alt, 9 11 13 "
            "with b or #, /bass",
        )
    return grammar.Chord(offset, tuple(_pitch_name(m) for m in midi))


@functools.cache
def _pitch_name(midi: int) -> str:
    return m21pitch.Pitch(midi=midi).nameWithOctave

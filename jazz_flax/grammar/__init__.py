"""The jazz grammars: melody <-> tokens `TYPE,DURATION[,<UP,DOWN>]`, chosen by `data.grammar`.

* `notebook` (jazz_flax.grammar.notebook): the seed notebook's grammar, kept exactly; its names are
  this package's (`grammar.decode`, `grammar.parse_measure`, `grammar.Chord`, ...).
* `v2` (jazz_flax.grammar.v2): the same token syntax on a grid of sixteenths and triplets, a
  monophonic line, intervals carried across bar lines and types from chord-scales.
* `pitch` and `pitch_relative` (jazz_flax.grammar.pitch): v2's line, each note its pitch (or its
  interval above the chord root and its octave) and its duration; nothing decoded at random.

v2 and the pitch grammars tokenise a line of notes (`parse_line`); the notebook grammar parses
music21 elements (`parse_measure`).

`rules(name, register)` gives what generating with a grammar needs; `python -m
jazz_flax.music.roundtrip` measures how much of a solo survives a grammar.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from jazz_flax.errors import JazzFlaxError
from jazz_flax.grammar import notebook, pitch, v2
from jazz_flax.grammar.notebook import *  # noqa: F403 (the notebook grammar is the package's)
from jazz_flax.grammar.notebook import GRID, Token, decode, prune_durations

LINE_PARSERS = {  # the grammars that tokenise v2's monophonic line: (melody, chords) -> v2.Parse
    "v2": v2.parse,
    "pitch": pitch.parse,
    "pitch_relative": functools.partial(pitch.parse, relative=True),
}
GRAMMARS = ("notebook", *LINE_PARSERS)


class Rules(NamedTuple):
    """What turns sampled tokens of one grammar into notes."""

    name: str
    grid: float  # the shortest duration a token decodes to, in beats
    prune_durations: Callable[[Sequence[float], np.random.Generator], list[float]]
    decode: Callable[..., list]  # (tokens, chords, rng, *, previous=None) -> list[Event]


def check_name(name: str) -> str:
    """`name` if it names a grammar, else a JazzFlaxError."""
    if name not in GRAMMARS:
        raise JazzFlaxError(f"unknown grammar {name!r}", hint=f"use one of {', '.join(GRAMMARS)}")
    return name


def rules(name: str = "notebook", register: tuple[int, int] | None = None) -> Rules:
    """The rules of grammar `name`; v2 decodes inside `register` (None: v2.DEFAULT_REGISTER)."""
    if check_name(name) == "notebook":
        return Rules(name, GRID, prune_durations, decode)
    if name in pitch.NAMES:
        return Rules(name, pitch.GRID, v2.prune_durations, pitch.decode)
    decode_v2 = functools.partial(v2.decode, register=tuple(register or v2.DEFAULT_REGISTER))
    return Rules(name, v2.GRID, v2.prune_durations, decode_v2)


def parse_line(name: str, melody, chords) -> v2.Parse:
    """Tokens and lines of consecutive measures in the line grammar `name` (`LINE_PARSERS`)."""
    return LINE_PARSERS[check_name(name)](melody, chords)


def with_duration(token: str, duration: float) -> str:
    """`token` of any grammar with its duration replaced (`notebook.with_duration`)."""
    if token.startswith("N,"):
        return pitch.with_duration(token, duration)
    return notebook.with_duration(token, duration)


def duration(token: str) -> float:
    """A token's duration in beats, in any grammar (a rest is written alike in all)."""
    return pitch.duration(token) if token.startswith("N,") else Token.parse(token).duration


class Shape(NamedTuple):
    """What a token of any grammar says, for finding the nearest value to one (`primer`)."""

    kind: str  # R C S A X (notebook, v2) or R N (pitch)
    where: tuple[int, int] | int | None  # the interval range, or the pitch (as one number)
    duration: float


def shape(token: str) -> Shape:
    """The Shape of `token`; a malformed one raises a ValueError that names it."""
    if not token.startswith("N,"):
        parsed = Token.parse(token)
        return Shape(parsed.kind, parsed.steps, parsed.duration)
    element = pitch.parse_token(token)
    where = element.pitch if element.pitch is not None else 12 * element.octave + element.interval
    return Shape("N", where, element.duration)


def onsets(tokens: Sequence[str]) -> list[float]:
    """Where each token of a measure starts, in any grammar: the summed durations of the tokens
    before it, rounded to hundredths (three triplet eighths, 0.333 each, reach the next beat)."""
    starts = itertools.accumulate(map(duration, tokens), initial=0.0)
    return [round(onset, 2) for onset in list(starts)[:-1]]


NOTEBOOK = rules("notebook")

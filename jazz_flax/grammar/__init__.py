"""The jazz grammars: melody <-> tokens `TYPE,DURATION[,<UP,DOWN>]`, chosen by `data.grammar`.

* `notebook` (jazz_flax.grammar.notebook): the seed notebook's grammar, kept exactly; its names are
  this package's (`grammar.decode`, `grammar.parse_measure`, `grammar.Chord`, ...).
* `v2` (jazz_flax.grammar.v2): the same token syntax on a grid of sixteenths and triplets, a
  monophonic line, intervals carried across bar lines and types from chord-scales.

`rules(name, register)` gives what generating with a grammar needs; `python -m
jazz_flax.music.roundtrip` measures how much of a solo survives a grammar.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from jazz_flax.errors import JazzFlaxError
from jazz_flax.grammar import v2
from jazz_flax.grammar.notebook import *  # noqa: F403 (the notebook grammar is the package's)
from jazz_flax.grammar.notebook import GRID, decode, prune_durations

GRAMMARS = ("notebook", "v2")


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
    decode_v2 = functools.partial(v2.decode, register=tuple(register or v2.DEFAULT_REGISTER))
    return Rules(name, v2.GRID, v2.prune_durations, decode_v2)


NOTEBOOK = rules("notebook")

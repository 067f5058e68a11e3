"""The vocabulary: a corpus' distinct token values, sorted, with the grammar that made them.

Ids never depend on hashing or file order. Built with a `min_count` (a corpus split by piece),
tokens seen fewer times, and tokens outside it, are UNK.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
from collections.abc import Iterable

import numpy as np

from jazz_flax import grammar

UNK = "<unk>"  # the value of tokens outside a vocabulary built with a min_count


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """The distinct token values, sorted, so ids never depend on hashing or file order, and the
    grammar that made them (with v2, the corpus' voice range its decoder keeps to)."""

    values: tuple[str, ...]
    grammar: str = "notebook"
    register: tuple[int, int] | None = None  # v2: lowest and highest MIDI pitch

    @classmethod
    def from_tokens(cls, tokens: Iterable[str], grammar: str = "notebook", register=None):
        return cls(tuple(sorted(set(tokens))), grammar, register)

    @property
    def rules(self) -> grammar.Rules:
        """How this vocabulary's tokens decode (`grammar.rules`)."""
        return grammar.rules(self.grammar, self.register)

    def __len__(self) -> int:
        return len(self.values)

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {value: i for i, value in enumerate(self.values)}

    @classmethod
    def from_counts(
        cls, tokens: Iterable[str], min_count: int, grammar: str = "notebook", register=None
    ) -> Vocabulary:
        """The tokens seen at least `min_count` times, and UNK for the others."""
        counts = collections.Counter(tokens)
        values = tuple(sorted({t for t, n in counts.items() if n >= min_count} | {UNK}))
        return cls(values, grammar, register)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """int32 ids of `tokens`; a token outside the vocabulary is UNK's id when the vocabulary
        has UNK, else a ValueError naming it."""
        index, unknown = self._index, self._index.get(UNK)
        try:
            return np.array(
                [index.get(t, unknown) if unknown is not None else index[t] for t in tokens],
                np.int32,
            )
        except KeyError as e:
            raise ValueError(f"token {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.values[int(i)] for i in ids]

    def playable(self, ids: Iterable[int]) -> list[str]:
        """`decode`, without UNK: the tokens a solo can be made of."""
        return [token for token in self.decode(ids) if token != UNK]

    @functools.cached_property
    def durations(self) -> np.ndarray:
        """float32 (V,): each value's duration in beats (a line grammar's exactly, not to three
        decimals; UNK's 0)."""
        durations = [0.0 if v == UNK else grammar.duration(v) for v in self.values]
        if self.grammar != "notebook":
            durations = grammar.v2.prune_durations(durations, rng=None)
        return np.array(durations, np.float32)

    @functools.cached_property
    def pitch_groups(self) -> np.ndarray | None:
        """int32 (V,): each note value's pitch (its MIDI number, or its interval above the root and
        its octave), numbered 0, 1, … whatever the duration; −1 for rests and UNK. None for a
        grammar whose tokens name no pitch (notebook, v2)."""
        if self.grammar not in grammar.pitch.NAMES:
            return None
        pitches = [grammar.shape(v).where if v.startswith("N,") else None for v in self.values]
        numbers = {p: i for i, p in enumerate(sorted({p for p in pitches if p is not None}))}
        return np.array([-1 if p is None else numbers[p] for p in pitches], np.int32)

    def to_json(self) -> str:
        fields = {"values": list(self.values), "grammar": self.grammar}
        return json.dumps(fields | ({"register": list(self.register)} if self.register else {}))

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        fields = json.loads(text)  # a vocabulary saved before grammars were chosen is notebook's
        register = fields.get("register")
        return cls(
            tuple(fields["values"]),
            fields.get("grammar", "notebook"),
            tuple(register) if register else None,
        )

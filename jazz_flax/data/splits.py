"""A corpus split by piece into train, valid and test (`data.split_seed`), the vocabulary the
training split's.

Pieces with the same `data.split_by` source field (each file on its own by default, or e.g. one
performer's solos, or every take of one tune by every performer: WJazzD's "tune", no test tune
heard in training) go to the same split; the splits are deterministic in the seed.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence

import ml_collections
import numpy as np

from jazz_flax.data.corpus import Corpus, Piece
from jazz_flax.data.vocab import UNK, Vocabulary
from jazz_flax.errors import JazzFlaxError
from jazz_flax.windows import Segment

SPLITS = ("train", "valid", "test")
SPLIT_BY = ("path", "performer", "tune")  # data.split_by: the source fields that group pieces


@dataclasses.dataclass(frozen=True)
class SplitCorpus(Corpus):
    """A corpus split by piece into SPLITS; the vocabulary is the training split's.

    Training tokens seen fewer than `min_count` times, and tokens of the other splits outside the
    vocabulary, are UNK. `split()` gives the training segments and the test split's, so that
    training and `evaluate` use the test split as they use held-out measures.
    """

    indices: Mapping[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    min_count: int = 1

    @classmethod
    def from_config(cls, corpus: Corpus, data_config: ml_collections.ConfigDict) -> SplitCorpus:
        keys = [piece.source[_split_key(data_config, piece)] for piece in corpus.pieces]
        valid, test = (
            data_config.valid_fraction,
            data_config.test_fraction,
        )
        indices = split_indices(keys, data_config.split_seed, valid, test)
        if not indices["train"]:
            raise JazzFlaxError(
                "the training split is empty: the test and validation splits took all the "
                f"corpus' pieces ({len(set(keys))} by {data_config.split_by})",
                hint="a split needs 3 groups at least: read more pieces, lower "
                "data.valid_fraction and data.test_fraction, or train on one corpus",
            )
        min_count = data_config.min_count
        return cls(
            corpus.pieces, indices, min_count, report=corpus.report, context=corpus.context
        )

    def pieces_of(self, split: str) -> list[Piece]:
        return [self.pieces[i] for i in self.indices[split]]

    def tokens_of(self, split: str) -> list[str]:
        return [token for piece in self.pieces_of(split) for token in piece.tokens]

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        """The training split's tokens seen `min_count` times, UNK; with v2 its voice range."""
        register = self.register_of(self.pieces_of("train"))
        tokens = self.tokens_of("train")
        vocab = Vocabulary.from_counts(tokens, self.min_count, self.grammar, register)
        if vocab.values == (UNK,):
            most = max(collections.Counter(tokens).values())
            raise JazzFlaxError(
                f"data.min_count={self.min_count} leaves nothing but {UNK} in the vocabulary: "
                f"no training token is seen that often (the most frequent {most} times)",
                hint=f"use --config.data.min_count ≤ {most}",
            )
        return vocab

    @functools.cached_property
    def segments(self) -> tuple[Segment, ...]:
        """Each piece's ids (UNK for those outside the vocabulary) and chord features."""
        return tuple(Segment(self.vocab.encode(p.tokens), self.features_of(p)) for p in self.pieces)

    def segments_of(self, split: str) -> list[Segment]:
        return [self.segments[i] for i in self.indices[split]]

    def oov_rate(self, split: str) -> float:
        """The share of the split's tokens that are UNK."""
        ids = np.concatenate([s.ids for s in self.segments_of(split)] or [np.zeros(0, np.int32)])
        return float(np.mean(ids == self.vocab.encode([UNK])[0])) if len(ids) else math.nan

    def split(self, holdout_measures: int = 0) -> tuple[list[Segment], list[Segment]]:
        """(training segments, test segments): the splits replace held-out measures."""
        if holdout_measures:
            raise JazzFlaxError(
                "a corpus split by piece holds out whole pieces, not measures",
                hint="use --config.data.holdout_measures=0",
            )
        return self.segments_of("train"), self.segments_of("test")


def default_changes(corpus: Corpus) -> Corpus:
    """What a solo is improvised over when no chords are given: the corpus' pieces; of a corpus
    split by piece, its first test piece (the whole corpus would be hours of music)."""
    if isinstance(corpus, SplitCorpus):
        return Corpus(tuple(corpus.pieces_of("test")[:1]))
    return corpus


def _split_key(data_config: ml_collections.ConfigDict, piece: Piece) -> str:
    """The source field that keeps pieces together in one split: "path" (each piece on its
    own) or e.g. "performer", "tune"."""
    key = data_config.split_by
    if key not in piece.source:
        known = [name for name in SPLIT_BY if name in piece.source]
        raise JazzFlaxError(
            f"data.split_by={key!r}: the pieces of this reader do not say it",
            hint=f"use one of {', '.join(map(repr, known))}",
        )
    return key


def split_indices(
    keys: Sequence[str], seed: int, valid: float = 0.05, test: float = 0.05
) -> dict[str, tuple[int, ...]]:
    """Indices of the pieces in each of SPLITS; pieces with the same key go to the same split.

    The distinct keys are shuffled by `seed`; test, then valid, take keys until they hold their
    fraction of the pieces (at least one key each), train the rest. Deterministic in `seed`.
    """
    if not (0 < valid and 0 < test and valid + test < 1):
        raise JazzFlaxError(
            f"valid_fraction={valid} and test_fraction={test} must be > 0 and leave some to train"
        )
    groups = sorted(set(keys))
    order = [groups[i] for i in np.random.default_rng(seed).permutation(len(groups))]
    members = collections.defaultdict(list)
    for index, key in enumerate(keys):
        members[key].append(index)
    chosen, taken = {}, 0
    for split, fraction in (("test", test), ("valid", valid)):
        want, held = fraction * len(keys), []
        while order[taken:] and (not held or len(held) < want):
            held += members[order[taken]]
            taken += 1
        chosen[split] = tuple(sorted(held))
    chosen["train"] = tuple(sorted(i for key in order[taken:] for i in members[key]))
    return {split: chosen[split] for split in SPLITS}

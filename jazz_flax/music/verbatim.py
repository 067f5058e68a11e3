"""Memorisation: the longest run of a token sequence found verbatim in a corpus of sequences.

    VerbatimIndex(training segments' ids).longest_run(generated ids) -> n

A run counts only inside one corpus sequence (never across two pieces). Runs are compared by a
polynomial hash of their ids modulo 2**64 (numpy's wrapping uint64 arithmetic), every n-gram of the
corpus hashed in O(N) array operations from prefix sums, and the longest n found by binary search
(a run of n tokens found means one of n - 1 is too): O((N + M) log M) for a sequence of M tokens
against N. Two different runs share a hash with a chance of about 2**-64 per pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BASE = 0x9E3779B97F4A7C15  # odd: invertible modulo 2**64
BASE_INVERSE = pow(BASE, -1, 2**64)


def _prefix_hashes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Q, P): Q[i] = sum_{j<i} (ids[j] + 1) * BASE_INVERSE**j and P[i] = BASE**i, modulo 2**64;
    the run ids[i:i+n] hashes to (Q[i+n] - Q[i]) * P[i], wherever it starts."""
    n = len(ids)
    inverse_powers = np.cumprod(np.full(n, BASE_INVERSE, np.uint64)) * np.uint64(BASE)
    powers = np.cumprod(np.full(n + 1, BASE, np.uint64)) * np.uint64(BASE_INVERSE)
    terms = (np.asarray(ids, np.uint64) + np.uint64(1)) * inverse_powers
    prefix = np.concatenate([np.zeros(1, np.uint64), np.cumsum(terms, dtype=np.uint64)])
    return prefix, powers


def _run_hashes(prefix: np.ndarray, powers: np.ndarray, n: int) -> np.ndarray:
    """The hashes of every run of n ids (`_prefix_hashes` of them), by start."""
    starts = max(len(prefix) - n, 0)
    return (prefix[n:] - prefix[:starts]) * powers[:starts]


class VerbatimIndex:
    """The runs of a corpus of id sequences, hashed by length when first asked for."""

    def __init__(self, sequences: Sequence[Sequence[int]]):
        sequences = [np.asarray(s, np.int64) for s in sequences if len(s)]
        ids = np.concatenate(sequences) if sequences else np.zeros(0, np.int64)
        self.prefix, self.powers = _prefix_hashes(ids)
        ends = np.cumsum([len(s) for s in sequences], dtype=np.int64)
        self.end_of = np.repeat(ends, [len(s) for s in sequences])  # where each id's sequence ends
        self._hashes: dict[int, np.ndarray] = {}

    def hashes(self, n: int) -> np.ndarray:
        """Sorted hashes of the corpus' runs of n ids inside one sequence."""
        if n not in self._hashes:
            starts = np.arange(max(len(self.end_of) - n + 1, 0))
            inside = starts + n <= self.end_of[starts]
            runs = _run_hashes(self.prefix, self.powers, n)[: len(starts)]
            self._hashes[n] = np.unique(runs[inside])
        return self._hashes[n]

    def has_run(self, prefix: np.ndarray, powers: np.ndarray, n: int) -> bool:
        """Whether a run of n ids of the sequence (its `_prefix_hashes`) is in the corpus."""
        if n == 0:
            return True
        corpus = self.hashes(n)
        if not len(corpus) or len(prefix) <= n:
            return False
        runs = _run_hashes(prefix, powers, n)
        at = np.minimum(np.searchsorted(corpus, runs), len(corpus) - 1)
        return bool((corpus[at] == runs).any())

    def longest_run(self, ids: Sequence[int]) -> int:
        """The length of the longest run of consecutive `ids` found verbatim in one sequence of
        the corpus (0 when no id is)."""
        prefix, powers = _prefix_hashes(np.asarray(ids, np.int64))
        low, high = 0, len(ids)
        while low < high:
            middle = (low + high + 1) // 2
            if self.has_run(prefix, powers, middle):
                low = middle
            else:
                high = middle - 1
        return low

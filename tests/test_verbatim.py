"""The longest run of a sequence found verbatim in a corpus, on hand-made cases."""

import numpy as np
import pytest

from jazz_flax.music.verbatim import VerbatimIndex

CORPUS = [[5, 1, 2, 3, 9], [3, 4, 1, 2], [7]]


@pytest.mark.parametrize(
    ("ids", "longest"),
    [
        ([1, 2, 3, 4], 3),  # 1 2 3 in the first sequence
        ([0, 4, 1, 2, 3, 9, 0], 4),  # 1 2 3 9: the longest of several runs
        ([9, 3], 1),  # 9 ends one sequence, 3 starts the next: no run across pieces
        ([3, 4, 1, 2], 4),  # a whole sequence
        ([3, 4, 1, 2, 3, 9], 4),  # longer than the sequence it starts in
        ([8, 8], 0),  # nothing in the corpus
        ([], 0),
        ([7, 7, 7], 1),
    ],
)
def test_longest_verbatim_run(ids, longest):
    assert VerbatimIndex(CORPUS).longest_run(ids) == longest


def test_an_empty_corpus_holds_no_run():
    assert VerbatimIndex([]).longest_run([1, 2]) == 0
    assert VerbatimIndex([[], [1]]).longest_run([1, 1]) == 1


def test_the_index_agrees_with_a_brute_force_search():
    def brute(ids, corpus):
        runs = [
            k
            for s in corpus
            for i in range(len(ids))
            for j in range(len(s))
            for k in range(1, min(len(ids) - i, len(s) - j) + 1)
            if list(ids[i : i + k]) == list(s[j : j + k])
        ]
        return max(runs, default=0)

    rng = np.random.default_rng(0)
    for _ in range(100):
        corpus = [rng.integers(0, 3, rng.integers(0, 10)) for _ in range(rng.integers(1, 4))]
        ids = rng.integers(0, 3, rng.integers(0, 10))
        assert VerbatimIndex(corpus).longest_run(ids) == brute(ids, corpus)

"""The n-gram baselines: answers computed by hand, normalisation in every context, Kneser–Ney's
maximum-likelihood limit, higher orders on a corpus that needs them, and the real WJazzD figures."""

import collections
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from jazz_flax import ngrams
from jazz_flax.errors import JazzFlaxError

ROOT = Path(__file__).resolve().parents[1]

# Three values; training segments [0 1 0 1] and [1 2]; the test segment [0 1 2].
TRAIN = [np.array([0, 1, 0, 1]), np.array([1, 2])]
TEST = [np.array([0, 1, 2])]


def mean_nll(*probabilities: float) -> float:
    return -sum(math.log(p) for p in probabilities) / len(probabilities)


def random_segments(n_values: int, lengths, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n_values, size=n) for n in lengths]


def every_context(order: int, n_values: int) -> np.ndarray:
    """(contexts × n_values, order): every context of order - 1 values or START, then each value."""
    rows = itertools.product(range(n_values + 1), repeat=order - 1)
    return np.array([(*h, w) for h in rows for w in range(n_values)], np.int64)


def kneser_ney(train, scored: np.ndarray, discounts, n_values: int) -> np.ndarray:
    levels = ngrams.kneser_ney_levels(train, scored.shape[1], n_values)
    return ngrams.kneser_ney(ngrams.counts_of(levels, scored, n_values), discounts, n_values)


def test_uniform_and_add_one_unigram():
    nlls = ngrams.baseline_nlls(TRAIN, TEST, 3)
    assert nlls["uniform"] == pytest.approx(math.log(3))
    # counts 2, 3, 1 of 6 tokens: (c + 1) / (6 + 3)
    assert nlls["unigram"] == pytest.approx(mean_nll(3 / 9, 4 / 9, 2 / 9))


def test_witten_bell_bigram():
    # start: followed by 0 and 1 (c 2, T 2, λ 1/2): P(0|start) = 1/2·1/2 + 1/2·3/9 = 5/12
    # 0: followed by 1 twice (c 2, T 1, λ 2/3):      P(1|0) = 2/3·1 + 1/3·4/9 = 22/27
    # 1: followed by 0 and 2 (c 2, T 2, λ 1/2):      P(2|1) = 1/2·1/2 + 1/2·2/9 = 13/36
    nlls = ngrams.baseline_nlls(TRAIN, TEST, 3)
    assert nlls["bigram"] == pytest.approx(mean_nll(5 / 12, 22 / 27, 13 / 36))


def test_an_unseen_context_falls_back_to_the_unigram():
    nlls = ngrams.baseline_nlls(TRAIN, [np.array([0]), np.array([2, 0])], 3)
    # P(0|start) = 5/12, P(2|start) = 1/2·0 + 1/2·2/9 = 1/9; 2 was never followed: P(0|2) = 3/9
    assert nlls["bigram"] == pytest.approx(mean_nll(5 / 12, 1 / 9, 3 / 9))


def test_witten_bell_trigram_by_hand():
    # (start, start) was followed by 0 and 1 (c 2, T 2): P(0|start start) = (1 + 2·5/12) / 4
    # (start, 0) by 1 once (c 1, T 1): P(1|start 0) = (1 + 22/27) / 2
    # (0, 1) by 0 once (c 1, T 1), never by 2: P(2|0 1) = (0 + 13/36) / 2
    nlls = ngrams.baseline_nlls(TRAIN, TEST, 3)
    expected = mean_nll((1 + 2 * 5 / 12) / 4, (1 + 22 / 27) / 2, (13 / 36) / 2)
    assert nlls["witten_bell_3"] == pytest.approx(expected)


@pytest.mark.parametrize("order", [2, 3, 4, 5])
def test_probabilities_sum_to_one_in_every_context(order):
    train, n_values = random_segments(4, (30, 12, 7, 2)), 4
    scored = every_context(order, n_values)
    discounts = np.linspace(0.3, 0.9, order)
    for probabilities in (
        kneser_ney(train, scored, discounts, n_values),
        ngrams.witten_bell(train, scored, n_values),
    ):
        totals = probabilities.reshape(-1, n_values).sum(axis=1)
        assert np.all(probabilities > 0)
        np.testing.assert_allclose(totals, 1.0, rtol=1e-12)


@pytest.mark.parametrize("order", [2, 3, 4, 5])
def test_kneser_ney_without_discount_is_the_maximum_likelihood_estimate(order):
    train, n_values = random_segments(4, (40, 25, 9)), 4
    grams = ngrams.grams(train, order, n_values)
    seen = collections.Counter(map(tuple, grams.tolist()))
    contexts = collections.Counter(gram[:-1] for gram in map(tuple, grams.tolist()))
    scored = every_context(order, n_values)
    probabilities = kneser_ney(train, scored, [0.0] * order, n_values)
    for gram, p in zip(map(tuple, scored.tolist()), probabilities, strict=True):
        if contexts[gram[:-1]]:  # where the context was seen: c(h w) / c(h)
            assert p == pytest.approx(seen[gram] / contexts[gram[:-1]])


def noisy_order_five(n_segments: int, seed: int, n_values: int = 5) -> list[np.ndarray]:
    """Segments where a value is the sum of the last one and the one 4 back, 5 % of them random."""
    rng, result = np.random.default_rng(seed), []
    for _ in range(n_segments):
        values = list(rng.integers(0, n_values, size=4))
        for _ in range(150):
            noise = rng.random() < 0.05
            values.append(rng.integers(n_values) if noise else (values[-1] + values[-4]) % n_values)
        result.append(np.array(values))
    return result


def test_higher_orders_help_where_the_corpus_needs_them():
    train, valid, test = (noisy_order_five(n, seed) for n, seed in ((20, 0), (3, 1), (3, 2)))
    nlls = ngrams.baseline_nlls(train, test, 5, valid=valid)
    kneser_ney = [nlls[ngrams.kneser_ney_name(order)] for order in ngrams.KNESER_NEY_ORDERS]
    assert kneser_ney[-1] < 0.5 * min(kneser_ney[:-1])  # only 4 values back tell the next
    assert kneser_ney[-1] < nlls["bigram"] and kneser_ney[-1] < nlls["witten_bell_3"]
    assert ngrams.best(nlls) == ("kneser_ney_5", kneser_ney[-1])


def test_the_discounts_minimise_the_validation_nll():
    train, valid = noisy_order_five(6, seed=1), noisy_order_five(2, seed=2)
    order, n_values = 3, 5
    levels = ngrams.kneser_ney_levels(train, order, n_values)
    counts = ngrams.counts_of(levels, ngrams.grams(valid, order, n_values), n_values)
    tuned = ngrams.tuned_discounts(counts, n_values)
    best = ngrams.mean_nll(ngrams.kneser_ney(counts, tuned, n_values))
    for k, step in itertools.product(range(order), (-0.05, 0.05)):
        moved = list(tuned)
        moved[k] = min(max(moved[k] + step, 0.0), 1.0)
        assert best <= ngrams.mean_nll(ngrams.kneser_ney(counts, moved, n_values)) + 1e-6


def test_without_validation_the_training_ends_tune_the_discounts():
    train, test = noisy_order_five(10, seed=3), noisy_order_five(2, seed=4)
    head, ends = ngrams.split_ends(train)
    assert [len(e) for e in ends] == [15] * 10
    assert all(
        np.array_equal(np.concatenate([h, e]), s) for h, e, s in zip(head, ends, train, strict=True)
    )
    tuning = ngrams.counts_of(ngrams.kneser_ney_levels(head, 3, 5), ngrams.grams(ends, 3, 5), 5)
    discounts = ngrams.tuned_discounts(tuning, 5)  # fitted on the heads, tuned on the ends
    expected = ngrams.mean_nll(kneser_ney(train, ngrams.grams(test, 3, 5), discounts, 5))
    assert ngrams.kneser_ney_nll(train, [], test, 3, 5) == expected
    assert ngrams.kneser_ney_nll(train, test, test, 3, 5) < expected  # tuned on the test tokens


def test_codes_that_would_overflow_are_refused():
    with pytest.raises(JazzFlaxError, match="5-grams of 10000 values"):
        ngrams.codes(np.zeros((1, 5), np.int64), 10_000)


def test_golden_section_finds_the_minimum():
    assert ngrams.golden_section(lambda x: (x - 0.3) ** 2, 0.0, 1.0) == pytest.approx(0.3, abs=1e-4)


def test_versus_the_bigram_and_the_best_ngram():
    baselines = dict(uniform=7.0, unigram=5.0, bigram=4.0, kneser_ney_2=3.9, kneser_ney_3=3.5)
    assert ngrams.best(baselines) == ("kneser_ney_3", 3.5)
    assert ngrams.gain(3.15, baselines) == pytest.approx(-0.1)
    assert (
        ngrams.versus(3.6, baselines) == "vs bigram -10.0 %   vs best n-gram (kneser_ney_3) +2.9 %"
    )
    older = dict(uniform=7.0, unigram=5.0, bigram=4.0)  # eval.json before Kneser–Ney
    assert ngrams.best(older) is None and ngrams.gain(3.6, older) is None
    assert ngrams.versus(3.6, older) == "vs bigram -10.0 %   vs best n-gram —"
    assert ngrams.versus(3.6, {}) == "vs bigram —   vs best n-gram —"


@pytest.mark.slow
def test_the_wjazzd_figures():
    """The reference figures (WJazzD v2, split by solo): Witten–Bell as before, Kneser–Ney."""
    from experiments import wjazzd
    from jazz_flax import data

    if not (ROOT / "data" / "wjazzd" / "mcsv_melody").is_dir():
        pytest.skip("data/wjazzd is absent: run `make wjazzd` (CI copies it)")
    corpus = data.load_corpus_from_config(wjazzd.get_config().data)
    train, valid, test = (
        [s.ids for s in corpus.segments_of(k)] for k in ("train", "valid", "test")
    )
    assert sum(map(len, test)) == 12_379
    nlls = ngrams.baseline_nlls(train, test, len(corpus.vocab), valid=valid)
    expected = dict(uniform=7.4507, unigram=5.4341, bigram=4.8831, witten_bell_3=5.0547)
    assert {k: round(nlls[k], 4) for k in expected} == expected
    assert nlls["kneser_ney_2"] == pytest.approx(4.827, abs=0.01)
    for order in (3, 4, 5):
        assert nlls[ngrams.kneser_ney_name(order)] == pytest.approx(4.786, abs=0.01)
    assert ngrams.best(nlls)[0] in ("kneser_ney_3", "kneser_ney_4", "kneser_ney_5")

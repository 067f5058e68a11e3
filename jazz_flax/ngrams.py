"""N-gram baselines: uniform, add-one unigram, Witten–Bell and interpolated Kneser–Ney n-grams.

Each is fitted on training segments (int id arrays) and scores every token of other segments,
segment by segment: a token's context is the n - 1 tokens before it in its segment, START (id
`n_values`) standing before the segment's first token, so that a segment's first tokens have a
shorter context, as the model's EMPTY input gives them. A token outside the training vocabulary is
already `<unk>`'s id (`data.Vocabulary`): an ordinary value here. N-grams are counted as int64
codes in base n_values + 1 with np.unique, never in V^n arrays.

* Witten–Bell: P(w | h) = (c(h w) + T(h) P(w | h')) / (c(h) + T(h)), T(h) the distinct tokens seen
  after h and h' the context without its oldest token, down to the add-one unigram; an unseen
  context gives P(w | h').
* Kneser–Ney, interpolated (Chen & Goodman 1998): P(w | h) = (max(c(h w) - D, 0) + D T(h) P(w | h'))
  / c(h); c counts the n-grams at the highest order and, below it, the distinct tokens seen before
  them (continuation counts), down to the uniform distribution. One discount D per order, tuned
  on validation segments (`tuned_discounts`: golden-section searches) and never on the scored ones.

`baseline_nlls` gives the mean NLL (nats/token) of each baseline on the same tokens, the figures
`evaluate` writes under `baselines`; `best` picks the lowest of them, `gain` and `versus` compare
a model's NLL with the bigram's and the best's, for the tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from jazz_flax.errors import JazzFlaxError

WITTEN_BELL_ORDERS = (2, 3)
KNESER_NEY_ORDERS = (2, 3, 4, 5)
GOLDEN = (math.sqrt(5) - 1) / 2
TUNING_FRACTION = 0.1  # of each training segment, its end: tunes the discounts when no validation


def witten_bell_name(order: int) -> str:
    """The Witten–Bell bigram keeps the name it has in older eval.json files: "bigram"."""
    return "bigram" if order == 2 else f"witten_bell_{order}"


def kneser_ney_name(order: int) -> str:
    return f"kneser_ney_{order}"


class Level(NamedTuple):
    """The counts of one order's n-grams, by their codes, and of their contexts."""

    codes: np.ndarray  # int64 (G,), sorted: the n-grams seen
    counts: np.ndarray  # (G,): their raw or continuation counts
    contexts: np.ndarray  # int64 (H,), sorted: the contexts seen
    totals: np.ndarray  # (H,): the counts of each context's n-grams, summed
    types: np.ndarray  # (H,): the distinct tokens seen after each context


class Counts(NamedTuple):
    """A Level's counts of each scored token: c(h w), c(h), T(h) (0 where unseen)."""

    seen: np.ndarray
    total: np.ndarray
    types: np.ndarray


# ---------------------------------------------------------------------------------------------
# Counting


def grams(segments: Sequence[np.ndarray], order: int, n_values: int) -> np.ndarray:
    """(tokens, order) int64: each token after its order - 1 predecessors in its segment, START
    (`n_values`) before the segment's first."""
    rows = [
        np.lib.stride_tricks.sliding_window_view(
            np.concatenate([np.full(order - 1, n_values), segment]).astype(np.int64), order
        )
        for segment in segments
        if len(segment)
    ]
    return np.concatenate(rows) if rows else np.zeros((0, order), np.int64)


def codes(grams: np.ndarray, n_values: int) -> np.ndarray:
    """One int64 per row of `grams`: its values as the digits of a base n_values + 1 number."""
    if (n_values + 1) ** grams.shape[1] > np.iinfo(np.int64).max:
        raise JazzFlaxError(
            f"{grams.shape[1]}-grams of {n_values} values do not fit int64 codes",
            hint="use lower orders",
        )
    result = np.zeros(len(grams), np.int64)
    for column in grams.T:
        result = result * (n_values + 1) + column
    return result


def level(gram_codes: np.ndarray, counts: np.ndarray, n_values: int) -> Level:
    """The Level of the distinct, sorted n-grams `gram_codes` seen `counts` times."""
    contexts, where = np.unique(gram_codes // (n_values + 1), return_inverse=True)
    totals = np.bincount(where, weights=counts, minlength=len(contexts))
    return Level(gram_codes, counts, contexts, totals, np.bincount(where).astype(float))


def raw_level(train_grams: np.ndarray, order: int, n_values: int) -> Level:
    """The Level of the last `order` columns of `train_grams`, counted."""
    unique, counts = np.unique(codes(train_grams[:, -order:], n_values), return_counts=True)
    return level(unique, counts.astype(float), n_values)


def continuation_level(train_grams: np.ndarray, order: int, n_values: int) -> Level:
    """The Level of the last `order` columns of `train_grams`, each counted once per distinct
    value seen before it (START included)."""
    longer = np.unique(codes(train_grams[:, -order - 1 :], n_values))
    unique, counts = np.unique(longer % (n_values + 1) ** order, return_counts=True)
    return level(unique, counts.astype(float), n_values)


def lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[i] where keys[i] == query (`keys` sorted), else 0."""
    at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[at] == query, values[at], 0.0) if len(keys) else np.zeros(len(query))


def counts_of(levels: Sequence[Level], scored: np.ndarray, n_values: int) -> list[Counts]:
    """The Counts of `scored`'s rows (n-grams of order n) in each of `levels`, of consecutive
    orders up to n: each looks up the last columns of its order."""
    result = []
    for order, counts in enumerate(levels, start=scored.shape[1] - len(levels) + 1):
        query = codes(scored[:, -order:], n_values)
        context = query // (n_values + 1)
        result.append(
            Counts(
                lookup(counts.codes, counts.counts, query),
                lookup(counts.contexts, counts.totals, context),
                lookup(counts.contexts, counts.types, context),
            )
        )
    return result


# ---------------------------------------------------------------------------------------------
# Models


def unigram(train: Sequence[np.ndarray], n_values: int) -> np.ndarray:
    """The add-one (Laplace) unigram: (c(w) + 1) / (N + V)."""
    counts = np.bincount(np.concatenate(train).astype(np.int64), minlength=n_values)
    return (counts + 1) / (counts.sum() + n_values)


def witten_bell(train: Sequence[np.ndarray], scored: np.ndarray, n_values: int) -> np.ndarray:
    """P(w | h) of each row (h, w) of `scored` under the Witten–Bell n-gram of its width."""
    train_grams = grams(train, scored.shape[1], n_values)
    levels = [raw_level(train_grams, k, n_values) for k in range(2, scored.shape[1] + 1)]
    p = unigram(train, n_values)[scored[:, -1]]
    for c in counts_of(levels, scored, n_values):
        denominator = c.total + c.types
        p = np.divide(c.seen + c.types * p, denominator, out=p, where=denominator > 0)
    return p


def kneser_ney_levels(train: Sequence[np.ndarray], order: int, n_values: int) -> list[Level]:
    """The interpolated Kneser–Ney counts: continuation counts of orders 1 … n-1, raw counts of
    order n."""
    train_grams = grams(train, order, n_values)
    lower = [continuation_level(train_grams, k, n_values) for k in range(1, order)]
    return [*lower, raw_level(train_grams, order, n_values)]


def kneser_ney(counts: Sequence[Counts], discounts: Sequence[float], n_values: int) -> np.ndarray:
    """P(w | h) of the tokens `counts` describe (`counts_of` the Kneser–Ney levels), with the
    `discounts` of orders 1 … n."""
    p = np.full(len(counts[0].seen), 1 / n_values)
    for c, discount in zip(counts, discounts, strict=True):
        numerator = np.maximum(c.seen - discount, 0) + discount * c.types * p
        p = np.divide(numerator, c.total, out=p, where=c.total > 0)
    return p


def mean_nll(probabilities: np.ndarray) -> float:
    return float(-np.log(probabilities).mean())


# ---------------------------------------------------------------------------------------------
# Tuning and scoring


def golden_section(loss, low: float, high: float, steps: int = 24) -> float:
    """The argmin of a unimodal `loss` on [low, high], to (high - low) · 0.618^steps."""
    a, b = high - GOLDEN * (high - low), low + GOLDEN * (high - low)
    loss_a, loss_b = loss(a), loss(b)
    for _ in range(steps):
        if loss_a < loss_b:
            high, b, loss_b = b, a, loss_a
            a = high - GOLDEN * (high - low)
            loss_a = loss(a)
        else:
            low, a, loss_a = a, b, loss_b
            b = low + GOLDEN * (high - low)
            loss_b = loss(b)
    return (low + high) / 2


def tuned_discounts(counts: Sequence[Counts], n_values: int, sweeps: int = 2) -> list[float]:
    """The Kneser–Ney discounts in [0, 1] of orders 1 … n that minimise the mean NLL of the
    tokens `counts` describe: each in turn by golden-section search, `sweeps` times over them."""
    discounts = [0.75] * len(counts)
    for _ in range(sweeps):
        for k in range(len(discounts)):

            def loss(discount, k=k):
                changed = [*discounts[:k], discount, *discounts[k + 1 :]]
                return mean_nll(kneser_ney(counts, changed, n_values))

            discounts[k] = golden_section(loss, 0.0, 1.0)
    return discounts


def split_ends(segments: Sequence[np.ndarray], fraction: float = TUNING_FRACTION):
    """(each segment but its last `fraction` of tokens, those ends), at least one token each."""
    cuts = [(s, len(s) - max(1, round(fraction * len(s)))) for s in segments]
    return [s[:cut] for s, cut in cuts], [s[cut:] for s, cut in cuts]


def kneser_ney_nll(train, valid, test, order: int, n_values: int) -> float:
    """The mean NLL of `test`'s tokens under the Kneser–Ney n-gram of `order` fitted on `train`,
    its discounts tuned on `valid`; without `valid`, on the ends of the training segments
    (`split_ends`), fitted on the rest."""
    head, valid = (train, valid) if sum(map(len, valid)) else split_ends(train)
    tuning = grams(valid, order, n_values)
    tuning_counts = counts_of(kneser_ney_levels(head, order, n_values), tuning, n_values)
    tuned = tuned_discounts(tuning_counts, n_values)
    levels = kneser_ney_levels(train, order, n_values)
    scored = counts_of(levels, grams(test, order, n_values), n_values)
    return mean_nll(kneser_ney(scored, tuned, n_values))


def baseline_nlls(
    train: Sequence[np.ndarray],
    test: Sequence[np.ndarray],
    n_values: int,
    valid: Sequence[np.ndarray] = (),
) -> dict[str, float]:
    """Mean NLL (nats/token) of the `test` segments' tokens under each baseline fitted on `train`
    (Kneser–Ney's discounts tuned on `valid`, see `kneser_ney_nll`): uniform (ln n_values), the
    add-one unigram, Witten–Bell and Kneser–Ney n-grams, by name."""
    tokens = np.concatenate(test)
    result = dict(
        uniform=math.log(n_values),
        unigram=mean_nll(unigram(train, n_values)[tokens]),
    )
    for order in WITTEN_BELL_ORDERS:
        probabilities = witten_bell(train, grams(test, order, n_values), n_values)
        result[witten_bell_name(order)] = mean_nll(probabilities)
    for order in KNESER_NEY_ORDERS:
        result[kneser_ney_name(order)] = kneser_ney_nll(train, valid, test, order, n_values)
    return result


def best(baselines: dict[str, float]) -> tuple[str, float] | None:
    """(name, NLL) of the lowest of `baselines`; None for those of older eval.json files,
    without the Kneser–Ney n-grams."""
    if kneser_ney_name(KNESER_NEY_ORDERS[0]) not in baselines:
        return None
    name = min(baselines, key=baselines.get)
    return name, baselines[name]


def gain(nll: float, baselines: dict, name: str | None = None) -> float | None:
    """nll / baseline - 1 against the baseline `name`, else the `best`; None when it is missing."""
    found = best(baselines) if name is None else (name, baselines.get(name))
    return None if found is None or found[1] is None else nll / found[1] - 1


def versus(nll: float, baselines: dict) -> str:
    """ "vs bigram -12.1 %   vs best n-gram (kneser_ney_3) -10.4 %"; "—" where one is missing."""
    found = best(baselines)
    cells = [gain(nll, baselines, "bigram"), gain(nll, baselines)]
    bigram, best_ngram = ("—" if v is None else f"{100 * v:+.1f} %" for v in cells)
    name = f" ({found[0]})" if found else ""
    return f"vs bigram {bigram}   vs best n-gram{name} {best_ngram}"

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jazz_flax import beam, sample
from jazz_flax.errors import JazzFlaxError
from jazz_flax.model import DJModel, init_params
from jazz_flax.windows import EMPTY
from tests import test_sample


@pytest.fixture(scope="module")
def tiny():
    """A model of 4 token values: small enough to enumerate every sequence of 3 tokens."""
    model = DJModel(n_values=4, n_a=8)
    return model, init_params(model, jax.random.key(1))


def log_probs(model, params, ids, primer=()) -> np.ndarray:
    """log p(ids | primer) of each row of ids (N, L) by a Python loop of `sample_step`."""
    ids = np.asarray(ids)
    inputs = np.concatenate([np.tile([EMPTY, *primer], (len(ids), 1)), ids], axis=1)
    carry, total = model.initial_carry(len(ids)), np.zeros(len(ids))
    for t in range(inputs.shape[1] - 1):
        carry, logits = model.sample_step(params, carry, jnp.asarray(inputs[:, t], jnp.int32))
        if t >= len(primer):
            chosen = np.asarray(jax.nn.log_softmax(logits))[np.arange(len(ids)), inputs[:, t + 1]]
            total += chosen
    return total


trained, conditioned = test_sample.trained, test_sample.conditioned  # the sampler's fixtures

STRATEGIES = [
    sample.Strategy(greedy=True),
    sample.Strategy(temperature=0.7),
    sample.Strategy(temperature=1.3, top_k=4, top_p=0.8),
    sample.Strategy(pitch_temperature=0.5),
    sample.Strategy(pitch_temperature=0.3, keep_repeats=True),
]
STRATEGY_IDS = ["greedy", "temperature", "top-k-top-p", "pitch-temperature", "keep-repeats"]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=STRATEGY_IDS)
@pytest.mark.parametrize("primer", [None, (3, 7, 1)], ids=["zero-start", "primer"])
def test_one_beam_one_branch_is_plain_sampling(trained, strategy, primer):
    model, params = trained
    key = jax.random.key(42)
    options = dict(length=15, strategy=strategy, primer=primer)
    options["pitch_groups"] = test_sample.PITCH_GROUPS
    plain = sample.sample(model, params, key, **options)
    found = beam.beam_search(model, params, key, **options)
    np.testing.assert_array_equal(found.ids[0], plain.ids)
    np.testing.assert_allclose(found.log_probs[0], plain.log_probs.sum(), rtol=1e-5)


@pytest.mark.parametrize("strategy", STRATEGIES[:2], ids=["greedy", "temperature"])
def test_one_beam_one_branch_is_plain_sampling_over_chords(conditioned, strategy):
    model, params, durations, grid = conditioned
    key, chords = jax.random.key(7), dict(chord_grid=grid, durations=durations)
    plain = sample.sample(model, params, key, length=20, strategy=strategy, **chords)
    found = beam.beam_search(model, params, key, length=20, strategy=strategy, **chords)
    np.testing.assert_array_equal(found.ids[0], plain.ids)


@pytest.mark.parametrize("beams, length", [(4, 2), (16, 3)])
def test_greedy_beam_search_wide_enough_is_exhaustive(tiny, beams, length):
    model, params = tiny
    primer = (2,)
    every = list(itertools.product(range(4), repeat=length))
    scores = dict(zip(every, log_probs(model, params, every, primer), strict=True))
    best = max(scores, key=scores.get)
    found = beam.beam_search(
        model,
        params,
        jax.random.key(0),
        beam=beam.Beam(beam_size=beams, branch_factor=4),
        length=length,
        strategy=sample.Strategy(greedy=True),
        primer=primer,
    )
    assert tuple(found.ids[0, 0].tolist()) == best
    top = sorted(scores.values(), reverse=True)[: min(beams, 4**length)]
    np.testing.assert_allclose(found.log_probs[0], top, rtol=1e-5)


@pytest.mark.parametrize("beams, length, penalty", [(4, 2, 1.0), (16, 3, 1.0), (16, 3, 0.5)])
def test_greedy_beam_search_with_a_length_penalty_wide_enough_is_exhaustive(
    tiny, beams, length, penalty
):
    model, params = tiny
    durations = np.array([0.5, 2.0, 0.25, 1.0], np.float32)
    every = list(itertools.product(range(4), repeat=length))
    totals = dict(zip(every, log_probs(model, params, every, (2,)), strict=True))
    ranking = {ids: total / durations[list(ids)].sum() ** penalty for ids, total in totals.items()}
    found = beam.beam_search(
        model,
        params,
        jax.random.key(0),
        beam=beam.Beam(beam_size=beams, branch_factor=4, length_penalty=penalty),
        length=length,
        strategy=sample.Strategy(greedy=True),
        primer=(2,),
        durations=durations,
    )
    ranked = sorted(ranking, key=ranking.get, reverse=True)[:beams]
    assert [tuple(ids) for ids in found.ids[0].tolist()] == ranked
    np.testing.assert_allclose(found.log_probs[0], [totals[ids] for ids in ranked], rtol=1e-5)
    assert ranked[0] != max(totals, key=totals.get)  # not the search in total


def test_a_length_penalty_needs_the_durations_and_is_not_negative(tiny):
    model, params = tiny
    search = functools.partial(beam.beam_search, model, params, jax.random.key(0))
    with pytest.raises(JazzFlaxError, match="length penalty needs each token's duration"):
        search(beam=beam.Beam(2, 2, 1, length_penalty=1.0))
    with pytest.raises(JazzFlaxError, match=r"durations \(4,\) expected, got \(3,\)"):
        search(beam=beam.Beam(2, 2, 1, 0.5), durations=np.ones(3))
    with pytest.raises(JazzFlaxError, match="length penalty must be ≥ 0, got -1"):
        search(beam=beam.Beam(2, 2, 1, -1.0), durations=np.ones(4))


def test_beams_come_best_first_with_their_log_probabilities(tiny):
    model, params = tiny
    found = beam.beam_search(
        model, params, jax.random.key(3), beam=beam.Beam(3, 2, 2), searches=2, length=5
    )
    assert found.ids.shape == (2, 3, 5) and found.log_probs.shape == (2, 3)
    assert (np.diff(found.log_probs, axis=1) <= 0).all()
    for search in range(2):
        expected = log_probs(model, params, found.ids[search])
        np.testing.assert_allclose(found.log_probs[search], expected, rtol=1e-5)
    assert not np.array_equal(found.ids[0], found.ids[1])  # searches draw with their own keys


@settings(max_examples=20)
@given(seed=st.integers(0, 2**16), shape=st.sampled_from([(1, 1, 6), (3, 2, 6), (4, 4, 3)]))
def test_beam_search_is_never_less_likely_than_greedy(tiny, seed, shape):
    """With one iteration (see beam.py: with several, beam search can fall below greedy)."""
    model, _ = tiny
    beams, branches, length = shape
    params = init_params(model, jax.random.key(seed))
    greedy = sample.Strategy(greedy=True)
    plain = sample.sample(model, params, jax.random.key(0), length=length, strategy=greedy)
    found = beam.beam_search(
        model,
        params,
        jax.random.key(0),
        beam=beam.Beam(beams, branches, length),
        length=length,
        strategy=greedy,
    )
    assert found.log_probs[0, 0] >= plain.log_probs.sum() - 1e-5


@pytest.mark.parametrize(
    "settings_, message",
    [
        (beam.Beam(beam_size=0), "beam_size must be ≥ 1"),
        (beam.Beam(branch_factor=0), "branch_factor must be ≥ 1"),
        (beam.Beam(steps_per_iteration=-1), "steps_per_iteration must be ≥ 1"),
    ],
)
def test_bad_settings_are_clear_errors(tiny, settings_, message):
    model, params = tiny
    with pytest.raises(JazzFlaxError, match=message):
        beam.beam_search(model, params, jax.random.key(0), beam=settings_)

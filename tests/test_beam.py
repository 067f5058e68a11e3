import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jazz_flax import beam, sample
from jazz_flax.data import CHORD_FEATURES, EMPTY
from jazz_flax.errors import JazzFlaxError
from jazz_flax.model import DJModel, init_params
from tests.test_sample import random_grid

N_VALUES = 12


@pytest.fixture(scope="module")
def tiny():
    """A model of 4 token values: small enough to enumerate every sequence of 3 tokens."""
    model = DJModel(n_values=4, n_a=8)
    return model, init_params(model, jax.random.key(1))


@pytest.fixture(scope="module")
def trained():
    model = DJModel(n_values=N_VALUES, n_a=16)
    return model, init_params(model, jax.random.key(0))


@pytest.fixture(scope="module")
def conditioned():
    model = DJModel(n_values=N_VALUES, n_a=16, chord_features=CHORD_FEATURES)
    rng = np.random.default_rng(0)
    durations = rng.choice((0.375, 0.75, 1.125, 1.5), N_VALUES).astype(np.float32)
    chords = dict(chord_grid=random_grid(2, rng), durations=durations)
    return model, init_params(model, jax.random.key(0)), chords


def log_prob(model, params, ids, primer=()) -> float:
    """log p(ids | primer) by a Python loop of `sample_step` from the zero carry."""
    carry, total = model.initial_carry(1), 0.0
    inputs = [EMPTY, *primer, *ids]
    for t, token in enumerate(inputs[:-1]):
        carry, logits = model.sample_step(params, carry, jnp.array([token], jnp.int32))
        if t >= len(primer):
            total += float(jax.nn.log_softmax(logits)[0, inputs[t + 1]])
    return total


STRATEGIES = [
    sample.Strategy(greedy=True),
    sample.Strategy(temperature=0.7),
    sample.Strategy(temperature=1.3, top_k=4, top_p=0.8),
]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=["greedy", "temperature", "top-k-top-p"])
@pytest.mark.parametrize("primer", [None, (3, 7, 1)], ids=["zero-start", "primer"])
def test_one_beam_one_branch_is_plain_sampling(trained, strategy, primer):
    model, params = trained
    key = jax.random.key(42)
    plain = sample.sample(model, params, key, length=15, strategy=strategy, primer=primer)
    found = beam.beam_search(model, params, key, length=15, strategy=strategy, primer=primer)
    np.testing.assert_array_equal(found.ids[0], plain.ids)
    np.testing.assert_allclose(found.log_probs[0], plain.log_probs.sum(), rtol=1e-5)


@pytest.mark.parametrize("strategy", STRATEGIES[:2], ids=["greedy", "temperature"])
def test_one_beam_one_branch_is_plain_sampling_over_chords(conditioned, strategy):
    model, params, chords = conditioned
    key = jax.random.key(7)
    plain = sample.sample(model, params, key, length=20, strategy=strategy, **chords)
    found = beam.beam_search(model, params, key, length=20, strategy=strategy, **chords)
    np.testing.assert_array_equal(found.ids[0], plain.ids)


@pytest.mark.parametrize("beams, length", [(4, 2), (16, 3)])
def test_greedy_beam_search_wide_enough_is_exhaustive(tiny, beams, length):
    model, params = tiny
    primer = (2,)
    scores = {
        ids: log_prob(model, params, ids, primer)
        for ids in itertools.product(range(4), repeat=length)
    }
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


def test_beams_come_best_first_with_their_log_probabilities(tiny):
    model, params = tiny
    found = beam.beam_search(
        model, params, jax.random.key(3), beam=beam.Beam(3, 2, 2), searches=2, length=5
    )
    assert found.ids.shape == (2, 3, 5) and found.log_probs.shape == (2, 3)
    assert (np.diff(found.log_probs, axis=1) <= 0).all()
    for search in range(2):
        for ids, score in zip(found.ids[search], found.log_probs[search], strict=True):
            assert score == pytest.approx(log_prob(model, params, ids.tolist()), rel=1e-5)
    assert not np.array_equal(found.ids[0], found.ids[1])  # searches draw with their own keys


@settings(max_examples=15)
@given(
    seed=st.integers(0, 2**16),
    beams=st.integers(1, 4),
    branches=st.integers(1, 4),
    length=st.integers(2, 8),
)
def test_beam_search_is_never_less_likely_than_greedy(tiny, seed, beams, branches, length):
    model, _ = tiny
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

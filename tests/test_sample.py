import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jazz_flax import sample
from jazz_flax.data import EMPTY
from jazz_flax.errors import JazzFlaxError
from jazz_flax.model import DJModel, init_params

LOGITS = jnp.log(jnp.array([[0.05, 0.4, 0.1, 0.25, 0.2], [0.3, 0.1, 0.2, 0.15, 0.25]]))


def allowed(top_k, top_p):
    filtered = sample.filter_logits(LOGITS, jnp.int32(top_k), jnp.float32(top_p))
    return [set(np.flatnonzero(np.isfinite(row)).tolist()) for row in filtered]


def test_top_k_keeps_the_k_likeliest():
    assert allowed(2, 1.0) == [{1, 3}, {0, 4}]
    assert allowed(0, 1.0) == allowed(99, 1.0) == [set(range(5))] * 2


def test_top_p_keeps_the_smallest_set_reaching_p():
    assert allowed(0, 0.35) == [{1}, {0, 4}]
    assert allowed(0, 0.6) == [{1, 3}, {0, 4, 2}]
    assert allowed(0, 0.01) == [{1}, {0}]  # never empty


def test_top_k_and_top_p_combine():
    assert allowed(1, 0.9) == [{1}, {0}]


@pytest.mark.parametrize("top_k, top_p", [(2, 1.0), (0, 0.5), (3, 0.7)])
def test_sampled_tokens_stay_in_the_allowed_set(top_k, top_p):
    strategy = sample.Strategy(temperature=2.0, top_k=top_k, top_p=top_p)
    keys = jax.random.split(jax.random.key(0), 500)
    tokens = jax.vmap(lambda k: sample.choose(k, LOGITS, strategy))(keys)
    sets = allowed(top_k, top_p)
    for row in range(2):
        seen = set(np.asarray(tokens[:, row]).tolist())
        assert seen <= sets[row] and len(seen) == len(sets[row])


def test_sampling_follows_the_softmax_at_the_temperature():
    keys = jax.random.split(jax.random.key(3), 20_000)
    draw = jax.vmap(sample.choose, in_axes=(0, None, None))
    for temperature in (1.0, 0.5):
        tokens = np.asarray(draw(keys, LOGITS, sample.Strategy(temperature=temperature)))
        expected = np.asarray(jax.nn.softmax(LOGITS / temperature))
        for row in range(2):
            freq = np.bincount(tokens[:, row], minlength=5) / len(keys)
            np.testing.assert_allclose(freq, expected[row], atol=0.015)


def test_greedy_is_argmax():
    strategy = sample.Strategy(greedy=True, temperature=5.0)
    assert sample.choose(jax.random.key(1), LOGITS, strategy).tolist() == [1, 0]


@pytest.mark.parametrize(
    "strategy, length, message",
    [
        (sample.Strategy(temperature=0.0), 5, "temperature"),
        (sample.Strategy(temperature=-1.0), 5, "temperature"),
        (sample.Strategy(top_k=-1), 5, "top_k"),
        (sample.Strategy(top_p=0.0), 5, "top_p"),
        (sample.Strategy(top_p=1.5), 5, "top_p"),
        (sample.Strategy(), 0, "number of tokens"),
    ],
)
def test_bad_settings_are_clear_errors(strategy, length, message):
    with pytest.raises(JazzFlaxError, match=message):
        sample.check_strategy(strategy, length)


# ---------------------------------------------------------------------------------------------
# The jitted fori_loop sampler against a Python loop over the same step

N_VALUES = 12


@pytest.fixture(scope="module")
def trained():
    model = DJModel(n_values=N_VALUES, n_a=16)
    return model, init_params(model, jax.random.key(0))


def python_loop(model, params, key, batch, length, strategy, primer=()):
    carry = model.initial_carry(batch)
    inputs = jnp.full((batch,), EMPTY, jnp.int32)
    for token in primer:
        carry, _ = model.sample_step(params, carry, inputs)
        inputs = jnp.full((batch,), token, jnp.int32)
    ids = []
    for _ in range(length):
        carry, logits = model.sample_step(params, carry, inputs)
        key, subkey = jax.random.split(key)
        inputs = sample.choose(subkey, logits, strategy)
        ids.append(inputs)
    return np.stack(ids, axis=1)


@pytest.mark.parametrize(
    "strategy",
    [
        sample.Strategy(greedy=True),
        sample.Strategy(temperature=0.7),
        sample.Strategy(temperature=1.3, top_k=4, top_p=0.8),
    ],
    ids=["greedy", "temperature", "top-k-top-p"],
)
@pytest.mark.parametrize("primer", [(), (3, 7, 1)], ids=["zero-start", "primer"])
def test_fori_loop_sampler_equals_a_python_loop(trained, strategy, primer):
    model, params = trained
    key = jax.random.key(42)
    got = sample.sample(
        model, params, key, batch=3, length=9, strategy=strategy, primer=primer or None
    )
    expected = python_loop(model, params, key, 3, 9, strategy, primer)
    np.testing.assert_array_equal(got.ids, expected)
    assert got.ids.shape == got.log_probs.shape == (3, 9)
    assert (got.log_probs <= 0).all()


def test_greedy_rows_are_identical_and_sampled_rows_differ(trained):
    model, params = trained
    greedy = sample.sample(
        model, params, jax.random.key(0), batch=4, length=20, strategy=sample.Strategy(greedy=True)
    )
    assert (greedy.ids == greedy.ids[0]).all()
    sampled = sample.sample(
        model,
        params,
        jax.random.key(0),
        batch=4,
        length=20,
        strategy=sample.Strategy(temperature=2.0),
    )
    assert len({tuple(row) for row in np.asarray(sampled.ids)}) > 1


def test_strategies_share_one_compile(trained):
    model, params = trained
    key = jax.random.key(0)
    sample.sample(model, params, key, batch=2, length=7)
    before = sample._sample._cache_size()
    for strategy in (
        sample.Strategy(temperature=0.5),
        sample.Strategy(top_k=3, top_p=0.9),
        sample.Strategy(greedy=True),
        sample.Strategy(temperature=2),
    ):
        sample.sample(model, params, key, batch=2, length=7, strategy=strategy)
    assert sample._sample._cache_size() == before


def test_sampler_checks_its_settings(trained):
    model, params = trained
    with pytest.raises(JazzFlaxError, match="temperature"):
        sample.sample(model, params, jax.random.key(0), strategy=sample.Strategy(temperature=0))

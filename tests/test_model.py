import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jazz_flax.data import EMPTY
from jazz_flax.errors import JazzFlaxError
from jazz_flax.model import GATES, DJModel, count_params, init_params


def random_ids(batch: int, steps: int, n_values: int, seed: int = 0) -> jnp.ndarray:
    """ids (batch, steps) with EMPTY first, as the notebook's x<1>, and a few more EMPTY inside."""
    ids = np.random.default_rng(seed).integers(0, n_values, (batch, steps))
    ids[:, 0] = EMPTY
    ids[0, steps // 2] = EMPTY
    return jnp.asarray(ids, jnp.int32)


@pytest.mark.parametrize("scheme", ["keras", "flax"])
def test_parameter_count_is_the_notebooks(scheme):
    params = init_params(DJModel(n_values=90, n_a=64), jax.random.key(0), scheme)
    assert count_params(params) == 45_530
    n_a, V = 64, 90
    assert 4 * (n_a * (V + n_a) + n_a) + n_a * V + V == 45_530  # Keras' layout


def test_each_layer_has_the_parameters_of_flax_lstm_cell():
    params = init_params(DJModel(n_values=90, n_a=64), jax.random.key(0))
    carry = nn.LSTMCell(64).initialize_carry(jax.random.key(1), (1, 90))
    stock = nn.LSTMCell(64).init(jax.random.key(1), carry, jnp.zeros((1, 90)))["params"]
    assert jax.tree.map(jnp.shape, params["cells_0"]) == jax.tree.map(jnp.shape, stock)
    assert count_params(stock) == 39_680  # the notebook's LSTM layer


@pytest.mark.parametrize("layers", [1, 2])
def test_sequence_call_equals_a_loop_of_steps(layers):
    model = DJModel(n_values=12, n_a=16, layers=layers)
    params = init_params(model, jax.random.key(0))
    ids = random_ids(batch=3, steps=7, n_values=12)
    logits = model.apply({"params": params}, ids)
    carry, steps = model.initial_carry(3), []
    for t in range(ids.shape[1]):
        carry, step_logits = model.sample_step(params, carry, ids[:, t])
        steps.append(step_logits)
    assert logits.shape == (3, 7, 12)
    np.testing.assert_allclose(logits, jnp.stack(steps, axis=1), atol=1e-5)
    time_major = model.apply({"params": params}, ids.T, time_major=True)
    np.testing.assert_allclose(time_major, logits.transpose(1, 0, 2), atol=1e-6)


def test_model_is_flax_lstm_cell_on_one_hot_vectors():
    """Against stock Flax, with the notebook's inputs: one-hot vectors, all zeros for EMPTY."""
    model = DJModel(n_values=12, n_a=16)
    params = init_params(model, jax.random.key(0))
    ids = random_ids(batch=2, steps=6, n_values=12, seed=1)
    vectors = np.zeros((2, 6, 12), np.float32)
    for (b, t), value in np.ndenumerate(np.asarray(ids)):
        if value != EMPTY:
            vectors[b, t, value] = 1.0
    cell, head = nn.LSTMCell(16), nn.Dense(12)
    carry, expected = (jnp.zeros((2, 16)), jnp.zeros((2, 16))), []
    for t in range(6):
        carry, h = cell.apply({"params": params["cells_0"]}, carry, vectors[:, t])
        expected.append(head.apply({"params": params["head"]}, h))
    logits = model.apply({"params": params}, ids)
    np.testing.assert_allclose(logits, jnp.stack(expected, axis=1), atol=1e-5)


@pytest.mark.parametrize("layers", [1, 2])
def test_custom_gradient_equals_autodiff_of_a_loop_of_steps(layers):
    """`__call__`'s hand-written backward pass against autodiff through `nn.LSTMCell` steps."""
    model = DJModel(n_values=12, n_a=16, layers=layers)
    params = init_params(model, jax.random.key(0))
    ids = random_ids(batch=3, steps=7, n_values=12)
    cotangent = jax.random.normal(jax.random.key(1), (3, 7, 12))

    def scanned(params):
        return jnp.sum(model.apply({"params": params}, ids) * cotangent)

    def stepped(params):
        carry, total = model.initial_carry(3), 0.0
        for t in range(ids.shape[1]):
            carry, logits = model.sample_step(params, carry, ids[:, t])
            total += jnp.sum(logits * cotangent[:, t])
        return total

    close = functools.partial(np.testing.assert_allclose, rtol=1e-4, atol=1e-5)
    jax.tree.map(close, jax.grad(scanned)(params), jax.grad(stepped)(params))


def test_keras_init():
    n_values, n_a = 20, 8
    params = init_params(DJModel(n_values, n_a), jax.random.key(3), "keras")
    cell = params["cells_0"]
    for gate in GATES:
        assert np.all(cell[f"h{gate}"]["bias"] == (1.0 if gate == "f" else 0.0))
    recurrent = jnp.concatenate([cell[f"h{gate}"]["kernel"] for gate in GATES], axis=1)
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(n_a), atol=1e-5)  # orthogonal
    inputs = jnp.concatenate([cell[f"i{gate}"]["kernel"] for gate in GATES], axis=1)
    limit = np.sqrt(6 / (n_values + 4 * n_a))  # glorot-uniform of the (V, 4·n_a) kernel
    assert np.abs(inputs).max() <= limit and np.abs(inputs).max() > 0.9 * limit


def test_flax_init_keeps_flax_defaults():
    params = init_params(DJModel(20, 8), jax.random.key(3), "flax")
    assert all(np.all(params["cells_0"][f"h{gate}"]["bias"] == 0) for gate in GATES)


def test_init_depends_on_the_key_only():
    model = DJModel(20, 8)
    first, again = (init_params(model, jax.random.key(5)) for _ in range(2))
    other = init_params(model, jax.random.key(6))
    assert jax.tree.all(jax.tree.map(np.array_equal, first, again))
    assert not np.array_equal(first["cells_0"]["hi"]["kernel"], other["cells_0"]["hi"]["kernel"])


def test_dropout_is_off_unless_asked():
    model = DJModel(n_values=12, n_a=16, layers=2, dropout=0.5)
    params = init_params(model, jax.random.key(0))
    ids = random_ids(2, 5, 12)
    plain = model.apply({"params": params}, ids)
    dropped = model.apply(
        {"params": params}, ids, deterministic=False, rngs={"dropout": jax.random.key(1)}
    )
    np.testing.assert_allclose(plain, DJModel(12, 16, 2).apply({"params": params}, ids))
    assert not np.allclose(plain, dropped)


def test_unknown_init_scheme():
    with pytest.raises(JazzFlaxError, match="init scheme"):
        init_params(DJModel(12, 16), jax.random.key(0), "torch")

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jazz_flax.data import CHORD_FEATURES, EMPTY
from jazz_flax.errors import JazzFlaxError
from jazz_flax.model import (
    GATES,
    DJModel,
    count_params,
    init_params,
    segment_sum_by_matmul,
    take_rows,
)

CONDITIONING = pytest.mark.parametrize(
    "chord_features", [0, CHORD_FEATURES], ids=["unconditioned", "chords"]
)


def random_ids(batch: int, steps: int, n_values: int, seed: int = 0) -> jnp.ndarray:
    """ids (batch, steps) with EMPTY first, as the notebook's x<1>, and a few more EMPTY inside."""
    ids = np.random.default_rng(seed).integers(0, n_values, (batch, steps))
    ids[:, 0] = EMPTY
    ids[0, steps // 2] = EMPTY
    return jnp.asarray(ids, jnp.int32)


def random_chords(batch: int, steps: int, chord_features: int, seed: int = 0):
    """Chord features (batch, steps, F) of random 0s and 1s; None when F is 0 (unconditioned)."""
    if not chord_features:
        return None
    bits = np.random.default_rng(seed).integers(0, 2, (batch, steps, chord_features))
    return jnp.asarray(bits, jnp.float32)


def logits_step_by_step(model, params, ids, chords):
    """Logits (B, T, V) from a Python loop of `model.step` over the time steps."""
    carry, steps = model.initial_carry(ids.shape[0]), []
    for t in range(ids.shape[1]):
        chords_t = None if chords is None else chords[:, t]
        carry, logits = model.sample_step(params, carry, ids[:, t], chords_t)
        steps.append(logits)
    return jnp.stack(steps, axis=1)


@CONDITIONING
@pytest.mark.parametrize("scheme", ["keras", "flax"])
def test_parameter_count(scheme, chord_features):
    model = DJModel(n_values=90, n_a=64, chord_features=chord_features)
    n_a, V, F = 64, 90, chord_features
    expected = 4 * (n_a * (V + F + n_a) + n_a) + n_a * V + V  # Keras' layout
    assert count_params(init_params(model, jax.random.key(0), scheme)) == expected
    assert chord_features or expected == 45_530  # the notebook's


@CONDITIONING
def test_each_layer_has_the_parameters_of_flax_lstm_cell(chord_features):
    model = DJModel(n_values=90, n_a=64, layers=2, chord_features=chord_features)
    params = init_params(model, jax.random.key(0))
    for layer, fan_in in [(0, 90 + chord_features), (1, 64)]:
        carry = nn.LSTMCell(64).initialize_carry(jax.random.key(1), (1, fan_in))
        stock = nn.LSTMCell(64).init(jax.random.key(1), carry, jnp.zeros((1, fan_in)))["params"]
        assert jax.tree.map(jnp.shape, params[f"cells_{layer}"]) == jax.tree.map(jnp.shape, stock)
    assert chord_features or count_params(params["cells_0"]) == 39_680  # the notebook's LSTM


@CONDITIONING
@pytest.mark.parametrize("layers", [1, 2])
def test_sequence_call_equals_a_loop_of_steps(layers, chord_features):
    model = DJModel(n_values=12, n_a=16, layers=layers, chord_features=chord_features)
    params = init_params(model, jax.random.key(0))
    ids, chords = random_ids(3, 7, 12), random_chords(3, 7, chord_features)
    logits = model.apply({"params": params}, ids, chords)
    assert logits.shape == (3, 7, 12)
    np.testing.assert_allclose(logits, logits_step_by_step(model, params, ids, chords), atol=1e-5)
    time_major_chords = None if chords is None else chords.transpose(1, 0, 2)
    time_major = model.apply({"params": params}, ids.T, time_major_chords, time_major=True)
    np.testing.assert_allclose(time_major, logits.transpose(1, 0, 2), atol=1e-6)


@CONDITIONING
def test_model_and_its_gradient_are_flax_lstm_cell_on_one_hot_vectors(chord_features):
    """Against stock Flax and autodiff, on the notebook's inputs — one-hot vectors, all zeros for
    EMPTY — with the chord features concatenated to them when the model is chord-conditioned."""
    model = DJModel(n_values=12, n_a=16, chord_features=chord_features)
    params = init_params(model, jax.random.key(0))
    ids, chords = random_ids(2, 6, 12, seed=1), random_chords(2, 6, chord_features, seed=1)
    vectors = jax.nn.one_hot(ids, 12)  # all zeros for EMPTY (-1)
    cotangent = jax.random.normal(jax.random.key(1), (2, 6, 12))

    def stock(params, chords):
        inputs = vectors if chords is None else jnp.concatenate([vectors, chords], axis=-1)
        cell, head = nn.LSTMCell(16), nn.Dense(12)
        carry, logits = (jnp.zeros((2, 16)), jnp.zeros((2, 16))), []
        for t in range(6):
            carry, h = cell.apply({"params": params["cells_0"]}, carry, inputs[:, t])
            logits.append(head.apply({"params": params["head"]}, h))
        return jnp.stack(logits, axis=1)

    def ours(params, chords):
        return model.apply({"params": params}, ids, chords)

    def gradients(logits_fn):
        """The gradient of the parameters, and of the chords when F > 0."""

        def loss(params, chords):
            return jnp.sum(logits_fn(params, chords) * cotangent)

        return jax.grad(loss, argnums=(0, 1))(params, chords)

    np.testing.assert_allclose(ours(params, chords), stock(params, chords), atol=1e-5)
    close = functools.partial(np.testing.assert_allclose, rtol=1e-4, atol=1e-5)
    jax.tree.map(close, gradients(ours), gradients(stock))


@CONDITIONING
@pytest.mark.parametrize("layers", [1, 2])
def test_custom_gradient_equals_autodiff_of_a_loop_of_steps(layers, chord_features):
    """`__call__`'s hand-written backward pass against autodiff through its `step`s."""
    model = DJModel(n_values=12, n_a=16, layers=layers, chord_features=chord_features)
    params = init_params(model, jax.random.key(0))
    ids, chords = random_ids(3, 7, 12), random_chords(3, 7, chord_features)
    cotangent = jax.random.normal(jax.random.key(1), (3, 7, 12))

    def scanned(params):
        return jnp.sum(model.apply({"params": params}, ids, chords) * cotangent)

    def stepped(params):
        return jnp.sum(logits_step_by_step(model, params, ids, chords) * cotangent)

    close = functools.partial(np.testing.assert_allclose, rtol=1e-4, atol=1e-5)
    jax.tree.map(close, jax.grad(scanned)(params), jax.grad(stepped)(params))


@pytest.mark.parametrize(
    "chord_features, chords, message",
    [
        (CHORD_FEATURES, None, r"\(2, 5, 24\) expected, got None"),
        (CHORD_FEATURES, np.zeros((2, 5, 12)), r"got \(2, 5, 12\)"),
        (0, np.zeros((2, 5, 24)), r"None expected"),
    ],
    ids=["missing", "wrong-size", "unconditioned"],
)
def test_chords_come_exactly_with_a_conditioned_model(chord_features, chords, message):
    model = DJModel(n_values=12, n_a=16, chord_features=chord_features)
    params = init_params(model, jax.random.key(0))
    with pytest.raises(JazzFlaxError, match=message):
        model.apply({"params": params}, random_ids(2, 5, 12), chords)


@CONDITIONING
def test_keras_init(chord_features):
    n_values, n_a = 20, 8
    model = DJModel(n_values, n_a, chord_features=chord_features)
    params = init_params(model, jax.random.key(3), "keras")
    cell = params["cells_0"]
    for gate in GATES:
        assert np.all(cell[f"h{gate}"]["bias"] == (1.0 if gate == "f" else 0.0))
    recurrent = jnp.concatenate([cell[f"h{gate}"]["kernel"] for gate in GATES], axis=1)
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(n_a), atol=1e-5)  # orthogonal
    inputs = jnp.concatenate([cell[f"i{gate}"]["kernel"] for gate in GATES], axis=1)
    limit = np.sqrt(6 / (n_values + chord_features + 4 * n_a))  # glorot of (V + F, 4·n_a)
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


def test_take_rows_gradient_is_a_scatter_add_on_a_cpu_and_a_one_hot_matmul_elsewhere():
    """Both ways of summing the rows' cotangents agree with autodiff of the plain gather; on a
    CPU exactly, so that training there is unchanged by the custom gradient."""
    table = jax.random.normal(jax.random.key(0), (7, 5))
    rows = jnp.asarray(np.random.default_rng(0).integers(0, 7, (4, 9)), jnp.uint32)  # repeats
    cotangent = jax.random.normal(jax.random.key(1), (4, 9, 5))

    def gradient(take):
        return jax.grad(lambda table: jnp.sum(take(table, rows) * cotangent))(table)

    plain = gradient(lambda table, rows: table.at[rows].get(mode="promise_in_bounds"))
    g_rows = cotangent.reshape(-1, 5)
    for summed in (jax.ops.segment_sum, segment_sum_by_matmul):
        np.testing.assert_allclose(summed(g_rows, rows.ravel(), 7), plain, rtol=1e-6, atol=1e-6)
    if jax.default_backend() == "cpu":
        np.testing.assert_array_equal(gradient(take_rows), plain)
    else:
        np.testing.assert_array_equal(gradient(take_rows), gradient(take_rows))  # repeatable
        np.testing.assert_allclose(gradient(take_rows), plain, rtol=1e-6, atol=1e-6)

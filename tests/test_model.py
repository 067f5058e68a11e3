"""The model over every registered cell: adding a cell to `cells.CELLS` puts it through these."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import wjazzd
from jazz_flax import cells, fused_lstm, models, sweep
from jazz_flax.errors import JazzFlaxError
from jazz_flax.fused_lstm import FusedLSTMCell
from jazz_flax.model import DJModel, batched_token_scores, count_params, init_params, token_scores
from jazz_flax.windows import CHORD_FEATURES, EMPTY, Windows

CONDITIONING = pytest.mark.parametrize(
    "chord_features", [0, CHORD_FEATURES], ids=["unconditioned", "chords"]
)
EVERY_CELL = pytest.mark.parametrize("cell", list(cells.CELLS))


def lstm_params(n, fan_in):
    return 4 * (n * (fan_in + n) + n)


# Parameters of one layer of n units on fan_in inputs, per cell: a new cell needs its formula here.
LAYER_PARAMS = {
    "lstm": lstm_params,
    "optimized_lstm": lstm_params,
    "fused_lstm": lstm_params,
    "gru": lambda n, fan_in: 3 * (n * (fan_in + n) + n) + n,
    "layernorm_lstm": lambda n, fan_in: 4 * n * (fan_in + n) + 2 * (2 * 4 * n) + 2 * n,
}


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


@functools.partial(jax.jit, static_argnums=0)
def logits_step_by_step(model, params, ids, chords):
    """Logits (B, T, V) from a Python loop of `model.step` (each cell's `__call__`) over time."""
    carry, steps = model.initial_carry(ids.shape[0]), []
    for t in range(ids.shape[1]):
        chords_t = None if chords is None else chords[:, t]
        carry, logits = model.sample_step(params, carry, ids[:, t], chords_t)
        steps.append(logits)
    return jnp.stack(steps, axis=1)


def test_every_cell_has_a_parameter_formula():
    assert set(LAYER_PARAMS) == set(cells.CELLS)


@EVERY_CELL
def test_parameter_count(cell):
    """Two layers, chord-conditioned; the Keras scheme's tree is Flax's (see test_keras_init)."""
    model = DJModel(n_values=90, n_a=64, layers=2, chord_features=CHORD_FEATURES, cell=cell)
    n_a, V, F = 64, 90, CHORD_FEATURES
    expected = LAYER_PARAMS[cell](n_a, V + F) + LAYER_PARAMS[cell](n_a, n_a) + n_a * V + V
    shapes = jax.eval_shape(functools.partial(init_params, model, scheme="flax"), jax.random.key(0))
    assert sum(leaf.size for leaf in jax.tree.leaves(shapes)) == expected


def test_the_notebook_model_has_45530_parameters():
    keras, flax = (
        init_params(DJModel(n_values=90), jax.random.key(0), s) for s in ("keras", "flax")
    )
    assert jax.tree.map(jnp.shape, keras) == jax.tree.map(jnp.shape, flax)
    assert count_params(keras) == 45_530


def test_an_embedding_replaces_the_one_hot_inputs():
    model = DJModel(n_values=90, n_a=64, embed=16)
    params = init_params(model, jax.random.key(0))
    assert count_params(params) == 90 * 16 + lstm_params(64, 16) + 64 * 90 + 90


@pytest.mark.parametrize("cell", ["lstm", "optimized_lstm", "fused_lstm"])
def test_lstm_cells_have_the_parameters_of_flax_lstm_cell(cell):
    params = init_params(DJModel(n_values=90, n_a=64, layers=2, cell=cell), jax.random.key(0))
    for layer, fan_in in [(0, 90), (1, 64)]:
        carry = nn.LSTMCell(64).initialize_carry(jax.random.key(1), (1, fan_in))
        stock = nn.LSTMCell(64).init(jax.random.key(1), carry, jnp.zeros((1, fan_in)))["params"]
        assert jax.tree.map(jnp.shape, params[f"cells_{layer}"]) == jax.tree.map(jnp.shape, stock)


def assert_close_gradients(got, expected):
    """Gradients equal up to float32 rounding, relative to each array's largest entry."""

    def close(got, expected):
        scale = float(np.abs(expected).max()) or 1.0
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale)

    jax.tree.map(close, got, expected)


@pytest.mark.parametrize(
    "cell, chord_features, embed",
    [(cell, CHORD_FEATURES, 0) for cell in cells.CELLS] + [("lstm", 0, 5), ("fused_lstm", 0, 5)],
)
def test_sequence_call_equals_a_loop_of_steps(cell, chord_features, embed):
    """`__call__` (nn.scan, or a cell's own kernel) against a Python loop of the cells' `__call__`:
    two layers, with chords or with a learnt embedding. (Autodiff of nn.scan is JAX's; the one
    hand-written gradient, fused_lstm's, is checked against lstm's below.)"""
    model = DJModel(12, 16, 2, chord_features=chord_features, cell=cell, embed=embed)
    params = init_params(model, jax.random.key(0))
    ids, chords = random_ids(3, 7, 12), random_chords(3, 7, chord_features)
    logits = model.apply({"params": params}, ids, chords)
    assert logits.shape == (3, 7, 12)
    np.testing.assert_allclose(logits, logits_step_by_step(model, params, ids, chords), atol=1e-5)
    time_major_chords = None if chords is None else chords.transpose(1, 0, 2)
    time_major = model.apply({"params": params}, ids.T, time_major_chords, time_major=True)
    np.testing.assert_allclose(time_major, logits.transpose(1, 0, 2), atol=1e-6)


@CONDITIONING
def test_fused_lstm_is_lstm_in_outputs_and_gradients(chord_features):
    """The same parameters through both cells: a checkpoint of one is a checkpoint of the other.
    Two layers, unconditioned (fused_lstm looks its one-hot inputs' rows up, EMPTY included) or
    with chords: the gradients of the parameters and of the chord inputs."""
    lstm, fused = (
        DJModel(12, 16, layers=2, chord_features=chord_features, cell=cell)
        for cell in ("lstm", "fused_lstm")
    )
    params = init_params(lstm, jax.random.key(0))
    ids, chords = random_ids(3, 7, 12, seed=2), random_chords(3, 7, chord_features, seed=2)
    cotangent = jax.random.normal(jax.random.key(1), (3, 7, 12))

    def loss(model, params, chords):
        return jnp.sum(model.apply({"params": params}, ids, chords) * cotangent)

    np.testing.assert_allclose(
        fused.apply({"params": params}, ids, chords),
        lstm.apply({"params": params}, ids, chords),
        atol=1e-5,
    )
    argnums = (1, 2) if chord_features else 1
    grad = jax.jit(jax.grad(loss, argnums), static_argnums=0)
    grads = [grad(model, params, chords) for model in (fused, lstm)]
    assert_close_gradients(*grads)


def test_fused_lstm_is_lstm_at_the_wjazzd_experiments_settings():
    """experiments/wjazzd.py's model (an embedding, 2 layers, dropout 0.3, the flax init, fewer
    units and values): its fast cell and head and the stock ones draw the same initial parameters
    and, in training (the same dropout masks), give the same logits and gradients; the experiment
    trains `fused_lstm` and `fused_dense`."""
    config = wjazzd.get_config()
    assert config.model.cell == "fused_lstm" and config.model.head_layer == "fused_dense"
    assert config.dropout > 0 and config.model.embed
    config.update(n_a=16, init="flax")
    config.model.embed = 8
    stock = {"model.cell": "lstm", "model.head_layer": "dense"}
    fused, lstm = (models.make_model(c, 12) for c in (config, sweep.override(config, stock)))
    params = init_params(fused, jax.random.key(0), config.init)
    same = init_params(lstm, jax.random.key(0), config.init)
    jax.tree.map(np.testing.assert_array_equal, params, same)
    ids, dropout = random_ids(3, 7, 12, seed=3), {"dropout": jax.random.key(4)}

    def loss(model, params):
        logits = model.apply({"params": params}, ids, deterministic=False, rngs=dropout)
        return jnp.sum(logits * jnp.cos(logits)), logits

    grad = jax.jit(jax.grad(loss, argnums=1, has_aux=True), static_argnums=0)
    (fused_grads, fused_logits), (lstm_grads, lstm_logits) = (
        grad(model, params) for model in (fused, lstm)
    )
    assert np.abs(lstm_logits - fused.apply({"params": params}, ids)).max() > 1e-3  # dropout on
    np.testing.assert_allclose(fused_logits, lstm_logits, atol=1e-5)
    assert_close_gradients(fused_grads, lstm_grads)


def test_a_cells_settings_are_honoured(monkeypatch):
    """A relu / hard-sigmoid LSTM is another model on the same parameters, in training and
    sampling alike; fused_lstm refuses what it cannot compute."""
    odd = functools.partial(nn.LSTMCell, activation_fn=nn.relu, gate_fn=nn.hard_sigmoid)
    monkeypatch.setitem(cells.CELLS, "relu_lstm", odd)
    default, relu = (DJModel(12, 16, cell=cell) for cell in ("lstm", "relu_lstm"))
    params = init_params(default, jax.random.key(0))
    ids = random_ids(2, 6, 12)
    plain = default.apply({"params": params}, ids)
    changed = relu.apply({"params": params}, ids)
    assert np.abs(plain - changed).max() > 1e-2
    np.testing.assert_allclose(changed, logits_step_by_step(relu, params, ids, None), atol=1e-5)
    with pytest.raises(JazzFlaxError, match="cannot honour gate_fn"):
        FusedLSTMCell(16, gate_fn=nn.hard_sigmoid)


def test_an_unknown_cell_is_refused_naming_the_registered_ones():
    with pytest.raises(JazzFlaxError, match="unknown cell 'lstn'") as error:
        init_params(DJModel(12, 16, cell="lstn"), jax.random.key(0))
    assert "gru" in error.value.hint


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


def kernels(cell_params: dict, prefix: str) -> jax.Array:
    """A cell's `prefix` (i: input, h: recurrent) kernels side by side, in Keras' gate order."""
    names = sorted(k for k in cell_params if k[0] == prefix and "kernel" in cell_params[k])
    names.sort(key=lambda name: "ifgorzn".index(name[1:]) if name[1:] else -1)
    return jnp.concatenate([cell_params[name]["kernel"] for name in names], axis=1)


@EVERY_CELL
def test_keras_init(cell):
    n_values, n_a, chord_features = 20, 8, CHORD_FEATURES
    model = DJModel(n_values, n_a, chord_features=chord_features, cell=cell)
    params = init_params(model, jax.random.key(3), "keras")["cells_0"]
    for name, leaves in params.items():
        if "bias" in leaves and name[0] in "ih":
            assert np.all(leaves["bias"] == (1.0 if name == "hf" else 0.0))
    recurrent = kernels(params, "h")
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(n_a), atol=1e-5)  # orthogonal
    inputs = kernels(params, "i")
    limit = np.sqrt(6 / (n_values + chord_features + inputs.shape[1]))  # glorot of (V + F, G·n)
    assert np.abs(inputs).max() <= limit and np.abs(inputs).max() > 0.9 * limit


class Elman(nn.RNNCellBase):
    """A cell whose kernels are not named as Flax's cells name theirs."""

    features: int

    @nn.compact
    def __call__(self, h, x):
        h = jnp.tanh(
            nn.Dense(self.features, name="w_x")(x) + nn.Dense(self.features, name="w_h")(h)
        )
        return h, h

    @nn.nowrap
    def initialize_carry(self, rng, input_shape):
        return jnp.zeros((*input_shape[:-1], self.features))

    @property
    def num_feature_axes(self) -> int:
        return 1


def test_keras_init_refuses_a_cell_without_flax_kernel_names(monkeypatch):
    monkeypatch.setitem(cells.CELLS, "odd", Elman)
    with pytest.raises(JazzFlaxError, match="keras init"):
        init_params(DJModel(12, 8, cell="odd"), jax.random.key(0), "keras")
    assert count_params(init_params(DJModel(12, 8, cell="odd"), jax.random.key(0), "flax"))


def test_flax_init_keeps_flax_defaults():
    params = init_params(DJModel(20, 8), jax.random.key(3), "flax")
    assert all(np.all(params["cells_0"][f"h{gate}"]["bias"] == 0) for gate in "ifgo")


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


def test_fused_dense_is_dense_in_outputs_and_gradients():
    """`fused_lstm.FusedDense` (its kernel's gradient from a stored transpose, its input stored
    first) against nn.Dense, on (T, B, F) inputs: the same parameters, outputs and gradients."""
    x = jax.random.normal(jax.random.key(0), (5, 3, 6))
    cotangent = jax.random.normal(jax.random.key(1), (5, 3, 4))
    dense, fused = nn.Dense(4), fused_lstm.FusedDense(4)
    params = dense.init(jax.random.key(2), x)
    jax.tree.map(np.testing.assert_array_equal, params, fused.init(jax.random.key(2), x))

    def loss(layer, params, x):
        return jnp.sum(layer.apply(params, x) * cotangent)

    grad = jax.jit(jax.grad(loss, argnums=(1, 2)), static_argnums=0)
    np.testing.assert_allclose(fused.apply(params, x), dense.apply(params, x), atol=1e-6)
    assert_close_gradients(grad(fused, params, x), grad(dense, params, x))
    with pytest.raises(JazzFlaxError, match="last axis"):
        fused_lstm.dense_dot_general(x, x, (((0,), (0,)), ((), ())))


def test_stored_is_the_identity_through_a_loop():
    x = jax.random.normal(jax.random.key(0), (4, 3, 2))
    np.testing.assert_array_equal(jax.jit(fused_lstm.stored)(x), x)
    assert "while" in jax.jit(fused_lstm.stored).lower(x).compile().as_text()  # not elided


def test_the_row_lookups_gradient_sums_rows_alike_on_every_platform():
    """`fused_lstm.take_rows`' gradient: a scatter-add on a CPU, a one-hot matmul elsewhere (for
    repeatable GPU runs); both sum each row's cotangents into the table."""
    rows = jnp.asarray(np.random.default_rng(0).integers(0, 5, 40), jnp.uint32)
    cotangents = jax.random.normal(jax.random.key(0), (40, 3))
    by_matmul = fused_lstm._segment_sum_by_matmul(cotangents, rows, num_segments=6)
    _, vjp = jax.vjp(fused_lstm.take_rows, jnp.zeros((6, 3)), rows)
    np.testing.assert_allclose(vjp(cotangents)[0], by_matmul, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(by_matmul[5], 0)  # a row no id took


@pytest.mark.parametrize("batch", [1, 3, 7, 100])
def test_scores_in_batches_are_the_scores_of_all_windows_at_once(batch):
    model = DJModel(12, 8, 1, chord_features=CHORD_FEATURES)
    params = init_params(model, jax.random.key(0))
    ids = random_ids(7, 5, 12)
    windows = Windows(ids, random_ids(7, 5, 12, seed=1) % 12, random_chords(7, 5, CHORD_FEATURES))
    nll, correct = batched_token_scores(model, params, windows, batch)
    expected = token_scores(model, params, windows)
    assert nll.shape == correct.shape == (7, 5)
    np.testing.assert_allclose(nll, expected[0], rtol=1e-6)
    np.testing.assert_array_equal(correct, expected[1])
    empty = Windows(ids[:0], ids[:0], random_chords(0, 5, CHORD_FEATURES))
    assert batched_token_scores(model, params, empty)[0].shape == (0, 5)

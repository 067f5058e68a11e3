"""The recurrent cells a model can use, by name: `config.model.cell`.

Every cell is a Flax `nn.RNNCellBase`: `cell(carry, x) → (carry, h)` for one time step, its carry
from `cell.initialize_carry`. `over_time` runs a cell over a sequence with `nn.scan` (autodiff
gives the gradient); a cell that brings a sequence kernel of its own (`fused_lstm`'s `over_time`)
runs that instead. The sampler calls the same cell's `__call__` one step at a time.

Adding a cell is one entry in `CELLS`: a class (or `functools.partial`) taking the hidden size.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from jazz_flax.errors import JazzFlaxError
from jazz_flax.fused_lstm import FusedLSTMCell


class LayerNormLSTMCell(nn.RNNCellBase):
    """An LSTM whose gate pre-activations and cell state are layer-normalised (Ba et al., 2016)."""

    features: int

    @nn.compact
    def __call__(self, carry, inputs):
        c, h = carry
        dense = functools.partial(nn.Dense, 4 * self.features, use_bias=False)
        z = nn.LayerNorm(name="norm_i")(dense(name="i")(inputs))
        z = z + nn.LayerNorm(name="norm_h")(dense(name="h")(h))
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c = nn.sigmoid(f) * c + nn.sigmoid(i) * jnp.tanh(g)
        h = nn.sigmoid(o) * jnp.tanh(nn.LayerNorm(name="norm_c")(c))
        return (c, h), h

    @nn.nowrap
    def initialize_carry(self, rng, input_shape):
        zeros = jnp.zeros((*input_shape[:-1], self.features))
        return zeros, zeros

    @property
    def num_feature_axes(self) -> int:
        return 1


CELLS = {
    "lstm": nn.LSTMCell,
    "optimized_lstm": nn.OptimizedLSTMCell,
    "gru": nn.GRUCell,
    "layernorm_lstm": LayerNormLSTMCell,
    "fused_lstm": FusedLSTMCell,
}


def make(name: str, features: int) -> nn.RNNCellBase:
    """The cell registered as `name`, with `features` hidden units."""
    if name not in CELLS:
        raise JazzFlaxError(f"unknown cell {name!r}", hint=f"use one of {', '.join(CELLS)}")
    return CELLS[name](features)


def initial_carry(cell: nn.RNNCellBase, batch: int, fan_in: int):
    """The cell's carry for `batch` sequences of `fan_in` features: its own `initialize_carry`,
    with a fixed key (the stock cells' carries are zeros)."""
    return cell.initialize_carry(jax.random.key(0), (batch, fan_in))


def _one_step(cell: nn.RNNCellBase, carry, x: jax.Array):
    return cell(carry, x)


# A cell over time (the leading axis), its parameters shared by every step.
_scan = nn.scan(_one_step, variable_broadcast="params", split_rngs={"params": False})


def over_time(cell: nn.RNNCellBase, x: jax.Array) -> jax.Array:
    """The cell's outputs (T, B, n) for inputs (T, B, F), from its initial carry."""
    if hasattr(cell, "over_time"):  # a cell with its own sequence kernel
        return cell.over_time(x)
    return _scan(cell, initial_carry(cell, x.shape[1], x.shape[-1]), x)[1]


def over_tokens(cell: nn.RNNCellBase, ids: jax.Array, n_values: int) -> jax.Array:
    """`over_time` of the one-hot vectors of ids (T, B) over n_values values (EMPTY: all zeros);
    a cell that looks its input rows up instead (`fused_lstm`'s `over_tokens`) does that."""
    if hasattr(cell, "over_tokens"):
        return cell.over_tokens(ids, n_values)
    return over_time(cell, jax.nn.one_hot(ids, n_values))

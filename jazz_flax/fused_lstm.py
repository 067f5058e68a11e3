"""`fused_lstm`: `nn.LSTMCell` with a sequence kernel of its own, the project's one fast path.

`FusedLSTMCell` *is* an `nn.LSTMCell` (a subclass): the same parameters (`ii`, `if`, `ig`, `io`
input kernels; `hi`, `hf`, `hg`, `ho` recurrent kernels and biases), so a checkpoint trained with
one loads into the other, and the same `__call__` for one step (the sampler's). Only `over_time`,
a whole sequence from the zero carry, differs, in how it computes the same numbers:

- the input half of every gate is one matmul over all steps before the scan, so the scanned body
  is the recurrent matmul alone (`nn.LSTMCell` applies its input kernels at every step);
- the scan has a hand-written gradient (`nn.custom_vjp`): the forward pass stacks only the
  derivatives the backward pass needs, the backward loop does one matmul per step (dz·Wᵀ) and the
  recurrent kernel's gradient is one matmul after it, where autodiff carries it through the loop;
- two XLA:CPU choices: the logistic function as tanh (`_sigmoid`), and weight gradients computed
  from a stored transpose (`_transposed`).

What it buys, measured against the stock cells, is in experiments/BENCHMARKS.md ("Cells"). It
computes sigmoid/tanh LSTM gates in float32 from a zero carry and refuses other settings.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from jazz_flax.errors import JazzFlaxError

GATES = ("i", "f", "g", "o")  # nn.LSTMCell's gate names: input, forget, cell, output
FIXED = ("gate_fn", "activation_fn", "carry_init", "dtype", "param_dtype")  # as nn.LSTMCell's


class FusedLSTMCell(nn.LSTMCell):
    """`nn.LSTMCell` with `over_time`: a sequence at once, input projection hoisted out of the scan
    and a hand-written backward pass."""

    def __post_init__(self):
        defaults = {field.name: field.default for field in dataclasses.fields(nn.LSTMCell)}
        changed = [name for name in FIXED if getattr(self, name) is not defaults[name]]
        if changed:
            raise JazzFlaxError(
                f"fused_lstm computes the default LSTM only; it cannot honour {', '.join(changed)}",
                hint="use the cell 'lstm' (nn.LSTMCell) for other settings",
            )
        super().__post_init__()

    def over_time(self, x: jax.Array) -> jax.Array:
        """h (T, B, n) for inputs x (T, B, F), from the zero carry."""
        if self.is_initializing():  # the parameters, as `nn.LSTMCell` creates them
            self(self.initialize_carry(jax.random.key(0), x.shape[1:]), x[0])
        params = self.variables["params"]
        kernel = jnp.concatenate([params[f"i{gate}"]["kernel"] for gate in GATES], axis=1)
        bias = jnp.concatenate([params[f"h{gate}"]["bias"] for gate in GATES])
        rows = dense_rows(x.reshape(-1, x.shape[-1]), kernel, bias)
        return lstm_scan(self, rows.reshape(*x.shape[:-1], -1))


def recurrent_kernel(cell: nn.LSTMCell) -> jax.Array:
    """The cell's four recurrent kernels side by side, (n, 4·n)."""
    params = cell.variables["params"]
    return jnp.concatenate([params[f"h{gate}"]["kernel"] for gate in GATES], axis=1)


def _sigmoid(x: jax.Array) -> jax.Array:
    """The logistic function as tanh(x/2)/2 + 1/2: XLA:CPU evaluates tanh faster than `logistic`."""
    return 0.5 * jnp.tanh(0.5 * x) + 0.5


def recurrent_step(cell: nn.LSTMCell, carry, inputs: jax.Array):
    """One step of the cell given the input half of its gates (B, 4·n).

    ((c, h), inputs) → ((c, h), (h, slab)), slab (B, 6·n) what the backward pass needs: per gate
    the factor that turns dc (gates i, f, g) or dh (gate o) into the gradient of its
    pre-activation (4·n), then ∂h/∂c = o·(1 - tanh² c) (n) and f (n).
    """
    c, h = carry
    i, f, g, o = jnp.split(inputs + h @ recurrent_kernel(cell), 4, axis=-1)
    i, f, g, o = _sigmoid(i), _sigmoid(f), jnp.tanh(g), _sigmoid(o)
    c_new = f * c + i * g
    tanh_c = jnp.tanh(c_new)
    h_new = o * tanh_c
    d_gates = [g * i * (1 - i), c * f * (1 - f), i * (1 - g * g), tanh_c * o * (1 - o)]
    slab = jnp.concatenate([*d_gates, o * (1 - tanh_c * tanh_c), f], axis=-1)
    return (c_new, h_new), (h_new, slab)


# The recurrence scanned over time (leading axis), its parameters shared by every step.
scan_cell = nn.scan(recurrent_step, variable_broadcast="params", split_rngs={"params": False})


def _scan_from_zero(cell: nn.LSTMCell, inputs: jax.Array):
    """(h (T, B, n), slab (T, B, 6·n)) from the zero carry; inputs (T, B, 4·n)."""
    zeros = jnp.zeros((*inputs.shape[1:-1], inputs.shape[-1] // len(GATES)), inputs.dtype)
    return scan_cell(cell, (zeros, zeros), inputs)[1]


def _lstm_outputs(cell: nn.LSTMCell, inputs: jax.Array) -> jax.Array:
    """h (T, B, n) for the gate inputs (T, B, 4·n), from the zero carry."""
    return _scan_from_zero(cell, inputs)[0]


def _lstm_forward(cell: nn.LSTMCell, inputs: jax.Array):
    """`_lstm_outputs` and what `_lstm_backward` needs."""
    hs, slab = _scan_from_zero(cell, inputs)
    return hs, (cell.variables["params"], recurrent_kernel(cell), hs, slab)


def _lstm_backward(residuals, dhs: jax.Array):
    """Backpropagation through time: dz·Wᵀ in the loop, W's gradient Hᵀ·dZ after it.

    dhs (T, B, n) → (the cell's parameter gradients, the gate inputs' gradient dz (T, B, 4·n)).
    The input kernels and biases get theirs from dz, through the hoisted projection.
    """
    params, kernel, hs, slab = residuals
    n = hs.shape[-1]
    kernel_t = kernel.T

    def step(carry, args):
        dh_later, dc_later = carry  # through h_t and c_t into step t+1
        dh_out, slab = args
        dh = dh_out + dh_later
        dc = dc_later + dh * slab[:, 4 * n : 5 * n]
        dz = jnp.concatenate([dc, dc, dc, dh], axis=-1) * slab[:, : 4 * n]
        return (dz @ kernel_t, dc * slab[:, 5 * n :]), dz

    zeros = jnp.zeros_like(hs[0])
    _, dz = jax.lax.scan(step, (zeros, zeros), (dhs, slab), reverse=True)
    h_before = jnp.concatenate([zeros[None], hs[:-1]]).reshape(-1, n)  # h_{t-1}, h_{-1} = 0
    dz_rows = dz.reshape(-1, len(GATES) * n)
    d_kernels = jnp.split(_transposed(h_before) @ dz_rows, len(GATES), axis=1)
    grads = jax.tree.map(jnp.zeros_like, params)
    for gate, d_kernel in zip(GATES, d_kernels, strict=True):
        grads[f"h{gate}"] = {**grads[f"h{gate}"], "kernel": d_kernel}
    return {"params": grads}, dz


# `scan_cell` from the zero carry with the gradient of `_lstm_backward`: inputs → h (T, B, n).
lstm_scan = nn.custom_vjp(_lstm_outputs, forward_fn=_lstm_forward, backward_fn=_lstm_backward)


def _transposed(x: jax.Array) -> jax.Array:
    """xᵀ stored as such. XLA:CPU hands a matmul that sums over its left operand's leading axis
    (xᵀ·g, a weight gradient) to Eigen, which is slow to start in a process; on a stored xᵀ,
    YNNPACK runs it, as it runs every other matmul here."""
    return jax.lax.optimization_barrier(x.T)


@jax.custom_vjp
def dense_rows(x: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
    """x·kernel + bias on rows x (N, F), (N, G); its kernel's gradient from `_transposed` x."""
    return x @ kernel + bias


def _dense_rows_forward(x, kernel, bias):
    return dense_rows(x, kernel, bias), (x, kernel)


def _dense_rows_backward(residuals, g):
    x, kernel = residuals
    return g @ kernel.T, _transposed(x) @ g, g.sum(axis=0)


dense_rows.defvjp(_dense_rows_forward, _dense_rows_backward)

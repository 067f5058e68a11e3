"""`fused_lstm`: `nn.LSTMCell` with a sequence kernel of its own, the project's one fast path.

`FusedLSTMCell` *is* an `nn.LSTMCell` (a subclass): the same parameters (`ii`, `if`, `ig`, `io`
input kernels; `hi`, `hf`, `hg`, `ho` recurrent kernels and biases), so a checkpoint trained with
one loads into the other, and the same `__call__` for one step (the sampler's). Only `over_time`
and `over_tokens`, a whole sequence from the zero carry, differ, in how they compute the same
numbers:

- the input half of every gate is one matmul over all steps before the scan (for one-hot inputs,
  `over_tokens`: a row lookup, its gradient a scatter-add), so the scanned body is the recurrent
  matmul alone (`nn.LSTMCell` applies its input kernels at every step);
- one tanh gives all four gates (`gates`: the logistic function as tanh(z/2)/2 + 1/2, which
  XLA:CPU evaluates faster), and the forward loop stacks only h, c and the gates;
- the scan has a hand-written gradient (`nn.custom_vjp`): the derivatives the backward pass needs
  are computed after the forward loop for all steps at once (`_slab`), the backward loop does one
  matmul per step (dz·Wᵀ) and the recurrent kernel's gradient is one matmul after it, where
  autodiff carries it through the loop; weight gradients use a stored transpose (`_transposed`).

`FusedDense` is `nn.Dense` with the same weight gradient (`matmul_rows`), for the model's head
(`config.model.head_layer = "fused_dense"`). Both store their input before they multiply it
(`stored`), so that the backward pass transposes stored values.

What it buys, measured against the stock layers, is in experiments/BENCHMARKS.md ("The default
path", "Cells", "The corpus row: the head's weight gradient and a stored input"). It computes
sigmoid/tanh LSTM gates in float32 from a zero carry and refuses other settings.
"""

from __future__ import annotations

import dataclasses
import functools

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
        kernel, bias = self.input_projection()
        return lstm_scan(self, matmul_rows(x, kernel) + bias)

    def over_tokens(self, ids: jax.Array, n_values: int) -> jax.Array:
        """`over_time` of the one-hot vectors of ids (T, B) over n_values values (an id outside
        them, EMPTY, is all zeros), the projection of each a row of the input kernel: a gather,
        and a scatter-add for its gradient, where a one-hot matmul would do n_values times the
        work (experiments/BENCHMARKS.md, "The default path")."""
        if self.is_initializing():
            return self.over_time(jax.nn.one_hot(ids, n_values))
        kernel, bias = self.input_projection()
        table = jnp.concatenate([kernel + bias, bias[None]])  # the last row: an all-zero input
        rows = jnp.where((ids >= 0) & (ids < n_values), ids, n_values).astype(jnp.uint32)
        return lstm_scan(self, take_rows(table, rows))

    def input_projection(self) -> tuple[jax.Array, jax.Array]:
        """The four input kernels side by side (F, 4·n) and the four biases (4·n,)."""
        params = self.variables["params"]
        kernel = jnp.concatenate([params[f"i{gate}"]["kernel"] for gate in GATES], axis=1)
        return kernel, jnp.concatenate([params[f"h{gate}"]["bias"] for gate in GATES])


def recurrent_kernel(cell: nn.LSTMCell) -> jax.Array:
    """The cell's four recurrent kernels side by side, (n, 4·n)."""
    params = cell.variables["params"]
    return jnp.concatenate([params[f"h{gate}"]["kernel"] for gate in GATES], axis=1)


def _gate_affine(n: int) -> jax.Array:
    """(2, 4·n): per gate column, the scale and shift that make one tanh give all four gates:
    σ(z) = tanh(z/2)/2 + 1/2 for i, f, o and tanh(z) for g (a scale of 1 and a shift of 0 are
    exact). XLA:CPU evaluates tanh faster than `logistic`, and one activation over the whole
    (B, 4·n) row took an inference step from 24 to 13 µs (experiments/BENCHMARKS.md, "The
    default path")."""
    scale = jnp.repeat(jnp.array([0.5, 0.5, 1.0, 0.5]), n)
    return jnp.stack([scale, jnp.repeat(jnp.array([0.5, 0.5, 0.0, 0.5]), n)])


def gates(z: jax.Array, affine: jax.Array) -> jax.Array:
    """The activated gates [i, f, g, o] (…, 4·n) of their pre-activations z (…, 4·n)."""
    scale, shift = affine
    return jnp.tanh(z * scale) * scale + shift


def recurrent_step(kernel: jax.Array, affine: jax.Array, carry, inputs: jax.Array):
    """One step given the input half of its gates (B, 4·n): ((c, h), inputs) → ((c, h), (h, c,
    gates)); what the backward pass needs is derived from the stacked c and gates after the loop
    (`_slab`), so the loop body is the matmul, one tanh over the gates and one over c."""
    c, h = carry
    activated = gates(inputs + h @ kernel, affine)
    i, f, g, o = jnp.split(activated, 4, axis=-1)
    c_new = f * c + i * g
    h_new = o * jnp.tanh(c_new)
    return (c_new, h_new), (h_new, c_new, activated)


def _scan_from_zero(kernel: jax.Array, inputs: jax.Array):
    """(h (T, B, n), c (T, B, n), gates (T, B, 4·n)) from the zero carry; inputs (T, B, 4·n)."""
    n = kernel.shape[0]
    zeros = jnp.zeros((*inputs.shape[1:-1], n), inputs.dtype)
    step = functools.partial(recurrent_step, kernel, _gate_affine(n))
    return jax.lax.scan(step, (zeros, zeros), inputs)[1]


def _lstm_outputs(cell: nn.LSTMCell, inputs: jax.Array) -> jax.Array:
    """h (T, B, n) for the gate inputs (T, B, 4·n), from the zero carry."""
    return _scan_from_zero(recurrent_kernel(cell), inputs)[0]


def _lstm_forward(cell: nn.LSTMCell, inputs: jax.Array):
    """`_lstm_outputs` and what `_lstm_backward` needs."""
    kernel = recurrent_kernel(cell)
    hs, cs, activated = _scan_from_zero(kernel, inputs)
    return hs, (cell.variables["params"], kernel, hs, _slab(cs, activated))


def _slab(cs: jax.Array, activated: jax.Array) -> jax.Array:
    """What each backward step needs (T, B, 6·n), for all steps at once outside the loop: per gate
    the factor that turns dc (gates i, f, g) or dh (gate o) into the gradient of its
    pre-activation (4·n), then ∂h/∂c = o·(1 - tanh² c) (n) and f (n)."""
    i, f, g, o = jnp.split(activated, 4, axis=-1)
    c_before = jnp.concatenate([jnp.zeros_like(cs[:1]), cs[:-1]])  # c_{t-1}, c_{-1} = 0
    tanh_c = jnp.tanh(cs)
    d_gates = [g * i * (1 - i), c_before * f * (1 - f), i * (1 - g * g), tanh_c * o * (1 - o)]
    return jnp.concatenate([*d_gates, o * (1 - tanh_c * tanh_c), f], axis=-1)


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
def matmul_rows(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """x (…, F)·kernel (F, G), as nn.Dense multiplies; the kernel's gradient is the stored
    transpose of x's rows times the output's gradient (`_transposed`), where autodiff's xᵀ·g goes
    to Eigen, whose threads stall the other CPU device's (experiments/BENCHMARKS.md, "The corpus
    row: the head's weight gradient")."""
    return x @ kernel


def _matmul_rows_forward(x, kernel):
    x = stored(x)
    return x @ kernel, (x, kernel)


def _matmul_rows_backward(residuals, g):
    x, kernel = residuals
    rows, g_rows = x.reshape(-1, x.shape[-1]), g.reshape(-1, g.shape[-1])
    return g @ kernel.T, _transposed(rows) @ g_rows


matmul_rows.defvjp(_matmul_rows_forward, _matmul_rows_backward)


def stored(x: jax.Array) -> jax.Array:
    """x as it is; on a CPU written to memory by a loop over its leading axis. XLA:CPU fuses a cheap
    producer of x, such as dropout's mask arithmetic, into each of x's consumers; in the
    backward pass's transposed copy of x that arithmetic reads its inputs with a stride: 6× the
    time of copying a stored x (experiments/BENCHMARKS.md, "The corpus row: the head's weight
    gradient"). XLA cannot fuse through the loop, so x is stored once (`+ 0.0`: JAX would pass an
    identity scan's input through without a loop). Elsewhere, where a loop costs a launch a step,
    x itself."""
    return jax.lax.platform_dependent(x, cpu=_stored_by_loop, default=lambda x: x)


def _stored_by_loop(x: jax.Array) -> jax.Array:
    return jax.lax.scan(lambda carry, row: (carry, row + 0.0), None, x)[1]


def dense_dot_general(x, kernel, dimension_numbers, precision=None, **unused):
    """`nn.Dense`'s product as `matmul_rows` (its `dot_general`): `FusedDense`."""
    if dimension_numbers != (((x.ndim - 1,), (0,)), ((), ())) or precision is not None:
        raise JazzFlaxError("fused_dense multiplies the last axis by the kernel, at full precision")
    return matmul_rows(x, kernel)


# nn.Dense (the same parameters and outputs) whose kernel gradient is `matmul_rows`'.
FusedDense = functools.partial(nn.Dense, dot_general=dense_dot_general)


@jax.custom_vjp
def take_rows(table: jax.Array, rows: jax.Array) -> jax.Array:
    """table[rows], rows in bounds; its gradient is the same on every run, on any device: a
    scatter-add (`jax.ops.segment_sum`) on a CPU, where it is fast and exact, elsewhere a matmul
    with one-hot rows, since a GPU's scatter-add sums with atomic adds in another order each run."""
    return table.at[rows].get(mode="promise_in_bounds")


def _take_rows_forward(table, rows):
    return take_rows(table, rows), (rows, table.shape[0])


def _take_rows_backward(residuals, g):
    rows, n_rows = residuals
    g_rows, rows = g.reshape(-1, g.shape[-1]), rows.ravel()
    scatter = functools.partial(jax.ops.segment_sum, num_segments=n_rows)
    matmul = functools.partial(_segment_sum_by_matmul, num_segments=n_rows)
    return jax.lax.platform_dependent(g_rows, rows, cpu=scatter, default=matmul), None


def _segment_sum_by_matmul(data: jax.Array, segment_ids: jax.Array, num_segments: int):
    """`jax.ops.segment_sum` of data (N, F) as one_hot(segment_ids)ᵀ·data, in a fixed order on
    any device; in full float32 (a GPU's default float32 matmul rounds to TF32)."""
    one_hot = jax.nn.one_hot(segment_ids, num_segments, dtype=data.dtype)
    return jnp.matmul(one_hot.T, data, precision=jax.lax.Precision.HIGHEST)


take_rows.defvjp(_take_rows_forward, _take_rows_backward)

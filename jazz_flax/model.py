"""The notebook's `djmodel` in Flax: stacked `nn.LSTMCell`s over token ids and a dense head.

    ids (B, T) ──input kernels, all steps at once (a row lookup)──▶ gate inputs (T, B, 4·n_a)
               ──nn.scan of the cell's recurrence (recurrent kernels only)──▶ h (T, B, n_a)
               ──dropout, Dense──▶ logits (B, T, n_values)

Each layer *is* an `nn.LSTMCell`: it creates the parameters (`ii`, `if`, `ig`, `io` input kernels;
`hi`, `hf`, `hg`, `ho` recurrent kernels and biases), `nn.scan` runs its recurrence over time and
`step` — one time step, for the sampler — runs the same recurrence once. The input half of each
gate does not depend on the carry, so `__call__` computes it for all steps before the scan, from
ids by row lookup, and the scanned body is a single matmul. (Scanning `nn.LSTMCell.__call__`
itself applies the input kernels at every step, to one-hot vectors: 0.80 s for the baseline's 100
epochs on 2 CPU cores against 0.55 s.)

Chord conditioning (`chord_features` F > 0), as Magenta's Improv RNN: the first layer's input is
[one_hot(ids), chords], the features of the chord sounding at each token (`data.chord_vector`).
Its cell is created with fan-in n_values + F; the gate inputs are the row lookup of the kernels'
first n_values rows plus one matmul of the chords (T, B, F) with their last F rows, before the scan.

The scan has a hand-written gradient (`lstm_scan`, an `nn.custom_vjp`). Autodiff of the scan
carries the recurrent kernel's gradient through the backward loop (one more matmul per step) and
stacks many intermediates; here the forward stacks just the derivatives the backward needs, the
backward loop does only dz·Wᵀ per step, and the kernel's gradient is one matmul after it: the
baseline's 100 epochs take about 30% less time on 2 CPU cores, 0.52 s → 0.37 s
(experiments/BENCHMARKS.md). The tests check `__call__` and its gradient against a loop of `step`
and against `nn.LSTMCell` on one-hot vectors. With n_a=64 and 90 values: 45,530 parameters, as in
Keras.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from jazz_flax.data import EMPTY
from jazz_flax.errors import JazzFlaxError

GATES = ("i", "f", "g", "o")  # nn.LSTMCell's gate names: input, forget, cell, output

Carry = tuple[tuple[jax.Array, jax.Array], ...]  # per layer (c, h), each (B, n_a)


class DJModel(nn.Module):
    """An LSTM language model over token ids; EMPTY (-1) is the all-zero input vector."""

    n_values: int
    n_a: int = 64
    layers: int = 1
    dropout: float = 0.0  # between layers and before the head
    chord_features: int = 0  # F: chord features beside each input token; 0: unconditioned

    def setup(self):
        self.cells = [nn.LSTMCell(self.n_a) for _ in range(self.layers)]
        self.drop = nn.Dropout(self.dropout)
        self.head = nn.Dense(self.n_values)

    def __call__(
        self,
        ids: jax.Array,
        chords: jax.Array | None = None,
        deterministic: bool = True,
        time_major: bool = False,
    ) -> jax.Array:
        """Logits (B, T, n_values) for ids (B, T), from a zero carry; (T, B, …) if time_major.

        chords (B, T, F), or (T, B, F) if time_major: the chord of each token, when F > 0.
        """
        self.check_chords(ids, chords)
        x = ids if time_major else ids.T  # the scan runs over the leading axis
        if chords is not None and not time_major:
            chords = chords.transpose(1, 0, 2)
        if self.is_initializing():
            self.create_parameters(x.shape[1])
        for cell in self.cells:
            x = lstm_scan(cell, stacked_gate_inputs(cell.variables["params"], x, chords))
            x, chords = self.drop(x, deterministic), None  # the chords enter the first layer only
        # the head on (T·B, n_a) rows: XLA:CPU runs the matmul and the loss after it faster flat
        head = self.head.variables["params"]
        logits = dense_rows(x.reshape(-1, x.shape[-1]), head["kernel"], head["bias"])
        logits = logits.reshape(*x.shape[:-1], self.n_values)
        return logits if time_major else logits.transpose(1, 0, 2)

    def create_parameters(self, batch: int) -> None:
        """The cells and the head create their parameters on a first call, as nn.LSTMCell does."""
        x = jnp.zeros((batch, self.n_values + self.chord_features))
        for cell, layer_carry in zip(self.cells, self.initial_carry(batch), strict=True):
            _, x = cell(layer_carry, x)
        self.head(x)

    def step(
        self,
        carry: Carry,
        ids: jax.Array,
        chords: jax.Array | None = None,
        deterministic: bool = True,
    ):
        """One time step: ids (B,), and chords (B, F) when F > 0 → (new carry, logits (B, V)), by
        the arithmetic of one step of `__call__` (a row lookup, then the fused recurrence)."""
        self.check_chords(ids, chords)
        x = ids[None]  # (1, B): one time step
        chords = None if chords is None else chords[None]
        new_carry = []
        for cell, layer_carry in zip(self.cells, carry, strict=True):
            inputs = stacked_gate_inputs(cell.variables["params"], x, chords)[0]
            layer_carry, (h, _) = recurrent_step(cell, layer_carry, inputs)
            x, chords = self.drop(h, deterministic)[None], None
            new_carry.append(layer_carry)
        return tuple(new_carry), self.head(x[0])

    @nn.nowrap
    def check_chords(self, ids: jax.Array, chords: jax.Array | None) -> None:
        """Raises a JazzFlaxError unless chords (*ids.shape, F) come exactly when F > 0."""
        expected = (*ids.shape, self.chord_features) if self.chord_features else None
        got = None if chords is None else tuple(chords.shape)
        if got != expected:
            raise JazzFlaxError(
                f"chords of shape {expected} expected, got {got}",
                hint="a chord-conditioned model (chord_features > 0) takes the chord features of "
                "every token; an unconditioned one takes none",
            )

    @nn.nowrap
    def initial_carry(self, batch: int) -> Carry:
        """The zero carry: per layer (c, h), each (batch, n_a)."""
        zeros = jnp.zeros((batch, self.n_a))
        return ((zeros, zeros),) * self.layers

    @nn.nowrap
    def sample_step(self, params, carry: Carry, ids: jax.Array, chords: jax.Array | None = None):
        """`step` as a plain function of the parameters (`state.params`), for `sample`."""
        return self.apply({"params": params}, carry, ids, chords, method=DJModel.step)


def stacked_gate_inputs(params, x: jax.Array, chords: jax.Array | None = None) -> jax.Array:
    """The input half of each gate plus its bias, side by side: (T, B, 4·n_a), in GATES order.

    x: ids (T, B) — EMPTY giving the bias alone — or vectors (T, B, F). With ids, chords (T, B, F)
    make the input [one_hot(ids), chords]: the ids look up the kernel's first rows, the chords go
    through its last F rows in one matmul.
    """
    kernel = jnp.concatenate([params[f"i{gate}"]["kernel"] for gate in GATES], axis=1)
    bias = jnp.concatenate([params[f"h{gate}"]["bias"] for gate in GATES])
    if x.ndim == 3:
        return x @ kernel + bias
    if chords is None:
        return _row_lookup(kernel, bias, x)
    n_values = kernel.shape[0] - chords.shape[-1]
    return _row_lookup(kernel[:n_values], bias, x) + chords @ kernel[n_values:]


def _row_lookup(kernel: jax.Array, bias: jax.Array, ids: jax.Array) -> jax.Array:
    """(kernel + bias)[ids], the bias alone where ids is EMPTY: rows of one table whose last row
    stands for EMPTY, one gather (`take_rows`) with no mask."""
    table = jnp.concatenate([kernel + bias, bias[None]])
    rows = jnp.where(ids == EMPTY, kernel.shape[0], ids).astype(jnp.uint32)
    return take_rows(table, rows)


@jax.custom_vjp
def take_rows(table: jax.Array, rows: jax.Array) -> jax.Array:
    """table[rows], rows in bounds; its gradient is the same on every run, on any device.

    The gradient sums the rows' cotangents into the table: a scatter-add (`jax.ops.segment_sum`)
    on a CPU, where it is fast and exact, but elsewhere a matmul with one-hot rows, since a GPU's
    scatter-add sums with atomic adds in another order each run.
    """
    return table.at[rows].get(mode="promise_in_bounds")


def _take_rows_forward(table, rows):
    return take_rows(table, rows), (rows, table.shape[0])


def _take_rows_backward(residuals, g):
    rows, n_rows = residuals
    g_rows, rows = g.reshape(-1, g.shape[-1]), rows.ravel()
    scatter = functools.partial(jax.ops.segment_sum, num_segments=n_rows)
    matmul = functools.partial(segment_sum_by_matmul, num_segments=n_rows)
    return jax.lax.platform_dependent(g_rows, rows, cpu=scatter, default=matmul), None


def segment_sum_by_matmul(data: jax.Array, segment_ids: jax.Array, num_segments: int) -> jax.Array:
    """`jax.ops.segment_sum` of data (N, F) as one_hot(segment_ids)ᵀ·data, which sums in a fixed
    order on any device; in full float32 (a GPU's default float32 matmul rounds to TF32)."""
    one_hot = jax.nn.one_hot(segment_ids, num_segments, dtype=data.dtype)
    return jnp.matmul(one_hot.T, data, precision=jax.lax.Precision.HIGHEST)


take_rows.defvjp(_take_rows_forward, _take_rows_backward)


def recurrent_kernel(cell: nn.LSTMCell) -> jax.Array:
    """The cell's four recurrent kernels side by side, (n_a, 4·n_a)."""
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


# The cell scanned over time (leading axis), its parameters shared by every step.
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
    The input kernels and biases get theirs from dz, through `stacked_gate_inputs`.
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
    (xᵀ·g, a weight gradient) to Eigen, whose first use in a process takes about 25 ms; on a
    stored xᵀ, YNNPACK runs it, as it runs every other matmul here."""
    return jax.lax.optimization_barrier(x.T)


@jax.custom_vjp
def dense_rows(x: jax.Array, kernel: jax.Array, bias: jax.Array) -> jax.Array:
    """nn.Dense on rows x (N, n): x·kernel + bias, (N, V); its kernel's gradient `_transposed`."""
    return x @ kernel + bias


def _dense_rows_forward(x, kernel, bias):
    return dense_rows(x, kernel, bias), (x, kernel)


def _dense_rows_backward(residuals, g):
    x, kernel = residuals
    return g @ kernel.T, _transposed(x) @ g, g.sum(axis=0)


dense_rows.defvjp(_dense_rows_forward, _dense_rows_backward)


@functools.partial(jax.jit, static_argnums=(0, 2))
def init_params(model: DJModel, key: jax.Array, scheme: str = "keras"):
    """Parameters of `model`: "flax" (nn.LSTMCell's and nn.Dense's defaults) or "keras".

    Keras initialises each LSTM's kernels as one (F, 4·n) and one (n, 4·n) matrix: glorot-uniform
    input kernel, orthogonal recurrent kernel, zero bias but 1 for the forget gate; the "keras"
    scheme draws those matrices and splits them by gate, and gives the head a glorot-uniform kernel.
    """
    if scheme not in ("keras", "flax"):
        raise JazzFlaxError(f"unknown init scheme {scheme!r}", hint="use 'keras' or 'flax'")
    flax_key, keras_key = jax.random.split(key)
    chords = jnp.zeros((1, 1, model.chord_features)) if model.chord_features else None
    params = model.init(flax_key, jnp.zeros((1, 1), jnp.int32), chords)["params"]
    if scheme == "flax":
        return params
    head_key, *cell_keys = jax.random.split(keras_key, model.layers + 1)
    keras = {f"cells_{i}": _keras_cell(params[f"cells_{i}"], k) for i, k in enumerate(cell_keys)}
    head_kernel = nn.initializers.glorot_uniform()(head_key, params["head"]["kernel"].shape)
    return {**keras, "head": {"kernel": head_kernel, "bias": params["head"]["bias"]}}


def _keras_cell(cell, key: jax.Array):
    """One nn.LSTMCell's parameters with Keras' initial values."""
    fan_in, n = cell["ii"]["kernel"].shape
    input_key, recurrent_key = jax.random.split(key)
    split = functools.partial(jnp.split, indices_or_sections=4, axis=1)
    inputs = split(nn.initializers.glorot_uniform()(input_key, (fan_in, 4 * n)))
    recurrent = split(nn.initializers.orthogonal()(recurrent_key, (n, 4 * n)))
    return {
        **{f"i{gate}": {"kernel": kernel} for gate, kernel in zip(GATES, inputs, strict=True)},
        **{
            f"h{gate}": {"kernel": kernel, "bias": jnp.full(n, 1.0 if gate == "f" else 0.0)}
            for gate, kernel in zip(GATES, recurrent, strict=True)
        },
    }


def count_params(params) -> int:
    return sum(leaf.size for leaf in jax.tree.leaves(params))

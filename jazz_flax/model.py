"""The notebook's `djmodel` in Flax: stacked recurrent cells over token ids and a dense head.

    ids (B, T) ──one-hot (or nn.Embed), [chords]──▶ x (T, B, F)
               ──per layer: the cell over time (`cells.over_time`), dropout──▶ h (T, B, n_a)
               ──Dense──▶ logits (B, T, n_values)

The cell is chosen by name (`config.model.cell`, see `cells.CELLS`): `lstm` (`nn.LSTMCell`, the
notebook's) by default; the head by name too (`config.model.head_layer`, see `HEADS`): `nn.Dense`,
or `fused_dense`, its fast path. `step` — one time step, for the sampler — calls the same cells'
`__call__` once, with the carry they define (an opaque pytree: per layer, the cell's carry).

Inputs: the notebook's one-hot vectors (EMPTY, -1, the all-zero vector), or with `embed` E > 0 a
learnt `nn.Embed` of E features (EMPTY again all zeros). Chord conditioning (`chord_features`
F > 0), as Magenta's Improv RNN: the first layer's input is [inputs, chords], the features of the
chord sounding at each token (`data.chord_vector`).

With the `lstm` cell, n_a=64 and 90 values: 45,530 parameters, as in Keras.
"""

from __future__ import annotations

import functools
import itertools
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jazz_flax import cells
from jazz_flax.errors import JazzFlaxError
from jazz_flax.fused_lstm import FusedDense
from jazz_flax.windows import EMPTY, Windows

Carry = tuple  # per layer, the cell's carry (LSTM: (c, h); GRU: h), each leaf (B, n_a)
INITS = ("keras", "flax")  # the initial parameters `init_params` makes (`config.init`)
# The head from the last layer to the logits, by name (`config.model.head_layer`): the same
# parameters and logits; fused_dense computes its kernel's gradient faster on a CPU.
HEADS = {"dense": nn.Dense, "fused_dense": FusedDense}


class DJModel(nn.Module):
    """A recurrent language model over token ids; EMPTY (-1) is the all-zero input vector."""

    n_values: int
    n_a: int = 64
    layers: int = 1
    dropout: float = 0.0  # between layers and before the head
    chord_features: int = 0  # F: chord features beside each input token; 0: unconditioned
    cell: str = "lstm"  # a name in `cells.CELLS`
    embed: int = 0  # 0: one-hot inputs; E > 0: an nn.Embed of E features
    head_layer: str = "dense"  # a name in `HEADS`

    def setup(self):
        self.cells = [cells.make(self.cell, self.n_a) for _ in range(self.layers)]
        self.embedding = nn.Embed(self.n_values, self.embed) if self.embed else None
        self.drop = nn.Dropout(self.dropout)
        self.head = HEADS[self.head_layer](self.n_values)

    def __call__(
        self,
        ids: jax.Array,
        chords: jax.Array | None = None,
        deterministic: bool = True,
        time_major: bool = False,
    ) -> jax.Array:
        """Logits (B, T, n_values) for ids (B, T), from the initial carry; (T, B, …) if time_major.

        chords (B, T, F), or (T, B, F) if time_major: the chord of each token, when F > 0.
        """
        self.check_chords(ids, chords)
        if not time_major:  # the scan runs over the leading axis
            ids = ids.T
            chords = None if chords is None else chords.transpose(1, 0, 2)
        if self.embedding is None and chords is None:  # one-hot tokens: a cell may look rows up
            x = self.drop(cells.over_tokens(self.cells[0], ids, self.n_values), deterministic)
            layers = self.cells[1:]
        else:
            x, layers = self.inputs(ids, chords), self.cells
        for cell in layers:
            x = self.drop(cells.over_time(cell, x), deterministic)
        logits = self.head(x)
        return logits if time_major else logits.transpose(1, 0, 2)

    def inputs(self, ids: jax.Array, chords: jax.Array | None) -> jax.Array:
        """The first layer's input vectors (…, F) for ids (…): one-hot or embedded, chords after."""
        if self.embedding is None:
            x = jax.nn.one_hot(ids, self.n_values)  # all zeros for EMPTY
        else:
            x = self.embedding(jnp.maximum(ids, 0)) * (ids != EMPTY)[..., None]
        return x if chords is None else jnp.concatenate([x, chords], axis=-1)

    def step(
        self,
        carry: Carry,
        ids: jax.Array,
        chords: jax.Array | None = None,
        deterministic: bool = True,
    ):
        """One time step: ids (B,), and chords (B, F) when F > 0 → (new carry, logits (B, V)),
        each cell's `__call__` once."""
        self.check_chords(ids, chords)
        x, new_carry = self.inputs(ids, chords), []
        for cell, layer_carry in zip(self.cells, carry, strict=True):
            layer_carry, x = cell(layer_carry, x)
            x = self.drop(x, deterministic)
            new_carry.append(layer_carry)
        return tuple(new_carry), self.head(x)

    @nn.nowrap
    def check_chords(self, ids: jax.Array, chords: jax.Array | None) -> None:
        check_chords(ids, chords, self.chord_features)

    @nn.nowrap
    def initial_carry(self, batch: int) -> Carry:
        """Each layer's cell's initial carry (LSTM: zeros (c, h), each (batch, n_a))."""
        fan_in = (self.embed or self.n_values) + self.chord_features
        fan_ins = [fan_in] + [self.n_a] * (self.layers - 1)
        return tuple(
            cells.initial_carry(cells.make(self.cell, self.n_a), batch, f) for f in fan_ins
        )

    @nn.nowrap
    def sample_step(self, params, carry: Carry, ids: jax.Array, chords: jax.Array | None = None):
        """`step` as a plain function of the parameters (`state.params`), for `sample`."""
        return self.apply({"params": params}, carry, ids, chords, method=DJModel.step)


def check_chords(ids: jax.Array, chords: jax.Array | None, chord_features: int) -> None:
    """Raises a JazzFlaxError unless chords (*ids.shape, F) come exactly when F > 0."""
    expected = (*ids.shape, chord_features) if chord_features else None
    got = None if chords is None else tuple(chords.shape)
    if got != expected:
        raise JazzFlaxError(
            f"chords of shape {expected} expected, got {got}",
            hint="a chord-conditioned model (chord_features > 0) takes the chord features of "
            "every token; an unconditioned one takes none",
        )


def from_config(config: ml_collections.ConfigDict, n_values: int, chord_features: int) -> DJModel:
    """The DJModel of `config`: `layers` of `model.cell` with n_a units, `model.embed`,
    `model.head_layer`."""
    settings = config.model
    return DJModel(
        n_values,
        config.n_a,
        config.layers,
        config.dropout,
        chord_features,
        settings.cell,
        settings.embed,
        settings.head_layer,
    )


# ---------------------------------------------------------------------------------------------
# Initialisation

KERAS_GATES = "ifgorzn"  # the order a cell's gates are drawn in as one matrix: LSTM's, then GRU's


@functools.partial(jax.jit, static_argnums=(0, 2))
def init_params(model: DJModel, key: jax.Array, scheme: str = "keras"):
    """Parameters of `model`: "flax" (the cell's and nn.Dense's defaults) or "keras".

    Keras initialises a recurrent layer's kernels as one (F, G·n) and one (n, G·n) matrix for its
    G gates: glorot-uniform input kernel, orthogonal recurrent kernel, zero biases but 1 for the
    LSTM's forget gate. The "keras" scheme draws those matrices and splits them by gate, for every
    cell whose kernels are named as Flax's are (`i…` input, `h…` recurrent, see `_keras_cell`),
    and gives the head a glorot-uniform kernel. Other parameters (layer norms, the embedding) keep
    Flax's initial values.
    """
    if scheme not in INITS:
        raise JazzFlaxError(f"unknown init scheme {scheme!r}", hint="use 'keras' or 'flax'")
    if scheme == "keras" and not isinstance(model, DJModel):
        raise JazzFlaxError(
            "the keras init is the recurrent cells'; a transformer starts from its own",
            hint="use --config.init=flax",
        )
    flax_key, keras_key = jax.random.split(key)
    chords = jnp.zeros((1, 1, model.chord_features)) if model.chord_features else None
    params = model.init(flax_key, jnp.zeros((1, 1), jnp.int32), chords)["params"]
    if scheme == "flax":
        return params
    head_key, *cell_keys = jax.random.split(keras_key, model.layers + 1)
    keras = {
        f"cells_{i}": _keras_cell(params[f"cells_{i}"], k, model.cell)
        for i, k in enumerate(cell_keys)
    }
    head_kernel = nn.initializers.glorot_uniform()(head_key, params["head"]["kernel"].shape)
    return {**params, **keras, "head": {"kernel": head_kernel, "bias": params["head"]["bias"]}}


def _keras_cell(cell: dict, key: jax.Array, name: str) -> dict:
    """A cell's parameters with Keras' initial values: its `i…` kernels drawn as one glorot-uniform
    matrix, its `h…` kernels as one orthogonal matrix, biases 0 (`hf`'s 1); the rest unchanged."""
    input_key, recurrent_key = jax.random.split(key)
    draws = (
        ("i", nn.initializers.glorot_uniform(), input_key),
        ("h", nn.initializers.orthogonal(), recurrent_key),
    )
    cell = {layer: dict(leaves) for layer, leaves in cell.items()}
    kernels = [layer for layer, leaves in cell.items() if "kernel" in leaves]
    unknown = [layer for layer in kernels if not re.fullmatch(f"[ih][{KERAS_GATES}]?", layer)]
    if unknown or not kernels:
        raise JazzFlaxError(
            f"the keras init knows cells with i…/h… kernels, not {name!r}'s {unknown}",
            hint="use --config.init=flax",
        )
    for prefix, initializer, draw_key in draws:
        layers = sorted((layer for layer in kernels if layer[0] == prefix), key=_gate_rank)
        shapes = [cell[layer]["kernel"].shape for layer in layers]
        matrix = initializer(draw_key, (shapes[0][0], sum(shape[1] for shape in shapes)))
        splits = list(itertools.accumulate(shape[1] for shape in shapes))[:-1]
        for layer, kernel in zip(layers, jnp.split(matrix, splits, axis=1), strict=True):
            cell[layer]["kernel"] = kernel
    for layer, leaves in cell.items():
        if "bias" in leaves and layer[0] in "ih":
            leaves["bias"] = jnp.full_like(leaves["bias"], 1.0 if layer == "hf" else 0.0)
    return cell


def _gate_rank(layer: str) -> int:
    """A kernel's place in its Keras matrix: by gate (`KERAS_GATES`), a lone `i`/`h` first."""
    return KERAS_GATES.index(layer[1:]) if layer[1:] else -1


@functools.partial(jax.jit, static_argnums=0)
def token_scores(model, params, windows: Windows) -> tuple[jax.Array, jax.Array]:
    """(-log p(y) (W, L), whether y is the argmax (W, L)) for windows (W, L)."""
    x, y = windows.x, windows.y
    chords = windows.chords if model.chord_features else None
    log_probs = jax.nn.log_softmax(model.apply({"params": params}, x, chords))
    nll = -jnp.take_along_axis(log_probs, y[..., None], axis=-1)[..., 0]
    return nll, jnp.argmax(log_probs, axis=-1) == y


SCORED_WINDOWS = 512  # windows `batched_token_scores` scores a call: (512, L, V) logits at most


def batched_token_scores(model, params, windows: Windows, batch: int = SCORED_WINDOWS):
    """`token_scores` of every window (`batched`): host arrays (W, L)."""
    if not len(windows.x):
        return np.zeros(windows.y.shape, np.float32), np.zeros(windows.y.shape, bool)
    return batched(token_scores, model, params, windows, batch=batch)


def batched(score, model, params, windows: Windows, *args, batch: int = SCORED_WINDOWS):
    """The arrays (W, L) of `score(model, params, windows, *args)` for every window (W ≥ 1),
    `batch` windows a call (the last call's padded, so that one program scores them all): the
    memory of the logits stays bounded however many windows (a held-out split scored the test
    way has one a token). Host arrays."""
    batch = min(batch, len(windows.x))
    pad = -len(windows.x) % batch
    padded = Windows(*(np.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)) for a in windows))
    parts = [
        score(model, params, Windows(*(a[start : start + batch] for a in padded)), *args)
        for start in range(0, len(padded.x), batch)
    ]
    whole = (np.concatenate([np.asarray(part[k]) for part in parts]) for k in range(len(parts[0])))
    return tuple(array[: len(windows.x)] for array in whole)


def count_params(params) -> int:
    return sum(leaf.size for leaf in jax.tree.leaves(params))

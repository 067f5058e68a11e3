"""A decoder-only causal Transformer beside the LSTM (`config.model.kind = "transformer"`).

    ids (B, T) ──nn.Embed (EMPTY a start token) [+ Dense(chords)], dropout──▶ x (B, T, n_a)
               ──layers × pre-LayerNorm block: x + attention(LN x), x + MLP(LN x)──▶
               ──LayerNorm, head (or the embedding's transpose, tied)──▶ logits (B, T, n_values)

In the style of flax examples/lm1b/models.py, from stock layers (nn.Embed, nn.DenseGeneral,
nn.LayerNorm, nn.dot_product_attention). It takes what `model.DJModel` takes: token ids and,
when `chord_features` F > 0, each token's chord features, projected to n_a and added to the
token's embedding (DJModel concatenates them to its input, the same thing before a linear layer).
EMPTY (-1), the start/empty input, has a learnt embedding of its own, a start token: the LSTM's
all-zero input would keep a pre-LayerNorm residual stream at zero at its position, where each
LayerNorm multiplies the gradient by 1/√ε (10³): through 7 blocks' 15 norms, an overflow.

Positions are rotary (RoPE, Su et al. 2021) rather than learnt relative biases: rotating queries
and keys by their position makes attention depend on distance only, with no table and no
parameters, and a key is rotated once, when it is computed, so the cache stores it as it is.
Every token attends to itself and the `max_len` − 1 tokens before it (`max_len` is the training
window, `data.Tx`): in training the window holds no more, and a sample of any length sees only the
distances it was trained on.

Sampling (`step`) keeps a key/value cache of `max_len` slots per layer, written in place at slot
`position % max_len` (a ring: slot s holds the last position ≡ s), like lm1b's `decode=True`. The
cache is an explicit state pytree (`Cache`), not Flax's "cache" collection: the sampler and beam
search thread it through `jax.lax.fori_loop` as they thread the LSTM's carry, beam search reorders
it by row with `jax.tree.map`, and `sample_step` stays a pure function of (params, state, ids).
Every leaf has the batch axis first, the position too (B,), so that reordering rows moves it.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from jazz_flax.errors import JazzFlaxError
from jazz_flax.model import check_chords
from jazz_flax.windows import EMPTY

ROTARY_BASE = 10_000.0  # the wavelengths of the rotary frequencies grow geometrically to 2π·base


class Cache(NamedTuple):
    """The sampler's state: per layer, the keys and values (B, max_len, heads, head size) of the
    last max_len tokens, rotated, in their ring slots; each row's position of its next token."""

    keys: tuple
    values: tuple
    position: jax.Array  # int32 (B,)


def rotate(x: jax.Array, positions: jax.Array) -> jax.Array:
    """Rotary embedding of x (B, T, heads, D), D even, at positions (B, T): each pair of features
    (i, i + D/2) turned by the angle position / ROTARY_BASE^(2i/D)."""
    half = x.shape[-1] // 2
    frequencies = ROTARY_BASE ** (-jnp.arange(half, dtype=jnp.float32) / half)
    angles = positions[..., None, None].astype(jnp.float32) * frequencies  # (B, T, 1, D/2)
    sin, cos = jnp.sin(angles), jnp.cos(angles)
    x1, x2 = x[..., :half], x[..., half:]
    return jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def visible(query_positions: jax.Array, key_positions: jax.Array, span: int) -> jax.Array:
    """bool (B, 1, Tq, Tk): key k is seen by query q when 0 ≤ q − k < span and k ≥ 0 (an empty
    cache slot holds position −1 or less)."""
    distance = query_positions[:, :, None] - key_positions[:, None, :]
    seen = (distance >= 0) & (distance < span) & (key_positions[:, None, :] >= 0)
    return seen[:, None]


def slot_positions(position: jax.Array, slots: int) -> jax.Array:
    """int32 (B, slots): the position each ring slot holds once `position` (B,) is written, the
    latest p ≤ position with p ≡ slot (mod slots); negative for a slot not written yet."""
    return position[:, None] - (position[:, None] - jnp.arange(slots)) % slots


def write(cache: tuple, new: tuple, slot: jax.Array) -> tuple:
    """The (keys, values) cache (B, slots, …) with each row's new (B, 1, …) in its slot (B,)."""
    rows = jnp.arange(slot.shape[0])
    return tuple(c.at[rows, slot].set(n[:, 0]) for c, n in zip(cache, new, strict=True))


class Attention(nn.Module):
    """Multi-head causal self-attention with rotary positions, over the sequence or the cache."""

    heads: int
    max_len: int
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x, positions, deterministic: bool, cache=None):
        """x (B, T, n_a) at positions (B, T) → (out (B, T, n_a), (keys, values) or None).

        With a cache (keys, values) of one layer, T is 1: the token's key and value are written
        in its slot and it attends to the slots it sees."""
        features = x.shape[-1]
        project = functools.partial(nn.DenseGeneral, (self.heads, features // self.heads))
        query = rotate(project(name="query")(x), positions)
        key = rotate(project(name="key")(x), positions)
        value = project(name="value")(x)
        key_positions = positions
        if cache is not None:
            cache = key, value = write(cache, (key, value), positions[:, 0] % self.max_len)
            key_positions = slot_positions(positions[:, 0], self.max_len)
        dropout_rng = None if deterministic or not self.dropout else self.make_rng("dropout")
        out = nn.dot_product_attention(
            query,
            key,
            value,
            mask=visible(positions, key_positions, self.max_len),
            dropout_rng=dropout_rng,
            dropout_rate=self.dropout,
            deterministic=deterministic,
        )
        return nn.DenseGeneral(features, axis=(-2, -1), name="out")(out), cache


class Block(nn.Module):
    """A pre-LayerNorm decoder block: x + attention(LN x), then x + MLP(LN x), dropout on each."""

    heads: int
    mlp: int  # the MLP's hidden width
    max_len: int
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x, positions, deterministic: bool, cache=None):
        drop = functools.partial(nn.Dropout(self.dropout), deterministic=deterministic)
        attention = Attention(self.heads, self.max_len, self.dropout, name="attention")
        y, cache = attention(
            nn.LayerNorm(name="norm_attention")(x), positions, deterministic, cache
        )
        x = x + drop(y)
        y = nn.Dense(self.mlp, name="mlp_in")(nn.LayerNorm(name="norm_mlp")(x))
        x = x + drop(nn.Dense(x.shape[-1], name="mlp_out")(nn.gelu(y)))
        return x, cache


class Transformer(nn.Module):
    """A causal Transformer language model over token ids; EMPTY (-1) is a start token."""

    n_values: int
    n_a: int = 64  # d_model: the width of the embedding and of every block
    layers: int = 2
    dropout: float = 0.0
    chord_features: int = 0  # F: chord features beside each input token; 0: unconditioned
    heads: int = 4
    mlp: int = 4  # the MLP's hidden width, × n_a
    tied: bool = False  # the head is the embedding's transpose (lm1b's shared embedding)
    max_len: int = 64  # the attention span and the cache's slots: the training window Tx

    def setup(self):
        embedding_init = nn.initializers.normal(1.0)  # lm1b's
        self.embedding = nn.Embed(self.n_values + 1, self.n_a, embedding_init=embedding_init)
        self.chords = nn.Dense(self.n_a, use_bias=False) if self.chord_features else None
        block = functools.partial(Block, self.heads, self.mlp * self.n_a, self.max_len)
        self.blocks = [block(self.dropout) for _ in range(self.layers)]
        self.norm = nn.LayerNorm()
        self.drop = nn.Dropout(self.dropout)
        self.head = None if self.tied else nn.Dense(self.n_values)

    def __call__(self, ids, chords=None, deterministic: bool = True, time_major: bool = False):
        """Logits (B, T, n_values) for ids (B, T); (T, B, …) in and out if time_major.

        chords (B, T, F), or (T, B, F) if time_major: the chord of each token, when F > 0.
        """
        check_chords(ids, chords, self.chord_features)
        if time_major:
            ids = ids.T
            chords = None if chords is None else chords.transpose(1, 0, 2)
        positions = jnp.broadcast_to(jnp.arange(ids.shape[1]), ids.shape)
        x = self.drop(self.inputs(ids, chords), deterministic)
        for block in self.blocks:
            x, _ = block(x, positions, deterministic)
        logits = self.logits(x)
        return logits.transpose(1, 0, 2) if time_major else logits

    def inputs(self, ids: jax.Array, chords: jax.Array | None) -> jax.Array:
        """The embeddings (…, n_a) of ids (…), EMPTY's the last row's, plus the chords'
        projection."""
        x = self.embedding(jnp.where(ids == EMPTY, self.n_values, ids))
        return x if chords is None else x + self.chords(chords)

    def logits(self, x: jax.Array) -> jax.Array:
        """The head over the final LayerNorm; tied, lm1b's `attend` scaled by 1/√n_a (the start
        token's row left out)."""
        x = self.norm(x)
        if not self.tied:
            return self.head(x)
        return self.embedding.attend(x)[..., : self.n_values] / jnp.sqrt(self.n_a)

    def step(self, cache: Cache, ids, chords=None, deterministic: bool = True):
        """One token per row: ids (B,), chords (B, F) when F > 0 → (new cache, logits (B, V))."""
        check_chords(ids, chords, self.chord_features)
        x = self.inputs(ids[:, None], None if chords is None else chords[:, None])
        positions, keys, values = cache.position[:, None], [], []
        for block, k, v in zip(self.blocks, cache.keys, cache.values, strict=True):
            x, (k, v) = block(x, positions, deterministic, (k, v))
            keys.append(k)
            values.append(v)
        return Cache(tuple(keys), tuple(values), cache.position + 1), self.logits(x)[:, 0]

    @nn.nowrap
    def initial_carry(self, batch: int) -> Cache:
        """An empty cache at position 0: zeros (batch, max_len, heads, head size) per layer."""
        shape = (batch, self.max_len, self.heads, self.n_a // self.heads)
        zeros = tuple(jnp.zeros(shape) for _ in range(self.layers))
        return Cache(zeros, zeros, jnp.zeros(batch, jnp.int32))

    @nn.nowrap
    def sample_step(self, params, cache: Cache, ids: jax.Array, chords: jax.Array | None = None):
        """`step` as a plain function of the parameters, for `sample` and `beam`."""
        return self.apply({"params": params}, cache, ids, chords, method=Transformer.step)


def from_config(config: ml_collections.ConfigDict, n_values: int, chord_features: int):
    """The Transformer of `config`: n_a wide, `layers` blocks, `model.heads`, `model.mlp`,
    `model.tied`, attending over the training window `data.Tx` (`check_config`'s settings)."""
    settings = config.model
    return Transformer(
        n_values,
        config.n_a,
        config.layers,
        config.dropout,
        chord_features,
        settings.heads,
        settings.mlp,
        settings.tied,
        config.data.Tx,
    )


def check_config(config: ml_collections.ConfigDict) -> None:
    """Raises a JazzFlaxError for settings a Transformer cannot take."""
    settings = config.model
    if settings.heads < 1 or config.n_a % (2 * settings.heads):
        raise JazzFlaxError(
            f"a transformer of n_a={config.n_a} cannot have {settings.heads} heads",
            hint="each head's size, n_a / model.heads, must be even (rotary positions pair them)",
        )
    if settings.mlp < 1:
        raise JazzFlaxError(f"model.mlp must be ≥ 1, got {settings.mlp}")
    if settings.embed not in (0, config.n_a):
        raise JazzFlaxError(
            f"a transformer embeds its tokens into n_a={config.n_a} features, not "
            f"model.embed={settings.embed}",
            hint=f"set --config.model.embed to 0 or {config.n_a}",
        )

"""Sampling token ids from a trained model: one `jax.jit` around a `jax.lax.fori_loop`.

Each step applies the model's single LSTM step and dense head (the training parameters, no copy)
and feeds the chosen token back as the next input. Greedy (the notebook's argmax), temperature,
top-k and nucleus (top-p) are traced values: one compile per (batch, length) shape serves them all.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jazz_flax.data import EMPTY
from jazz_flax.errors import JazzFlaxError


class Strategy(NamedTuple):
    """How to choose each token. All fields are traced: changing them does not recompile."""

    temperature: float = 1.0
    top_k: int = 0  # keep the k likeliest tokens; 0 keeps all
    top_p: float = 1.0  # keep the smallest set of likeliest tokens with probability ≥ p
    greedy: bool = False  # argmax, as the notebook


def check_strategy(strategy: Strategy, length: int) -> None:
    """Raises a JazzFlaxError for settings outside their range."""
    if not strategy.temperature > 0:
        raise JazzFlaxError(f"temperature must be > 0, got {strategy.temperature}")
    if strategy.top_k < 0:
        raise JazzFlaxError(f"top_k must be ≥ 1 (or 0 for all tokens), got {strategy.top_k}")
    if not 0 < strategy.top_p <= 1:
        raise JazzFlaxError(f"top_p must be in (0, 1], got {strategy.top_p}")
    if length <= 0:
        raise JazzFlaxError(f"the number of tokens to sample must be > 0, got {length}")


def filter_logits(logits: jax.Array, top_k: jax.Array, top_p: jax.Array) -> jax.Array:
    """logits (B, V) with -inf outside the top-k and the top-p (nucleus) sets."""
    n_values = logits.shape[-1]
    ordered = jnp.sort(logits, axis=-1)[:, ::-1]  # descending
    k = jnp.where(top_k > 0, jnp.minimum(top_k, n_values), n_values)
    kth = jnp.take(ordered, k - 1, axis=-1)[:, None]
    probs = jax.nn.softmax(ordered, axis=-1)
    before = jnp.cumsum(probs, axis=-1) - probs  # probability of the likelier tokens
    n_nucleus = jnp.sum(before < top_p, axis=-1, keepdims=True)  # ≥ 1: before[0] == 0
    pth = jnp.take_along_axis(ordered, n_nucleus - 1, axis=-1)
    return jnp.where((logits >= kth) & (logits >= pth), logits, -jnp.inf)


def choose(key: jax.Array, logits: jax.Array, strategy: Strategy) -> jax.Array:
    """int32 (B,) tokens from logits (B, V): the argmax when greedy, else a draw.

    Draws by inverse CDF, one uniform number per row (cheaper on CPU than Gumbel noise per value);
    the sort behind top-k / top-p runs only when one of them is set.
    """
    return jax.lax.cond(
        strategy.greedy,
        lambda: jnp.argmax(logits, axis=-1).astype(jnp.int32),
        lambda: _draw(key, logits, strategy),
    )


def _draw(key: jax.Array, logits: jax.Array, strategy: Strategy) -> jax.Array:
    filtering = (strategy.top_k > 0) | (strategy.top_p < 1)
    filtered = jax.lax.cond(
        filtering,
        lambda: filter_logits(logits, strategy.top_k, strategy.top_p),
        lambda: logits,
    )
    cdf = jnp.cumsum(jax.nn.softmax(filtered / strategy.temperature, axis=-1), axis=-1)
    u = (1.0 - jax.random.uniform(key, (logits.shape[0], 1))) * cdf[:, -1:]  # in (0, total]
    return jnp.minimum(jnp.sum(cdf < u, axis=-1), logits.shape[-1] - 1).astype(jnp.int32)


class Sample(NamedTuple):
    ids: jax.Array  # int32 (B, Ty)
    log_probs: jax.Array  # float32 (B, Ty): log p(token) under the model (temperature 1, no filter)


def sample(
    model,
    params,
    key: jax.Array,
    *,
    batch: int = 1,
    length: int = 50,
    strategy: Strategy = Strategy(),  # noqa: B008 (an immutable NamedTuple)
    primer: Sequence[int] | None = None,
) -> Sample:
    """Samples `length` tokens for each of `batch` sequences.

    Args:
      model: a `model.DJModel`; its `sample_step` drives the trained cells and head.
      params: the model's parameters (as trained).
      key: PRNG key; the same key gives the same tokens.
      strategy: greedy / temperature / top-k / top-p.
      primer: token ids the solo starts with (shared by the batch); sampling continues after
        them. None starts from the zero state and an empty input, as the notebook.
    """
    check_strategy(strategy, length)
    primer_ids = jnp.asarray([] if primer is None else primer, jnp.int32)
    inputs = jnp.concatenate([jnp.array([EMPTY], jnp.int32), primer_ids])
    traced = Strategy(
        jnp.float32(strategy.temperature),
        jnp.int32(strategy.top_k),
        jnp.float32(strategy.top_p),
        jnp.bool_(strategy.greedy),
    )
    return _sample(model, params, jnp.tile(inputs, (batch, 1)), key, traced, length)


@functools.partial(jax.jit, static_argnames=("model", "length"))
def _sample(model, params, inputs: jax.Array, key, strategy: Strategy, length: int) -> Sample:
    """inputs (B, 1 + P): EMPTY then the primer; all but the last set the state before sampling."""
    batch = inputs.shape[0]

    def feed(carry, ids):
        return model.sample_step(params, carry, ids)[0], None

    carry, _ = jax.lax.scan(feed, model.initial_carry(batch), inputs[:, :-1].T)

    def body(t, state):
        carry, ids_in, key, ids, log_probs = state
        carry, logits = model.sample_step(params, carry, ids_in)
        key, subkey = jax.random.split(key)
        token = choose(subkey, logits, strategy)
        log_p = jnp.take_along_axis(jax.nn.log_softmax(logits), token[:, None], axis=-1)[:, 0]
        return carry, token, key, ids.at[:, t].set(token), log_probs.at[:, t].set(log_p)

    init = (
        carry,
        inputs[:, -1],
        key,
        jnp.zeros((batch, length), jnp.int32),
        jnp.zeros((batch, length), jnp.float32),
    )
    _, _, _, ids, log_probs = jax.lax.fori_loop(0, length, body, init)
    return Sample(ids, log_probs)

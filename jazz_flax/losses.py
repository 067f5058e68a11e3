"""Training losses by name (`config.loss`), with `config.label_smoothing`.

A loss takes logits (T, B, V), targets int32 (T, B) and weights (T, B) — each target's share of
the batch, 0 for an EMPTY target or a padding row (`target_weights`) — and returns the weighted
sum of its per-token losses. Masking lives in the weights, so every loss respects it.

Adding a loss is one function of that signature and one entry in `LOSSES`.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from jazz_flax.errors import JazzFlaxError, Range
from jazz_flax.windows import EMPTY

DEFAULT = "cross_entropy"


def target_weights(targets: jax.Array, row_weights: jax.Array) -> jax.Array:
    """(T, B): each row's share of the batch (B,) where its target is a token, 0 where EMPTY."""
    return jnp.where(targets == EMPTY, 0.0, row_weights)


def cross_entropy(logits, targets, weights, label_smoothing: float = 0.0) -> jax.Array:
    """The notebook's loss: Σ over time of the batch-mean cross-entropy, against labels smoothed
    by `label_smoothing` α (1 − α on the target, α spread over all V values)."""
    labels = optax.smooth_labels(jax.nn.one_hot(targets, logits.shape[-1]), label_smoothing)
    return jnp.sum(optax.softmax_cross_entropy(logits, labels) * weights)


LOSSES = {"cross_entropy": cross_entropy}


@dataclasses.dataclass(frozen=True)
class Loss:
    """A loss from `LOSSES` with its settings; hashable, so it can sit in a jit-static place."""

    name: str = DEFAULT
    label_smoothing: float = 0.0

    def __post_init__(self):
        if self.name not in LOSSES:
            raise JazzFlaxError(f"unknown loss {self.name!r}", hint=f"use {', '.join(LOSSES)}")
        Range(0, 1).check("label_smoothing", self.label_smoothing)

    def __call__(self, logits, targets, weights) -> jax.Array:
        return LOSSES[self.name](logits, targets, weights, self.label_smoothing)


NOTEBOOK = Loss()  # the notebook's: cross-entropy, no smoothing

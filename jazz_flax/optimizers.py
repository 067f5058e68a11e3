"""The notebook's optimiser: Adam with legacy Keras' time decay of the learning rate, its two
numbers traced (arrays of the optimiser state), so that runs differing in them share one compiled
program (a sweep's vmapped runs)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import optax


def keras_decay(lr: float, decay: float) -> optax.Schedule:
    """Legacy Keras' time decay: lr / (1 + decay · t), t the number of updates made so far."""
    return lambda step: lr / (1.0 + decay * step)


class KerasDecayState(NamedTuple):
    """The state of `scale_by_keras_decay`: the update count and the schedule's two numbers."""

    count: jax.Array  # int32 (): updates made so far
    lr: jax.Array  # float32 (): traced, so runs that differ in it share one compiled program
    decay: jax.Array  # float32 ()


def scale_by_keras_decay(lr: float, decay: float) -> optax.GradientTransformation:
    """Scales updates by -lr / (1 + decay · t), `keras_decay` with lr and decay in the state.

    The same arithmetic as `optax.scale_by_schedule(-keras_decay(lr, decay))`, but the numbers are
    arrays of the optimiser state rather than constants of the compiled program.
    """

    def init(params):
        del params
        as_array = functools.partial(jnp.asarray, dtype=jnp.float32)
        return KerasDecayState(jnp.zeros([], jnp.int32), as_array(lr), as_array(decay))

    def update(updates, state, params=None):
        del params
        step_size = -(state.lr / (1.0 + state.decay * state.count))
        updates = jax.tree.map(lambda g: jnp.asarray(step_size, g.dtype) * g, updates)
        return updates, state._replace(count=optax.safe_increment(state.count))

    return optax.GradientTransformation(init, update)


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """Adam with legacy Keras' decay; lr and decay are traced (see `scale_by_keras_decay`)."""
    return optax.chain(
        optax.scale_by_adam(b1=config.b1, b2=config.b2),
        scale_by_keras_decay(config.lr, config.decay),
    )

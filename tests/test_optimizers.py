import jax.numpy as jnp
import numpy as np

from jazz_flax import optimizers


def test_schedule_is_legacy_keras_decay(tiny):
    schedule = optimizers.keras_decay(0.01, 0.01)
    assert [schedule(t) for t in (0, 1, 100)] == [0.01, 0.01 / 1.01, 0.005]
    # Adam's step on a constant gradient is the learning rate itself.
    optimizer = optimizers.make_optimizer(tiny)
    params = jnp.zeros(3)
    state = optimizer.init(params)
    for step in range(5):
        updates, state = optimizer.update(jnp.ones(3), state, params)
        np.testing.assert_allclose(updates, -0.01 / (1 + 0.01 * step), rtol=1e-4)

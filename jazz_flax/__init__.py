"""jazz_flax: train an LSTM on a jazz solo and improvise new solos, in JAX/Flax.

    data (grammar) ─▶ train (model) ─▶ sample ─▶ generate (render); evaluate, sweep; main: CLIs

Import the modules themselves, e.g. `from jazz_flax import train, generate`.
"""

__version__ = "0.1.0"

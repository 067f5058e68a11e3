"""jazz_flax: train an LSTM on a jazz solo and improvise new solos, in JAX/Flax.

    data (grammar) ─▶ train (model) ─▶ sample ─▶ generate (render); evaluate, sweep; main: CLIs

`import jazz_flax` is light (no JAX, flax or music21 until used): it names the notebook's entry
points (`api`), each imported on first use (PEP 562): get_config, train_run, load_run,
generate_solo, evaluate_run. The modules themselves are imported as usual, e.g. `from jazz_flax
import train, generate`; no entry point shares a module's name.
"""

import importlib

__version__ = "0.1.0"

ENTRY_POINTS = {  # name: (module, its attribute)
    "get_config": ("jazz_flax.api", "get_config"),
    "train_run": ("jazz_flax.api", "train_run"),
    "load_run": ("jazz_flax.checkpoints", "load_run"),
    "generate_solo": ("jazz_flax.generate", "generate"),
    "evaluate_run": ("jazz_flax.evaluate", "evaluate_run"),
}
__all__ = ["__version__", *ENTRY_POINTS]


def __getattr__(name: str):
    if name not in ENTRY_POINTS:
        raise AttributeError(f"module 'jazz_flax' has no attribute {name!r}")
    module, attribute = ENTRY_POINTS[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *ENTRY_POINTS})

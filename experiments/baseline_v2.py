"""The seed notebook's setup on grammar v2 (jazz_flax.grammar.v2): triplets kept, intervals carried
across bar lines, types from chord-scales. Everything else is experiments/baseline.py's.

`make train EXP=baseline_v2`, then `make generate` / `make evaluate` with EXP=baseline_v2.
"""

import ml_collections

from experiments import baseline


def get_config() -> ml_collections.ConfigDict:
    config = baseline.get_config()
    config.data.grammar = "v2"
    return config

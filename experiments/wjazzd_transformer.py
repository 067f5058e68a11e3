"""WJazzD with a Transformer decoder near the LSTM's size: experiments/wjazzd.py's data, windows
(Tx 64), batch (64), epochs (40 of 3,200 windows) and optimiser, with `model.kind=transformer`:
n_a 128 wide, 7 pre-LayerNorm blocks of 4 heads, an MLP of 4 × 128, dropout 0.1, the head tied to
the embedding: 1.61 M parameters (count_params, 1,721 values) beside the LSTM's 1.58 M.

Each token attends to the 63 before it (the window); sampling keeps a key/value cache of 64.

    make train EXP=wjazzd_transformer && make evaluate EXP=wjazzd_transformer
"""

import ml_collections

from experiments import wjazzd


def get_config() -> ml_collections.ConfigDict:
    config = wjazzd.get_config()
    return transformer(config, width=128, layers=7, heads=4)


def transformer(
    config: ml_collections.ConfigDict, width: int, layers: int, heads: int
) -> ml_collections.ConfigDict:
    """`config` with a Transformer of `layers` blocks `width` wide in place of its LSTM."""
    config.model.update(kind="transformer", embed=width, heads=heads, mlp=4, tied=True)
    config.update(n_a=width, layers=layers, dropout=0.1, init="flax")
    return config

"""experiments/wjazzd_transformer.py, about 2.2 times larger: n_a 256 wide, 4 blocks of 8 heads
(3.60 M parameters with 1,721 values), the same data, windows, batch, epochs and optimiser.

    make train EXP=wjazzd_transformer_large && make evaluate EXP=wjazzd_transformer_large
"""

import ml_collections

from experiments import wjazzd, wjazzd_transformer


def get_config() -> ml_collections.ConfigDict:
    return wjazzd_transformer.transformer(wjazzd.get_config(), width=256, layers=4, heads=8)

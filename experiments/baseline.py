"""The seed notebook's setup: 60 random windows of 30 tokens, LSTM(64), Adam(0.01) with decay.

Expected (notebook): loss 129.9 at epoch 1, 9.2 at epoch 100. Every setting but the cell is its
default (jazz_flax/config.py, which comments each): the defaults are this setup, with the stock
`lstm`; the baseline trains it on its fast path, `fused_lstm`.
"""

import ml_collections

from jazz_flax import config as config_lib


def get_config() -> ml_collections.ConfigDict:
    config = config_lib.defaults()
    # nn.LSTMCell with its fast path (fused_lstm.py): the stock `lstm`'s parameters and loss curve
    # (tests/test_train.py), ≥ 2× PyTorch where the stock cell is not (experiments/BENCHMARKS.md)
    config.model.cell = "fused_lstm"
    return config

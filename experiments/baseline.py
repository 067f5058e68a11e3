"""The seed notebook's setup: 60 random windows of 30 tokens, LSTM(64), Adam(0.01) with decay.

Expected (notebook): loss 129.9 at epoch 1, 9.2 at epoch 100.
"""

import ml_collections

from jazz_flax import data, losses, model


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.data = data.default_config()  # the Metheny solo, notebook-mode windows (m=60, Tx=30)

    config.model = model.default_config()  # one-hot inputs
    # nn.LSTMCell with its fast path (fused_lstm.py): the stock `lstm`'s parameters and loss curve
    # (tests/test_train.py), ≥ 2× PyTorch where the stock cell is not (experiments/BENCHMARKS.md)
    config.model.cell = "fused_lstm"
    config.n_a = 64
    config.layers = 1
    config.dropout = 0.0
    config.init = "keras"  # "keras" or "flax"
    config.condition_on_chords = False  # True: each token's chord joins the input (Improv RNN)

    config.loss = losses.DEFAULT  # Σ over time of the batch-mean cross-entropy (losses.LOSSES)
    config.label_smoothing = 0.0

    config.lr = 0.01
    config.b1 = 0.9
    config.b2 = 0.999
    config.decay = 0.01  # lr_t = lr / (1 + decay * step)
    config.batch_size = 32
    config.epochs = 100

    # devices each batch is split over, 0: all that split it evenly (make train: on a CPU, one
    # per core while each keeps 16 windows); results match 1 device up to float rounding
    config.devices = 0

    config.resume = False
    return config

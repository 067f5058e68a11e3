"""The Weimar Jazz Database: 456 solos by 78 players, split by solo, a 2×256 LSTM with dropout.

`make wjazzd` downloads the solos into data/wjazzd/ (CI copies them); the `wjazzd` reader
(jazz_flax/data/wjazzd.py) reads them (the solos in 3/4 or with odd bars, and those without
chords, are left out and counted).
Solos go to train/valid/test (90/5/5) by `data.split_seed`, or whole performers with
`--config.data.split_by=performer`; the vocabulary is the training split's tokens seen at least
`data.min_count` times, the others are `<unk>`. Training windows slide within each solo. Tokens are
grammar v2's (a triplet grid, intervals across bar lines, chord-scale types): the reader's grid;
`--config.data.grammar=notebook` gives the notebook's instead.

    make wjazzd
    python -m jazz_flax.data summary --config experiments/wjazzd.py --json
    make train EXP=wjazzd && make evaluate EXP=wjazzd
"""

import ml_collections
from ml_collections.config_dict import placeholder

from jazz_flax import config as config_lib
from jazz_flax.data.roots import data_path


def get_config() -> ml_collections.ConfigDict:
    config = split_by_piece(config_lib.defaults())
    config.data.update(path=str(data_path("wjazzd")), Tx=64, stride=16)
    config.data.reader = "wjazzd"
    config.data.grammar = "v2"
    config.data.windows_per_epoch = 3200  # of ≈ 11,200: an "epoch" is 50 steps of 64
    config.epochs = 40  # 2,000 steps: validation NLL lowest at epoch 35 of 60 (docs/results.md)
    # nn.LSTMCell and nn.Dense on their fast path: the stock layers' parameters, logits and
    # gradients, dropout and embedding included (tests/test_model.py), faster at this scale
    # (experiments/BENCHMARKS.md, "The corpus row")
    config.model.cell = "fused_lstm"
    config.model.head_layer = "fused_dense"
    return config


def split_by_piece(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """`config` (the defaults: the baseline's) for a corpus of whole pieces split by piece, and a
    model sized for it: an embedding of 128, 2 layers of 256 with dropout, validated after each
    epoch (the best kept)."""
    config.data.update(windows="sliding", start=placeholder(float), end=placeholder(float))
    config.data.split_seed = 0
    # split_by="path" (each piece on its own), valid_fraction = test_fraction = 0.05: defaults
    config.data.min_count = 2
    config.update(n_a=256, layers=2, dropout=0.3, init="flax", lr=2e-3, decay=0.0, batch_size=64)
    config.model.embed = 128  # thousands of tokens: a learnt embedding, not one-hot inputs
    config.epochs_per_call = 1  # the validation NLL after each call, the best checkpoint kept
    return config

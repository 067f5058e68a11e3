"""OpenEWLD: 502 public-domain lead sheets (melody and chord symbols), split by piece.

`make openewld` downloads them into data/openewld/ (CI copies them). Each file is one piece read
through the lead-sheet path (`chord_part="symbols"`, the whole piece); pieces go to
train/valid/test (90/5/5) by `data.split_seed` and the vocabulary is the training split's tokens
seen at least `data.min_count` times, as in experiments/wjazzd.py. The measures are the 4-beat
groups the Metheny pipeline makes: the 80 pieces in 3/4 are cut across their bar lines.

    make openewld && make train EXP=openewld && make evaluate EXP=openewld
"""

import ml_collections
from ml_collections.config_dict import placeholder

from experiments import baseline
from jazz_flax import data


def get_config() -> ml_collections.ConfigDict:
    config = baseline.get_config()
    config.data.update(
        path="data/openewld/dataset/**/*.mxl",
        chord_part=data.CHORD_SYMBOLS,
        windows="sliding",
        Tx=32,
        stride=4,
    )
    config.data.start = placeholder(float)  # whole pieces
    config.data.end = placeholder(float)
    config.data.split_seed = 0
    config.data.split_by = "path"
    config.data.valid_fraction = 0.05  # of the pieces; train gets the rest
    config.data.test_fraction = 0.05
    config.data.min_count = 2

    config.n_a = 256
    config.layers = 2
    config.dropout = 0.3
    config.init = "flax"
    config.lr = 2e-3
    config.decay = 0.0
    config.batch_size = 64
    config.epochs = 40
    config.epochs_per_call = 1  # the validation NLL after each epoch, the best checkpoint kept
    return config

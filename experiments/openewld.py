"""OpenEWLD: 502 public-domain lead sheets (melody and chord symbols), split by piece.

`make openewld` downloads them into data/openewld/ (CI copies them). Each file is one piece read
through the lead-sheet path (`chord_part="symbols"`, the whole piece); pieces go to
train/valid/test (90/5/5) by `data.split_seed` and the vocabulary is the training split's tokens
seen at least `data.min_count` times, as in experiments/wjazzd.py. The measures are the 4-beat
groups the Metheny pipeline makes: the 80 pieces in 3/4 are cut across their bar lines.

    make openewld && make train EXP=openewld && make evaluate EXP=openewld
"""

import ml_collections

from experiments import baseline, wjazzd
from jazz_flax import data


def get_config() -> ml_collections.ConfigDict:
    config = wjazzd.split_by_piece(baseline.get_config())
    config.data.update(
        path="data/openewld/dataset/**/*.mxl", chord_part=data.CHORD_SYMBOLS, Tx=32, stride=4
    )
    config.epochs = 40
    return config

"""OpenEWLD: 502 public-domain lead sheets (melody and chord symbols), split by piece.

`make openewld` downloads them into data/openewld/ (CI copies them). Each file is one piece read
through the lead-sheet path (`chord_part="symbols"`, the whole piece) in grammar v2, as
experiments/wjazzd.py and experiments/baseline_v2.py, so that the three corpora are tokenised
alike; `--config.data.grammar=notebook` gives the notebook's tokens. Pieces go to
train/valid/test (90/5/5) by `data.split_seed`; the vocabulary is the training split's tokens
seen at least `data.min_count` times, and the model is WJazzD's (`wjazzd.split_by_piece`).

Measures. The lead-sheet path cuts every piece into 4-beat groups from its first offset; it reads
no time signature, so it cannot leave pieces out by meter as the WJazzD reader does. They are all
kept: 381 pieces are in 4/4 or 2/2 (and 8 have no time signature, read as 4/4), but 80 are in
3/4, 13 in 6/8, 17 in 2/4 and 3 in 3/2, 6/4 or 12/8, whose groups cross their bar lines, and a
pickup bar shifts the groups of the piece after it.

Windows of 32 tokens (the median piece has about 106; only 2 training pieces are shorter and give
no window) slide by 4 within each piece; an epoch is a fresh sample of 1,600 of them.

    make openewld
    python -m jazz_flax.data summary --config experiments/openewld.py --json
    make train EXP=openewld && make evaluate EXP=openewld
"""

import ml_collections

from experiments import wjazzd
from jazz_flax import config as config_lib
from jazz_flax import data
from jazz_flax.data.roots import data_path


def get_config() -> ml_collections.ConfigDict:
    config = wjazzd.split_by_piece(config_lib.defaults())
    config.data.update(
        path=str(data_path("openewld/dataset/**/*.mxl")),
        chord_part=data.CHORD_SYMBOLS,
        Tx=32,
        stride=4,
    )
    config.data.grammar = "v2"
    config.data.windows_per_epoch = 1600  # of 9,723: an "epoch" is 25 steps of 64, one pass
    config.epochs = 40  # 1,000 steps; the best validation NLL's checkpoint is kept
    return config

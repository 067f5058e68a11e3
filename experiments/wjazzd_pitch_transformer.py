"""The model-family question on the pitch grammar: experiments/wjazzd_pitch.py's data and context
(every part) with experiments/wjazzd_transformer.py's Transformer (7 blocks 128 wide, 4 heads,
tied head: 1.55 M parameters with the pitch grammar's 1,150 values, beside the LSTM's 1.44 M).

25 epochs of 50 steps, as the LSTM runs compared with it, validated every 5 (the test protocol
costs about an epoch). Its validation NLL is lowest at epoch 15 (all 3 seeds), then rises; an epoch
costs 2.1 times the LSTM's CPU time. docs/results.md ("LSTM or Transformer?") has the comparison.

    make train EXP=wjazzd_pitch_transformer ARGS="--config.seed=1"
    python -m experiments.tools.compare_runs LSTM=RUN,RUN,RUN Transformer=RUN,RUN,RUN
"""

import ml_collections

from experiments import wjazzd_pitch, wjazzd_transformer


def get_config() -> ml_collections.ConfigDict:
    config = wjazzd_pitch.get_config()
    config.update(epochs=25, epochs_per_call=5)
    return wjazzd_transformer.transformer(config, width=128, layers=7, heads=4)

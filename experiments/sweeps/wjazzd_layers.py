"""Stacked LSTM layers of 256 units on WJazzD: 1 to 3 (the experiment: 2).

Scored at each run's best validation epoch (sweep.py); `ARGS="--seeds 0,1,2"` for more seeds.
"""

from experiments.sweeps import WJAZZD_EVAL


def get_sweep() -> dict:
    return dict(
        base="wjazzd",
        seeds=[0],
        points=[{"layers": layers} for layers in (1, 2, 3)],
        eval=WJAZZD_EVAL,
    )

"""Stacked LSTM layers of 256 units on WJazzD: 1 to 3 (the experiment: 2).

Each run is validated after every epoch and scored on the test split at its best validation epoch
(`sweep.py`); `make sweep SWEEP=wjazzd_layers ARGS="--seeds 0,1,2"` runs more seeds.
"""

from experiments.sweeps import WJAZZD_EVAL


def get_sweep() -> dict:
    return dict(
        base="wjazzd",
        seeds=[0],
        points=[{"layers": layers} for layers in (1, 2, 3)],
        eval=WJAZZD_EVAL,
    )

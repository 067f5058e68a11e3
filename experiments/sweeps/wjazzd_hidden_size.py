"""Hidden size of the 2-layer LSTM on WJazzD: 128 to 512 units (the experiment: 256).

Scored at each run's best validation epoch (sweep.py); `ARGS="--seeds 0,1,2"` for more seeds.
"""

from experiments.sweeps import WJAZZD_EVAL


def get_sweep() -> dict:
    return dict(
        base="wjazzd",
        seeds=[0],
        points=[{"n_a": n_a} for n_a in (128, 256, 512)],
        eval=WJAZZD_EVAL,
    )

"""Chord conditioning on WJazzD (Magenta's Improv RNN): each token's chord joins the input, or not.

Scored at each run's best validation epoch (sweep.py); `ARGS="--seeds 0,1,2"` for more seeds.
"""

from experiments.sweeps import WJAZZD_EVAL


def get_sweep() -> dict:
    return dict(
        base="wjazzd",
        seeds=[0],
        points=[{"condition_on_chords": False}, {"condition_on_chords": True}],
        eval=WJAZZD_EVAL,
    )

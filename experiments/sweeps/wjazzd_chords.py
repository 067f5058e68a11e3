"""Chord conditioning on WJazzD (Magenta's Improv RNN): each token's chord joins the input, or not.

Each run is validated after every epoch and scored on the test split at its best validation epoch
(`sweep.py`); `make sweep SWEEP=wjazzd_chords ARGS="--seeds 0,1,2"` runs more seeds.
"""

from experiments.sweeps import WJAZZD_EVAL


def get_sweep() -> dict:
    return dict(
        base="wjazzd",
        seeds=[0],
        points=[{"condition_on_chords": False}, {"condition_on_chords": True}],
        eval=WJAZZD_EVAL,
    )

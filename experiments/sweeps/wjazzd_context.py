"""The context a player has, on WJazzD in the pitch grammar: none, the chords (sounding and
next), + the meter (position in the bar, beats to the change), + the tempo.

Scored at each run's best validation epoch (sweep.py), with nats per note and continuation
prediction beside the test NLL (`likelihood`); `ARGS="--seeds 0,1,2"` for more seeds.
"""

from experiments.sweeps import WJAZZD_EVAL

CHORDS = "chord,next_chord"
METER = CHORDS + ",position,to_change"


def get_sweep() -> dict:
    return dict(
        base="wjazzd_pitch",
        seeds=[0],
        points=[
            {"data.context": ""},
            {"data.context": CHORDS},
            {"data.context": METER},
            {"data.context": METER + ",tempo"},
        ],
        eval=WJAZZD_EVAL,
    )

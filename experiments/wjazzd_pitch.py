"""WJazzD in the pitch grammar with the context a jazz player has: experiments/wjazzd.py's data,
model (2 × 256 LSTM), windows and optimiser, with `data.grammar=pitch` (each note's pitch and
duration: the model chooses every pitch, no random decoder) and `data.context` naming every part
(the chord sounding, the next chord, the position in the bar on the 1/12-beat grid, the beats to
the next change, the tempo's bucket).

    make train EXP=wjazzd_pitch && make evaluate EXP=wjazzd_pitch
    make generate EXP=wjazzd_pitch ARGS="--changes_of JohnColtrane_GiantSteps-1 --bpm 290"

`make sweep SWEEP=wjazzd_context` and `SWEEP=wjazzd_representation` ask which part of this helps.
"""

import ml_collections

from experiments import wjazzd

CONTEXT = "chord,next_chord,position,to_change,tempo"  # every part of windows.PARTS


def get_config() -> ml_collections.ConfigDict:
    config = wjazzd.get_config()
    config.data.update(grammar="pitch", context=CONTEXT)
    return config

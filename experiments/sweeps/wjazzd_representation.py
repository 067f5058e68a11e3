"""Which representation of a solo, on WJazzD with the whole context: grammar v2 (a note's kind,
interval range and duration; its pitch drawn by a decoder), the pitch grammar (its pitch), the
relative pitch grammar (its interval above the chord's root, and octave). Compared by nats per
note of the real test melodies (`likelihood`), which scores v2's decoder too: nats per token
cannot compare grammars.
"""

from experiments.sweeps import WJAZZD_EVAL


def get_sweep() -> dict:
    return dict(
        base="wjazzd_pitch",
        seeds=[0],
        points=[
            {"data.grammar": "v2"},
            {"data.grammar": "pitch"},
            {"data.grammar": "pitch_relative"},
        ],
        eval=WJAZZD_EVAL,
    )

"""Chord conditioning (Magenta's Improv RNN): each token's chord joins the input, or not."""


def get_sweep() -> dict:
    return dict(
        base="baseline",
        seeds=[0, 1, 2, 3, 4],
        points=[{"condition_on_chords": False}, {"condition_on_chords": True}],
        overrides={"data.holdout_measures": 3},  # held out for the held-out NLL
    )

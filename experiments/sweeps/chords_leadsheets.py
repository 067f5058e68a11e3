"""Chord conditioning on the lead sheets (`make leadsheets` first): 3 measures of each held out."""


def get_sweep() -> dict:
    return dict(
        base="leadsheets",
        seeds=[0, 1, 2, 3, 4],
        points=[{"condition_on_chords": False}, {"condition_on_chords": True}],
        overrides={"data.holdout_measures": 3},
    )

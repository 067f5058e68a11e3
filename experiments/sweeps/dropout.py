"""Dropout before the head (and between layers) (the notebook: none)."""


def get_sweep() -> dict:
    return dict(
        base="baseline",
        points=[{"dropout": rate} for rate in (0.0, 0.1, 0.2, 0.4)],
        overrides={"data.holdout_measures": 3},  # held out for the held-out NLL
    )

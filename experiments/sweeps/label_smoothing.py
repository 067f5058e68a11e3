"""Label smoothing α of the cross-entropy (the notebook: none)."""


def get_sweep() -> dict:
    return dict(
        base="baseline",
        points=[{"label_smoothing": alpha} for alpha in (0.0, 0.05, 0.1, 0.2)],
        overrides={"data.holdout_measures": 3},  # held out for the held-out NLL
    )

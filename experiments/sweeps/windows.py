"""Number of random windows m (the notebook: 60), and every window (sliding, stride 1)."""


def get_sweep() -> dict:
    return dict(
        base="baseline",
        points=[{"data.m": m} for m in (15, 30, 60, 120)] + [{"data.windows": "sliding"}],
        overrides={"data.holdout_measures": 3},  # held out for the held-out NLL
    )

"""Stacked LSTM layers (the notebook: 1)."""


def get_sweep() -> dict:
    return dict(
        base="baseline",
        points=[{"layers": layers} for layers in (1, 2, 3)],
        overrides={"data.holdout_measures": 3},  # held out for the held-out NLL
    )

"""Hidden size of the LSTM: 16 to 256 units (the notebook: 64)."""


def get_sweep() -> dict:
    return dict(
        base="baseline",
        points=[{"n_a": n_a} for n_a in (16, 32, 64, 128, 256)],
        overrides={"data.holdout_measures": 3},  # held out for the held-out NLL
    )

"""Batch size (the notebook: Keras' default, 32)."""


def get_sweep() -> dict:
    return dict(
        base="baseline",
        points=[{"batch_size": size} for size in (8, 16, 32, 64)],
        overrides={"data.holdout_measures": 3},  # held out for the held-out NLL
    )

"""Initialisation: Keras' (the notebook's) or Flax's defaults."""


def get_sweep() -> dict:
    return dict(
        base="baseline",
        points=[{"init": "keras"}, {"init": "flax"}],
        overrides={"data.holdout_measures": 3},  # held out for the held-out NLL
    )

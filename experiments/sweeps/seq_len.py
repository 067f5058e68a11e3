"""Window length Tx (the notebook: 30)."""


def get_sweep() -> dict:
    return dict(
        base="baseline",
        points=[{"data.Tx": Tx} for Tx in (10, 20, 30, 40)],
        overrides={"data.holdout_measures": 3},  # held out for the held-out NLL
    )

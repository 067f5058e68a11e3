"""Adam's learning rate (the notebook: 0.01); one compiled program serves every point."""


def get_sweep() -> dict:
    return dict(
        base="baseline",
        points=[{"lr": lr} for lr in (0.001, 0.003, 0.01, 0.03)],
        overrides={"data.holdout_measures": 3},  # held out for the held-out NLL
    )

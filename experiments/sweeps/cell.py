"""The recurrent cell (jazz_flax/cells.py; the notebook: an LSTM)."""

from jazz_flax import cells


def get_sweep() -> dict:
    return dict(
        base="baseline",
        points=[{"model.cell": cell} for cell in cells.CELLS],
        overrides={"data.holdout_measures": 3},  # held out for the held-out NLL
    )

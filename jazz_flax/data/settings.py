"""The data settings: their defaults (the seed notebook's, on the Metheny file) and their checks.

A config's `data` also names its corpus reader (`data.reader`, READERS), which `check_config`
checks too, before anything is read or written.
"""

from __future__ import annotations

import ml_collections

from jazz_flax.data.readers import DEFAULT_READER, reader
from jazz_flax.errors import SEED, JazzFlaxError, Range


def default_config() -> ml_collections.ConfigDict:
    """The data settings of the seed notebook (the Metheny file)."""
    return ml_collections.ConfigDict(
        dict(
            path="data/original_metheny.mid",  # a file, a folder of them or a glob
            melody_part="Guitar",  # a file of one part: that part, whatever its name
            chord_part="Piano",  # or "symbols": the melody part's chord symbols (lead sheets)
            parts={},  # per file: {"<stem or glob of stems>": {"melody_part": …, "chord_part": …}}
            start=476.0,  # the accompanied solo, in quarter notes; None: the whole piece
            end=548.0,
            windows="notebook",  # "notebook": m random windows; "sliding": every window
            m=60,  # notebook mode: number of windows
            Tx=30,
            window_seed=0,  # notebook mode: np.random.seed of the window starts
            stride=1,  # sliding mode
            holdout_measures=0,  # each piece's last measures, kept out of training (held-out NLL)
            grammar="notebook",  # "notebook" (the seed's, exactly), "v2", "pitch", "pitch_relative"
        )
    )


SETTINGS = {  # the range of each numeric data setting
    "m": Range(1, integer=True),
    "Tx": Range(1, integer=True),
    "window_seed": SEED,
    "stride": Range(1, integer=True),
    "holdout_measures": Range(0, integer=True),
}


def check_config(data_config: ml_collections.ConfigDict) -> None:
    """Raises a JazzFlaxError for a data setting out of its range."""
    for key, allowed in SETTINGS.items():
        allowed.check(f"data.{key}", data_config[key])
    reader(data_config.get("reader", DEFAULT_READER))
    if data_config.windows == "notebook" and data_config.Tx < 2:
        raise JazzFlaxError(
            f"notebook windows need Tx ≥ 2 (their last target is empty), got {data_config.Tx}",
            hint="use a larger --config.data.Tx",
        )
    bounds = (data_config.start, data_config.end)
    if None not in bounds and not bounds[0] < bounds[1]:
        raise JazzFlaxError(f"data.start must be before data.end, got {bounds[0]} and {bounds[1]}")

"""The baseline model on a folder of lead sheets: every piece whole, sliding windows within each.

Each lead sheet is one part, its melody, whose chord symbols give the chords. `make leadsheets`
(`python -m experiments.leadsheets`) copies the two that music21 ships with (`leadSheet/*.mxl`)
into data/leadsheets/, no download needed; other MIDI or MusicXML lead sheets can join them. With
music21 10.5 the two give 69 measures, 229 training tokens and 63 token values.

    make leadsheets && make train EXP=leadsheets
"""

from pathlib import Path

import ml_collections
from ml_collections.config_dict import placeholder

from jazz_flax import config as config_lib
from jazz_flax import data
from jazz_flax.data.roots import data_path
from jazz_flax.files import atomic_write


def get_config() -> ml_collections.ConfigDict:
    config = config_lib.defaults()
    folder = str(data_path("leadsheets"))
    config.data.update(path=folder, chord_part=data.CHORD_SYMBOLS, windows="sliding")
    config.data.start = placeholder(float)  # None: the whole piece (--config.data.start=8 works)
    config.data.end = placeholder(float)
    return config


def bundled_lead_sheets() -> list[Path]:
    """The lead sheets in music21's corpus."""
    from music21 import common

    return sorted((Path(common.getCorpusFilePath()) / "leadSheet").glob("*.mxl"))


def copy_bundled_lead_sheets(folder: str | Path | None = None) -> list[Path]:
    """Copies music21's lead sheets into `folder` (default data/leadsheets, under $JAZZ_FLAX_DATA);
    returns the copies' paths."""
    return [
        atomic_write(Path(folder or data_path("leadsheets")) / sheet.name, sheet.read_bytes())
        for sheet in bundled_lead_sheets()
    ]


if __name__ == "__main__":
    for path in copy_bundled_lead_sheets():
        print(path)

"""Where the data lives: $JAZZ_FLAX_DATA (default `data`, in the working directory).

Every default data path is `data_path(name)`, read when it is asked for: the configs' `data.path`
(`data_path("wjazzd")`), the download targets and the lead sheets' folder; so setting
$JAZZ_FLAX_DATA moves them all, and a path the user gives is used as given. A variable set but
empty counts as unset (`environ_path`), here and for the cache's $JAZZ_FLAX_CACHE: an empty one
would otherwise mean the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT = "JAZZ_FLAX_DATA"
METHENY = "original_metheny.mid"  # the seed notebook's solo, the default corpus


def environ_path(name: str) -> Path | None:
    """The environment variable `name` as a path (`~` expanded); None when unset or empty."""
    value = os.environ.get(name, "")
    return Path(value).expanduser() if value else None


def data_root() -> Path:
    """$JAZZ_FLAX_DATA, else `data` (relative: in the working directory)."""
    return environ_path(DATA_ROOT) or Path("data")


def data_path(name: str) -> Path:
    """`name` (a file, a folder or a glob) under the data root, e.g. data/wjazzd."""
    return data_root() / name

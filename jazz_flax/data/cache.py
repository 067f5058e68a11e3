"""The corpus cache: what a reader parsed once, as checked JSON in one file per source and options.

An entry's name is the sha256 of the source's sha256, the reading options and PIPELINE_VERSION;
its payload carries its own checksum, so an entry that does not read back whole is parsed again.
The folder is $JAZZ_FLAX_CACHE, else $XDG_CACHE_HOME/jazz_flax, else ~/.cache/jazz_flax (a
variable set but empty counts as unset).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from jazz_flax.data.roots import environ_path
from jazz_flax.errors import JazzFlaxError, warn_once
from jazz_flax.files import atomic_write

PIPELINE_VERSION = 4  # bump when parsing changes: it invalidates every cache entry


def cache_root() -> Path:
    """$JAZZ_FLAX_CACHE, else $XDG_CACHE_HOME/jazz_flax, else ~/.cache/jazz_flax."""
    xdg_cache = environ_path("XDG_CACHE_HOME") or Path.home() / ".cache"
    return environ_path("JAZZ_FLAX_CACHE") or xdg_cache / "jazz_flax"


def cache_entry(cache_dir, sha256: str, options: dict) -> Path:
    """The cache file of a source (its sha256) read with `options`, in this PIPELINE_VERSION."""
    key = json.dumps(dict(options, sha256=sha256, version=PIPELINE_VERSION), sort_keys=True)
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    return Path(cache_dir or cache_root()) / f"corpus-{name}.json"


def write_cache_payload(entry: Path, payload: str) -> None:
    """Writes the JSON text `payload` to the cache `entry` with its checksum; a cache that cannot
    be written is an optimisation lost: one warning."""
    checksum = hashlib.sha256(payload.encode()).hexdigest()
    try:
        atomic_write(entry, json.dumps({"checksum": checksum, "corpus": payload}))
    except JazzFlaxError as e:
        reason = getattr(e.__cause__, "strerror", None) or e.__cause__
        warn_once(f"cannot write {entry.parent}: {reason}; going on without the corpus cache")


def read_cache_payload(entry: Path) -> str | None:
    """The text `write_cache_payload` wrote, or None when missing or not checking out."""
    try:
        wrapper = json.loads(entry.read_text())
        payload = wrapper["corpus"]
        return (
            payload if hashlib.sha256(payload.encode()).hexdigest() == wrapper["checksum"] else None
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None

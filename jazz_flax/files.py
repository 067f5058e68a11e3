"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from jazz_flax.errors import JazzFlaxError


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Writes `data` to `path` through a temporary file in the same folder, then renames it.

    An interrupted or failed write leaves the old file (or none), never a partial one; a folder
    that cannot be written (no permission, disk full) raises a JazzFlaxError naming it.
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the files are meant to be shared
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise JazzFlaxError(
            f"cannot write {path}: {e.strerror or e}",
            hint="check the folder's permissions and free space, or choose another --workdir",
        ) from e
    except BaseException:
        _remove(tmp)
        raise
    return path


def write_figure(figure, path: str | os.PathLike, dpi: int = 100, **savefig_options) -> Path:
    """A matplotlib `Figure` as a PNG file, written as `atomic_write` does.

    Figures are made with `matplotlib.figure.Figure`, not pyplot, so plotting never changes the
    backend of a notebook that imports us.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, **savefig_options)
    return atomic_write(path, buffer.getvalue())


def _remove(tmp: str | None) -> None:
    if tmp is not None:
        Path(tmp).unlink(missing_ok=True)

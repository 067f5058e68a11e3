"""Writing files so that a reader never sees half of one, one writer per run directory, and new
files under names no other file has (`new_stems`).

Portable: the run directory's lock is filelock's (flock on POSIX, LockFileEx on Windows), and a
writer's liveness is asked without `os.kill` on Windows, where it would end the process."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import io
import os
import sys
import tempfile
from pathlib import Path

import filelock

from jazz_flax.errors import JazzFlaxError


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Writes `data` to `path` through a temporary file in the same folder, then renames it.

    An interrupted or failed write leaves the old file (or none), never a partial one; a folder
    that cannot be written (no permission, disk full) raises a JazzFlaxError naming it. The
    temporary file's name holds the writer's pid: one that a killed writer (kill -9) left behind
    is removed by the next write of `path`.
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_temporaries(path)
        prefix = f".{path.name}.{os.getpid()}."
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the files are meant to be shared
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise unwritable(path, e) from e
    except BaseException:
        _remove(tmp)
        raise
    return path


def unwritable(path: Path, error: OSError) -> JazzFlaxError:
    """The error of a file that could not be written."""
    return JazzFlaxError(
        f"cannot write {path}: {error.strerror or error}",
        hint="check the folder's permissions and free space, or choose another --workdir",
    )


def write_figure(figure, path: str | os.PathLike, dpi: int = 100, **savefig_options) -> Path:
    """A matplotlib `Figure` as a PNG file, written as `atomic_write` does.

    Figures are made with `matplotlib.figure.Figure`, not pyplot, so plotting never changes the
    backend of a notebook that imports us.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, **savefig_options)
    return atomic_write(path, buffer.getvalue())


def remove_dead_temporaries(path: Path) -> None:
    """Removes the temporary files of `path` whose writer (the pid in their name) has died."""
    for tmp in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _alive(pid: int) -> bool:
    if sys.platform == "win32":
        return _alive_on_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def _alive_on_windows(pid: int) -> bool:
    """Whether process `pid` runs, asked through kernel32 (os.kill(pid, 0) would terminate it)."""
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: another user's
    code = ctypes.c_ulong()
    try:
        return not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value == 259
    finally:  # 259: STILL_ACTIVE
        kernel32.CloseHandle(handle)


LOCK = ".lock"


@contextlib.contextmanager
def lock(folder: Path, what: str):
    """Holds `folder`/.lock (filelock's OS lock, released even by kill -9; "PID WHAT" inside)
    while a `what` ("train", "sweep") writes the folder; another asking for it meanwhile gets a
    JazzFlaxError naming the holder. A folder created here and left empty is removed again."""
    check_folder(folder)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = _take(folder / LOCK, what)
    except OSError as e:
        raise unwritable(folder / LOCK, e) from e
    try:
        yield
    finally:
        _release(folder / LOCK, fd)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty


def check_folder(folder: Path) -> None:
    """A JazzFlaxError when `folder` is a file or a symbolic link to nothing: no run can use it."""
    if folder.is_symlink() and not folder.exists():
        problem = f"a symbolic link to {os.readlink(folder)}, which does not exist"
    elif folder.exists() and not folder.is_dir():
        problem = "a file, not a folder"
    else:
        return
    raise JazzFlaxError(f"{folder} is {problem}", hint="choose another --workdir")


def _take(path: Path, what: str) -> int:
    """The descriptor of the lock file `path`, locked by us, our pid and `what` written in it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not filelock.lock_descriptor(fd, blocking=False):
            pid, _, kind = _holder(fd).partition(" ")
            os.close(fd)
            raise JazzFlaxError(
                f"{path.parent} is in use: another {kind or what} (pid {pid or '?'}) is writing it",
                hint="wait for it to end, or choose another --workdir",
            ) from None
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(os.fstat(fd), os.stat(path)):  # not unlinked by its last holder
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()} {what}\n".encode())
                return fd
        os.close(fd)


def _holder(fd: int) -> str:
    """The "PID WHAT" a lock file holds; empty where it cannot be read (Windows locks byte 0)."""
    with contextlib.suppress(OSError):
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 100).decode(errors="replace").strip()
    return ""


def _release(path: Path, fd: int) -> None:
    """Removes the lock file, then closes (and so unlocks) it. Unlinking first tells a process
    that opened it meanwhile to open anew; on Windows, which cannot unlink an open file, the
    file is closed first."""
    try:
        path.unlink(missing_ok=True)
    except PermissionError:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
    else:
        os.close(fd)


def _remove(tmp: str | None) -> None:
    if tmp is not None:
        Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def new_stems(folder: Path, base: str, count: int, suffix: str = ".mid"):
    """Yields `count` paths without suffix in `folder` that no file has yet, one number per call:
    `base` (or base_1 … base_N), else base-2 (base-2_1 …), base-3 …. Each is reserved by creating
    its `suffix` file exclusively, so two processes writing into one folder never share a name;
    the reservations a failure leaves empty are removed."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        number, reserved = 1, None
        while reserved is None:
            reserved = _reserve(folder, _numbered(base, number, count), suffix)
            number += 1
    except OSError as e:
        raise unwritable(folder, e) from e
    try:
        yield [path.with_suffix("") for path in reserved]
    except BaseException:
        for path in reserved:
            if path.is_file() and path.stat().st_size == 0:
                path.unlink()
        raise


def _numbered(base: str, number: int, count: int) -> list[str]:
    stem = base if number == 1 else f"{base}-{number}"
    return [stem] if count == 1 else [f"{stem}_{i}" for i in range(1, count + 1)]


def _reserve(folder: Path, stems: list[str], suffix: str) -> list[Path] | None:
    """The `suffix` files of `stems`, created empty; None (nothing created) if one is taken."""
    created = []
    for stem in stems:
        path = folder / f"{stem}{suffix}"
        if any(folder.glob(f"{glob_escape(stem)}.*")):
            break
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            break
        created.append(path)
    else:
        return created
    for path in created:
        path.unlink(missing_ok=True)
    return None


def call_function(path: Path, function: str):
    """What `function()` of the Python file `path` returns; a JazzFlaxError if it cannot run."""
    try:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, function)()
    except Exception as e:
        raise JazzFlaxError(
            f"cannot load {path}: {type(e).__name__}: {e}",
            hint=f"it must be Python defining {function}()",
        ) from None

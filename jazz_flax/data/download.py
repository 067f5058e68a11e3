"""`python -m jazz_flax.data.download [metheny|wjazzd|openewld]`: a corpus into data/, by sha256.

data/ is the data root, $JAZZ_FLAX_DATA when set (`roots`). Every file a corpus holds is listed,
with its sha256, in a manifest shipped in the package (`jazz_flax/data/manifests/<corpus>.sha256`,
the format of `sha256sum`); the files themselves are downloaded from the pinned commit of their
upstream repository, never redistributed by us. A file already there with the right sha256 is
skipped; the others are fetched in parallel into a hidden `.NAME.part` file (resumed with an
HTTP Range request when a download was interrupted), checked, then renamed into place, so a reader
never sees a half-written or unverified file. Paths are compared after Unicode normalisation (NFC)
and percent-encoded (UTF-8) in URLs.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import http.client
import os
import sys
import threading
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from jazz_flax import interrupts
from jazz_flax.data.roots import METHENY, data_path
from jazz_flax.errors import ArgumentParser, JazzFlaxError, one_line_errors

URL = "https://raw.githubusercontent.com/jisungk/deepjazz/master/midi/original_metheny.mid"
SHA256 = "0da8322ceab36b036682b5ece0c315193f7b701a3340a0ca5a523b107c6f428d"
MANIFESTS = Path(__file__).resolve().parent / "manifests"
CHUNK = 1 << 16


@dataclasses.dataclass(frozen=True)
class Source:
    """A corpus: the folder it goes to, where its files come from, and its manifest's name."""

    name: str  # also its folder's, under the data root: data/<name>
    base_url: str  # + the file's path in the manifest, percent-encoded
    origin: str  # where a user can find it by hand

    @property
    def folder(self) -> Path:
        return data_path(self.name)

    @property
    def manifest(self) -> Path:
        return MANIFESTS / f"{self.name}.sha256"


RAW = "https://raw.githubusercontent.com"
CORPORA = {
    "wjazzd": Source(
        "wjazzd",
        f"{RAW}/slSeanWU/jazz_transformer/eb77f0971e653d7208ed708f704b4d3d4b3eeff0/",
        "github.com/slSeanWU/jazz_transformer, folders mcsv_melody/ and mcsv_beat/",
    ),
    "openewld": Source(
        "openewld",
        f"{RAW}/00sapo/OpenEWLD/ec03cbd809ca5296ee708591b970d0423dcbe31c/",
        "github.com/00sapo/OpenEWLD, folder dataset/",
    ),
}


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# One file


def ensure_file(path: Path | None = None, url: str = URL, sha256: str = SHA256) -> bool:
    """Makes sure `path` (default: the Metheny MIDI in the data root) holds the file with `sha256`,
    downloading it if needed.

    Returns True when it downloaded, False when a verified copy was already there.
    """
    path = Path(path or data_path(METHENY))
    if path.exists() and sha256_of(path) == sha256:
        return False
    fetch(url, path, sha256)
    return True


def fetch(url: str, path: Path, sha256: str) -> None:
    """Downloads `url` into `path` through `partial_path(path)`, resuming what is there.

    A payload whose sha256 is not `sha256` is deleted and raises a JazzFlaxError; a network error
    keeps the partial file for the next try and raises one that says where to put the file.
    """
    part = partial_path(path)
    try:
        _download_into(url, part)
    except urllib.error.HTTPError as e:
        if e.code != 416:  # 416: nothing after the partial file's end; it may be whole
            raise _offline(url, path, sha256, e) from None
    except (OSError, http.client.HTTPException) as e:
        raise _offline(url, path, sha256, e) from None
    got = sha256_of(part)
    if got != sha256:
        part.unlink()
        raise JazzFlaxError(f"downloaded {url} has sha256 {got}, expected {sha256}")
    os.chmod(part, 0o644)
    os.replace(part, path)


class Unreachable(JazzFlaxError):
    """A download failed on the way (no network, a dropped connection, an HTTP error)."""


def _offline(url: str, path: Path, sha256: str, error: Exception) -> JazzFlaxError:
    if path.is_file():  # there, but not the file the manifest names
        return Unreachable(
            f"{path} is damaged (its sha256 is {sha256_of(path)}, not {sha256}) and could not be "
            f"downloaded again from {url} ({error})",
            hint=f"download it again when online, or replace it by hand with the file of sha256 "
            f"{sha256}",
        )
    return Unreachable(
        f"could not download {url} ({error})",
        hint=f"put the file at {path} by hand (sha256 {sha256})",
    )


def partial_path(path: Path) -> Path:
    """Where `path` is downloaded to before it is verified: a hidden file beside it."""
    return path.with_name(f".{path.name}.part")


def _download_into(url: str, part: Path) -> None:
    """Appends the rest of `url` to `part` (an HTTP Range request from its size), or rewrites it
    when the server sends the whole file."""
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        resumed = getattr(response, "status", None) == 206
        expected, received = response.headers.get("Content-Length"), 0
        with open(part, "ab" if resumed else "wb") as f:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                received += f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
    if expected is not None and received < int(expected):
        raise ConnectionError(f"the connection closed after {received} of {expected} bytes")


# ---------------------------------------------------------------------------------------------
# A corpus


def read_manifest(path: Path) -> dict[str, str]:
    """{NFC path relative to the corpus folder: sha256} of a `sha256sum`-style manifest."""
    entries = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        sha256, _, name = line.partition("  ")
        entries[nfc(name)] = sha256
    return entries


def nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def local_files(folder: Path) -> dict[str, Path]:
    """{NFC path relative to `folder`: the file}, whatever normalisation the file system keeps."""
    if not folder.is_dir():
        return {}
    return {nfc(p.relative_to(folder).as_posix()): p for p in folder.rglob("*") if p.is_file()}


def missing_files(folder: Path, manifest: dict[str, str]) -> list[str]:
    """The manifest's paths that `folder` lacks or holds with another sha256."""
    present = local_files(folder)
    return [
        name
        for name, sha256 in manifest.items()
        if name not in present or sha256_of(present[name]) != sha256
    ]


def file_url(base_url: str, name: str) -> str:
    """The URL of `name` under `base_url`, its UTF-8 path percent-encoded."""
    return base_url + urllib.parse.quote(name, safe="/")


def ensure_corpus(
    source: Source,
    folder: Path | None = None,
    jobs: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Makes `folder` (default `source.folder`) hold every file of the source's manifest.

    Files already verified are skipped; the others are fetched by `jobs` threads, `progress(done,
    total)` called after each. Returns (downloaded, verified). Failures are reported together
    after every file was tried, in one JazzFlaxError that says where to put the folder by hand.
    """
    folder = Path(folder or source.folder)
    manifest = read_manifest(source.manifest)
    todo = missing_files(folder, manifest)
    errors, unreachable = [], threading.Event()

    def one(name: str) -> None:
        if unreachable.is_set():
            return
        try:
            fetch(file_url(source.base_url, name), folder / name, manifest[name])
        except Unreachable as e:
            unreachable.set()  # offline: the other files would wait for their time-out too
            errors.append(e)
        except JazzFlaxError as e:
            errors.append(e)

    _in_parallel(one, todo, jobs, progress)
    if errors:
        untried = " (the others not tried)" if unreachable.is_set() else ""
        raise JazzFlaxError(
            f"{len(errors)} of the {len(todo)} files of {source.name} did not download{untried},"
            f" e.g. {errors[0].args[0]}",
            hint=f"or put the folder at {folder}/ by hand (from {source.origin}); "
            f"{source.manifest.name} lists its files",
        )
    return len(todo), len(manifest) - len(todo)


def _in_parallel(function, items: Iterable, jobs: int, progress) -> None:
    items = list(items)
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = [pool.submit(function, item) for item in items]
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            future.result()
            if progress:
                progress(done, len(items))


def progress_bar(done: int, total: int, width: int = 30) -> None:
    """`[#####     ] 123/912 files` on stderr, redrawn in place."""
    filled = width * done // max(total, 1)
    end = "\n" if done == total else ""
    print(
        f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} files", end=end, file=sys.stderr
    )


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(prog="python -m jazz_flax.data.download", description=__doc__)
    parser.add_argument("corpus", nargs="?", default="metheny", choices=["metheny", *CORPORA])
    parser.add_argument("--path", type=Path, help="metheny: the file; a corpus: its folder")
    parser.add_argument("--jobs", type=int, default=8, help="parallel downloads")
    args = parser.parse_args(argv)
    with one_line_errors():
        if args.corpus == "metheny":
            path = args.path or data_path(METHENY)
            downloaded = ensure_file(path)
            print(f"{'downloaded' if downloaded else 'verified'} {path} (sha256 {SHA256[:12]}…)")
            return
        source = CORPORA[args.corpus]
        bar = progress_bar if sys.stderr.isatty() else None
        downloaded, verified = ensure_corpus(source, args.path, args.jobs, bar)
        folder = args.path or source.folder
        print(f"{folder}: {downloaded} files downloaded, {verified} already verified")


if __name__ == "__main__":
    interrupts.catch()
    main()

"""`python -m jazz_flax.download`: fetch the Metheny MIDI into data/, checked by sha256."""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

from jazz_flax import interrupts
from jazz_flax.errors import ArgumentParser, JazzFlaxError, one_line_errors
from jazz_flax.files import atomic_write

URL = "https://raw.githubusercontent.com/jisungk/deepjazz/master/midi/original_metheny.mid"
SHA256 = "0da8322ceab36b036682b5ece0c315193f7b701a3340a0ca5a523b107c6f428d"
DEFAULT_PATH = Path("data/original_metheny.mid")


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def ensure_file(path: Path = DEFAULT_PATH, url: str = URL, sha256: str = SHA256) -> bool:
    """Makes sure `path` holds the file with `sha256`, downloading it if needed.

    Returns True when it downloaded, False when a verified copy was already there.
    """
    if path.exists() and sha256_of(path) == sha256:
        return False
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            payload = response.read()
    except OSError as e:
        raise JazzFlaxError(
            f"could not download {url} ({e})",
            hint=f"put the file at {path} by hand (sha256 {sha256})",
        ) from None
    got = hashlib.sha256(payload).hexdigest()
    if got != sha256:
        raise JazzFlaxError(f"downloaded {url} has sha256 {got}, expected {sha256}")
    atomic_write(path, payload)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__)
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    with one_line_errors():
        downloaded = ensure_file(args.path)
    print(f"{'downloaded' if downloaded else 'verified'} {args.path} (sha256 {SHA256[:12]}…)")


if __name__ == "__main__":
    interrupts.catch()
    main()

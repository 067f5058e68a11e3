"""Fresh virtual environments for the tests of the package as a user installs it.

`fresh_venv` makes one whose dependencies are this interpreter's (a .pth file naming its
site-packages: nothing is downloaded, and what is installed into the venv comes first), or an
empty one; `build_wheel` builds the wheel from a clean copy of the checkout (no stale build/),
`snapshot_repository` a git repository of it to install from by URL;
`run_in` runs a command with the venv's bin/ first, outside the checkout (no PYTHONPATH) and
the data from this checkout's data/ ($JAZZ_FLAX_DATA).
"""

import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

from tests.commands import ROOT
from tests.music import METHENY

DATA = METHENY.parent
TOP_NOT_SOURCES = {".git", "data", "runs", "build", ".venv"}  # in the checkout's root
NOT_SOURCES = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*_cache", ".hypothesis")


def not_sources(folder: str, names: list[str]) -> set[str]:
    """What `build_wheel` leaves out of its copy of the checkout (shutil.copytree's `ignore`)."""
    top = TOP_NOT_SOURCES if Path(folder) == ROOT else set()
    return top.intersection(names) | NOT_SOURCES(folder, names)


def python(env: Path) -> str:
    return str(env / "bin" / "python")


def fresh_venv(path: Path, inherit: bool = True) -> Path:
    """A virtual environment at `path`: with this interpreter's packages behind its own when
    `inherit`, else with only pip of its own."""
    venv.create(path, with_pip=not inherit, symlinks=True)
    if inherit:
        (own,) = Path(path, "lib").glob("python*/site-packages")
        (own / "_inherited.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return path


def environment(**changes) -> dict:
    """This process's environment without PYTHONPATH, with `changes`."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return env | {"JAX_PLATFORMS": "cpu"} | changes


def run_in(env: Path, command: list[str], cwd: Path, **changes) -> subprocess.CompletedProcess:
    """`command` run in `cwd` with `env`'s bin/ first on PATH; its failure fails the test."""
    path = f"{env / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    variables = environment(PATH=path, VIRTUAL_ENV=str(env), JAZZ_FLAX_DATA=str(DATA)) | changes
    result = subprocess.run(command, cwd=cwd, env=variables, capture_output=True, text=True)
    assert result.returncode == 0, f"{command}: {result.stderr[-3000:]}"
    return result


def pip(env: Path, *args: str) -> subprocess.CompletedProcess:
    """`pip ARGS` for `env` (an inheriting venv uses this interpreter's pip, installing into it;
    --ignore-installed: what this interpreter has, jazz_flax included, is not replaced)."""
    ignore = ["--ignore-installed"] if args[0] == "install" else []
    return run_in(env, [python(env), "-m", "pip", *args, *ignore], env)


def copy_sources(to: Path) -> Path:
    """A copy of the checkout's working tree, without data, runs and build leftovers."""
    shutil.copytree(ROOT, to, ignore=not_sources)
    return to


def snapshot_repository(to: Path) -> str:
    """The URL of a git repository at `to` whose one commit is the checkout's working tree, as a
    clone of it would be once committed."""
    copy_sources(to)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "working tree"]):
        subprocess.run([*git, *args], cwd=to, check=True, capture_output=True)
    return to.as_uri()


def build_wheel(out: Path) -> Path:
    """The wheel of this checkout, built from a copy of its sources without build isolation."""
    sources = copy_sources(out / "sources")
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*command, "-w", str(out), str(sources)], check=True, capture_output=True)
    (wheel,) = out.glob("jazz_flax-*.whl")
    return wheel

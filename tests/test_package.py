"""The package as pip installs it: what the wheel holds, a light `import jazz_flax` and its entry
points, the wheel installed into a fresh virtual environment and run from an empty directory, and
the dependency floors (constraints.txt) installed and tested (`make floors`, slow: a download)."""

import configparser
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import setuptools

import jazz_flax
from jazz_flax import api, checkpoints, evaluate, generate
from jazz_flax.cli import options
from jazz_flax.errors import JazzFlaxError
from tests import venvs
from tests.commands import ROOT

SETUP = configparser.ConfigParser()
SETUP.read(ROOT / "setup.cfg")
HEAVY = ("jax", "flax", "music21", "numpy", "matplotlib", "ml_collections")


def test_setuptools_finds_every_module_and_the_experiments_but_the_benchmarks():
    include = SETUP["options.packages.find"]["include"].split()
    found = setuptools.find_packages(str(ROOT), include=include)
    subpackages = [f"jazz_flax.{p.parent.name}" for p in (ROOT / "jazz_flax").glob("*/__init__.py")]
    assert sorted(found) == sorted(
        ["jazz_flax", *subpackages, "experiments", "experiments.sweeps", "experiments.tools"]
    )
    assert {"jazz_flax.data", "jazz_flax.grammar", "jazz_flax.music"} <= set(found)


def citation_field(key: str) -> str:
    """A top-level scalar of CITATION.cff (a `key: value` line, quotes removed)."""
    for line in (ROOT / "CITATION.cff").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return value.strip().strip('"')
    raise AssertionError(f"CITATION.cff has no {key}")


def test_licence_and_citation_agree_with_the_package():
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence  # the whole text
    assert "Copyright 2026 The jazz_flax authors" in licence
    assert citation_field("license") == SETUP["metadata"]["license"] == "Apache-2.0"
    assert citation_field("version") == jazz_flax.__version__
    assert citation_field("cff-version") == "1.2.0"


# ---------------------------------------------------------------------------------------------
# `import jazz_flax`


def imported_after(statements: str) -> list[str]:
    """The heavy modules (HEAVY) a fresh interpreter has imported after `statements`."""
    check = f"{statements}\nimport sys\nprint(*[m for m in {HEAVY!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_import_jazz_flax_imports_neither_jax_nor_music21():
    statements = "import jazz_flax\nassert 'load_run' in dir(jazz_flax)\njazz_flax.get_config"
    assert imported_after(statements) == []  # jazz_flax.load_run would import them


def test_the_entry_points_are_the_modules_functions():
    assert jazz_flax.load_run is checkpoints.load_run
    assert jazz_flax.generate_solo is generate.generate
    assert jazz_flax.evaluate_run is evaluate.evaluate_run
    assert (jazz_flax.get_config, jazz_flax.train_run) == (api.get_config, api.train_run)
    with pytest.raises(AttributeError, match="no attribute 'bogus'"):
        jazz_flax.bogus  # noqa: B018


def test_no_entry_point_hides_a_module():  # `from jazz_flax import train` stays the module
    modules = {p.stem for p in (ROOT / "jazz_flax").glob("*.py")}
    modules |= {p.parent.name for p in (ROOT / "jazz_flax").glob("*/__init__.py")}
    assert not modules & set(jazz_flax.ENTRY_POINTS)


def test_get_config_by_name_or_path_with_changes():
    config = jazz_flax.get_config("wjazzd", epochs=3, **{"data.Tx": 32})
    assert (config.epochs, config.data.Tx, config.data.reader) == (3, 32, "wjazzd")
    by_path = jazz_flax.get_config(ROOT / "experiments" / "baseline.py")
    assert by_path == jazz_flax.get_config("baseline")
    assert "baseline" in options.experiment_names() and "wjazzd_pitch" in options.experiment_names()


@pytest.mark.parametrize(
    ("name", "message"),
    [("basline", "unknown experiment 'basline'"), ("mine/x.py", "no such file")],
)
def test_an_unknown_experiment_is_one_line(name, message):
    with pytest.raises(JazzFlaxError, match=message) as info:
        options.experiment_file(name)
    assert "\n" not in str(info.value)


def test_an_unknown_setting_is_refused():
    with pytest.raises(JazzFlaxError, match="unknown setting 'n_aa'"):
        jazz_flax.get_config("baseline", n_aa=3)


# ---------------------------------------------------------------------------------------------
# The wheel, installed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return venvs.build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment holding the wheel; its dependencies are this interpreter's."""
    venv = venvs.fresh_venv(tmp_path_factory.mktemp("venv") / "venv")
    venvs.pip(venv, "install", "--quiet", "--no-deps", str(wheel))
    return venv


def test_the_wheel_holds_the_configs_and_the_manifests_but_not_the_benchmarks(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"experiments/baseline.py", "experiments/sweeps/hidden_size.py"} <= names
    assert {f"jazz_flax/data/manifests/{c}.sha256" for c in ("wjazzd", "openewld")} <= names
    assert "experiments/tools/compare_corpora.py" in names
    assert not [name for name in names if name.startswith(("experiments/bench", "tests/"))]


INSTALLED_CHECK = """
import importlib.resources, sys
import jazz_flax, experiments
from jazz_flax import api
from jazz_flax.data import download
assert jazz_flax.__file__.startswith(sys.prefix) and experiments.__file__.startswith(sys.prefix)
assert (importlib.resources.files("experiments") / "baseline.py").is_file()
assert api.get_config("openewld").data.split_seed == 0  # from experiments.wjazzd
assert all(source.manifest.is_file() for source in download.CORPORA.values())
print(api.get_config("baseline").data.path)
"""


def test_the_installed_package_works_from_any_directory(installed, tmp_path):
    result = venvs.run_in(installed, [venvs.python(installed), "-c", INSTALLED_CHECK], tmp_path)
    assert result.stdout.strip() == str(venvs.DATA / "original_metheny.mid")
    assert list(tmp_path.iterdir()) == []


def console_command_declared() -> bool:
    scripts = (
        SETUP["options.entry_points"].get("console_scripts", "")
        if SETUP.has_section("options.entry_points")
        else ""
    )
    return "jazz-flax" in scripts


@pytest.mark.skipif(
    not console_command_declared(), reason="setup.cfg declares no jazz-flax command yet (h-cli)"
)
def test_trains_and_generates_from_an_empty_directory(installed, tmp_path, metheny_path):
    command = str(installed / "bin" / "jazz-flax")
    train = [command, "train", "--config", "baseline", "--config.epochs=5", "--workdir", "run"]
    venvs.run_in(installed, train, tmp_path)
    venvs.run_in(installed, [command, "generate", "--workdir", "run"], tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # the data came from $JAZZ_FLAX_DATA
    run = tmp_path / "run"
    assert (run / "checkpoint.msgpack").stat().st_size > 0
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 5
    for suffix in ("mid", "wav", "png"):
        assert [p for p in run.rglob(f"*.{suffix}") if p.stat().st_size > 0], suffix


# ---------------------------------------------------------------------------------------------
# The dependency floors


def floors() -> dict[str, str]:
    """{distribution: its floor} of setup.cfg's install_requires (`name>=version`)."""
    lines = SETUP["options"]["install_requires"].split()
    return dict(line.split(">=") for line in lines)


def pins(path: Path) -> dict[str, str]:
    """{distribution: version} of a constraints file's `name==version` lines."""
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return dict(line.split("==") for line in lines if line)


def test_the_constraints_pin_every_floor_and_only_them():
    constraints = pins(ROOT / "constraints.txt")
    constraints.pop("jaxlib")  # jax's own, pinned to jax's version
    assert constraints == floors()
    assert pins(ROOT / "constraints.txt")["jaxlib"] == floors()["jax"]


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("JAZZ_FLAX_FLOORS"), reason="downloads the floors: make floors"
)
def test_the_floors_install_and_pass_the_fast_tests(tmp_path):
    venv = venvs.fresh_venv(tmp_path / "floors", inherit=False)
    extras = [*SETUP["options.extras_require"]["dev"].split(), "setuptools>=70"]  # for the wheel
    venvs.pip(venv, "install", "--quiet", "-c", str(ROOT / "constraints.txt"), *floors(), *extras)
    frozen = venvs.pip(venv, "list", "--format=freeze").stdout.lower().replace("-", "_")
    for name, version in floors().items():
        assert f"{name.lower().replace('-', '_')}=={version}" in frozen
    tests = [venvs.python(venv), "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider"]
    result = subprocess.run(tests, cwd=ROOT, env=venvs.environment(PYTHONPATH=str(ROOT)))
    assert result.returncode == 0

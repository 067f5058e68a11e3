"""jazz_flax/data/roots.py: $JAZZ_FLAX_DATA moves every default data path, a path given by the
user stays as given, and an empty variable counts as unset (here and for $JAZZ_FLAX_CACHE)."""

from pathlib import Path

import pytest

from experiments import baseline, leadsheets, openewld, wjazzd
from jazz_flax import config as config_lib
from jazz_flax.data import cache, download, roots

DEFAULTS = {  # each default data path under the data root
    baseline: "original_metheny.mid",
    wjazzd: "wjazzd",
    openewld: "openewld/dataset/**/*.mxl",
    leadsheets: "leadsheets",
}


@pytest.mark.parametrize("value", [None, ""])
def test_the_default_root_is_data_in_the_working_directory(monkeypatch, value):
    monkeypatch.delenv(roots.DATA_ROOT, raising=False)
    if value is not None:
        monkeypatch.setenv(roots.DATA_ROOT, value)
    assert roots.data_root() == Path("data")
    assert baseline.get_config().data.path == "data/original_metheny.mid"


@pytest.mark.parametrize("experiment", DEFAULTS, ids=lambda module: module.__name__)
def test_the_data_root_moves_each_configs_default_path(monkeypatch, tmp_path, experiment):
    monkeypatch.setenv(roots.DATA_ROOT, str(tmp_path))
    assert experiment.get_config().data.path == str(tmp_path / DEFAULTS[experiment])


def test_the_data_root_moves_the_download_targets(monkeypatch, tmp_path):
    monkeypatch.setenv(roots.DATA_ROOT, str(tmp_path))
    assert {s.folder for s in download.CORPORA.values()} == {tmp_path / n for n in download.CORPORA}
    with pytest.raises(download.Unreachable) as info:
        download.ensure_file(url="file:///nowhere/at/all.mid")  # the default path
    assert f"put the file at {tmp_path / roots.METHENY} by hand" in str(info.value)


def test_a_path_given_by_the_user_stays_as_given(monkeypatch, tmp_path):
    monkeypatch.setenv(roots.DATA_ROOT, str(tmp_path))
    config = baseline.get_config()
    config.data.path = "mine/solo.mid"  # as --config.data.path=mine/solo.mid sets it
    config_lib.check(config)
    assert config.data.path == "mine/solo.mid"


def test_the_manifests_are_in_the_package():
    for source in download.CORPORA.values():
        assert source.manifest.is_file()
        assert source.manifest.is_relative_to(Path(download.__file__).parent)


@pytest.mark.parametrize("variable", ["JAZZ_FLAX_CACHE", "XDG_CACHE_HOME"])
def test_an_empty_cache_variable_counts_as_unset(monkeypatch, variable):
    monkeypatch.setenv("JAZZ_FLAX_CACHE", "")
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert cache.cache_root() == Path.home() / ".cache" / "jazz_flax"
    monkeypatch.setenv(variable, "/somewhere")
    expected = "/somewhere" if variable == "JAZZ_FLAX_CACHE" else "/somewhere/jazz_flax"
    assert cache.cache_root() == Path(expected)

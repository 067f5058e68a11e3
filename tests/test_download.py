import hashlib

import pytest

from jazz_flax import download
from jazz_flax.errors import JazzFlaxError


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "remote.mid"
    path.write_bytes(b"MThd fake midi bytes")
    return path.as_uri(), hashlib.sha256(path.read_bytes()).hexdigest()


def test_downloads_and_verifies(tmp_path, source):
    url, sha = source
    target = tmp_path / "data" / "solo.mid"
    assert download.ensure_file(target, url, sha) is True
    assert target.read_bytes() == b"MThd fake midi bytes"
    assert not [p for p in target.parent.iterdir() if p != target]  # no temporary file left


def test_skips_a_verified_copy(tmp_path, source):
    url, sha = source
    target = tmp_path / "solo.mid"
    download.ensure_file(target, url, sha)
    assert download.ensure_file(target, "file:///nowhere/at/all.mid", sha) is False


def test_wrong_checksum_writes_nothing(tmp_path, source):
    url, _ = source
    target = tmp_path / "solo.mid"
    with pytest.raises(JazzFlaxError, match="sha256"):
        download.ensure_file(target, url, "0" * 64)
    assert list(tmp_path.iterdir()) == [tmp_path / "remote.mid"]


def test_offline_says_where_to_put_the_file(tmp_path):
    target = tmp_path / "solo.mid"
    with pytest.raises(JazzFlaxError, match="by hand") as info:
        download.ensure_file(target, "file:///nowhere/at/all.mid", "0" * 64)
    assert str(target) in str(info.value)
    assert not target.exists()

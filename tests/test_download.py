import hashlib
import http.server
import threading
import unicodedata
import urllib.parse
from pathlib import Path

import pytest

from jazz_flax.data import download
from jazz_flax.errors import JazzFlaxError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


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


def test_a_damaged_local_file_is_called_damaged_not_undownloaded(tmp_path, source):
    url, sha = source
    target = tmp_path / "solo.mid"
    target.write_bytes(b"MThd damaged")
    with pytest.raises(JazzFlaxError, match=rf"^{target} is damaged \(its sha256 is ") as info:
        download.ensure_file(target, "file:///nowhere/at/all.mid", sha)
    message = str(info.value)
    assert "could not download" not in message and f"file of sha256 {sha}" in message
    assert target.read_bytes() == b"MThd damaged"  # kept for the user to look at
    assert download.ensure_file(target, url, sha) is True  # online, it is replaced
    assert target.read_bytes() == b"MThd fake midi bytes"


# ---------------------------------------------------------------------------------------------
# A corpus from a local HTTP server


class Server:
    """An HTTP server on 127.0.0.1 serving `files` ({unquoted path: bytes}) with Range requests;
    `cut_after` bytes, when set, ends a response early (a dropped connection)."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.requests, self.cut_after = files, [], None
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = urllib.parse.unquote(self.path.lstrip("/"))
                server.requests.append((name, self.headers.get("Range")))
                if name not in server.files:
                    return self.send_error(404)
                payload, status = server.files[name], 200
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].rstrip("-"))
                    payload, status = payload[start:], 206
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: server.cut_after])

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """A served corpus of three files (one with a non-ASCII, apostrophed name) and its Source."""
    files = {
        "melody/a.csv": b"onset,pitch\n0.5,60\n" * 50,
        "melody/b.csv": b"onset,pitch\n1.5,62\n" * 50,
        "dataset/El_c\u00f3ndor_pasa/L'Internationale.mxl": b"PK fake mxl" * 40,
    }
    server = Server(files)
    manifest = tmp_path / "manifests" / "toy.sha256"
    manifest.parent.mkdir()
    manifest.write_text("".join(f"{sha(p)}  {n}\n" for n, p in files.items()), encoding="utf-8")
    monkeypatch.setattr(download, "MANIFESTS", manifest.parent)
    monkeypatch.setenv("JAZZ_FLAX_DATA", str(tmp_path))  # its folder: tmp_path / "toy"
    source = download.Source("toy", server.url, "the toy repository")
    assert source.folder == tmp_path / "toy"
    yield server, source
    server.httpd.shutdown()


def test_corpus_downloads_each_file_once_and_skips_verified_ones(corpus):
    server, source = corpus
    seen = []
    assert download.ensure_corpus(source, jobs=3, progress=lambda d, t: seen.append((d, t))) == (
        3,
        0,
    )
    assert seen[-1] == (3, 3)
    for name, payload in server.files.items():
        assert (source.folder / name).read_bytes() == payload
    assert not list(source.folder.rglob(".*"))  # no partial file left
    requests = len(server.requests)
    assert download.ensure_corpus(source) == (0, 3)
    assert len(server.requests) == requests  # verified files are not asked for again


def test_corpus_paths_are_percent_encoded_and_compared_in_nfc(corpus):
    server, source = corpus
    name = "dataset/El_c\u00f3ndor_pasa/L'Internationale.mxl"
    decomposed = source.folder / unicodedata.normalize("NFD", name)  # as macOS stores names
    decomposed.parent.mkdir(parents=True)
    decomposed.write_bytes(server.files[name])
    download.ensure_corpus(source)
    assert name not in [n for n, _ in server.requests]  # found under its NFD name
    assert download.file_url("http://h/", name) == (
        "http://h/dataset/El_c%C3%B3ndor_pasa/L%27Internationale.mxl"
    )


def test_corpus_checksum_mismatch_is_an_error_that_keeps_nothing(corpus):
    server, source = corpus
    server.files["melody/b.csv"] = b"tampered"
    with pytest.raises(JazzFlaxError, match="1 of the 3 files") as info:
        download.ensure_corpus(source)
    assert "sha256" in str(info.value) and "by hand" in str(info.value)
    assert not (source.folder / "melody" / "b.csv").exists()
    assert not download.partial_path(source.folder / "melody" / "b.csv").exists()
    assert (source.folder / "melody" / "a.csv").exists()  # the good ones are kept


def test_an_interrupted_download_resumes_from_its_partial_file(corpus):
    server, source = corpus
    server.cut_after = 100  # every response drops after 100 bytes
    with pytest.raises(JazzFlaxError, match=r"1 of the 3 files .*\(the others not tried\)"):
        download.ensure_corpus(source, jobs=1)
    part = download.partial_path(source.folder / "melody" / "a.csv")
    assert part.stat().st_size == 100 and not (source.folder / "melody" / "a.csv").exists()
    server.cut_after = None
    server.requests.clear()
    assert download.ensure_corpus(source) == (3, 0)
    assert ("melody/a.csv", "bytes=100-") in server.requests
    assert (source.folder / "melody" / "a.csv").read_bytes() == server.files["melody/a.csv"]


def test_a_damaged_file_of_a_corpus_offline_is_called_damaged(corpus):
    server, source = corpus
    download.ensure_corpus(source)
    (source.folder / "melody" / "a.csv").write_bytes(b"onset,pitch\n0.5,6")
    server.httpd.shutdown()
    server.httpd.server_close()
    with pytest.raises(JazzFlaxError, match=r"melody/a.csv is damaged \(its sha256 is"):
        download.ensure_corpus(source, jobs=1)


def test_offline_corpus_is_one_line_naming_the_folder(corpus, tmp_path):
    server, source = corpus
    server.httpd.shutdown()
    server.httpd.server_close()
    with pytest.raises(JazzFlaxError) as info:
        download.ensure_corpus(source, jobs=2)
    message = str(info.value)
    assert "\n" not in message
    assert f"put the folder at {source.folder}/ by hand" in message
    assert "the toy repository" in message


@pytest.mark.parametrize(("name", "files"), [("wjazzd", 912), ("openewld", 502)])
def test_committed_manifests_match_the_shared_copies(name, files):
    manifest = download.read_manifest(download.CORPORA[name].manifest)
    assert len(manifest) == files
    if not (SHARED / name).is_dir():
        pytest.skip(f"{SHARED / name} is absent")
    assert download.missing_files(SHARED / name, manifest) == []

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from jazz_flax.errors import JazzFlaxError
from jazz_flax.files import atomic_write, lock, new_stems


def test_writes_whole_files_readable_by_others(tmp_path):
    path = atomic_write(tmp_path / "a" / "b.txt", "hello")
    assert path.read_text() == "hello"
    assert path.stat().st_mode & 0o777 == 0o644
    atomic_write(path, b"bytes")
    assert path.read_bytes() == b"bytes"
    assert [p.name for p in path.parent.iterdir()] == ["b.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_folder_is_a_clear_error(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(JazzFlaxError, match="cannot write .*check the folder's permissions"):
            atomic_write(tmp_path / "x.txt", "data")
    finally:
        tmp_path.chmod(0o700)


def test_a_file_in_the_way_of_the_folder_is_a_clear_error(tmp_path):
    (tmp_path / "runs").write_text("not a folder")
    with pytest.raises(JazzFlaxError, match="cannot write"):
        atomic_write(tmp_path / "runs" / "x.txt", "data")


def test_disk_full_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "x.txt"
    target.write_text("old")

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(JazzFlaxError, match="No space left on device"):
        atomic_write(target, "new contents")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_an_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "x.txt"
    target.write_text("old")

    def interrupt(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_a_run_folder_that_is_a_file_is_named_as_such(tmp_path):
    (tmp_path / "run").write_text("a file")
    with pytest.raises(JazzFlaxError, match=r"run is a file, not a folder \(choose another"):
        with lock(tmp_path / "run", "train"):
            pass


def test_a_run_folder_that_is_a_dangling_link_is_named_as_such(tmp_path):
    (tmp_path / "run").symlink_to(tmp_path / "gone")
    with pytest.raises(JazzFlaxError, match="run is a symbolic link to .*gone, which does not"):
        with lock(tmp_path / "run", "train"):
            pass
    assert not (tmp_path / "gone").exists()


HOLDER = """
import os, sys
from pathlib import Path
from jazz_flax.files import lock
with lock(Path(sys.argv[1]), "train"):
    print("held", flush=True)
    if sys.stdin.readline() == "die\\n":
        os._exit(9)  # as kill -9: no clean-up, the lock file stays
"""


def hold_lock(folder):
    """A process holding `folder`'s lock, once it has said so; its stdin tells it how to end."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_second_process_is_refused_at_once_naming_the_holder(tmp_path):
    holder = hold_lock(tmp_path / "run")
    began = time.monotonic()
    with pytest.raises(JazzFlaxError, match=rf"run is in use: another train \(pid {holder.pid}\)"):
        with lock(tmp_path / "run", "sweep"):
            pass
    assert time.monotonic() - began < 1
    holder.communicate("end\n", timeout=30)
    assert holder.returncode == 0 and not (tmp_path / "run").exists()


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    holder = hold_lock(tmp_path / "run")
    holder.communicate("die\n", timeout=30)
    assert (tmp_path / "run" / ".lock").read_text() == f"{holder.pid} train\n"  # left behind
    with lock(tmp_path / "run", "sweep"):
        assert (tmp_path / "run" / ".lock").read_text() == f"{os.getpid()} sweep\n"
    assert not (tmp_path / "run" / ".lock").exists()


def reserve(folder, count=1) -> list[str]:
    with new_stems(folder, "my_music", count) as stems:
        return [stem.name for stem in stems]


def test_new_stems_number_each_call_and_never_take_a_used_name(tmp_path):
    assert reserve(tmp_path) == ["my_music"]
    assert reserve(tmp_path) == ["my_music-2"]
    assert reserve(tmp_path, 2) == ["my_music_1", "my_music_2"]
    (tmp_path / "my_music-3.png").write_text("a file of another suffix takes the name too")
    assert reserve(tmp_path) == ["my_music-4"]
    assert reserve(tmp_path, 2) == ["my_music-2_1", "my_music-2_2"]


def test_concurrent_calls_never_share_a_name(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        stems = [name for names in pool.map(reserve, [tmp_path] * 40, [2] * 40) for name in names]
    assert len(set(stems)) == len(stems) == 80
    assert len(list(tmp_path.iterdir())) == 80  # one reservation (.mid) each


def test_a_failed_call_gives_its_names_back(tmp_path):
    with pytest.raises(RuntimeError), new_stems(tmp_path, "my_music", 2):
        raise RuntimeError("rendering failed")
    assert not any(tmp_path.iterdir())
    assert reserve(tmp_path) == ["my_music"]

"""docs/design.md's "When something goes wrong" guarantees (issue 17), each provoked for real:
interrupts at several moments of a running command, two trains in one directory (the first with
unwritable caches), a failing train into a good run, damaged and non-finite checkpoints, two voices
in a melody part, a killed writer's temporary file, and saving that does not grow with the run.

The bad command lines are in test_bad_inputs.py; the failure matrix in test_failures.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from music21 import chord, note, stream

from jazz_flax import checkpoints, data, errors, files, generate, interrupts, train
from jazz_flax.errors import JazzFlaxError
from jazz_flax.music.chords import parse_chords
from tests.commands import ROOT, environment, main_command, tiny_flags

LONG = "--config.epochs=100000"  # a run that is still training when stopped


def snapshot(folder: Path) -> dict:
    """Every file under `folder`, name → bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def assert_whole(folder: Path) -> None:
    """No temporary or lock file left; every JSON file, metrics line and checkpoint reads back."""
    for path in folder.rglob("*") if folder.exists() else []:
        assert not path.name.endswith(".tmp") and path.name != files.LOCK, f"{path} left behind"
        if path.suffix == ".json":
            json.loads(path.read_text())
    if (folder / checkpoints.METRICS).exists():
        rows = [
            json.loads(line) for line in (folder / checkpoints.METRICS).read_text().splitlines()
        ]
        assert [row["epoch"] for row in rows] == list(range(1, len(rows) + 1))
    if (folder / checkpoints.CHECKPOINT).exists():
        assert checkpoints.load_checkpoint(folder).epoch <= len(rows)


def start_train(tiny, workdir: Path, *flags: str, cache: Path | None = None) -> subprocess.Popen:
    env = environment() | ({"JAZZ_FLAX_CACHE": str(cache)} if cache else {})
    command = main_command("train", *tiny_flags(tiny), f"--workdir={workdir}", *flags)
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


# ---------------------------------------------------------------------------------------------
# 1. No lost interrupt

# Seconds after main.py has installed its handlers: in the imports of JAX and music21, while
# music21 parses the solo (a cold cache), while JAX compiles, while it trains (roughly: the
# machine's load moves them). Before the handlers, Python's own take SIGINT and SIGTERM.
MOMENTS = [(0.0, signal.SIGINT), (1.0, signal.SIGTERM), (2.5, signal.SIGINT), (5.0, signal.SIGTERM)]


def wait_for_handlers(process: subprocess.Popen) -> float:
    """Waits until `process` catches SIGTERM (/proc: Python itself catches only SIGINT), i.e. until
    main.py has installed its handlers; returns the time."""
    status = Path(f"/proc/{process.pid}/status")
    while True:
        caught = next(line for line in status.read_text().splitlines() if line.startswith("SigCgt"))
        if int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1:
            return time.monotonic()
        assert process.poll() is None, process.communicate()
        time.sleep(0.002)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_an_interrupt_at_any_moment_ends_the_command_in_one_line(tiny, tmp_path):
    runs = [tmp_path / f"run{i}" for i in range(len(MOMENTS))]
    processes = [
        start_train(tiny, run, LONG, cache=tmp_path / f"cache{i}") for i, run in enumerate(runs)
    ]
    ready = wait_for_handlers(processes[0])  # they started together
    for (delay, sent), process in zip(MOMENTS, processes, strict=True):
        wait_for_handlers(process)
        time.sleep(max(0.0, ready + delay - time.monotonic()))
        process.send_signal(sent)
    for process, run in zip(processes, runs, strict=True):
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 2, stderr
        assert len(stderr.splitlines()) == 1 and stderr.startswith("error: interrupted"), stderr
        assert_whole(run)


def test_an_interrupt_python_swallows_still_ends_the_command(monkeypatch, capsys):
    monkeypatch.setattr(interrupts, "_received", None)
    monkeypatch.setattr(interrupts, "_raising", False)
    monkeypatch.setattr(sys, "unraisablehook", interrupts._unraisable)

    class SignalledWhileCollected:  # as JAX's _xla_gc_callback, where Python ignores exceptions
        def __del__(self):
            interrupts._handler(signal.SIGINT, None)

    finished = False
    with pytest.raises(SystemExit) as exit, errors.one_line_errors():
        SignalledWhileCollected()
        finished = True
    assert finished and exit.value.code == 2
    assert capsys.readouterr().err == "error: interrupted\n"


class Exited(Exception):
    pass


def test_an_interrupted_command_exits_without_the_interpreters_teardown(monkeypatch):
    """(Python's teardown crashed one interrupted train in about four: SIGSEGV after its
    message, with XLA's threads still running.)"""

    def exit_now(code):
        raise Exited(code)

    def interrupted():
        raise SystemExit(2)

    monkeypatch.setattr(os, "_exit", exit_now)
    monkeypatch.setattr(interrupts, "_received", None)
    with pytest.raises(SystemExit):  # no interrupt: the usual exit
        interrupts.run_command(interrupted)
    monkeypatch.setattr(interrupts, "_received", signal.SIGTERM)
    with pytest.raises(Exited, match="2"):
        interrupts.run_command(interrupted)


# ---------------------------------------------------------------------------------------------
# 2. One run per directory; nothing changes before a run has passed its checks


def test_a_second_train_in_a_directory_names_the_first(tiny, tmp_path):
    """Also: caches that cannot be written (a file in the way) are warned about, once each."""
    workdir, blocked = tmp_path / "run", tmp_path / "a file"
    blocked.write_text("not a folder")
    first = start_train(tiny, workdir, LONG, cache=blocked / "cache")
    began = time.monotonic()
    while not (workdir / checkpoints.CHECKPOINT).exists():
        assert first.poll() is None, first.communicate()
        assert time.monotonic() - began < 120
        time.sleep(0.05)
    config = tiny.copy_and_resolve_references()
    with pytest.raises(JazzFlaxError, match=rf"in use: another train \(pid {first.pid}\)"):
        train.train(config, workdir=workdir)
    first.send_signal(signal.SIGINT)
    _, stderr = first.communicate(timeout=60)
    xla, corpus, interrupted = stderr.splitlines()  # the caches: a warning each, and on it goes
    assert xla.startswith("warning: cannot write") and "without the cache" in xla
    assert corpus.startswith("warning: cannot write") and "without the corpus cache" in corpus
    assert first.returncode == 2 and interrupted.startswith("error: interrupted after epoch")
    assert_whole(workdir)
    assert json.loads((workdir / "config.json").read_text())["epochs"] == 100000  # the first's


def test_the_lock_names_its_holder_and_leaves_no_trace(tmp_path):
    with files.lock(tmp_path / "run", "sweep"):
        assert (tmp_path / "run" / files.LOCK).read_text() == f"{os.getpid()} sweep\n"
        with pytest.raises(JazzFlaxError, match=rf"another sweep \(pid {os.getpid()}\)"):
            with files.lock(tmp_path / "run", "train"):
                pass
    assert not (tmp_path / "run").exists()  # made for the lock, left empty: removed


@pytest.mark.parametrize(
    "change",
    [
        dict(devices=64),  # batches of 4 do not split over 64 devices
        dict(lr=float("nan")),
        dict(lr=1e38),  # the loss overflows in epoch 1
        dict(resume=True, n_a=16),
        dict(resume=True, epochs=3),  # fewer epochs than the checkpoint's 6
        dict(data=dict(Tx=1000)),
    ],
    ids=str,
)
def test_a_failing_train_leaves_a_good_run_as_it_was(run_dir, tiny, tmp_path, change):
    good = shutil.copytree(run_dir[0], tmp_path / "good")
    before = snapshot(good)
    config = tiny.copy_and_resolve_references()
    config.data.update(change.pop("data", {}))
    config.update(change)
    with pytest.raises(JazzFlaxError):
        train.train(config, workdir=good)
    assert snapshot(good) == before


def test_a_failing_train_leaves_no_new_directory(tiny, tmp_path):
    config = tiny.copy_and_resolve_references()
    config.devices = 64  # more than there are
    with pytest.raises(JazzFlaxError, match="devices=64"):
        train.train(config, workdir=tmp_path / "new")
    assert not (tmp_path / "new").exists()


# ---------------------------------------------------------------------------------------------
# 3. No silent garbage


@pytest.mark.parametrize("where", [0, 1, 100, -40, -1])
def test_a_flipped_byte_anywhere_in_the_checkpoint_is_refused(run_dir, tmp_path, where):
    path = shutil.copytree(run_dir[0], tmp_path / "run") / checkpoints.CHECKPOINT
    raw = bytearray(path.read_bytes())
    raw[where] ^= 0x20
    path.write_bytes(bytes(raw))
    with pytest.raises(JazzFlaxError, match="cannot read the checkpoint"):
        checkpoints.load_checkpoint(path)


def spoil_head(run: Path, value: float) -> None:
    """Sets the checkpoint's output weights to `value`, its checksum renewed."""
    checkpoint = checkpoints.load_checkpoint(run)
    kernel = checkpoint.raw["state"]["params"]["head"]["kernel"]
    checkpoint.raw["state"]["params"]["head"]["kernel"] = np.full_like(kernel, value)
    checkpoints.write_checkpoint(run / checkpoints.CHECKPOINT, checkpoint.raw)


def test_nan_weights_are_refused(run_dir, tmp_path):
    run = shutil.copytree(run_dir[0], tmp_path / "run")
    spoil_head(run, np.nan)
    with pytest.raises(JazzFlaxError, match="weights that are not finite"):
        generate.generate(run)


def test_logits_that_overflow_stop_generation(run_dir, tmp_path):
    run = shutil.copytree(run_dir[0], tmp_path / "run")
    spoil_head(run, 3e38)  # finite weights, infinite logits
    with pytest.raises(JazzFlaxError, match="predictions are not finite"):
        generate.generate(run, output=tmp_path / "output")
    assert not (tmp_path / "output").exists()


# ---------------------------------------------------------------------------------------------
# 5. Optional things are not fatal


def test_the_corpus_cache_warning_comes_once(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(errors, "_warned", set())
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    for start in (0.0, 4.0):  # two entries, neither written
        data.load_corpus(tiny.data.path, start=start, end=16.0, cache_dir=blocked / "cache")
    assert capsys.readouterr().err.count("warning: ") == 1


# ---------------------------------------------------------------------------------------------
# 6. Two voices in a melody part


def two_voice_solo(path: Path) -> Path:
    """Two measures of two voices (E5 quarters over C4, D4 halves), one of one voice (G4)."""
    melody, piano = stream.Part(), stream.Part()
    melody.partName, piano.partName = "Guitar", "Piano"
    for number in (1, 2):
        measure, upper, lower = stream.Measure(number=number), stream.Voice(), stream.Voice()
        upper.append([note.Note("E5", quarterLength=1) for _ in range(4)])
        lower.append([note.Note("C4", quarterLength=2), note.Note("D4", quarterLength=2)])
        measure.insert(0, upper)
        measure.insert(0, lower)
        melody.append(measure)
    measure = stream.Measure(number=3)
    measure.append([note.Note("G4", quarterLength=1) for _ in range(4)])
    melody.append(measure)
    piano.append([chord.Chord(["C3", "E3", "G3"], quarterLength=4) for _ in range(3)])
    stream.Score([melody, piano]).write("musicxml", fp=str(path))
    return path


def test_two_voices_give_the_upper_one_and_say_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(errors, "_warned", set())
    path = two_voice_solo(tmp_path / "voices.musicxml")
    corpus = data.load_corpus(path, start=None, end=None, cache_dir=tmp_path / "cache")
    pitches = [[e.pitch for e in measure] for measure in corpus.melody]
    assert pitches == [[76] * 4, [76] * 4, [67] * 4]  # E5s, then G4s: no C4 or D4 between
    assert [sum(e.duration for e in measure) for measure in corpus.melody] == [4.0] * 3
    assert "several voices in 2 measures" in capsys.readouterr().err


def test_midi_overlaps_are_read_as_they_sound_as_the_notebook_did(metheny):
    """music21 turns the Metheny MIDI's overlapping notes into voices; MIDI has none of its own,
    so they are not split: the notebook's corpus, 85 values and 236 tokens (this music21)."""
    assert (len(metheny.vocab), len(metheny.tokens)) == (85, 236)


# ---------------------------------------------------------------------------------------------
# 7. Half-written files


def test_a_dead_writers_temporary_file_is_removed_by_the_next_writer(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".{checkpoints.CHECKPOINT}.{dead.pid}.x1.tmp"
    alive = tmp_path / f".{checkpoints.CHECKPOINT}.{os.getpid()}.x2.tmp"  # a write in progress
    other = tmp_path / f".config.json.{dead.pid}.x3.tmp"  # another file's: its next write's
    for path in (stale, alive, other):
        path.write_bytes(b"half")
    files.atomic_write(tmp_path / checkpoints.CHECKPOINT, b"whole")
    assert not stale.exists() and alive.exists() and other.exists()


# ---------------------------------------------------------------------------------------------
# 8. Saving does not grow with the run


def rows(epochs: int) -> list[dict]:
    return [dict(epoch=e, loss=1.0, lr=0.01, seconds=0.001) for e in range(1, epochs + 1)]


def test_the_checkpoint_does_not_grow_with_the_epochs_and_metrics_are_appended(run_dir, tmp_path):
    _, state, _ = run_dir
    checkpoint = checkpoints.load_checkpoint(run_dir[0])
    vocab, config = checkpoint.vocab, checkpoint.config
    sizes = []
    for epochs in (10, 10_000):
        workdir = tmp_path / str(epochs)
        checkpoints.save(workdir, state, rows(epochs - 10), vocab, config)
        before = (workdir / checkpoints.METRICS).read_text()
        checkpoints.save(workdir, state, rows(epochs), vocab, config, saved=epochs - 10)
        after = (workdir / checkpoints.METRICS).read_text()
        assert after.startswith(before) and len(after.splitlines()) == epochs
        sizes.append((workdir / checkpoints.CHECKPOINT).stat().st_size)
    assert abs(sizes[0] - sizes[1]) <= 8  # the epoch number's own bytes


def test_an_interrupted_append_leaves_the_metrics_as_they_were(tmp_path, monkeypatch):
    path = tmp_path / checkpoints.METRICS
    checkpoints.append_metrics(path, rows(10), new=True)
    before = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)  # after the rows are written
    with pytest.raises(KeyboardInterrupt):
        checkpoints.append_metrics(path, rows(20)[10:])
    assert path.read_bytes() == before


def test_resume_cuts_metrics_back_to_the_checkpoint(run_dir, tiny, tmp_path):
    workdir = shutil.copytree(run_dir[0], tmp_path / "run")
    with open(workdir / checkpoints.METRICS, "a") as f:  # killed while appending epoch 7
        f.write('{"epoch": 7, "loss": 6.5, "lr')
    config = tiny.copy_and_resolve_references()
    config.update(resume=True, epochs=12)
    _, history = train.train(config, workdir=workdir)
    lines = (workdir / checkpoints.METRICS).read_text().splitlines()
    assert [json.loads(line) for line in lines] == history
    assert [row["epoch"] for row in history] == list(range(1, 13))
    assert_whole(workdir)


def test_jax_is_not_started_by_the_imports_of_run_many():
    """tests.run_many forks after importing; a started JAX would make the children deadlock."""
    code = "import tests.run_many, jax._src.xla_bridge as x; print(bool(x._backends))"
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, cwd=ROOT, env=environment(), capture_output=True)
    assert result.stdout.strip() == b"False", result.stderr


# ---------------------------------------------------------------------------------------------
# 9. Surprises


def test_a_run_with_a_relative_data_path_generates_from_another_directory(
    run_dir, tiny, tmp_path, monkeypatch
):
    run = shutil.copytree(run_dir[0], tmp_path / "run")
    checkpoint = checkpoints.load_checkpoint(run)
    solo = Path(tiny.data.path)
    checkpoint.config.data.path = solo.name  # as trained from the solo's folder
    raw = dict(checkpoint.raw, config=checkpoint.config.to_json(), cwd=str(solo.parent))
    checkpoints.write_checkpoint(run / checkpoints.CHECKPOINT, raw)
    monkeypatch.chdir(tmp_path)
    assert generate.generate(run).paths["midi"].is_file()


def test_no_chord_keeps_the_chord_before_as_in_the_data():
    assert parse_chords("Dm7 N.C. G7") == [*parse_chords("Dm7 Dm7 G7")]
    assert parse_chords("N.C. G7") == parse_chords("G7 G7")  # the first chord

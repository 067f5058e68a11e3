"""The failure matrix: each way a run can go wrong, how it is provoked, and what the user is told.

Every row of CASES is held to one contract:

- in process: a JazzFlaxError, its message matching the row's `message` and its hint `hint`;
- on the command line (`python -m jazz_flax.main`, a representative subset: a subprocess costs
  seconds): exit status 2 and stderr exactly one line, `error: MESSAGE (HINT)`, no traceback; with
  `--debug`, the traceback (exit status 1);
- either way: the run and output folders hold whole files only (no temporary file; every JSON
  file and checkpoint reads back), and a checkpoint only where the row `keeps` one, of that epoch.

Real SIGINT, SIGTERM and kill -9 during training, and resuming after them, are in
test_interrupt.py; here a Ctrl-C lands in the middle of writing a checkpoint.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import jax
import pytest
from music21 import stream

from jazz_flax import checkpoints, generate, models, sample, train
from jazz_flax.errors import JazzFlaxError
from jazz_flax.sample import Strategy
from tests.commands import ROOT, environment, main_command, tiny_flags
from tests.music import CHANGES, write_solo

BASELINE = str(ROOT / "experiments" / "baseline.py")


class Scene:
    """Where a case runs: the tiny config, a trained run (read only) and folders of its own.

    Training cases write into `workdir`, generating cases into `output`; both start absent. Input
    files go to `files`, which the contract does not look at.
    """

    def __init__(self, tiny, run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        self.tiny, self.run, self.monkeypatch = tiny, run, monkeypatch
        self.workdir, self.output, self.files = tmp_path / "run", tmp_path / "output", tmp_path
        self.checkpoint = self.workdir / checkpoints.CHECKPOINT

    # Input files

    def file(self, name: str, contents: str | None = None) -> str:
        """The path of an input file, written with `contents` when given."""
        path = self.files / name
        if contents is not None:
            path.write_text(contents)
        return str(path)

    def empty_midi(self) -> str:
        path = self.files / "empty.mid"
        stream.Score().write("midi", fp=str(path))
        return str(path)

    def solo(self, name: str, **music) -> str:
        """A solo written by `tests.music.write_solo(**music)`."""
        return str(write_solo(self.files / name, **music))

    def run_copy(self, name: str) -> Path:
        """A copy of the trained run, to spoil."""
        return shutil.copytree(self.run, self.files / name)

    # Provoking, in process

    def train(self, data: dict | None = None, workdir: str | None = None, **settings) -> None:
        """Trains the tiny config, its `data` and other `settings` changed, into `workdir`."""
        config = self.tiny.copy_and_resolve_references()
        config.data.update(data or {})
        config.update(settings)
        train.train(config, workdir=workdir or self.workdir)

    def train_saving_every_epoch(self, **settings) -> None:
        self.train(epochs_per_call=1, **settings)

    def generate(self, run: Path | None = None, **options) -> None:
        generate.generate(run or self.run, output=self.output, **options)

    def sample(self, **options) -> None:
        """Samples from the trained run's model directly (`generate` chooses the length)."""
        checkpoint = checkpoints.load_checkpoint(self.run)
        model = models.make_model(checkpoint.config, len(checkpoint.vocab))
        sample.sample(model, checkpoint.params, jax.random.key(0), **options)

    def fail_writing(self, name: str, error: BaseException, after: int = 0) -> None:
        """Makes writing the file `name` raise `error` once `after` writes of it have succeeded,
        between writing its temporary file and renaming it."""
        replace, done = os.replace, []

        def failing(source, target):
            if Path(target).name == name:
                if len(done) == after:
                    raise error
                done.append(target)
            replace(source, target)

        self.monkeypatch.setattr(os, "replace", failing)

    # Provoking, on the command line: the arguments of `python -m jazz_flax.main`

    def train_command(self, *flags: str) -> list[str]:
        return ["train", *tiny_flags(self.tiny), f"--workdir={self.workdir}", *flags]

    def generate_command(self, *flags: str, run: Path | None = None) -> list[str]:
        return ["generate", "--config", BASELINE, f"--workdir={run or self.run}", *flags]


def checkpoint_of_another_vocabulary(s: Scene) -> Path:
    """A copy of the trained run whose config points at a solo with other tokens."""
    run = s.run_copy("other")
    checkpoint = checkpoints.load_checkpoint(run)
    checkpoint.config.data.path = s.solo("other.musicxml", solo=[[("C4", 4.0)]] * 4)
    checkpoints.write_checkpoint(
        run / checkpoints.CHECKPOINT, dict(checkpoint.raw, config=checkpoint.config.to_json())
    )
    return run


def truncated_checkpoint(s: Scene) -> Path:
    run = s.run_copy("truncated")
    path = run / checkpoints.CHECKPOINT
    path.write_bytes(path.read_bytes()[:1000])
    return run


def diverging_training(s: Scene) -> None:
    # One batch per epoch: epoch 1's loss is the initial weights'; its update, Adam's step of
    # about lr, sends the head's weights to ±1e38, and epoch 2's logits overflow float32.
    s.train_saving_every_epoch(lr=1e38, batch_size=s.tiny.data.m, epochs=3)


def ctrl_c_while_saving(s: Scene) -> None:
    s.fail_writing(checkpoints.CHECKPOINT, KeyboardInterrupt(), after=1)
    s.train_saving_every_epoch(epochs=3)


def disk_full_while_saving(s: Scene) -> None:
    s.fail_writing(
        checkpoints.CHECKPOINT, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), after=1
    )
    s.train_saving_every_epoch(epochs=3)


@dataclasses.dataclass(frozen=True)
class Case:
    """One row of the matrix: a failure, how it is provoked, and what the user must be told."""

    name: str
    message: str  # a regular expression the message must match
    hint: str | None = None  # a regular expression the hint must match; None: no hint needed
    call: Callable[[Scene], object] | None = None  # provokes it in process
    command: Callable[[Scene], list[str]] | None = None  # provokes it on the command line
    keeps: int | None = None  # the epoch the run's checkpoint holds afterwards; None: no checkpoint
    xfail: str | None = None  # why it does not hold yet, and what would fix it


CASES = [
    # The music file
    Case(
        "missing file",
        "no such file: .*absent.mid",
        hint="make data",
        call=lambda s: s.train(data=dict(path=s.file("absent.mid"))),
        command=lambda s: s.train_command(f"--config.data.path={s.file('absent.mid')}"),
    ),
    Case(
        "not a music file",
        "notes.txt is not a music file",
        hint="expected one of .*mid",
        call=lambda s: s.train(data=dict(path=s.file("notes.txt", "hello"))),
    ),
    Case(
        "text named .mid",
        "fake.mid could not be read as MIDI or MusicXML",
        call=lambda s: s.train(data=dict(path=s.file("fake.mid", "not midi"))),
    ),
    Case(
        "empty MIDI",
        "empty.mid holds no notes",
        call=lambda s: s.train(data=dict(path=s.empty_midi())),
    ),
    Case(
        "section with no notes",
        "no notes in part 'Guitar' between offsets 100 and 120",
        call=lambda s: s.train(data=dict(start=100.0, end=120.0)),
    ),
    Case(
        "part that does not exist",
        "no part named 'Sax'; its parts: Guitar, Piano",
        call=lambda s: s.train(data=dict(melody_part="Sax")),
    ),
    Case(
        "measure without chords",
        "measure at offset 4 .* has no chord in part 'Piano'",
        hint="chord part",
        call=lambda s: s.train(data=dict(path=s.solo("gap.musicxml", changes=CHANGES[:1]))),
    ),
    # The config
    Case(
        "missing experiment file",
        "no such file: experiments/nothing.py",
        hint="the experiments: baseline, .*; or a config file",
        command=lambda s: ["train", "--config", "experiments/nothing.py"],
    ),
    Case(
        "unknown config key",
        "unknown config setting 'no_such_key'",
        hint="see the settings in the --config file",
        command=lambda s: s.train_command("--config.no_such_key=1"),
    ),
    Case(
        "wrong type in an override",
        "--config.epochs=abc: invalid literal",
        hint="see the settings in the --config file",
        command=lambda s: s.train_command("--config.epochs=abc"),
    ),
    Case("setting out of range", "epochs must be ≥ 1, got 0", call=lambda s: s.train(epochs=0)),
    # Checkpoints
    Case(
        "missing checkpoint",
        "no checkpoint at .*run/checkpoint.msgpack",
        hint="train first: .* train --config .* --workdir .*run",
        call=lambda s: s.generate(run=s.workdir),
        command=lambda s: s.generate_command(run=s.workdir),
    ),
    Case(
        "resume without a checkpoint",
        "no checkpoint at",
        hint="train first",
        call=lambda s: s.train(resume=True),
    ),
    Case(
        "checkpoint from another vocabulary",
        r"the checkpoint's vocabulary \(\d+ values\) is not that of .*other.musicxml",
        hint="retrain on this data",
        call=lambda s: s.generate(run=checkpoint_of_another_vocabulary(s)),
    ),
    Case(
        "truncated checkpoint",
        "cannot read the checkpoint .*checkpoint.msgpack",
        call=lambda s: s.generate(run=truncated_checkpoint(s)),
    ),
    # Training
    Case(
        "loss not finite",
        "the loss is not finite at epoch 2; .*checkpoint.msgpack keeps epoch 1",
        hint="lower --config.lr",
        call=diverging_training,
        keeps=1,
    ),
    Case(
        "loss not finite from the start",
        "the loss is not finite at epoch 1; nothing was saved",
        call=lambda s: s.train(lr=1e38),  # three batches: the second's logits overflow
    ),
    Case(
        "learning rate NaN",
        "lr must be a finite number > 0, got nan",
        call=lambda s: s.train(lr=float("nan")),
    ),
    Case(
        "ctrl-c while writing the checkpoint",
        "interrupted after epoch 2; .*checkpoint.msgpack keeps epoch 1",
        hint="the same train command continues it",
        call=ctrl_c_while_saving,
        keeps=1,
    ),
    Case(
        "work directory is a file",
        ".*blocked is a file, not a folder",
        hint="choose another --workdir",
        call=lambda s: s.train(workdir=s.file("blocked", "a file")),
    ),
    Case(
        "disk full",
        "cannot write .*checkpoint.msgpack: No space left on device",
        hint="free space",
        call=disk_full_while_saving,
        keeps=1,
    ),
    # Generating
    Case(
        "invalid chord text",
        "bad chord symbol 'H7'",
        call=lambda s: s.generate(chords="Dm7 H7 Cmaj7"),
    ),
    Case(
        "temperature 0",
        r"temperature must be ≥ 0.01 \(for the likeliest token, use greedy\), got 0",
        call=lambda s: s.generate(strategy=Strategy(temperature=0.0)),
        command=lambda s: s.generate_command("--temperature=0"),
    ),
    Case(
        "pitch temperature over tokens that name no pitch",
        "a pitch temperature needs tokens that name their pitch",
        hint="--config.data.grammar=pitch",
        call=lambda s: s.generate(strategy=Strategy(pitch_temperature=0.5)),
        command=lambda s: s.generate_command("--pitch_temperature=0.5"),
    ),
    Case(
        "top-p 0",
        r"top_p must be in \(0, 1\], got 0",
        call=lambda s: s.generate(strategy=Strategy(top_p=0.0)),
    ),
    Case(
        "top-p above 1",
        r"top_p must be in \(0, 1\], got 1.5",
        call=lambda s: s.generate(strategy=Strategy(top_p=1.5)),
    ),
    Case(
        "top-k 0",
        "top_k must be ≥ 1, got 0",
        call=lambda s: s.generate(strategy=Strategy(top_k=0)),
    ),
    Case(
        "Ty 0",
        "the number of tokens to sample must be > 0, got 0",
        call=lambda s: s.sample(length=0),
    ),
    Case(
        "unknown mode",
        "unknown mode 'jazzier'",
        hint="measures, notebook",
        call=lambda s: s.generate(mode="jazzier"),
    ),
    Case(
        "primer token outside the vocabulary",
        "'Q,9.000' is not a token the model can play",
        hint="tokens of the training corpus",
        call=lambda s: s.generate(primer="C,1.000 Q,9.000"),
    ),
]
SHOWN_WITH_DEBUG = ("missing file", "wrong type in an override")  # a JazzFlaxError, a flag error


def rows(cases: list[Case]) -> list:
    """The cases as test parameters named after them; one that does not hold yet, a strict xfail."""
    return [pytest.param(case, id=case.name, marks=_marks(case)) for case in cases]


def _marks(case: Case) -> list:
    return [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []


@pytest.fixture
def scene(tiny, run_dir, tmp_path, monkeypatch):
    return Scene(tiny, run_dir[0], tmp_path, monkeypatch)


def assert_whole_files(scene: Scene, case: Case) -> None:
    """The run and output folders hold whole files, and the checkpoint the case keeps."""
    for folder in (scene.workdir, scene.output):
        for path in folder.rglob("*") if folder.is_dir() else []:
            assert not path.name.endswith(".tmp"), f"{path} left behind"
            if path.suffix == ".json":
                json.loads(path.read_text())
            if path.suffix == ".jsonl":
                for line in path.read_text().splitlines():
                    json.loads(line)
    kept = checkpoints.load_checkpoint(scene.workdir).epoch if scene.checkpoint.exists() else None
    assert kept == case.keeps


@pytest.mark.parametrize("case", rows([c for c in CASES if c.call]))
def test_in_process(case, scene):
    with pytest.raises(JazzFlaxError) as info:
        case.call(scene)
    assert re.search(case.message, info.value.args[0])
    if case.hint:
        assert info.value.hint and re.search(case.hint, info.value.hint)
    assert_whole_files(scene, case)


def run_main(arguments: list[str]) -> subprocess.CompletedProcess:
    command = main_command(*arguments)
    return subprocess.run(command, cwd=ROOT, env=environment(), capture_output=True, text=True)


@pytest.mark.parametrize("case", rows([c for c in CASES if c.command]))
def test_command_line(case, scene):
    result = run_main(case.command(scene))
    assert result.returncode == 2, result.stderr
    # `.` matches no newline: the message and the hint, in parentheses, on one line.
    line = rf"error: .*{case.message}.*" + (rf" \(.*{case.hint}.*\)" if case.hint else "")
    assert re.fullmatch(line + "\n", result.stderr), result.stderr
    assert_whole_files(scene, case)


@pytest.mark.parametrize("case", rows([c for c in CASES if c.name in SHOWN_WITH_DEBUG]))
def test_debug_shows_the_traceback(case, scene):
    result = run_main([*case.command(scene), "--debug"])
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):"), result.stderr
    assert re.search(case.message, result.stderr.splitlines()[-1])


def metrics(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def test_same_seed_same_metrics_and_midi(tiny, run_dir, tmp_path):
    first = run_dir[0]
    second = tmp_path / "again"
    train.train(tiny, workdir=second)
    # `seconds` is wall-clock time and differs; epoch, loss and lr must match bit for bit.
    assert [{**row, "seconds": None} for row in metrics(first)] == [
        {**row, "seconds": None} for row in metrics(second)
    ]
    midi = [
        generate.generate(run, seed=3, output=tmp_path / name).paths["midi"].read_bytes()
        for run, name in ((first, "first"), (second, "second"))
    ]
    assert midi[0] == midi[1]

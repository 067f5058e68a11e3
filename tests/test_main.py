"""The command line: each command's own flags and help (answered before JAX loads), experiments by
name, a run directory's life cycle under `train`, generate and evaluate reading the run's config,
numbered outputs, progress lines."""

from __future__ import annotations

import configparser
import importlib
import io
import json
import shutil
import subprocess
import sys

import pytest

from jazz_flax import checkpoints, progress
from jazz_flax.cli import options, parsing, rundir
from jazz_flax.errors import JazzFlaxError
from tests.commands import ROOT, environment, tiny_flags

HEAVY = ("jax", "flax", "music21", "matplotlib")
HELPS = [["--help"], *([command, "--help"] for command in options.COMMANDS)]


def test_help_exits_0_without_importing_jax():
    """Each --help in a fresh interpreter: exit 0, and none of the heavy packages imported."""
    script = (
        "import sys, json; from jazz_flax.main import main; codes = []\n"
        f"for words in {HELPS!r}:\n"
        "    try: main(['jazz-flax', *words]); codes.append(0)\n"
        "    except SystemExit as e: codes.append(e.code)\n"
        f"print(json.dumps([codes, [m for m in {HEAVY!r} if m in sys.modules]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment(), cwd=ROOT
    )
    codes, imported = json.loads(result.stdout.splitlines()[-1])
    assert codes == [0] * len(HELPS) and imported == []
    assert "commands:" in result.stdout and "usage: jazz-flax generate" in result.stdout


def test_each_command_lists_its_own_flags_only():
    assert "--seed" not in parsing.command_help("train")
    assert "--fresh" in parsing.command_help("train")
    assert {"--seed", "--output_dir", "--workdir"} <= set(parsing.command_help("generate").split())
    assert "--sweep" not in parsing.command_help("evaluate")


@pytest.mark.parametrize(
    "command, words, owners",
    [
        ("train", ["--config", "baseline", "--seed", "3"], "generate and evaluate"),
        ("train", ["--config", "baseline", "--temperature=0.5"], "generate and evaluate"),
        ("generate", ["--fresh"], "train"),
        ("evaluate", ["--nobass"], "generate"),
        ("sweep", ["--sweep", "hidden_size", "--solos=2"], "evaluate"),
    ],
)
def test_a_flag_of_another_command_names_its_command(command, words, owners):
    with pytest.raises(JazzFlaxError, match=rf"is a flag of {owners}, not of {command} "):
        parsing.parse(command, words)


def test_a_misspelt_flag_is_suggested():
    with pytest.raises(JazzFlaxError, match="did you mean --temperature"):
        parsing.parse("generate", ["--temprature=2"])


def test_config_by_name_or_by_path_with_overrides():
    by_name = parsing.parse("train", ["--config", "baseline", "--config.n_a=7"])
    by_path = parsing.parse("train", ["--config=experiments/baseline.py", "--config.n_a=7"])
    assert by_name.config.n_a == by_path.config.n_a == 7
    assert by_name.config == by_path.config
    assert options.experiment_file("hidden_size", "sweeps").endswith("sweeps/hidden_size.py")


def test_an_unknown_experiment_lists_the_known_ones():
    with pytest.raises(
        JazzFlaxError, match=r"unknown experiment 'basline' \(did you mean baseline"
    ):
        options.experiment_file("basline")
    with pytest.raises(JazzFlaxError, match="no such file: .*wjazzd_pitch"):
        options.experiment_file("experiments/nothing.py")


def test_the_console_command_is_the_main_entry_point():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    name, target = setup["options.entry_points"]["console_scripts"].strip().split(" = ")
    module, function = target.split(":")
    assert name == "jazz-flax" and callable(getattr(importlib.import_module(module), function))


# ---------------------------------------------------------------------------------------------
# A run directory's life cycle


@pytest.mark.parametrize(
    "epochs, fresh, expected", [(6, False, "finished"), (9, False, "resume"), (6, True, "new")]
)
def test_a_run_directory_resumes_or_is_finished_or_starts_over(
    run_dir, tiny, epochs, fresh, expected
):
    config = tiny.copy_and_resolve_references()
    config.epochs = epochs
    assert rundir.plan(run_dir[0], config, fresh)[0] == expected


def test_another_run_is_refused_naming_its_settings(run_dir, tiny, tmp_path):
    config = tiny.copy_and_resolve_references()
    config.update(n_a=16, lr=0.5)
    with pytest.raises(
        JazzFlaxError, match=r"holds another run: lr 0.01 → 0.5, n_a 8 → 16 .*--fresh"
    ):
        rundir.plan(run_dir[0], config, fresh=False)
    assert rundir.plan(tmp_path / "empty", config, fresh=False) == (rundir.NEW, 0)


@pytest.fixture(scope="module")
def commands(tiny, run_dir, tmp_path_factory):
    """Command lines run on copies of the tiny run (`tests.run_many`): name → (folder, outcome)."""
    folder = tmp_path_factory.mktemp("main")
    copies = {name: shutil.copytree(run_dir[0], folder / name) for name in LINES}
    for copy in copies.values():  # results of the trained model
        (copy / checkpoints.EVAL).write_text("{}")
        (copy / checkpoints.OUTPUT).mkdir()
        (copy / checkpoints.OUTPUT / "my_music.mid").write_bytes(b"old")
    lines = [LINES[name](tiny, copies[name]) for name in LINES]
    result = subprocess.run(
        [sys.executable, "-m", "tests.run_many"],
        input=json.dumps([line for group in lines for line in group]),
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    outcomes = iter(json.loads(result.stdout))
    return {
        name: (copies[name], [next(outcomes) for _ in group])
        for name, group in zip(LINES, lines, strict=True)
    }


def train_line(tiny, workdir, *flags):
    return ["jazz_flax", "train", *tiny_flags(tiny), f"--workdir={workdir}", *flags]


def generate_line(workdir, *flags):
    return ["jazz_flax.main", "generate", f"--workdir={workdir}", "--chords=Dm7 G7", *flags]


LINES = {  # name → the command lines run on a copy of the tiny run of that name
    "resumed": lambda tiny, run: [train_line(tiny, run, "--config.epochs=12")],
    "fresh": lambda tiny, run: [train_line(tiny, run, "--fresh", "--config.n_a=4")],
    "generated twice": lambda tiny, run: [generate_line(run), generate_line(run, "--seed=1")],
    "evaluated": lambda tiny, run: [["jazz_flax", "evaluate", f"--workdir={run}", "--solos=1"]],
}


def test_train_resumes_a_run_and_sets_its_old_results_aside(commands):
    run, [outcome] = commands["resumed"]
    assert outcome["status"] == 0, outcome["stderr"]
    assert f"\nresuming baseline from epoch 6 into {run}/\n" in outcome["stdout"]
    assert checkpoints.load_checkpoint(run).epoch == 12
    assert not (run / checkpoints.EVAL).exists() and not (run / checkpoints.OUTPUT).exists()
    stale = run / checkpoints.STALE_FOLDER
    assert (stale / checkpoints.EVAL).read_text() == "{}"
    assert (stale / checkpoints.OUTPUT / "my_music.mid").read_bytes() == b"old"


def test_train_prints_each_stage_then_the_epochs(commands):
    lines = commands["resumed"][1][0]["stdout"].splitlines()
    stages = ["train: loading JAX", "resuming", "loading the corpus", "training ", "compiling"]
    stages += ["epoch   12/12 [####"]
    assert all(
        line.startswith(stage) for line, stage in zip(lines[: len(stages)], stages, strict=True)
    )


def test_fresh_starts_another_run_over(commands):
    run, [outcome] = commands["fresh"]
    assert outcome["status"] == 0, outcome["stderr"]
    checkpoint = checkpoints.load_checkpoint(run)
    assert checkpoint.config.n_a == 4 and checkpoint.epoch == 6
    assert not (run / checkpoints.EVAL).exists()


def test_generate_reads_the_run_and_numbers_its_files(commands):
    run, outcomes = commands["generated twice"]
    assert [o["status"] for o in outcomes] == [0, 0], outcomes[-1]["stderr"]
    names = sorted(p.name for p in (run / checkpoints.OUTPUT).iterdir())
    assert names == [
        f"my_music-{n}.{suffix}" for n in (2, 3) for suffix in ("mid", "png", "wav")
    ] + ["my_music.mid"]
    assert (run / checkpoints.OUTPUT / "my_music.mid").read_bytes() == b"old"
    assert "as trained" not in outcomes[0]["stdout"]  # no --config given: nothing to compare


def test_evaluate_reads_the_run_from_its_workdir_alone(commands):
    run, [outcome] = commands["evaluated"]
    assert outcome["status"] == 0, outcome["stderr"]
    assert json.loads((run / checkpoints.EVAL).read_text())["eval"]["solos"] == 1


# ---------------------------------------------------------------------------------------------
# Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_redraws_the_epoch_line_and_a_log_adds_lines():
    lines = [progress.Redrawn("epoch 1"), progress.Redrawn("epoch 2"), "validation", "done"]
    for stream, expected in [
        (Terminal(), "\repoch 1\x1b[K\repoch 2\x1b[K\nvalidation\ndone\n"),
        (io.StringIO(), "epoch 1\nepoch 2\nvalidation\ndone\n"),
    ]:
        console = progress.Console(stream)
        for line in lines:
            console(line)
        console.end()
        assert stream.getvalue() == expected


def test_bar_and_time_left():
    assert progress.bar(5, 20, width=4) == "[#---]"
    assert [progress.duration(s) for s in (42, 187, 3723)] == ["42 s", "3:07", "1:02:03"]

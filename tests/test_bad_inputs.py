"""Every command against a table of bad inputs, on the real command line: each must end with exit
status 2 and at most 3 lines on stderr (`error: MESSAGE (HINT)`), never a traceback.

The command lines run in one process (`tests.run_many`: a forked child per command line, as
`python -m` runs it), so the table costs one start of JAX and music21, not one per row.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from jazz_flax import checkpoints
from tests.commands import ROOT, environment, tiny_flags

BASELINE = str(ROOT / "experiments" / "baseline.py")
HIDDEN_SIZE = str(ROOT / "experiments" / "sweeps" / "hidden_size.py")
MAIN, DATA, DOWNLOAD = "jazz_flax.main", "jazz_flax.data", "jazz_flax.data.download"
PACKAGE, ROUNDTRIP = "jazz_flax", "jazz_flax.music.roundtrip"
COMPARE = "experiments.tools.compare_corpora"


def spoiled_checkpoints(run, folder):
    """Copies of the trained run: one byte of the checkpoint flipped, NaN weights (checksum
    rewritten, so only the values are wrong), the checkpoint a folder."""
    flipped = shutil.copytree(run, folder / "flipped")
    raw = bytearray((flipped / checkpoints.CHECKPOINT).read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (flipped / checkpoints.CHECKPOINT).write_bytes(bytes(raw))
    nan = shutil.copytree(run, folder / "nan")
    checkpoint = checkpoints.load_checkpoint(nan)
    state = checkpoint.raw["state"]
    kernel = state["params"]["head"]["kernel"]
    state["params"]["head"]["kernel"] = np.full_like(kernel, np.nan)
    checkpoints.write_checkpoint(nan / checkpoints.CHECKPOINT, checkpoint.raw)
    folder_checkpoint = folder / "folder_checkpoint"
    (folder_checkpoint / checkpoints.CHECKPOINT).mkdir(parents=True)
    return flipped, nan, folder_checkpoint


def config_files(folder):
    files = dict(
        syntax="def get_config(:\n",
        no_get_config="x = 1\n",
        raises="def get_config():\n    raise RuntimeError('boom')\n",
        not_a_config="def get_config():\n    return 3\n",
        imports_missing="import no_such_module\n",
    )
    for name, text in files.items():
        (folder / f"{name}.py").write_text(text)
    return {name: str(folder / f"{name}.py") for name in files}


def table(tiny, run, folder) -> dict[str, list[str]]:
    """Name → command line [module, args...]."""
    flipped, nan, folder_checkpoint = spoiled_checkpoints(run, folder)
    configs = config_files(folder)
    (folder / "file").write_text("a file, not a folder")
    (folder / "folder.mid").mkdir()
    tiny_train = [MAIN, "train", *tiny_flags(tiny), f"--workdir={folder / 'train'}"]
    gen = [MAIN, "generate", "--config", BASELINE, f"--workdir={run}"]
    evaluate = [MAIN, "evaluate", "--config", BASELINE, f"--workdir={run}"]
    sweep = [MAIN, "sweep", "--sweep", HIDDEN_SIZE, f"--workdir={folder / 'sweep'}"]
    rows = {
        # the command itself
        "no command": [MAIN],
        "misspelt command": [MAIN, "trian", "--config", BASELINE],
        "two commands": [MAIN, "train", "generate", "--config", BASELINE],
        "unknown flag": [*gen, "--length=8"],
        "flag without value": [*gen, "--seed"],
        "train without --config": [MAIN, "train"],
        "sweep without --sweep": [MAIN, "sweep"],
        "data without command": [DATA],
        "data misspelt command": [DATA, "sumary"],
        "data bad start": [DATA, "summary", "--start", "abc"],
        "download unknown flag": [DOWNLOAD, "--nope"],
        "flags before the command": [MAIN, "--config", BASELINE, "train"],
        "train a flag of generate": [*tiny_train, "--seed", "3"],
        "train --temperature": [*tiny_train, "--temperature=0.5"],
        "generate a flag of train": [*gen, "--fresh"],
        "sweep a flag of generate": [*sweep, "--bpm=100"],
        "generate without a run": [MAIN, "generate"],
        "evaluate without a run": [MAIN, "evaluate", "--solos=2"],
        "train another run in a run dir": [*tiny_train[:-1], "--config.n_a=99", f"--workdir={run}"],
        "train damaged checkpoint": [*tiny_train[:-1], f"--workdir={flipped}"],
        "jazz_flax unknown command": [PACKAGE, "trainn"],
        "roundtrip unknown flag": [ROUNDTRIP, "--nope"],
        "roundtrip unknown experiment": [ROUNDTRIP, "--config", "nothing"],
        "compare_corpora unknown flag": [COMPARE, "--nope"],
        # config files
        "config missing": [MAIN, "train", "--config", "experiments/nothing.py"],
        "config missing with an override": [MAIN, "train", "--config=nothing.py", "--config.n_a=3"],
        "config unknown name": [MAIN, "train", "--config", "basline"],
        "sweep unknown name": [MAIN, "sweep", "--sweep", "hidden"],
        "data summary unknown experiment": [DATA, "summary", "--config", "nothing"],
        "config not python": [MAIN, "train", "--config", configs["syntax"]],
        "config without get_config": [MAIN, "train", "--config", configs["no_get_config"]],
        "config get_config raises": [MAIN, "train", "--config", configs["raises"]],
        "config not a ConfigDict": [MAIN, "train", "--config", configs["not_a_config"]],
        "config imports missing": [MAIN, "train", "--config", configs["imports_missing"]],
        "config a folder": [MAIN, "train", "--config", str(folder)],
        "sweep missing": [MAIN, "sweep", "--sweep", "experiments/sweeps/nothing.py"],
        "sweep not python": [MAIN, "sweep", "--sweep", configs["syntax"]],
        "sweep --set without =": [*sweep, "--set", "epochs"],
        "sweep --set unknown key": [*sweep, "--set", "data.nope=1"],
        "sweep --seeds not integers": [*sweep, "--seeds", "0,one"],
        "sweep --seeds -1": [*sweep, "--seeds=-1"],
        "unknown config key": [*tiny_train, "--config.no_such_key=1"],
        "misspelt data key": [*tiny_train, "--config.data.Txx=5"],
        "wrong type": [*tiny_train, "--config.epochs=abc"],
        # seeds
        "train seed -1": [*tiny_train, "--config.seed=-1"],
        "train seed 2**70": [*tiny_train, f"--config.seed={2**70}"],
        "train window_seed -1": [*tiny_train, "--config.data.window_seed=-1"],
        "generate seed -1": [*gen, "--seed=-1"],
        "generate seed 2**70": [*gen, f"--seed={2**70}"],
        "evaluate seed -5": [*evaluate, "--seed=-5"],
        "evaluate seed 2**64": [*evaluate, f"--seed={2**64}"],
        # numeric settings
        "m 0": [*tiny_train, "--config.data.m=0"],
        "m -1": [*tiny_train, "--config.data.m=-1"],
        "Tx 0": [*tiny_train, "--config.data.Tx=0"],
        "Tx -3": [*tiny_train, "--config.data.Tx=-3"],
        "Tx 1 (notebook: no target)": [*tiny_train, "--config.data.Tx=1"],
        "Tx 1000": [*tiny_train, "--config.data.Tx=1000"],
        "stride 0": [*tiny_train, "--config.data.windows=sliding", "--config.data.stride=0"],
        "holdout -1": [*tiny_train, "--config.data.holdout_measures=-1"],
        "holdout everything": [*tiny_train, "--config.data.holdout_measures=4"],
        "epochs 0": [*tiny_train, "--config.epochs=0"],
        "batch_size 0": [*tiny_train, "--config.batch_size=0"],
        "n_a 0": [*tiny_train, "--config.n_a=0"],
        "layers 0": [*tiny_train, "--config.layers=0"],
        "devices -1": [*tiny_train, "--config.devices=-1"],
        "dropout 1": [*tiny_train, "--config.dropout=1"],
        "lr -0.01": [*tiny_train, "--config.lr=-0.01"],
        "lr nan": [*tiny_train, "--config.lr=nan"],
        "lr inf": [*tiny_train, "--config.lr=inf"],
        "b1 1.5": [*tiny_train, "--config.b1=1.5"],
        "b2 -0.1": [*tiny_train, "--config.b2=-0.1"],
        "decay -1": [*tiny_train, "--config.decay=-1"],
        "start after end": [*tiny_train, "--config.data.start=12", "--config.data.end=4"],
        "unknown init": [*tiny_train, "--config.init=xavier"],
        "unknown windows": [*tiny_train, "--config.data.windows=random"],
        "temperature 0": [*gen, "--temperature=0"],
        "temperature -1": [*gen, "--temperature=-1"],
        "temperature nan": [*gen, "--temperature=nan"],
        "temperature 1e-38": [*gen, "--temperature=1e-38"],
        "temperature inf": [*gen, "--temperature=inf"],
        "top_k 0": [*gen, "--top_k=0"],
        "top_p 0": [*gen, "--top_p=0"],
        "top_p nan": [*gen, "--top_p=nan"],
        "solos 0": [*evaluate, "--solos=0"],
        # generate's inputs
        "chords empty": [*gen, "--chords="],
        "chords blank": [*gen, "--chords=  "],
        "chords H7": [*gen, "--chords=Dm7 H7"],
        "chords all N.C.": [*gen, "--chords=N.C. N.C."],
        "notebook mode, too few chords": [*gen, "--mode=notebook", "--chords=Dm7"],
        "unknown mode": [*gen, "--mode=jazzier"],
        "primer outside the vocabulary": [*gen, "--primer=Q,9.000"],
        # files
        "no checkpoint": [MAIN, "generate", "--config", BASELINE, f"--workdir={folder / 'none'}"],
        "checkpoint a folder": [*gen[:-1], f"--workdir={folder_checkpoint}"],
        "checkpoint byte flipped": [*gen[:-1], f"--workdir={flipped}"],
        "checkpoint NaN weights": [*gen[:-1], f"--workdir={nan}"],
        "evaluate NaN weights": [*evaluate[:-1], f"--workdir={nan}"],
        "music file missing": [*tiny_train, f"--config.data.path={folder / 'absent.mid'}"],
        "music file a folder named .mid": [*tiny_train, f"--config.data.path={folder}/folder.mid"],
        "music file not music": [*tiny_train, f"--config.data.path={folder / 'file'}"],
        "workdir a file": [*tiny_train[:-1], f"--workdir={folder / 'file'}"],
        "data summary missing file": [DATA, "summary", "--midi", str(folder / "absent.mid")],
    }
    if os.geteuid() != 0:  # root reads any file
        unreadable = folder / "unreadable.mid"
        shutil.copy(tiny.data.path, unreadable)
        unreadable.chmod(0)
        rows["music file unreadable"] = [*tiny_train, f"--config.data.path={unreadable}"]
    return rows


def good_commands(tiny, run, folder) -> dict[str, list[str]]:
    """Command lines that succeed, and must say something: run in the same process as the table."""
    copy = shutil.copytree(run, folder / "generated")  # generate writes into the run directory
    gen = [MAIN, "generate", "--config", BASELINE, f"--workdir={copy}"]
    return {
        "generate with an override": [*gen, "--config.n_a=99"],
        "train a finished run": [MAIN, "train", *tiny_flags(tiny), f"--workdir={run}"],
        "main --help": [MAIN, "--help"],
    }


GOOD = ("generate with an override", "train a finished run", "main --help")  # `good_commands`


def snapshot(folder) -> dict[str, tuple]:
    """Every file under `folder`: its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def all_outcomes(tiny, run_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_inputs")
    rows = table(tiny, run_dir[0], folder) | good_commands(tiny, run_dir[0], folder)
    before = snapshot(run_dir[0])
    result = subprocess.run(
        [sys.executable, "-m", "tests.run_many"],
        input=json.dumps(list(rows.values())),
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert snapshot(run_dir[0]) == before, "a command changed the run directory"
    return dict(zip(rows, json.loads(result.stdout), strict=True))


@pytest.fixture(scope="module")
def outcomes(all_outcomes):
    """The bad inputs' outcomes."""
    return {name: o for name, o in all_outcomes.items() if name not in GOOD}


def test_the_table_is_large(outcomes):
    assert len(outcomes) >= 80


def test_every_bad_input_is_one_line_and_exit_2(outcomes):
    wrong = {
        name: (o["status"], o["stderr"][-600:])
        for name, o in outcomes.items()
        if o["status"] != 2
        or "Traceback" in o["stderr"]
        or len(o["stderr"].splitlines()) > 3
        or not o["stderr"].startswith("error: ")
    }
    assert not wrong, f"{len(wrong)} of {len(outcomes)}:\n" + "\n".join(
        f"{name}: {status}\n{stderr}" for name, (status, stderr) in wrong.items()
    )


def test_generate_says_the_config_it_was_given_is_not_the_runs(all_outcomes):
    outcome = all_outcomes["generate with an override"]
    assert outcome["status"] == 0, outcome["stderr"]
    note = next(line for line in outcome["stdout"].splitlines() if "as trained" in line)
    assert note.startswith("(generated as trained") and "n_a" in note


def test_a_finished_run_is_said_finished_and_kept(all_outcomes):
    outcome = all_outcomes["train a finished run"]
    assert outcome["status"] == 0 and outcome["stderr"] == ""
    assert outcome["stdout"].count("\n") == 2 and "finished (6 epochs)" in outcome["stdout"]


def test_help_exits_0(all_outcomes):
    outcome = all_outcomes["main --help"]
    assert outcome["status"] == 0 and "commands:" in outcome["stdout"]


@pytest.mark.parametrize(
    "row, words",
    [
        ("train a flag of generate", "--seed is a flag of generate and evaluate, not of train"),
        ("train another run in a run dir", "holds another run: n_a 8 → 99 (--fresh starts over"),
        ("config missing with an override", "no such file: nothing.py (the experiments: "),
    ],
)
def test_the_lines_name_the_cause(outcomes, row, words):
    assert words in outcomes[row]["stderr"]


def test_a_misspelt_key_is_suggested_in_its_own_case(outcomes):
    assert 'did you mean "Tx"' in outcomes["misspelt data key"]["stderr"]

"""Every command against a table of bad inputs, on the real command line: each must end with exit
status 2 and at most 3 lines on stderr (`error: MESSAGE (HINT)`), never a traceback.

The command lines run in one process (`tests.run_many`: a forked child per command line, as
`python -m` runs it), so the table costs one start of JAX and music21, not one per row.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from typing import NamedTuple

import numpy as np
import pytest

from jazz_flax import checkpoints
from tests import test_wjazzd as wj
from tests.commands import ROOT, environment, tiny_flags

BASELINE = str(ROOT / "experiments" / "baseline.py")
WJAZZD = str(ROOT / "experiments" / "wjazzd.py")
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


def eval_files(folder):
    """Runs folders for compare_corpora: an eval.json that is not JSON, one of another layout."""
    damaged, older = folder / "damaged_runs", folder / "older_runs"
    for runs, text in ((damaged, '{"heldout": {"nll": 3.'), (older, '{"generated": {}}')):
        (runs / "baseline_v2").mkdir(parents=True)
        (runs / "baseline_v2" / "eval.json").write_text(text)
    return damaged, older


def wjazzd_folders(folder) -> dict[str, str]:
    """WJazzD folders of small solos: 8 and 2 good ones, and one spoilt solo per SPOILT case of
    test_wjazzd, one with a non-UTF-8 byte, one with its melody rows out of order."""
    folders = {}
    for name, count in (("eight", 8), ("two", 2)):
        for i in range(count):
            wj.write_solo(folder / name, f"Player{i}_Tune_FINAL")
        folders[name] = str(folder / name)
    for case, (which, edit, _) in wj.SPOILT.items():
        spoilt = folder / "spoilt" / case.replace(" ", "_").replace(":", "")
        wj.rewrite(wj.write_solo(spoilt, "Someone_Tune_FINAL")[which], edit)
        folders[case] = str(spoilt)
    melody, _ = wj.write_solo(folder / "not_utf8", "Someone_Tune_FINAL")
    melody.write_bytes(melody.read_bytes().replace(b"67", b"6\xff7", 1))
    notes = [wj.NOTES[2], wj.NOTES[0], *wj.NOTES[3:]]
    wj.write_solo(folder / "out_of_order", "Someone_Tune_FINAL", wj.BEATS, notes)
    return folders | {
        "not UTF-8": str(folder / "not_utf8"),
        "out of order": str(folder / "out_of_order"),
    }


def data_rows(tiny, run, folder) -> dict[str, list[str]]:
    """Issue 26's rows: the WJazzD reader's inputs, ranges checked against the data, running out
    of memory, run folders that cannot be."""
    wjazzd = wjazzd_folders(folder / "wjazzd")
    small = ["--config.data.Tx=5", "--config.data.stride=4", "--config.data.windows_per_epoch=8"]
    small += ["--config.n_a=8", "--config.model.embed=4", "--config.batch_size=4"]
    on = {  # a train command on each WJazzD folder
        name: [MAIN, "train", "--config", WJAZZD, f"--config.data.path={path}", *small]
        + [f"--workdir={folder / 'wjazzd_train'}"]
        for name, path in wjazzd.items()
    }
    reader = ("pitch 200", "pitch -5", "pitch nan", "negative duration", "beat 9 of 4", "tatum 0")
    reader += ("beat_duration 0", "division 0", "missing column", "beats: no chords")
    tiny_train = [MAIN, "train", *tiny_flags(tiny), f"--workdir={folder / 'train'}"]
    gen = [MAIN, "generate", "--config", BASELINE]
    evaluate = [MAIN, "evaluate", "--config", BASELINE]
    dangling = folder / "dangling"
    dangling.symlink_to(folder / "nowhere")
    return {f"wjazzd {name}": on[name] for name in (*reader, "not UTF-8", "out of order")} | {
        "min_count above every count": [*on["eight"], "--config.data.min_count=1000"],
        "split of 2 solos": on["two"],
        "split of 1 piece": [*tiny_train, "--config.data.split_seed=0"],
        "split_by instrument": [*on["eight"], "--config.data.split_by=instrument"],
        "batch_size above the windows": [*tiny_train, "--config.batch_size=50000"],
        "batch_size above windows_per_epoch": [*on["eight"], "--config.batch_size=9"],
        "epochs_per_call 0": [*tiny_train, "--config.epochs_per_call=0"],
        "epochs_per_call -2": [*tiny_train, "--config.epochs_per_call=-2"],
        "split_seed -1": [*tiny_train, "--config.data.split_seed=-1"],
        "windows_per_epoch -5": [*tiny_train, "--config.data.windows_per_epoch=-5"],
        "reader bogus": [*tiny_train, "--config.data.reader=bogus"],
        "out of memory: n_a": [*tiny_train, "--config.n_a=100000"],
        "out of memory: model.embed": [*tiny_train, f"--config.model.embed={10**10}"],
        "workdir a dangling link": [*tiny_train[:-1], f"--workdir={dangling}"],
        "generate workdir a file": [*gen, f"--workdir={folder / 'file'}"],
        "generate workdir a dangling link": [*gen, f"--workdir={dangling}"],
        "evaluate workdir a dangling link": [*evaluate, f"--workdir={dangling}"],
    }


EXPECTED = {  # what some of data_rows' errors must say
    "wjazzd pitch 200": r"Someone_Tune_FINAL.csv line 4: pitch must be in \[0, 127\]",
    "wjazzd missing column": r"Someone_Tune_FINAL.csv lacks the column 'beat_duration'",
    "wjazzd not UTF-8": r"Someone_Tune_FINAL.csv is not UTF-8 text",
    "wjazzd out of order": r"line 3: bar 0 is before the previous note's \(the rows are out of",
    "min_count above every count": r"data.min_count=1000 leaves nothing but <unk>",
    "split of 2 solos": "the training split is empty",
    "split of 1 piece": "the training split is empty",
    "split_by instrument": "data.split_by must be one of 'path', 'performer', 'tune', got 'instr",
    "batch_size above the windows": r"batch_size=50000 is more than the 10 windows",
    "batch_size above windows_per_epoch": r"batch_size=9 is more than the 8 windows",
    "reader bogus": "data.reader must be one of 'music21', 'wjazzd', got 'bogus'",
    "out of memory: n_a": r"out of memory \(--config.n_a=100000 asked for more memory",
    "out of memory: model.embed": r"out of memory \(--config.model.embed=10000000000 asked",
    "workdir a dangling link": r"dangling is a symbolic link to .*nowhere, which does not exist",
    "generate workdir a file": r"file is a file, not a folder",
    "generate workdir a dangling link": r"dangling is a symbolic link",
    "evaluate workdir a dangling link": r"dangling is a symbolic link",
}


def table(tiny, run, folder) -> dict[str, list[str]]:
    """Name → command line [module, args...]."""
    flipped, nan, folder_checkpoint = spoiled_checkpoints(run, folder)
    configs = config_files(folder)
    damaged_runs, older_runs = eval_files(folder)
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
        "data bad end": [DATA, "summary", "--end", "x"],
        "download unknown flag": [DOWNLOAD, "--nope"],
        "roundtrip unknown flag": [ROUNDTRIP, "--nope"],
        "roundtrip --seeds not a number": [ROUNDTRIP, "--seeds=x"],
        "roundtrip --seeds 0": [ROUNDTRIP, "--seeds=0"],
        "roundtrip --midi and --config": [ROUNDTRIP, "--midi=a.mid", "--config=baseline"],
        "compare_corpora unknown flag": [COMPARE, "--nope"],
        "compare_corpora eval.json damaged": [COMPARE, f"--runs={damaged_runs}"],
        "compare_corpora eval.json older": [COMPARE, f"--runs={older_runs}"],
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
        "roundtrip unknown experiment": [ROUNDTRIP, "--config", "nothing"],
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
        "sweep --seeds empty": [*sweep, "--seeds="],
        "sweep --seeds 0,0": [*sweep, "--seeds=0,0"],
        "unknown config key": [*tiny_train, "--config.no_such_key=1"],
        "misspelt data key": [*tiny_train, "--config.data.Txx=5"],
        "wrong type": [*tiny_train, "--config.epochs=abc"],
        # seeds
        "train seed -1": [*tiny_train, "--config.seed=-1"],
        "train seed 2**70": [*tiny_train, f"--config.seed={2**70}"],
        "train window_seed -1": [*tiny_train, "--config.data.window_seed=-1"],
        "generate seed -1": [*gen, "--seed=-1"],
        "generate a million solos": [*gen, "--num_outputs=1000000"],
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
        "pitch_temperature 0": [*gen, "--pitch_temperature=0"],
        "pitch_temperature nan": [*gen, "--pitch_temperature=nan"],
        "pitch_temperature, notebook tokens": [*gen, "--pitch_temperature=0.5"],
        "keep_repeats without a pitch temperature": [*gen, "--keep_repeats"],
        "beam_length_penalty -1": [*gen, "--beam_size=2", "--beam_length_penalty=-1"],
        "beam_length_penalty nan": [*gen, "--beam_size=2", "--beam_length_penalty=nan"],
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
        "primer <unk>": [*gen, "--primer=<unk>"],
        "chord too light to sound": [*gen, "--chords=Dm7:1000 G7:1"],
        "chords too many to a bar": [*gen, "--chords=C D E F G A B C D E F G A B C D E |"],
        "chord weight 0": [*gen, "--chords=Dm7:0 G7"],
        "chords and changes_of": [*gen, "--chords=C", "--changes_of=solo"],
        "changes_of unknown solo": [*gen, "--changes_of=nobody"],
        "primer and primer_midi": [*gen, "--primer=C,1.000", f"--primer_midi={BASELINE}"],
        "primer_midi missing": [*gen, f"--primer_midi={folder / 'absent.mid'}"],
        "primer_midi not music": [*gen, f"--primer_midi={folder / 'file'}"],
        "notebook mode and primer_midi": [*gen, "--mode=notebook", f"--primer_midi={BASELINE}"],
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
    } | data_rows(tiny, run, folder)
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
    best_alone = shutil.copytree(run, folder / "best_alone")  # a disk full at the first save
    best = best_alone / checkpoints.BEST
    best.mkdir()
    (best_alone / checkpoints.CHECKPOINT).rename(best / checkpoints.CHECKPOINT)
    return {
        "generate with an override": [*gen, "--config.n_a=99"],
        "generate notebook mode": [*gen, "--mode=notebook", "--chords=C F C G C F C G C"],
        "generate from best/ alone": [*gen[:-1], f"--workdir={best_alone}"],
        "roundtrip --help": [ROUNDTRIP, "--help"],
        "compare_corpora --help": [COMPARE, "--help"],
        "train a finished run": [MAIN, "train", *tiny_flags(tiny), f"--workdir={run}"],
        "main --help": [MAIN, "--help"],
    }


GOOD = (  # the names of `good_commands`
    "generate with an override",
    "generate notebook mode",
    "generate from best/ alone",
    "roundtrip --help",
    "compare_corpora --help",
    "train a finished run",
    "main --help",
)


def snapshot(folder) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too), by its path relative to it: its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


class Ran(NamedTuple):
    outcomes: dict  # name -> {"status", "stdout", "stderr", "seconds"}
    run_before: dict  # the trained run's files before the table ran (`snapshot`), and after
    run_after: dict
    folder: object  # where the rows' inputs are, and their would-be outputs


@pytest.fixture(scope="module")
def ran(tiny, run_dir, tmp_path_factory):
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
    outcomes = dict(zip(rows, json.loads(result.stdout), strict=True))
    return Ran(outcomes, before, snapshot(run_dir[0]), folder)


@pytest.fixture(scope="module")
def all_outcomes(ran):
    return ran.outcomes


@pytest.fixture(scope="module")
def outcomes(all_outcomes):
    """The bad inputs' outcomes."""
    return {name: o for name, o in all_outcomes.items() if name not in GOOD}


def test_the_table_is_large(outcomes):
    assert len(outcomes) >= 125


def test_no_bad_input_changes_the_run_directory(ran):
    """The generate and evaluate rows name the trained run: none may write there (nor the train
    and sweep rows their new directories)."""
    assert sorted(ran.run_after) == sorted(ran.run_before)
    changed = [name for name, data in ran.run_after.items() if ran.run_before[name] != data]
    assert not changed
    assert not (ran.folder / "train").exists() and not (ran.folder / "sweep").exists()


@pytest.mark.parametrize("name", ["generate from best/ alone", "roundtrip --help",
                                  "compare_corpora --help"])  # fmt: skip
def test_good_commands_exit_0(all_outcomes, name):
    """generate on a run that kept best/ alone wrote its solo, then exited 2 ("train first")."""
    outcome = all_outcomes[name]
    assert outcome["status"] == 0 and "Traceback" not in outcome["stderr"], outcome["stderr"]


def test_a_notebook_solo_counts_whole_measures(all_outcomes):
    outcome = all_outcomes["generate notebook mode"]
    assert outcome["status"] == 0, outcome["stderr"]
    described = r"^my_music(-\d+)?: \d+ measures, "  # -2: the run's output/ had a solo already
    assert re.search(described, outcome["stdout"], re.M), outcome["stdout"]


def test_the_data_rows_say_what_is_wrong(outcomes):
    wrong = {
        name: outcomes[name]["stderr"]
        for name, expected in EXPECTED.items()
        if not re.search(expected, outcomes[name]["stderr"])
    }
    assert not wrong, "\n".join(f"{name}: {stderr}" for name, stderr in wrong.items())


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
        ("keep_repeats without a pitch temperature", "keeps the model's repeats at a pitch temp"),
        ("beam_length_penalty -1", "the length penalty must be ≥ 0, got -1"),
    ],
)
def test_the_lines_name_the_cause(outcomes, row, words):
    assert words in outcomes[row]["stderr"]


def test_a_misspelt_key_is_suggested_in_its_own_case(outcomes):
    assert 'did you mean "Tx"' in outcomes["misspelt data key"]["stderr"]

"""Each command's flags, parsed before anything heavy is imported.

Design: every command has its own `absl.flags.FlagValues`, built when its command line is parsed
(`flags_of`), never absl's global FLAGS; so `train --help` lists train's flags only, and a flag of
another command is refused by name (`train --seed 3`: "--seed is a flag of generate, evaluate").
The experiment is `ml_collections.config_flags`' config-file flag on that FlagValues, given the
command line up front (`sys_argv`), which is how it learns the `--config.KEY=VALUE` overrides.
`--config NAME` and `--sweep NAME` take a file, or the name of one shipped in the `experiments`
package (`experiment_file`). This module imports absl, ml_collections and the standard library
only: `--help` answers before JAX, flax or music21 load.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from absl import flags
from ml_collections import config_flags

from jazz_flax.errors import JazzFlaxError

PROG = "jazz-flax"
HELP = ("--help", "-h", "--helpfull", "-help", "help")


class Command(NamedTuple):
    """A command: what it does (one line), its usage, and what defines its flags."""

    summary: str
    usage: str
    define: Callable[[flags.FlagValues, list[str]], None]


# ---------------------------------------------------------------------------------------------
# The flags


def run_flags(fv: flags.FlagValues, argv: list[str], required: bool = True) -> None:
    """--config (the experiment), --workdir and --debug: every command that reads a run has them."""
    given = "the run's own when omitted; " if not required else ""
    config_flags.DEFINE_config_file(
        "config",
        None,
        f"experiment: a name ({', '.join(experiment_names())}) or a config file; {given}"
        "--config.KEY=VALUE overrides one of its settings",
        flag_values=fv,
        sys_argv=argv,
    )
    flags.DEFINE_string(
        "workdir", None, "run directory (default: runs/<experiment>)", flag_values=fv
    )
    flags.DEFINE_bool("debug", False, "show the traceback of an error", flag_values=fv)


def train_flags(fv: flags.FlagValues, argv: list[str]) -> None:
    run_flags(fv, argv)
    flags.DEFINE_bool(
        "fresh", False, "start over in a run directory that holds another run", flag_values=fv
    )


def sampling_flags(fv: flags.FlagValues) -> None:
    """How tokens are drawn: generate's and evaluate's."""
    define = dict(flag_values=fv)
    flags.DEFINE_integer("seed", 0, "seed of the sampler and the decoder", **define)
    flags.DEFINE_float("temperature", 1.0, "softmax temperature (> 0)", **define)
    pitch_help = "temperature of the pitch alone (pitch grammars): rhythm stays the model's"
    flags.DEFINE_float("pitch_temperature", 1.0, pitch_help, **define)
    repeats_help = "at a pitch temperature, repeat the last pitch as the model would"
    flags.DEFINE_bool("keep_repeats", False, repeats_help, **define)
    flags.DEFINE_integer("top_k", None, "sample among the k likeliest tokens (≥ 1)", **define)
    flags.DEFINE_float("top_p", 1.0, "nucleus sampling, in (0, 1]", **define)
    flags.DEFINE_bool("greedy", False, "always the likeliest token, as the notebook", **define)


def generate_flags(fv: flags.FlagValues, argv: list[str]) -> None:
    run_flags(fv, argv, required=False)
    sampling_flags(fv)
    string, integer, number, boolean = (
        functools.partial(define, flag_values=fv)
        for define in (
            flags.DEFINE_string,
            flags.DEFINE_integer,
            flags.DEFINE_float,
            flags.DEFINE_bool,
        )
    )
    string("chords", None, 'bars of chords, e.g. "Dm7 G7 | Cmaj7 | A7alt"')
    string("changes_of", None, "a corpus solo whose changes are played (--list_solos)")
    boolean("list_solos", False, "list the corpus' solos and their splits")
    string("mode", "measures", "measures, or notebook: the seed notebook's layout")
    string("primer", None, "tokens the solo starts with, space-separated")
    integer("choruses", 1, "times the chords are played")
    integer("num_outputs", 1, "solos, from one sampler call (≥ 1)")
    integer("beam_size", 1, "beams kept by beam search (Magenta's)")
    integer("branch_factor", 1, "continuations of each beam per iteration")
    integer("steps_per_iteration", 1, "tokens per beam search iteration")
    number("beam_length_penalty", 0.0, "rank beams by log-prob / beats ** this (1: per beat)")
    string("primer_midi", None, "a MIDI/MusicXML melody the solo continues")
    number("bpm", 130.0, "tempo of the MIDI and audio")
    number("swing", 1.0, "off-beat eighths' ratio (1 straight, 2 triplet swing)")
    boolean("render_chords", True, "comp the chords in the MIDI and audio")
    string("instrument", "tenor_sax", "the melody's instrument, e.g. alto_sax, trumpet, piano")
    boolean("bass", False, "a bass line of the chord roots")
    string("soundfont", None, "a .sf2 for FluidSynth (default: searched)")
    string("output_dir", None, "folder of the files (default: <workdir>/output)")


def evaluate_flags(fv: flags.FlagValues, argv: list[str]) -> None:
    run_flags(fv, argv, required=False)
    sampling_flags(fv)
    define = dict(flag_values=fv)
    flags.DEFINE_integer("solos", 4, "solos generated for the musical metrics", **define)
    flags.DEFINE_integer("test_solos", None, "test solos whose changes are played (all)", **define)


def sweep_flags(fv: flags.FlagValues, argv: list[str]) -> None:
    define = dict(flag_values=fv)
    names = ", ".join(experiment_names("sweeps"))
    flags.DEFINE_string("sweep", None, f"a sweep: a name ({names}) or a definition file", **define)
    flags.DEFINE_string(
        "workdir", None, "its runs' folder (default: runs/sweeps/<sweep>)", **define
    )
    flags.DEFINE_bool("debug", False, "show the traceback of an error", **define)
    flags.DEFINE_list("seeds", None, "these seeds, not the definition's, e.g. 0,1,2", **define)
    flags.DEFINE_multi_string(
        "set", [], "KEY=VALUE: a setting of every run, e.g. epochs=60", **define
    )


COMMANDS = {
    "train": Command(
        "train an experiment into its run directory (resumed, or finished, when it holds it)",
        "--config NAME|FILE [--config.KEY=VALUE ...] [--workdir DIR] [--fresh]",
        train_flags,
    ),
    "generate": Command(
        "improvise solos with a trained run: MIDI, WAV and a piano roll",
        "(--workdir DIR | --config NAME) [--chords TEXT] [--seed N] [--num_outputs N] ...",
        generate_flags,
    ),
    "evaluate": Command(
        "score a trained run (held-out NLL, musical metrics) into its eval.json",
        "(--workdir DIR | --config NAME) [--solos N] [--seed N] ...",
        evaluate_flags,
    ),
    "sweep": Command(
        "train and evaluate the runs of a sweep, and tabulate them",
        "--sweep NAME|FILE [--seeds 0,1,2] [--set KEY=VALUE ...] [--workdir DIR]",
        sweep_flags,
    ),
}
OTHERS = {  # commands with their own parser: `jazz-flax data --help`
    "data": ("jazz_flax.data.cli", "the corpus' shapes: data summary [--config NAME | --midi F]"),
    "download": ("jazz_flax.data.download", "a corpus into data/: download [wjazzd|openewld]"),
}


def flags_of(command: str, argv: list[str]) -> flags.FlagValues:
    """The flags of `command`, for parsing `argv` (its overrides of --config included)."""
    fv = flags.FlagValues()
    COMMANDS[command].define(fv, argv)
    return fv


# ---------------------------------------------------------------------------------------------
# Experiments by name


def experiments_folder(sub: str = "") -> Path:
    """The installed `experiments` package's folder (from a checkout: ./experiments)."""
    try:
        root = Path(str(importlib.resources.files("experiments")))
    except ModuleNotFoundError:
        root = Path("experiments")
    return root / sub


def experiment_names(sub: str = "") -> list[str]:
    """The experiments (or, with sub="sweeps", the sweeps) that can be named."""
    folder = experiments_folder(sub)
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))


def experiment_file(given: str, sub: str = "") -> str:
    """The file `given` names: itself when it is a file, else experiments/[sub/]NAME.py."""
    if Path(given).is_file():
        return given
    known = experiment_names(sub)
    if given in known:
        return str(experiments_folder(sub) / f"{given}.py")
    kind = "sweep" if sub else "experiment"
    problem = f"no such file: {given}" if "/" in given or given.endswith(".py") else ""
    close = difflib.get_close_matches(Path(given).stem, known, n=1)
    raise JazzFlaxError(
        problem or f"unknown {kind} {given!r}",
        hint=(f"did you mean {close[0]}? " if close else "")
        + f"the {kind}s: {', '.join(known)}; or a config file",
    )


def experiment_config(given: str | Path):
    """`get_config()` of the experiment `given` names (`experiment_file`: a name or a file)."""
    from jazz_flax.files import call_function  # here: --help stays light

    return call_function(Path(experiment_file(str(given))), "get_config")


def with_files(argv: list[str], flag: str, sub: str = "") -> list[str]:
    """`argv` with the value of --`flag` NAME (or --`flag`=NAME) replaced by its file."""
    argv = list(argv)
    for i, word in enumerate(argv):
        if word == f"--{flag}" and i + 1 < len(argv):
            argv[i + 1] = experiment_file(argv[i + 1], sub)
        elif word.startswith(f"--{flag}="):
            argv[i] = f"--{flag}={experiment_file(word.split('=', 1)[1], sub)}"
    return argv

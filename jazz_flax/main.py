"""Command lines.

    python -m jazz_flax.main train --config experiments/baseline.py [--config.epochs=200]
                                   [--workdir runs/baseline] [--debug]
    python -m jazz_flax.main generate --config experiments/baseline.py [--temperature 0.8]
                                   [--top_k 10] [--top_p 0.9] [--greedy] [--seed 3]
                                   [--chords "Dm7 G7 | Cmaj7" | --changes_of SOLO]
                                   [--choruses 2] [--num_outputs 4] [--beam_size 8 --branch_factor 4
                                   --steps_per_iteration 1] [--primer ... | --primer_midi F]
                                   [--bpm 160] [--swing 2] [--instrument jazz_guitar] [--bass]
                                   [--norender_chords] [--soundfont F.sf2] [--mode notebook]
    python -m jazz_flax.main generate --config experiments/wjazzd.py --list_solos  (name, split)
    python -m jazz_flax.main evaluate --config experiments/baseline.py [--solos 4] [--seed 0]
                                   [--temperature 1.0] [--top_k 10] [--top_p 0.9] [--greedy]
                                   [--test_solos 5] (split corpora: the first 5 test solos' changes)
    python -m jazz_flax.main sweep --sweep experiments/sweeps/hidden_size.py
                                   [--workdir runs/sweeps/hidden_size]

The config file is the experiment; `--config.KEY=VALUE` overrides one of its settings. The run
directory defaults to runs/<experiment name> (the config file's stem); `evaluate` reads the run
there, as it was trained. A sweep is its definition file; it writes runs/sweeps/<sweep name>.
"""

from __future__ import annotations

from jazz_flax import interrupts

if __name__ == "__main__":
    interrupts.catch()  # first: a signal during the seconds of imports below is not lost

import difflib  # noqa: E402
from pathlib import Path  # noqa: E402

import ml_collections  # noqa: E402
from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from jazz_flax import checkpoints, evaluate, files, generate, parallel, sweep, train  # noqa: E402
from jazz_flax import config as config_lib  # noqa: E402
from jazz_flax.beam import Beam  # noqa: E402
from jazz_flax.errors import (  # noqa: E402
    SEED,
    JazzFlaxError,
    exit_with,
    memory_asked_by,
    one_line_errors,
)
from jazz_flax.music import render  # noqa: E402
from jazz_flax.sample import Strategy  # noqa: E402

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "experiment config, e.g. experiments/baseline.py")
flags.DEFINE_string("workdir", None, "run directory (default: runs/<experiment name>)")
flags.DEFINE_bool("debug", False, "show the traceback of an error")
flags.DEFINE_integer("seed", 0, "generate: seed of the sampler and the decoder")
flags.DEFINE_float("temperature", 1.0, "generate: softmax temperature (> 0)")
flags.DEFINE_integer("top_k", None, "generate: sample among the k likeliest tokens (≥ 1)")
flags.DEFINE_float("top_p", 1.0, "generate: nucleus sampling, in (0, 1]")
flags.DEFINE_bool("greedy", False, "generate: always the likeliest token, as the notebook")
flags.DEFINE_string("chords", None, 'generate: bars of chords, e.g. "Dm7 G7 | Cmaj7 | A7alt"')
flags.DEFINE_string("changes_of", None, "generate: a corpus solo whose changes are played")
flags.DEFINE_bool("list_solos", False, "generate: list the corpus' solos and their splits")
flags.DEFINE_enum("mode", "measures", generate.MODES, "generate: measures or notebook layout")
flags.DEFINE_string("primer", None, "generate: tokens the solo starts with, space-separated")
flags.DEFINE_integer("choruses", 1, "generate: times the chords are played")
flags.DEFINE_integer("num_outputs", 1, "generate: solos, from one sampler call (≥ 1)")
flags.DEFINE_integer("beam_size", 1, "generate: beams kept by beam search (Magenta's)")
flags.DEFINE_integer("branch_factor", 1, "generate: continuations of each beam per iteration")
flags.DEFINE_integer("steps_per_iteration", 1, "generate: tokens per beam search iteration")
flags.DEFINE_string("primer_midi", None, "generate: a MIDI/MusicXML melody the solo continues")
flags.DEFINE_float("bpm", 130.0, "generate: tempo of the MIDI and audio")
flags.DEFINE_float("swing", 1.0, "generate: off-beat eighths' ratio (1 straight, 2 triplet swing)")
flags.DEFINE_bool("render_chords", True, "generate: comp the chords in the MIDI and audio")
flags.DEFINE_string("instrument", "tenor_sax", f"generate: one of {', '.join(render.INSTRUMENTS)}")
flags.DEFINE_bool("bass", False, "generate: a bass line of the chord roots")
flags.DEFINE_string("soundfont", None, "generate: a .sf2 for FluidSynth (default: searched)")
flags.DEFINE_integer("solos", 4, "evaluate: solos generated for the musical metrics")
flags.DEFINE_integer("test_solos", None, "evaluate: test solos whose changes are played (all)")
flags.DEFINE_string("sweep", None, "sweep: definition, e.g. experiments/sweeps/hidden_size.py")
flags.DEFINE_list("seeds", None, "sweep: these seeds, not the definition's, e.g. 0,1,2")
flags.DEFINE_multi_string("set", [], "sweep: KEY=VALUE, a setting of every run, e.g. epochs=60")


def config_file() -> str:
    return config_flags.get_config_filename(FLAGS["config"])


def workdir() -> Path:
    experiment = Path(config_file()).stem
    return Path(FLAGS.workdir or Path("runs") / experiment)


def train_command() -> None:
    config_lib.check(FLAGS.config)  # its devices and batch size split the CPU next
    parallel.split_cpu(FLAGS.config.devices, FLAGS.config.batch_size)  # before JAX starts
    train.enable_compilation_cache()
    train.train(FLAGS.config, workdir=workdir())


def generate_command() -> None:
    if FLAGS.list_solos:
        for name, split in generate.solos(workdir()):
            print(f"{name}\t{split}")
        return
    train.enable_compilation_cache()
    strategy = Strategy(FLAGS.temperature, FLAGS.top_k, FLAGS.top_p, FLAGS.greedy)
    beam = Beam(FLAGS.beam_size, FLAGS.branch_factor, FLAGS.steps_per_iteration)
    rendering = render.Rendering(
        FLAGS.swing, FLAGS.render_chords, FLAGS.instrument, FLAGS.bass, FLAGS.soundfont
    )
    settings = generate.Settings(
        num_outputs=FLAGS.num_outputs,
        seed=FLAGS.seed,
        strategy=strategy,
        beam=None if beam == Beam() else beam,
        chords=FLAGS.chords,
        changes_of=FLAGS.changes_of,
        choruses=FLAGS.choruses,
        mode=FLAGS.mode,
        primer=FLAGS.primer,
        primer_midi=FLAGS.primer_midi,
        bpm=FLAGS.bpm,
        rendering=rendering,
    )
    asked = {"--num_outputs": (FLAGS.num_outputs, 1), "--beam_size": (FLAGS.beam_size, 1)}
    with memory_asked_by(asked):
        results = generate.improvise(workdir(), settings)
    for result in results:
        for path in result.paths.values():
            print(path)
        print(f"{result.paths['midi'].stem}: {result.describe()}")
    used = checkpoints.load_checkpoint(checkpoints.model_checkpoint(workdir()))  # as generate
    note_differences(used.config.to_dict(), "generated")


def evaluate_command() -> None:
    train.enable_compilation_cache()
    settings = evaluate.default_config()
    settings.update(
        solos=FLAGS.solos,
        test_solos=FLAGS.test_solos,
        seed=FLAGS.seed,
        temperature=FLAGS.temperature,
        top_k=FLAGS.top_k,
        top_p=FLAGS.top_p,
        greedy=FLAGS.greedy,
    )
    result = evaluate.evaluate_run(workdir(), settings)
    print(f"the model of {workdir() / result['checkpoint']}, epoch {result['epoch']}")
    print(evaluate.table(result))
    note_differences(result["config"], "evaluated")
    print(workdir() / evaluate.EVAL)


def note_differences(trained: dict, done: str) -> None:
    """Says which settings of --config (overrides included) differ from those the run was trained
    with: generate and evaluate use a run as it was trained."""
    changed = evaluate.changed_settings(FLAGS.config, trained)
    if changed:
        verb = "differs" if len(changed) == 1 else "differ"
        print(f"({done} as trained: the run's {', '.join(changed)} {verb} from the config's)")


def sweep_command() -> None:
    train.enable_compilation_cache()
    path = Path(FLAGS.sweep)
    root = Path(FLAGS.workdir or Path("runs") / "sweeps" / path.stem)
    definition = sweep.with_changes(sweep.load(path), FLAGS.seeds, FLAGS.set)
    with files.lock(root, "sweep"):  # one sweep at a time in its folder
        sweep.run_sweep(definition, root)


COMMANDS = {
    "train": train_command,
    "generate": generate_command,
    "evaluate": evaluate_command,
    "sweep": sweep_command,
}
NEEDS = {"sweep": "sweep"}  # the flag a command is given its input by; the others: config


def main(argv: list[str]) -> None:
    with one_line_errors(FLAGS.debug):
        command = chosen_command(argv[1:])
        needed = NEEDS.get(command, "config")
        check_input(command, needed)
        logging.set_verbosity(logging.WARNING)  # not JAX's INFO lines about absent accelerators
        SEED.check("--seed", FLAGS.seed)
        COMMANDS[command]()


EXAMPLES = dict(config="experiments/baseline.py", sweep="experiments/sweeps/hidden_size.py")


def check_input(command: str, needed: str) -> None:
    """The file `needed` flag names must exist, and a config file give a ConfigDict."""
    if FLAGS[needed].value is None:
        raise JazzFlaxError(
            f"{command} needs --{needed}", hint=f"e.g. --{needed} {EXAMPLES[needed]}"
        )
    given = Path(FLAGS[needed].value if needed != "config" else config_file())
    if not given.is_file():
        raise JazzFlaxError(f"no such file: {given}", hint="see experiments/ for the choices")
    if needed == "config" and not isinstance(FLAGS.config, ml_collections.ConfigDict):
        kind = type(FLAGS.config).__name__
        raise JazzFlaxError(f"get_config() of {given} returned a {kind}", hint=CONFIG_HINT)


def chosen_command(words: list[str]) -> str:
    """The one command among the arguments left after the flags; a JazzFlaxError otherwise."""
    if len(words) == 1 and words[0] in COMMANDS:
        return words[0]
    close = difflib.get_close_matches(words[0], COMMANDS, n=1) if len(words) == 1 else []
    given = f"got {' '.join(map(repr, words))}" if words else "got none"
    raise JazzFlaxError(
        f"give one command of {', '.join(COMMANDS)}; {given}",
        hint=f"did you mean {close[0]}?" if close else "python -m jazz_flax.main --help",
    )


QUOTES = "'\""


def parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, its errors in one line: an unknown flag, a bad value, a config file
    that cannot be loaded, a bad `--config.KEY=VALUE` (unknown key, wrong type)."""
    try:
        return FLAGS(argv)
    except Exception as e:
        if "--debug" in argv:
            raise
        exit_with(flag_error(e))


def flag_error(e: Exception) -> JazzFlaxError:
    """The error of a command line absl could not parse, worded for the user."""
    if isinstance(e, flags.UnrecognizedFlagError) and e.flagname.startswith("config."):
        return unknown_setting(e.flagname.removeprefix("config."), [])
    if isinstance(e, flags.UnrecognizedFlagError):
        close = difflib.get_close_matches(e.flagname, list(FLAGS), n=1)
        hint = f"did you mean --{close[0]}?" if close else "--help lists them"
        return JazzFlaxError(f"unknown flag --{e.flagname}", hint=hint)
    if isinstance(e, AttributeError | KeyError) and "get_config" not in str(e):
        key, *suggestion = str(_innermost(e)).splitlines()  # 'n_aa' \n Did you mean "n_a"…?
        return unknown_setting(key.strip(QUOTES), suggestion)
    if isinstance(e, flags.Error):
        hint = SETTINGS_HINT if "--config." in str(e) else "--help lists the flags"
        return JazzFlaxError(str(e), hint=hint)
    return JazzFlaxError(f"cannot load the config file: {type(e).__name__}: {e}", hint=CONFIG_HINT)


def unknown_setting(key: str, suggestion: list[str]) -> JazzFlaxError:
    """ml_collections: a key the config lacks, with its suggestion of a close one."""
    first = suggestion[0].strip() if suggestion else ""
    hint = first[:1].lower() + first[1:] if first else SETTINGS_HINT  # "Did you mean "Tx"…"
    return JazzFlaxError(f"unknown config setting {key!r}", hint=hint)


SETTINGS_HINT = "see the settings in the --config file"
CONFIG_HINT = "a config file is Python defining get_config() that returns a ConfigDict"


def _innermost(error: BaseException):
    """The message under an exception wrapped in others (ml_collections: a KeyError in an
    AttributeError)."""
    while error.args and isinstance(error.args[0], BaseException):
        error = error.args[0]
    return error.args[0] if error.args else error


if __name__ == "__main__":
    interrupts.run_command(lambda: app.run(main, flags_parser=parse_flags))

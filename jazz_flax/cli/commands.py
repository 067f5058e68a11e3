"""The commands themselves, given their parsed flags (`options`): train, generate, evaluate,
sweep. Imported once the command line is parsed, as they import JAX."""

from __future__ import annotations

from pathlib import Path

import ml_collections
from absl import flags
from ml_collections import config_flags

from jazz_flax import checkpoints, evaluate, files, generate, parallel, sweep, train
from jazz_flax import config as config_lib
from jazz_flax.beam import Beam
from jazz_flax.cli import rundir
from jazz_flax.cli.parsing import CONFIG_HINT
from jazz_flax.errors import SEED, JazzFlaxError, memory_asked_by
from jazz_flax.music import render
from jazz_flax.sample import Strategy


def config_file(fv: flags.FlagValues) -> str | None:
    """The --config file, None when none was given."""
    return config_flags.get_config_filename(fv["config"]) if fv["config"].present else None


def checked_config(fv: flags.FlagValues) -> ml_collections.ConfigDict:
    """--config's ConfigDict; a JazzFlaxError when get_config() returned something else."""
    if not isinstance(fv.config, ml_collections.ConfigDict):
        kind = type(fv.config).__name__
        raise JazzFlaxError(
            f"get_config() of {config_file(fv)} returned a {kind}", hint=CONFIG_HINT
        )
    return fv.config


def workdir_of(fv: flags.FlagValues, command: str) -> Path:
    """--workdir, else runs/<the experiment's name>."""
    if fv.workdir:
        return Path(fv.workdir)
    if config_file(fv) is None:
        needs = "--config" if command == "train" else "--workdir (a run) or --config"
        raise JazzFlaxError(f"{command} needs {needs}", hint="e.g. --config baseline")
    return Path("runs") / Path(config_file(fv)).stem


def train_command(fv: flags.FlagValues) -> None:
    workdir, config = workdir_of(fv, "train"), checked_config(fv)
    config_lib.check(config)  # its devices and batch size split the CPU next
    plan, epochs = rundir.plan(workdir, config, fv.fresh)
    if plan == rundir.FINISHED:
        print(rundir.finished_line(workdir, epochs))
        return
    config.resume = plan == rundir.RESUME
    name = Path(config_file(fv)).stem
    doing = f"resuming {name} from epoch {epochs}" if config.resume else f"training {name}"
    print(f"{doing} into {workdir}/", flush=True)
    parallel.split_cpu(config.devices, config.batch_size)  # before JAX starts
    train.enable_compilation_cache()
    train.train(config, workdir=workdir)


def generate_command(fv: flags.FlagValues) -> None:
    workdir = workdir_of(fv, "generate")
    if fv.list_solos:
        for name, split in generate.solos(workdir):
            print(f"{name}\t{split}")
        return
    train.enable_compilation_cache()
    asked = {"--num_outputs": (fv.num_outputs, 1), "--beam_size": (fv.beam_size, 1)}
    with memory_asked_by(asked):
        results = generate.improvise(workdir, generation_settings(fv))
    for result in results:
        for path in result.paths.values():
            print(path)
        print(f"{result.paths['midi'].stem}: {result.describe()}")
    used = checkpoints.load_checkpoint(checkpoints.model_checkpoint(workdir))  # as generate
    note_differences(fv, used.config.to_dict(), "generated")


def generation_settings(fv: flags.FlagValues) -> generate.Settings:
    beam = Beam(fv.beam_size, fv.branch_factor, fv.steps_per_iteration, fv.beam_length_penalty)
    return generate.Settings(
        num_outputs=fv.num_outputs,
        seed=fv.seed,
        strategy=Strategy(
            fv.temperature, fv.top_k, fv.top_p, fv.greedy, fv.pitch_temperature, fv.keep_repeats
        ),
        beam=None if beam == Beam() else beam,
        chords=fv.chords,
        changes_of=fv.changes_of,
        choruses=fv.choruses,
        mode=fv.mode,
        primer=fv.primer,
        primer_midi=fv.primer_midi,
        bpm=fv.bpm,
        rendering=render.Rendering(
            fv.swing, fv.render_chords, fv.instrument, fv.bass, fv.soundfont
        ),
        output=fv.output_dir,
    )


def evaluate_command(fv: flags.FlagValues) -> None:
    workdir = workdir_of(fv, "evaluate")
    train.enable_compilation_cache()
    settings = evaluate.default_config()
    settings.update(
        solos=fv.solos,
        test_solos=fv.test_solos,
        seed=fv.seed,
        temperature=fv.temperature,
        top_k=fv.top_k,
        top_p=fv.top_p,
        greedy=fv.greedy,
        pitch_temperature=fv.pitch_temperature,
        keep_repeats=fv.keep_repeats,
    )
    result = evaluate.evaluate_run(workdir, settings)
    print(f"the model of {workdir / result['checkpoint']}, epoch {result['epoch']}")
    print(evaluate.table(result))
    note_differences(fv, result["config"], "evaluated")
    print(workdir / evaluate.EVAL)


def note_differences(fv: flags.FlagValues, trained: dict, done: str) -> None:
    """Says which settings of --config (overrides included), when given, differ from those the
    run was trained with: generate and evaluate use a run as it was trained."""
    if config_file(fv) is None:
        return
    changed = evaluate.changed_settings(checked_config(fv), trained)
    if changed:
        verb = "differs" if len(changed) == 1 else "differ"
        print(f"({done} as trained: the run's {', '.join(changed)} {verb} from the config's)")


def sweep_command(fv: flags.FlagValues) -> None:
    if fv.sweep is None:
        raise JazzFlaxError("sweep needs --sweep", hint="e.g. --sweep hidden_size")
    train.enable_compilation_cache()
    path = Path(fv.sweep)
    root = Path(fv.workdir or Path("runs") / "sweeps" / path.stem)
    definition = sweep.with_changes(sweep.load(path), fv.seeds, fv.set)
    print(f"sweep {path.stem} into {root}/", flush=True)
    with files.lock(root, "sweep"):  # one sweep at a time in its folder
        sweep.run_sweep(definition, root)


COMMANDS = {
    "train": train_command,
    "generate": generate_command,
    "evaluate": evaluate_command,
    "sweep": sweep_command,
}


def run(command: str, fv: flags.FlagValues) -> None:
    """Runs `command` with its parsed flags."""
    if "seed" in fv:
        SEED.check("--seed", fv.seed)
    COMMANDS[command](fv)

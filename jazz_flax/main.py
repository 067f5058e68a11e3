"""jazz-flax: train an LSTM on jazz solos and improvise new ones.

    jazz-flax train --config baseline [--config.epochs=200] [--workdir runs/baseline] [--fresh]
    jazz-flax generate --workdir runs/baseline [--chords "Dm7 G7 | Cmaj7"] [--seed 3]
    jazz-flax generate --config wjazzd --list_solos       (the run runs/wjazzd: its solos)
    jazz-flax evaluate --config baseline [--solos 4]      (runs/baseline into its eval.json)
    jazz-flax sweep --sweep hidden_size [--seeds 0,1,2] [--set epochs=60]
    jazz-flax data summary --config wjazzd
    jazz-flax download wjazzd

(`python -m jazz_flax` and `python -m jazz_flax.main` are the same command.) The experiment is a
name shipped in experiments/ or a config file; `--config.KEY=VALUE` overrides one of its settings.
A run directory defaults to runs/<experiment>; `train` resumes the run it holds, says when it is
finished, and refuses another unless --fresh. generate and evaluate use a run as it was trained.
"""

from __future__ import annotations

import importlib
import sys

from jazz_flax import interrupts

if __name__ == "__main__":
    interrupts.catch()  # first: a signal during the imports below is not lost

from absl import logging  # noqa: E402

from jazz_flax.cli.options import HELP, OTHERS  # noqa: E402
from jazz_flax.cli.parsing import command_help, command_of, overview, parse, wants_help  # noqa: E402
from jazz_flax.errors import one_line_errors  # noqa: E402


def main(argv: list[str]) -> None:
    """Runs the command line `argv` (argv[0], the program, aside)."""
    words = argv[1:]
    with one_line_errors("--debug" in words):
        if words[:1] and words[0] in HELP:
            print(overview(__doc__))
            return
        command = command_of(words)
        if command in OTHERS:  # a command with a parser of its own
            importlib.import_module(OTHERS[command][0]).main(words[1:])
            return
        if wants_help(words[1:]):
            print(command_help(command))
            return
        if command in ("train", "sweep"):  # the seconds its config takes to import JAX, said
            print(f"{command}: loading JAX and the experiment …", flush=True)
        flag_values = parse(command, words[1:])
        from jazz_flax.cli import commands  # JAX and the rest, once the flags are right

        logging.set_verbosity(logging.WARNING)  # not JAX's INFO lines about absent accelerators
        commands.run(command, flag_values)


def run() -> None:
    """The console command `jazz-flax`."""
    interrupts.catch()
    interrupts.run_command(lambda: main(sys.argv))


if __name__ == "__main__":
    run()

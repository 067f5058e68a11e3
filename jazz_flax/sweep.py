"""Sweeps: every point × seed of a definition trained, evaluated and tabulated with error bars.

A definition, experiments/sweeps/<name>.py:

    def get_sweep():
        return dict(
            base="baseline",                         # experiments/baseline.py, or a ConfigDict
            seeds=[0, 1, 2],                         # optional: DEFAULT_SEEDS
            points=[{"n_a": 16}, {"n_a": 32}],       # overrides, dotted keys: {"data.Tx": 20}
            overrides={"data.holdout_measures": 3},  # optional: for every point
            eval={"solos": 4},                       # optional: evaluate.default_config() changes
            vmap=False,                              # optional: see "Compiled programs"
        )

`make sweep SWEEP=<name>` writes runs/sweeps/<name>/:

    <point>/seed<k>/   config.json, metrics.jsonl, checkpoint.msgpack, summary.json (its results)
    results.csv        one row per run
    results.md         one row per point: means ± std over the seeds
    curves.png         mean loss per point with ±std bands, the notebook's 129.9 and 9.2

`--seeds 0,1,2` runs other seeds than the definition's; `--set KEY=VALUE` (repeatable) adds an
override for every run: `make sweep SWEEP=wjazzd_layers ARGS="--set epochs=60 --seeds 0,1"`.

Every run trains through `train.fit`, the loop of `train.train`, into its run directory: a corpus
split by piece (`data.split_seed`, e.g. experiments/wjazzd.py) with `data.windows_per_epoch`
windows an epoch, `epochs_per_call` epochs a call, the validation NLL after each call (`valid_nll`
in metrics.jsonl); the state of the lowest is the one evaluated (its test split's scores in
summary.json, with `best_epoch` and `best_valid_nll`) and kept in the run's best/ folder.
results.md then tabulates the test NLL against the bigram baseline's (sweep_results.py).

A run whose summary.json holds the same config and evaluation settings, and the fingerprint of the
same data (`data_fingerprint`: the corpus' tokens, chords, vocabulary and splits, whatever files
they came from), is finished: a restarted sweep reads it instead of training it again; one trained
on data that has changed since is trained again. Settings added since the run was written count as
their defaults (`config.with_defaults`).

Compiled programs. Runs whose configs differ only in `TRACED` settings (seed, lr, decay: the keys,
the initial parameters and the optimiser state are arrays) form a group that shares one compiled
training program; the group's runs go through that one executable one after another, each by
`train.fit` — each run is then bit for bit the run `train.train` makes of its config — or, with
`vmap=True` in the definition, all at once, all epochs in one call, through
`train.train_epochs_stacked` (`jax.vmap` over the stacked states). On the project's 2-core CPU,
vmap was faster for some hidden sizes and slower for others and compiles longer, so one by one is
the default; vmap stays an option (on an accelerator it should win); the figures are in
experiments/BENCHMARKS.md ("Sweeps"). Settings
that change shapes or the program (n_a, layers, Tx, m, batch size, dropout, init, cell, loss)
get their own group and compile. vmap is refused for a corpus split by piece (validated between
calls) and for `data.windows_per_epoch`.

Groups run in `WORKERS` threads, the costliest first (`cost`): two different executables run in
parallel, one per core, where one small model's program would use only one (one executable runs
one call at a time, so a group's runs stay in one thread); BENCHMARKS.md has what it saved. The
seconds a run reports are wall time in that company. Each run is evaluated with
`evaluate.evaluate` (held-out windows, `eval.solos` solos; of a corpus split by piece the test
split and the changes of `eval.test_solos` test solos) and its summary.json written; the tables
come last. Ctrl-C stops the runs in flight within `STOP_SECONDS` (`stop`).
"""

from __future__ import annotations

import ast
import concurrent.futures
import functools
import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jazz_flax import checkpoints, data, evaluate, interrupts, optimizers, train
from jazz_flax import config as config_lib
from jazz_flax.errors import JazzFlaxError
from jazz_flax.files import atomic_write, call_function
from jazz_flax.model import count_params, init_params
from jazz_flax.models import make_model
from jazz_flax.recorder import Recorder
from jazz_flax.sweep_results import label, number, write_results

DEFAULT_SEEDS = (0, 1, 2)  # a definition's seeds unless it names some: a baseline-sized point
# trains in seconds; the WJazzD sweeps (minutes a run) name theirs
TRACED = ("seed", "lr", "decay")  # settings that do not change the compiled training program
DEFINITION_KEYS = {"base", "base_name", "seeds", "points", "overrides", "eval", "vmap"}
SUMMARY, METRICS = checkpoints.SUMMARY, checkpoints.METRICS
WORKERS = os.cpu_count() or 1  # groups trained at once (threads)
STOP_SECONDS = 0.5  # an interrupted sweep's wait for its runs in flight to stop


class Run(NamedTuple):
    """One point × seed of a sweep."""

    label: str  # the point, e.g. "n_a=16"
    seed: int
    config: ml_collections.ConfigDict
    workdir: Path


class Result(NamedTuple):
    """A finished run: its summary.json and its loss per epoch."""

    run: Run
    summary: dict
    losses: np.ndarray  # float (epochs,)


# ---------------------------------------------------------------------------------------------
# Definitions


def load(path: str | Path) -> dict:
    """The definition in experiments/sweeps/<name>.py, its base resolved in experiments/."""
    path = Path(path)
    if not path.is_file():
        raise JazzFlaxError(f"no sweep definition at {path}", hint="see experiments/sweeps/")
    definition = dict(call_function(path, "get_sweep"))
    if isinstance(definition.get("base"), str):
        base = path.resolve().parents[1] / f"{definition['base']}.py"
        if not base.is_file():
            raise JazzFlaxError(f"{path}: no base experiment at {base}")
        definition.update(base=call_function(base, "get_config"), base_name=definition["base"])
    return definition


def with_changes(definition: dict, seeds=None, settings: Sequence[str] = ()) -> dict:
    """The definition with other `seeds`, and each of `settings` ("KEY=VALUE", the value as
    Python reads it, else the text) added to its overrides: the command line's --seeds, --set."""
    changed = dict(definition)
    if seeds is not None:
        changed["seeds"] = _seeds(seeds)
    if settings:
        added = dict(_setting(setting) for setting in settings)
        varied = sorted(set(added) & {key for point in definition["points"] for key in point})
        if varied:
            raise JazzFlaxError(
                f"--set {varied[0]}: the sweep's points set it, so it would be ignored",
                hint="leave it to the points, or write a sweep of your own",
            )
        changed["overrides"] = dict(definition.get("overrides", {})) | added
    return changed


def _seeds(texts: Sequence[str]) -> list[int]:
    """The seeds of --seeds: integers, at least one, each once."""
    try:
        seeds = [int(seed) for seed in texts]
    except ValueError:
        raise JazzFlaxError(f"--seeds takes integers, got {','.join(texts)}") from None
    if not seeds or len(set(seeds)) < len(seeds):
        raise JazzFlaxError(
            f"--seeds needs distinct seeds, got {','.join(texts) or 'none'}", hint="e.g. 0,1,2"
        )
    return seeds


def _setting(text: str) -> tuple[str, object]:
    """("data.solos", "JohnColtrane_*") from "data.solos=JohnColtrane_*"; ("epochs", 60) …"""
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise JazzFlaxError(f"--set {text!r} is not KEY=VALUE", hint="e.g. --set epochs=60")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def override(config: ml_collections.ConfigDict, changes: dict) -> ml_collections.ConfigDict:
    """A copy of `config` with dotted-key `changes` ({"data.Tx": 20}); unknown keys refused."""
    config = config.copy_and_resolve_references()
    for key, value in changes.items():
        *parents, leaf = key.split(".")
        node = config
        for name in parents:
            node = node.get(name)
            if not isinstance(node, ml_collections.ConfigDict):
                raise JazzFlaxError(f"unknown setting {key!r}")
        if leaf not in node:
            raise JazzFlaxError(f"unknown setting {key!r}")
        try:
            node[leaf] = value
        except TypeError as e:
            raise JazzFlaxError(f"bad value for {key!r}: {e}") from None
    return config


def runs(definition: dict, out: Path) -> list[Run]:
    """Every point × seed, in the definition's order, each with its config and run directory."""
    unknown = set(definition) - DEFINITION_KEYS
    if unknown:
        raise JazzFlaxError(
            f"unknown keys in the sweep definition: {', '.join(sorted(unknown))}",
            hint=f"use {', '.join(sorted(DEFINITION_KEYS))}",
        )
    seeds = definition.get("seeds", DEFAULT_SEEDS)
    if "base" not in definition or not definition.get("points") or not seeds:
        raise JazzFlaxError("a sweep needs a base, seeds and points")
    base = override(definition["base"], definition.get("overrides", {}))
    result, labels = [], [label(point) for point in definition["points"]]
    if len(set(labels)) < len(labels):
        raise JazzFlaxError("two points of the sweep are the same")
    for point, name in zip(definition["points"], labels, strict=True):
        for seed in seeds:
            config = override(base, {**point, "seed": seed})
            config_lib.check(config)
            check_vmap(definition, config)
            result.append(Run(name, seed, config, out / name / f"seed{seed}"))
    return result


def check_vmap(definition: dict, config: ml_collections.ConfigDict) -> None:
    """`vmap=True` trains all epochs in one call, on every window: not a corpus split by piece
    (validated between calls) nor `data.windows_per_epoch`."""
    split = config.data.split_seed is not None
    if definition.get("vmap") and (split or config.data.windows_per_epoch):
        raise JazzFlaxError(
            "vmap=True cannot validate between calls (a corpus split by piece) nor sample "
            "data.windows_per_epoch windows an epoch",
            hint="leave vmap out of the sweep definition: its runs train one after another",
        )


def eval_config(definition: dict) -> ml_collections.ConfigDict:
    return override(evaluate.default_config(), definition.get("eval", {}))


# ---------------------------------------------------------------------------------------------
# Running


def finished(run: Run, eval_settings: ml_collections.ConfigDict, fingerprint: str) -> Result | None:
    """The run's result if its directory holds one for the same config, evaluation and data (the
    corpus' `data_fingerprint`)."""
    try:
        summary = json.loads((run.workdir / SUMMARY).read_text())
        rows = [json.loads(line) for line in (run.workdir / METRICS).read_text().splitlines()]
    except (OSError, ValueError):
        return None
    saved = config_lib.with_defaults(summary.get("config", {}))  # settings added since: defaults
    same = saved == _plain(run.config) and summary.get("eval") == _plain(eval_settings)
    if not same or summary.get("data") != fingerprint or len(rows) != run.config.epochs:
        return None
    return Result(run, summary, np.array([row["loss"] for row in rows], float))


def data_fingerprint(corpus: data.Corpus) -> str:
    """The sha256 of what a run is trained and scored on: the corpus' tokens and chords, piece by
    piece, its vocabulary and, split by piece, its splits."""
    digest = hashlib.sha256(corpus.vocab.to_json().encode())
    for piece in corpus.pieces:
        chords = [[(c.offset, c.pitches) for c in measure] for measure in piece.chords]
        digest.update(json.dumps([piece.measures, chords]).encode())
    digest.update(json.dumps(dict(getattr(corpus, "indices", {})), sort_keys=True).encode())
    return digest.hexdigest()


def _plain(config: ml_collections.ConfigDict) -> dict:
    """The config as JSON reads it back (tuples as lists), to compare with a saved one."""
    return json.loads(config.to_json())


def groups(pending: Sequence[Run]) -> list[list[Run]]:
    """The runs grouped by everything but the TRACED settings: one compiled program each."""
    result: dict[str, list[Run]] = {}
    for run in pending:
        settings = {key: value for key, value in _plain(run.config).items() if key not in TRACED}
        result.setdefault(json.dumps(settings, sort_keys=True), []).append(run)
    return list(result.values())


def cost(group: Sequence[Run], n_windows: int, n_values: int) -> float:
    """Rough multiply-adds of training the group, to start the longest groups first: each
    parameter is used about once per token, whatever the cell."""
    config = group[0].config
    rows = math.ceil(n_windows / config.batch_size) * config.batch_size
    init = functools.partial(init_params, make_model(config, n_values), scheme="flax")
    per_token = sum(leaf.size for leaf in jax.tree.leaves(jax.eval_shape(init, jax.random.key(0))))
    return len(group) * config.epochs * rows * config.data.Tx * per_token


def start_group(group: Sequence[Run], corpus: data.Corpus, stacked: bool):
    """(fresh states, training keys, the EpochRunner of them all, the windows): the keys derived
    from each seed as `train.train` does, one optimiser for all (lr and decay live in each
    state)."""
    config = group[0].config
    model, tx = make_model(config, len(corpus.vocab)), optimizers.make_optimizer(config)
    init_keys, train_keys = zip(*(train.run_keys(run.config) for run in group), strict=True)
    states = [
        train.create_state(run.config, model, key, tx)
        for run, key in zip(group, init_keys, strict=True)
    ]
    windows = train.training_windows(config, corpus)
    per_epoch = config.data.windows_per_epoch
    runner = train.EpochRunner(
        windows, train_keys[0], config.batch_size, stacked=stacked, per_epoch=per_epoch
    )
    return states, train_keys, runner, windows


def train_group(group: Sequence[Run], corpus: data.Corpus, vmap: bool):
    """Trains the group's runs with one compiled program into their run directories; returns
    ([train.Fitted] in the group's order, the runner, whose compile seconds they share).

    One after another, each through `train.fit`: bit for bit the run `train.train` makes of its
    config (of a corpus split by piece, validated between calls, the best state kept). With
    `vmap`, all at once in one call of every epoch (`train_stacked`)."""
    if vmap:
        return train_stacked(group, corpus)
    states, train_keys, runner, windows = start_group(group, corpus, stacked=False)
    valid = train.validation_segments(group[0].config, corpus)
    fitted = [
        train.fit(
            run.config,
            runner,
            train.Start(windows, corpus.vocab, state, [], valid),
            key=key,
            workdir=run.workdir,
        )
        for run, state, key in zip(group, states, train_keys, strict=True)
    ]
    return fitted, runner


def train_stacked(group: Sequence[Run], corpus: data.Corpus):
    """The group's runs stacked (`train.train_epochs_stacked`), every epoch in one call, each
    run's directory written as `train.fit` writes it; each run's seconds are its share."""
    config = group[0].config
    states, train_keys, runner, windows = start_group(group, corpus, stacked=True)
    stacked = jax.tree.map(lambda *leaves: np.stack(leaves), *states)  # on the host: no
    epochs = np.arange(config.epochs)  # small stacking programs to compile
    state, losses, seconds = runner(stacked, epochs, jnp.stack(train_keys))
    state = jax.tree.map(np.asarray, state)
    fitted = []
    for i, run in enumerate(group):
        one = jax.tree.map(lambda leaf, i=i: leaf[i], state)
        history = train.history_rows(
            run.config, len(windows.x), epochs, losses[i], seconds / len(group)
        )
        recorder = Recorder(run.workdir, run.config)
        recorder.save(one, history, corpus.vocab)
        fitted.append(train.Fitted(one, history))
        recorder.finish(make_model(run.config, len(corpus.vocab)), fitted[-1], corpus.vocab)
    return fitted, runner


def run_group(group, corpus: data.Corpus, eval_settings, vmap: bool) -> list[Result]:
    """Trains a group, then evaluates each of its runs and writes its summary, printing one line
    per run."""
    fitted, runner = train_group(group, corpus, vmap)
    results = []
    for run, outcome in zip(group, fitted, strict=True):
        trained = sum(row["seconds"] for row in outcome.history)
        times = dict(compile=runner.compile_seconds, train=trained)
        results.append(finish_run(run, outcome, times, corpus, eval_settings))
        print(progress_line(results[-1]), flush=True)
    return results


def epoch_windows(config: ml_collections.ConfigDict, corpus: data.Corpus) -> int:
    """The windows an epoch of `config` trains on (`data.windows_per_epoch` of them, if set)."""
    n_windows = len(train.training_windows(config, corpus).x)
    return train.epoch_windows(n_windows, config.data.windows_per_epoch)


def finish_run(
    run: Run,
    fitted: train.Fitted,
    seconds: dict,
    corpus: data.Corpus,
    eval_settings: ml_collections.ConfigDict,
) -> Result:
    """Evaluates a trained run and writes its summary.json, which marks it done. Of a corpus
    split by piece, the best validation state is the one evaluated (kept in the run's BEST)."""
    began = time.perf_counter()
    best = fitted.best
    params = (best or fitted).state.params
    result = evaluate.evaluate(run.config, params, corpus, eval_settings)
    seconds = dict(seconds, eval=time.perf_counter() - began)
    losses = np.array([row["loss"] for row in fitted.history], float)
    validation = dict(best_epoch=best.epoch, best_valid_nll=best.nll) if best else {}
    summary = dict(
        config=_plain(run.config),
        data=data_fingerprint(corpus),  # a run on data changed since is not finished
        params=count_params(params),
        epoch_1_loss=float(losses[0]),
        final_loss=float(losses[-1]),
        **validation,
        **result,
        seconds={key: round(value, 3) for key, value in seconds.items()},
    )
    atomic_write(run.workdir / SUMMARY, evaluate.dumps(summary))
    return Result(run, json.loads(evaluate.dumps(summary)), losses)


def run_sweep(definition: dict, out: str | Path, name: str | None = None) -> list[Result]:
    """Trains and evaluates every run not finished yet; writes results.{csv,md} and curves.png.

    Groups run in up to `WORKERS` threads, the costliest first: different compiled programs run
    (and compile) in parallel. Prints one line per finished run: point, seed, final loss,
    held-out NLL, seconds.
    """
    began = time.perf_counter()
    out = Path(out)
    name = name or out.name
    all_runs = runs(definition, out)
    eval_settings = eval_config(definition)
    corpora = load_corpora(all_runs)  # here, once each, not by the threads
    fingerprints = {key: data_fingerprint(corpus) for key, corpus in corpora.items()}
    done = {
        run.workdir: finished(run, eval_settings, fingerprints[_data_key(run)]) for run in all_runs
    }
    pending = [run for run in all_runs if done[run.workdir] is None]
    print(
        f"sweep {name}: {len(definition['points'])} points × "
        f"{len(all_runs) // len(definition['points'])} seeds, "
        f"{len(all_runs) - len(pending)} finished already",
        flush=True,
    )
    work = []
    for group in groups(pending):
        corpus = corpora[_data_key(group[0])]
        n_windows = epoch_windows(group[0].config, corpus)
        work.append((cost(group, n_windows, len(corpus.vocab)), group, corpus))
    work.sort(key=lambda item: -item[0])
    vmap = definition.get("vmap", False)
    pool = concurrent.futures.ThreadPoolExecutor(max(1, min(WORKERS, len(work))))
    futures = [
        pool.submit(run_group, group, corpus, eval_settings, vmap) for _, group, corpus in work
    ]
    try:
        for future in concurrent.futures.as_completed(futures):
            done.update((result.run.workdir, result) for result in future.result())
    except BaseException as e:
        stop(pool, futures)
        if isinstance(e, KeyboardInterrupt) or interrupts.received():
            raise interrupted(done, out) from None
        raise
    pool.shutdown()
    results = [done[run.workdir] for run in all_runs]
    write_results(results, definition, out, name)
    print(
        f"{len(pending)} runs trained, {len(all_runs) - len(pending)} skipped, "
        f"in {time.perf_counter() - began:.1f} s: {out / 'results.md'}",
        flush=True,
    )
    return results


def stop(pool: concurrent.futures.Executor, futures: Sequence[concurrent.futures.Future]) -> None:
    """Cancels the groups not started, and waits `STOP_SECONDS` at most for those in flight: on
    the command line they stop at their next check (`train.fit`'s, between calls, its checkpoint
    written), and the process ends without waiting for the others, in the middle of a call (or of
    a compile), which writes nothing; their run directories keep what `train` would keep."""
    pool.shutdown(wait=False, cancel_futures=True)
    concurrent.futures.wait(futures, timeout=STOP_SECONDS)


def interrupted(done: dict, out: Path) -> JazzFlaxError:
    finished_runs = sum(result is not None for result in done.values())
    return JazzFlaxError(
        f"interrupted; {finished_runs} of {len(done)} runs of {out} are finished",
        hint="run the sweep again: it skips those, and trains the others from the start",
    )


def load_corpora(all_runs: Sequence[Run]) -> dict[str, data.Corpus]:
    """The corpus of each distinct data config of the runs (`_data_key`)."""
    corpora = {}
    for run in all_runs:
        if _data_key(run) not in corpora:
            corpora[_data_key(run)] = data.load_corpus_from_config(run.config.data)
    return corpora


def _data_key(run: Run) -> str:
    return run.config.data.to_json()


def progress_line(result: Result) -> str:
    summary = result.summary
    seconds = summary["seconds"]
    if "best_epoch" in summary:
        scores = (
            f"test NLL {number(summary['test']['nll'], 3):>6} at epoch {summary['best_epoch']} "
            f"(valid {summary['best_valid_nll']:.3f})"
        )
    else:
        scores = f"held-out NLL {number(summary['heldout']['nll'], 3):>6}"
    return (
        f"{result.run.label:<20} seed {result.run.seed:<3} loss {summary['final_loss']:8.3f}  "
        f"{scores}  "
        f"{seconds['train'] + seconds['eval']:.2f} s (+ {seconds['compile']:.2f} s compile)"
    )

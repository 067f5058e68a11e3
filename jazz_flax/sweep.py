"""Sweeps: every point × seed of a definition trained, evaluated and tabulated with error bars.

A definition, experiments/sweeps/<name>.py:

    def get_sweep():
        return dict(
            base="baseline",                         # experiments/baseline.py, or a ConfigDict
            seeds=[0, 1, 2],
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

A corpus split by piece (`data.split_seed`, e.g. experiments/wjazzd.py) trains as `train.train`
does: `data.windows_per_epoch` windows an epoch, `epochs_per_call` epochs a call, the validation
NLL after each call (`valid_nll` in metrics.jsonl); the state of the lowest is the one evaluated
(its test split's scores in summary.json, with `best_epoch` and `best_valid_nll`) and kept in the
run's best/ folder. results.md then tabulates the test NLL against the bigram baseline's.

A run whose summary.json holds the same config and evaluation settings is finished: a restarted
sweep reads it instead of training it again. Settings added since the run was written count as
their defaults (`train.with_defaults`).

Compiled programs. Runs whose configs differ only in `TRACED` settings (seed, lr, decay: the keys,
the initial parameters and the optimiser state are arrays) form a group that shares one compiled
training program, all its epochs in one call; the group's runs go through that one executable one
after another — each run is then bit for bit the run `train.train` makes of its config — or, with
`vmap=True` in the definition, all at once through `train.train_epochs_stacked` (`jax.vmap` over
the stacked states). On the project's 2-core CPU, vmap was faster for some hidden sizes and slower
for others and compiles longer, so one by one is the default; vmap stays an option (on an
accelerator it should win); the figures are in experiments/BENCHMARKS.md ("Sweeps"). Settings
that change shapes or the program (n_a, layers, Tx, m, batch size, dropout, init, cell, loss)
get their own group and compile. vmap is refused for a corpus split by piece (validated between
calls) and for `data.windows_per_epoch`.

Groups run in `WORKERS` threads, the costliest first (`cost`): two different executables run in
parallel, one per core, where one small model's program would use only one (one executable runs
one call at a time, so a group's runs stay in one thread); BENCHMARKS.md has what it saved. The
seconds a run reports are wall time in that company. Each run is evaluated with
`evaluate.evaluate` (held-out windows, `eval.solos` solos; of a corpus split by piece the test
split and the changes of `eval.test_solos` test solos) and its directory written; the tables
come last.
"""

from __future__ import annotations

import ast
import concurrent.futures
import csv
import functools
import io
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

from jazz_flax import data, evaluate, ngrams, train
from jazz_flax.errors import JazzFlaxError
from jazz_flax.files import atomic_write, call_function, write_figure
from jazz_flax.model import count_params, init_params

TRACED = ("seed", "lr", "decay")  # settings that do not change the compiled training program
DEFINITION_KEYS = {"base", "base_name", "seeds", "points", "overrides", "eval", "vmap"}
SUMMARY = "summary.json"
METRICS = "metrics.jsonl"
WORKERS = os.cpu_count() or 1  # groups trained at once (threads)


class Run(NamedTuple):
    """One point × seed of a sweep."""

    label: str  # the point, e.g. "n_a=16"
    seed: int
    config: ml_collections.ConfigDict
    workdir: Path


class Best(NamedTuple):
    """The state of a run's lowest validation NLL, copied to the host."""

    epoch: int  # 1-based: the last epoch of the call it followed
    nll: float
    state: train.TrainState


class Trained(NamedTuple):
    """A run's training: its last state, its loss per epoch and seconds; of a corpus split by
    piece, its validation NLL after each call ({epoch: NLL}) and the best of them."""

    state: train.TrainState
    losses: np.ndarray  # float (epochs,)
    seconds: float
    valid_nll: dict | None = None
    best: Best | None = None


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
    if seeds:
        try:
            changed["seeds"] = [int(seed) for seed in seeds]
        except ValueError:
            raise JazzFlaxError(f"--seeds takes integers, got {','.join(seeds)}") from None
    if settings:
        changed["overrides"] = dict(definition.get("overrides", {}))
        changed["overrides"].update(_setting(setting) for setting in settings)
    return changed


def _setting(text: str) -> tuple[str, object]:
    """("data.solos", "JohnColtrane_*") from "data.solos=JohnColtrane_*"; ("epochs", 60) …"""
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise JazzFlaxError(f"--set {text!r} is not KEY=VALUE", hint="e.g. --set epochs=60")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def label(point: dict) -> str:
    """A point's name and folder: "n_a=16", "data.Tx=20,lr=0.003"; "base" for no change."""
    text = ",".join(f"{key}={value}" for key, value in point.items()) or "base"
    return text.replace("/", "_").replace(" ", "")


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
    if "base" not in definition or not definition.get("points") or not definition.get("seeds"):
        raise JazzFlaxError("a sweep needs a base, seeds and points")
    base = override(definition["base"], definition.get("overrides", {}))
    result, labels = [], [label(point) for point in definition["points"]]
    if len(set(labels)) < len(labels):
        raise JazzFlaxError("two points of the sweep are the same")
    for point, name in zip(definition["points"], labels, strict=True):
        for seed in definition["seeds"]:
            config = override(base, {**point, "seed": seed})
            train.check_config(config)
            check_vmap(definition, config)
            result.append(Run(name, seed, config, out / name / f"seed{seed}"))
    return result


def check_vmap(definition: dict, config: ml_collections.ConfigDict) -> None:
    """`vmap=True` trains all epochs in one call, on every window: not a corpus split by piece
    (validated between calls) nor `data.windows_per_epoch`."""
    split = config.data.get("split_seed") is not None
    if definition.get("vmap") and (split or config.data.get("windows_per_epoch")):
        raise JazzFlaxError(
            "vmap=True cannot validate between calls (a corpus split by piece) nor sample "
            "data.windows_per_epoch windows an epoch",
            hint="leave vmap out of the sweep definition: its runs train one after another",
        )


def eval_config(definition: dict) -> ml_collections.ConfigDict:
    return override(evaluate.default_config(), definition.get("eval", {}))


# ---------------------------------------------------------------------------------------------
# Running


def finished(run: Run, eval_settings: ml_collections.ConfigDict) -> Result | None:
    """The run's result if its directory holds one for the same config and evaluation."""
    try:
        summary = json.loads((run.workdir / SUMMARY).read_text())
        rows = [json.loads(line) for line in (run.workdir / METRICS).read_text().splitlines()]
    except (OSError, ValueError):
        return None
    saved = train.with_defaults(summary.get("config", {}))  # settings added since: defaults
    same = saved == _plain(run.config) and summary.get("eval") == _plain(eval_settings)
    if not same or len(rows) != run.config.epochs:
        return None
    return Result(run, summary, np.array([row["loss"] for row in rows], float))


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
    init = functools.partial(init_params, train.make_model(config, n_values), scheme="flax")
    per_token = sum(leaf.size for leaf in jax.tree.leaves(jax.eval_shape(init, jax.random.key(0))))
    return len(group) * config.epochs * rows * config.data.Tx * per_token


def start_group(group: Sequence[Run], corpus: data.Corpus, stacked: bool):
    """(fresh states, training keys, the EpochRunner of them all): the keys derived from each
    seed as `train.train` does, one optimiser for all (lr and decay live in each state)."""
    config = group[0].config
    model = train.make_model(config, len(corpus.vocab))
    tx = train.make_optimizer(config)
    init_keys, train_keys = zip(
        *(jax.random.split(jax.random.key(run.config.seed)) for run in group), strict=True
    )
    states = [
        train.create_state(run.config, model, key, tx)
        for run, key in zip(group, init_keys, strict=True)
    ]
    windows = train.training_windows(config, corpus)
    per_epoch = config.data.get("windows_per_epoch")
    runner = train.EpochRunner(
        windows, train_keys[0], config.batch_size, stacked=stacked, per_epoch=per_epoch
    )
    return states, train_keys, runner


def train_group(group: Sequence[Run], corpus: data.Corpus, vmap: bool) -> tuple[list, float]:
    """Trains the group's runs with one compiled program, all epochs in one call.

    Returns ([(state, losses (E,), seconds)] in the group's order, compile seconds). With `vmap`,
    `seconds` is each run's share.
    """
    config = group[0].config
    states, train_keys, runner = start_group(group, corpus, stacked=vmap)
    epochs = np.arange(config.epochs)
    if vmap:  # stacked on the host: no small stacking programs to compile
        stacked = jax.tree.map(lambda *leaves: np.stack(leaves), *states)
        state, losses, seconds = runner(stacked, epochs, jnp.stack(train_keys))
        state = jax.tree.map(np.asarray, state)
        results = [
            (jax.tree.map(lambda leaf, i=i: leaf[i], state), losses[i], seconds / len(group))
            for i in range(len(group))
        ]
    else:
        results = [
            runner(state, epochs, key) for state, key in zip(states, train_keys, strict=True)
        ]
    return results, runner.compile_seconds


def train_validated(group: Sequence[Run], corpus: data.Corpus, valid: data.Windows):
    """Trains the group's runs one after another as `train.train` does a corpus split by piece:
    `epochs_per_call` epochs a call, the validation NLL after each, the best state kept.

    Returns ([Trained] in the group's order, compile seconds).
    """
    states, train_keys, runner = start_group(group, corpus, stacked=False)
    model = train.make_model(group[0].config, len(corpus.vocab))
    score = functools.partial(train.validation_nll, model, valid=valid)
    trained = [
        train_run_validated(run.config, runner, state, key, score)
        for run, state, key in zip(group, states, train_keys, strict=True)
    ]
    return trained, runner.compile_seconds


def train_run_validated(config, runner: train.EpochRunner, state, key, score) -> Trained:
    """One run through `runner` in calls of `epochs_per_call` epochs, `score(params)` (the
    validation NLL) after each; the state of the lowest copied to the host."""
    losses, nlls, seconds, best = [], {}, 0.0, None
    for epochs in train.epoch_calls(config.epochs, train.epochs_per_call(config)):
        state, chunk, took = runner(state, epochs, key)
        losses.append(np.asarray(chunk))
        seconds += took
        epoch = int(epochs[-1]) + 1
        nlls[epoch] = score(state.params)
        if best is None or nlls[epoch] < best.nll:
            best = Best(epoch, nlls[epoch], jax.device_get(state))  # the next call donates it
    return Trained(state, np.concatenate(losses), seconds, nlls, best)


def run_group(
    group, corpus: data.Corpus, n_windows: int, eval_settings, vmap: bool
) -> list[Result]:
    """Trains a group, then evaluates and writes each of its runs, printing one line per run;
    `n_windows`: the windows an epoch trains on (`epoch_windows`)."""
    config = group[0].config
    valid = train.validation_windows(config, corpus)
    if valid is None:
        trained, compile_seconds = train_group(group, corpus, vmap)
        trained = [Trained(*outcome) for outcome in trained]
    else:
        trained, compile_seconds = train_validated(group, corpus, valid)
    results = []
    for run, outcome in zip(group, trained, strict=True):
        times = dict(compile=compile_seconds, train=outcome.seconds)
        results.append(finish_run(run, outcome, times, n_windows, corpus, eval_settings))
        print(progress_line(results[-1]), flush=True)
    return results


def epoch_windows(config: ml_collections.ConfigDict, corpus: data.Corpus) -> int:
    """The windows an epoch of `config` trains on (`data.windows_per_epoch` of them, if set)."""
    n_windows = len(train.training_windows(config, corpus).x)
    return train.epoch_windows(n_windows, config.data.get("windows_per_epoch"))


def finish_run(
    run: Run,
    trained: Trained,
    seconds: dict,
    n_windows: int,
    corpus: data.Corpus,
    eval_settings: ml_collections.ConfigDict,
) -> Result:
    """Evaluates a trained run and writes its directory; summary.json last (it marks it done).

    Of a corpus split by piece, the best validation state is the one evaluated, and saved in the
    run's BEST folder (as `train.train` does)."""
    began = time.perf_counter()
    best = trained.best
    params = (best or trained).state.params
    result = evaluate.evaluate(run.config, params, corpus, eval_settings)
    seconds = dict(seconds, eval=time.perf_counter() - began)
    losses = np.asarray(trained.losses)
    history = train.history_rows(
        run.config, n_windows, np.arange(run.config.epochs), losses, seconds["train"]
    )
    for row in history:
        if row["epoch"] in (trained.valid_nll or {}):
            row["valid_nll"] = trained.valid_nll[row["epoch"]]
    atomic_write(run.workdir / "config.json", run.config.to_json(indent=2) + "\n")
    train.save(run.workdir, trained.state, history, corpus.vocab, run.config)
    validation = {}
    if best is not None:
        train.save(
            run.workdir / train.BEST, best.state, history[: best.epoch], corpus.vocab, run.config
        )
        validation = dict(best_epoch=best.epoch, best_valid_nll=best.nll)
    summary = dict(
        config=_plain(run.config),
        params=count_params(params),
        epoch_1_loss=float(losses[0]),
        final_loss=float(losses[-1]),
        **validation,
        **result,
        seconds={key: round(value, 3) for key, value in seconds.items()},
    )
    atomic_write(run.workdir / SUMMARY, evaluate.dumps(summary))
    return Result(run, json.loads(evaluate.dumps(summary)), np.asarray(losses, float))


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
    done = {run.workdir: finished(run, eval_settings) for run in all_runs}
    pending = [run for run in all_runs if done[run.workdir] is None]
    print(
        f"sweep {name}: {len(definition['points'])} points × {len(definition['seeds'])} seeds, "
        f"{len(all_runs) - len(pending)} finished already",
        flush=True,
    )
    corpora = {}  # loaded here, once each, not by the threads
    for run in pending:
        key = run.config.data.to_json()
        if key not in corpora:
            corpora[key] = data.load_corpus_from_config(run.config.data)
    work = []
    for group in groups(pending):
        corpus = corpora[group[0].config.data.to_json()]
        n_windows = epoch_windows(group[0].config, corpus)
        work.append((cost(group, n_windows, len(corpus.vocab)), group, corpus, n_windows))
    work.sort(key=lambda item: -item[0])
    vmap = definition.get("vmap", False)
    with concurrent.futures.ThreadPoolExecutor(max(1, min(WORKERS, len(work)))) as pool:
        futures = [
            pool.submit(run_group, group, corpus, n_windows, eval_settings, vmap)
            for _, group, corpus, n_windows in work
        ]
        try:
            for future in futures:
                done.update((result.run.workdir, result) for result in future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    results = [done[run.workdir] for run in all_runs]
    write_results(results, definition, out, name)
    print(
        f"{len(pending)} runs trained, {len(all_runs) - len(pending)} skipped, "
        f"in {time.perf_counter() - began:.1f} s: {out / 'results.md'}",
        flush=True,
    )
    return results


def progress_line(result: Result) -> str:
    summary = result.summary
    seconds = summary["seconds"]
    if "best_epoch" in summary:
        scores = (
            f"test NLL {_number(summary['test']['nll'], 3):>6} at epoch {summary['best_epoch']} "
            f"(valid {summary['best_valid_nll']:.3f})"
        )
    else:
        scores = f"held-out NLL {_number(summary['heldout']['nll'], 3):>6}"
    return (
        f"{result.run.label:<20} seed {result.run.seed:<3} loss {summary['final_loss']:8.3f}  "
        f"{scores}  "
        f"{seconds['train'] + seconds['eval']:.2f} s (+ {seconds['compile']:.2f} s compile)"
    )


# ---------------------------------------------------------------------------------------------
# Results

CSV_SCORES = ("final_loss", "epoch_1_loss", "params")
TEST_SCORES = ("tokens", "oov_rate", *evaluate.HELDOUT_KEYS)  # of a corpus split by piece


def _flat(summary: dict) -> dict:
    """A run's numbers: losses, held-out scores, the musical metrics, seconds; of a corpus split
    by piece also the best validation epoch, the test split's scores and its baselines' NLL."""
    row = {key: summary[key] for key in CSV_SCORES}
    row.update({f"heldout_{key}": summary["heldout"][key] for key in evaluate.HELDOUT_KEYS})
    if "test" in summary:
        test = summary["test"]
        row.update({key: summary.get(key) for key in ("best_epoch", "best_valid_nll")})
        row.update({f"test_{key}": test[key] for key in TEST_SCORES})
        row.update({f"{key}_nll": value for key, value in test["baselines"].items()})
        generated = summary["test_changes"]["generated"]
        row.update({f"test_changes_{key}": value for key, value in generated.items()})
    row.update(summary["generated"])
    row.update({f"{key}_seconds": value for key, value in summary["seconds"].items()})
    return {key: math.nan if value is None else value for key, value in row.items()}


def write_results(results: Sequence[Result], definition: dict, out: Path, name: str) -> None:
    rows = [dict(point=r.run.label, seed=r.run.seed, **_flat(r.summary)) for r in results]
    buffer = io.StringIO()
    fieldnames = list(dict.fromkeys(key for row in rows for key in row))  # older runs: fewer
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(out / "results.csv", buffer.getvalue())
    atomic_write(out / "results.md", results_markdown(results, definition, name))
    plot_curves(results, out / "curves.png", title=f"sweep {name}")


def by_point(results: Sequence[Result]) -> dict[str, list[Result]]:
    points: dict[str, list[Result]] = {}
    for result in results:
        points.setdefault(result.run.label, []).append(result)
    return points


def _number(value, digits: int) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _mean_std(values: Sequence[float], digits: int) -> str:
    """ "mean ± std" over seeds (sample std; none for one seed); "—" when a value is missing."""
    values = np.array([math.nan if v is None else v for v in values], float)
    if not np.all(np.isfinite(values)):
        return "—"
    if len(values) == 1:
        return _number(values[0], digits)
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


MARKDOWN_METRICS = (  # musical metrics in results.md, with their digits
    ("chord_tone_ratio", 2),
    ("scale_tone_ratio", 2),
    ("pitch_class_entropy", 2),
    ("mean_abs_interval", 1),
    ("notes_per_measure", 1),
    ("rest_ratio", 2),
    ("duration_distance", 2),
    ("clean_measure_ratio", 2),
    ("strong_beat_chord_tones", 2),  # jazz_flax.line_metrics
    ("register_span", 1),
    ("spacing_sixteenths", 2),
    ("motif_reuse", 2),
    ("harmony_onsets_differ", 2),
)


def _title(results: Sequence[Result], definition: dict, name: str) -> list[str]:
    """results.md's title and the line naming the base, the seeds and the epochs."""
    base = definition.get("overrides", {})
    changed = f" + `{label(base)}`" if base else ""
    seeds = ", ".join(str(seed) for seed in definition["seeds"])
    return [
        f"# Sweep `{name}`",
        "",
        f"Base `{definition.get('base_name', 'config')}`{changed} · seeds {seeds} · "
        f"{results[0].run.config.epochs} epochs.",
        "",
    ]


def results_markdown(results: Sequence[Result], definition: dict, name: str) -> str:
    """A GitHub table, one row per point, and the training solo's musical metrics last; of a
    corpus split by piece, `split_markdown`'s."""
    first = results[0]
    if "test" in first.summary:
        return split_markdown(results, definition, name)
    settings = first.summary["eval"]
    heldout = first.summary["heldout"]
    held_text = (
        f"held-out: the last {heldout['measures']} measures, {heldout['tokens']} tokens; NLL in "
        "nats/token, accuracy of the argmax"
        if heldout["tokens"]
        else "nothing held out"
    )
    lines = _title(results, definition, name) + [
        f"Final training loss and held-out scores: mean ± std over the seeds ({held_text}). "
        f"Musical metrics: mean over {settings['solos']} solos per seed (temperature "
        f"{settings['temperature']:g}), the training solo's last. s/run: training and evaluation "
        "of one run; compile s: once per point, its seeds share the program.",
        "",
    ]
    header = ["setting", "params", "final loss", "held-out NLL", "accuracy"]
    header += [evaluate.LABELS[key] for key, _ in MARKDOWN_METRICS] + ["s/run", "compile s"]
    lines += ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for point, members in by_point(results).items():
        summaries = [member.summary for member in members]
        cells = [
            f"`{point}`",
            f"{summaries[0]['params']:,}",
            _mean_std([s["final_loss"] for s in summaries], 2),
            _mean_std([s["heldout"]["nll"] for s in summaries], 2),
            _mean_std([s["heldout"]["accuracy"] for s in summaries], 2),
        ]
        for key, digits in MARKDOWN_METRICS:
            values = [s["generated"].get(key) for s in summaries]
            cells.append(_number(np.nanmean([np.nan if v is None else v for v in values]), digits))
        cells += _seconds(summaries)
        lines.append("| " + " | ".join(cells) + " |")
    reference = first.summary["training_solo"]
    cells = ["training solo", "", "", "", ""]
    cells += [_number(reference.get(key), digits) for key, digits in MARKDOWN_METRICS] + ["", ""]
    lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "![Mean training loss per setting, ±std over the seeds](curves.png)"]
    return "\n".join(lines) + "\n"


def _seconds(summaries: Sequence[dict]) -> list[str]:
    """The s/run and compile s cells of a point."""
    run_seconds = [s["seconds"]["train"] + s["seconds"]["eval"] for s in summaries]
    return [_number(np.mean(run_seconds), 2), _number(summaries[0]["seconds"]["compile"], 1)]


SPLIT_HEADER = ["setting", "params", "best epoch", "valid NLL", "test NLL", "vs bigram"]
SPLIT_HEADER += ["vs best n-gram", "perplexity", "top-1", "s/run", "compile s"]


def split_markdown(results: Sequence[Result], definition: dict, name: str) -> str:
    """results.md of a corpus split by piece: per point, the best validation epoch and NLL and the
    test split's scores of that epoch's state, mean ± std over the seeds."""
    first = results[0]
    test = first.summary["test"]
    per_call = train.epochs_per_call(first.run.config)
    baselines = ", ".join(f"{key} {value:.3f}" for key, value in test["baselines"].items())
    lines = _title(results, definition, name) + [
        f"Each run is scored at its best validation epoch (validated after every {per_call} "
        f"epoch{'s' * (per_call > 1)}). "
        f"Test split: {test['tokens']:,} tokens ({test['oov_rate']:.2%} OOV); NLL in "
        f"nats/token, vs bigram / best n-gram: the test NLL's difference to the Witten–Bell "
        f"bigram's / the lowest baseline's; top-1: accuracy "
        f"of the argmax. Baselines fitted on the training split: {baselines}. Mean ± std over "
        "the seeds; s/run: training and evaluation of one run. Musical metrics: results.csv.",
        "",
        "| " + " | ".join(SPLIT_HEADER) + " |",
        "|---" + "|---:" * (len(SPLIT_HEADER) - 1) + "|",
    ]
    for point, members in by_point(results).items():
        summaries = [member.summary for member in members]
        tests = [s["test"] for s in summaries]
        vs_bigram = [ngrams.gain(t["nll"], t["baselines"], "bigram") for t in tests]
        vs_best = [ngrams.gain(t["nll"], t["baselines"]) for t in tests]
        cells = [
            f"`{point}`",
            f"{summaries[0]['params']:,}",
            _mean_std([s["best_epoch"] for s in summaries], 0),
            _mean_std([s["best_valid_nll"] for s in summaries], 3),
            _mean_std([t["nll"] for t in tests], 3),
            _percent(vs_bigram),
            _percent(vs_best),
            _mean_std([t["perplexity"] for t in tests], 1),
            _mean_std([t["accuracy"] for t in tests], 3),
        ]
        lines.append("| " + " | ".join(cells + _seconds(summaries)) + " |")
    lines += ["", "![Mean training loss per setting, ±std over the seeds](curves.png)"]
    return "\n".join(lines) + "\n"


def _percent(gains: Sequence[float | None]) -> str:
    """`_mean_std` of relative differences, in %; "—" where one is missing (older summaries)."""
    text = _mean_std([None if gain is None else 100 * gain for gain in gains], 1)
    return text if text == "—" else f"{text} %"


def plot_curves(results: Sequence[Result], path: Path, title: str = "") -> None:
    """Mean training loss per point (log scale) with ±std bands, and the notebook's two values
    (not for a corpus split by piece)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for point, members in by_point(results).items():
        losses = np.stack([member.losses for member in members])
        mean, std = losses.mean(axis=0), losses.std(axis=0)
        epochs = np.arange(1, len(mean) + 1)
        (line,) = ax.plot(epochs, mean, label=point)
        ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    if "test" not in results[0].summary:  # the notebook's solo, not a corpus split by piece
        reference = train.REFERENCE
        ax.plot([1, 100], [reference["epoch_1"], reference["epoch_100"]], "ko", label="notebook")
    ax.set(xlabel="epoch", ylabel="training loss (Σ over time of the cross-entropy)", yscale="log")
    ax.set_title(title)
    ax.legend(fontsize="small")
    write_figure(fig, path, bbox_inches="tight")

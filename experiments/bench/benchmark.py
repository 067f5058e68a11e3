"""`make bench`: how fast jazz_flax compiles, trains and samples, beside PyTorch when installed.

Every figure is the median of `--repeats` (≥ 5) timed runs after a warm-up run:

  compile   the training program (`train.EpochRunner`: trace, lower and compile `train_epochs`
            for EPOCHS_PER_CALL epochs) and the sampler (`sample.sample`'s first call less a
            warm one), each from empty in-memory caches, no persistent cache;
  train     100 epochs of the baseline (m=60, Tx=30, n_a=64, batch 32: 200 Adam steps) through
            `train.EpochRunner`, as `make train` runs them (on a CPU, each batch split over one
            device per core: `parallel.split_cpu`): the Metheny windows when
            data/original_metheny.mid is there, else windows of random ids over 85 values;
  sample    one greedy 50-token solo (batch 1), and tokens/s of batches of 1 … 4096 (temperature 1);
  beam      a 200-token beam search (beam 8, branch factor 4, 1 step per iteration) beside plain
            sampling of 200 tokens (batch 1), both at temperature 1;
  cells     train (100 epochs) and greedy sample again with each cell of `cells.CELLS`;
  scaling   time per epoch and per token as n_a (64 … 1024), Tx (30 … 480) and the number of
            windows (60 … 10,000) grow, on random ids, one device, one epoch per call and as
            many calls per run as fit in about 0.3 s (a single one at the big end);
  torch     the same model, loss and optimiser in PyTorch eager (`nn.LSTM` + `nn.Linear`, Adam with
            legacy Keras decay via LambdaLR, summed masked cross-entropy, shuffled batches of 32):
            100 epochs and a greedy 50-token sample as a Python step loop, on CUDA when JAX runs
            on a GPU. Skipped, saying so, when torch is not installed (`pip install -e '.[bench]'`).
  corpus    training tokens/s at the WJazzD experiment's shapes, each cell beside a PyTorch model of
            the same architecture, and the ceiling the matmul rate puts on both
            (experiments/bench/bench_corpus.py).

Prints a table and writes runs/bench/bench.json and runs/bench/scaling.png.

    python -m experiments.bench.benchmark [--repeats 5] [--out runs/bench]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import flax
import jax
import ml_collections
import numpy as np

from experiments import baseline
from experiments.bench import bench_corpus
from experiments.bench.timing import repeat, stopwatch, torch_device, torch_synchronize
from jazz_flax import beam, cells, data, models, optimizers, parallel, sample, sweep, train
from jazz_flax.files import atomic_write, write_figure
from jazz_flax.model import init_params

N_VALUES = 85  # the Metheny vocabulary, for random ids when the file is absent
TRAIN_EPOCHS = 100
SAMPLE_LENGTH = 50
BATCHES = (1, 16, 256, 1024, 4096)
SCALING = {  # the swept setting → its values; the others stay at the baseline's
    "n_a": (64, 128, 256, 512, 1024),
    "Tx": (30, 60, 120, 240, 480),
    "windows": (60, 250, 1000, 2500, 10_000),
}
RUN_SECONDS = 0.3  # scaling: calls per timed run, up to this long
CELLS = tuple(cells.CELLS)  # the cells timed one by one
TARGETS = {  # name → (limit, "max" or "min")
    "compile_train_s": (2.0, "max"),
    "train_100_epochs_s": (0.20, "max"),
    "train_speedup": (2.0, "min"),  # PyTorch's 100 epochs / the default (baseline) cell's
    "greedy_sample_ms": (0.3, "max"),
    "batched_tokens_per_s": (1e6, "min"),
    "token_cost_growth": (1.25, "max"),  # per-token time at 10,000 windows / at 60
    "beam_search_ms": (20.0, "max"),
    "corpus_speedup": (bench_corpus.TARGET, "min"),  # the WJazzD experiment's tokens/s / PyTorch's
}
BEAM = beam.Beam(beam_size=8, branch_factor=4, steps_per_iteration=1)
BEAM_LENGTH = 200


# ---------------------------------------------------------------------------------------------
# Setups


def random_windows(data_config: ml_collections.ConfigDict, seed: int = 0) -> data.Windows:
    """`data.make_windows` of `data_config` cut from random ids over N_VALUES values."""
    length = max(4 * data_config.Tx, 256)
    ids = np.random.default_rng(seed).integers(0, N_VALUES, length).astype(np.int32)
    return data.make_windows(ids, data_config)


def baseline_setup() -> tuple[ml_collections.ConfigDict, data.Windows, int, str]:
    """(config, windows (m, Tx), n_values, where the windows come from) of the baseline."""
    config = baseline.get_config()
    if Path(config.data.path).is_file():
        corpus = data.load_corpus_from_config(config.data)
        return config, train.training_windows(config, corpus), len(corpus.vocab), "Metheny"
    return config, random_windows(config.data), N_VALUES, f"random ids ({N_VALUES} values)"


def state_maker(config: ml_collections.ConfigDict, n_values: int) -> Callable[[], object]:
    """Makes new training states of `config`'s model, as `train.train` starts from.

    They share the model and the optimiser object, so one compiled program takes them all.
    """
    model, tx = models.make_model(config, n_values), optimizers.make_optimizer(config)
    return lambda: train.create_state(config, model, jax.random.key(0), tx)


# ---------------------------------------------------------------------------------------------
# jazz_flax


def epoch_runner(config, windows: data.Windows) -> train.EpochRunner:
    """A `train.EpochRunner` as `train.train` makes it: each batch over `config.devices`."""
    mesh = parallel.make_mesh(config.devices, config.batch_size)
    return train.EpochRunner(windows, jax.random.key(1), config.batch_size, mesh=mesh)


def compile_train(config, windows: data.Windows, n_values: int, repeats: int) -> dict:
    """Seconds to trace, lower and compile `train_epochs` (EPOCHS_PER_CALL epochs), caches empty."""
    fresh_state = state_maker(config, n_values)

    def run() -> float:
        jax.clear_caches()
        runner = epoch_runner(config, windows)
        runner(fresh_state(), np.arange(train.EPOCHS_PER_CALL))
        return runner.compile_seconds

    return repeat(run, repeats)


def train_100_epochs(config, windows: data.Windows, n_values: int, repeats: int) -> dict:
    """Seconds for TRAIN_EPOCHS epochs from a fresh state, and the last loss; "first" is the first
    run, the one `make train` makes, which includes XLA's one-time setup of the program's first
    execution.

    The states are made before the timed runs, so the runs follow one another: making one is
    single-threaded Python, and on this machine the next 20 epochs after such a pause run up to
    twice as slowly (experiments/BENCHMARKS.md).
    """
    runner = epoch_runner(config, windows)
    fresh_state, losses = state_maker(config, n_values), []
    states = [jax.block_until_ready(fresh_state()) for _ in range(repeats + 1)]

    def run() -> float:
        state, seconds = states.pop(), 0.0
        for epochs in train.epoch_calls(TRAIN_EPOCHS, train.EPOCHS_PER_CALL):
            state, chunk_losses, chunk_seconds = runner(state, epochs)
            seconds += chunk_seconds
        losses.append(float(chunk_losses[-1]))
        return seconds

    first = run()  # compiles (untimed), then runs as `make train` does
    timed = repeat(run, repeats, warmup=0)
    return {**timed, "first": first, "final_loss": losses[-1], "devices": runner.devices}


def sampler(config, n_values: int, batch: int, strategy: sample.Strategy) -> Callable[[], object]:
    """`sample.sample` of a batch of SAMPLE_LENGTH tokens with `config`'s model (fresh params)."""
    model = models.make_model(config, n_values)
    params, key = init_params(model, jax.random.key(0), config.init), jax.random.key(2)
    return lambda: sample.sample(
        model, params, key, batch=batch, length=SAMPLE_LENGTH, strategy=strategy
    )


def compile_sampler(config, n_values: int, repeats: int) -> dict:
    """Seconds the first greedy sample takes beyond a warm one, from empty caches."""
    greedy = sampler(config, n_values, 1, sample.Strategy(greedy=True))
    warm = repeat(stopwatch(greedy), repeats)["median"]

    def run() -> float:
        jax.clear_caches()
        return stopwatch(greedy)() - warm

    return repeat(run, repeats, warmup=0)


def sample_greedy(config, n_values: int, repeats: int) -> dict:
    """Seconds for one greedy SAMPLE_LENGTH-token sample, batch 1 (the notebook's inference)."""
    return repeat(stopwatch(sampler(config, n_values, 1, sample.Strategy(greedy=True))), repeats)


def sample_batched(config, n_values: int, repeats: int) -> list[dict]:
    """Tokens/s of temperature-1 sampling for each batch size in BATCHES."""
    rows = []
    for batch in BATCHES:
        seconds = repeat(stopwatch(sampler(config, n_values, batch, sample.Strategy())), repeats)
        tokens_per_s = batch * SAMPLE_LENGTH / seconds["median"]
        rows.append(dict(batch=batch, seconds=seconds, tokens_per_s=tokens_per_s))
    return rows


def beam_vs_sampling(config, n_values: int, repeats: int) -> dict:
    """Seconds for a BEAM_LENGTH-token beam search (BEAM, temperature 1) and, in the same run, for
    plain sampling of as many tokens (batch 1)."""
    model = models.make_model(config, n_values)
    params, key = init_params(model, jax.random.key(0), config.init), jax.random.key(2)
    search = functools.partial(beam.beam_search, beam=BEAM, length=BEAM_LENGTH)
    plain = functools.partial(sample.sample, length=BEAM_LENGTH)
    return dict(
        beam=repeat(stopwatch(lambda: search(model, params, key)), repeats),
        sample=repeat(stopwatch(lambda: plain(model, params, key)), repeats),
    )


def beam_rows(results: dict) -> list[str]:
    """The beam search's line of the table, beside plain sampling."""
    timed, check = results["beam_vs_sampling"], results["targets"]["beam_search_ms"]
    beam_ms, sample_ms = timed["beam"]["median"] * 1e3, timed["sample"]["median"] * 1e3
    b, k, s = BEAM[:3]  # the length penalty (0) is no setting of this benchmark
    return [
        f"beam search B={b} K={k} S={s}, {BEAM_LENGTH} tokens: {beam_ms:.2f} ms "
        f"(plain sampling {sample_ms:.2f} ms, ×{beam_ms / sample_ms:.1f}); "
        f"≤ {check['limit']:g} ms: {'met' if check['met'] else 'MISSED'}"
    ]


def per_cell(config, windows: data.Windows, n_values: int, repeats: int) -> dict[str, dict]:
    """`train_100_epochs` and `sample_greedy` of the baseline with each cell in CELLS."""
    results = {}
    for cell in CELLS:
        config = sweep.override(config, {"model.cell": cell})
        results[cell] = dict(
            train_100_epochs=train_100_epochs(config, windows, n_values, repeats),
            sample_greedy=sample_greedy(config, n_values, max(repeats, 50)),
        )
    return results


def scaling_point(config, setting: str, value: int, repeats: int) -> dict:
    """Seconds per epoch and per token with `setting` (n_a, Tx or windows) at `value`."""
    config = ml_collections.ConfigDict(config.to_dict())
    if setting == "n_a":
        config.n_a = value
    else:
        config.data["m" if setting == "windows" else setting] = value
    windows = random_windows(config.data)
    runner = train.EpochRunner(windows, jax.random.key(1), config.batch_size)
    state = state_maker(config, N_VALUES)()
    state, _, first = runner(state, np.arange(1))  # compiles
    calls = int(np.clip(RUN_SECONDS // max(first, 1e-9), 1, 10))
    epoch = 0

    def run() -> float:
        nonlocal state, epoch
        seconds = 0.0
        for _ in range(calls):
            epoch += 1
            state, _, call_seconds = runner(state, np.arange(epoch, epoch + 1))
            seconds += call_seconds
        return seconds / calls

    per_epoch = repeat(run, repeats)
    tokens = windows.x.size
    return dict(
        setting=setting,
        value=value,
        epochs_per_run=calls,
        epoch_seconds=per_epoch,
        token_seconds=per_epoch["median"] / tokens,
    )


def scaling(config, repeats: int) -> dict[str, list[dict]]:
    """`scaling_point` for every value of every setting in SCALING."""
    return {
        setting: [scaling_point(config, setting, value, repeats) for value in values]
        for setting, values in SCALING.items()
    }


# ---------------------------------------------------------------------------------------------
# PyTorch reference


def torch_model(torch, n_values: int, n_a: int):
    """(nn.LSTM, nn.Linear) initialised as Keras (and jazz_flax's "keras" scheme) does."""
    lstm, head = torch.nn.LSTM(n_values, n_a), torch.nn.Linear(n_a, n_values)
    with torch.no_grad():
        torch.nn.init.xavier_uniform_(lstm.weight_ih_l0)
        torch.nn.init.orthogonal_(lstm.weight_hh_l0)
        lstm.bias_ih_l0.zero_()
        lstm.bias_hh_l0.zero_()
        lstm.bias_ih_l0[n_a : 2 * n_a] = 1.0  # torch's gate order: i, f, g, o
        torch.nn.init.xavier_uniform_(head.weight)
        head.bias.zero_()
    device = torch_device(torch)
    return lstm.to(device), head.to(device)


def torch_one_hot(torch, ids: np.ndarray, n_values: int):
    """float (…, n_values) one-hot vectors of ids, all zeros for EMPTY."""
    ids = torch.as_tensor(ids, dtype=torch.long, device=torch_device(torch))
    return torch.nn.functional.one_hot(ids.clamp(min=0), n_values).float() * (ids >= 0)[..., None]


def torch_loss(torch, lstm, head, x, y):
    """`train.sequence_loss` of a batch in PyTorch: Σ over time of the batch-mean cross-entropy.

    x (T, B, V) one-hot inputs (`torch_one_hot`), y (T, B) target ids; EMPTY (-1) adds 0.
    """
    logits = head(lstm(x)[0])
    losses = torch.nn.functional.cross_entropy(
        logits.transpose(1, 2), y, ignore_index=-1, reduction="none"
    )
    return losses.sum(0).mean()


def torch_train(torch, config, windows: data.Windows, n_values: int) -> tuple[float, float]:
    """(seconds, last loss) of TRAIN_EPOCHS epochs in PyTorch eager, as `train.train` trains."""
    lstm, head = torch_model(torch, n_values, config.n_a)
    params = [*lstm.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=config.lr, betas=(config.b1, config.b2), eps=1e-8)
    decay = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1 / (1 + config.decay * t))
    x = torch_one_hot(torch, windows.x, n_values).transpose(0, 1)  # (Tx, m, V), time-major
    y = torch.as_tensor(windows.y, dtype=torch.long, device=x.device).T  # (Tx, m); EMPTY ignored
    torch_synchronize(torch)
    began = time.perf_counter()
    for _ in range(TRAIN_EPOCHS):
        for rows in torch.randperm(x.shape[1], device=x.device).split(config.batch_size):
            loss = torch_loss(torch, lstm, head, x[:, rows], y[:, rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            decay.step()
    torch_synchronize(torch)
    return time.perf_counter() - began, loss.item()


def torch_greedy(torch, lstm, head, n_values: int) -> float:
    """Seconds for one greedy SAMPLE_LENGTH-token sample as a Python loop of LSTM steps."""
    device = torch_device(torch)
    torch_synchronize(torch)
    began = time.perf_counter()
    with torch.no_grad():
        x, state = torch.zeros(1, 1, n_values, device=device), None
        for _ in range(SAMPLE_LENGTH):
            out, state = lstm(x, state)
            token = head(out[0, 0]).argmax()
            x = torch.zeros(1, 1, n_values, device=device)
            x[0, 0, token] = 1.0
    torch_synchronize(torch)
    return time.perf_counter() - began


def torch_reference(config, windows: data.Windows, n_values: int, repeats: int) -> dict:
    """PyTorch's 100 epochs and greedy sample, or {"skipped": why} without torch."""
    try:
        import torch
    except ImportError:
        return {"skipped": "torch is not installed (pip install -e '.[bench]')"}
    torch.manual_seed(config.seed)
    losses = []

    def run_train() -> float:
        seconds, loss = torch_train(torch, config, windows, n_values)
        losses.append(loss)
        return seconds

    lstm, head = torch_model(torch, n_values, config.n_a)
    return dict(
        version=torch.__version__,
        device=torch_device(torch),
        threads=torch.get_num_threads(),
        train_100_epochs=dict(repeat(run_train, repeats), final_loss=losses[-1]),
        sample_greedy=repeat(lambda: torch_greedy(torch, lstm, head, n_values), repeats),
    )


# ---------------------------------------------------------------------------------------------
# Report


def machine() -> dict:
    """What the figures were measured on."""
    model = platform.processor()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        names = (line.split(":", 1)[1] for line in lscpu.splitlines() if "Model name" in line)
        model = next(names).strip()
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    return dict(
        cpu=model,
        nproc=os.cpu_count(),
        load_average=os.getloadavg(),
        python=platform.python_version(),
        jax=jax.__version__,
        flax=flax.__version__,
        backend=jax.default_backend(),
        device=jax.devices()[0].device_kind,
        xla_flags=os.environ.get("XLA_FLAGS", ""),
    )


def target_checks(results: dict) -> dict[str, dict]:
    """Each TARGETS entry: its value in `results`, its limit and whether it is met."""
    windows = results["scaling"]["windows"]
    values = dict(
        compile_train_s=results["compile"]["train"]["median"],
        train_100_epochs_s=results["train_100_epochs"]["median"],
        train_speedup=speedup(results, results["cell"], "train_100_epochs"),
        greedy_sample_ms=results["sample_greedy"]["median"] * 1e3,
        batched_tokens_per_s=max(row["tokens_per_s"] for row in results["sample_batched"]),
        token_cost_growth=windows[-1]["token_seconds"] / windows[0]["token_seconds"],
        beam_search_ms=results["beam_vs_sampling"]["beam"]["median"] * 1e3,
        corpus_speedup=bench_corpus.speedup(results["corpus"]),
    )
    checks = {}
    for name, (limit, kind) in TARGETS.items():
        if values[name] is None:  # not measured (no torch, or the cell not timed)
            checks[name] = dict(value=None, limit=limit, met=None)
            continue
        met = values[name] <= limit if kind == "max" else values[name] >= limit
        checks[name] = dict(value=values[name], limit=limit, met=met)
    return checks


def speedup(results: dict, cell: str, key: str) -> float | None:
    """PyTorch's median `key` over `cell`'s: how many times faster the cell is; None unmeasured."""
    theirs = results["torch"].get(key, {}).get("median")
    if theirs is None or cell not in results["cells"]:
        return None
    return theirs / results["cells"][cell][key]["median"]


def cell_rows(results: dict) -> list[str]:
    """One line per cell: 100 epochs, final loss, greedy sample, each beside PyTorch."""
    lines = [
        f"{'cell':<18}{'100 epochs':>12}{'loss':>8}{'vs PyTorch':>12}{'greedy':>12}"
        f"{'vs PyTorch':>12}"
    ]
    for cell, row in results["cells"].items():
        ratios = [speedup(results, cell, key) for key in ("train_100_epochs", "sample_greedy")]
        train_s, greedy_s = (row[key]["median"] for key in ("train_100_epochs", "sample_greedy"))
        train_x, greedy_x = ("" if r is None else f"{r:.1f}×" for r in ratios)
        loss = row["train_100_epochs"]["final_loss"]
        lines.append(
            f"{cell:<18}{train_s:>10.3f} s{loss:>8.2f}{train_x:>12}{greedy_s * 1e3:>9.3f} ms"
            f"{greedy_x:>12}"
        )
    return lines


def versus_torch(results: dict, key: str, unit: float, fmt: str) -> tuple[str, str, str]:
    """(jazz_flax's median, PyTorch's, how many times faster jazz_flax is) of `key`, as text."""
    ours = results[key]["median"]
    theirs = results["torch"].get(key, {}).get("median")
    if theirs is None:
        return format(ours * unit, fmt), "skipped", ""
    return format(ours * unit, fmt), format(theirs * unit, fmt), f"{theirs / ours:.1f}×"


def headline_rows(results: dict) -> list[tuple[str, ...]]:
    """(what, jazz_flax, PyTorch, speed-up, target) rows of the headline figures."""
    checks = {k: _verdict(v["met"]) for k, v in results["targets"].items()}
    compile_s = results["compile"]
    rows = [
        ("", "jazz_flax", "PyTorch", "speed-up", "target"),
        ("compile, training program", f"{compile_s['train']['median']:.2f} s", "", "", ""),
        ("compile, sampler", f"{compile_s['sampler']['median']:.2f} s", "", "", ""),
        (
            f"{TRAIN_EPOCHS} epochs ({results['steps']} Adam steps, "
            f"{results['train_100_epochs']['devices']} dev.), s",
            *versus_torch(results, "train_100_epochs", 1, ".3f"),
            "",
        ),
        (
            "  the first run (make train), s",
            f"{results['train_100_epochs']['first']:.3f}",
            "",
            "",
            "",
        ),
        (
            f"greedy {SAMPLE_LENGTH}-token sample, ms",
            *versus_torch(results, "sample_greedy", 1e3, ".3f"),
            "",
        ),
    ]
    rows += [
        (f"sampling, batch {row['batch']}", f"{row['tokens_per_s']:,.0f} tok/s", "", "", "")
        for row in results["sample_batched"]
    ]
    targets = {
        1: f"≤ 2 s: {checks['compile_train_s']}",
        3: f"≤ 0.20 s: {checks['train_100_epochs_s']}",
        5: f"≤ 0.3 ms: {checks['greedy_sample_ms']}",
        len(rows) - 1: f"≥ 1 M tok/s: {checks['batched_tokens_per_s']}",
    }
    return [(*row[:4], targets.get(i, row[4])) for i, row in enumerate(rows)]


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else "met" if met else "MISSED"


def scaling_rows(points: dict[str, list[dict]]) -> list[str]:
    """One line per scaling point: per epoch, per token, epochs per timed run."""
    lines = [f"{'scaling (random ids)':<34}{'per epoch':>12}{'per token':>12}{'run of':>10}"]
    for setting, rows in points.items():
        for row in rows:
            label = f"{setting} = {row['value']:,}"
            epoch_ms = row["epoch_seconds"]["median"] * 1e3
            token_ns, calls = row["token_seconds"] * 1e9, row["epochs_per_run"]
            lines.append(f"{label:<34}{epoch_ms:>9.1f} ms{token_ns:>9.0f} ns{calls:>4} epochs")
    return lines


def table(results: dict) -> str:
    """The machine, the headline figures beside PyTorch and the targets, and the scaling."""
    info = results["machine"]
    growth = results["targets"]["token_cost_growth"]
    flat = "met" if growth["met"] else "MISSED"
    lines = [
        f"{info['device']}; {info['cpu']}, {info['nproc']} cores, "
        f"load average {info['load_average'][0]:.2f} "
        f"(after: {info['load_average_after'][0]:.2f}); jax {info['jax']}; {results['data']}",
        *(f"{a:<34}{b:>16}{c:>10}{d:>10}   {e}" for a, b, c, d, e in headline_rows(results)),
        *beam_rows(results),
        "",
        *cell_rows(results),
        f"{results['cell']} (the baseline's cell) vs PyTorch, 100 epochs: ≥ 2×: "
        f"{_verdict(results['targets']['train_speedup']['met'])}",
        "",
        *scaling_rows(results["scaling"]),
        f"per-token cost at {SCALING['windows'][-1]:,} windows / at {SCALING['windows'][0]}: "
        f"{growth['value']:.2f} (flat: ≤ {growth['limit']}: {flat})",
        "",
        *bench_corpus.rows(results["corpus"]),
        f"the WJazzD experiment vs PyTorch at corpus scale: ≥ {bench_corpus.TARGET}×: "
        f"{_verdict(results['targets']['corpus_speedup']['met'])}",
    ]
    if "skipped" in results["torch"]:
        lines.append(f"PyTorch reference skipped: {results['torch']['skipped']}")
    else:
        lines.append(f"PyTorch {results['torch']['version']} ran on {results['torch']['device']}")
    return "\n".join(lines)


def plot_scaling(points: dict[str, list[dict]], path: Path) -> None:
    """Seconds per token against each swept setting (log-log), one panel each."""
    import matplotlib.ticker
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4 * len(points), 3.5))
    axes = fig.subplots(1, len(points), sharey=True)
    for ax, (setting, rows) in zip(axes, points.items(), strict=True):
        values = [r["value"] for r in rows]
        ax.plot(values, [r["token_seconds"] * 1e9 for r in rows], "o-")
        ax.set(xscale="log", yscale="log", xlabel=setting, title=f"training cost vs {setting}")
        ax.set_xticks(values, [f"{v:,}" for v in values], minor=False)
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    axes[0].set_ylabel("ns per token (forward + backward + Adam)")
    write_figure(fig, path, bbox_inches="tight")


# ---------------------------------------------------------------------------------------------
# Command line


def run(repeats: int) -> dict:
    """Every measurement, as bench.json holds them."""
    jax.config.update("jax_enable_compilation_cache", False)  # compile times from cold
    config, windows, n_values, source = baseline_setup()
    results = dict(
        machine=machine(),
        data=f"{source} windows, m={windows.x.shape[0]}, Tx={windows.x.shape[1]}, "
        f"{n_values} values",
        steps=TRAIN_EPOCHS * -(-windows.x.shape[0] // config.batch_size),
        cell=config.model.cell,  # the headline rows are this cell's
        repeats=repeats,
    )
    results["compile"] = dict(
        train=compile_train(config, windows, n_values, repeats),
        sampler=compile_sampler(config, n_values, repeats),
    )
    results["cells"] = per_cell(config, windows, n_values, repeats)
    default = results["cells"].get(config.model.cell)  # the headline: the baseline's cell
    results["train_100_epochs"] = (
        default["train_100_epochs"]
        if default
        else (train_100_epochs(config, windows, n_values, repeats))
    )
    results["sample_greedy"] = (
        default["sample_greedy"] if default else (sample_greedy(config, n_values, max(repeats, 50)))
    )
    results["sample_batched"] = sample_batched(config, n_values, repeats)
    results["beam_vs_sampling"] = beam_vs_sampling(config, n_values, repeats)
    results["scaling"] = scaling(config, repeats)
    results["torch"] = torch_reference(config, windows, n_values, repeats)
    results["corpus"] = bench_corpus.measure(repeats)
    results["machine"]["load_average_after"] = os.getloadavg()
    results["targets"] = target_checks(results)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.bench.benchmark", description=__doc__
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (≥ 5)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench"))
    args = parser.parse_args(argv)
    config = baseline.get_config()
    parallel.split_cpu(config.devices, config.batch_size)  # as `make train` does
    results = run(max(args.repeats, 5))
    print(table(results), flush=True)
    atomic_write(args.out / "bench.json", json.dumps(results, indent=2) + "\n")
    plot_scaling(results["scaling"], args.out / "scaling.png")
    print(f"wrote {args.out / 'bench.json'} and {args.out / 'scaling.png'}")


if __name__ == "__main__":
    main()

"""`make bench`'s corpus-scale row: training tokens/s at the WJazzD experiment's shapes, beside a
PyTorch model of the same architecture, and the ceiling this machine's matmul rate puts on both.

  shapes    experiments/wjazzd.py's: an embedding of 128, 2 LSTM layers of 256, dropout 0.3, a
            head over the vocabulary (the corpus's size when data/wjazzd is there, else VALUES),
            Tx 64, batch 64, Adam; random token ids (what a step costs does not depend on them);
  jazz_flax `train.EpochRunner` as `make train` runs it (on a CPU each batch split over one device
            per core), STEPS Adam steps per timed call, with the experiment's cell and head
            (`model.cell`, `model.head_layer`) and each other pair of LAYERS;
  PyTorch   nn.Embedding → nn.LSTM (2 layers, dropout between) → nn.Dropout → nn.Linear, Adam,
            `train.sequence_loss`'s summed cross-entropy, STEPS steps of a Python loop, on CUDA
            when JAX runs on a GPU;
  ceiling   the tokens/s a step would reach if all its multiply-adds ran at the rate of one matmul
            of the head's shape, timed in the same run (`matmul_rate`).

The transformer row: experiments/wjazzd_transformer.py's shapes (7 pre-LayerNorm blocks 128 wide,
4 heads, MLP 512, tied head, dropout 0.1, the same Tx, batch and vocabulary) trained the same way,
beside a PyTorch peer of the same shapes and parameter count: nn.Embedding → nn.TransformerEncoder
(batch_first, norm_first, GELU, a causal mask, a final LayerNorm) → the embedding's transpose / √d.
The peer has no rotary rotation of queries and keys (torch's layer has no place for it; it has no
parameters and costs a few element-wise products). Also a greedy SAMPLE_LENGTH-token sample
through the key/value cache, batch 1.

    python -m experiments.bench.bench_corpus [--repeats 5] [--row lstm|transformer|both]
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from experiments import wjazzd, wjazzd_transformer
from experiments.bench.timing import repeat, stopwatch, torch_device, torch_synchronize
from jazz_flax import data, models, optimizers, parallel, sample, sweep, train
from jazz_flax.model import count_params, init_params

VALUES = 1721  # the experiment's vocabulary (grammar v2, min_count 2), when the corpus is absent
STEPS = 10  # Adam steps per timed run
# (model.cell, model.head_layer) timed after the experiment's own: the fast cell with the stock
# head, and the stock layers
LAYERS = (("fused_lstm", "dense"), ("lstm", "dense"))
LABEL = 42  # the width of the rows' labels
TARGET = 1.0  # the experiment's tokens/s over PyTorch float32's, on a CPU (issue 27)
TRANSFORMER_TARGET = 1.0  # the transformer's tokens/s over its PyTorch peer's, on a CPU
SAMPLE_LENGTH, SAMPLE_MS = 200, 5.0  # a greedy sample through the cache, and its target


def corpus_config() -> ml_collections.ConfigDict:
    """experiments/wjazzd.py's config, STEPS batches an epoch."""
    return steps_per_epoch(wjazzd.get_config())


def transformer_config() -> ml_collections.ConfigDict:
    """experiments/wjazzd_transformer.py's config, STEPS batches an epoch."""
    return steps_per_epoch(wjazzd_transformer.get_config())


def steps_per_epoch(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    config.data.windows_per_epoch = STEPS * config.batch_size
    return config


def vocabulary_size(config: ml_collections.ConfigDict) -> tuple[int, str]:
    """(values, where that number comes from): the corpus's vocabulary, or VALUES without it."""
    if not Path(config.data.path).is_dir():
        return VALUES, f"{VALUES} values (the corpus is absent)"
    return len(data.load_corpus_from_config(config.data).vocab), "the corpus's vocabulary"


def random_windows(config: ml_collections.ConfigDict, n_values: int) -> data.Windows:
    """One epoch's windows (windows_per_epoch × Tx) of random ids, no chords."""
    shape = (config.data.windows_per_epoch, config.data.Tx + 1)
    ids = np.random.default_rng(0).integers(0, n_values, shape).astype(np.int32)
    no_chords = np.zeros((shape[0], config.data.Tx, 0), np.float32)
    return data.Windows(ids[:, :-1], ids[:, 1:], no_chords)


def tokens_per_step(config: ml_collections.ConfigDict) -> int:
    return config.batch_size * config.data.Tx


def jazz_flax_rate(config, windows: data.Windows, n_values: int, repeats: int) -> dict:
    """Tokens/s of STEPS-step calls of `train.EpochRunner`, as `make train` trains."""
    mesh = parallel.make_mesh(config.devices, config.batch_size)
    per_epoch = config.data.windows_per_epoch
    runner = train.EpochRunner(
        windows, jax.random.key(1), config.batch_size, mesh=mesh, per_epoch=per_epoch
    )
    model, tx = models.make_model(config, n_values), optimizers.make_optimizer(config)
    state, epoch = train.create_state(config, model, jax.random.key(0), tx), 0

    losses = []

    def run() -> float:
        nonlocal state, epoch
        state, epoch_losses, seconds = runner(state, np.arange(epoch, epoch + 1))
        epoch += 1
        losses.append(float(epoch_losses[-1]))
        return seconds

    seconds = repeat(run, repeats)
    rate = STEPS * tokens_per_step(config) / seconds["median"]
    return dict(seconds=seconds, tokens_per_s=rate, loss=losses[-1])


# ---------------------------------------------------------------------------------------------
# PyTorch


def torch_model(torch, config: ml_collections.ConfigDict, n_values: int):
    """The layers of `DJModel` of `config` in PyTorch: embed, lstm, drop, head (`torch_logits`)."""
    nn = torch.nn
    layers = dict(
        embed=nn.Embedding(n_values, config.model.embed),
        lstm=nn.LSTM(config.model.embed, config.n_a, config.layers, dropout=config.dropout),
        drop=nn.Dropout(config.dropout),
        head=nn.Linear(config.n_a, n_values),
    )
    return nn.ModuleDict(layers).to(torch_device(torch))


def torch_logits(model, ids):
    """Logits (T, B, V) of ids (T, B): nn.Embedding → nn.LSTM → nn.Dropout → nn.Linear."""
    return model["head"](model["drop"](model["lstm"](model["embed"](ids))[0]))


def torch_transformer(torch, config: ml_collections.ConfigDict, n_values: int):
    """The PyTorch peer of `transformer.Transformer` of `config`: embed, encoder, head (tied)."""
    nn, d = torch.nn, config.n_a
    layer = nn.TransformerEncoderLayer(
        d, config.model.heads, config.model.mlp * d, config.dropout, activation="gelu",
        batch_first=True, norm_first=True,
    )  # fmt: skip
    encoder = nn.TransformerEncoder(
        layer, config.layers, norm=nn.LayerNorm(d), enable_nested_tensor=False
    )
    layers = dict(embed=nn.Embedding(n_values + 1, d), encoder=encoder)  # the start token last
    return nn.ModuleDict(layers).to(torch_device(torch))


def torch_transformer_logits(model, ids):
    """Logits (T, B, V) of ids (T, B): causal encoder over the embedding, the tied head / √d
    (the start token's row left out)."""
    x, table = model["embed"](ids.T), model["embed"].weight[:-1]
    future = ids.new_ones((x.shape[1], x.shape[1])).triu(1).bool()  # True: not attended
    y = model["encoder"](x, mask=future, is_causal=True)
    return (y @ table.T / x.shape[-1] ** 0.5).transpose(0, 1)


TORCH_PEERS = {  # model.kind → (the PyTorch model of `config`, its logits of ids (T, B))
    "lstm": (torch_model, torch_logits),
    "transformer": (torch_transformer, torch_transformer_logits),
}


def torch_rate(config, windows: data.Windows, n_values: int, repeats: int, bf16=False) -> dict:
    """Tokens/s of STEPS PyTorch steps of the peer of `config`'s model kind, its parameter count
    and the mean loss of the last STEPS (after all the timed runs, from the init of
    `config.seed`), in float32 or, with `bf16`, under `torch.autocast(dtype=torch.bfloat16)`;
    {"skipped": why} without torch."""
    try:
        import torch
    except ImportError:
        return {"skipped": "torch is not installed (pip install -e '.[bench]')"}
    torch.manual_seed(config.seed)
    build, logits = TORCH_PEERS[config.model.kind]
    model = build(torch, config, n_values)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.b1, config.b2))
    device, losses = torch_device(torch), []
    x, y = (torch.as_tensor(a, dtype=torch.long, device=device).T for a in windows[:2])

    def run() -> float:
        torch_synchronize(torch)
        began, losses[:] = time.perf_counter(), []
        for rows in torch.randperm(x.shape[1], device=device).split(config.batch_size):
            with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
                loss = torch_loss(torch, model, x[:, rows], y[:, rows], logits)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        torch_synchronize(torch)
        return time.perf_counter() - began

    seconds = repeat(run, repeats)
    rate = STEPS * tokens_per_step(config) / seconds["median"]
    precision = "bf16 autocast" if bf16 else "float32"
    loss = float(torch.stack(losses).float().mean())
    params = sum(p.numel() for p in model.parameters())  # a tied weight once
    return dict(
        version=torch.__version__,
        device=device,
        seconds=seconds,
        tokens_per_s=rate,
        precision=precision,
        loss=loss,
        params=params,
    )


def torch_loss(torch, model, x, y, logits=torch_logits):
    """`train.sequence_loss`: Σ over time of the batch-mean cross-entropy, x and y (T, B), of
    `logits` (T, B, V) of x."""
    losses = torch.nn.functional.cross_entropy(
        logits(model, x).transpose(1, 2), y, reduction="none"
    )
    return losses.sum(0).mean()


# ---------------------------------------------------------------------------------------------
# The ceiling


def multiply_adds_per_token(config: ml_collections.ConfigDict, n_values: int) -> int:
    """One training step's multiply-adds per token: the forward pass's matmuls (input and
    recurrent kernels of each layer, the head) three times over (forward, input gradients,
    weight gradients); the embedding is a lookup."""
    n, gates = config.n_a, 4
    inputs = config.model.embed + (config.layers - 1) * n
    forward = gates * n * (inputs + config.layers * n) + n * n_values
    return 3 * forward


def matmul_rate(config: ml_collections.ConfigDict, n_values: int, repeats: int) -> float:
    """Multiply-adds per second of one float32 matmul of the head's shape, all tokens of a step
    (batch × Tx rows) at once, the rows split over the devices training splits a batch over (on a
    CPU, one per core): what this chip sustains on the step's biggest product."""
    mesh = parallel.make_mesh(config.devices, config.batch_size)
    rows = jnp.ones((tokens_per_step(config), config.n_a), jnp.float32)
    kernel = parallel.replicate(jnp.ones((config.n_a, n_values), jnp.float32), mesh)
    if mesh is not None:
        rows = jax.device_put(rows, NamedSharding(mesh, P(parallel.AXIS)))
    product = jax.jit(jnp.matmul)
    seconds = repeat(stopwatch(lambda: product(rows, kernel)), max(repeats, 20))["median"]
    return rows.size * n_values / seconds


# ---------------------------------------------------------------------------------------------
# The row


def measure(repeats: int) -> dict:
    """Every figure of the corpus-scale row, as bench.json holds them under "corpus"."""
    config = corpus_config()
    n_values, source = vocabulary_size(config)
    windows = random_windows(config, n_values)
    ours = (config.model.cell, config.model.head_layer)
    pairs = dict.fromkeys((ours, *LAYERS))  # the experiment's first, once
    layers = {layers_label(*pair): with_layers(config, *pair) for pair in pairs}
    results = dict(
        shapes=shapes_text(config, n_values, source),
        cell=layers_label(*ours),
        cells={label: jazz_flax_rate(c, windows, n_values, repeats) for label, c in layers.items()},
        torch=torch_rate(config, windows, n_values, repeats),
        torch_bf16=torch_rate(config, windows, n_values, repeats, bf16=True),
        multiply_adds_per_token=multiply_adds_per_token(config, n_values),
        matmul_rate=matmul_rate(config, n_values, repeats),
    )
    results["ceiling_tokens_per_s"] = results["matmul_rate"] / results["multiply_adds_per_token"]
    return results


def with_layers(config, cell: str, head_layer: str) -> ml_collections.ConfigDict:
    return sweep.override(config, {"model.cell": cell, "model.head_layer": head_layer})


def layers_label(cell: str, head_layer: str) -> str:
    return f"{cell} + {head_layer}"


def shapes_text(config: ml_collections.ConfigDict, n_values: int, source: str) -> str:
    return (
        f"V={n_values:,} ({source}), embed {config.model.embed}, {config.layers}×{config.n_a} "
        f"LSTM, dropout {config.dropout}, Tx {config.data.Tx}, batch {config.batch_size}, Adam"
    )


def speedup(results: dict) -> float | None:
    """The experiment's tokens/s (its cell and head) over PyTorch's; None without PyTorch."""
    theirs = results["torch"].get("tokens_per_s")
    ours = results["cells"][results["cell"]]["tokens_per_s"]
    return None if theirs is None else ours / theirs


def rows(results: dict) -> list[str]:
    """The row's lines of `make bench`'s table: tokens/s and the loss after the same steps."""
    theirs = results["torch"].get("tokens_per_s")
    lines = [
        f"corpus scale: {results['shapes']}",
        f"{'':<{LABEL}}{'tokens/s':>16}{'vs PyTorch':>12}{'loss':>10}",
    ]
    for cell, row in results["cells"].items():
        lines.append(
            rate_line(f"{cell}{' (the experiment)' * (cell == results['cell'])}", row, theirs)
        )
    if theirs is None:
        lines.append(f"PyTorch reference skipped: {results['torch']['skipped']}")
    for row in (results["torch"], results.get("torch_bf16")):
        if row and "skipped" not in row:
            label = f"PyTorch {row['version']} ({row['device']}, {row['precision']})"
            lines.append(rate_line(label, row, theirs))
    return [*lines, *ceiling_rows(results, theirs)]


def rate_line(label: str, row: dict, theirs: float | None) -> str:
    """A line of `rows`: tokens/s, the ratio to PyTorch's float32 `theirs` and the loss reached."""
    ratio = "" if theirs is None else f"{row['tokens_per_s'] / theirs:.2f}×"
    return f"{label:<{LABEL}}{row['tokens_per_s']:>16,.0f}{ratio:>12}{row['loss']:>10.2f}"


def ceiling_rows(results: dict, theirs: float | None) -> list[str]:
    """The ceiling's line: all the step's multiply-adds at the head matmul's rate."""
    ceiling = results["ceiling_tokens_per_s"]
    return [
        f"{'ceiling (all at the matmul rate)':<{LABEL}}{ceiling:>16,.0f}"
        f"{'' if theirs is None else f'{ceiling / theirs:.2f}×':>12}"
        f"   {results['multiply_adds_per_token'] / 1e6:.2f} M multiply-adds/token at "
        f"{results['matmul_rate'] / 1e9:.0f} G/s"
    ]


# ---------------------------------------------------------------------------------------------
# The transformer row


def measure_transformer(repeats: int) -> dict:
    """The transformer row's figures: both models' parameters and tokens/s, and the sample."""
    config = transformer_config()
    n_values, source = vocabulary_size(config)
    windows = random_windows(config, n_values)
    model = models.make_model(config, n_values)
    params = init_params(model, jax.random.key(0), config.init)
    return dict(
        shapes=f"V={n_values:,} ({source}), {config.layers} blocks × {config.n_a}, "
        f"{config.model.heads} heads, MLP {config.model.mlp * config.n_a}, tied head, "
        f"dropout {config.dropout}, Tx {config.data.Tx}, batch {config.batch_size}, Adam",
        params=count_params(params),
        jazz_flax=jazz_flax_rate(config, windows, n_values, repeats),
        torch=torch_rate(config, windows, n_values, repeats),
        sample=sample_seconds(config, n_values, repeats),
        sample_lstm=sample_seconds(corpus_config(), n_values, repeats),
    )


def sample_seconds(config: ml_collections.ConfigDict, n_values: int, repeats: int) -> dict:
    """Seconds of a greedy SAMPLE_LENGTH-token sample, batch 1, of `config`'s model (the
    Transformer's through its cache), fresh parameters."""
    model = models.make_model(config, n_values)
    params = init_params(model, jax.random.key(0), config.init)
    greedy = functools.partial(
        sample.sample, model, params, jax.random.key(2), length=SAMPLE_LENGTH,
        strategy=sample.Strategy(greedy=True),
    )  # fmt: skip
    return repeat(stopwatch(greedy), repeats)


def transformer_rows(results: dict) -> list[str]:
    """The transformer row's lines: tokens/s beside the PyTorch peer's, the cached sample."""
    ours, theirs = results["jazz_flax"]["tokens_per_s"], results["torch"].get("tokens_per_s")
    lines = [
        f"transformer: {results['shapes']}",
        f"{'':<34}{'tokens/s':>16}{'vs PyTorch':>12}{'params':>12}",
        f"{'jazz_flax transformer':<34}{ours:>16,.0f}"
        f"{'' if theirs is None else f'{ours / theirs:.2f}×':>12}{results['params']:>12,}",
    ]
    if theirs is None:
        lines.append(f"PyTorch peer skipped: {results['torch']['skipped']}")
    else:
        torch = results["torch"]
        label = f"PyTorch {torch['version']} ({torch['device']})"
        lines.append(f"{label:<34}{theirs:>16,.0f}{'':>12}{torch['params']:>12,}")
        verdict = "met" if ours / theirs >= TRANSFORMER_TARGET else "MISSED"
        lines.append(
            f"transformer vs PyTorch: {ours / theirs:.2f}× (≥ {TRANSFORMER_TARGET}×: {verdict})"
        )
    ms, lstm_ms = (results[key]["median"] * 1e3 for key in ("sample", "sample_lstm"))
    verdict = "met" if ms <= SAMPLE_MS else "MISSED"
    lines.append(
        f"greedy {SAMPLE_LENGTH}-token sample, key/value cache, batch 1: {ms:.2f} ms "
        f"(≤ {SAMPLE_MS:g} ms: {verdict}; the wjazzd LSTM's: {lstm_ms:.2f} ms)"
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.bench.bench_corpus", description=__doc__
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (≥ 5)")
    parser.add_argument("--row", choices=("lstm", "transformer", "both"), default="both")
    args = parser.parse_args(argv)
    config = corpus_config()
    parallel.split_cpu(config.devices, config.batch_size)  # as `make train` does
    if args.row != "transformer":
        results = measure(max(args.repeats, 5))
        print("\n".join(rows(results)))
        ratio = speedup(results)
        if ratio is not None:
            verdict = "met" if ratio >= TARGET else "MISSED"
            print(f"the experiment vs PyTorch: {ratio:.2f}× (≥ {TARGET}×: {verdict})")
    if args.row != "lstm":
        print("\n".join(transformer_rows(measure_transformer(max(args.repeats, 3)))))


if __name__ == "__main__":
    main()

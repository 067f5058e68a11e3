"""Does bfloat16 cost accuracy at corpus scale? PyTorch's peer of the WJazzD model (bench_corpus's
`torch_model`: nn.Embedding(128) → nn.LSTM(2 × 256, dropout 0.3) → nn.Dropout → nn.Linear) trained
on the real WJazzD training windows in float32 and under `torch.autocast("cpu", bfloat16)`, from
the same initial weights, the same batches and the same dropout masks (one `torch.manual_seed`
before each), with experiments/wjazzd.py's Adam; every `--every` steps the mean training NLL of
those steps and the validation NLL (nats per token, each model in its own precision), per run.

bench_corpus's bf16 row times the same autocast run on random ids, where every model's loss
tends to log V; this is the accuracy half, on the corpus (data/wjazzd, `make wjazzd`).

    python -m experiments.bench.bench_bf16 [--steps 200] [--every 50]
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import numpy as np

from experiments.bench import bench_corpus
from jazz_flax import data, train
from jazz_flax.windows import EMPTY

PRECISIONS = ("float32", "bf16 autocast")


def corpus_windows(config) -> tuple[data.Windows, data.Windows, int]:
    """(training windows, validation windows, vocabulary size) of experiments/wjazzd.py."""
    corpus = data.load_corpus_from_config(config.data)
    windows = train.training_windows(config, corpus)
    return windows, train.validation_windows(config, corpus), len(corpus.vocab)


def nll(torch, model, x, y, bf16: bool):
    """Mean NLL per target token of ids x, y (T, B); EMPTY inputs embed to zeros, EMPTY targets
    are left out (as `DJModel` and `train.sequence_loss` do)."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        embedded = model["embed"](x.clamp(min=0)) * (x != EMPTY)[..., None]
        logits = model["head"](model["drop"](model["lstm"](embedded)[0]))
    return torch.nn.functional.cross_entropy(
        logits.float().transpose(1, 2), y, ignore_index=EMPTY, reduction="mean"
    )


def train_run(torch, config, windows, valid, n_values, steps: int, every: int, bf16: bool):
    """Rows (step, mean training NLL of the last `every` steps, validation NLL, seconds)."""
    torch.manual_seed(config.seed)
    model = bench_corpus.torch_model(torch, config, n_values)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.b1, config.b2))
    x, y = (torch.as_tensor(a, dtype=torch.long).T for a in windows[:2])
    vx, vy = (torch.as_tensor(a, dtype=torch.long).T for a in valid[:2])
    order = torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(config.seed))
    rows, recent, began = [], [], time.perf_counter()
    for step in range(1, steps + 1):
        batch = order[(step - 1) * config.batch_size % x.shape[1] :][: config.batch_size]
        model.train()
        loss = nll(torch, model, x[:, batch], y[:, batch], bf16)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        recent.append(float(loss.detach()))
        if step % every == 0:
            model.eval()
            with torch.no_grad():
                valid_nll = float(nll(torch, model, vx, vy, bf16))
            rows.append((step, float(np.mean(recent)), valid_nll, time.perf_counter() - began))
            recent = []
    return rows


def main(argv: list[str] | None = None) -> None:
    prog = "python -m experiments.bench.bench_bf16"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--steps", type=int, default=200, help="Adam steps of each run")
    parser.add_argument("--every", type=int, default=50, help="steps between the printed rows")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # accuracy, not speed: one thread does not spin on a busy machine
    config = bench_corpus.corpus_config()
    windows, valid, n_values = corpus_windows(config)
    print(
        f"{len(windows.x):,} training windows, {len(valid.x):,} validation windows, "
        f"V={n_values:,}; load average {os.getloadavg()[0]:.1f}; torch {torch.__version__}"
    )
    run = functools.partial(train_run, torch, config, windows, valid, n_values, args.steps)
    runs = {precision: run(args.every, bf16=precision != "float32") for precision in PRECISIONS}
    print(f"{'step':>6}{'train f32':>12}{'train bf16':>12}{'valid f32':>12}{'valid bf16':>12}")
    for f32, bf16 in zip(*runs.values(), strict=True):
        print(f"{f32[0]:>6}{f32[1]:>12.4f}{bf16[1]:>12.4f}{f32[2]:>12.4f}{bf16[2]:>12.4f}")
    seconds = [rows[-1][3] for rows in runs.values()]
    print(f"seconds: float32 {seconds[0]:.1f}, bf16 {seconds[1]:.1f}; load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()

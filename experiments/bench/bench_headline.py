"""The headline in one process: 100 baseline epochs with the baseline's cell, with the stock
`lstm`, and PyTorch's, in interleaved rounds, each the median of `--repeats` timed runs; the
medians, the ratios to PyTorch and the load average before and after.

    python -m experiments.bench.bench_headline [--rounds 3] [--repeats 5]

`make bench` times everything else (experiments/bench/benchmark.py, whose functions this reuses).
"""

from __future__ import annotations

import argparse
import os
import statistics

from experiments.bench import benchmark
from jazz_flax import parallel, sweep

CELLS = ("fused_lstm", "lstm")  # the baseline's and the stock cell


def one_round(config, windows, n_values: int, repeats: int) -> dict[str, float | None]:
    """Seconds (median of `repeats`) of 100 epochs with each cell, and PyTorch's (None: absent)."""
    seconds = {
        cell: benchmark.train_100_epochs(
            sweep.override(config, {"model.cell": cell}), windows, n_values, repeats
        )["median"]
        for cell in CELLS
    }
    peer = benchmark.torch_reference(config, windows, n_values, repeats)
    return seconds | {"pytorch": peer.get("train_100_epochs", {}).get("median")}


def rows(rounds: list[dict]) -> list[str]:
    """One line per contender: its rounds, their median and the ratio to PyTorch's median."""
    medians = {name: statistics.median(r[name] or 0.0 for r in rounds) for name in rounds[0]}
    lines = []
    for name, median in medians.items():
        ratio = f"{medians['pytorch'] / median:.2f}×" if medians["pytorch"] else "—"
        each = ", ".join(f"{r[name]:.3f}" if r[name] else "—" for r in rounds)
        lines.append(f"{name:<12} median {median:.3f} s  rounds {each}  vs PyTorch {ratio}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.bench.bench_headline")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    config, windows, n_values, source = benchmark.baseline_setup()
    parallel.split_cpu(config.devices, config.batch_size)  # as `make train` does
    print(f"100 baseline epochs on {source}; load {os.getloadavg()[0]:.2f}", flush=True)
    rounds = [one_round(config, windows, n_values, args.repeats) for _ in range(args.rounds)]
    print("\n".join(rows(rounds)), f"\nload {os.getloadavg()[0]:.2f}", sep="\n")


if __name__ == "__main__":
    main()

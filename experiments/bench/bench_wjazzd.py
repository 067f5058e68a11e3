"""How long reading WJazzD takes: cold (a fresh cache) with 1 and 2 processes, then warm.

    python -m experiments.bench.bench_wjazzd [--rounds 2] [--repeats 5] [--solos '*']

Prints one table; each cold read runs in a fresh process with its own empty cache folder, each
warm one reads the cache the cold read wrote; the two process counts take turns. The machine may
be shared: compare the rows of one run.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

from jazz_flax.data import wjazzd
from jazz_flax.data.roots import data_path


def timed(**kwargs) -> tuple[float, wjazzd.Reading]:
    began = time.perf_counter()
    reading = wjazzd.load(**kwargs)
    return time.perf_counter() - began, reading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="cold reads per process count")
    parser.add_argument("--repeats", type=int, default=5, help="warm reads after each cold one")
    parser.add_argument("--solos", default="*")
    parser.add_argument("--folder", default=str(data_path("wjazzd")))
    parser.add_argument("--cold", type=int, help=argparse.SUPPRESS)  # a child: one cold read
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold:
        print(timed(folder=args.folder, solos=args.solos, cache_dir=args.cache, jobs=args.cold)[0])
        return
    cold, warm = {1: [], 2: []}, {1: [], 2: []}
    for round_ in range(args.rounds):
        for jobs in (1, 2) if round_ % 2 == 0 else (2, 1):  # interleaved: both see the same load
            with tempfile.TemporaryDirectory() as cache:
                cold[jobs].append(_cold_read(args, jobs, cache))
                options = dict(folder=args.folder, solos=args.solos, cache_dir=cache, jobs=jobs)
                seconds, reading = timed(**options)
                warm[jobs] += [seconds] + [timed(**options)[0] for _ in range(args.repeats - 1)]
    print(
        f"{len(reading.corpus.pieces)} solos read, {len(reading.left_out)} left out, "
        f"{reading.counts.notes} notes; medians of {args.rounds} cold, "
        f"{args.rounds * args.repeats} warm reads"
    )
    header = ("processes", "cold (s)", "cold min-max", "warm (s)", "warm min-max")
    print("  ".join(f"{h:>{w}}" for h, w in zip(header, (9, 8, 12, 8, 12), strict=True)))
    for jobs in (1, 2):
        print(
            f"{jobs:>9}  {statistics.median(cold[jobs]):8.2f}  {_span(cold[jobs]):>12}  "
            f"{statistics.median(warm[jobs]):8.3f}  {_span(warm[jobs]):>12}"
        )


def _cold_read(args, jobs: int, cache: str) -> float:
    """A cold read's seconds, in a fresh process: music21's and the grammar's caches empty."""
    command = [sys.executable, "-m", "experiments.bench.bench_wjazzd", "--cold", str(jobs)]
    command += ["--cache", cache, "--folder", args.folder, "--solos", args.solos]
    return float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def _span(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


if __name__ == "__main__":
    main()

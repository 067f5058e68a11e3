"""How long reading WJazzD takes: cold (a fresh cache) with 1 and 2 processes, then warm.

    python -m experiments.bench_wjazzd [--repeats 5] [--solos '*']

Prints one table; each cold read runs in its own empty cache folder, each warm one reads the
cache the cold read wrote. The machine may be shared: compare the rows of one run.
"""

import argparse
import statistics
import tempfile
import time

from jazz_flax import wjazzd


def timed(**kwargs) -> tuple[float, wjazzd.Reading]:
    began = time.perf_counter()
    reading = wjazzd.load(**kwargs)
    return time.perf_counter() - began, reading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="warm reads")
    parser.add_argument("--solos", default="*")
    parser.add_argument("--folder", default=str(wjazzd.FOLDER))
    args = parser.parse_args()
    rows = []
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory() as cache:
            options = dict(folder=args.folder, solos=args.solos, cache_dir=cache, jobs=jobs)
            cold, reading = timed(**options)
            warm = [timed(**options)[0] for _ in range(args.repeats)]
        rows.append((jobs, cold, statistics.median(warm), min(warm), max(warm)))
    print(
        f"{len(reading.corpus.pieces)} solos read, {len(reading.left_out)} left out, "
        f"{reading.counts.notes} notes"
    )
    print(f"{'processes':>9}  {'cold (s)':>8}  {'warm median (s)':>15}  {'warm min-max (s)':>16}")
    for jobs, cold, median, low, high in rows:
        print(f"{jobs:>9}  {cold:8.2f}  {median:15.3f}  {f'{low:.3f}-{high:.3f}':>16}")


if __name__ == "__main__":
    main()

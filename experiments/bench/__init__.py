"""Benchmarks: `make bench` (benchmark.py) and the scripts its rows come from; the figures are in
experiments/BENCHMARKS.md."""

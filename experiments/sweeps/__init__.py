"""Sweep definitions: `make sweep SWEEP=<name>` runs experiments/sweeps/<name>.py (see sweep.py)."""

# The WJazzD sweeps compare test NLLs: one solo over the first test solo's changes and one over
# each of the first two test solos' (their musical metrics go to results.csv) keep each run's
# evaluation short (evaluate.default_config).
WJAZZD_EVAL = {"solos": 1, "test_solos": 2}

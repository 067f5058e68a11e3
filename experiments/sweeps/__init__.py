"""Sweep definitions: `make sweep SWEEP=<name>` runs experiments/sweeps/<name>.py (see sweep.py)."""

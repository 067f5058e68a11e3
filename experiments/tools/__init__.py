"""Tools that read runs: `python -m experiments.tools.compare_corpora`."""

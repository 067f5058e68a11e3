"""`python -m jazz_flax COMMAND ...`: the `jazz-flax` command (jazz_flax.main)."""

from jazz_flax.main import run

run()

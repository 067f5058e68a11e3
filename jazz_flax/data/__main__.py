"""`python -m jazz_flax.data summary ...`: see jazz_flax.data.summary."""

from jazz_flax import interrupts
from jazz_flax.data.cli import main

interrupts.catch()
main()

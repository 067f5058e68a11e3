"""The command line, `jazz-flax COMMAND` (`python -m jazz_flax`, `python -m jazz_flax.main`):
each command's flags and help (`options`, `parsing`: light, no JAX), the commands (`commands`),
and what `train` does with a run directory that holds a run (`rundir`)."""

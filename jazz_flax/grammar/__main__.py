"""`python -m jazz_flax.grammar roundtrip ...`: see jazz_flax.grammar.roundtrip."""

from jazz_flax.music.roundtrip import main

main()

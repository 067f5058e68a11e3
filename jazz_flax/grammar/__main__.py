"""`python -m jazz_flax.grammar roundtrip ...`: see jazz_flax.grammar.roundtrip."""

from jazz_flax.grammar.roundtrip import main

main()

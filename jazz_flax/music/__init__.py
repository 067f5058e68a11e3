"""The music side of jazz_flax: what is done with a solo's notes once a model has played them.

`render` (a solo as MIDI, WAV and piano roll), `metrics` (musical metrics of a solo), `verbatim`
(memorisation: runs of tokens found verbatim in a corpus) and `roundtrip` (how much of a solo
survives its grammar). Import the modules themselves, e.g. `from jazz_flax.music import render`.
"""

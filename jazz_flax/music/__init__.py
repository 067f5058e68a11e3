"""The music side of jazz_flax: what becomes of tokens once a model has played them.

`chords` (lead-sheet chord text), `solo` (tokens → 4-beat measures → notes), `render` (a solo as
MIDI, WAV and piano roll), `metrics` (musical metrics of a solo), `verbatim` (memorisation: runs
of tokens found verbatim in a corpus) and `roundtrip` (how much of a solo survives its grammar).
None of them imports JAX. Import the modules themselves, e.g. `from jazz_flax.music import solo`.
"""

"""The music side of jazz_flax: what becomes of tokens once a model has played them.

`scores` (reading a score with music21: parts, a section's melody and chords by measure),
`chords` (lead-sheet chord text), `solo` (tokens → 4-beat measures → notes), `render` (a solo as
MIDI, WAV and piano roll), `metrics` and `line_metrics` (musical metrics of a solo, and those of
its line that can fail), `verbatim` (memorisation: runs of tokens found verbatim in a corpus) and
`roundtrip` (how much of a solo survives its grammar).
None of them imports JAX. Import the modules themselves, e.g. `from jazz_flax.music import solo`.
"""

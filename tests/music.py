"""Small pieces of music built with music21, for tests."""

from __future__ import annotations

from pathlib import Path

from music21 import chord, harmony, instrument, meter, note, stream

from jazz_flax import grammar

METHENY = Path(__file__).resolve().parents[1] / "data" / "original_metheny.mid"

# A four-measure solo over C, Dm, G7|C, C. A spec is (pitch, beats): a name, a tuple of names for a
# double stop, or None for a rest.
SOLO = [
    [("E4", 1.0), ("D4", 1.0), (None, 0.5), ("C#4", 0.5), ("B-4", 0.5), (None, 0.5)],
    [("F4", 1.0), ("E4", 1.0), (("D4", "F4"), 1.0), ("A4", 1.0)],
    [("B4", 2.0), ("E4", 2.0)],
    [("G4", 1.0), (None, 1.0), ("C5", 1.0), ("G4", 1.0)],
]
CHANGES = [
    [(("C3", "E3", "G3"), 4.0)],
    [(("D3", "F3", "A3"), 4.0)],
    [(("G2", "B2", "D3", "F3"), 2.0), (("C3", "E3", "G3"), 2.0)],
    [(("C3", "E3", "G3"), 4.0)],
]
# The solo's changes as lead-sheet symbols, (offset, figure): none starts in the last measure.
SYMBOLS = [(0.0, "C"), (4.0, "Dm7"), (8.0, "G7"), (10.0, "C")]


def element(pitch, beats: float):
    if pitch is None:
        return note.Rest(quarterLength=beats)
    if isinstance(pitch, tuple):
        return chord.Chord(list(pitch), quarterLength=beats)
    return note.Note(pitch, quarterLength=beats)


def part(measures, start: float = 0.0) -> stream.Part:
    """A part with each measure's specs laid end to end, from offset `start`."""
    result = stream.Part()
    offset = start
    for specs in measures:
        for pitch, beats in specs:
            result.insert(offset, element(pitch, beats))
            offset += beats
    return result


def measure_elements(specs, start: float = 0.0) -> list:
    """The elements of one measure, with absolute offsets from `start`."""
    return list(part([specs], start).notesAndRests)


def measure_chords(specs) -> list[grammar.Chord]:
    return [grammar.Chord.from_music21(c, c.offset) for c in measure_elements(specs)]


def write_solo(path: Path, solo=SOLO, changes=CHANGES) -> Path:
    """Writes the solo (part "Guitar", as "Electric Guitar" in MIDI) and its chords ("Piano")."""
    melody, chords = part(solo), part(changes)
    melody.partName, chords.partName = "Guitar", "Piano"
    melody.insert(0, instrument.ElectricGuitar())
    chords.insert(0, instrument.Piano())
    score = stream.Score()
    for p in (melody, chords):
        p.insert(0, meter.TimeSignature("4/4"))
        score.insert(0, p)
    fmt = "midi" if path.suffix in (".mid", ".midi") else "musicxml"
    score.write(fmt, fp=str(path))
    return path


def write_lead_sheet(path: Path, melody=SOLO, symbols=SYMBOLS) -> Path:
    """Writes a lead sheet (MusicXML): one part, "Lead", the melody with its chord symbols."""
    lead = part(melody)
    lead.partName = "Lead"
    lead.insert(0, meter.TimeSignature("4/4"))
    for offset, figure in symbols:
        lead.insert(offset, harmony.ChordSymbol(figure))
    score = stream.Score()
    score.insert(0, lead)
    score.write("musicxml", fp=str(path))
    return path

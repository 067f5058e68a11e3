"""Reading a score with music21: its parts, a section's melody and chord elements, grouped by
measure of `meter.BEATS` beats (`data.parse_file` makes a Piece of them; `primer` reads a
melody over other changes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from jazz_flax import grammar, meter
from jazz_flax.errors import JazzFlaxError, warn_once

MUSIC_SUFFIXES = (".mid", ".midi", ".xml", ".mxl", ".musicxml")


def read_score(path: Path):
    """The music21 score of a MIDI or MusicXML file."""
    if path.suffix.lower() not in MUSIC_SUFFIXES:
        raise JazzFlaxError(
            f"{path} is not a music file", hint=f"expected one of {', '.join(MUSIC_SUFFIXES)}"
        )
    from music21 import converter

    try:
        score = converter.parse(str(path))
    except Exception as e:  # music21 raises many types for a file it cannot read
        raise JazzFlaxError(f"{path} could not be read as MIDI or MusicXML: {e}") from None
    if not score.recurse().notes:
        raise JazzFlaxError(f"{path} holds no notes")
    return score


def upper_voice(part, path: Path):
    """The part, or where a MusicXML part's measures hold several voices, its first (upper)
    voice, with a warning: voices merged would interleave two lines into one melody. (MIDI has no
    voices: those music21 makes of its overlapping notes are read as they sound, as the notebook.)
    """
    voiced = [m for m in part.getElementsByClass("Measure") if len(m.voices) > 1]
    if not voiced or path.suffix.lower() in (".mid", ".midi"):
        return part
    warn_once(
        f"part {part.partName!r} of {path} has several voices in {len(voiced)} measures: "
        "the melody is its first (upper) voice"
    )
    return part.voicesToParts().parts[0]


def melody(part, start: float | None, end: float | None) -> list:
    """The notes, rests and double stops of the part's section, in time order."""
    from music21 import harmony

    elements = section(part, start, end, ("Note", "Rest", "Chord"))
    return [e for e in elements if not isinstance(e, harmony.Harmony)]  # a chord symbol is a Chord


def measure_chords(chords: Sequence, numbers: Iterable[int], held: bool) -> dict[int, tuple]:
    """The grammar chords of each measure numbered in `numbers`, offsets within the measure.

    With `held` (chord symbols, each lasting until the next), a measure whose first beat has no
    chord of its own starts with the one sounding then (`sounding_before`). Chords without
    pitches ("N.C.") are left out.
    """
    starting = group_by_measure([c for c in chords if c.pitches])
    result = {}
    for number in numbers:
        measure_start = float(number * meter.BEATS)
        own = tuple(
            grammar.Chord.from_music21(c, float(c.offset) - measure_start)
            for c in starting.get(number, [])
        )
        if held and (not own or own[0].offset > 0):
            own = (grammar.Chord.from_music21(sounding_before(starting, number), 0.0), *own)
        result[number] = own
    return result


def sounding_before(starting: dict[int, list], number: int):
    """The chord sounding as measure `number` begins: the last one started before it; before the
    first chord, the first (as `grammar.chord_at` within a measure)."""
    earlier = [n for n in starting if n < number]
    return starting[max(earlier)][-1] if earlier else starting[min(starting)][0]


def section_text(start: float | None, end: float | None) -> str:
    """The section in words, e.g. "between offsets 476 and 548"."""
    if start is None and end is None:
        return "in the whole piece"
    return f"between offsets {start or 0:g} and {'the end' if end is None else f'{end:g}'}"


def event(element, measure_start: float) -> grammar.Event:
    """A melody element as an Event: rests have no pitch, double stops sound their top note."""
    pitch = None if element.isRest else max(p.midi for p in element.pitches)
    return grammar.Event(float(element.offset) - measure_start, float(element.quarterLength), pitch)


def melody_part(score, name: str, path: Path):
    """The part named `name`; the only part of a file of one part, whatever its name."""
    return score.parts[0] if len(score.parts) == 1 else part(score, name, path)


def part(score, name: str, path: Path, hint: str | None = None):
    for part in score.parts:
        if part.partName == name:
            return part
    names = ", ".join(str(p.partName) for p in score.parts) or "none"
    raise JazzFlaxError(f"{path} has no part named {name!r}; its parts: {names}", hint=hint)


def section(part, start: float | None, end: float | None, classes: Sequence[str]) -> list:
    """The part's elements of the given classes with offsets in [start, end], in time order."""
    flat = part.flatten()
    first = 0.0 if start is None else start
    last = flat.highestTime if end is None else end
    in_section = flat.getElementsByOffset(first, last, includeEndBoundary=True)
    return list(in_section.getElementsByClass(list(classes)))


def group_by_measure(elements: Sequence) -> dict[int, list]:
    groups: dict[int, list] = {}
    for element in elements:
        groups.setdefault(int(element.offset // meter.BEATS), []).append(element)
    return groups

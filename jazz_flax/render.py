"""A generated solo as files: MIDI (music21), WAV (a small numpy synthesiser), piano roll (PNG).

Every writer goes through a temporary file and a rename: a file is there whole or not at all.
"""

from __future__ import annotations

import dataclasses
import io
import wave
from pathlib import Path

import numpy as np

from jazz_flax.files import atomic_write, write_figure
from jazz_flax.grammar import Chord, Event

SAMPLE_RATE = 22_050


@dataclasses.dataclass(frozen=True)
class Solo:
    """A melody over chords; offsets and durations in quarter notes from the start."""

    notes: tuple[Event, ...]
    chords: tuple[Chord, ...]  # absolute offsets, sorted; each sounds until the next or the end
    length: float  # beats
    bpm: float = 130.0

    @property
    def seconds(self) -> float:
        return self.length * 60.0 / self.bpm

    def chord_spans(self) -> list[tuple[float, float, Chord]]:
        """(start, end, chord) of every chord."""
        if not self.chords:
            return []
        ends = [c.offset for c in self.chords[1:]] + [self.length]
        return [(c.offset, end, c) for c, end in zip(self.chords, ends, strict=True)]


def to_score(solo: Solo):
    """A music21 score: melody (electric guitar) and chords (piano) at the solo's tempo."""
    from music21 import chord, instrument, meter, note, pitch, stream, tempo

    melody, comping = stream.Part(), stream.Part()
    melody.partName, comping.partName = "Melody", "Chords"
    melody.insert(0, instrument.ElectricGuitar())
    comping.insert(0, instrument.Piano())
    for part in (melody, comping):
        part.insert(0, meter.TimeSignature("4/4"))
    melody.insert(0, tempo.MetronomeMark(number=solo.bpm))
    for event in solo.notes:
        if event.pitch is None:
            element = note.Rest(quarterLength=event.duration)
        else:
            element = note.Note(pitch.Pitch(midi=event.pitch), quarterLength=event.duration)
        melody.insert(event.offset, element)
    for start, end, c in solo.chord_spans():
        comping.insert(start, chord.Chord(list(c.pitches), quarterLength=end - start))
    score = stream.Score()
    score.insert(0, melody)
    score.insert(0, comping)
    return score


def write_midi(solo: Solo, path: Path) -> Path:
    from music21 import midi

    midi_file = midi.translate.streamToMidiFile(to_score(solo))
    return atomic_write(path, midi_file.writestr())


# ---------------------------------------------------------------------------------------------
# Audio


def _midi_to_hz(pitch: int) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


def _tone(pitch: int, seconds: float, loudness: float) -> np.ndarray:
    """A plucked tone: three harmonics under an exponential decay, with short fades at the ends."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f = _midi_to_hz(pitch)
    wave_ = sum(np.sin(2 * np.pi * f * k * t) / k**2 for k in (1, 2, 3))
    envelope = np.exp(-3.0 * t) * np.minimum(1.0, np.minimum(t, t[::-1]) * 200.0)
    return loudness * wave_ * envelope


def synthesize(solo: Solo) -> np.ndarray:
    """float32 mono samples at SAMPLE_RATE, exactly `solo.seconds` long, in [-1, 1]."""
    out = np.zeros(round(solo.seconds * SAMPLE_RATE), np.float32)
    beat = 60.0 / solo.bpm

    def add(pitch: int, start: float, duration: float, loudness: float) -> None:
        begin = round(start * beat * SAMPLE_RATE)
        tone = _tone(pitch, duration * beat, loudness)[: max(0, len(out) - begin)]
        out[begin : begin + len(tone)] += tone

    for event in solo.notes:
        if event.pitch is not None:
            add(event.pitch, event.offset, event.duration, 0.5)
    for start, end, c in solo.chord_spans():
        for pitch in c.harmony.midi:
            add(pitch, start, end - start, 0.15)
    peak = float(np.abs(out).max(initial=0.0))
    return out / peak * 0.9 if peak > 0.9 else out


def write_wav(solo: Solo, path: Path) -> Path:
    samples = (synthesize(solo) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.tobytes())
    return atomic_write(path, buffer.getvalue())


# ---------------------------------------------------------------------------------------------
# Picture


def chord_name(c: Chord) -> str:
    """A lead-sheet name for the chord ("Dm7", "Bbmaj7"), or its pitch names when it has none."""
    from music21 import chord, harmony

    figure = harmony.chordSymbolFigureFromChord(chord.Chord(list(c.pitches)))
    # music21 lists several added tones in set order, which changes from process to process.
    if "Cannot Be Identified" in figure or "," in figure:
        figure = " ".join(p.rstrip("0123456789") for p in c.pitches)
    return figure.replace("-", "b")


def write_piano_roll(solo: Solo, path: Path, title: str = "") -> Path:
    """The melody as bars (time in beats, MIDI pitch) with the chord changes marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(8.0, solo.length / 4), 4.0))
    ax = fig.subplots()
    notes = [e for e in solo.notes if e.pitch is not None]
    for e in notes:
        ax.broken_barh([(e.offset, e.duration * 0.95)], (e.pitch - 0.4, 0.8), color="tab:blue")
    pitches = [e.pitch for e in notes] or [60]
    low, high = min(pitches) - 3, max(pitches) + 4
    for start, _, c in solo.chord_spans():
        ax.axvline(start, color="0.75", lw=0.8, zorder=0)
        ax.text(start + 0.05, high - 1, chord_name(c), fontsize=7, va="top", rotation=90)
    ax.set(xlim=(0, solo.length), ylim=(low, high), xlabel="beat", ylabel="MIDI pitch")
    ax.set_xticks(np.arange(0, solo.length + 1e-9, 4))
    ax.set_title(title or f"{len(notes)} notes, {solo.length / 4:g} measures at {solo.bpm:g} bpm")
    fig.tight_layout()
    return write_figure(fig, path, dpi=120)


def write_all(solo: Solo, stem: Path) -> dict[str, Path]:
    """`stem`.mid, .wav and .png."""
    return {
        "midi": write_midi(solo, stem.with_suffix(".mid")),
        "wav": write_wav(solo, stem.with_suffix(".wav")),
        "png": write_piano_roll(solo, stem.with_suffix(".png")),
    }

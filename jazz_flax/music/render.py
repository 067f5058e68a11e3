"""A generated solo as files: MIDI (pretty_midi), WAV (FluidSynth, or a small numpy synthesiser),
piano roll (PNG).

The MIDI file is the performance: the melody on a General MIDI instrument, moved by octaves into
its practical range (`INSTRUMENTS`), the chords comped on piano (a mid-register voicing without
doubled pitches, on beat 1 and the "and" of 2 of every bar and at every change), the chord roots
on bass if asked for, off-beat eighths swung by `Rendering.swing`; one named track per instrument,
480 ticks per beat. With the `fluidsynth` program and a General MIDI soundfont (`make audio`), the
WAV is FluidSynth's rendering of that file, its level normalised; without them, the numpy
synthesiser plays the melody as written and the held chords (no instruments, no bass) and
`Renderer` says why.

Every writer goes through a temporary file and a rename: a file is there whole or not at all.
"""

from __future__ import annotations

import dataclasses
import io
import math
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import NamedTuple

import numpy as np

from jazz_flax.errors import JazzFlaxError
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


# ---------------------------------------------------------------------------------------------
# The performance: instruments, comping, bass, swing


class Instrument(NamedTuple):
    """A melody instrument: its track's name (one music21 also reads as this instrument: it takes
    a track's name over its program change), General MIDI program (0-based) and practical range,
    the lowest and highest MIDI pitch as it sounds (a MIDI file holds sounding pitches)."""

    name: str
    program: int
    low: int
    high: int

    def fold(self, pitch: int) -> int:
        """`pitch` moved by the fewest octaves that bring it into the range."""
        up, down = -(-(self.low - pitch) // 12), -(-(pitch - self.high) // 12)
        return pitch + 12 * (max(0, up) - max(0, down))


# Practical ranges as orchestration texts give them (no altissimo, no extreme notes), as sounding
# pitches; a transposing instrument's written range and the interval it sounds below it follow.
INSTRUMENTS = {
    "tenor_sax": Instrument("Tenor Saxophone", 66, 44, 75),  # Ab2–Eb5 (Bb3–F6, M9 lower)
    "alto_sax": Instrument("Alto Saxophone", 65, 49, 80),  # Db3–Ab5 (Bb3–F6, M6 lower)
    "soprano_sax": Instrument("Soprano Saxophone", 64, 56, 87),  # Ab3–Eb6 (Bb3–F6, M2 lower)
    "baritone_sax": Instrument("Baritone Saxophone", 67, 37, 68),  # Db2–Ab4 (Bb3–F6, M13 lower)
    "trumpet": Instrument("Trumpet", 56, 52, 82),  # E3–Bb5 (F#3–C6, M2 lower)
    "trombone": Instrument("Trombone", 57, 40, 74),  # E2–D5
    "clarinet": Instrument("Clarinet", 71, 50, 89),  # D3–F6 (E3–G6, M2 lower)
    "flute": Instrument("Flute", 73, 60, 93),  # C4–A6
    "jazz_guitar": Instrument("Electric Guitar (jazz)", 26, 40, 81),  # E2–A5 (E3–A6, P8 lower)
    "vibraphone": Instrument("Vibraphone", 11, 53, 89),  # F3–F6
    "piano": Instrument("Solo Piano", 0, 21, 108),  # A0–C8
}
PIANO, ACOUSTIC_BASS = 0, 32  # the General MIDI programs of the comping and the bass
COMP_BEATS = (0.0, 1.5)  # where in each bar the piano plays (the Charleston rhythm)
COMP_LENGTH = 1.0  # beats a comping chord is held at most
COMP_LOW, BASS_LOW = 53, 33  # the comping voicing lies in F3–E4, the bass roots in A1–G#2
VELOCITY = {"melody": 96, "comping": 56, "bass": 80}
RESOLUTION = 480  # MIDI ticks per beat


class Rendering(NamedTuple):
    """How a solo is played (its tempo is the Solo's): swing, instruments, soundfont."""

    swing: float = 1.0  # off-beat eighths: the first eighth of a beat lasts `swing` × the second
    chords: bool = True  # comp the chords (Magenta's --render_chords)
    instrument: str = "tenor_sax"  # a name in INSTRUMENTS
    bass: bool = False  # a bass line of the chord roots, on every beat
    soundfont: str | None = None  # a .sf2 file; None: the first of SOUNDFONTS there is


def check_rendering(rendering: Rendering) -> None:
    """Raises a JazzFlaxError for a setting out of range or an unknown instrument."""
    if not rendering.swing > 0:
        raise JazzFlaxError(f"swing must be > 0, got {rendering.swing}", hint="1 is straight")
    if rendering.instrument not in INSTRUMENTS:
        raise JazzFlaxError(
            f"unknown instrument {rendering.instrument!r}", hint=f"one of {', '.join(INSTRUMENTS)}"
        )


class Voice(NamedTuple):
    """One track: its name, General MIDI program and notes (offset, duration, MIDI pitch,
    velocity), in beats."""

    name: str
    program: int
    notes: tuple[tuple[float, float, int, int], ...]


def swung(beats: float, ratio: float) -> float:
    """The time in beats at which written time `beats` is played with off-beat eighths delayed:
    the first half of each beat stretched to ratio / (1 + ratio) of it, the second half squeezed."""
    beat, within = divmod(beats, 1.0)
    split = ratio / (1.0 + ratio)
    played = within * 2 * split if within < 0.5 else split + (within - 0.5) * 2 * (1 - split)
    return beat + played


def perform(solo: Solo, rendering: Rendering) -> list[Voice]:
    """The voices the MIDI file holds: the melody in its instrument's range (`in_range`), then
    comping and bass as asked for, swung."""
    instrument = INSTRUMENTS[rendering.instrument]
    notes = [e for e in solo.notes if e.pitch is not None]
    pitches = in_range([e.pitch for e in notes], instrument)
    melody = [
        (e.offset, e.duration, p, VELOCITY["melody"]) for e, p in zip(notes, pitches, strict=True)
    ]
    voices = [Voice(instrument.name, instrument.program, tuple(melody))]
    if rendering.chords:
        voices.append(Voice("Piano", PIANO, tuple(_comping(solo))))
    if rendering.bass:
        voices.append(Voice("Acoustic Bass", ACOUSTIC_BASS, tuple(_bass(solo))))
    return [_swing(voice, rendering.swing) for voice in voices]


def in_range(pitches: list[int], instrument: Instrument) -> list[int]:
    """The pitches moved by octaves into the instrument's range: the whole line by the octaves
    that leave the most notes inside (the fewest octaves on a tie), so that it keeps its shape,
    then each note still outside by the fewest octaves that bring it in."""

    def inside(octaves: int) -> tuple[int, int]:
        shifted = [p + 12 * octaves for p in pitches]
        return sum(instrument.low <= p <= instrument.high for p in shifted), -abs(octaves)

    octaves = max(range(-4, 5), key=inside)
    return [instrument.fold(p + 12 * octaves) for p in pitches]


def _comping(solo: Solo):
    """Piano chords at each change and on COMP_BEATS of every bar, voiced from COMP_LOW up, each
    pitch class once."""
    for start, end, chord in solo.chord_spans():
        bars = range(int(start // 4) * 4, math.ceil(end), 4)
        hits = sorted({start} | {b + o for b in bars for o in COMP_BEATS if start < b + o < end})
        voicing = sorted({COMP_LOW + (p - COMP_LOW) % 12 for p in chord.harmony.midi})
        for hit, after in zip(hits, [*hits[1:], end], strict=True):
            for pitch in voicing:
                yield hit, min(COMP_LENGTH, after - hit), pitch, VELOCITY["comping"]


def _bass(solo: Solo):
    """The root of the sounding chord on every beat (and at every change)."""
    for start, end, chord in solo.chord_spans():
        root = BASS_LOW + (chord.harmony.root - BASS_LOW) % 12
        beats = sorted({start} | {float(b) for b in range(math.ceil(start), math.ceil(end))})
        for beat, after in zip(beats, [*beats[1:], end], strict=True):
            yield beat, after - beat, root, VELOCITY["bass"]


def _swing(voice: Voice, ratio: float) -> Voice:
    """The voice with its notes' starts and ends moved by `swung`."""
    notes = [
        (*_swung_span(offset, duration, ratio), *rest) for offset, duration, *rest in voice.notes
    ]
    return voice._replace(notes=tuple(notes))


def swung_solo(solo: Solo, ratio: float) -> Solo:
    """The solo with its notes' and chords' starts and ends moved by `swung`."""
    notes = []
    for e in solo.notes:
        offset, duration = _swung_span(e.offset, e.duration, ratio)
        notes.append(dataclasses.replace(e, offset=offset, duration=duration))
    chords = [dataclasses.replace(c, offset=swung(c.offset, ratio)) for c in solo.chords]
    return dataclasses.replace(solo, notes=tuple(notes), chords=tuple(chords))


def _swung_span(offset: float, duration: float, ratio: float) -> tuple[float, float]:
    """(offset, duration) of a note played swung."""
    start, end = swung(offset, ratio), swung(offset + duration, ratio)
    return start, end - start


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


def write_midi(solo: Solo, path: Path, rendering: Rendering = Rendering()) -> Path:  # noqa: B008
    """The performance (`perform`) as a type 1 MIDI file at RESOLUTION ticks per beat: a track of
    tempo and metre, then one track per voice, named, with its one program change."""
    import pretty_midi

    performance = pretty_midi.PrettyMIDI(resolution=RESOLUTION, initial_tempo=solo.bpm)
    performance.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    seconds = 60.0 / solo.bpm
    for voice in perform(solo, rendering):
        track = pretty_midi.Instrument(voice.program, name=voice.name)
        track.notes = [
            pretty_midi.Note(velocity, pitch, offset * seconds, (offset + duration) * seconds)
            for offset, duration, pitch, velocity in voice.notes
        ]
        performance.instruments.append(track)
    written = io.BytesIO()
    performance.write(written)
    return atomic_write(path, written.getvalue())


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
    """The numpy synthesiser's rendering (`synthesize`), mono at SAMPLE_RATE."""
    return atomic_write(path, wav_bytes(synthesize(solo)[:, None], SAMPLE_RATE))


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """A 16-bit WAV file of float samples (frames, channels) in [-1, 1]."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


FLUIDSYNTH = "fluidsynth"  # the program
SOUNDFONTS = (  # General MIDI soundfonts where Debian, Ubuntu, Fedora, Arch and Homebrew put them
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
)
FLUIDSYNTH_RATE = 44_100
PEAK = 10 ** (-1 / 20)  # FluidSynth's WAV is normalised to a peak of −1 dBFS
TAIL = 0.25  # seconds after the last beat, faded out: the last notes' release


class Renderer(NamedTuple):
    """Which program renders the WAV: FluidSynth with a soundfont, or the numpy synthesiser."""

    soundfont: Path | None  # None: the numpy synthesiser
    why: str = ""  # why not FluidSynth

    def __str__(self) -> str:
        if self.soundfont is None:
            return f"numpy synthesiser ({self.why})"
        return f"FluidSynth ({self.soundfont.name})"


def find_renderer(soundfont: str | None = None) -> Renderer:
    """FluidSynth with `soundfont` (which must be one) or the first of SOUNDFONTS there is; the
    numpy synthesiser, saying why, when the program or a soundfont is missing."""
    if soundfont is not None:
        check_soundfont(Path(soundfont))
    if shutil.which(FLUIDSYNTH) is None:
        return Renderer(None, "fluidsynth is not installed: make audio")
    found = [Path(p) for p in ([soundfont] if soundfont else SOUNDFONTS) if Path(p).is_file()]
    if not found:
        return Renderer(None, "no General MIDI soundfont found: make audio, or --soundfont")
    return Renderer(found[0])


def check_soundfont(path: Path) -> None:
    """Raises a JazzFlaxError unless `path` is a SoundFont 2 file (a RIFF file of form sfbk):
    FluidSynth would render silence from anything else and exit 0."""
    if not path.is_file():
        raise JazzFlaxError(f"no soundfont at {path}", hint="give a .sf2 file, or leave it out")
    with path.open("rb") as f:
        header = f.read(12)
    if header[:4] != b"RIFF" or header[8:] != b"sfbk":
        raise JazzFlaxError(f"{path} is not a SoundFont (.sf2) file", hint="give a .sf2 file")


def fluidsynth(midi: Path, soundfont: Path, seconds: float) -> np.ndarray:
    """float32 stereo (frames, 2) samples of FluidSynth's rendering of `midi`, `seconds` + TAIL
    long (cut or padded), the tail faded out, the peak at PEAK."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.wav"
        command = [FLUIDSYNTH, "-niq", "-F", str(out), "-r", str(FLUIDSYNTH_RATE)]
        done = subprocess.run([*command, str(soundfont), str(midi)], capture_output=True, text=True)
        if done.returncode != 0 or not out.is_file():
            message = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise JazzFlaxError(f"fluidsynth failed on {midi.name}: {message}")
        with wave.open(str(out)) as w:
            frames = np.frombuffer(w.readframes(w.getnframes()), "<i2")
            samples = frames.reshape(-1, w.getnchannels()).astype(np.float32) / 32768
    total, tail = round((seconds + TAIL) * FLUIDSYNTH_RATE), round(TAIL * FLUIDSYNTH_RATE)
    samples = np.pad(samples[:total], ((0, max(0, total - len(samples))), (0, 0)))
    samples[-tail:] *= np.linspace(1.0, 0.0, tail, dtype=np.float32)[:, None]
    peak = float(np.abs(samples).max(initial=0.0))
    return samples * (PEAK / peak) if peak > 0 else samples


def write_audio(
    solo: Solo, rendering: Rendering, midi: Path, path: Path, renderer: Renderer
) -> Path:
    """The WAV of the MIDI file `midi` (FluidSynth) or of the solo as rendered (the numpy
    synthesiser: swung, chords left out unless `rendering.chords`)."""
    if renderer.soundfont is None:
        played = solo if rendering.chords else dataclasses.replace(solo, chords=())
        return write_wav(swung_solo(played, rendering.swing), path)
    samples = fluidsynth(midi, renderer.soundfont, solo.seconds)
    return atomic_write(path, wav_bytes(samples, FLUIDSYNTH_RATE))


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
    return write_figure(piano_roll(solo, title), path, dpi=PIANO_ROLL_DPI)


PIANO_ROLL_DPI = 120


def piano_roll(solo: Solo, title: str = ""):
    """`write_piano_roll`'s picture, a matplotlib Figure."""
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
    return fig


def write_all(
    solo: Solo,
    stem: Path,
    rendering: Rendering = Rendering(),  # noqa: B008 (an immutable NamedTuple)
    renderer: Renderer | None = None,
) -> dict[str, Path]:
    """`stem`.mid (the performance), .wav (by `renderer`, default `find_renderer`'s) and .png."""
    renderer = renderer or find_renderer(rendering.soundfont)
    midi = write_midi(solo, stem.with_suffix(".mid"), rendering)
    return {
        "midi": midi,
        "wav": write_audio(solo, rendering, midi, stem.with_suffix(".wav"), renderer),
        "png": write_piano_roll(solo, stem.with_suffix(".png")),
    }

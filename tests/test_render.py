import wave

import numpy as np
import pytest
from music21 import converter

from jazz_flax import render
from jazz_flax.grammar import Chord, Event

SOLO = render.Solo(
    notes=(Event(0.0, 1.0, 64), Event(1.0, 1.0, None), Event(2.0, 2.0, 67), Event(4.0, 4.0, 60)),
    chords=(Chord(0.0, ("C3", "E3", "G3")), Chord(4.0, ("D3", "F3", "A3", "C4"))),
    length=8.0,
)


def test_chord_spans_last_until_the_next_chord_or_the_end():
    assert [(s, e) for s, e, _ in SOLO.chord_spans()] == [(0.0, 4.0), (4.0, 8.0)]


def test_midi_round_trip(tmp_path):
    path = render.write_midi(SOLO, tmp_path / "solo.mid")
    score = converter.parse(str(path))
    melody = [
        (float(n.offset), float(n.quarterLength), n.pitch.midi)
        for n in score.parts[0].flatten().notes
    ]
    assert melody == [(0.0, 1.0, 64), (2.0, 2.0, 67), (4.0, 4.0, 60)]
    chords = list(score.parts[1].flatten().getElementsByClass("Chord"))
    assert [float(c.offset) for c in chords] == [0.0, 4.0]
    assert score.metronomeMarkBoundaries()[0][2].number == 130


def test_wav_lasts_as_long_as_the_solo_at_its_tempo(tmp_path):
    path = render.write_wav(SOLO, tmp_path / "solo.wav")
    with wave.open(str(path)) as w:
        assert w.getframerate() == render.SAMPLE_RATE and w.getnchannels() == 1
        assert w.getnframes() / w.getframerate() == pytest.approx(8 * 60 / 130, abs=1e-4)
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert samples.any() and np.abs(samples).max() <= 32767


def test_wav_is_silent_where_nothing_sounds():
    quiet = render.Solo(notes=(Event(0.0, 2.0, None),), chords=(), length=2.0)
    assert not render.synthesize(quiet).any()


def test_piano_roll_is_a_png(tmp_path):
    path = render.write_piano_roll(SOLO, tmp_path / "solo.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chord_names():
    assert render.chord_name(SOLO.chords[1]) == "Dm7"


def test_write_all_leaves_only_the_three_files(tmp_path):
    paths = render.write_all(SOLO, tmp_path / "my_music")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())


def test_unnamed_chord_shows_its_pitches():
    assert render.chord_name(Chord(0.0, ("C4", "C#4", "D4"))) == "C C# D"
    assert render.chord_name(Chord(0.0, ("B-2", "D3", "F3", "A3"))) == "Bbmaj7"

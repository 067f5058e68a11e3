import collections
import wave

import mido
import numpy as np
import pretty_midi
import pytest
from music21 import converter

from jazz_flax.errors import JazzFlaxError
from jazz_flax.grammar import Chord, Event
from jazz_flax.music import render

needs_fluidsynth = pytest.mark.skipif(
    render.find_renderer().soundfont is None,
    reason="FluidSynth or a soundfont is absent: make audio",
)

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
    comping = {}
    for element in score.parts[1].flatten().notes:  # music21 may read a chord's notes as a Chord
        for p in element.pitches:
            comping.setdefault(float(element.offset), set()).add(p.midi)
    # on beat 1 and the "and" of 2 of each bar, voiced in F3–E4: C E G as G3 C4 E4
    assert comping == {
        0.0: {55, 60, 64},
        1.5: {55, 60, 64},
        4.0: {62, 53, 57, 60},
        5.5: {62, 53, 57, 60},
    }
    assert score.metronomeMarkBoundaries()[0][2].number == 130
    programs = [part.getInstruments()[0].midiProgram for part in score.parts]
    assert programs == [render.INSTRUMENTS["tenor_sax"].program, render.PIANO]


# A line from A0 to C8 in fifths, far outside every instrument's range at both ends, over a chord
# with doubled pitch classes (C and E twice) that the comping voicing folds onto the same keys.
WIDE = render.Solo(
    notes=tuple(Event(i * 0.5, 0.5, 21 + 7 * i) for i in range(13)),
    chords=(Chord(0.0, ("C3", "E3", "G3", "C4", "E4")), Chord(4.0, ("G2", "B2", "D3", "F3", "G3"))),
    length=8.0,
    bpm=147.0,
)


def midi_file(solo, tmp_path, **rendering):
    """The performance written to a file, read back by pretty_midi and mido."""
    path = render.write_midi(solo, tmp_path / "solo.mid", render.Rendering(**rendering))
    return pretty_midi.PrettyMIDI(str(path)), mido.MidiFile(path)


def test_midi_has_named_tracks_one_program_change_each_at_480_ticks(tmp_path):
    performance, raw = midi_file(WIDE, tmp_path, bass=True, instrument="alto_sax")
    assert raw.ticks_per_beat == performance.resolution == 480
    tracks = [(i.name, i.program) for i in performance.instruments]
    assert tracks == [("Alto Saxophone", 65), ("Piano", 0), ("Acoustic Bass", 32)]
    with_notes = [t for t in raw.tracks if any(m.type == "note_on" for m in t)]
    assert [t.name for t in with_notes] == [name for name, _ in tracks]
    assert [sum(m.type == "program_change" for m in t) for t in raw.tracks] == [0, 1, 1, 1]
    assert len({m.channel for t in with_notes for m in t if m.type == "note_on"}) == 3


def test_midi_tempo_is_the_solos(tmp_path):
    performance, raw = midi_file(WIDE, tmp_path)
    times, tempi = performance.get_tempo_changes()
    assert list(times) == [0.0] and tempi[0] == pytest.approx(147.0, abs=1e-3)
    assert sum(m.type == "set_tempo" for t in raw.tracks for m in t) == 1
    last = performance.instruments[0].notes[-1]  # the note on beat 6, for half a beat
    assert performance.time_to_tick(last.start) == 6 * 480
    assert (last.start, last.end) == pytest.approx((6 * 60 / 147, 6.5 * 60 / 147), abs=1e-4)


def test_no_track_strikes_a_pitch_twice_at_once(tmp_path):
    performance, _ = midi_file(WIDE, tmp_path, bass=True, swing=2.0)
    for track in performance.instruments:
        starts = collections.Counter(
            (performance.time_to_tick(n.start), n.pitch) for n in track.notes
        )
        assert max(starts.values()) == 1, track.name
    first = sorted(n.pitch for n in performance.instruments[1].notes if n.start == 0.0)
    assert first == [55, 60, 64]  # C E G once each, in F3–E4


@pytest.mark.parametrize("instrument", list(render.INSTRUMENTS))
def test_the_melody_stays_in_the_instruments_range(instrument, tmp_path):
    performance, _ = midi_file(WIDE, tmp_path, instrument=instrument)
    played = render.INSTRUMENTS[instrument]
    melody = performance.instruments[0].notes
    assert performance.instruments[0].name == played.name
    assert all(played.low <= n.pitch <= played.high for n in melody)
    # moved by whole octaves only, every note kept, at its time
    written = [e.pitch for e in WIDE.notes]
    assert [n.pitch % 12 for n in melody] == [p % 12 for p in written]
    ticks = [performance.time_to_tick(n.start) for n in melody]
    assert ticks == [round(e.offset * 480) for e in WIDE.notes]


def test_a_line_is_moved_whole_before_single_notes_are():
    tenor = render.INSTRUMENTS["tenor_sax"]  # Ab2–Eb5: 44–75
    assert render.in_range([70, 74, 77, 81], tenor) == [58, 62, 65, 69]  # an octave down, whole
    assert render.in_range([50, 60, 70], tenor) == [50, 60, 70]  # inside: untouched
    assert render.in_range([30, 60, 90], tenor) == [54, 60, 66]  # wider than the range: folded
    assert [tenor.fold(p) for p in (43, 44, 75, 76, 100)] == [55, 44, 75, 64, 64]


def test_the_ranges_are_practical_ones():
    for name, instrument in render.INSTRUMENTS.items():
        assert 21 <= instrument.low and instrument.high <= 108, name  # on a piano's keyboard
        assert 2.5 * 12 <= instrument.high - instrument.low <= 88, name  # 2½ octaves or more
    assert render.INSTRUMENTS["tenor_sax"][2:] == (44, 75)  # written Bb3–F6, a major 9th lower


def test_music21_reads_each_track_as_its_instrument(tmp_path):
    for name, instrument in render.INSTRUMENTS.items():
        path = render.write_midi(SOLO, tmp_path / f"{name}.mid", render.Rendering(instrument=name))
        parts = converter.parse(str(path)).parts
        assert [p.getInstruments()[0].midiProgram for p in parts] == [
            instrument.program,
            render.PIANO,
        ], name


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


# ---------------------------------------------------------------------------------------------
# The performance: swing, comping, bass, instruments


def test_swing_delays_the_off_beat_eighths():
    assert [render.swung(b, 2.0) for b in (0.0, 0.5, 1.0, 1.25, 2.75)] == pytest.approx(
        [0.0, 2 / 3, 1.0, 1 + 1 / 3, 2 + 2 / 3 + 1 / 6]
    )
    assert [render.swung(b, 1.0) for b in (0.25, 0.5, 3.75)] == [0.25, 0.5, 3.75]


def test_the_performance_has_the_voices_asked_for():
    names = [v.name for v in render.perform(SOLO, render.Rendering())]
    assert names == ["Tenor Saxophone", "Piano"]
    quiet = render.perform(SOLO, render.Rendering(chords=False, bass=True, instrument="trumpet"))
    assert [(v.name, v.program) for v in quiet] == [
        ("Trumpet", 56),
        ("Acoustic Bass", render.ACOUSTIC_BASS),
    ]
    bass = quiet[1].notes
    assert [n[0] for n in bass] == [float(b) for b in range(8)]
    assert {n[2] % 12 for n in bass[:4]} == {0} and {n[2] % 12 for n in bass[4:]} == {2}


@pytest.mark.parametrize(
    "rendering, message",
    [
        (render.Rendering(swing=0.0), "swing must be > 0"),
        (render.Rendering(instrument="kazoo"), "unknown instrument 'kazoo'"),
    ],
)
def test_bad_renderings_are_clear_errors(rendering, message):
    with pytest.raises(JazzFlaxError, match=message):
        render.check_rendering(rendering)


# ---------------------------------------------------------------------------------------------
# Audio: FluidSynth, or the numpy synthesiser without it


def read_wav(path):
    with wave.open(str(path)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        return frames.reshape(-1, w.getnchannels()), w.getframerate()


def midi_seconds(path) -> float:
    """When the MIDI file's last note ends, in seconds (music21's reading of it)."""
    score = converter.parse(str(path))
    return float(score.highestTime) * 60 / score.metronomeMarkBoundaries()[0][2].number


@needs_fluidsynth
def test_fluidsynth_renders_the_midi_file(tmp_path):
    renderer = render.find_renderer()
    assert str(renderer).startswith("FluidSynth (")
    sax = render.write_all(SOLO, tmp_path / "sax", render.Rendering(), renderer)
    samples, rate = read_wav(sax["wav"])
    assert rate == render.FLUIDSYNTH_RATE and samples.shape[1] == 2
    assert len(samples) / rate == pytest.approx(midi_seconds(sax["midi"]), abs=0.5)
    peak = np.abs(samples).max() / 32768
    assert peak == pytest.approx(render.PEAK, abs=0.01)  # normalised, not FluidSynth's −22 dBFS
    loud = np.sqrt(np.mean((samples[: rate * 3] / 32768.0) ** 2))
    assert loud > 0.02  # not silent while the notes sound
    guitar = render.write_all(SOLO, tmp_path / "guitar", render.Rendering(instrument="jazz_guitar"))
    other, _ = read_wav(guitar["wav"])
    assert other.shape == samples.shape and np.abs(other - samples.astype(int)).mean() > 100


def test_without_fluidsynth_the_numpy_synthesiser_plays_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "FLUIDSYNTH", "no-such-fluidsynth")
    renderer = render.find_renderer()
    assert str(renderer) == "numpy synthesiser (fluidsynth is not installed: make audio)"
    paths = render.write_all(SOLO, tmp_path / "solo", render.Rendering(), renderer)
    samples, rate = read_wav(paths["wav"])
    assert rate == render.SAMPLE_RATE and samples.shape[1] == 1
    assert samples.any()


def test_without_a_soundfont_the_numpy_synthesiser_plays(monkeypatch):
    monkeypatch.setattr(render, "SOUNDFONTS", ())
    monkeypatch.setattr(render.shutil, "which", lambda program: f"/usr/bin/{program}")
    renderer = render.find_renderer()
    assert renderer.soundfont is None and "no General MIDI soundfont" in str(renderer)


def test_a_missing_soundfont_is_a_clear_error(tmp_path):
    with pytest.raises(JazzFlaxError, match="no soundfont at .*nowhere.sf2"):
        render.find_renderer(str(tmp_path / "nowhere.sf2"))
    (tmp_path / "junk.sf2").write_bytes(b"RIFF\0\0\0\0WAVEfmt ")
    with pytest.raises(JazzFlaxError, match="junk.sf2 is not a SoundFont"):
        render.find_renderer(str(tmp_path / "junk.sf2"))


def test_a_failing_fluidsynth_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "FLUIDSYNTH", "false")  # runs, writes nothing, exits 1
    renderer = render.Renderer(tmp_path / "any.sf2")
    with pytest.raises(JazzFlaxError, match="fluidsynth failed on solo.mid"):
        render.write_all(SOLO, tmp_path / "solo", render.Rendering(), renderer)
    assert not (tmp_path / "solo.wav").exists()

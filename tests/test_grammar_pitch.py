"""The pitch grammar: pitch and duration tokens, exact decoding, the chord-relative spelling."""

import numpy as np
import pytest

from jazz_flax import grammar
from jazz_flax.grammar import pitch, v2

C_MAJOR = grammar.Chord(0.0, ("C3", "E3", "G3"))
D_MINOR7 = grammar.Chord(0.0, ("D3", "F3", "A3", "C4"))
G7 = grammar.Chord(2.0, ("G2", "B2", "D3", "F3"))
THIRD = 1 / 3
Event = grammar.Event


def line(*notes) -> list[Event]:
    """A measure's events from (pitch or None, duration) pairs laid end to end."""
    events, at = [], 0.0
    for midi, duration in notes:
        events.append(Event(at, duration, midi))
        at += duration
    return events


TRIPLETS_AND_SIXTEENTHS = line(
    (62, THIRD), (65, THIRD), (69, THIRD), (None, 0.75), (72, 0.25), (71, 1.0), (67, 0.5), (65, 0.5)
)


def test_a_measure_is_its_pitches_and_durations():
    parsed = pitch.parse([TRIPLETS_AND_SIXTEENTHS], [(D_MINOR7, G7)])
    assert parsed.measures[0] == [
        "N,0.333,62", "N,0.333,65", "N,0.333,69", "R,0.750",
        "N,0.250,72", "N,1.000,71", "N,0.500,67", "N,0.500,65",
    ]  # fmt: skip


def test_relative_tokens_name_the_interval_above_the_sounding_root_and_the_octave():
    parsed = pitch.parse([TRIPLETS_AND_SIXTEENTHS], [(D_MINOR7, G7)], relative=True)
    # D minor 7 (root D = 2) until beat 2, then G7 (root G = 7): B4 over G7 is its third
    assert parsed.measures[0][:3] == ["N,0.333,+0o4", "N,0.333,+3o4", "N,0.333,+7o4"]
    assert parsed.measures[0][5:] == ["N,1.000,+4o4", "N,0.500,+0o4", "N,0.500,+10o4"]


@pytest.mark.parametrize("relative", [False, True])
def test_decoding_gives_back_the_line_exactly(relative):
    chords = [(D_MINOR7, G7), (C_MAJOR,)]
    melody = [TRIPLETS_AND_SIXTEENTHS, line((60, 1.5), (None, 0.5), (64, 2.0))]
    parsed = pitch.parse(melody, chords, relative=relative)
    for tokens, these_chords, original in zip(parsed.measures, chords, parsed.melody, strict=True):
        decoded = pitch.decode(tokens, these_chords)
        assert [(e.offset, e.duration, e.pitch) for e in decoded] == [
            (e.offset, e.duration, e.pitch) for e in original
        ]
        assert sum(v2.snap(pitch.duration(t)) for t in tokens) == v2.MEASURE_STEPS


def test_relative_tokens_move_with_the_harmony():
    transposed = [Event(e.offset, e.duration, e.pitch and e.pitch + 5) for e in line((62, 4.0))]
    d_minor, g_minor = (D_MINOR7,), (grammar.Chord(0.0, ("G3", "B-3", "D4", "F4")),)
    assert (
        pitch.parse([line((62, 4.0))], [d_minor], relative=True).measures
        == pitch.parse([transposed], [g_minor], relative=True).measures
    )
    [note] = pitch.decode(["N,4.000,+0o4"], g_minor)
    assert note.pitch == 67  # the root of G minor in octave 4; over D minor 7 it would be 62


def test_absolute_tokens_ignore_the_chords():
    assert [e.pitch for e in pitch.decode(["N,1.000,70", "R,3.000"], (G7,))] == [70, None]


@pytest.mark.parametrize(
    "token", ["N,1.000", "R,1.000,60", "C,1.000", "N,1.000,+3", "N,x,60", "N,1.000,<m2,M-2>", 7]
)
def test_a_malformed_token_is_named(token):
    with pytest.raises(ValueError, match="malformed pitch-grammar token"):
        pitch.parse_token(token)


def test_a_pitch_token_outside_the_vocabulary_becomes_the_nearest_pitch():
    from jazz_flax import data, primer

    vocab = data.Vocabulary(("N,0.500,60", "N,0.500,67", "N,1.000,64", "R,0.500"), "pitch")
    assert primer.nearest("N,0.500,66", vocab) == "N,0.500,67"
    assert primer.nearest("N,1.000,61", vocab) == "N,0.500,60"  # the pitch before the duration
    assert primer.nearest("R,0.250", vocab) == "R,0.500"
    assert grammar.shape("N,0.500,+7o4") == grammar.Shape("N", 55, 0.5)


def test_the_vocabulary_groups_its_notes_by_pitch_whatever_their_duration():
    from jazz_flax import data

    values = ("<unk>", "N,0.500,60", "N,0.500,67", "N,1.000,60", "R,0.500")
    assert data.Vocabulary(values, "pitch").pitch_groups.tolist() == [-1, 0, 1, 0, -1]
    relative = ("N,0.250,+7o4", "N,0.500,+0o5", "N,0.500,+7o4", "R,1.000")
    assert data.Vocabulary(relative, "pitch_relative").pitch_groups.tolist() == [0, 1, 0, -1]
    assert data.Vocabulary(("C,0.500", "R,0.500"), "v2").pitch_groups is None


def test_a_pitch_model_with_a_context_trains_and_improvises(tiny, tmp_path):
    """The relative pitch grammar and every context part: trained, then generated over new
    changes at a tempo; the solo's pitches are the tokens' own, whatever the decoder's seed. A
    pitch temperature samples and beam-searches over the same changes."""
    from jazz_flax import generate, train
    from jazz_flax.beam import Beam
    from jazz_flax.music import solo
    from jazz_flax.music.chords import parse_chords
    from jazz_flax.sample import Strategy

    config = tiny.copy_and_resolve_references()
    config.data.update(
        grammar="pitch_relative", context="chord,next_chord,position,to_change,tempo"
    )
    config.update(epochs=3)
    train.train(config, workdir=tmp_path / "run")
    result = generate.generate(
        tmp_path / "run", chords="Dm7 G7 | Cmaj7", bpm=280.0, output=tmp_path / "out"
    )
    tokens = [t for measure in result.tokens for t in measure]
    assert tokens and all(t.startswith(("N,", "R,")) for t in tokens)
    changes = parse_chords("Dm7 G7 | Cmaj7")
    again = solo.decode(
        result.tokens, changes, np.random.default_rng(99), rules=result_rules(tmp_path)
    )
    assert [n.pitch for n in again.notes] == [n.pitch for n in result.solo.notes]
    strategy = Strategy(pitch_temperature=0.3, keep_repeats=True)
    sharp = dict(strategy=strategy, beam=Beam(2, 2, 4, length_penalty=0.75), seed=1)
    sharper = generate.generate(tmp_path / "run", chords="Dm7 G7 | Cmaj7", output=tmp_path, **sharp)
    assert sharper.solo.length == result.solo.length and sharper.tokens != result.tokens


def result_rules(tmp_path):
    from jazz_flax import checkpoints

    return checkpoints.load_checkpoint(tmp_path / "run").vocab.rules

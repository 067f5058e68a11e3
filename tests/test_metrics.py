import math

import numpy as np
import pytest

from jazz_flax.grammar import Chord, Event
from jazz_flax.music import metrics
from jazz_flax.music.render import Solo
from jazz_flax.music.solo import decode, of_corpus

C_MAJOR = Chord(0.0, ("C3", "E3", "G3"))  # chord tones C E G; derived scale G major (F#, no F)
D_MINOR = Chord(4.0, ("D3", "F3", "A3"))  # chord tones D F A; derived scale G Dorian (B-, no B)
C4, E4, G4, B_FLAT4, C5 = 60, 64, 67, 70, 72
F_SHARP4 = 66


def solo(*notes: Event, chords=(C_MAJOR,), length: float = 4.0) -> Solo:
    return Solo(tuple(notes), tuple(chords), length)


def quarters(*pitches: int | None, start: float = 0.0) -> list[Event]:
    """One-beat events (None: a rest) laid end to end from `start`."""
    return [Event(start + i, 1.0, p) for i, p in enumerate(pitches)]


def durations(*beats: float) -> Solo:
    """Notes of the given durations, laid end to end."""
    onsets = np.cumsum((0.0, *beats))[:-1]
    notes = (Event(float(o), b, C4) for o, b in zip(onsets, beats, strict=True))
    return solo(*notes, length=sum(beats))


BAR = solo(*quarters(C4, E4, F_SHARP4, B_FLAT4))


# --- chord and scale tones


def test_chord_tone_ratio_of_a_c_major_bar():
    assert metrics.chord_tone_ratio(BAR) == 0.5  # C and E


def test_scale_tone_ratio_uses_the_scale_music21_derives_g_major_for_c():
    assert metrics.scale_tone_ratio(BAR) == 0.75  # C, E and F#; not B-


def test_tones_count_by_pitch_class_in_any_octave():
    assert metrics.chord_tone_ratio(solo(*quarters(C4 - 24, E4 + 12, G4 + 24, C5))) == 1.0


def test_notes_are_judged_against_the_chord_sounding_at_their_onset():
    # G over C (chord tone) held into the Dm measure, then F and B over Dm (absolute offsets).
    notes = [Event(3.0, 2.0, G4), Event(5.0, 1.0, 65), Event(6.0, 1.0, 71)]
    two_bars = solo(*notes, chords=(C_MAJOR, D_MINOR), length=8.0)
    assert metrics.chord_tone_ratio(two_bars) == pytest.approx(2 / 3)  # G over C, F over Dm
    assert metrics.scale_tone_ratio(two_bars) == pytest.approx(2 / 3)  # B is not in G Dorian


def test_before_the_first_chord_the_first_chord_counts():
    late_chord = solo(*quarters(C4, F_SHARP4), chords=(Chord(1.0, ("D3", "F#3", "A3")),))
    assert metrics.chord_tone_ratio(late_chord) == 0.5  # C4 at 0 against D major: no


def test_rests_do_not_count_as_notes():
    assert metrics.chord_tone_ratio(solo(*quarters(None, C4, None, B_FLAT4))) == 0.5


# --- pitch classes and intervals


@pytest.mark.parametrize(
    "pitches, bits",
    [
        ((C4, E4, F_SHARP4, B_FLAT4), 2.0),
        ((C4, C5, E4, G4), 1.5),  # C C E G: -(1/2 log 1/2 + 2 * 1/4 log 1/4)
        ((C4, C5, C4 - 12), 0.0),
        (tuple(range(60, 72)), math.log2(12)),
    ],
)
def test_pitch_class_entropy(pitches, bits):
    notes = quarters(*pitches)
    assert metrics.pitch_class_entropy(solo(*notes, length=len(notes))) == pytest.approx(bits)


def test_mean_abs_interval_skips_rests():
    assert metrics.mean_abs_interval(BAR) == pytest.approx(10 / 3)  # 4, 2, 4
    assert metrics.mean_abs_interval(solo(*quarters(C5, None, C4, G4))) == 9.5  # 12, 7


def test_mean_abs_interval_follows_onsets_not_list_order():
    shuffled = solo(Event(2.0, 1.0, G4), Event(0.0, 1.0, C5), Event(1.0, 1.0, C4))
    assert metrics.mean_abs_interval(shuffled) == 9.5


# --- rhythm


def test_notes_per_measure():
    assert metrics.notes_per_measure(solo(*quarters(C4, None, E4, G4), length=8.0)) == 1.5


@pytest.mark.parametrize(
    "notes, length, expected",
    [
        (quarters(C4, None, E4), 4.0, 0.5),  # the rest and the silence after the last note
        (quarters(C4, E4, G4, C5), 4.0, 0.0),
        ([Event(0.0, 2.0, C4), Event(1.0, 2.0, E4)], 4.0, 0.25),  # overlaps count once
        ([Event(3.0, 3.0, C4)], 4.0, 0.75),  # cut at the end of the solo
        ([Event(1.0, 1.0, C4)], 2.0, 0.5),  # silence before the first note
    ],
)
def test_rest_ratio(notes, length, expected):
    assert metrics.rest_ratio(solo(*notes, length=length)) == expected


def test_duration_histogram_bins_on_the_quarter_beat_grid():
    hist = metrics.duration_histogram(durations(0.25, 0.5, 0.5, 1.0))
    assert hist.shape == (16,) and hist.dtype == np.float64
    expected = np.zeros(16)
    expected[[0, 1, 3]] = 0.25, 0.5, 0.25
    np.testing.assert_array_equal(hist, expected)


@pytest.mark.parametrize(
    "beats, index",
    [
        (1 / 3, 0),  # triplet eighth -> 0.25
        (2 / 3, 2),  # triplet quarter -> 0.75
        (0.375, 1),  # halfway rounds up -> 0.5
        (0.625, 2),  # -> 0.75
        (0.0, 0),  # a grace note -> the shortest bin
        (3.75, 14),
        (3.9, 15),  # nearest 4: the long bin
        (4.0, 15),
        (7.5, 15),
    ],
)
def test_unrounded_durations_go_to_the_nearest_bin(beats, index):
    assert np.argmax(metrics.duration_histogram(durations(beats))) == index


def test_duration_distance():
    a = durations(0.5, 0.5, 1.0, 2.0)
    assert metrics.duration_distance(a, a) == 0.0
    disjoint = durations(0.25, 1.5, 4.0)
    assert metrics.duration_distance(a, disjoint) == pytest.approx(1.0)
    assert metrics.duration_distance(durations(1.0, 1.0), durations(1.0, 2.0)) == 0.5
    assert metrics.duration_distance(a, durations(2.0, 1.0, 0.5, 0.5)) == 0.0  # order-free


# --- repairs


def test_clean_measure_ratio_counts_measures_with_a_repaired_note_once():
    notes = [
        Event(1.0, 1.0, C4),
        Event(5.0, 1.0, E4, repaired=True),
        Event(6.0, 1.0, G4, repaired=True),
        Event(8.0, 1.0, C5),
    ]
    assert metrics.clean_measure_ratio(solo(*notes, length=12.0)) == pytest.approx(2 / 3)
    assert metrics.clean_measure_ratio(solo(*notes[:1], length=12.0)) == 1.0


def test_a_partial_last_measure_counts():
    notes = [Event(8.5, 1.0, C4, repaired=True)]
    assert metrics.clean_measure_ratio(solo(*notes, length=10.0)) == pytest.approx(2 / 3)


# --- grooving-pattern similarity


def test_grooving_similarity_compares_every_pair_of_measures_onsets():
    # measure 0: onsets at 0 and 1 beat; measure 1: the same; measure 2: at 0 and 2/3 beat
    notes = [Event(0, 1, C4), Event(1, 1, E4), Event(4, 1, C4), Event(5, 1, E4)]
    notes += [Event(8, 2 / 3, C4), Event(8 + 2 / 3, 1, E4)]
    three = solo(*notes, length=12.0)
    patterns = metrics.onset_patterns(three)
    assert patterns.shape == (3, 48) and np.flatnonzero(patterns[2]).tolist() == [0, 8]
    # pairs: (0, 1) differ nowhere, (0, 2) and (1, 2) at 2 of 48 steps
    assert metrics.grooving_similarity(three) == pytest.approx(1 - (0 + 2 + 2) / 3 / 48)


def test_grooving_similarity_of_one_measure_is_nan_and_rests_are_not_onsets():
    assert math.isnan(metrics.grooving_similarity(BAR))
    notes = [*quarters(C4, None, None, None), *quarters(C4, E4, C4, E4, start=4.0)]
    with_rests = solo(*notes, length=8.0)
    assert metrics.grooving_similarity(with_rests) == pytest.approx(1 - 3 / 48)


# --- all together, degenerate solos


def test_musical_metrics_names_every_metric():
    names = {
        "chord_tone_ratio",
        "scale_tone_ratio",
        "pitch_class_entropy",
        "mean_abs_interval",
        "leaps_over_octave",
        "notes_per_measure",
        "rest_ratio",
        "grooving_similarity",
        "clean_measure_ratio",
    }
    assert set(metrics.musical_metrics(BAR)) == names
    with_reference = metrics.musical_metrics(BAR, reference=BAR)
    assert set(with_reference) == names | {"duration_distance"}
    assert with_reference["chord_tone_ratio"] == 0.5
    assert with_reference["duration_distance"] == 0.0


def test_a_solo_of_rests_gives_nan_where_undefined_and_values_where_defined():
    rests = solo(*quarters(None, None))
    values = metrics.musical_metrics(rests, reference=BAR)
    undefined = [
        "chord_tone_ratio",
        "scale_tone_ratio",
        "pitch_class_entropy",
        "mean_abs_interval",
        "duration_distance",
    ]
    assert all(math.isnan(values[name]) for name in undefined)
    assert values["notes_per_measure"] == 0.0
    assert values["rest_ratio"] == 1.0
    assert values["clean_measure_ratio"] == 1.0
    assert not metrics.duration_histogram(rests).any()
    assert math.isnan(metrics.duration_distance(BAR, rests))


def test_a_solo_of_length_zero_or_without_chords_does_not_crash():
    empty = Solo((), (), 0.0)
    values = metrics.musical_metrics(empty, reference=empty)
    assert all(math.isnan(v) for v in values.values())
    unaccompanied = solo(*quarters(C4, E4), chords=())
    assert math.isnan(metrics.chord_tone_ratio(unaccompanied))
    assert metrics.mean_abs_interval(unaccompanied) == 4.0


def test_one_note_has_no_interval():
    assert math.isnan(metrics.mean_abs_interval(solo(*quarters(C4))))


# --- decoded and real solos


def test_decoded_chord_and_scale_tokens_are_chord_and_scale_tones():
    # Tokens without an interval range pick a tone of their type and are never repaired.
    measures = [["C,1.000"] * 4, ["S,1.000"] * 4]
    chords = [(Chord(0.0, C_MAJOR.pitches),), (Chord(0.0, D_MINOR.pitches),)]
    decoded = decode(measures, chords, np.random.default_rng(0))
    values = metrics.musical_metrics(decoded)
    assert values["chord_tone_ratio"] >= 0.5
    assert values["scale_tone_ratio"] == 1.0
    assert values["rest_ratio"] == 0.0
    assert values["clean_measure_ratio"] == 1.0


def test_metrics_of_the_real_piece_are_in_range(metheny):
    piece = of_corpus(metheny)
    values = metrics.musical_metrics(piece, reference=piece)
    for name in ("chord_tone_ratio", "scale_tone_ratio", "rest_ratio"):
        assert 0.0 < values[name] < 1.0, name
    assert values["chord_tone_ratio"] <= values["scale_tone_ratio"]
    assert 1.0 < values["pitch_class_entropy"] <= math.log2(12)
    assert 0.0 < values["mean_abs_interval"] < 12.0
    assert values["notes_per_measure"] > 1.0
    assert values["clean_measure_ratio"] == 1.0  # parsed notes are never repaired
    assert values["duration_distance"] == 0.0

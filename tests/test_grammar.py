import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from music21 import note

from jazz_flax import grammar
from tests.music import CHANGES, SOLO, measure_chords, measure_elements


def tokens_of(measure: int, start: float = 0.0) -> list[str]:
    elements = measure_elements(SOLO[measure], start)
    return grammar.parse_measure(elements, measure_chords(CHANGES[measure]), start)


# ---------------------------------------------------------------------------------------------
# Parsing


def test_each_token_type_over_a_major_chord():
    # C major: E chord tone, D scale tone, C# a semitone from C, B- none of these.
    assert tokens_of(0) == [
        "C,1.000",
        "S,1.000,<m2,P-4>",
        "R,0.500",
        "A,0.500,<M2,d-4>",
        "X,0.500,<d9,d5>",  # C#4 -> B-4 is a diminished seventh
        "R,0.500",
    ]


def test_scales_are_derived_from_the_chord_as_music21_does():
    # derive() takes the first scale holding every chord pitch, as in the seed: not always the
    # scale on the chord's root.
    assert grammar.harmony(("C3", "E3", "G3")).scale_names == set("GABCDE") | {"F#"}
    assert grammar.harmony(("D3", "F3", "A3")).scale_names == set("GACDEF") | {"B-"}


def test_minor_chord_uses_dorian_and_double_stops_do_not_move_the_previous_note():
    tokens = tokens_of(1)
    assert tokens[0] == "C,1.000"
    assert tokens[1] == "S,1.000,<M2,d-4>"  # E is in the Dorian scale derived from Dm
    assert tokens[2] == "C,1.000"  # a double stop is a chord tone and has no interval
    assert tokens[3] == "C,1.000,<m6,M2>"  # A4 measured from E4, not from the double stop


def test_type_follows_the_chord_sounding_at_the_note():
    # E over G7 would be a scale tone; at beat 2 the chord is C, where it is a chord tone.
    assert [t.split(",")[0] for t in tokens_of(2)] == ["C", "C"]


def test_offsets_count_from_the_measure_start():
    assert tokens_of(2, start=476.0) == tokens_of(2)


@pytest.mark.parametrize(
    "first, second",
    [("C4", "E4"), ("E4", "C4"), ("C4", "C4"), ("G4", "C#5"), ("B-3", "G#4"), ("C5", "B3")],
)
def test_interval_range_is_the_step_plus_and_minus_a_minor_third(first, second):
    text = grammar.interval_range(note.Note(first), note.Note(second))
    step = note.Note(second).pitch.midi - note.Note(first).pitch.midi
    assert grammar.Token.parse(f"C,0.250,{text}").steps == (step - 3, step + 3)


def test_repeated_pitch_has_range_of_a_minor_third_each_way():
    assert grammar.interval_range(note.Note("C4"), note.Note("C4")) == "<m3,m-3>"


def test_duration_is_formatted_with_three_decimals_and_zero_becomes_a_sixteenth():
    triplet = note.Note("E4", quarterLength=1 / 3)
    grace = note.Note("G4")
    grace.quarterLength, grace.offset = 0, 1 / 3
    chords = measure_chords(CHANGES[0])
    assert grammar.parse_measure([triplet, grace], chords, 0.0) == [
        "C,0.333",
        "C,0.250,<d5,P1>",
    ]


def test_element_before_the_first_chord_uses_the_first_chord():
    late = [grammar.Chord(2.0, ("C3", "E3", "G3"))]
    assert grammar.parse_measure([note.Note("E4")], late, 0.0) == ["C,1.000"]


# ---------------------------------------------------------------------------------------------
# Tokens


@pytest.mark.parametrize(
    "text",
    [
        "Q,0.500",
        "C,abc",
        "C,1",
        "C,0.500,<m3>",
        "C,0.500,<m3,m-3",
        "R,0.250,<m3,m-3>",
        "S,0.250,<zz,m-3>",
        "",
        "C,0.500 ",
    ],
)
def test_malformed_token_raises_value_error_naming_it(text):
    with pytest.raises(ValueError, match="malformed grammar token") as info:
        grammar.Token.parse(text)
    assert repr(text) in str(info.value)


def test_token_fields():
    assert grammar.Token.parse("S,0.750,<m3,m-3>") == grammar.Token("S", 0.75, (-3, 3))
    assert grammar.Token.parse("R,4.000") == grammar.Token("R", 4.0, None)


# ---------------------------------------------------------------------------------------------
# Decoding

C_MAJOR = grammar.Chord(0.0, ("C3", "E3", "G3"))
D_MINOR = grammar.Chord(0.0, ("D3", "F3", "A3"))
G7_THEN_C = [grammar.Chord(0.0, ("G2", "B2", "D3", "F3")), grammar.Chord(2.0, ("C3", "E3", "G3"))]


def test_prune_durations_rounds_to_the_grid_either_way():
    rng = np.random.default_rng(0)
    for duration in (0.083, 0.25, 0.333, 0.667, 0.75, 1.5, 2.333):
        pruned = set()
        for _ in range(50):
            (value,) = grammar.prune_durations([duration], rng)
            pruned.add(value)
        low = max(grammar.GRID, np.floor(duration / grammar.GRID + 1e-6) * grammar.GRID)
        high = max(grammar.GRID, np.ceil(duration / grammar.GRID - 1e-6) * grammar.GRID)
        assert pruned == {low, high}


def test_first_note_is_a_chord_pitch_at_octave_four_or_above():
    for seed in range(20):
        (event,) = grammar.decode(["C,1.000"], [C_MAJOR], np.random.default_rng(seed))
        assert event.pitch % 12 in (0, 4, 7) and event.pitch >= 60


def test_scale_token_picks_a_scale_tone_in_range_and_not_the_previous_pitch():
    dorian = {7, 9, 10, 0, 2, 4, 5}  # G Dorian, derived from Dm
    for seed in range(20):
        events = grammar.decode(
            ["S,1.000,<M3,M-2>"], [D_MINOR], np.random.default_rng(seed), previous=62
        )
        assert events[0].pitch % 12 in dorian
        assert 60 <= events[0].pitch <= 66 and events[0].pitch != 62


def test_no_candidate_moves_a_whole_step():
    # Only A4..B-4 in range from A4 (69): no chord tone of C major there.
    events = grammar.decode(["C,1.000,<m2,P1>"], [C_MAJOR], np.random.default_rng(0), previous=69)
    assert events[0].pitch in (67, 71) and events[0].repaired
    fits = grammar.decode(["C,1.000,<m3,P1>"], [C_MAJOR], np.random.default_rng(0), previous=69)
    assert fits[0].pitch == 72 and not fits[0].repaired


def test_approach_and_arbitrary_tokens_decode_as_chord_tones_unless_asked():
    rng = np.random.default_rng(0)
    for kind in "AX":
        (event,) = grammar.decode([f"{kind},1.000"], [C_MAJOR], rng)
        assert event.pitch % 12 in (0, 4, 7)
    approach = grammar.decode(
        ["A,1.000,<M3,M-3>"], [C_MAJOR], rng, approach_as_chord=False, previous=64
    )
    assert approach[0].pitch % 12 in {11, 1, 3, 5, 6, 8}


def test_decoding_reads_the_chord_at_each_offset():
    for seed in range(10):
        events = grammar.decode(["R,2.000", "C,1.000"], G7_THEN_C, np.random.default_rng(seed))
        assert events[1].offset == 2.0 and events[1].pitch % 12 in (0, 4, 7)


def test_low_notes_are_lifted_to_octave_three():
    events = grammar.decode(["C,1.000,<P-5,P-8>"], [C_MAJOR], np.random.default_rng(0), previous=50)
    assert 48 <= events[0].pitch < 60


def test_repeated_notes_are_merged():
    # A chord of one pitch class leaves one candidate: every note repeats the first.
    single = grammar.Chord(0.0, ("C4",))
    events = grammar.decode(
        ["C,1.000", "C,1.000,<m3,m-3>", "R,1.000", "C,1.000,<m3,m-3>"],
        [single],
        np.random.default_rng(0),
    )
    assert [(e.offset, e.duration, e.pitch) for e in events] == [
        (0.0, 2.0, 60),
        (2.0, 1.0, None),
        (3.0, 1.0, 60),
    ]


def test_same_seed_same_notes():
    tokens = ["C,0.500", "S,0.333,<m2,P-4>", "R,0.250", "A,0.750,<M3,m-3>", "C,1.000,<P4,m-2>"]
    first = grammar.decode(tokens, G7_THEN_C, np.random.default_rng(7))
    again = grammar.decode(tokens, G7_THEN_C, np.random.default_rng(7))
    assert first == again


def test_malformed_token_in_decode_names_it():
    with pytest.raises(ValueError, match="'C;0.5'"):
        grammar.decode(["C,0.500", "C;0.5"], [C_MAJOR], np.random.default_rng(0))


# ---------------------------------------------------------------------------------------------
# Properties

INTERVALS = ["m3", "m-3", "P4", "P-5", "M2", "d1", "A4", "m-7", "P1", "M-3", "d-4", "m6"]
DURATIONS = [0.083, 0.167, 0.25, 0.333, 0.5, 0.667, 0.75, 1.0, 1.5, 2.0, 4.0]
CHORDS = [C_MAJOR, D_MINOR, grammar.Chord(0.0, ("G2", "B2", "D3", "F3")), *G7_THEN_C]


@st.composite
def tokens(draw):
    kind = draw(st.sampled_from(grammar.KINDS))
    text = f"{kind},{draw(st.sampled_from(DURATIONS)):.3f}"
    if kind != "R" and draw(st.booleans()):
        up, down = draw(st.sampled_from(INTERVALS)), draw(st.sampled_from(INTERVALS))
        text += f",<{up},{down}>"
    return text


@settings(max_examples=150, deadline=None)
@given(
    st.lists(tokens(), min_size=1, max_size=20),
    st.lists(st.sampled_from(CHORDS), min_size=1, max_size=3),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_decoded_notes_fill_the_pruned_durations(token_list, chords, seed, approach_as_chord):
    durations = [grammar.Token.parse(t).duration for t in token_list]
    pruned = grammar.prune_durations(durations, np.random.default_rng(seed))
    events = grammar.decode(
        token_list, chords, np.random.default_rng(seed), approach_as_chord=approach_as_chord
    )
    assert sum(e.duration for e in events) == pytest.approx(sum(pruned))
    offset = 0.0
    for before, event in zip([None, *events], events, strict=False):
        assert event.offset == pytest.approx(offset)  # contiguous: no overlap, no gap
        assert event.duration >= grammar.GRID
        assert (event.duration / grammar.GRID) == pytest.approx(
            round(event.duration / grammar.GRID)
        )
        if event.pitch is not None:
            assert 48 <= event.pitch < 12 * (grammar.TOP_OCTAVE + 2)
            assert before is None or before.pitch != event.pitch
        offset += event.duration


# ---------------------------------------------------------------------------------------------
# The notebook grammar on the Metheny solo, pinned: grammar v2 lives beside it, never in it


def test_the_notebook_grammar_and_the_baseline_are_unchanged(metheny_path):
    from experiments import baseline
    from jazz_flax import data, train

    corpus = data.load_corpus(metheny_path)
    assert (len(corpus.vocab), len(corpus.tokens)) == (85, 236)
    assert corpus.vocab.grammar == "notebook" and corpus.vocab.rules == grammar.NOTEBOOK
    config = baseline.get_config()
    config.data.path = str(metheny_path)
    assert config.data.grammar == "notebook"
    _, history = train.train(config)  # seed 0, on the CPU
    assert history[0]["loss"] == pytest.approx(127.881, abs=0.005)
    assert history[-1]["loss"] == pytest.approx(9.073, abs=0.01)

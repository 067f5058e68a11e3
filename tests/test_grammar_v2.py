"""Grammar v2: each parse and decode rule on small measures built with music21, its properties, and
its tokens of the Metheny solo (its round trip: test_roundtrip)."""

import json

import numpy as np
import pytest
from music21 import stream

from jazz_flax import data, grammar
from jazz_flax.data import cli
from jazz_flax.errors import JazzFlaxError
from jazz_flax.grammar import v2
from jazz_flax.music import scores
from tests.music import measure_elements

C_MAJOR = grammar.Chord(0.0, ("C3", "E3", "G3"))
D_MINOR7 = grammar.Chord(0.0, ("D3", "F3", "A3", "C4"))
G7 = grammar.Chord(0.0, ("G2", "B2", "D3", "F3"))
THIRD = 1 / 3


def events(*voices) -> list[grammar.Event]:
    """The events of one measure whose voices are specs (tests.music), as music21 flattens them."""
    measure = stream.Measure()
    for specs in voices:
        voice = stream.Voice()
        for element in measure_elements(specs):
            voice.insert(element.offset, element)
        measure.insert(0, voice)
    return [scores.event(e, 0.0) for e in measure.flatten().notesAndRests]


def parse(*measures, chords=(C_MAJOR,)) -> v2.Parse:
    """v2's parse of measures of events, each over `chords`."""
    return v2.parse(measures, [chords] * len(measures))


def ticks(tokens) -> int:
    return sum(v2.snap(grammar.Token.parse(t).duration) for t in tokens)


# ---------------------------------------------------------------------------------------------
# Parse


def test_triplets_keep_their_durations_and_every_measure_its_length():
    triplets = [("C4", THIRD), ("E4", THIRD), ("G4", THIRD), (None, 1.0), ("E4", 0.25)]
    parsed = parse(events(triplets + [(None, 1.75)]))
    assert parsed.measures[0] == [
        "C,0.333",
        "C,0.333,<P5,m2>",
        "C,0.333,<d5,P1>",
        "R,1.000",
        "C,0.250,<P1,d-5>",  # G4 -> E4
        "R,1.750",
    ]
    assert ticks(parsed.measures[0]) == v2.MEASURE_STEPS and parsed.snapped == 0
    assert [e.offset for e in parsed.melody[0]][:3] == [0.0, THIRD, 2 * THIRD]


def test_off_grid_notes_are_snapped_and_counted():
    late = [grammar.Event(0.01, 1.0, 60), grammar.Event(1.01, 0.3, 64)]
    parsed = parse(late)
    assert parsed.snapped == 2
    assert [(e.offset, e.pitch) for e in parsed.melody[0]][:2] == [(0.0, 60), (1.0, 64)]
    assert ticks(parsed.measures[0]) == v2.MEASURE_STEPS


def test_a_rest_overlapping_a_note_leaves_only_the_gap():
    measure = stream.Measure()
    for offset, element in [(0.0, ("C4", 2.0)), (1.0, (None, 2.0)), (3.0, ("E4", 1.0))]:
        (music21_element,) = measure_elements([element])
        measure.insert(offset, music21_element)
    parsed = parse([scores.event(e, 0.0) for e in measure.flatten().notesAndRests])
    assert parsed.measures[0] == ["C,2.000", "R,1.000", "C,1.000,<P5,m2>"]


def test_a_double_stop_is_its_top_note_typed_against_the_chord():
    parsed = parse(events([(("D4", "F4"), 1.0), ("A4", 1.0), (None, 2.0)]))
    # F over C major is a scale tone (the notebook calls any double stop a chord tone); A4 is a
    # major third above F4, not above D4.
    assert parsed.measures[0] == ["S,1.000", "S,1.000,<P5,m2>", "R,2.000"]


def test_two_voices_keep_the_upper_one():
    upper = [(None, 1.0), ("G4", 1.0), ("A4", 1.0), ("G4", 1.0)]
    lower = [("C4", 2.0), ("E4", 2.0)]
    parsed = parse(events(upper, lower))
    # C4 sounds alone for a beat, then the upper voice cuts it; E4 starts under A4: dropped.
    assert [(e.offset, e.duration, e.pitch) for e in parsed.melody[0]] == [
        (0.0, 1.0, 60),
        (1.0, 1.0, 67),
        (2.0, 1.0, 69),
        (3.0, 1.0, 67),
    ]


def test_the_interval_carries_across_a_bar_line_and_a_rest():
    parsed = parse(
        events([("E4", 1.0), ("G4", 3.0)]),
        events([("C5", 1.0), (None, 3.0)]),
        events([(None, 2.0), ("B4", 2.0)]),
    )
    assert parsed.measures[0][0] == "C,1.000"  # the first note of the piece has no interval
    assert parsed.measures[1][0] == "C,1.000,<m6,M2>"  # G4 -> C5 over the bar line
    assert parsed.measures[2][1] == "S,2.000,<M2,M-3>"  # C5 -> B4 over a rest and a bar line


def test_a_note_crossing_the_bar_line_ends_there():
    parsed = parse(events([(None, 3.0), ("C4", 2.0)]), events([(None, 4.0)]))
    assert parsed.measures[0] == ["R,3.000", "C,1.000"]
    assert ticks(parsed.measures[1]) == v2.MEASURE_STEPS


TABLE = [  # intervals above the root, chord-scale
    ({0, 4, 7}, "ionian"),
    ({0, 4, 7, 11}, "ionian"),
    ({0, 4, 7, 9}, "ionian"),
    ({0, 4, 7, 11, 6}, "lydian"),
    ({0, 4, 8}, "whole tone"),
    ({0, 3, 7}, "dorian"),
    ({0, 3, 7, 10}, "dorian"),
    ({0, 3, 7, 9}, "dorian"),
    ({0, 3, 7, 11}, "melodic minor"),
    ({0, 3, 6, 10}, "locrian"),
    ({0, 3, 6, 9}, "whole-half diminished"),
    ({0, 4, 7, 10}, "mixolydian"),
    ({0, 5, 7, 10}, "mixolydian"),
    ({0, 4, 7, 10, 6}, "lydian dominant"),
    ({0, 4, 7, 10, 1}, "half-whole diminished"),
    ({0, 4, 7, 10, 3}, "altered"),
    ({0, 4, 10, 8}, "altered"),
]


@pytest.mark.parametrize("intervals, name", TABLE)
def test_chord_scale_table(intervals, name):
    assert v2.scale_name(frozenset(intervals)) == name


def test_every_chord_scale_is_in_the_table():
    assert {name for _, name in TABLE} == set(v2.SCALES)


@pytest.mark.parametrize(
    "pitches, root, name, scale_tones",
    [
        (("C3", "E3", "G3", "B3"), 0, "ionian", {2, 5, 9}),
        (("D3", "F3", "A3", "C4"), 2, "dorian", {4, 7, 11}),
        (("G2", "B2", "D3", "F3"), 7, "mixolydian", {0, 4, 9}),
        (("G2", "B2", "D3", "F3", "A-3"), 7, "half-whole diminished", {1, 4, 10}),
        (("B2", "D3", "F3", "A3"), 11, "locrian", {0, 4, 7}),
        (("B2", "D3", "F3", "A-3"), 11, "whole-half diminished", {1, 4, 7, 10}),
    ],
)
def test_types_come_from_the_chord_scale_on_music21s_root(pitches, root, name, scale_tones):
    scale = v2.chord_scale(pitches)
    assert (scale.root, scale.name, scale.pitch_classes["S"]) == (root, name, scale_tones)
    chord_tones = scale.pitch_classes["C"]
    assert scale.pitch_classes["A"] == {(c + d) % 12 for c in chord_tones for d in (-1, 1)} - (
        chord_tones | scale_tones
    )
    assert set().union(*scale.pitch_classes.values()) == set(range(12))
    assert sum(map(len, scale.pitch_classes.values())) == 12


# ---------------------------------------------------------------------------------------------
# Decode


def test_an_approach_tone_resolves_by_a_semitone():
    tokens = ["A,1.000,<P4,P-4>", "C,1.000,<P4,P-4>"]
    for seed in range(20):
        approach, resolution = v2.decode(
            tokens, [C_MAJOR], np.random.default_rng(seed), previous=64
        )
        assert approach.pitch % 12 in {1, 3, 6, 8, 10} and abs(approach.pitch - 64) <= 5
        assert abs(resolution.pitch - approach.pitch) == 1 and resolution.pitch % 12 in {0, 4, 7}


def test_scale_tokens_exclude_chord_tones_and_durations_are_exact():
    tokens = ["S,0.333,<P4,P-4>"] * 3 + ["S,3.000,<P4,P-4>"]
    for seed in range(10):
        decoded = v2.decode(tokens, [D_MINOR7], np.random.default_rng(seed), previous=62)
        assert all(e.pitch % 12 in {4, 7, 11} for e in decoded)
        assert [e.offset for e in decoded] == [0.0, THIRD, 2 * THIRD, 1.0]


def test_same_seed_same_notes_and_malformed_tokens_are_named():
    tokens = ["C,0.500", "S,0.333,<m2,P-4>", "R,0.250", "A,0.750,<M3,m-3>", "X,1.000,<P4,m-2>"]
    first = v2.decode(tokens, [G7], np.random.default_rng(7), previous=60)
    assert first == v2.decode(tokens, [G7], np.random.default_rng(7), previous=60)
    with pytest.raises(ValueError, match="'C;0.5'"):
        v2.decode(["C,0.500", "C;0.5"], [G7], np.random.default_rng(0))


def test_nothing_of_the_type_in_range_takes_the_nearest_of_the_type_in_the_register():
    # From D4, a semitone either way holds no chord tone of C major: C4 and E4 are as near.
    (event,) = v2.decode(["C,1.000,<m2,m-2>"], [C_MAJOR], np.random.default_rng(0), previous=62)
    assert event.pitch == 60 and event.repaired


# ---------------------------------------------------------------------------------------------
# The Metheny solo


@pytest.fixture(scope="module")
def metheny_v2(metheny_path):
    return data.load_corpus(metheny_path, grammar="v2")


def test_every_metheny_v2_token_decodes_in_the_register(metheny_v2):
    rng, register = np.random.default_rng(0), metheny_v2.vocab.register
    assert metheny_v2.vocab.grammar == "v2" and register[0] < register[1]
    for chords in metheny_v2.chords:
        for token in metheny_v2.vocab.values:
            (event,) = v2.decode([token], chords, rng, previous=64, register=register)
            assert (event.pitch is None) == token.startswith("R")
            assert event.pitch is None or register[0] <= event.pitch <= register[1]
            assert v2.snap(event.duration) == v2.snap(grammar.Token.parse(token).duration)


# ---------------------------------------------------------------------------------------------
# The grammar travels with the corpus, the vocabulary and the checkpoint


def test_the_cache_keeps_each_grammars_corpus_apart(tiny, tmp_path):
    path = tiny.data.path
    for name in ("notebook", "v2", "notebook", "v2"):
        corpus = data.load_corpus(path, start=0.0, end=16.0, cache_dir=tmp_path, grammar=name)
        assert corpus.grammar == corpus.vocab.grammar == name
    assert corpus.cache_hit and len(list(tmp_path.iterdir())) == 2
    assert corpus.pieces[0].source["snapped_durations"] == 0


def test_the_vocabulary_carries_its_grammar_and_register():
    vocab = data.Vocabulary(("C,0.333", "R,1.000"), "v2", (50, 82))
    assert data.Vocabulary.from_json(vocab.to_json()) == vocab
    assert vocab.rules.name == "v2" and vocab.durations[0] == np.float32(1 / 3)
    older = data.Vocabulary.from_json('{"values": ["C,0.250"]}')  # saved before grammars
    assert (older.grammar, older.register, older.rules) == ("notebook", None, grammar.NOTEBOOK)


def test_an_unknown_grammar_is_refused(tiny):
    with pytest.raises(JazzFlaxError, match="unknown grammar 'v3'"):
        data.load_corpus(tiny.data.path, start=0.0, end=16.0, grammar="v3")


def test_a_v2_model_generates_in_its_grammar_and_register(tiny, tmp_path):
    from jazz_flax import checkpoints, generate, train

    config = tiny.copy_and_resolve_references()
    config.data.grammar = "v2"
    train.train(config, workdir=tmp_path / "run")
    checkpoint = checkpoints.load_checkpoint(tmp_path / "run")
    assert checkpoint.config.data.grammar == checkpoint.vocab.grammar == "v2"
    low, high = checkpoint.vocab.register
    result = generate.generate(tmp_path / "run", seed=0, output=tmp_path / "out")
    pitches = [e.pitch for e in result.solo.notes if e.pitch is not None]
    assert pitches and all(low <= p <= high for p in pitches)
    assert all(ticks(measure) == v2.MEASURE_STEPS for measure in result.tokens)


def test_the_summary_command_takes_a_grammar(metheny_path, metheny_v2, capsys):
    cli.main(["summary", "--midi", str(metheny_path), "--grammar", "v2", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_values"] == len(metheny_v2.vocab)
    assert summary["corpus_len"] == len(metheny_v2.tokens)


# ---------------------------------------------------------------------------------------------
# The decoder as a distribution


def test_pitch_scores_are_a_distribution_over_every_pitch():
    tokens = ["C,1.000", "S,1.000,<M3,m-3>", "A,1.000,<m3,d-4>", "C,1.000,<m2,M-2>"]
    for pitch in range(128):
        pitches = [60, 62, pitch, pitch - 1]
        assert np.isfinite(v2.pitch_log_probs(tokens, [C_MAJOR], pitches, register=(48, 84))).all()
    register = (48, 84)
    second = [
        v2.pitch_log_probs(tokens[:2], [C_MAJOR], [60, p], register=register) for p in range(128)
    ]
    assert np.exp([scores[1] for scores in second]).sum() == pytest.approx(1.0)


def test_pitch_scores_are_the_frequencies_of_the_decoders_draws():
    tokens = ["C,2.000", "S,2.000,<M3,m-3>"]  # a scale tone within a minor third of C4
    counts = np.zeros(128)
    for seed in range(2000):
        decoded = v2.decode(tokens, [C_MAJOR], np.random.default_rng(seed), previous=None)
        if decoded[0].pitch == 67:
            counts[decoded[1].pitch] += 1
    frequencies = counts / counts.sum()
    scores = [v2.pitch_log_probs(tokens, [C_MAJOR], [67, p])[1] for p in range(128)]
    expected = np.exp(scores)
    assert set(np.flatnonzero(frequencies)) == set(np.flatnonzero(expected > 1e-4))
    assert frequencies == pytest.approx(expected, abs=0.05)


def test_a_pitch_the_decoder_cannot_play_scores_the_outside_share():
    score = v2.pitch_log_probs(["C,4.000"], [C_MAJOR], [61], register=(48, 84))[0]
    assert score == pytest.approx(np.log(v2.OUTSIDE / 128))

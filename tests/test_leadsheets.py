"""A corpus from many files: lead sheets with chord symbols, per-file rules, the chord features."""

import dataclasses
import shutil

import ml_collections
import numpy as np
import pytest

from experiments import leadsheets
from jazz_flax import config as config_lib
from jazz_flax import data, grammar, train
from jazz_flax.errors import JazzFlaxError
from jazz_flax.windows import heldout_windows
from tests.music import SOLO, write_lead_sheet, write_solo

# A second, shorter tune over Bbmaj7 | G7 | G7 (held over), Bbmaj7.
TUNE = [
    [("D4", 2.0), ("F4", 2.0)],
    [("B4", 1.0), ("D5", 1.0), ("F5", 1.0), (None, 1.0)],
    [("C5", 2.0), ("A4", 2.0)],
]
TUNE_SYMBOLS = [(0.0, "B-maj7"), (4.0, "G7"), (10.0, "B-maj7")]
C, DM7, G7, BBMAJ7 = (
    grammar.Chord(0.0, pitches)
    for pitches in (
        ("C3", "E3", "G3"),
        ("D3", "F3", "A3", "C4"),
        ("G2", "B2", "D3", "F3"),
        ("B-2", "D3", "F3", "A3"),
    )
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two lead sheets, named so that the solo's comes first."""
    folder = tmp_path_factory.mktemp("leadsheets")
    write_lead_sheet(folder / "a_solo.musicxml")
    write_lead_sheet(folder / "b_tune.musicxml", TUNE, TUNE_SYMBOLS)
    return folder


def load(path, cache_dir, **options):
    options = dict(dict(chord_part=data.CHORD_SYMBOLS, start=None, end=None), **options)
    return data.load_corpus(path, cache_dir=cache_dir, **options)


def sliding(Tx: int) -> ml_collections.ConfigDict:
    config = config_lib.data_defaults()
    config.update(windows="sliding", Tx=Tx)
    return config


def features(*chords: grammar.Chord) -> np.ndarray:
    return np.array([data.chord_vector(chord) for chord in chords])


def at(chord: grammar.Chord, offset: float) -> grammar.Chord:
    return dataclasses.replace(chord, offset=offset)


# ---------------------------------------------------------------------------------------------
# Files


def test_a_folder_is_one_corpus_with_one_vocabulary(folder, tmp_path):
    corpus = load(folder, tmp_path)
    solo, tune = corpus.pieces
    assert solo.source["path"].endswith("a_solo.musicxml") and len(tune.measures) == 3
    assert corpus.tokens == solo.tokens + tune.tokens
    assert corpus.vocab.values == tuple(sorted(set(solo.tokens) | set(tune.tokens)))
    assert corpus.n_measures == 7 and corpus.chords == solo.chords + tune.chords
    assert [segment.ids.tolist() for segment in corpus.segments] == [
        corpus.vocab.encode(piece.tokens).tolist() for piece in corpus.pieces
    ]


def test_the_cache_works_per_file(folder, tmp_path):
    pieces = tmp_path / "pieces"
    shutil.copytree(folder, pieces)
    cache = tmp_path / "cache"
    assert not load(pieces, cache).cache_hit
    assert len(list(cache.glob("corpus-*.json"))) == 2
    write_lead_sheet(pieces / "c_again.musicxml", TUNE, TUNE_SYMBOLS[:1])
    again = load(pieces, cache)
    assert [piece.cache_hit for piece in again.pieces] == [True, True, False]
    assert load(pieces, cache).cache_hit


def test_a_glob_and_a_rule_per_file(folder, tmp_path):
    (only_tune,) = load(folder / "b_*.musicxml", tmp_path).pieces
    assert only_tune.source["path"].endswith("b_tune.musicxml")
    mixed = tmp_path / "mixed"
    shutil.copytree(folder, mixed)
    write_solo(mixed / "c_band.musicxml")  # a Guitar part and a Piano part
    rules = {"c_*": {"melody_part": "Guitar", "chord_part": "Piano"}}
    corpus = load(mixed, tmp_path, parts=rules)
    assert [piece.source["chord_part"] for piece in corpus.pieces] == ["symbols"] * 2 + ["Piano"]
    config = config_lib.data_defaults()
    config.update(path=str(mixed), chord_part="symbols", start=None, end=None)
    config.parts = ml_collections.ConfigDict(rules)  # as --config.data.parts="{...}" sets it
    assert data.load_corpus_from_config(config) == corpus


@pytest.mark.parametrize(
    "parts, message",
    [
        ({"nothing*": {"chord_part": "Piano"}}, "parts rule 'nothing\\*' matches none"),
        ({"a_*": {"start": 4.0}}, "parts rule 'a_\\*' must set melody_part and/or chord_part"),
    ],
)
def test_bad_rules_are_named(folder, tmp_path, parts, message):
    with pytest.raises(JazzFlaxError, match=message):
        load(folder, tmp_path, parts=parts)


def test_no_music_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(JazzFlaxError, match="no music files in .*expected files ending in .mid"):
        load(tmp_path, tmp_path)
    with pytest.raises(JazzFlaxError, match="no music files match .*\\*.mxl"):
        load(tmp_path / "*.mxl", tmp_path)


def test_music21s_lead_sheets_load(tmp_path):
    copies = leadsheets.copy_bundled_lead_sheets(tmp_path / "sheets")
    assert [path.name for path in copies] == [
        "berlinAlexandersRagtime.mxl",
        "fosterBrownHair.mxl",
    ]
    config = leadsheets.get_config()
    config.data.path = str(tmp_path / "sheets")
    corpus = data.load_corpus_from_config(config.data)
    assert len(corpus.pieces) == 2 and corpus.n_measures > 60 and len(corpus.tokens) > 200
    windows = train.training_windows(config, corpus)
    assert len(windows.x) == sum(len(s.ids) - config.data.Tx + 1 for s in corpus.segments)


# ---------------------------------------------------------------------------------------------
# Chord symbols


def test_chord_symbols_are_the_chords_not_the_melody(folder, tmp_path):
    solo, tune = load(folder, tmp_path).pieces
    assert [len(m) for m in solo.melody] == [len(m) for m in SOLO]  # no symbol among the notes
    assert [len(m) for m in solo.measures] == [len(m) for m in SOLO]
    assert solo.chords == ((C,), (DM7,), (G7, at(C, 2.0)), (C,))  # the last measure: C goes on
    assert tune.chords[2] == (G7, at(BBMAJ7, 2.0))  # G7 until the next symbol, mid-measure
    assert tune.measures[2] == ("S,2.000", "C,2.000,<P1,d-5>")  # C5 over G7, A4 over Bbmaj7


def test_a_lead_sheet_without_symbols(tmp_path):
    path = write_lead_sheet(tmp_path / "bare.musicxml", symbols=[])
    with pytest.raises(JazzFlaxError, match="no chord symbols in the whole piece"):
        load(path, tmp_path)


# ---------------------------------------------------------------------------------------------
# Chord features


@pytest.mark.parametrize(
    "chord, pitch_classes, root",
    [
        (C, [0, 4, 7], 0),
        (DM7, [0, 2, 5, 9], 2),
        (G7, [2, 5, 7, 11], 7),
        (BBMAJ7, [2, 5, 9, 10], 10),
        (grammar.Chord(0.0, ("E3", "G3", "C4")), [0, 4, 7], 0),  # C/E: the root is still C
    ],
    ids=["C", "Dm7", "G7", "Bbmaj7", "C/E"],
)
def test_chord_vector(chord, pitch_classes, root):
    vector = data.chord_vector(chord)
    assert vector.dtype == np.float32 and vector.shape == (data.CHORD_FEATURES,)
    assert np.flatnonzero(vector[:12]).tolist() == pitch_classes
    assert np.flatnonzero(vector[12:]).tolist() == [root]


def test_onsets_sum_the_durations():
    assert grammar.onsets(["C,1.000", "R,0.500", "S,0.250,<m2,P-4>", "C,1.000"]) == [
        0.0,
        1.0,
        1.5,
        1.75,
    ]
    assert grammar.onsets(["C,0.333"] * 4) == [0.0, 0.33, 0.67, 1.0]  # triplets reach the beat
    assert grammar.onsets([]) == []


def test_each_token_has_the_chord_sounding_at_its_onset(folder, tmp_path):
    solo, tune = load(folder, tmp_path).pieces
    # The first measure is not trained on; then 4, 2 and 4 tokens, and 4 and 2 in the tune.
    assert solo.token_chords == [DM7] * 4 + [G7, at(C, 2.0)] + [C] * 4
    assert tune.token_chords == [G7] * 4 + [G7, at(BBMAJ7, 2.0)]
    assert np.array_equal(solo.chord_features, features(*solo.token_chords))
    assert solo.chord_features.shape == (len(solo.tokens), data.CHORD_FEATURES)


# ---------------------------------------------------------------------------------------------
# Windows over many pieces


def test_sliding_windows_never_span_two_pieces():
    first = data.Segment(np.arange(0, 10, dtype=np.int32), np.eye(10, data.CHORD_FEATURES))
    second = data.Segment.without_chords(np.arange(100, 107, dtype=np.int32))
    windows = data.segment_windows([first, second], sliding(Tx=4))
    assert windows.x.shape == (7 + 4, 4) and windows.chords.shape == (11, 4, data.CHORD_FEATURES)
    in_first = windows.y < 100
    assert np.all(in_first.all(axis=1) | (~in_first).all(axis=1))
    assert in_first.all(axis=1).sum() == 7
    ids = windows.y[in_first]  # in the first piece, each target's chord is its own row
    assert np.array_equal(windows.chords[in_first], first.chords[ids])
    assert not windows.chords[~in_first].any()


def test_pieces_shorter_than_a_window_give_none():
    pieces = [data.Segment.without_chords(np.arange(n, dtype=np.int32)) for n in (3, 6)]
    assert data.segment_windows(pieces, sliding(Tx=5)).x.shape == (2, 5)
    with pytest.raises(JazzFlaxError, match="no piece has the 8 tokens of a window"):
        data.segment_windows(pieces, sliding(Tx=8))


def test_notebook_windows_are_for_one_piece(folder, tmp_path):
    corpus = load(folder, tmp_path)
    with pytest.raises(JazzFlaxError, match="notebook windows .* this corpus has 2.*sliding"):
        data.segment_windows(corpus.segments, config_lib.data_defaults())


def test_each_piece_holds_out_its_last_measures(folder, tmp_path):
    corpus = load(folder, tmp_path)
    trained, held = corpus.split(1)
    solo, tune = corpus.pieces
    assert [corpus.vocab.decode(s.ids) for s in held] == [
        list(p.measures[-1]) for p in (solo, tune)
    ]
    assert [len(s.ids) for s in trained] == [10 - 4, 6 - 2]
    assert np.array_equal(held[1].chords, tune.chord_features[-2:])
    assert np.array_equal(trained[1].chords, tune.chord_features[:-2])
    with pytest.raises(JazzFlaxError, match="leaves nothing to train on.*shortest piece has 2"):
        corpus.split(2)
    # One window per piece, the tune's 2 tokens padded with EMPTY to the solo's 4.
    windows, mask = heldout_windows(held, Tx=30)
    assert windows.x.shape == mask.shape == (2, 4) and mask.sum() == 4 + 2
    assert windows.y[1, 2:].tolist() == [data.EMPTY] * 2 and not mask[1, 2:].any()

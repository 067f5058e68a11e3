import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jazz_flax import config as config_lib
from jazz_flax import data, grammar
from jazz_flax.errors import JazzFlaxError
from tests.music import SOLO, write_solo

ROOT = Path(__file__).resolve().parents[1]


def load(path, cache_dir, **options):
    options = dict(dict(melody_part="Guitar", chord_part="Piano", start=0.0, end=16.0), **options)
    return data.load_corpus(path, cache_dir=cache_dir, **options)


@pytest.fixture(scope="module")
def solo_xml(tmp_path_factory):
    return write_solo(tmp_path_factory.mktemp("solo") / "solo.musicxml")


def cache_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("corpus-*.json"))


# ---------------------------------------------------------------------------------------------
# Vocabulary


def test_vocabulary_is_sorted_and_round_trips():
    vocab = data.Vocabulary.from_tokens(["S,0.500", "C,0.250", "R,1.000", "C,0.250"])
    assert vocab.values == ("C,0.250", "R,1.000", "S,0.500")
    ids = vocab.encode(["R,1.000", "C,0.250"])
    assert ids.dtype == np.int32 and ids.tolist() == [1, 0]
    assert vocab.decode(ids) == ["R,1.000", "C,0.250"]
    assert data.Vocabulary.from_json(vocab.to_json()) == vocab


def test_unknown_token_is_named():
    vocab = data.Vocabulary.from_tokens(["C,0.250"])
    with pytest.raises(ValueError, match="'X,9.000'"):
        vocab.encode(["X,9.000"])


# ---------------------------------------------------------------------------------------------
# Corpus from a generated file


def test_corpus_of_a_musicxml_file(solo_xml, tmp_path):
    corpus = load(solo_xml, tmp_path)
    assert corpus.n_measures == 4
    assert [len(m) for m in corpus.measures] == [len(m) for m in SOLO]
    assert corpus.tokens == [t for m in corpus.measures[1:] for t in m]  # first measure skipped
    assert corpus.measures[1] == ("C,1.000", "S,1.000,<M2,d-4>", "C,1.000", "C,1.000,<m6,M2>")
    assert [c.offset for c in corpus.chords[2]] == [0.0, 2.0]
    assert corpus.chords[2][0].pitches == ("G2", "B2", "D3", "F3")
    assert [(e.offset, e.duration, e.pitch) for e in corpus.melody[1]] == [
        (0.0, 1.0, 65),
        (1.0, 1.0, 64),
        (2.0, 1.0, 65),
        (3.0, 1.0, 69),  # the double stop: F4
    ]
    assert corpus.vocab.decode(corpus.ids) == corpus.tokens


def test_corpus_of_a_midi_file(tmp_path):
    midi = write_solo(tmp_path / "solo.mid")
    corpus = load(midi, tmp_path, melody_part="Electric Guitar")
    assert corpus.n_measures == 4
    assert corpus.measures[0][:2] == ("C,1.000", "S,1.000,<m2,P-4>")


def test_a_file_whose_name_holds_glob_characters_is_itself(solo_xml, tmp_path):
    bracketed, lookalike = tmp_path / "tune[1].musicxml", tmp_path / "tune1.musicxml"
    for path in (bracketed, lookalike):  # as a glob, "tune[1]" would match tune1 only
        path.write_bytes(solo_xml.read_bytes())
    assert data.music_files(bracketed) == [bracketed]
    assert data.music_files(tmp_path / "tune[0-9].musicxml") == [lookalike]  # still a glob
    (piece,) = load(bracketed, tmp_path / "cache").pieces
    assert (
        piece.source["path"] == str(bracketed)
        and piece.measures == load(solo_xml, tmp_path).measures
    )


def test_second_load_hits_the_cache(solo_xml, tmp_path):
    first = load(solo_xml, tmp_path)
    began = time.perf_counter()
    second = load(solo_xml, tmp_path)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second == first
    assert time.perf_counter() - began < 0.2
    assert len(cache_files(tmp_path)) == 1


def test_options_have_their_own_cache_entry(solo_xml, tmp_path):
    load(solo_xml, tmp_path)
    shorter = load(solo_xml, tmp_path, end=8.0)
    assert shorter.n_measures == 3 and not shorter.cache_hit  # the end offset is included
    assert len(cache_files(tmp_path)) == 2


def test_no_section_bounds_take_the_whole_piece(solo_xml, tmp_path):
    whole = load(solo_xml, tmp_path, start=None, end=None)
    assert whole.measures == load(solo_xml, tmp_path).measures  # the solo spans offsets 0 … 16
    assert load(solo_xml, tmp_path, start=4.0, end=None).n_measures == 3


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda text: text[: len(text) // 2],
        lambda text: text.replace("C,1.000", "C,9.000"),
        lambda text: "",
    ],
    ids=["truncated", "altered", "empty"],
)
def test_corrupt_cache_entry_is_rebuilt(solo_xml, tmp_path, corrupt):
    expected = load(solo_xml, tmp_path)
    (entry,) = cache_files(tmp_path)
    entry.write_text(corrupt(entry.read_text()))
    rebuilt = load(solo_xml, tmp_path)
    assert not rebuilt.cache_hit and rebuilt == expected
    assert load(solo_xml, tmp_path).cache_hit


def test_vocabulary_does_not_depend_on_the_hash_seed(solo_xml, tmp_path):
    script = (
        "import sys; from jazz_flax import data; "
        "c = data.load_corpus(sys.argv[1], start=0.0, end=16.0, cache_dir=sys.argv[2]); "
        "print(c.vocab.to_json())"
    )
    outputs = []
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        cache = tmp_path / f"cache-{seed}"  # each parses afresh
        result = subprocess.run(
            [sys.executable, "-c", script, str(solo_xml), str(cache)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert json.loads(outputs[0])["values"]


# ---------------------------------------------------------------------------------------------
# Windows


def seed_notebook_windows(corpus_ids, n_values, m, Tx):
    """The seed's data_processing, one-hot, with the global NumPy generator."""
    np.random.seed(0)
    X = np.zeros((m, Tx, n_values), dtype=bool)
    Y = np.zeros((m, Tx, n_values), dtype=bool)
    for i in range(m):
        random_idx = np.random.choice(len(corpus_ids) - Tx)
        corp_data = corpus_ids[random_idx : random_idx + Tx]
        for j in range(Tx):
            if j != 0:
                X[i, j, corp_data[j]] = 1
                Y[i, j - 1, corp_data[j]] = 1
    return X, np.swapaxes(Y, 0, 1)


def one_hot(ids, n_values):
    return (ids[..., None] == np.arange(n_values)) & (ids[..., None] != data.EMPTY)


def test_notebook_windows_equal_the_seed():
    ids = np.random.default_rng(1).integers(0, 20, size=120).astype(np.int32)
    windows = data.notebook_windows(ids, m=60, Tx=30, seed=0)
    X, Y = seed_notebook_windows(ids, 20, 60, 30)
    assert windows.x.shape == windows.y.shape == (60, 30)
    assert (one_hot(windows.x, 20) == X).all()
    assert (np.swapaxes(one_hot(windows.y, 20), 0, 1) == Y).all()
    assert (windows.x[:, 0] == data.EMPTY).all() and (windows.y[:, -1] == data.EMPTY).all()
    assert windows.mask.sum() == 60 * 29


def test_notebook_windows_leave_global_numpy_state_alone():
    np.random.seed(5)
    expected = np.random.random()
    np.random.seed(5)
    data.notebook_windows(np.arange(50, dtype=np.int32), m=4, Tx=10)
    assert np.random.random() == expected


def test_sliding_windows_cover_every_start():
    ids = np.arange(100, 110, dtype=np.int32)
    windows = data.sliding_windows(ids, Tx=4, stride=3)
    assert windows.y.tolist() == [[100, 101, 102, 103], [103, 104, 105, 106], [106, 107, 108, 109]]
    assert windows.x.tolist() == [[-1, 100, 101, 102], [-1, 103, 104, 105], [-1, 106, 107, 108]]
    assert windows.mask.all()
    assert data.sliding_windows(ids, Tx=4).x.shape == (7, 4)


def test_windows_carry_the_chord_of_each_target():
    ids = np.arange(40, dtype=np.int32)  # each id is its position
    chords = np.random.default_rng(0).random((40, data.CHORD_FEATURES)).astype(np.float32)
    for windows in (
        data.notebook_windows(ids, m=8, Tx=10, chords=chords),
        data.sliding_windows(ids, Tx=10, stride=3, chords=chords),
    ):
        assert windows.chords.shape == (*windows.y.shape, data.CHORD_FEATURES)
        assert np.array_equal(windows.chords[windows.mask], chords[windows.y[windows.mask]])
        assert not windows.chords[~windows.mask].any()  # an EMPTY target has no chord
    assert not data.sliding_windows(ids, Tx=10).chords.any()  # no chords given: zeros


def test_make_windows_follows_the_config():
    config = config_lib.data_defaults()
    ids = np.arange(40, dtype=np.int32)
    assert data.make_windows(ids, config).x.shape == (60, 30)
    config.windows, config.Tx = "sliding", 8
    assert data.make_windows(ids, config).x.shape == (33, 8)
    config.windows = "random"
    with pytest.raises(JazzFlaxError, match="unknown windows mode 'random'"):
        data.make_windows(ids, config)
    config.windows, config.Tx = "notebook", 40
    with pytest.raises(JazzFlaxError, match="too few"):
        data.make_windows(ids, config)


# ---------------------------------------------------------------------------------------------
# The real solo


def test_metheny_corpus(metheny):
    assert metheny.n_measures == 19
    assert 75 <= len(metheny.vocab) <= 95
    assert len(metheny.tokens) == len(metheny.ids) > 200
    assert all(metheny.chords)
    windows = data.segment_windows(metheny.segments, config_lib.data_defaults())
    assert windows.x.shape == (60, 30)
    assert (windows.x[:, 0] == data.EMPTY).all()
    assert windows.x.max() < len(metheny.vocab)
    (segment,) = metheny.segments
    assert segment.chords.shape == (len(metheny.tokens), data.CHORD_FEATURES)
    assert (segment.chords[:, 12:].sum(axis=1) == 1).all()  # one root per token
    assert (segment.chords[:, :12].sum(axis=1) >= 3).all()
    assert windows.chords.shape == (60, 30, data.CHORD_FEATURES)


def test_every_metheny_token_decodes(metheny):
    rng = np.random.default_rng(0)
    for chords in metheny.chords:
        for token in metheny.vocab.values:
            (event,) = grammar.decode([token], chords, rng, previous=64)
            assert event.duration >= grammar.GRID
            assert (event.pitch is None) == token.startswith("R")


def test_metheny_measures_decode_quickly(metheny):
    rng = np.random.default_rng(0)
    for measure, chords in zip(metheny.measures, metheny.chords, strict=True):
        events = grammar.decode(measure, chords, rng)  # warms the chord-theory cache
        assert events
    began = time.perf_counter()
    for measure, chords in zip(metheny.measures[1:], metheny.chords[1:], strict=True):
        grammar.decode(measure, chords, rng)
    assert time.perf_counter() - began < 1.0


def run_summary(*args):
    return subprocess.run(
        [sys.executable, "-m", "jazz_flax.data", "summary", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_summary_command(metheny_path):
    result = run_summary("--midi", str(metheny_path), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    n = info["n_values"]
    assert info["n_measures"] == 19 and 75 <= n <= 95
    assert info["X_shape"] == [60, 30, n] and info["Y_shape"] == [30, 60, n]
    assert info["corpus_len"] > 200 and isinstance(info["cache_hit"], bool)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--midi", "no/such/file.mid"], "no such file"),
        (["--midi", "{text}"], "not a music file"),
        (["--midi", "{solo}", "--chord-part", "Kazoo"], "no part named 'Kazoo'"),
        (["--midi", "{solo}", "--start", "900", "--end", "910"], "no notes in part"),
    ],
)
def test_summary_errors_are_one_line_with_status_2(args, message, solo_xml, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = run_summary(*(a.format(text=text, solo=solo_xml) for a in args))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_held_out_measures_are_the_last_and_never_in_training(solo_xml, tmp_path):
    corpus = load(solo_xml, tmp_path)
    train, held_out = corpus.split_ids(1)
    assert corpus.vocab.decode(held_out) == list(corpus.measures[-1])
    assert np.concatenate([train, held_out]).tolist() == corpus.ids.tolist()
    assert corpus.split_ids(0)[1].size == 0
    with pytest.raises(JazzFlaxError, match="leaves nothing to train on"):
        corpus.split_ids(3)

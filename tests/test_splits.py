"""Splits by piece, the training split's vocabulary with <unk>, a split corpus' summary."""

import json
import os
import subprocess
import sys
from pathlib import Path

import ml_collections
import numpy as np
import pytest

from jazz_flax import data, grammar
from jazz_flax.data import cli
from jazz_flax.errors import JazzFlaxError

ROOT = Path(__file__).resolve().parents[1]
C_MAJOR = (grammar.Chord(0.0, ("C3", "E3", "G3")),)


def test_split_indices_are_disjoint_cover_everything_and_follow_the_fractions():
    keys = [f"solo{i}" for i in range(100)]
    splits = data.split_indices(keys, seed=0)
    assert [len(splits[s]) for s in data.SPLITS] == [90, 5, 5]
    together = sorted(i for s in data.SPLITS for i in splits[s])
    assert together == list(range(100))


def test_split_indices_are_deterministic_in_the_seed():
    keys = [f"solo{i}" for i in range(40)]
    assert data.split_indices(keys, 3) == data.split_indices(list(keys), 3)
    assert data.split_indices(keys, 3)["test"] != data.split_indices(keys, 4)["test"]


def test_pieces_with_the_same_key_stay_in_one_split():
    performers = [f"player{i % 7}" for i in range(60)]
    splits = data.split_indices(performers, seed=1)
    where = {}
    for split in data.SPLITS:
        for i in splits[split]:
            assert where.setdefault(performers[i], split) == split
    assert all(splits[s] for s in data.SPLITS)  # each split holds at least one performer


def test_bad_fractions_are_an_error():
    with pytest.raises(JazzFlaxError, match="leave some to train"):
        data.split_indices(["a", "b"], 0, valid=0.5, test=0.5)


def test_vocabulary_from_counts_maps_rare_and_unseen_tokens_to_unk():
    vocab = data.Vocabulary.from_counts(["a", "a", "b", "c", "c", "c"], min_count=2)
    assert vocab.values == (data.UNK, "a", "c")
    assert vocab.encode(["c", "b", "zzz", "a"]).tolist() == [2, 0, 0, 1]
    with pytest.raises(ValueError, match="'zzz'"):  # a vocabulary without <unk> stays strict
        data.Vocabulary.from_tokens(["a"]).encode(["zzz"])
    assert vocab.playable([2, 0, 1]) == ["c", "a"]  # a solo is never made of <unk>


def piece(tokens: list[str], name: str, performer: str) -> data.Piece:
    """A piece of one 4-beat measure before its tokens' measure (the first is not trained on)."""
    measures = (("R,4.000",), tuple(tokens))
    melody = ((grammar.Event(0.0, 4.0, None),), ())
    return data.Piece(measures, (C_MAJOR, C_MAJOR), melody, dict(path=name, performer=performer))


@pytest.fixture
def split_corpus():
    """Six pieces; split "train" = pieces 0-3, "valid" = 4, "test" = 5 (set by hand)."""
    tokens = [
        ["C,1.000", "C,1.000", "S,1.000", "R,1.000"],
        ["C,1.000", "S,1.000", "C,2.000"],
        ["C,1.000", "R,1.000", "X,2.000"],
        ["C,1.000", "S,1.000"],
        ["C,1.000", "A,1.000"],
        ["X,2.000", "A,1.000", "A,0.500", "C,0.500"],
    ]
    pieces = tuple(piece(t, f"p{i}", f"player{i // 2}") for i, t in enumerate(tokens))
    indices = dict(train=(0, 1, 2, 3), valid=(4,), test=(5,))
    return data.SplitCorpus(pieces, indices, min_count=2)


def test_the_vocabulary_is_the_training_splits_tokens_seen_min_count_times(split_corpus):
    # training counts: C,1.000 ×5, S,1.000 ×3, R,1.000 ×2, C,2.000 ×1, X,2.000 ×1
    assert split_corpus.vocab.values == (data.UNK, "C,1.000", "R,1.000", "S,1.000")
    assert split_corpus.oov_rate("train") == pytest.approx(2 / 12)
    assert split_corpus.oov_rate("valid") == pytest.approx(1 / 2)
    assert split_corpus.oov_rate("test") == pytest.approx(4 / 4)


def test_a_min_count_above_every_count_is_refused_not_trained_on_unk_alone(split_corpus):
    too_high = data.SplitCorpus(split_corpus.pieces, split_corpus.indices, min_count=6)
    with pytest.raises(JazzFlaxError, match=r"min_count=6 .*most frequent 5 times.*≤ 5\)$"):
        too_high.vocab  # noqa: B018
    at_most = data.SplitCorpus(split_corpus.pieces, split_corpus.indices, min_count=5)
    assert at_most.vocab.values == (data.UNK, "C,1.000")


@pytest.mark.parametrize("n_pieces", [1, 2])
def test_a_corpus_too_small_to_split_says_its_training_split_is_empty(split_corpus, n_pieces):
    config = ml_collections.ConfigDict(
        dict(split_seed=0, split_by="path", valid_fraction=0.05, test_fraction=0.05, min_count=1)
    )
    few = data.Corpus(split_corpus.pieces[:n_pieces])
    with pytest.raises(JazzFlaxError, match=f"training split is empty.*\\({n_pieces} by path"):
        data.SplitCorpus.from_config(few, config)
    assert data.SplitCorpus.from_config(data.Corpus(split_corpus.pieces[:3]), config).indices


def test_split_gives_training_and_test_segments(split_corpus):
    train, test = split_corpus.split(0)
    assert [len(s.ids) for s in train] == [4, 3, 3, 2]
    assert [len(s.ids) for s in test] == [4]
    unk = split_corpus.vocab.encode([data.UNK])[0]
    assert (test[0].ids == unk).all()
    assert test[0].chords.shape == (4, data.CHORD_FEATURES) and test[0].chords.any()
    with pytest.raises(JazzFlaxError, match="holdout_measures=0"):
        split_corpus.split(2)


def test_windows_of_a_split_corpus_stay_within_each_piece(split_corpus):
    config = ml_collections.ConfigDict(dict(windows="sliding", Tx=3, stride=1))
    windows = data.segment_windows(split_corpus.split(0)[0], config)
    assert windows.x.shape == (2 + 1 + 1, 3)  # 4-, 3- and 3-token pieces; the 2-token one: none


def test_split_by_performer_from_the_config(split_corpus):
    config = ml_collections.ConfigDict(
        dict(
            split_seed=0, split_by="performer", valid_fraction=0.33, test_fraction=0.33, min_count=1
        )
    )
    split = data.SplitCorpus.from_config(data.Corpus(split_corpus.pieces), config)
    for name in data.SPLITS:
        performers = {p.source["performer"] for p in split.pieces_of(name)}
        assert len(performers) == 1  # player0, 1, 2 hold two pieces each
    config.split_by = "instrument"
    with pytest.raises(JazzFlaxError, match="split_by='instrument'.*one of 'path', 'performer'"):
        data.SplitCorpus.from_config(data.Corpus(split_corpus.pieces), config)


def test_summary_of_an_experiment_on_real_solos(tmp_path):
    if not (ROOT / "data" / "wjazzd" / "mcsv_melody").is_dir():
        pytest.skip("data/wjazzd is absent: run `make wjazzd` (CI copies it)")
    experiment = tmp_path / "few.py"
    experiment.write_text(
        "from experiments import wjazzd\n\n\ndef get_config():\n"
        "    config = wjazzd.get_config()\n"
        "    config.data.update(solos='ArtPepper_*', Tx=16)\n"
        "    config.data.update(valid_fraction=0.25, test_fraction=0.25)\n"
        "    return config\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "jazz_flax.data", "summary", "--config", str(experiment)]
    result = subprocess.run(
        [*command, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    info = json.loads(result.stdout)
    splits = info["splits"]
    assert [splits[s]["pieces"] for s in data.SPLITS] == [2, 2, 2]
    assert sum(splits[s]["tokens"] for s in data.SPLITS) == info["corpus_len"]
    assert splits["train"]["oov_rate"] < splits["test"]["oov_rate"] < 0.5  # two solos train
    assert info["vocabulary"] == info["n_values"] > 50
    assert info["left_out"] == {} and info["notes"]["notes"] > 2000


def test_an_epoch_may_train_on_a_sample_of_the_windows():
    import jax

    from jazz_flax import train

    ids = np.arange(40, dtype=np.int32)
    windows = data.sliding_windows(ids, Tx=3)  # 38 windows, window i starts at token i
    batches = train.epoch_batches(jax.random.key(0), windows, 4, per_epoch=10)
    assert batches.x.shape == (3, 3, 4)  # ceil(10 / 4) batches of (Tx, batch)
    real = np.asarray(batches.weights) > 0
    assert real.sum() == 10
    starts = {tuple(np.asarray(batches.y)[b, :, r]) for b, r in np.argwhere(real)}
    assert len(starts) == 10  # ten distinct windows
    other = train.epoch_batches(jax.random.key(1), windows, 4, per_epoch=10)
    assert not np.array_equal(np.asarray(other.y), np.asarray(batches.y))
    assert train.epoch_windows(38, None) == 38 and train.epoch_windows(38, 100) == 38


def test_summary_of_openewld_lead_sheets_split_by_piece(tmp_path):
    files = sorted((ROOT / "data" / "openewld" / "dataset").glob("A*/**/*.mxl"))[:4]
    if not files:
        pytest.skip("data/openewld is absent: run `make openewld` (CI copies it)")
    folder = tmp_path / "sheets"
    folder.mkdir()
    for file in files:
        (folder / file.name).write_bytes(file.read_bytes())
    from experiments import openewld

    config = openewld.get_config()
    config.data.update(path=str(folder), valid_fraction=0.25, test_fraction=0.25, Tx=8)
    info = cli.experiment_summary(config.data)
    assert [info["splits"][s]["pieces"] for s in data.SPLITS] == [2, 1, 1]
    assert info["vocabulary"] == info["n_values"] > 10

"""Corpus readers by name: a new corpus format is one READERS entry, and an unknown name is an
error that lists the known ones."""

import csv
from pathlib import Path

import numpy as np
import pytest

from experiments import baseline
from jazz_flax import config as config_lib
from jazz_flax import data, generate, grammar, train
from jazz_flax.data import cli
from jazz_flax.errors import JazzFlaxError

# A toy corpus format: one row per note or rest (pitch "rest"), its duration in beats, and the
# chord sounding under it, by name.
CHORDS = {"C": ("C3", "E3", "G3"), "F": ("F3", "A3", "C4"), "G7": ("G2", "B2", "D3", "F3")}
BAR = [(60, 1.0), (64, 0.5), (67, 0.5), ("rest", 1.0), (65, 1.0)]
ROWS = [(pitch, beats, chord) for chord in ("C", "F", "G7", "C") * 3 for pitch, beats in BAR]


def read_toy(data_config):
    """The toy reader: the CSV at `data.path` as one piece of 4-beat measures."""
    path = Path(data_config.path)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    melody, chords, offset = [], [], 0.0
    for row in rows:
        if offset % 4 == 0:
            melody.append([])
            chords.append((grammar.Chord(0.0, CHORDS[row["chord"]]),))
        pitch = None if row["pitch"] == "rest" else int(row["pitch"])
        melody[-1].append(grammar.Event(offset % 4, float(row["beats"]), pitch))
        offset += float(row["beats"])
    measures = data.tokenize(melody, chords, data_config.grammar)
    source = dict(path=str(path))
    return [data.Piece(measures, tuple(chords), tuple(map(tuple, melody)), source)]


def without_duration(token: str) -> tuple[str, ...]:
    """A token's kind and intervals: cutting the stream into measures may shorten its duration."""
    kind, _, *intervals = token.split(",", 2)
    return (kind, *intervals)


@pytest.fixture
def toy_config(tmp_path, monkeypatch):
    monkeypatch.setitem(data.READERS, "toy_csv", read_toy)  # the one edit a new format needs
    path = tmp_path / "toy.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([("pitch", "beats", "chord"), *ROWS])
    config = baseline.get_config()
    config.data.update(reader="toy_csv", path=str(path), Tx=6, m=12)
    config.update(n_a=8, batch_size=4, epochs=2)
    return config


def test_a_toy_reader_trains_and_generates_with_one_registry_entry(toy_config, tmp_path):
    corpus = data.get_corpus(toy_config.data)
    assert corpus.n_measures == 12 and len(corpus.tokens) == 11 * len(BAR)
    workdir = tmp_path / "run"
    _, history = train.train(toy_config, workdir=workdir)
    assert len(history) == 2 and all(np.isfinite(h["loss"]) for h in history)
    result = generate.generate(workdir, seed=3, output=tmp_path / "out")
    assert all(path.is_file() and path.stat().st_size for path in result.paths.values())
    sampled = {without_duration(token) for measure in result.tokens for token in measure}
    assert sampled <= {without_duration(value) for value in corpus.vocab.values}
    assert result.log_prob < 0  # the model's log-probability of the tokens it sampled
    played = {c.pitches for c in result.solo.chords}
    assert played <= {tuple(CHORDS[name]) for name in CHORDS}  # the toy corpus' changes


def test_an_unknown_reader_is_named_with_the_known_ones():
    settings = baseline.get_config()
    settings.data.reader = "abc_notation"
    with pytest.raises(JazzFlaxError, match="unknown corpus reader 'abc_notation'") as error:
        data.get_corpus(settings.data)
    assert "music21, wjazzd" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(JazzFlaxError, match="data.reader must be one of 'music21', 'wjazzd'"):
        config_lib.check(settings)  # before anything is read or written


def test_a_reader_may_give_a_corpus_with_its_report(toy_config, monkeypatch):
    def read_with_report(data_config):
        return data.Corpus(tuple(read_toy(data_config)), report={"left_out": {"odd meter": 2}})

    monkeypatch.setitem(data.READERS, "toy_csv", read_with_report)
    info = cli.experiment_summary(toy_config.data)
    assert info["left_out"] == {"odd meter": 2} and info["n_measures"] == 12

"""Nats per note and continuation prediction, on a few real WJazzD solos and an untrained model."""

from pathlib import Path

import jax
import numpy as np
import pytest

from experiments import wjazzd
from jazz_flax import data, evaluate, likelihood, models
from jazz_flax.grammar import v2

REAL = Path(__file__).resolve().parents[1] / "data" / "wjazzd"


@pytest.fixture(scope="module")
def setup():
    """A corpus of Coltrane's solos split by solo, each token with its whole context, and an
    untrained small model over it."""
    if not REAL.exists():
        pytest.skip(f"{REAL} is absent: run `make wjazzd`")
    config = wjazzd.get_config()
    config.data.update(path=str(REAL), solos="JohnColtrane_*", test_fraction=0.3, min_count=1)
    config.data.context = "chord,next_chord,position,to_change,tempo"
    config.update(n_a=16, layers=1)
    config.model.embed = 8
    corpus = data.load_corpus_from_config(config.data)
    model = models.make_model(config, len(corpus.vocab))
    features = np.zeros((1, 4, model.chord_features), np.float32)
    params = model.init(jax.random.key(0), np.zeros((1, 4), np.int32), features)["params"]
    return config, corpus, model, params


def test_the_token_part_is_the_test_nll_over_the_notes(setup):
    config, corpus, model, params = setup
    scores = likelihood.nats_per_note(model, params, corpus, config.data.Tx)
    test = evaluate.scores_on_test_split(model, params, corpus, config.data.Tx)
    assert scores["token_nats_per_note"] * scores["notes"] == pytest.approx(
        test["nll"] * test["tokens"], rel=1e-4
    )
    assert test["tokens"] > scores["notes"] > 0.6 * test["tokens"]  # rests are tokens too


def test_the_decoder_part_scores_each_real_pitch(setup):
    _, corpus, _, _ = setup
    piece = corpus.pieces_of("test")[0]
    nats = likelihood.decoder_nats(piece, corpus.vocab)
    per_note = nats / likelihood.notes_of(piece)
    # between certainty and a uniform choice over the register's ~40 pitches
    assert 0.3 < per_note < np.log(40)
    worst = -np.log(v2.OUTSIDE / 128)
    assert per_note < 0.5 * worst  # most real pitches are ones the decoder can play


def test_a_continuation_is_scored_after_its_prompt(setup):
    config, corpus, model, params = setup
    piece = corpus.pieces_of("test")[0]
    truth = piece.measures[9:11]
    window, scored = likelihood.candidate_window(corpus, piece, 9, truth, config.data.Tx)
    assert scored == sum(map(len, truth))
    assert list(corpus.vocab.encode([t for bar in truth for t in bar])) == list(
        window.y[0, -scored:]
    )
    nll = likelihood.candidate_nll(model, params, window, scored)
    assert nll == pytest.approx(scored * np.log(len(corpus.vocab)), rel=0.05)  # untrained
    features = corpus.features_of(piece)  # the true bars' context is the piece's own
    prompt_and_truth = sum(map(len, piece.measures[1:11]))
    np.testing.assert_array_equal(window.chords[0], features[:prompt_and_truth][-config.data.Tx :])


def test_distractors_have_the_true_bars_chord_qualities(setup):
    _, corpus, _, _ = setup
    pieces = corpus.pieces_of("test")
    found = likelihood.distractors(pieces, 0, 9, np.random.default_rng(0))
    wanted = [likelihood.qualities(c) for c in pieces[0].chords[9:11]]
    for j, bar in found:
        assert j != 0
        assert [likelihood.qualities(c) for c in pieces[j].chords[bar : bar + 2]] == wanted


def test_continuation_accuracy_of_an_untrained_model(setup):
    config, corpus, model, params = setup
    result = likelihood.continuation_accuracy(model, params, corpus, config.data.Tx)
    assert result["prompts"] >= 1 and 0.0 <= result["accuracy"] <= 1.0


@pytest.fixture(scope="module")
def pitch_setup():
    """Art Pepper's solos in the pitch grammar, windows long enough for a solo's every token, and
    an untrained model."""
    if not REAL.exists():
        pytest.skip(f"{REAL} is absent: run `make wjazzd`")
    config = wjazzd.get_config()
    config.data.update(path=str(REAL), solos="ArtPepper_*", grammar="pitch", test_fraction=0.3)
    config.data.update(min_count=1, Tx=4096)
    config.update(n_a=16, layers=1)
    config.model.embed = 8
    corpus = data.load_corpus_from_config(config.data)
    model = models.make_model(config, len(corpus.vocab))
    params = model.init(jax.random.key(0), np.zeros((1, 4), np.int32))["params"]
    return config, corpus, model, params


def test_repeat_odds_count_the_real_repeats_and_average_the_models_odds(pitch_setup):
    config, corpus, model, params = pitch_setup
    groups = corpus.vocab.pitch_groups
    shares, odds = [], []
    for segment in corpus.segments_of("test"):  # each one window: the whole solo from EMPTY
        inputs = np.array([[-1, *segment.ids[:-1]]], np.int32)
        probs = np.asarray(jax.nn.softmax(model.apply({"params": params}, inputs)))
        last = -1
        for token, p in zip(segment.ids, probs[0], strict=True):
            if groups[token] >= 0 and last >= 0:
                shares.append(groups[token] == last)
                odds.append(p[groups == last].sum() / p[groups >= 0].sum())
            last = groups[token] if groups[token] >= 0 else last
    result = likelihood.repeat_odds(model, params, corpus, config.data.Tx)
    assert result["notes"] == len(shares) > 100
    assert result["repeat_share"] == pytest.approx(np.mean(shares))
    assert result["repeat_odds"] == pytest.approx(np.mean(odds), rel=1e-5)
    assert 0 < result["repeat_share"] < 0.2 and 0 < result["repeat_odds"] < 0.2


def test_tokens_that_name_no_pitch_have_no_repeat_odds(setup):
    config, corpus, model, params = setup
    assert likelihood.repeat_odds(model, params, corpus, config.data.Tx) == {}

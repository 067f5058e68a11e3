"""The n-gram baselines of `make evaluate`, against answers computed by hand."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from jazz_flax import evaluate

# Three values; training segments [0 1 0 1] and [1 2]; the test segment [0 1 2].
TRAIN = [np.array([0, 1, 0, 1]), np.array([1, 2])]
TEST = [np.array([0, 1, 2])]


def mean_nll(*probabilities: float) -> float:
    return -sum(math.log(p) for p in probabilities) / len(probabilities)


def test_uniform_and_add_one_unigram():
    nlls = evaluate.baseline_nlls(TRAIN, TEST, 3)
    assert nlls["uniform"] == pytest.approx(math.log(3))
    # counts 2, 3, 1 of 6 tokens: (c + 1) / (6 + 3)
    assert nlls["unigram"] == pytest.approx(mean_nll(3 / 9, 4 / 9, 2 / 9))


def test_witten_bell_bigram():
    # start: followed by 0 and 1 (c 2, T 2, λ 1/2): P(0|start) = 1/2·1/2 + 1/2·3/9 = 5/12
    # 0: followed by 1 twice (c 2, T 1, λ 2/3):      P(1|0) = 2/3·1 + 1/3·4/9 = 22/27
    # 1: followed by 0 and 2 (c 2, T 2, λ 1/2):      P(2|1) = 1/2·1/2 + 1/2·2/9 = 13/36
    nlls = evaluate.baseline_nlls(TRAIN, TEST, 3)
    assert nlls["bigram"] == pytest.approx(mean_nll(5 / 12, 22 / 27, 13 / 36))


def test_an_unseen_context_falls_back_to_the_unigram():
    nlls = evaluate.baseline_nlls(TRAIN, [np.array([0]), np.array([2, 0])], 3)
    # P(0|start) = 5/12, P(2|start) = 1/2·0 + 1/2·2/9 = 1/9; 2 was never followed: P(0|2) = 3/9
    assert nlls["bigram"] == pytest.approx(mean_nll(5 / 12, 1 / 9, 3 / 9))


def test_bigram_probabilities_sum_to_one_in_every_context():
    rng = np.random.default_rng(0)
    train = [rng.integers(0, 6, size=n) for n in (30, 12, 7)]
    for previous in range(7):  # 6 is the start context
        pairs = np.array([[previous, token] for token in range(6)])
        unigram = np.full(6, 1 / 6)
        total = evaluate._witten_bell(evaluate._pairs(train, 6), pairs, unigram, 6).sum()
        assert total == pytest.approx(1.0)


def test_evaluate_a_model_trained_on_real_solos(tmp_path):
    from experiments import wjazzd
    from jazz_flax import checkpoints, data, generate, report, train

    if not (Path(__file__).resolve().parents[1] / "data" / "wjazzd" / "mcsv_melody").is_dir():
        pytest.skip("data/wjazzd is absent: run `make wjazzd` (CI copies it)")
    config = wjazzd.get_config()
    config.data.update(solos="ArtPepper_*", valid_fraction=0.25, test_fraction=0.25, Tx=16)
    config.data.stride = 8
    config.data.windows_per_epoch = 64  # of 196
    config.update(n_a=16, layers=1, dropout=0.0, epochs=2, batch_size=16, epochs_per_call=1)
    _, history = train.train(config, workdir=tmp_path)
    nlls = [row["valid_nll"] for row in history]  # validated after each call: each epoch
    assert all(math.isfinite(nll) for nll in nlls) and len(nlls) == 2
    best = checkpoints.load_checkpoint(tmp_path / checkpoints.BEST)
    assert best.epoch == 1 + int(np.argmin(nlls))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["best_epoch"] == best.epoch and summary["reference"] is None
    assert f"valid NLL, epoch {best.epoch}" in report.summary_table(summary)
    eval_config = evaluate.default_config()
    eval_config.solos = 1
    result = evaluate.evaluate_run(tmp_path, eval_config)
    assert (
        result["checkpoint"] == f"{checkpoints.BEST}/{checkpoints.CHECKPOINT}"
    )  # the best, not the last
    assert result["epoch"] == best.epoch and (tmp_path / evaluate.EVAL).is_file()
    test = result["test"]
    corpus = data.load_corpus_from_config(config.data)
    assert test["tokens"] == len(corpus.tokens_of("test"))
    assert test["oov_rate"] == corpus.oov_rate("test") > 0
    assert set(test["baselines"]) == {"uniform", "unigram", "bigram"}
    assert test["baselines"]["uniform"] == pytest.approx(math.log(len(corpus.vocab)))
    assert math.isfinite(test["nll"]) and test["perplexity"] == pytest.approx(math.exp(test["nll"]))
    assert "baselines (NLL): uniform" in evaluate.table(result)
    assert "first test solo" in evaluate.table(result)  # what a split corpus' solos are beside
    test_solo = corpus.pieces_of("test")[0]
    generated = generate.generate(tmp_path, output=tmp_path / "out")  # over the first test solo
    assert len(generated.tokens) == len(test_solo.measures)

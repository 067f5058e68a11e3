"""The n-gram baselines of `make evaluate` on real solos (tests/test_ngrams.py: the models)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from jazz_flax import evaluate, ngrams


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
    names = [ngrams.kneser_ney_name(order) for order in ngrams.KNESER_NEY_ORDERS]
    assert set(test["baselines"]) == {"uniform", "unigram", "bigram", "witten_bell_3", *names}
    assert test["baselines"]["uniform"] == pytest.approx(math.log(len(corpus.vocab)))
    ids = ([s.ids for s in corpus.segments_of(split)] for split in ("train", "valid", "test"))
    tuned_on_valid = ngrams.kneser_ney_nll(*ids, 3, len(corpus.vocab))
    assert test["baselines"]["kneser_ney_3"] == tuned_on_valid
    assert math.isfinite(test["nll"]) and test["perplexity"] == pytest.approx(math.exp(test["nll"]))
    assert "baselines (NLL): uniform" in evaluate.table(result)
    assert ngrams.versus(test["nll"], test["baselines"]) in evaluate.table(result)
    assert "first test solo" in evaluate.table(result)  # what a split corpus' solos are beside
    assert test["split_by"] == "path" and "test split (by path): " in evaluate.table(result)
    test_solo = corpus.pieces_of("test")[0]
    generated = generate.generate(tmp_path, output=tmp_path / "out")  # over the first test solo
    assert len(generated.tokens) == len(test_solo.measures)

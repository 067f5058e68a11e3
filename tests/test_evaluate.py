import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jazz_flax import checkpoints, data, evaluate, models, train
from jazz_flax.model import DJModel, init_params
from jazz_flax.windows import heldout_windows

ROOT = Path(__file__).resolve().parents[1]


def tiny_corpus(config):
    return data.load_corpus_from_config(config.data)


def copy_of(run_dir, tmp_path) -> Path:
    """A copy of the shared run directory, which other tests expect as `train` left it."""
    return Path(shutil.copytree(run_dir[0], tmp_path / "run"))


def one_piece(ids: np.ndarray) -> list[data.Segment]:
    """Held-out ids of one piece, without chords."""
    return [data.Segment.without_chords(ids)]


@pytest.mark.parametrize("n, Tx", [(12, 5), (5, 5), (3, 5), (1, 4)])
def test_every_heldout_token_is_scored_once(n, Tx):
    held = np.arange(100, 100 + n, dtype=np.int32)
    windows, mask = heldout_windows(one_piece(held), Tx)
    assert windows.x.shape == mask.shape == (n - min(Tx, n) + 1, min(Tx, n))
    assert sorted(windows.y[mask].tolist()) == held.tolist()
    assert np.all(windows.x[:, 0] == data.EMPTY)  # the training layout: EMPTY first
    # Each scored token follows the held-out tokens just before it, up to Tx - 1 of them.
    for row, col in zip(*np.nonzero(mask), strict=True):
        assert windows.x[row, 1 : col + 1].tolist() == windows.y[row, :col].tolist()


def test_nothing_held_out_gives_empty_windows():
    windows, mask = heldout_windows(one_piece(np.zeros(0, np.int32)), 30)
    assert windows.x.shape == (0, 0) and not mask.any()


@pytest.mark.parametrize("holdout", [1, 2])
def test_heldout_windows_never_overlap_the_training_windows(tiny, holdout):
    config = tiny.copy_and_resolve_references()
    config.data.holdout_measures = holdout
    corpus = tiny_corpus(config)
    trained, held = corpus.split_ids(holdout)
    assert np.array_equal(np.concatenate([trained, held]), corpus.ids)
    # The same cut of the positions 0 … n-1: every id is its position in the corpus.
    positions = np.arange(len(corpus.ids), dtype=np.int32)
    train_positions, held_positions = positions[: len(trained)], positions[len(trained) :]
    for mode in ("notebook", "sliding"):
        config.data.windows = mode
        config.data.Tx = min(config.data.Tx, len(trained) - 1)
        training = data.make_windows(train_positions, config.data)
        heldout, _ = heldout_windows(one_piece(held_positions), config.data.Tx)
        seen = set(np.concatenate([training.x.ravel(), training.y.ravel()])) - {data.EMPTY}
        scored = set(np.concatenate([heldout.x.ravel(), heldout.y.ravel()])) - {data.EMPTY}
        assert seen <= set(train_positions) and scored == set(held_positions)
        assert not seen & scored


def uniform_params(model, key):
    """Parameters whose head gives every value the same logit: p = 1 / n_values."""
    params = init_params(model, key)
    head = jax.tree.map(jnp.zeros_like, params["head"])
    return {**params, "head": head}


def test_uniform_model_scores_log_v_and_v():
    model = DJModel(n_values=7, n_a=4)
    params = uniform_params(model, jax.random.key(0))
    held = np.array([0, 3, 6, 0, 2, 0], np.int32)
    scores = evaluate.heldout_scores(model, params, one_piece(held), Tx=4)
    assert scores["tokens"] == 6
    np.testing.assert_allclose(scores["nll"], math.log(7), rtol=1e-6)
    np.testing.assert_allclose(scores["perplexity"], 7, rtol=1e-5)
    assert scores["accuracy"] == 0.5  # ties go to the first value, id 0: three of six tokens


def test_heldout_nll_is_the_training_loss_per_token():
    """The first window's summed NLL is `train.sequence_loss` of that window (all targets)."""
    model = DJModel(n_values=9, n_a=8)
    params = init_params(model, jax.random.key(1))
    held = np.array([1, 4, 4, 8, 0], np.int32)
    windows, _ = heldout_windows(one_piece(held), Tx=5)
    logits = model.apply({"params": params}, jnp.asarray(windows.x), time_major=False)
    loss = train.sequence_loss(logits.transpose(1, 0, 2), jnp.asarray(windows.y.T), jnp.ones(1))
    scores = evaluate.heldout_scores(model, params, one_piece(held), Tx=5)
    np.testing.assert_allclose(scores["nll"] * 5, loss, rtol=1e-5)


def test_no_holdout_is_nan_not_an_error(run_dir, tmp_path):
    workdir = copy_of(run_dir, tmp_path)
    result = evaluate.evaluate_run(workdir, evaluate.default_config())
    assert result["checkpoint"] == checkpoints.CHECKPOINT  # no validation split, no best: the last
    assert result["heldout"]["tokens"] == 0 and math.isnan(result["heldout"]["nll"])
    saved = json.loads((workdir / evaluate.EVAL).read_text())
    assert saved["heldout"] == dict(measures=0, tokens=0, nll=None, perplexity=None, accuracy=None)
    assert "held-out: none" in evaluate.table(result)


def test_evaluation_of_a_heldout_run(tiny, tmp_path):
    config = tiny.copy_and_resolve_references()
    config.data.holdout_measures = 1
    train.train(config, workdir=tmp_path)
    settings = evaluate.default_config()
    settings.solos = 3
    result = evaluate.evaluate_run(tmp_path, settings)
    corpus = tiny_corpus(config)
    assert result["heldout"]["tokens"] == len(corpus.measures[-1])
    assert result["heldout"]["perplexity"] == pytest.approx(math.exp(result["heldout"]["nll"]))
    assert 0 <= result["heldout"]["accuracy"] <= 1
    sensitivity = {"harmony_onsets_differ", "harmony_pitches_differ"}  # of a model, not a solo
    assert set(result["generated"]) == set(result["training_solo"]) | sensitivity
    assert result["training_solo"]["duration_distance"] == 0.0  # the solo against itself
    # A model without chord inputs plays the same tokens over the vamp: only its decoded
    # pitches change (a repeated pitch merging two notes changes an onset now and then).
    generated = result["generated"]
    assert generated["harmony_onsets_differ"] < 0.2 < generated["harmony_pitches_differ"]
    assert result["eval"]["solos"] == 3 and result["epoch"] == config.epochs
    again = evaluate.evaluate_run(tmp_path, settings)
    np.testing.assert_equal(again["generated"], result["generated"])  # the same seed (NaN = NaN)
    text = evaluate.table(result)
    assert "held-out: 1 measures" in text and "chord tones 1 & 3" in text


def test_generated_solos_fill_the_pieces_measures(run_dir, tiny):
    _, state, _ = run_dir
    corpus = tiny_corpus(tiny)
    model = models.make_model(tiny, len(corpus.vocab))
    settings = evaluate.default_config()
    solos = evaluate.generated_solos(model, state.params, corpus.vocab, corpus.chords, settings)
    assert len(solos) == settings.solos
    assert all(solo.length == 4 * corpus.n_measures for solo in solos)


def test_evaluate_command(run_dir, tmp_path):
    workdir = copy_of(run_dir, tmp_path)
    command = [sys.executable, "-m", "jazz_flax.main", "evaluate", "--workdir", str(workdir)]
    command += ["--config", str(ROOT / "experiments" / "baseline.py"), "--solos", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "training solo" in result.stdout and str(workdir / evaluate.EVAL) in result.stdout
    note = next(line for line in result.stdout.splitlines() if "evaluated as trained" in line)
    assert "data.Tx" in note and "n_a" in note  # the tiny run is not the baseline experiment
    assert json.loads((workdir / evaluate.EVAL).read_text())["eval"]["solos"] == 2


def test_changed_settings_name_the_dotted_keys(tiny):
    trained = tiny.copy_and_resolve_references()
    trained.update(n_a=16, resume=True)
    trained.data.Tx = 7
    assert evaluate.changed_settings(tiny, trained.to_dict()) == ["data.Tx", "n_a"]
    assert evaluate.changed_settings(tiny, tiny.to_dict()) == []


def test_a_chord_conditioned_run_is_scored_with_its_chords(conditioned_run, tmp_path):
    workdir = copy_of(conditioned_run, tmp_path)
    result = evaluate.evaluate_run(workdir, evaluate.default_config())
    assert result["heldout"]["tokens"] > 0 and math.isfinite(result["heldout"]["nll"])
    sensitivity = {"harmony_onsets_differ", "harmony_pitches_differ"}
    assert set(result["generated"]) == set(result["training_solo"]) | sensitivity

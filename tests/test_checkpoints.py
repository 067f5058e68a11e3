"""The run directory read back: `load_run` without the trainer, old runs completed by the schema."""

import ast
import json
import shutil

import jax
import numpy as np
import pytest

from jazz_flax import checkpoints, generate, sample, train
from jazz_flax import config as config_lib
from jazz_flax.errors import POSITIVE
from tests.commands import ROOT


def test_load_run_rebuilds_the_model_from_the_saved_config(run_dir, tmp_path):
    workdir, state, _ = run_dir
    run = checkpoints.load_run(workdir)
    assert run.path == workdir / checkpoints.CHECKPOINT and run.checkpoint.epoch == 6
    assert run.model.n_values == len(run.vocab) and run.model.n_a == run.config.n_a == 8
    assert jax.tree.all(jax.tree.map(np.array_equal, run.params, state.params))
    ids, _ = sample.sample(run.model, run.params, jax.random.key(0), length=5)
    assert np.asarray(ids).shape[-1] == 5
    kept = shutil.copytree(workdir, tmp_path / "kept")
    (kept / checkpoints.BEST).mkdir()
    shutil.copy(kept / checkpoints.CHECKPOINT, kept / checkpoints.BEST)
    assert checkpoints.load_run(kept).path == kept / checkpoints.BEST / checkpoints.CHECKPOINT


def test_reading_a_run_needs_no_trainer():
    """generate, evaluate, primer and sweep read runs through checkpoints, not train."""
    for name in ("generate", "evaluate", "primer", "checkpoints", "sweep_results"):
        tree = ast.parse((ROOT / "jazz_flax" / f"{name}.py").read_text())
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {"train", "jazz_flax.train"} & imported, name


def test_a_run_written_before_a_new_key_generates_and_resumes(tiny, tmp_path, monkeypatch):
    """A key added to the schema with its default needs no other edit for older runs."""
    config = tiny.copy_and_resolve_references()
    config.epochs = 2
    old = tmp_path / "old"
    _, history = train.train(config, workdir=old)
    defaults = config_lib.defaults

    def with_a_new_key():
        settings = defaults()
        settings.data.new_setting = 7  # a setting added since the run was written
        return settings

    monkeypatch.setattr(config_lib, "defaults", with_a_new_key)
    monkeypatch.setitem(config_lib.CHECKS, "data.new_setting", POSITIVE)
    assert "new_setting" not in json.loads((old / "config.json").read_text())["data"]
    assert checkpoints.load_run(old).config.data.new_setting == 7
    result = generate.generate(old, seed=1, output=tmp_path / "out")
    assert len(result.tokens) > 0
    resumed = config.copy_and_resolve_references()
    resumed.data.new_setting = 7
    resumed.update(epochs=4, resume=True)
    _, again = train.train(resumed, workdir=old)
    assert len(again) == 4 and again[:2] == history


@pytest.mark.parametrize("resume", [False, True])
def test_a_new_model_sets_the_old_ones_results_aside(tmp_path, resume):
    """eval.json and output/ move to stale/ (replacing older ones); a run started over drops
    the old best/, which generate and evaluate would otherwise read as the new model's."""
    (tmp_path / checkpoints.BEST).mkdir()
    (tmp_path / checkpoints.EVAL).write_text("new")
    (tmp_path / checkpoints.OUTPUT).mkdir()
    stale = tmp_path / checkpoints.STALE_FOLDER
    (stale / checkpoints.OUTPUT).mkdir(parents=True)
    (stale / checkpoints.OUTPUT / "older.mid").write_text("older")
    config = config_lib.defaults()
    config.resume = resume
    checkpoints.start_writing(tmp_path, config)
    assert (tmp_path / checkpoints.BEST).exists() == resume
    assert (
        not (tmp_path / checkpoints.EVAL).exists() and not (tmp_path / checkpoints.OUTPUT).exists()
    )
    assert (stale / checkpoints.EVAL).read_text() == "new"
    assert not any((stale / checkpoints.OUTPUT).iterdir())

import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import baseline
from jazz_flax import checkpoints, data, models, parallel, report, train
from jazz_flax import config as config_lib
from jazz_flax.errors import JazzFlaxError
from jazz_flax.losses import Loss
from jazz_flax.model import DJModel, count_params, init_params
from tests.commands import run_main, tiny_flags

ROOT = Path(__file__).resolve().parents[1]


def notebook_layout(m: int, Tx: int, n_values: int, seed: int = 0) -> data.Windows:
    """Random windows laid out as the notebook's: x<1> and the last target EMPTY."""
    ids = np.random.default_rng(seed).integers(0, n_values, (m, Tx + 1)).astype(np.int32)
    x, y = ids[:, :-1].copy(), ids[:, 1:].copy()
    x[:, 0], y[:, -1] = data.EMPTY, data.EMPTY
    return without_chords(x, y)


def without_chords(x, y) -> data.Windows:
    return data.Windows(x, y, np.zeros((*x.shape, data.CHORD_FEATURES), np.float32))


def losses(history):
    return [row["loss"] for row in history]


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.5])
def test_loss_at_chance_is_the_valid_targets_times_log_v(alpha):
    """Uniform logits score ln V per target whatever the smoothing: the last, EMPTY, target never
    counts (a smoothed one-hot of EMPTY would add ln V more)."""
    windows = notebook_layout(m=6, Tx=30, n_values=90)
    targets = jnp.asarray(windows.y.T)  # time-major
    loss = Loss(label_smoothing=alpha)
    chance = train.sequence_loss(jnp.zeros((30, 6, 90)), targets, jnp.full(6, 1 / 6), loss)
    np.testing.assert_allclose(chance, 29 * math.log(90), rtol=1e-6)


def test_label_smoothing_moves_the_loss_and_bad_settings_are_refused():
    windows = notebook_layout(m=4, Tx=6, n_values=7)
    logits = jax.random.normal(jax.random.key(0), (6, 4, 7))
    targets, shares = jnp.asarray(windows.y.T), jnp.full(4, 1 / 4)
    plain, smoothed = (
        train.sequence_loss(logits, targets, shares, Loss(label_smoothing=alpha))
        for alpha in (0.0, 0.2)
    )
    assert plain != smoothed
    with pytest.raises(JazzFlaxError, match="label_smoothing"):
        Loss(label_smoothing=1.0)
    with pytest.raises(JazzFlaxError, match="unknown loss 'mse'"):
        Loss("mse")


def test_padding_rows_do_not_count():
    windows = notebook_layout(m=5, Tx=4, n_values=7)
    logits = jax.random.normal(jax.random.key(0), (4, 5, 7))
    targets = jnp.asarray(windows.y.T)
    padded = train.sequence_loss(logits, targets, jnp.array([1, 1, 1, 0, 0]) / 3)
    np.testing.assert_allclose(
        padded, train.sequence_loss(logits[:, :3], targets[:, :3], jnp.full(3, 1 / 3))
    )


def test_shares_of_a_batch_sum_to_its_loss():
    """What a device adds up from its rows of a split batch: summed, the whole batch's loss."""
    windows = notebook_layout(m=6, Tx=5, n_values=7)
    logits = jax.random.normal(jax.random.key(0), (5, 6, 7))
    targets, weights = jnp.asarray(windows.y.T), jnp.full(6, 1 / 6)
    halves = [
        train.sequence_loss(logits[:, s], targets[:, s], weights[s])
        for s in np.split(np.arange(6), 2)
    ]
    np.testing.assert_allclose(
        sum(halves), train.sequence_loss(logits, targets, weights), rtol=1e-6
    )


def test_initial_loss_is_near_chance():
    """The notebook's epoch-1 loss, 129.9, is the untrained model's: about 29 ln 90."""
    windows = notebook_layout(m=60, Tx=30, n_values=90)
    model = DJModel(n_values=90)
    logits = model.apply({"params": init_params(model, jax.random.key(0))}, windows.x)
    shares = jnp.full(60, 1 / 60)
    loss = train.sequence_loss(logits.transpose(1, 0, 2), jnp.asarray(windows.y.T), shares)
    assert abs(loss - 29 * math.log(90)) < 2


def test_epochs_shuffle_every_window_into_keras_batches():
    windows = without_chords(*(jnp.arange(50).reshape(10, 5),) * 2)
    batches = [train.epoch_batches(jax.random.key(e), windows, 4) for e in range(2)]
    for batch in batches:
        assert batch.x.shape == (3, 5, 4)  # (n_batches, Tx, batch): time-major
        shares = [[1 / 4] * 4, [1 / 4] * 4, [1 / 2, 1 / 2, 0, 0]]  # of its batch, per window
        np.testing.assert_allclose(batch.weights, shares)
        rows = np.asarray(batch.x[:, 0, :])[np.asarray(batch.weights) > 0] // 5
        assert sorted(rows.tolist()) == list(range(10))
    assert not np.array_equal(batches[0].x, batches[1].x)


def test_training_reduces_the_loss_and_repeats_itself(tiny):
    config = tiny.copy_and_resolve_references()
    config.epochs = 30
    _, history = train.train(config)
    _, again = train.train(config)
    assert losses(history)[-1] < 0.7 * losses(history)[0]
    assert losses(history) == losses(again)
    assert [row["epoch"] for row in history] == list(range(1, 31))


def test_run_directory(run_dir, tiny):
    workdir, state, history = run_dir
    assert sorted(p.name for p in workdir.iterdir()) == [
        "checkpoint.msgpack",
        "config.json",
        "loss.png",
        "metrics.jsonl",
        "summary.json",
    ]  # and no temporary file left behind
    assert json.loads((workdir / "config.json").read_text()) == tiny.to_dict()
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert rows == history and [row["epoch"] for row in rows] == list(range(1, 7))
    assert all(set(row) == {"epoch", "loss", "lr", "seconds"} for row in rows)
    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["params"] == sum(x.size for x in jax.tree.leaves(state.params))
    assert summary["epochs"] == 6 and summary["final_loss"] == rows[-1]["loss"]
    assert summary["epoch_1_loss"] == rows[0]["loss"]
    assert summary["reference"] == {"epoch_1": 129.9, "epoch_100": 9.2}
    assert summary["compile_seconds"] > 0 and summary["train_seconds"] > 0
    assert summary["train_epochs"] == 6
    assert summary["n_values"] == len(checkpoints.load_checkpoint(workdir).vocab)
    assert (workdir / "loss.png").read_bytes().startswith(b"\x89PNG")


def test_checkpoint_holds_what_sampling_needs(run_dir, tiny):
    workdir, state, _ = run_dir
    checkpoint = checkpoints.load_checkpoint(workdir)
    assert checkpoint.epoch == 6 and checkpoint.config.to_dict() == tiny.to_dict()
    assert jax.tree.all(jax.tree.map(np.array_equal, checkpoint.params, state.params))
    corpus = data.load_corpus_from_config(tiny.data)
    assert checkpoint.vocab == corpus.vocab


def test_resume_repeats_an_uninterrupted_run(tiny, tmp_path):
    config = tiny.copy_and_resolve_references()
    config.update(epochs=10, epochs_per_call=4)  # the resumed run's calls split otherwise
    straight, history = train.train(config, workdir=tmp_path / "straight")
    config.epochs = 7
    train.train(config, workdir=tmp_path / "resumed")
    config.update(epochs=10, resume=True)
    resumed, resumed_history = train.train(config, workdir=tmp_path / "resumed")
    assert losses(resumed_history) == losses(history)
    summary = json.loads((tmp_path / "resumed" / "summary.json").read_text())
    assert summary["epochs"] == 10 and summary["train_epochs"] == 3
    assert int(resumed.step) == int(straight.step)
    assert jax.tree.all(jax.tree.map(np.array_equal, resumed.params, straight.params))


@pytest.mark.parametrize(
    "change, message",
    [({"n_a": 16}, "other settings"), ({"data": {"Tx": 4}}, "other settings")],
)
def test_resume_refuses_other_settings(run_dir, tiny, change, message):
    config = tiny.copy_and_resolve_references()
    config.update(resume=True, **change)
    with pytest.raises(JazzFlaxError, match=message):
        train.train(config, workdir=run_dir[0])


def test_a_batch_larger_than_an_epoch_is_refused_before_the_run_folder_is_touched(tiny, tmp_path):
    config = tiny.copy_and_resolve_references()
    config.batch_size = config.data.m + 1  # the tiny config's notebook windows: m of them
    with pytest.raises(JazzFlaxError, match=r"batch_size=11 is more than the 10 .*≤ 10\)$"):
        train.train(config, workdir=tmp_path / "run")
    config.update(batch_size=4)
    config.data.windows_per_epoch = 3
    with pytest.raises(JazzFlaxError, match="batch_size=4 is more than the 3 windows"):
        train.train(config, workdir=tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_train_command_writes_runs_experiment(tiny, tmp_path):
    result = run_main(*tiny_flags(tiny), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "loss, epoch 1" in result.stdout
    assert (tmp_path / "runs" / "baseline" / "summary.json").is_file()


def test_baseline_reproduces_the_notebook_on_the_real_solo(metheny_path):
    config = baseline.get_config()
    config.data.path = str(metheny_path)
    _, history = train.train(config)
    assert len(history) == 100
    assert abs(history[0]["loss"] - report.REFERENCE["epoch_1"]) <= 5.0
    assert history[-1]["loss"] <= 10.5


@pytest.mark.slow
def test_the_baseline_trains_the_stock_cells_loss_curve_on_its_fast_path(metheny_path):
    """The baseline selects `fused_lstm`; the stock `nn.LSTMCell`, the same model in other float
    arithmetic, trains the same curve: its first 20 epochs to float rounding, then within 2 %,
    as 200 Adam steps amplify the rounding (experiments/BENCHMARKS.md, "Exactness")."""
    config = baseline.get_config()
    config.data.path = str(metheny_path)
    assert config.model.cell == "fused_lstm"
    curves = {}
    for cell in ("fused_lstm", "lstm"):
        config.model.cell = cell
        curves[cell] = np.array([row["loss"] for row in train.train(config)[1]])
    np.testing.assert_allclose(curves["fused_lstm"][:20], curves["lstm"][:20], rtol=1e-5)
    np.testing.assert_allclose(curves["fused_lstm"], curves["lstm"], rtol=0.02)


def test_train_command_reproduces_the_baseline_over_the_cores(metheny_path, tmp_path):
    """`make train EXP=baseline`: on a CPU, each batch split over one device per core."""
    config = ["--config", str(ROOT / "experiments" / "baseline.py")]
    result = run_main(*config, f"--config.data.path={metheny_path}", "--workdir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["devices"] == parallel.cpu_devices(0, 32)
    assert abs(summary["epoch_1_loss"] - report.REFERENCE["epoch_1"]) <= 5.0
    assert summary["final_loss"] <= 10.5


def test_chord_conditioned_model_trains_on_its_windows_chords(conditioned_run, tiny):
    workdir, state, history = conditioned_run
    V, n_a, F = len(checkpoints.load_checkpoint(workdir).vocab), tiny.n_a, data.CHORD_FEATURES
    assert count_params(state.params) == 4 * (n_a * (V + F + n_a) + n_a) + n_a * V + V
    assert history[-1]["loss"] < history[0]["loss"]
    # the loss reads the chords: other chords, another loss (and none for the unconditioned)
    windows = train.training_windows(tiny, data.load_corpus_from_config(tiny.data))
    silent = windows._replace(chords=np.zeros_like(windows.chords))
    for conditioned in (True, False):
        config = tiny.copy_and_resolve_references()
        config.condition_on_chords = conditioned
        model = models.make_model(config, V)
        losses = [
            train.EpochRunner(w, jax.random.key(1), config.batch_size)(
                train.create_state(config, model, jax.random.key(0)), np.arange(1)
            )[1]
            for w in (windows, silent)
        ]
        assert (losses[0] != losses[1]) == conditioned


def saved_before_the_new_keys(workdir: Path, tmp_path: Path) -> Path:
    """A copy of the run directory whose checkpoint's config lacks the keys `model`, `loss` and
    `label_smoothing`, as one written before they existed."""
    old = tmp_path / "old"
    old.mkdir()
    raw = checkpoints.read_checkpoint(workdir / checkpoints.CHECKPOINT)
    config = json.loads(raw["config"])
    for key in ("model", "loss", "label_smoothing"):
        del config[key]
    raw["config"] = json.dumps(config)
    checkpoints.write_checkpoint(old / checkpoints.CHECKPOINT, raw)
    (old / "metrics.jsonl").write_text((workdir / "metrics.jsonl").read_text())
    return old


def test_a_run_saved_before_a_setting_existed_resumes_with_its_default(run_dir, tiny, tmp_path):
    old = saved_before_the_new_keys(run_dir[0], tmp_path)
    config = tiny.copy_and_resolve_references()
    config.model = config_lib.defaults().model  # the baseline's cell is not the default, `lstm`
    assert checkpoints.load_checkpoint(old).config.to_dict() == config.to_dict()  # defaults filled
    config.update(resume=True, epochs=8)
    _, history = train.train(config, workdir=old)
    assert len(history) == 8 and history[:6] == run_dir[2]
    config.update(epochs=9)
    config.model.head_layer = "fused_dense"  # the same head, on its fast path
    assert len(train.train(config, workdir=old)[1]) == 9
    config.model.cell = "gru"
    with pytest.raises(JazzFlaxError, match=r"other settings \(model.cell\)"):
        train.train(config, workdir=old)


def test_a_gru_run_over_chords_generates_and_evaluates(tiny, tmp_path):
    """Another cell, another carry (one array), chord-conditioned: through the run directory."""
    from jazz_flax import evaluate, generate

    config = tiny.copy_and_resolve_references()
    config.update(epochs=3, condition_on_chords=True)
    config.model.cell = "gru"
    config.data.holdout_measures = 1
    train.train(config, workdir=tmp_path / "gru")
    result = generate.generate(tmp_path / "gru", seed=1, output=tmp_path / "out")
    assert len(result.tokens) == 4
    scores = evaluate.evaluate_run(tmp_path / "gru", evaluate.default_config())
    assert scores["config"]["model"]["cell"] == "gru" and scores["heldout"]["tokens"] > 0

"""`make bench` (experiments/bench/benchmark.py) on a tiny model, and its PyTorch reference."""

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import wjazzd
from experiments.bench import bench_corpus, benchmark
from jazz_flax import data, models, train
from jazz_flax.fused_lstm import GATES
from jazz_flax.model import DJModel, init_params
from tests.test_model import random_ids


@pytest.fixture
def tiny_bench(tiny, tiny_corpus_bench, monkeypatch):
    """The benchmark shrunk to the tiny config, a few epochs and small sweeps, without torch."""
    config = tiny.copy_and_resolve_references()
    corpus = data.load_corpus_from_config(config.data)
    windows, n_values = train.training_windows(config, corpus), len(corpus.vocab)
    monkeypatch.setattr(benchmark, "baseline_setup", lambda: (config, windows, n_values, "tiny"))
    monkeypatch.setattr(benchmark, "TRAIN_EPOCHS", 3)
    monkeypatch.setattr(benchmark, "SAMPLE_LENGTH", 4)
    monkeypatch.setattr(benchmark, "BATCHES", (1, 8))
    monkeypatch.setattr(benchmark, "SCALING", {"n_a": (16,), "windows": (10, 40)})
    monkeypatch.setattr(benchmark, "RUN_SECONDS", 0.01)
    monkeypatch.setattr(benchmark, "CELLS", ("lstm", "fused_lstm"))
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    return config


def test_the_benchmark_measures_every_figure_and_reports_them(tiny_bench, tmp_path):
    results = benchmark.run(repeats=1)

    assert results["steps"] == 3 * 3  # 10 windows in batches of 4
    assert len(results["train_100_epochs"]["runs"]) == 1
    assert np.isfinite(results["train_100_epochs"]["final_loss"])
    assert [row["batch"] for row in results["sample_batched"]] == [1, 8]
    points = results["scaling"]
    assert {s: [p["value"] for p in points[s]] for s in points} == {
        "n_a": [16],
        "windows": [10, 40],
    }
    assert set(results["targets"]) == set(benchmark.TARGETS)
    measured = dict(results["targets"])
    assert measured.pop("train_speedup")["met"] is None  # without torch
    assert measured.pop("corpus_speedup")["met"] is None
    assert all(check["value"] > 0 for check in measured.values())
    assert "skipped" in results["torch"]
    assert list(results["cells"]) == ["lstm", "fused_lstm"]
    headline = results["cells"][tiny_bench.model.cell]  # the baseline's cell
    assert results["train_100_epochs"] is headline["train_100_epochs"]

    table = benchmark.table(results)
    assert "PyTorch reference skipped: torch is not installed" in table
    assert "windows = 40" in table and "≤ 0.20 s" in table
    verdict = "(the baseline's cell) vs PyTorch, 100 epochs: ≥ 2×: not measured"
    assert f"{tiny_bench.model.cell} {verdict}" in table
    assert "at corpus scale: ≥ 1.0×: not measured" in table
    benchmark.plot_scaling(results["scaling"], tmp_path / "scaling.png")
    assert (tmp_path / "scaling.png").stat().st_size > 0
    assert json.loads(json.dumps(results))["repeats"] == 1  # bench.json holds it as it is


def test_the_pytorch_reference_has_jazz_flax_model_loss_and_gradient():
    """With jazz_flax's weights copied in, `nn.LSTM` + `nn.Linear` and `torch_loss` give the loss
    and the gradients of `DJModel` and `train.sequence_loss`: the reference trains the same
    model."""
    torch = pytest.importorskip("torch")
    model = DJModel(n_values=12, n_a=8)
    params = init_params(model, jax.random.key(0))
    ids, targets = random_ids(3, 7, 12, seed=1), random_ids(3, 7, 12, seed=2)

    def ours(params):
        logits = model.apply({"params": params}, ids.T, time_major=True)
        return train.sequence_loss(logits, targets.T, jnp.full(3, 1 / 3))

    loss, grads = jax.value_and_grad(ours)(params)

    cell, head = params["cells_0"], params["head"]
    lstm, linear = benchmark.torch_model(torch, 12, 8)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(torch_gates(cell, "i", "kernel").T))
        lstm.weight_hh_l0.copy_(torch.tensor(torch_gates(cell, "h", "kernel").T))
        lstm.bias_ih_l0.copy_(torch.tensor(torch_gates(cell, "h", "bias")))
        lstm.bias_hh_l0.zero_()
        linear.weight.copy_(torch.tensor(np.array(head["kernel"]).T))
        linear.bias.copy_(torch.tensor(np.array(head["bias"])))
    x = benchmark.torch_one_hot(torch, np.array(ids), 12).transpose(0, 1)  # (T, B, V)
    y = torch.as_tensor(np.array(targets).T, dtype=torch.long)
    theirs = benchmark.torch_loss(torch, lstm, linear, x, y)
    theirs.backward()

    np.testing.assert_allclose(theirs.item(), loss, rtol=1e-5)
    cell, head = grads["cells_0"], grads["head"]
    for got, expected in [
        (lstm.weight_ih_l0.grad.T, torch_gates(cell, "i", "kernel")),
        (lstm.weight_hh_l0.grad.T, torch_gates(cell, "h", "kernel")),
        (lstm.bias_ih_l0.grad, torch_gates(cell, "h", "bias")),
        (linear.weight.grad.T, head["kernel"]),
        (linear.bias.grad, head["bias"]),
    ]:
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-6)


@pytest.fixture
def tiny_corpus_bench(monkeypatch, tmp_path):
    """The corpus-scale row shrunk: 2×8 LSTM, embedding 4, Tx 5, batches of 4, 2 steps a call."""

    def config():
        config = wjazzd.get_config()
        config.update(n_a=8, batch_size=4)
        config.model.embed = 4
        config.data.update(path=str(tmp_path / "absent"), Tx=5, windows_per_epoch=8)
        return config

    monkeypatch.setattr(bench_corpus, "corpus_config", config)
    monkeypatch.setattr(bench_corpus, "VALUES", 12)
    return config()


def test_the_corpus_row_measures_each_cell_and_the_ceiling(tiny_corpus_bench, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    results = bench_corpus.measure(repeats=1)

    assert list(results["cells"]) == [  # the experiment's first
        "fused_lstm + fused_dense",
        "fused_lstm + dense",
        "lstm + dense",
    ]
    assert all(row["tokens_per_s"] > 0 for row in results["cells"].values())
    assert "12 values (the corpus is absent)" in results["shapes"]
    # 3 × (4·8·(4 + 8) + 4·8·(8 + 8) + 8·12): forward matmuls, three times over
    assert results["multiply_adds_per_token"] == 3 * (384 + 512 + 96)
    assert results["ceiling_tokens_per_s"] > 0
    assert bench_corpus.speedup(results) is None
    lines = "\n".join(bench_corpus.rows(results))
    assert "fused_lstm + fused_dense (the experiment)" in lines
    assert "PyTorch reference skipped" in lines


def test_the_corpus_rows_pytorch_model_is_the_experiments_model(tiny_corpus_bench):
    """With jazz_flax's weights copied in, the PyTorch model of the corpus row (nn.Embedding,
    2-layer nn.LSTM, nn.Linear) gives `DJModel`'s loss and gradients (dropout off)."""
    torch = pytest.importorskip("torch")
    config = tiny_corpus_bench
    model = models.make_model(config, 12)
    params = init_params(model, jax.random.key(0), config.init)
    ids, targets = (np.abs(random_ids(3, 7, 12, seed=s)) for s in (1, 2))

    def ours(params):
        logits = model.apply({"params": params}, ids.T, time_major=True)
        return train.sequence_loss(logits, targets.T, jnp.full(3, 1 / 3))

    loss, grads = jax.value_and_grad(ours)(params)
    theirs = bench_corpus.torch_model(torch, config, 12).eval()
    copy_weights(torch, params, theirs)
    x, y = (torch.as_tensor(np.array(a).T, dtype=torch.long) for a in (ids, targets))
    torch_loss = bench_corpus.torch_loss(torch, theirs, x, y)
    torch_loss.backward()

    np.testing.assert_allclose(torch_loss.item(), loss, rtol=1e-5)
    lstm = theirs["lstm"]
    for got, expected in [
        (theirs["embed"].weight.grad, grads["embedding"]["embedding"]),
        (lstm.weight_hh_l1.grad.T, torch_gates(grads["cells_1"], "h", "kernel")),
        (lstm.weight_ih_l0.grad.T, torch_gates(grads["cells_0"], "i", "kernel")),
        (theirs["head"].weight.grad.T, grads["head"]["kernel"]),
    ]:
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-6)


def torch_gates(cell, prefix: str, leaf: str) -> np.ndarray:
    """nn.LSTMCell's per-gate arrays side by side, in torch's gate order (i, f, g, o)."""
    return np.concatenate([cell[f"{prefix}{gate}"][leaf] for gate in GATES], axis=-1)


def copy_weights(torch, params, model) -> None:
    """jazz_flax's parameters into the corpus row's PyTorch model."""
    with torch.no_grad():
        model["embed"].weight.copy_(torch.tensor(np.array(params["embedding"]["embedding"])))
        for layer in range(2):
            cell = params[f"cells_{layer}"]
            for name, prefix in [("ih", "i"), ("hh", "h")]:
                kernel = torch_gates(cell, prefix, "kernel").T
                getattr(model["lstm"], f"weight_{name}_l{layer}").copy_(torch.tensor(kernel))
            getattr(model["lstm"], f"bias_ih_l{layer}").copy_(
                torch.tensor(torch_gates(cell, "h", "bias"))
            )
            getattr(model["lstm"], f"bias_hh_l{layer}").zero_()
        model["head"].weight.copy_(torch.tensor(np.array(params["head"]["kernel"]).T))
        model["head"].bias.copy_(torch.tensor(np.array(params["head"]["bias"])))


def test_the_headline_rounds_print_each_contender(monkeypatch, capsys):
    from experiments.bench import bench_headline

    monkeypatch.setitem(sys.modules, "torch", None)  # no peer: its column says so
    monkeypatch.setattr(benchmark, "TRAIN_EPOCHS", 2)
    bench_headline.main(["--rounds", "1", "--repeats", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:4]] == ["fused_lstm", "lstm", "pytorch"]
    assert lines[1].endswith("vs PyTorch —")

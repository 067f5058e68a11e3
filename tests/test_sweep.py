import csv
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from experiments import baseline
from experiments.wjazzd import split_by_piece
from jazz_flax import cells, checkpoints, data, evaluate, models, sweep, sweep_results, train
from jazz_flax.errors import JazzFlaxError
from tests.music import SOLO, write_solo

ROOT = Path(__file__).resolve().parents[1]


def definition(tiny, **changes):
    """2 settings × 2 seeds on the tiny solo, its last measure held out."""
    return dict(
        base=tiny,
        seeds=[0, 1],
        points=[{"n_a": 4}, {"n_a": 8, "data.Tx": 4}],
        overrides={"data.holdout_measures": 1, "epochs": 3},
        eval={"solos": 2},
        **changes,
    )


@pytest.fixture(scope="module")
def swept(tiny, tmp_path_factory):
    """A finished tiny sweep: (its definition, folder, results)."""
    out = tmp_path_factory.mktemp("sweeps") / "tiny"
    return definition(tiny), out, sweep.run_sweep(definition(tiny), out)


def test_every_point_and_seed_is_run_and_tabulated(swept):
    _, out, results = swept
    assert [(r.run.label, r.run.seed) for r in results] == [
        ("n_a=4", 0),
        ("n_a=4", 1),
        ("n_a=8,data.Tx=4", 0),
        ("n_a=8,data.Tx=4", 1),
    ]
    for result in results:
        files = {path.name for path in result.run.workdir.iterdir()}
        assert files == {"config.json", "metrics.jsonl", "checkpoint.msgpack", "summary.json"}
        assert result.run.workdir == out / result.run.label / f"seed{result.run.seed}"
        assert result.summary["heldout"]["tokens"] > 0 and len(result.losses) == 3
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [(row["point"], row["seed"]) for row in rows] == [
        (r.run.label, str(r.run.seed)) for r in results
    ]
    assert float(rows[0]["final_loss"]) == results[0].summary["final_loss"]
    assert {"heldout_nll", "chord_tone_ratio", "train_seconds"} <= set(rows[0])
    assert {"strong_beat_chord_tones", "motif_reuse", "harmony_onsets_differ"} <= set(rows[0])
    table = (out / "results.md").read_text().splitlines()
    assert table[0] == "# Sweep `tiny`"
    body = [line for line in table if line.startswith("| ")]
    assert len(body) == 1 + 2 + 1  # header, one row per point, the training solo
    mean = np.mean([r.summary["final_loss"] for r in results[:2]])
    params = results[0].summary["params"]
    assert body[1].startswith(f"| `n_a=4` | {params:,} | {mean:.2f} ± ")
    assert "| chord tones 1 & 3 |" in body[0] and "| onsets vs vamp |" in body[0]
    assert (out / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_a_sweep_run_is_the_run_train_makes(swept, tiny):
    """Sequential runs share a compiled program and still repeat `train.train` bit for bit."""
    _, _, results = swept
    result = results[3]
    _, history = train.train(result.run.config)
    assert [row["loss"] for row in history] == result.losses.tolist()
    saved = json.loads((result.run.workdir / "summary.json").read_text())
    assert saved["config"] == result.run.config.to_dict()


def test_restart_skips_finished_runs_and_trains_through_fit(swept, capsys, monkeypatch):
    spec, out, results = swept
    trained = []  # the run directories `train.fit` trained into
    original = train.fit
    monkeypatch.setattr(
        train,
        "fit",
        lambda *a, workdir, **k: trained.append(workdir) or original(*a, **k, workdir=workdir),
    )
    capsys.readouterr()
    again = sweep.run_sweep(spec, out)
    assert trained == [] and "0 runs trained, 4 skipped" in capsys.readouterr().out
    assert [r.summary for r in again] == [r.summary for r in results]
    (results[1].run.workdir / "summary.json").unlink()  # as if it was interrupted
    sweep.run_sweep(spec, out)
    assert trained == [results[1].run.workdir]  # ("n_a=4", seed 1), through train.fit
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines[1:-1]] == [["n_a=4", "seed", "1"]]


def fingerprint(run: sweep.Run) -> str:
    """The fingerprint of the run's data as it is now."""
    return sweep.data_fingerprint(data.load_corpus_from_config(run.config.data))


def test_changed_settings_are_not_taken_for_finished(swept, tiny):
    spec, out, _ = swept
    changed = dict(spec, overrides={**spec["overrides"], "epochs": 4})
    assert all(
        sweep.finished(run, sweep.eval_config(changed), fingerprint(run)) is None
        for run in sweep.runs(changed, out)
    )
    other_eval = dict(spec, eval={"solos": 3})
    assert all(
        sweep.finished(run, sweep.eval_config(other_eval), fingerprint(run)) is None
        for run in sweep.runs(other_eval, out)
    )


def test_a_run_on_data_changed_since_is_not_finished(swept, tmp_path):
    """Its config was the same, so a restarted sweep skipped it, trained on solos since removed."""
    spec, out, results = swept
    run = results[0].run
    assert sweep.finished(run, sweep.eval_config(spec), fingerprint(run)) is not None
    other = write_solo(tmp_path / "other.musicxml", solo=[*SOLO[1:], SOLO[0]])
    moved = sweep.override(run.config, {"data.path": str(other)})
    changed = fingerprint(run._replace(config=moved))
    assert changed != fingerprint(run)
    assert sweep.finished(run, sweep.eval_config(spec), changed) is None


def test_a_run_finished_before_a_setting_existed_is_still_finished(swept):
    """Its summary's config lacks the settings added since; they had their defaults then (the
    model's default cell, `lstm`, not the baseline's `fused_lstm`)."""
    spec, out, results = swept
    path = results[0].run.workdir / "summary.json"
    summary = json.loads(path.read_text())
    for key in ("model", "loss", "label_smoothing"):
        del summary["config"][key]
    path.write_text(json.dumps(summary))
    stock = sweep.override(results[0].run.config, {"model.cell": "lstm"})
    stocked = results[0].run._replace(config=stock)
    assert sweep.finished(stocked, sweep.eval_config(spec), fingerprint(stocked))
    gru = dict(spec, overrides={**spec["overrides"], "model.cell": "gru"})
    first = sweep.runs(gru, out)[0]
    assert sweep.finished(first, sweep.eval_config(gru), fingerprint(first)) is None


def test_cost_follows_the_cells_parameters(tiny):
    run = sweep.Run("base", 0, tiny, Path("unused"))
    costs = {}
    for cell in cells.CELLS:
        config = sweep.override(tiny, {"model.cell": cell})
        costs[cell] = sweep.cost([run._replace(config=config)], 10, 20)
    assert costs["lstm"] == costs["fused_lstm"] > costs["gru"] > 0
    assert costs["layernorm_lstm"] > costs["lstm"]


def test_seed_and_lr_share_a_compiled_program(tiny, tmp_path):
    spec = dict(base=tiny, seeds=[0, 1], points=[{"lr": 0.01}, {"lr": 0.001}, {"n_a": 4}])
    groups = sweep.groups(sweep.runs(spec, tmp_path))
    assert [[(run.label, run.seed) for run in group] for group in groups] == [
        [("lr=0.01", 0), ("lr=0.01", 1), ("lr=0.001", 0), ("lr=0.001", 1)],
        [("n_a=4", 0), ("n_a=4", 1)],
    ]
    corpus = data.load_corpus_from_config(tiny.data)
    fitted, _ = sweep.train_group(groups[0], corpus, vmap=False)
    for run, trained in list(zip(groups[0], fitted, strict=True))[1:3]:
        _, history = train.train(run.config)  # each run's own lr, from the shared program
        assert [row["loss"] for row in history] == [row["loss"] for row in trained.history]


def test_a_checkpoint_from_before_lr_lived_in_the_state_is_refused(run_dir, tiny, tmp_path):
    raw = checkpoints.read_checkpoint(run_dir[0] / checkpoints.CHECKPOINT)
    raw["state"]["opt_state"]["1"] = {"count": raw["state"]["opt_state"]["1"]["count"]}
    checkpoints.write_checkpoint(tmp_path / checkpoints.CHECKPOINT, raw)
    config = tiny.copy_and_resolve_references()
    config.update(resume=True, epochs=8)
    with pytest.raises(JazzFlaxError, match="another layout"):
        train.train(config, workdir=tmp_path)


def test_vmap_over_seeds_matches_one_run_after_another(tiny, tmp_path):
    spec = dict(base=tiny, seeds=[0, 1, 2], points=[{"lr": 0.01}, {"lr": 0.003}])
    (group,) = sweep.groups(sweep.runs(spec, tmp_path))
    corpus = data.load_corpus_from_config(tiny.data)
    one_by_one, _ = sweep.train_group(group, corpus, vmap=False)
    stacked, _ = sweep.train_group(group, corpus, vmap=True)
    for a, b in zip(one_by_one, stacked, strict=True):
        np.testing.assert_allclose(*([row["loss"] for row in x.history] for x in (a, b)), rtol=1e-4)
        assert b.state.params["head"]["kernel"].shape == (tiny.n_a, len(corpus.vocab))


def test_overrides_take_dotted_keys_and_refuse_unknown_ones(tiny):
    config = sweep.override(tiny, {"data.Tx": 7, "lr": 0.1, "init": "flax"})
    assert (config.data.Tx, config.lr, config.init) == (7, 0.1, "flax")
    assert tiny.data.Tx == 5  # a copy
    for bad, message in [({"data.nope": 1}, "unknown setting"), ({"nope.Tx": 1}, "unknown")]:
        with pytest.raises(JazzFlaxError, match=message):
            sweep.override(tiny, bad)
    with pytest.raises(JazzFlaxError, match="bad value"):
        sweep.override(tiny, {"n_a": "wide"})


def test_labels():
    assert sweep.label({"n_a": 16}) == "n_a=16"
    assert sweep.label({"data.Tx": 20, "lr": 0.003}) == "data.Tx=20,lr=0.003"
    assert sweep.label({}) == "base"


def test_a_definition_without_seeds_runs_three_a_point(tiny, tmp_path):
    runs = sweep.runs(dict(base=tiny, points=[{"lr": 0.01}, {"lr": 0.003}]), tmp_path)
    assert [run.seed for run in runs] == [0, 1, 2] * 2 and sweep.DEFAULT_SEEDS == (0, 1, 2)


def test_bad_definitions_are_refused(tiny, tmp_path):
    with pytest.raises(JazzFlaxError, match="needs a base, seeds and points"):
        sweep.runs(dict(base=tiny, seeds=[0], points=[]), tmp_path)
    with pytest.raises(JazzFlaxError, match="needs a base, seeds and points"):
        sweep.runs(dict(base=tiny, seeds=[], points=[{}]), tmp_path)
    with pytest.raises(JazzFlaxError, match="unknown keys in the sweep definition: extra"):
        sweep.runs(dict(base=tiny, seeds=[0], points=[{}], extra=1), tmp_path)
    with pytest.raises(JazzFlaxError, match="the same"):
        sweep.runs(dict(base=tiny, seeds=[0], points=[{"n_a": 4}, {"n_a": 4}]), tmp_path)
    with pytest.raises(JazzFlaxError, match="must be ≥ 1"):
        sweep.runs(dict(base=tiny, seeds=[0], points=[{"n_a": 0}]), tmp_path)
    with pytest.raises(JazzFlaxError, match="no sweep definition"):
        sweep.load(tmp_path / "nope.py")


SHIPPED = sorted((ROOT / "experiments" / "sweeps").glob("[!_]*.py"))
WJAZZD = [path for path in SHIPPED if path.stem.startswith("wjazzd_")]
METHENY = [path for path in SHIPPED if path not in WJAZZD]


@pytest.mark.parametrize("path", METHENY, ids=[path.stem for path in METHENY])
def test_shipped_sweeps_are_valid(path, tmp_path):
    spec = sweep.load(path)
    runs = sweep.runs(spec, tmp_path)
    seeds = sorted({run.seed for run in runs})  # the definition's, else sweep.DEFAULT_SEEDS
    assert spec["base_name"] in ("baseline", "leadsheets") and len(seeds) >= 3
    assert len(runs) == len(seeds) * len(spec["points"]) >= 6
    assert all(run.config.data.holdout_measures == 3 for run in runs)


def test_the_hidden_size_sweep():
    spec = sweep.load(ROOT / "experiments" / "sweeps" / "hidden_size.py")
    assert [point["n_a"] for point in spec["points"]] == [16, 32, 64, 128, 256]
    assert {path.stem for path in SHIPPED} >= {
        "hidden_size",
        "learning_rate",
        "seq_len",
        "windows",
        "layers",
        "dropout",
        "init",
        "batch_size",
    }


@pytest.mark.parametrize("path", WJAZZD, ids=[path.stem for path in WJAZZD])
def test_shipped_wjazzd_sweeps_are_valid(path, tmp_path):
    spec = sweep.load(path)
    runs = sweep.runs(spec, tmp_path)
    assert spec["base_name"].startswith("wjazzd") and len(runs) == len(spec["points"]) >= 2
    assert all(run.config.data.split_seed == 0 and run.config.epochs_per_call for run in runs)
    assert sweep.eval_config(spec).test_solos >= 1
    more = sweep.with_changes(spec, ["0", "1"], ["epochs=2", "data.solos=JohnColtrane_*"])
    runs = sweep.runs(more, tmp_path)
    assert [run.seed for run in runs[:2]] == [0, 1]
    assert {(run.config.epochs, run.config.data.solos) for run in runs} == {(2, "JohnColtrane_*")}


def test_the_wjazzd_sweeps_points():
    def points(name):
        return sweep.load(ROOT / "experiments" / "sweeps" / f"wjazzd_{name}.py")["points"]

    assert points("hidden_size") == [{"n_a": 128}, {"n_a": 256}, {"n_a": 512}]
    assert points("layers") == [{"layers": 1}, {"layers": 2}, {"layers": 3}]
    assert points("chords") == [{"condition_on_chords": False}, {"condition_on_chords": True}]
    contexts = [point["data.context"] for point in points("context")]
    assert contexts == ["", "chord,next_chord", "chord,next_chord,position,to_change"] + [
        "chord,next_chord,position,to_change,tempo"
    ]
    grammars = [point["data.grammar"] for point in points("representation")]
    assert grammars == ["v2", "pitch", "pitch_relative"]


def test_changes_from_the_command_line(tiny):
    spec = sweep.with_changes(definition(tiny), None, ["lr=0.003", "init=flax", "data.stride=2"])
    assert spec["overrides"] == {"data.holdout_measures": 1, "epochs": 3} | dict(
        lr=0.003, init="flax", **{"data.stride": 2}
    )
    assert definition(tiny)["overrides"] == {"data.holdout_measures": 1, "epochs": 3}
    assert sweep.with_changes(spec, None, []) == spec
    with pytest.raises(JazzFlaxError, match="not KEY=VALUE"):
        sweep.with_changes(spec, None, ["epochs"])
    with pytest.raises(JazzFlaxError, match="integers"):
        sweep.with_changes(spec, ["0", "one"])


# ---------------------------------------------------------------------------------------------
# A corpus split by piece: windows_per_epoch, validation between calls, the best state scored


def random_solo(seed: int, measures: int = 4) -> list:
    """Measures of random notes and rests, halves to eighths: a model can only memorise them."""
    rng = np.random.default_rng(seed)
    pitches = [None, "C4", "D4", "E4", "F4", "G4", "A4", "B-4", "C5"]
    solo = []
    for _ in range(measures):
        beats = rng.choice([0.5, 1.0, 2.0], size=8)
        beats = beats[: np.searchsorted(np.cumsum(beats), 4.0, side="right")]
        beats = [*beats, 4.0 - beats.sum()] if beats.sum() < 4.0 else list(beats)
        solo.append([(pitches[rng.integers(len(pitches))], float(b)) for b in beats])
    return solo


@pytest.fixture(scope="module")
def split_config(tmp_path_factory):
    """Eight solos of random notes, split by piece: 6 train, 1 valid, 1 test; 8 windows of 5
    tokens an epoch (2 batches of 4), validated after each epoch."""
    folder = tmp_path_factory.mktemp("pieces")
    for i in range(8):
        write_solo(folder / f"solo{i}.musicxml", solo=random_solo(i))
    config = split_by_piece(baseline.get_config())
    config.data.update(path=str(folder), Tx=5, stride=1, min_count=1, windows_per_epoch=8)
    config.data.update(valid_fraction=0.125, test_fraction=0.125)
    config.update(n_a=16, layers=1, dropout=0.0, batch_size=4, epochs=8, lr=0.03)
    config.model.embed = 8
    return config


def split_definition(config):
    return dict(base=config, seeds=[0], points=[{"n_a": 16}], eval={"solos": 1, "test_solos": 1})


@pytest.fixture(scope="module")
def split_swept(split_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps") / "split"
    return out, sweep.run_sweep(split_definition(split_config), out)


def test_a_split_corpus_sweep_trains_windows_per_epoch_and_validates_each_call(
    split_swept, split_config
):
    _, (result,) = split_swept
    corpus = data.load_corpus_from_config(split_config.data)
    assert len(train.training_windows(split_config, corpus).x) > 40  # an epoch trains 8 of them
    final = checkpoints.load_checkpoint(result.run.workdir)
    assert int(final.raw["state"]["step"]) == 8 * 2  # 8 epochs of 2 batches of 4 windows
    rows = [json.loads(line) for line in (result.run.workdir / "metrics.jsonl").open()]
    nlls = [row["valid_nll"] for row in rows]  # epochs_per_call=1: after each epoch
    assert len(nlls) == 8 and all(np.isfinite(nlls))
    _, history = train.train(result.run.config)  # the run `make train` makes, bit for bit
    assert [row["loss"] for row in history] == result.losses.tolist()
    assert [row["valid_nll"] for row in history] == nlls


def test_a_split_corpus_sweep_scores_the_best_validation_state(split_swept, split_config):
    _, (result,) = split_swept
    summary, workdir = result.summary, result.run.workdir
    nlls = [json.loads(line)["valid_nll"] for line in (workdir / "metrics.jsonl").open()]
    assert summary["best_epoch"] == 1 + int(np.argmin(nlls)) < len(nlls)  # it overfits after
    assert summary["best_valid_nll"] == min(nlls)
    best = checkpoints.load_checkpoint(workdir / checkpoints.BEST)
    assert best.epoch == summary["best_epoch"]
    corpus = data.load_corpus_from_config(split_config.data)
    model = models.make_model(result.run.config, len(corpus.vocab))
    scored = {
        name: evaluate.scores_on_test_split(model, checkpoint.params, corpus, 5)["nll"]
        for name, checkpoint in (("best", best), ("last", checkpoints.load_checkpoint(workdir)))
    }
    assert summary["test"]["nll"] == pytest.approx(scored["best"], rel=1e-6)
    valid = evaluate.heldout_scores(model, best.params, corpus.segments_of("valid"), 5)
    assert summary["best_valid_nll"] == pytest.approx(valid["nll"], rel=1e-6)  # the test way
    assert scored["best"] != pytest.approx(scored["last"], rel=1e-3)


def test_a_split_corpus_sweep_tabulates_test_scores(split_swept):
    out, (result,) = split_swept
    table = (out / "results.md").read_text()
    header = (
        "| setting | params | best epoch | valid NLL | test NLL | vs bigram | vs best n-gram | "
        "perplexity | top-1 |"
    )
    assert header in table and "Test split (by path): " in table
    summary, test = result.summary, result.summary["test"]
    gain = 100 * (test["nll"] / test["baselines"]["bigram"] - 1)
    best = 100 * (test["nll"] / min(test["baselines"].values()) - 1)
    assert (
        f"| `n_a=16` | {summary['params']:,} | {summary['best_epoch']} | "
        f"{summary['best_valid_nll']:.3f} | {test['nll']:.3f} | {gain:.1f} % | {best:.1f} % | "
        f"{test['perplexity']:.1f} | {test['accuracy']:.3f} | — | "  # no nats/note: notebook
        f"{sweep_results.number(summary['continuation']['accuracy'], 3)} |"
    ) in table
    assert "nats_per_note" not in test  # the notebook grammar's pitches have no distribution
    row = next(csv.DictReader((out / "results.csv").open()))
    assert float(row["test_nll"]) == test["nll"] and int(row["best_epoch"]) == summary["best_epoch"]
    assert float(row["bigram_nll"]) == test["baselines"]["bigram"]
    assert float(row["kneser_ney_5_nll"]) == test["baselines"]["kneser_ney_5"]


class StandIn(NamedTuple):
    params: np.ndarray


def test_the_best_state_is_the_lowest_scores(split_config, monkeypatch):
    """`train.fit` on a stand-in runner: the validation scores 3, 1, 2 keep epoch 4."""
    calls = []

    def runner(state, epochs, key):
        calls.append(epochs.tolist())
        return StandIn(state.params + len(epochs)), np.ones(len(epochs)), 0.5

    config = sweep.override(split_config, {"epochs": 5, "epochs_per_call": 2})
    scores = iter([3.0, 1.0, 2.0])
    monkeypatch.setattr(train, "validation_nll", lambda *scored: next(scores))
    windows = data.Windows(*(np.zeros((10, 5)),) * 3)
    vocab = data.Vocabulary.from_tokens(["R,0.250", "C,0.500"])
    start = train.Start(windows, vocab, StandIn(np.zeros(1)), [], valid=windows)
    fitted = train.fit(config, runner, start)
    assert calls == [[0, 1], [2, 3], [4]]
    nlls = {row["epoch"]: row["valid_nll"] for row in fitted.history if "valid_nll" in row}
    assert nlls == {2: 3.0, 4: 1.0, 5: 2.0} and sum(r["seconds"] for r in fitted.history) == 1.5
    assert fitted.best.epoch == 4 and fitted.best.nll == 1.0
    assert fitted.best.state.params.tolist() == [4.0] and len(fitted.history) == 5
    assert fitted.state.params.tolist() == [5.0]


def test_vmap_is_refused_for_a_split_corpus(split_config, tmp_path):
    spec = dict(split_definition(split_config), vmap=True)
    with pytest.raises(JazzFlaxError, match="vmap=True cannot validate"):
        sweep.runs(spec, tmp_path)


@pytest.mark.parametrize(
    "seeds, message",
    [([], "--seeds needs distinct seeds, got none"), (["0", "0"], "got 0,0"), (["x"], "integers")],
)
def test_bad_seeds_on_the_command_line_are_refused(seeds, message):
    with pytest.raises(JazzFlaxError, match=message):
        sweep.with_changes(dict(seeds=[0], points=[{"n_a": 4}]), seeds)


def test_a_set_of_a_key_the_points_vary_is_refused():
    definition = dict(seeds=[0], points=[{"n_a": 4}, {"n_a": 8}])
    with pytest.raises(JazzFlaxError, match="--set n_a: the sweep's points set it"):
        sweep.with_changes(definition, None, ["n_a=8"])
    changed = sweep.with_changes(definition, ["1", "2"], ["epochs=3"])
    assert changed["seeds"] == [1, 2] and changed["overrides"] == {"epochs": 3}

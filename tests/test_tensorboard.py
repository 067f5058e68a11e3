"""TensorBoard summaries, read back from the event files: the scalars are metrics.jsonl's, the
hparams the config, the image a piano roll; resumed runs add, fresh runs replace; a sweep writes
one run per point; without the setting nothing is written, nor tensorboardX imported."""

import json
import struct
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

pytest.importorskip("tensorboardX")

from tensorboardX.proto import event_pb2  # noqa: E402
from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData  # noqa: E402

from experiments import baseline  # noqa: E402
from experiments.wjazzd import split_by_piece  # noqa: E402
from jazz_flax import sweep, tensorboard, train  # noqa: E402
from jazz_flax.errors import JazzFlaxError  # noqa: E402
from tests.commands import ROOT  # noqa: E402
from tests.music import write_solo  # noqa: E402
from tests.test_sweep import random_solo  # noqa: E402


def events(path: Path) -> list[event_pb2.Event]:
    """The events of a file: TFRecords, each a length (8 bytes), its CRC, the event, its CRC."""
    raw, records, at = path.read_bytes(), [], 0
    while at < len(raw):
        (length,) = struct.unpack("<Q", raw[at : at + 8])
        records.append(event_pb2.Event.FromString(raw[at + 12 : at + 12 + length]))
        at += 12 + length + 4
    return records


def summaries(workdir: Path) -> dict[str, list]:
    """Each tag's (step, value) pairs in the run directory's event files, oldest file first: a
    scalar's number, an image's PNG bytes, an hparams plugin's data."""
    found = defaultdict(list)
    for path in sorted(workdir.glob(tensorboard.EVENTS)):
        for event in events(path):
            for value in event.summary.value:
                kind = value.WhichOneof("value")
                content = dict(
                    simple_value=value.simple_value,
                    image=value.image.encoded_image_string,
                ).get(kind, value.metadata.plugin_data.content)
                found[value.tag].append((event.step, content))
    return dict(found)


def logged(tiny, **changes):
    config = tiny.copy_and_resolve_references()
    config.log.tensorboard = True
    config.update(**changes)
    return config


@pytest.fixture(scope="module")
def board_run(tiny, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("board") / "run"
    _, history = train.train(logged(tiny), workdir=workdir)
    return workdir, history


def test_scalars_are_the_metrics_of_each_epoch(board_run):
    workdir, history = board_run
    found = summaries(workdir)
    for key in ("loss", "lr"):
        steps, values = zip(*found[key], strict=True)
        assert list(steps) == [row["epoch"] for row in history]
        assert values == pytest.approx([row[key] for row in history], rel=1e-6)
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert rows == history  # metrics.jsonl stays


def test_the_config_is_the_hparams(board_run, tiny):
    workdir, _ = board_run
    start = HParamsPluginData.FromString(summaries(workdir)["_hparams_/session_start_info"][0][1])
    hparams = start.session_start_info.hparams
    assert hparams["n_a"].number_value == tiny.n_a
    assert hparams["data.path"].string_value == tiny.data.path
    assert hparams["log.tensorboard"].bool_value is True
    assert hparams["data.split_seed"].string_value == "None"
    assert set(hparams) == set(tensorboard.hparam_values(tiny))


def test_a_solo_s_piano_roll_at_the_last_epoch(board_run):
    workdir, history = board_run
    [(step, png)] = summaries(workdir)["solo"]
    assert step == len(history) and png.startswith(b"\x89PNG")


def test_a_resumed_run_adds_its_epochs_and_a_fresh_run_replaces_them(board_run, tiny, tmp_path):
    workdir = tmp_path / "run"
    train.train(logged(tiny, epochs=4, epochs_per_call=2), workdir=workdir)
    train.train(logged(tiny, epochs=6, epochs_per_call=2, resume=True), workdir=workdir)
    assert len(list(workdir.glob(tensorboard.EVENTS))) == 2
    found = summaries(workdir)
    assert [step for step, _ in found["loss"]] == [1, 2, 3, 4, 5, 6]
    assert [step for step, _ in found["solo"]] == [4, 6]
    train.train(logged(tiny, epochs=2), workdir=workdir)
    assert [step for step, _ in summaries(workdir)["loss"]] == [1, 2]


def test_validation_nll_is_a_scalar(tiny, tmp_path):
    board = tensorboard.Board(tmp_path, tiny, fresh=True)
    board.scalars([dict(epoch=3, loss=2.5, lr=0.01, valid_nll=1.25), dict(epoch=4, loss=2.0)])
    board.close()
    found = summaries(tmp_path)
    assert found["valid_nll"] == [(3, 1.25)] and found["loss"] == [(3, 2.5), (4, 2.0)]


def test_without_tensorboardx_the_run_stops_before_writing(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if not installed
    with pytest.raises(JazzFlaxError, match="log.tensorboard needs tensorboardX"):
        train.train(logged(tiny), workdir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_sweep_writes_one_run_per_point_with_its_validation(tmp_path):
    """A corpus split by piece: valid_nll after each epoch, the solo of the best epoch's state."""
    (tmp_path / "solos").mkdir()
    for i in range(8):
        write_solo(tmp_path / "solos" / f"solo{i}.musicxml", solo=random_solo(i))
    config = split_by_piece(baseline.get_config())
    config.data.update(path=str(tmp_path / "solos"), Tx=5, windows_per_epoch=8)
    config.data.update(valid_fraction=0.125, test_fraction=0.125)
    config.update(batch_size=4, epochs=4, lr=0.03)
    definition = dict(
        base=config,
        seeds=[0],
        points=[{"n_a": 8}, {"n_a": 16}],
        overrides={"log.tensorboard": True},
        eval={"solos": 1, "test_solos": 1},
    )
    results = sweep.run_sweep(definition, tmp_path / "sweep")
    for result in results:
        found = summaries(result.run.workdir)
        rows = [json.loads(line) for line in (result.run.workdir / "metrics.jsonl").open()]
        for key in ("loss", "valid_nll"):
            values = [value for _, value in found[key]]
            assert values == pytest.approx([row[key] for row in rows], rel=1e-6)
        assert [step for step, _ in found["solo"]] == [result.summary["best_epoch"]]
    assert len(list((tmp_path / "sweep").rglob(tensorboard.EVENTS))) == 2


def test_off_by_default_and_never_imported_then(run_dir):
    workdir, _, _ = run_dir
    assert list(workdir.glob(tensorboard.EVENTS)) == []
    check = "import jazz_flax.train, jazz_flax.sweep, sys; assert 'tensorboardX' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

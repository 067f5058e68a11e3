"""Data-parallel training on 8 host CPU devices equals the single-device run; the CPU split."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from jazz_flax import parallel
from jazz_flax.errors import JazzFlaxError
from tests.commands import ROOT, environment

# Runs in a fresh interpreter: the device count is fixed when JAX starts.
TRAIN_ON_1_AND_8 = r"""
import json, re, sys
import jax, ml_collections, numpy as np
from jazz_flax import cells, data, parallel, train
from jazz_flax.errors import JazzFlaxError
from jazz_flax.model import count_params
config = ml_collections.ConfigDict(json.loads(sys.argv[1]))
results = {}
for devices in (1, 0):
    config.devices = devices
    state, history = train.train(config)
    leaf = jax.tree.leaves(state.params)[0]
    results[devices] = dict(
        losses=[row["loss"] for row in history],
        params=[x.tolist() for x in jax.tree.leaves(state.params)],
        shards=len(leaf.sharding.device_set),
    )
results["count"] = jax.device_count()
# the program each device runs: batches of 8 / 8 = 1 window, gradients summed over the devices
mesh = parallel.make_mesh(0, config.batch_size)
windows = train.training_windows(config, data.load_corpus_from_config(config.data))
runner = train.EpochRunner(windows, jax.random.key(0), config.batch_size, mesh=mesh)
runner(state, np.arange(1))
program = next(iter(runner.compiled.values())).as_text()
results["program"] = dict(
    all_reduced=[int(n) for n in re.findall(r"= f32\[(\d+)\]\S* all-reduce\(", program)],
    all_reduces=program.count(" all-reduce("),
    parameters=count_params(state.params),
    one_window=re.search(rf"s32\[{config.data.Tx},1\]|\[{config.data.Tx},1,", program) is not None,
)
# every other cell, chord-conditioned, on 1 device and on 8: its first epochs' losses
default, results["cells"] = config.model.cell, {}
config.update(epochs=3, condition_on_chords=True)
for cell in cells.CELLS:
    config.model.cell = cell
    results["cells"][cell] = []
    for devices in (1, 0) if cell != default else ():
        config.devices = devices
        results["cells"][cell].append([row["loss"] for row in train.train(config)[1]])
try:
    parallel.make_mesh(8, batch_size=12)
except JazzFlaxError as e:
    results["uneven"] = str(e)
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def runs(tiny):
    config = tiny.copy_and_resolve_references()
    config.update(batch_size=8, epochs=4)
    env = dict(environment(), XLA_FLAGS="--xla_force_host_platform_device_count=8")
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_ON_1_AND_8, config.to_json()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_eight_devices_train_as_one(runs):
    assert runs["count"] == 8
    one, eight = runs["1"], runs["0"]
    assert (one["shards"], eight["shards"]) == (1, 8)  # parameters: one copy per device
    # per step one all-reduce of one vector, the loss and the flattened gradient, over a window
    # per device (a tuple's all-reduce would be one per element)
    program = runs["program"]
    assert program["all_reduced"] == [program["parameters"] + 1] and program["all_reduces"] == 1
    assert program["one_window"]
    np.testing.assert_allclose(eight["losses"], one["losses"], rtol=1e-5)
    for a, b in zip(eight["params"], one["params"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_every_cell_trains_on_eight_devices_as_on_one(runs):
    """With chords (the baseline's cell: above, unconditioned): the loss falls, and 8 devices
    give 1's losses."""
    for cell, losses in runs["cells"].items():
        if losses:
            one, eight = losses
            assert one[-1] < one[0], cell
            np.testing.assert_allclose(eight, one, rtol=1e-5, err_msg=cell)
    assert len(runs["cells"]) > 1


def test_one_device_is_no_mesh():
    assert parallel.make_mesh(1, batch_size=32) is None


@pytest.mark.parametrize("devices", [2, -1])
def test_more_devices_than_there_are_is_a_clear_error(devices):
    with pytest.raises(JazzFlaxError, match="1 cpu device"):
        parallel.make_mesh(devices, batch_size=32)


def test_a_batch_that_does_not_split_evenly_is_a_clear_error(runs):
    assert "batch_size=12 does not split evenly over 8 devices" in runs["uneven"]


@pytest.mark.parametrize(
    "cores, devices, batch_size, expected",
    [
        (2, 0, 32, 2),  # the baseline on 2 cores: 16 windows each
        (8, 0, 32, 2),  # at least 16 windows per device
        (8, 0, 128, 8),
        (3, 0, 64, 2),  # 3 do not split 64
        (2, 0, 8, 1),
        (2, 3, 32, 3),  # asked for: as many as asked
    ],
)
def test_cpu_devices(monkeypatch, cores, devices, batch_size, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert parallel.cpu_devices(devices, batch_size) == expected


SPLIT_CPU = """
import json, jax
from jazz_flax import parallel
split = parallel.split_cpu(0, 32)
count = jax.device_count()
again = parallel.split_cpu(3, 32)  # JAX has started: no change
print(json.dumps(dict(split=split, count=count, again=again, still=jax.device_count())))
"""


def test_split_cpu_leaves_a_count_from_xla_flags(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
    assert parallel.split_cpu(0, 32) is False


def test_split_cpu_before_jax_starts_and_not_after():
    env = {k: v for k, v in environment().items() if k != "XLA_FLAGS"}
    done = subprocess.run(
        [sys.executable, "-c", SPLIT_CPU], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    count = parallel.cpu_devices(0, 32)
    assert result == dict(split=True, count=count, again=False, still=count)

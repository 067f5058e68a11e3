import os
import shutil
import tempfile

import jax
import pytest
from hypothesis import settings

from experiments import baseline
from jazz_flax import data, train
from tests.music import METHENY, write_solo

# Property tests: a short run in the suite, 10,000 examples each under `make fuzz`. No deadline:
# the first use of a chord asks music21 for its theory, which is slow.
settings.register_profile("default", deadline=None)
settings.register_profile("fuzz", max_examples=10_000, deadline=None)
settings.load_profile("default")

# The tests compare with float32 references; on a GPU, JAX's float32 matmul defaults to TF32.
jax.config.update("jax_default_matmul_precision", "highest")

# Tests never touch the user's cache; subprocesses inherit this too.
_CACHE = tempfile.mkdtemp(prefix="jazz_flax-test-cache-")
os.environ["JAZZ_FLAX_CACHE"] = _CACHE
os.environ.pop("JAZZ_FLAX_DATA", None)  # the repository's data/, whatever the user's data root


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE, ignore_errors=True)


# Variants of tests whose other variants run by default, and the slowest scale of a test checked
# at a smaller one too: marked `extended`, they run under `make test-all`, not `make test` (CI).
EXTENDED = (
    "test_transformer.py::test_the_cache_gives_the_logits_of_the_whole_prefix[unconditioned]",
    "test_transformer.py::test_cached_sampling_equals_uncached_sampling[chords-zero-start-greedy]",
    "test_transformer.py::test_cached_sampling_equals_uncached_sampling[chords-zero-start-top-k-",
    "test_transformer.py::test_cached_sampling_equals_uncached_sampling[chords-primer-greedy]",
    "test_transformer.py::test_cached_sampling_equals_uncached_sampling[unconditioned-zero-start-top",
    "test_transformer.py::test_cached_sampling_equals_uncached_sampling[unconditioned-primer-greedy]",
    "test_transformer.py::test_cached_sampling_equals_uncached_sampling[unconditioned-primer-top-k-",
    "test_transformer.py::test_one_beam_one_branch_is_plain_sampling[greedy]",
    "test_transformer.py::test_parameter_count[chords-head]",
    "test_transformer.py::test_parameter_count[unconditioned-tied]",
    "test_benchmark.py::test_the_benchmark_measures_every_figure_and_reports_them",
    "test_parallel.py::test_eight_devices_train_as_one",
    "test_tensorboard.py::test_a_sweep_writes_one_run_per_point_with_its_validation",
    "test_interrupt.py::test_stopped_run_resumes_to_the_uninterrupted_loss[2]",
    "test_interrupt.py::test_stopped_run_resumes_to_the_uninterrupted_loss[15]",
    "test_sample.py::test_every_cell_samples_as_a_python_loop_of_its_steps[gru]",
    "test_sample.py::test_every_cell_samples_as_a_python_loop_of_its_steps[layernorm_lstm]",
    "test_sample.py::test_every_cell_samples_as_a_python_loop_of_its_steps[optimized_lstm]",
    "test_transformer.py::test_gradients_are_finite_through_many_blocks_after_a_start_token",
    "test_train.py::test_a_gru_run_over_chords_generates_and_evaluates",
    "test_benchmark.py::test_the_headline_rounds_print_each_contender",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(f"tests/{name}" in item.nodeid for name in EXTENDED):
            item.add_marker(pytest.mark.extended)


@pytest.fixture(scope="session")
def metheny_path():
    if not METHENY.exists():
        pytest.skip(f"{METHENY} is absent: run `make data` (CI copies it from ../shared/data)")
    return METHENY


@pytest.fixture(scope="session")
def metheny(metheny_path):
    """The corpus of the real solo (parsed once per session, ≈ 8 s)."""
    return data.load_corpus(metheny_path)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """The baseline config on a four-measure solo: 10 windows of 5 tokens, batches of 4."""
    config = baseline.get_config()
    path = write_solo(tmp_path_factory.mktemp("solo") / "solo.musicxml")
    config.data.update(path=str(path), start=0.0, end=16.0, Tx=5, m=10)
    config.update(n_a=8, batch_size=4, epochs=6)
    return config


@pytest.fixture(scope="session")
def conditioned_run(tiny, tmp_path_factory):
    """The tiny config's chord-conditioned model, trained, one measure held out: (workdir, state,
    history)."""
    config = tiny.copy_and_resolve_references()
    config.update(condition_on_chords=True, epochs=20)
    config.data.holdout_measures = 1
    workdir = tmp_path_factory.mktemp("run") / "conditioned"
    state, history = train.train(config, workdir=workdir)
    return workdir, state, history


@pytest.fixture(scope="session")
def run_dir(tiny, tmp_path_factory):
    """A run directory trained on the tiny config: (workdir, state, history)."""
    workdir = tmp_path_factory.mktemp("run") / "tiny"
    state, history = train.train(tiny, workdir=workdir)
    return workdir, state, history

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

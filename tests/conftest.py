import os
import shutil
import tempfile

import pytest

from jazz_flax import data
from tests.music import METHENY

# Tests never touch the user's cache; subprocesses inherit this too.
_CACHE = tempfile.mkdtemp(prefix="jazz_flax-test-cache-")
os.environ["JAZZ_FLAX_CACHE"] = _CACHE


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

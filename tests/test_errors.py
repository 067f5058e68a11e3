"""The one-line wording of errors: ranges, running out of memory."""

import math

import jax.numpy as jnp
import pytest

from jazz_flax import config
from jazz_flax.errors import (
    DEBUG_HINT,
    MEMORY_HINT,
    POSITIVE,
    JazzFlaxError,
    Range,
    _worded,
    memory_asked_by,
)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_number_that_is_not_finite_is_called_so(value):
    with pytest.raises(JazzFlaxError, match=rf"must be a finite number ≥ 0.01, got {value}$"):
        Range(0.01).check("temperature", value)


def test_a_finite_number_out_of_range_says_only_the_range():
    with pytest.raises(JazzFlaxError, match=r"^epochs must be ≥ 1, got 0$"):
        POSITIVE.check("epochs", 0)


def test_running_out_of_memory_is_a_user_error_with_a_hint():
    with pytest.raises(Exception) as caught:  # XLA's RESOURCE_EXHAUSTED, a JaxRuntimeError
        jnp.zeros((10**12,)).block_until_ready()
    error, status = _worded(caught.value)
    assert status == 2 and str(error) == f"out of memory ({MEMORY_HINT})"
    assert _worded(MemoryError())[1] == 2


def test_out_of_memory_names_the_setting_raised_furthest_above_its_default():
    settings = config.defaults()
    settings.update(n_a=100_000, batch_size=64)  # 1562 and 2 times their defaults
    with pytest.raises(JazzFlaxError, match=r"\(--config.n_a=100000 asked for more memory .*"):
        with memory_asked_by(config.memory_settings(settings)):
            jnp.zeros((10**12,)).block_until_ready()
    settings.model.embed = 10**8  # 0 by default: counted from 1
    with pytest.raises(JazzFlaxError, match=r"\(--config.model.embed=100000000 asked"):
        with memory_asked_by(config.memory_settings(settings)):
            raise MemoryError()


def test_out_of_memory_with_no_setting_raised_or_another_error_passes_through():
    with pytest.raises(MemoryError), memory_asked_by(config.memory_settings(config.defaults())):
        raise MemoryError()
    with pytest.raises(RuntimeError), memory_asked_by({"--num_outputs": (10**6, 1)}):
        raise RuntimeError("boom")


def test_any_other_exception_is_a_bug():
    error, status = _worded(RuntimeError("boom"))
    assert status == 1 and DEBUG_HINT in str(error)

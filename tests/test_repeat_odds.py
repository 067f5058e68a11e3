"""experiments/tools/repeat_odds.py: the real repeats beside the model's odds of them, per model."""

import pytest

from experiments.tools import repeat_odds
from jazz_flax.errors import JazzFlaxError
from tests.test_tune_sampling import pitch_run  # noqa: F401 (a fixture)


def test_a_row_per_model_over_its_runs(pitch_run, capsys):  # noqa: F811
    repeat_odds.main([f"twice={pitch_run},{pitch_run}", "--split", "valid"])
    header, rule, line = capsys.readouterr().out.splitlines()
    assert header == repeat_odds.HEADER
    odds = repeat_odds.run_odds(pitch_run, "valid")
    share, model_odds = odds["repeat_share"], odds["repeat_odds"]
    assert line == f"| twice | {odds['notes']:,} | {share:.3f} ± 0.000 | {model_odds:.3f} ± 0.000 |"


def test_a_run_whose_tokens_name_no_pitch_is_a_clear_error(run_dir):
    with pytest.raises(JazzFlaxError, match="its tokens name no pitch"):
        repeat_odds.run_odds(str(run_dir[0]), "test")

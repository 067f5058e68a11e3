"""experiments/tools/targets.py: the table of issue 22's targets, from runs' figures."""

import math

from experiments.tools import targets

REAL = {key: 0.5 for _, _, key, *_ in targets.TARGETS + targets.SHOWN}


def a_run(shift: float, sensitivity: float = 0.4, nats: float = 4.0) -> dict:
    played = {key: value + shift for key, value in REAL.items()}
    return dict(sampled=played, beam=played, real=REAL, sensitivity=sensitivity, nats_per_note=nats)


def row(table: str, start: str) -> list[str]:
    (line,) = [line for line in table.splitlines() if line.startswith(f"| {start}")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_a_mean_within_the_distance_meets_its_target_and_one_beyond_does_not():
    near = targets.table([a_run(0.04), a_run(0.05)], baseline=[])
    far = targets.table([a_run(0.06), a_run(0.07)], baseline=[])
    assert row(near, "chord tones on beats 1 and 3")[-1] == "yes"
    assert row(far, "chord tones on beats 1 and 3")[-1] == "no"
    assert row(far, "chord tones after a change")[-1] == "yes"  # ± 0.07


def test_relative_targets_scale_with_the_real_figure():
    assert targets.within(0.64, 0.5, 0.30, relative=True)
    assert not targets.within(0.66, 0.5, 0.30, relative=True)
    assert row(targets.table([a_run(0.1)], []), "register span")[-1] == "yes"
    assert row(targets.table([a_run(0.2)], []), "register span")[-1] == "no"


def test_the_runs_spread_is_their_sample_sd():
    mean, sd = targets.mean_sd([1.0, 2.0, 3.0])
    assert (mean, sd) == (2.0, 1.0)
    assert math.isnan(targets.mean_sd([1.0])[1])


def test_nats_per_note_must_be_ten_percent_below_the_baseline():
    runs = [a_run(0.0, nats=4.5)]
    assert row(targets.table(runs, baseline=[5.0, 5.0]), "nats per note")[-1] == "yes"
    assert row(targets.table(runs, baseline=[4.9]), "nats per note")[-1] == "no"


def test_a_model_deaf_to_the_harmony_fails_the_sensitivity_target():
    assert row(targets.table([a_run(0.0, sensitivity=0.0)], []), "onsets differing")[-1] == "no"


def test_the_beam_setting_is_read_as_three_numbers_and_a_length_penalty():
    assert targets.parse_beam("8,4,1") == targets.Beam(8, 4, 1)
    for text in ("8,4,1", "8,4,4,0.5", "8,4,4,1"):
        assert targets.beam_label(targets.parse_beam(text)) == text
    assert targets.parse_beam("8,4,4,0.5") == targets.Beam(8, 4, 4, length_penalty=0.5)

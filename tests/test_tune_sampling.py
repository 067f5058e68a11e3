"""experiments/tools/tune_sampling.py: the strategy and beam chosen on the validation solos."""

import pytest

from experiments.tools import targets, tune_sampling
from jazz_flax import train
from jazz_flax.errors import JazzFlaxError
from tests.commands import ROOT

SAMPLED = [t for t in targets.TARGETS if t[1] == "sampled"]
REAL = {key: 0.5 for key in [t[2] for t in targets.TARGETS] + list(tune_sampling.WATCHED)}


def played(shift: float, **shifts: float) -> dict:
    return {key: 0.5 + shifts.get(key, shift) for key in REAL}


def test_a_setting_is_scored_by_the_targets_it_meets_and_its_distance_in_allowed_units():
    score = tune_sampling.scored([played(0.03), played(0.05)], REAL, SAMPLED)
    assert score["means"]["strong_beat_chord_tones"] == pytest.approx(0.54)
    # 0.04 off: 0.8 units of ± 0.05, 4/7 of ± 0.07, 0.04/0.15 of ± 30 % of 0.5 (twice),
    # 0.4 of ± 0.10
    assert score["distance"] == pytest.approx(0.8 + 4 / 7 + 2 * 0.04 / 0.15 + 0.4)
    assert score["met"] == 5
    assert tune_sampling.scored([played(0.06)], REAL, SAMPLED)["met"] == 4  # not ± 0.05


def test_the_setting_meeting_most_targets_wins_then_the_nearest():
    one_far = tune_sampling.scored([played(0.0, strong_beat_chord_tones=0.06)], REAL, SAMPLED)
    all_near = tune_sampling.scored([played(0.04)], REAL, SAMPLED)
    nearer = tune_sampling.scored([played(0.01)], REAL, SAMPLED)
    assert one_far["distance"] < all_near["distance"] and one_far["met"] == 4
    rows = [("far", one_far), ("near", all_near), ("nearer", nearer)]
    assert tune_sampling.best(rows)[0] == "nearer"
    assert tune_sampling.best(rows[:2])[0] == "near"


def test_a_strategy_outside_the_samplers_range_is_refused():
    with pytest.raises(JazzFlaxError, match="temperature"):
        targets.strategy_config(temperature=0.0, top_p=1.0)
    with pytest.raises(JazzFlaxError, match="top_p"):
        targets.strategy_config(temperature=1.0, top_p=1.5)


@pytest.fixture(scope="module")
def pitch_run(tmp_path_factory):
    """A 1×16 LSTM with the whole context, trained one short epoch on Art Pepper's solos (two in
    each split), in the pitch grammar."""
    from experiments import wjazzd_pitch

    if not (ROOT / "data" / "wjazzd" / "mcsv_melody").is_dir():
        pytest.skip("data/wjazzd is absent: run `make wjazzd` (CI copies it)")
    config = wjazzd_pitch.get_config()
    config.data.update(solos="ArtPepper_*", valid_fraction=0.25, test_fraction=0.25, Tx=16)
    config.data.windows_per_epoch = 32
    config.update(n_a=16, layers=1, dropout=0.0, epochs=1, batch_size=16)
    config.model.embed = 8
    workdir = tmp_path_factory.mktemp("run") / "pitch"
    train.train(config, workdir=workdir)
    return str(workdir)


def test_the_grid_and_the_beams_are_played_over_the_validation_changes(pitch_run, capsys):
    tune_sampling.main(
        [pitch_run, "--temperatures", "0.5,1", "--pitch_temperatures", "1,0.5", "--top_ps", "1"]
        + ["--beams", "2,2,1", "2,2,4,0.5"]
    )
    out = capsys.readouterr().out
    real = targets.real_metrics(targets.loaded(pitch_run)[1], "valid")
    strategies, beams = [line for line in out.splitlines() if line.startswith("| validation")]
    assert f"| {real['strong_beat_chord_tones']:.3f} |" in strategies
    watched = " | ".join(f"{real[key]:.3f}" for key in tune_sampling.WATCHED)  # shown, not counted
    assert beams == f"| validation solos | {real['rest_ratio']:.3f} | {watched} | | |"
    settings = [
        f"temperature {t}, pitch_temperature {p}, top_p 1.0" for t in (0.5, 1.0) for p in (1.0, 0.5)
    ]
    for setting in (*settings, "beam 2,2,4,0.5"):
        assert f"| {setting} |" in out
    chosen = [line for line in out.splitlines() if line.startswith("chosen: ")]
    assert len(chosen) == 2 and chosen[1] in ("chosen: beam 2,2,1", "chosen: beam 2,2,4,0.5")


def test_repeats_kept_or_not_are_rows_and_no_beams_plays_the_sampled_rows_alone(pitch_run, capsys):
    tune_sampling.main([pitch_run, "--temperatures", "1", "--pitch_temperatures", "0.5"]
                       + ["--top_ps", "1", "--keep_repeats", "0,1", "--beams"])  # fmt: skip
    out = capsys.readouterr().out
    setting = "temperature 1.0, pitch_temperature 0.5, top_p 1.0"
    assert f"| {setting} |" in out and f"| {setting}, keep_repeats |" in out
    assert (
        [line for line in out.splitlines() if line.startswith("chosen: ")]
        == [line for line in out.splitlines() if line.startswith("chosen: temperature")]
        != []
    )

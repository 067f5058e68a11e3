"""The round trip (what of a solo survives its grammar): its command on written pieces and on
WJazzD solos, and its figures on the Metheny solo."""

import json

import numpy as np
import pytest

from jazz_flax import data
from jazz_flax.music import roundtrip
from tests import test_wjazzd
from tests.commands import ROOT
from tests.music import write_solo

THIRD = 1 / 3


def experiment(folder, base: str, **data_settings) -> str:
    """An experiment file: the `base` experiment's config with these data settings."""
    path = folder / "experiment.py"
    path.write_text(
        f"from experiments import {base}\n\n"
        "def get_config():\n"
        f"    config = {base}.get_config()\n"
        f"    config.data.update(**{data_settings!r})\n"
        "    return config\n"
    )
    return str(path)


@pytest.fixture(scope="module")
def written_piece(tmp_path_factory):
    """An experiment whose corpus is a written piece: a measure to skip, an all-chord-tone line
    over C major, repeated triplets over Dm7, then a mixed measure."""
    folder = tmp_path_factory.mktemp("piece")
    solo = [
        [("C4", 4.0)],
        [("C4", 1.0), ("E4", 1.0), ("G4", 1.0), ("C5", 0.5), ("G4", 0.5)],
        [("D4", THIRD), ("F4", THIRD), ("A4", THIRD)] * 4,
        [("E4", 0.5), ("F#4", 0.5), ("G4", 1.0), (None, 1.0), ("B4", 1.0)],
    ]
    changes = [[(("C3", "E3", "G3"), 4.0)], [(("C3", "E3", "G3"), 4.0)]]
    changes += [[(("D3", "F3", "A3", "C4"), 4.0)], [(("C3", "E3", "G3"), 4.0)]]
    path = write_solo(folder / "piece.musicxml", solo, changes)
    return experiment(folder, "baseline", path=str(path), start=0.0, end=16.0, grammar="v2")


def test_roundtrip_of_a_written_piece(written_piece, capsys):
    roundtrip.main(["--config", written_piece, "--seeds", "3", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert (result["grammar"], result["measures"], result["notes"]) == ("v2", 4, 22)
    for figures in (result, result["free_running"]):
        assert figures["onsets_identical"] == 1.0  # the triplets too
        assert figures["durations_identical"] == figures["measures_exact_length"] == 1.0
        for key in (roundtrip.IDENTITY, "scale_tone_ratio", "mean_abs_interval"):
            assert set(figures[key]) == {"original", "decoded"}
    assert result["snapped_durations"] == 0
    assert result[roundtrip.IDENTITY]["original"] == pytest.approx(20 / 22)
    # Every note of the all-chord-tone measure is a chord tone: as a C token it decodes to one.
    corpus = roundtrip.corpus_of(None, written_piece, None)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        decoded = roundtrip.decode_corpus(
            corpus, roundtrip.original_lines(corpus), corpus.vocab.rules, rng, True
        )
        assert all(e.pitch % 12 in {0, 4, 7} for e in decoded[1] if e.pitch is not None)


def test_the_chord_tone_ratio_is_reported_as_what_it_is(written_piece, capsys):
    roundtrip.main(["--config", written_piece, "--seeds", "2", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert "chord_tone_ratio" not in result  # not beside the figures that can show fidelity
    for figures in (result, result["free_running"]):
        identity = figures[roundtrip.IDENTITY]
        assert identity["decoded"] == pytest.approx(identity["original"])  # C tokens: chord tones
    roundtrip.main(["--config", written_piece, "--seeds", "2"])
    assert "a C token always decodes to a chord tone; no evidence" in capsys.readouterr().out


def test_roundtrip_table_for_the_notebook_grammar(written_piece, capsys):
    roundtrip.main(["--config", written_piece, "--grammar", "notebook"])
    out = capsys.readouterr().out
    assert out.startswith("grammar notebook: 4 measures, 22 notes, 12 snapped durations")
    assert "onsets_identical" in out and "free-running" in out


def test_roundtrip_refuses_zero_seeds(written_piece, capsys):
    with pytest.raises(SystemExit) as info:
        roundtrip.main(["--config", written_piece, "--seeds", "0"])
    assert info.value.code == 2 and "--seeds" in capsys.readouterr().err


def test_roundtrip_of_wjazzd_solos_counts_what_the_reader_snapped(tmp_path, capsys):
    folder = tmp_path / "wjazzd"
    for name in ("Someone_Tune_FINAL", "Someone_Else_FINAL"):  # each with one note off the grid
        test_wjazzd.write_solo(folder, name)
    config = experiment(tmp_path, "wjazzd", path=str(folder), solos="Someone_*")
    roundtrip.main(["--config", config, "--seeds", "2", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert (result["grammar"], result["measures"], result["snapped_durations"]) == ("v2", 10, 2)
    assert result["onsets_identical"] == result["measures_exact_length"] == 1.0


def test_roundtrip_of_real_wjazzd_solos(tmp_path, capsys):
    folder = ROOT / "data" / "wjazzd"
    if not (folder / "mcsv_melody").is_dir():
        pytest.skip("data/wjazzd is absent: run `make wjazzd` (CI copies it)")
    config = experiment(tmp_path, "wjazzd", path=str(folder), solos="ArtPepper_*")
    roundtrip.main(["--config", config, "--seeds", "1", "--json"])  # once a KeyError
    result = json.loads(capsys.readouterr().out)
    assert result["grammar"] == "v2" and result["snapped_durations"] > 0
    identity = result[roundtrip.IDENTITY]
    assert identity["decoded"] == pytest.approx(identity["original"], abs=1e-3)


# ---------------------------------------------------------------------------------------------
# The Metheny solo


@pytest.fixture(scope="module")
def metheny_v2(metheny_path):
    return data.load_corpus(metheny_path, grammar="v2")


def test_metheny_v2_meets_the_round_trip_targets(metheny_v2):
    result = roundtrip.roundtrip(metheny_v2, seeds=10)
    assert result["onsets_identical"] >= 0.95 and result["measures_exact_length"] == 1.0
    assert result["pitch_class_match"] >= 0.34
    chord_tones, interval = result[roundtrip.IDENTITY], result["mean_abs_interval"]
    assert abs(chord_tones["decoded"] - chord_tones["original"]) <= 0.05  # by construction
    assert abs(interval["decoded"] / interval["original"] - 1) <= 0.25
    assert result["leaps_over_octave"]["decoded"] <= 0.02
    pitch_range = result["pitch_range"]
    assert np.abs(np.subtract(pitch_range["decoded"], pitch_range["original"])).max() <= 3

"""experiments/tools/split_baselines.py on WJazzD solos written here: each protocol's splits and
the baselines `evaluate` would report beside a model."""

import json

import numpy as np
import pytest

from experiments.tools import split_baselines
from jazz_flax import data, ngrams
from jazz_flax.errors import JazzFlaxError
from tests.test_wjazzd import NOTES, write_solo

SOLOS = ["A_Blues-1", "A_Blues-2", "B_Blues_AlternateTake", "C_Other", "D_Third", "E_Fourth"]
SOLOS += ["F_Fifth", "G_Sixth", "H_Seventh", "I_Eighth"]


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    """An experiment file of ten random solos (three takes of one tune), split 60/20/20."""
    monkeypatch.setenv("JAZZ_FLAX_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    for name in SOLOS:
        notes = [(*note[:5], int(rng.integers(55, 80))) for note in NOTES]
        write_solo(tmp_path / "solos", f"{name}_FINAL", notes=notes)
    path = tmp_path / "few.py"
    path.write_text(
        "from experiments import wjazzd\n\n\ndef get_config():\n"
        "    config = wjazzd.get_config()\n"
        f"    config.data.update(path={str(tmp_path / 'solos')!r}, min_count=1)\n"
        "    config.data.update(valid_fraction=0.2, test_fraction=0.2)\n"
        "    return config\n"
    )
    return path


def test_each_protocol_splits_the_corpus_and_scores_its_baselines(experiment, capsys):
    split_baselines.main(["--config", str(experiment), "--split-by", "path,tune", "--json"])
    rows = {row["split_by"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    by_tune = rows["tune"]["splits"]
    assert sum(by_tune[s]["tunes"] for s in data.SPLITS) == len(SOLOS) - 2  # 3 takes, one tune
    assert sum(by_tune[s]["solos"] for s in data.SPLITS) == len(SOLOS)
    config = split_baselines.experiment_config(experiment).data
    config.split_by = "tune"
    corpus = data.get_corpus(config)
    ids = [[s.ids for s in corpus.segments_of(split)] for split in ("train", "valid", "test")]
    tuned_on_valid = ngrams.kneser_ney_nll(*ids, 3, len(corpus.vocab))
    assert rows["tune"]["baselines"]["kneser_ney_3"] == tuned_on_valid
    assert set(rows["path"]["baselines"]) == set(rows["tune"]["baselines"])


def test_the_table_names_each_protocol_and_its_best_n_gram(experiment, capsys):
    split_baselines.main(["--config", str(experiment), "--split-by", "tune"])
    table = capsys.readouterr().out
    assert table.startswith("| split_by | solos (train/valid/test) | tunes |")
    name, nll = ngrams.best(
        split_baselines.protocol(split_baselines.experiment_config(experiment).data, "tune")[
            "baselines"
        ]
    )
    assert "| `tune` |" in table and f"{nll:.3f} ({name}) |" in table


def test_a_corpus_not_split_is_refused(experiment):
    config = split_baselines.experiment_config(experiment).data
    config.split_seed = None
    with pytest.raises(JazzFlaxError, match="does not split its corpus"):
        split_baselines.protocol(config, "tune")

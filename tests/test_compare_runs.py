"""experiments/tools/compare_runs.py: models compared over seeds, from their runs' files."""

import json

import pytest

from experiments.tools import compare_runs
from jazz_flax.errors import JazzFlaxError

BASELINES = {"bigram": 4.5, "kneser_ney_2": 4.4, "kneser_ney_3": 4.0}


def a_run(tmp_path, name: str, nll: float, params: int = 1_500_000) -> str:
    folder = tmp_path / name
    folder.mkdir()
    summary = dict(params=params, epochs=25, train_seconds=600.0)
    test = dict(nll=nll, baselines=BASELINES, accuracy=0.2, nats_per_note=4.4)
    figures = dict(motif_reuse=nll / 10, phrase_notes=6.0)
    changes = dict(generated=figures, test_solos=dict(motif_reuse=0.08, phrase_notes=7.5))
    result = dict(epoch=21, test=test, continuation=dict(accuracy=0.25, prompts=20))
    result["test_changes"] = changes
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "eval.json").write_text(json.dumps(result))
    return str(folder)


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_a_models_row_gives_its_seeds_mean_and_sd_against_the_best_ngram(tmp_path, capsys):
    runs = [a_run(tmp_path, f"s{i}", nll) for i, nll in enumerate((3.4, 3.6))]
    compare_runs.main([f"LSTM={','.join(runs)}", "--figures", "motif_reuse,phrase_notes"])
    head, _, row, _, figures, _, motifs, phrases = capsys.readouterr().out.splitlines()
    assert cells(figures)[1:] == ["test solos", "LSTM"]
    assert cells(motifs) == ["motif_reuse", "0.080", "0.350 ± 0.014"]
    assert cells(phrases) == ["phrase_notes", "7.500", "6.000 ± 0.000"]
    assert cells(head)[4] == "test NLL" and cells(row)[0] == "LSTM"
    assert cells(row)[1:5] == ["1.50 M", "25, 25 (21, 21)", "10.0 ± 0.0", "3.500 ± 0.141"]
    assert cells(row)[5] == "-12.5 ± 3.5 %"  # 3.4 and 3.6 against the trigram's 4.0


def test_a_run_not_evaluated_or_a_bad_argument_is_one_clear_error(tmp_path):
    run = a_run(tmp_path, "s0", 3.5)
    (tmp_path / "s0" / "eval.json").unlink()
    with pytest.raises(JazzFlaxError, match="eval.json not found"):
        compare_runs.main([f"LSTM={run}"])
    with pytest.raises(JazzFlaxError, match="not LABEL=RUN"):
        compare_runs.main([run])

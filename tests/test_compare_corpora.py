"""experiments/tools/compare_corpora.py on eval.json files written here and by a real evaluation,
and experiments/openewld.py on a few real lead sheets."""

import json
import math
import shutil
from pathlib import Path

import pytest

from experiments import openewld
from experiments.tools import compare_corpora
from jazz_flax import data, evaluate, grammar

ROOT = Path(__file__).resolve().parents[1]
OPENEWLD = ROOT / "data" / "openewld" / "dataset"
SHEETS = (  # two in 4/4, one in 3/4
    "Andy_Razaf-Fats_Waller-Harry_Brooks/Ain't_Misbehavin'/Ain't_Misbehavin'.mxl",
    "Andy_Razaf-Fats_Waller/Honeysuckle_Rose/Honeysuckle_Rose.mxl",
    "Al_Dubin-Dave_Franklin/Anniversary_Waltz/Anniversary_Waltz.mxl",
)


def metrics(value: float) -> dict:
    return {key: value for _, key, _ in compare_corpora.METRIC_COLUMNS}


def split_eval(nll: float) -> dict:
    """The parts of a split corpus' eval.json that the table reads."""
    return dict(
        corpus=dict(pieces=1234, training_tokens=52207, vocabulary=549),
        heldout=dict(measures=0, tokens=10, nll=nll),
        generated=metrics(9.0),
        training_solo=metrics(9.0),
        test=dict(tokens=10, nll=nll, baselines=dict(uniform=6.0, unigram=5.0, bigram=5.0)),  # old
        test_changes=dict(solos=3, generated=metrics(0.25), test_solos=metrics(0.5)),
    )


def heldout_eval() -> dict:
    """An eval.json of an older version (no corpus figures, no held-out baselines)."""
    return dict(
        heldout=dict(measures=3, tokens=40, nll=3.0),
        generated=metrics(0.125),
        training_solo=metrics(0.75),
    )


def write(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_table_of_two_runs_and_a_note_for_the_missing_one(tmp_path):
    write(tmp_path / "openewld" / "eval.json", split_eval(nll=4.0))
    write(tmp_path / "baseline_v2" / "eval.json", heldout_eval())
    lines = compare_corpora.table(tmp_path).splitlines()
    header = cells(lines[0])
    assert len(lines) == 2 + 2 + 2 + 1 and set(cells(lines[1])) == {"---"}
    metheny, metheny_solo = (dict(zip(header, cells(line), strict=True)) for line in lines[2:4])
    assert metheny["scored on"] == "last 3 measures" and metheny["NLL"] == "3.000"
    assert metheny["bigram NLL"] == metheny["pieces"] == metheny["below the bigram"] == "—"
    assert metheny["best n-gram NLL"] == metheny["below the best n-gram"] == "—"
    assert metheny["chord tones"] == "0.125" and metheny_solo["chord tones"] == "0.750"
    assert metheny_solo["solos"] == "its solo" and metheny_solo["NLL"] == ""
    ewld, ewld_solos = (dict(zip(header, cells(line), strict=True)) for line in lines[4:6])
    assert ewld["NLL"] == "4.000" and ewld["bigram NLL"] == "5.000"
    assert ewld["below the bigram"] == "20.0%" and ewld["pieces"] == "1,234"
    assert ewld["best n-gram NLL"] == ewld["below the best n-gram"] == "—"  # no Kneser–Ney
    assert ewld["training tokens"] == "52,207" and ewld["scored on"] == "test split"
    assert ewld["grooving"] == "0.250" and ewld_solos["grooving"] == "0.500"
    assert ewld_solos["solos"] == "test solos" and ewld_solos["verbatim run (median)"] == "0.5"
    assert cells(lines[6])[0] == "WJazzD" and "not evaluated" in lines[6]
    assert "make train EXP=wjazzd" in lines[6]


def test_the_best_ngram_beside_the_bigram(tmp_path):
    result = split_eval(nll=4.0)
    result["test"]["baselines"].update(kneser_ney_2=4.8, kneser_ney_3=4.5, kneser_ney_4=4.6)
    write(tmp_path / "wjazzd" / "eval.json", result)
    lines = compare_corpora.table(tmp_path).splitlines()
    row = dict(zip(cells(lines[0]), cells(lines[4]), strict=True))
    assert row["below the bigram"] == "20.0%" and row["best n-gram NLL"] == "4.500 (kneser_ney_3)"
    assert row["below the best n-gram"] == "11.1%"


def test_the_command_writes_the_table(tmp_path):
    out = tmp_path / "table.md"
    compare_corpora.main(["--runs", str(tmp_path / "no_runs"), "--out", str(out)])
    text = out.read_text()
    assert text == compare_corpora.table(tmp_path / "no_runs")
    assert text.count("not evaluated") == len(compare_corpora.CORPORA)
    assert 'ARGS="--config.data.holdout_measures=3"' in text  # Metheny needs held-out measures


def test_a_real_evaluation_gives_the_figures_and_the_heldout_baselines(conditioned_run, tmp_path):
    runs = tmp_path / "runs"
    workdir = Path(shutil.copytree(conditioned_run[0], runs / "baseline_v2"))
    settings = evaluate.default_config()
    settings.solos = 2
    result = evaluate.evaluate_run(workdir, settings)
    vocabulary = result["corpus"]["vocabulary"]
    assert result["corpus"]["pieces"] == 1 and result["corpus"]["training_tokens"] > 0
    baselines = result["heldout"]["baselines"]
    assert baselines["uniform"] == pytest.approx(math.log(vocabulary))
    assert "baselines (NLL): uniform" in evaluate.table(result)
    header, _, model_row, _ = compare_corpora.table(runs).splitlines()[:4]
    row = dict(zip(cells(header), cells(model_row), strict=True))
    assert row["scored on"] == "last 1 measures" and row["vocabulary"] == str(vocabulary)
    below = 1 - result["heldout"]["nll"] / baselines["bigram"]
    assert row["below the bigram"] == f"{below:.1%}"
    name, nll = min(baselines.items(), key=lambda item: item[1])
    assert row["best n-gram NLL"] == f"{nll:.3f} ({name})"
    assert row["below the best n-gram"] == f"{1 - result['heldout']['nll'] / nll:.1%}"


@pytest.fixture(scope="module")
def sheets(tmp_path_factory) -> Path:
    if not OPENEWLD.is_dir():
        pytest.skip(f"{OPENEWLD} is absent: run `make openewld` (CI copies it from ../shared/data)")
    folder = tmp_path_factory.mktemp("openewld")
    for sheet in SHEETS:
        shutil.copy(OPENEWLD / sheet, folder)
    return folder


def test_openewld_reads_real_lead_sheets_in_v2_measures_of_four_beats(sheets):
    config = openewld.get_config()
    config.data.path = str(sheets)
    corpus = data.load_corpus_from_config(config.data)
    assert isinstance(corpus, data.SplitCorpus) and len(corpus.pieces) == len(SHEETS)
    assert corpus.vocab.grammar == "v2" and len(corpus.vocab) > 10
    for piece in corpus.pieces:
        assert piece.source["chord_part"] == data.CHORD_SYMBOLS
        assert len(piece.measures) == len(piece.chords) > 20 and all(piece.chords)
        for measure in piece.measures:  # the waltz too: its bars are cut into groups of 4 beats
            beats = sum(grammar.Token.parse(token).duration for token in measure)
            assert math.isclose(beats, 4.0, abs_tol=0.02)

"""Improvising over the changes of a corpus' solo, on a tiny chord-conditioned WJazzD model."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from jazz_flax import checkpoints, data, evaluate, generate, models, train
from jazz_flax.errors import JazzFlaxError
from jazz_flax.music import line_metrics, metrics, solo
from jazz_flax.music.verbatim import VerbatimIndex
from tests.commands import ROOT, environment, main_command

SOLOS = "ArtPepper_*"  # six solos: two in each split


@pytest.fixture(scope="module")
def wjazzd_run(tmp_path_factory):
    """A chord-conditioned 1×16 LSTM trained one short epoch on Art Pepper's solos, in v2."""
    from experiments import wjazzd

    if not (ROOT / "data" / "wjazzd" / "mcsv_melody").is_dir():
        pytest.skip("data/wjazzd is absent: run `make wjazzd` (CI copies it)")
    config = wjazzd.get_config()
    config.data.update(solos=SOLOS, valid_fraction=0.25, test_fraction=0.25, Tx=16, stride=8)
    config.data.windows_per_epoch = 32
    config.update(n_a=16, layers=1, dropout=0.0, epochs=1, batch_size=16)
    config.condition_on_chords = True
    workdir = tmp_path_factory.mktemp("run") / "wjazzd"
    train.train(config, workdir=workdir)
    return workdir, data.load_corpus_from_config(config.data)


def test_a_solo_is_improvised_over_a_named_solos_changes_bar_by_bar(wjazzd_run, tmp_path):
    workdir, corpus = wjazzd_run
    piece = data.piece_named(corpus, "ArtPepper_Desafinado")  # `_FINAL` may be left off
    assert piece.source["solo"] == "ArtPepper_Desafinado_FINAL"
    generated = generate.generate(workdir, changes_of="ArtPepper_Desafinado", output=tmp_path)
    assert len(generated.tokens) == len(piece.measures)  # every chorus of the solo
    assert generated.solo.length == 4 * len(piece.measures)
    played = [(c.offset + 4 * i, c.pitches) for i, m in enumerate(piece.chords) for c in m]
    assert [(c.offset, c.pitches) for c in generated.solo.chords] == played


def test_solos_are_listed_with_their_split(wjazzd_run):
    workdir, corpus = wjazzd_run
    listed = generate.solos(workdir)
    assert [name for name, _ in listed] == sorted(data.piece_name(p) for p in corpus.pieces)
    assert sorted(split for _, split in listed) == sorted(["test", "train", "valid"] * 2)
    for name, split in listed:
        assert data.piece_named(corpus, name) in corpus.pieces_of(split)


def test_an_unknown_solo_suggests_close_names(wjazzd_run):
    _, corpus = wjazzd_run
    with pytest.raises(JazzFlaxError, match="'ArtPeper_Stardust-1'") as error:
        data.piece_named(corpus, "ArtPeper_Stardust-1")
    assert "did you mean ArtPepper_Stardust-1_FINAL" in error.value.hint
    with pytest.raises(JazzFlaxError, match="--chords or --changes_of, not both"):
        generate.generate(wjazzd_run[0], chords="C7", changes_of="ArtPepper_Desafinado")


def run_generate(workdir: Path, *flags) -> subprocess.CompletedProcess:
    config = ROOT / "experiments" / "wjazzd.py"
    command = main_command("generate", "--config", str(config), f"--workdir={workdir}", *flags)
    return subprocess.run(command, cwd=ROOT, env=environment(), capture_output=True, text=True)


def test_the_command_line_lists_solos_and_refuses_an_unknown_one(wjazzd_run, tmp_path):
    workdir = shutil.copytree(wjazzd_run[0], tmp_path / "run")
    listed = run_generate(workdir, f"--config.data.solos={SOLOS}", "--list_solos")
    assert listed.returncode == 0, listed.stderr
    assert "ArtPepper_Desafinado_FINAL\t" in listed.stdout and len(listed.stdout.splitlines()) == 6
    unknown = run_generate(workdir, f"--config.data.solos={SOLOS}", "--changes_of=Stardust")
    assert unknown.returncode == 2
    assert re.fullmatch(r"error: no solo named 'Stardust'.*\n", unknown.stderr), unknown.stderr


def test_evaluate_improvises_over_the_test_solos_changes_beside_them(wjazzd_run):
    workdir, corpus = wjazzd_run
    checkpoint = checkpoints.load_checkpoint(workdir)
    model = models.make_model(checkpoint.config, len(corpus.vocab))
    pieces = corpus.pieces_of("test")
    eval_config = evaluate.default_config()
    solos = evaluate.solos_over_pieces(model, checkpoint.params, corpus.vocab, pieces, eval_config)
    for (tokens, played), piece in zip(solos, pieces, strict=True):
        assert len(tokens) == len(piece.measures) and played.length == 4 * len(piece.measures)
        assert played.bpm == data.piece_bpm(piece) != data.features.DEFAULT_BPM
    eval_config.test_solos = 1
    scores = evaluate.over_test_changes(model, checkpoint.params, corpus, eval_config)
    names = set(line_metrics.all_metrics(solos[0][1], solos[0][1]))
    verbatim = {"verbatim_run_median", "verbatim_run_max"}
    assert scores["solos"] == 1 and set(scores["generated"]) == names | verbatim
    index = VerbatimIndex([segment.ids for segment in corpus.segments_of("train")])
    own = index.longest_run(corpus.vocab.encode(t for m in pieces[0].measures for t in m))
    assert scores["test_solos"]["verbatim_run_max"] == own > 0
    real = solo.of_corpus(data.Corpus(tuple(pieces[:1])))
    assert scores["test_solos"]["grooving_similarity"] == metrics.grooving_similarity(real)
    bucket = f"sixteenths_{line_metrics.tempo_bucket(solos[0][1].bpm)}_bpm"  # the solo's tempo
    assert [key for key, v in scores["test_solos"].items() if "_bpm" in key and v == v] == [bucket]
    eval_config.test_solos = 0
    with pytest.raises(JazzFlaxError, match="test_solos must be ≥ 1, got 0"):
        evaluate.over_test_changes(model, checkpoint.params, corpus, eval_config)

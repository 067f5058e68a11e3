import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from music21 import converter

from jazz_flax import data, generate, grammar, render, sample, train
from jazz_flax.errors import JazzFlaxError
from tests.music import write_solo

ROOT = Path(__file__).resolve().parents[1]
STREAM = ["C,0.500", "S,1.333,<m2,P-4>", "R,0.250", "A,0.750,<M3,m-3>", "C,2.000,<P4,m-2>"] * 6


def beats(measure):
    return sum(grammar.Token.parse(t).duration for t in measure)


def test_parse_chords():
    measures = generate.parse_chords("Dm7 G7 Bbmaj7  F#m7b5")
    assert [m[0].pitches for m in measures] == [
        ("D3", "F3", "A3", "C4"),
        ("G2", "B2", "D3", "F3"),
        ("B-2", "D3", "F3", "A3"),
        ("F#2", "A2", "C3", "E3"),
    ]


@pytest.mark.parametrize("text", ["H7", "Dm7 xyz", "N.C.", "   "])
def test_bad_chord_text_is_a_clear_error(text):
    with pytest.raises(JazzFlaxError, match="chord"):
        generate.parse_chords(text)


def test_cut_into_measures_gives_four_beats_each():
    measures = generate.cut_into_measures(STREAM, 5, np.random.default_rng(0))
    assert len(measures) == 5
    assert all(beats(m) == 4.0 for m in measures)
    assert measures[0][0] == "C,0.500"


def test_short_stream_is_padded_with_rests():
    measures = generate.cut_into_measures(
        ["C,1.000", "S,1.000,<m3,m-3>"], 3, np.random.default_rng(0)
    )
    assert measures == [["C,1.000", "S,1.000,<m3,m-3>", "R,2.000"], ["R,4.000"], ["R,4.000"]]


def test_token_crossing_the_bar_line_is_truncated():
    measures = generate.cut_into_measures(
        ["C,3.000", "S,2.000,<m3,m-3>", "R,4.000"], 2, np.random.default_rng(0)
    )
    assert measures == [["C,3.000", "S,1.000,<m3,m-3>"], ["R,4.000"]]


def test_tokens_needed_fill_the_measures_even_at_the_shortest_duration():
    stream = ["C,0.083"] * generate.tokens_needed(3)
    measures = generate.cut_into_measures(stream, 3, np.random.default_rng(0))
    assert all(not t.startswith("R") for m in measures for t in m)


def test_measures_mode_midi_has_whole_measures_and_no_overlaps(tmp_path):
    chords = generate.parse_chords("Dm7 G7 Cmaj7 Cmaj7 A7")
    rng = np.random.default_rng(3)
    measures = generate.cut_into_measures(STREAM, len(chords), rng)
    solo = generate.solo_from_measures(measures, chords, rng)
    assert solo.length == 20.0
    path = render.write_midi(solo, tmp_path / "solo.mid")
    melody = converter.parse(str(path)).parts[0]
    melody_measures = list(melody.getElementsByClass("Measure"))
    assert len(melody_measures) == 5
    assert all(m.duration.quarterLength == 4.0 for m in melody_measures)
    notes = list(melody.flatten().notes)
    ends = [float(n.offset + n.quarterLength) for n in notes]
    assert all(end <= float(nxt.offset) for end, nxt in zip(ends, notes[1:], strict=False))
    assert notes and max(ends) <= 20.0


def test_same_seed_same_solo():
    chords = generate.parse_chords("Dm7 G7 Cmaj7")

    def make(seed):
        rng = np.random.default_rng(seed)
        return generate.solo_from_measures(generate.cut_into_measures(STREAM, 3, rng), chords, rng)

    assert make(5) == make(5)


def test_notebook_solo_lays_segments_four_beats_apart():
    chords = generate.parse_chords("C Dm7 G7 Cmaj7 A7 Dm7 G7")
    segments = [STREAM[:10]] * 3
    solo = generate.notebook_solo(segments, chords, np.random.default_rng(0))
    assert [c.offset for c in solo.chords] == [0.0, 4.0, 8.0]
    assert solo.chords[1].pitches == chords[2][0].pitches
    assert {0.0, 4.0, 8.0} <= {n.offset for n in solo.notes}
    # 11 tokens do not fit 4 beats: segments overlap, as in the seed
    assert solo.length > 12.0


def test_notebook_segment_count_is_the_seeds():
    assert generate.notebook_segments(19) == 5


def test_corpus_solo_lays_the_measures_end_to_end(tmp_path):
    path = write_solo(tmp_path / "solo.musicxml")
    corpus = data.load_corpus(path, start=0.0, end=16.0, cache_dir=tmp_path)
    solo = generate.corpus_solo(corpus)
    assert solo.length == 16.0
    assert [c.offset for c in solo.chords] == [0.0, 4.0, 8.0, 10.0, 12.0]
    assert [n.offset for n in solo.notes if 4.0 <= n.offset < 8.0] == [4.0, 5.0, 6.0, 7.0]


# ---------------------------------------------------------------------------------------------
# From a trained run


def midi_melody_measures(path):
    melody = converter.parse(str(path)).parts[0]
    return list(melody.getElementsByClass("Measure")), list(melody.flatten().notes)


def test_generate_writes_whole_measures_over_the_training_chords(run_dir, tmp_path):
    workdir, _, _ = run_dir
    result = generate.generate(workdir, seed=1, output=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "my_music.mid",
        "my_music.png",
        "my_music.wav",
    ]
    assert len(result.tokens) == 4 and all(beats(m) == 4.0 for m in result.tokens)
    measures, notes = midi_melody_measures(result.paths["midi"])
    assert len(measures) == 4 and all(m.duration.quarterLength == 4.0 for m in measures)
    ends = [n.offset + n.quarterLength for n in notes]
    assert all(end <= nxt.offset for end, nxt in zip(ends, notes[1:], strict=False))
    tail = render.TAIL if result.renderer.startswith("FluidSynth") else 0.0
    with wave.open(str(result.paths["wav"])) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(16 * 60 / 130 + tail, abs=1e-3)
    assert result.describe().startswith("4 measures, ")
    assert result.describe().endswith(f"; audio: {render.find_renderer()}")


def test_same_seed_same_files_whatever_the_hash_seed(run_dir, tmp_path):
    workdir, _, _ = run_dir
    script = (
        "import sys; from jazz_flax import generate; from jazz_flax.sample import Strategy; "
        "generate.generate(sys.argv[1], seed=7, strategy=Strategy(temperature=1.5), "
        "output=sys.argv[2])"
    )
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        subprocess.run(
            [sys.executable, "-c", script, str(workdir), str(out)], env=env, check=True, cwd=ROOT
        )
        outputs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outputs[0] == outputs[1]
    other = generate.generate(
        workdir, seed=8, strategy=sample.Strategy(temperature=1.5), output=tmp_path / "other"
    )
    assert other.paths["midi"].read_bytes() != outputs[0]["my_music.mid"]


def test_chords_given_as_text_set_the_measures(run_dir, tmp_path):
    workdir, _, _ = run_dir
    result = generate.generate(workdir, chords="Dm7 G7 Cmaj7", output=tmp_path)
    assert result.solo.length == 12.0
    assert [c.pitches for c in result.solo.chords] == [
        ("D3", "F3", "A3", "C4"),
        ("G2", "B2", "D3", "F3"),
        ("C3", "E3", "G3", "B3"),
    ]


def test_primer_starts_the_solo(run_dir, tmp_path):
    workdir, _, _ = run_dir
    primer = train.load_checkpoint(workdir).vocab.values[:2]  # on-grid durations: kept as they are
    result = generate.generate(workdir, primer=" ".join(primer), output=tmp_path)
    assert tuple(result.tokens[0][:2]) == primer  # a token outside the vocabulary: test_failures


def test_notebook_mode_lays_the_seeds_segments(run_dir, tmp_path):
    workdir, _, _ = run_dir
    result = generate.generate(
        workdir,
        mode="notebook",
        strategy=sample.Strategy(greedy=True),
        chords="C Dm7 G7 Cmaj7 A7 Dm7 G7 C F",
        output=tmp_path,
    )
    assert len(result.tokens) == generate.notebook_segments(9) == 2
    assert all(len(t) == generate.NOTEBOOK_SEGMENT for t in result.tokens)
    assert result.tokens[0] == result.tokens[1]  # greedy from the zero state: the seed's defect


def test_a_chord_conditioned_model_improvises_over_the_given_chords(conditioned_run, tmp_path):
    workdir, _, _ = conditioned_run
    solos = [
        generate.generate(workdir, chords=chords, output=tmp_path / chords.split()[0])
        for chords in ("C Dm7 G7 C", "F#m7b5 B7 Em Em")
    ]
    for result in solos:
        assert len(result.tokens) == 4 and all(beats(m) == 4.0 for m in result.tokens)
    assert solos[0].tokens != solos[1].tokens  # the same seed: only the chords differ


def test_notebook_mode_refuses_a_chord_conditioned_model(conditioned_run, tmp_path):
    with pytest.raises(JazzFlaxError, match="chord-conditioned"):
        generate.generate(conditioned_run[0], mode="notebook", output=tmp_path)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())

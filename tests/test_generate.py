import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from music21 import converter

from jazz_flax import beam, checkpoints, data, generate, grammar, primer, sample
from jazz_flax.errors import JazzFlaxError
from jazz_flax.music import render, solo
from jazz_flax.music.chords import parse_chords
from tests.commands import environment, main_command
from tests.music import CHANGES, SOLO, write_lead_sheet, write_solo

ROOT = Path(__file__).resolve().parents[1]


def beats(measure):
    return sum(grammar.Token.parse(t).duration for t in measure)


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
    primer = checkpoints.load_checkpoint(workdir).vocab.values[
        :2
    ]  # on-grid durations: kept as they are
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
    assert len(result.tokens) == solo.notebook_segments(9) == 2
    assert all(len(t) == solo.NOTEBOOK_SEGMENT for t in result.tokens)
    assert result.tokens[0] == result.tokens[1]  # greedy from the zero state: the seed's defect
    measures = -(-result.solo.length // 4)  # its overlapping segments end within a measure
    assert result.describe().startswith(f"{measures:.0f} measures, ")  # not "18.3125 measures"


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


def test_several_solos_from_one_call_same_seed_same_files(run_dir, tmp_path):
    workdir, _, _ = run_dir
    options = dict(seed=4, chords="Dm7 G7 | Cmaj7", strategy=sample.Strategy(temperature=1.5))
    before = sample._sample._cache_size()
    results = generate.improvise(workdir, generate.Settings(3, output=tmp_path / "a", **options))
    assert sample._sample._cache_size() <= before + 1  # one sampler call (compiled at most once)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        f"my_music_{i}.{suffix}" for i in (1, 2, 3) for suffix in ("mid", "png", "wav")
    ]
    assert len({tuple(map(tuple, r.tokens)) for r in results}) == 3
    assert all(r.log_prob < 0 for r in results)
    again = generate.improvise(workdir, generate.Settings(3, output=tmp_path / "b", **options))
    for first, second in zip(results, again, strict=True):
        assert first.paths["midi"].read_bytes() == second.paths["midi"].read_bytes()
        assert first.paths["wav"].read_bytes() == second.paths["wav"].read_bytes()


def test_choruses_repeat_the_changes_at_the_tempo(run_dir, tmp_path):
    result = generate.generate(
        run_dir[0], chords="Dm7 G7 | Cmaj7", choruses=3, bpm=90, output=tmp_path
    )
    assert result.solo.length == 24.0 and result.solo.bpm == 90
    assert [c.offset for c in result.solo.chords] == [
        0.0,
        2.0,
        4.0,
        8.0,
        10.0,
        12.0,
        16.0,
        18.0,
        20.0,
    ]
    score = converter.parse(str(result.paths["midi"]))
    assert score.metronomeMarkBoundaries()[0][2].number == 90


def test_rendering_options_shape_the_midi(run_dir, tmp_path):
    plain = generate.generate(run_dir[0], output=tmp_path / "plain")
    rendering = render.Rendering(swing=2.0, chords=False, bass=True, instrument="trumpet")
    swung = generate.generate(run_dir[0], rendering=rendering, output=tmp_path / "swung")
    assert swung.tokens == plain.tokens  # the same solo, played otherwise
    parts = converter.parse(str(swung.paths["midi"])).parts
    assert [p.getInstruments()[0].midiProgram for p in parts] == [56, render.ACOUSTIC_BASS]
    offsets = [float(n.offset) % 1 for n in parts[0].flatten().notes]
    written = [n.offset % 1 for n in plain.solo.notes if n.pitch is not None]
    assert (0.5 in written) == any(abs(o - 2 / 3) < 0.01 for o in offsets)
    assert 0.5 not in offsets


@pytest.mark.parametrize("fixture", ["run_dir", "conditioned_run"])
def test_beam_search_improvises_whole_measures(fixture, request, tmp_path):
    workdir = request.getfixturevalue(fixture)[0]
    options = dict(chords="C Dm7 G7 C", strategy=sample.Strategy(greedy=True), output=tmp_path)
    greedy = generate.generate(workdir, **options)
    one_iteration = beam.Beam(4, 3, solo.tokens_needed(4))  # its branch 0 is greedy decoding
    found = generate.improvise(workdir, generate.Settings(2, beam=one_iteration, **options))
    for result in found:
        assert len(result.tokens) == 4 and all(beats(m) == 4.0 for m in result.tokens)
        assert result.log_prob >= greedy.log_prob - 1e-4
    assert found[0].tokens == found[1].tokens  # greedy extensions: no randomness


# ---------------------------------------------------------------------------------------------
# A primer from a file


def test_a_primer_file_opens_the_solo_with_its_own_notes(run_dir, tmp_path):
    workdir, _, _ = run_dir
    path = write_solo(tmp_path / "primer.musicxml", solo=SOLO[:2], changes=CHANGES[:2])
    result = generate.generate(workdir, primer_midi=path, chords="G7 | C", output=tmp_path)
    assert result.solo.length == 4 * (2 + 2)  # the primer's two measures, then the changes
    opening = [(n.offset, n.pitch) for n in result.solo.notes if n.offset < 8]
    assert opening == [(0.0, 64), (1.0, 62), (2.0, None), (2.5, 61), (3.0, 70), (3.5, None),
                       (4.0, 65), (5.0, 64), (6.0, 65), (7.0, 69)]  # fmt: skip
    assert [render.chord_name(c) for c in result.solo.chords] == ["G7", "C", "G7", "C"]


@pytest.mark.parametrize("grammar_name", grammar.GRAMMARS)
@pytest.mark.parametrize("over_changes", [False, True])
def test_a_primer_file_in_the_models_grammar(tiny, tmp_path, grammar_name, over_changes):
    path = write_solo(tmp_path / "primer.musicxml", solo=SOLO[:3], changes=CHANGES[:3])
    piece = data.parse_file(path, tiny.data.melody_part, tiny.data.chord_part, None, None,
                            grammar_name)  # fmt: skip
    tokens = [t for measure in piece.measures for t in measure]
    vocab = data.Vocabulary.from_tokens(tokens, grammar_name)
    changes = piece.chords if over_changes else ()
    opening = primer.from_file(path, tiny.data, vocab, changes, own_chords=not over_changes)
    assert opening.tokens == tuple(tokens) and opening.replaced == 0


def test_a_primer_file_takes_the_changes_where_it_has_no_chords(tiny, tmp_path):
    """The training file itself was refused: its chord part has chords in its solo's section
    alone ("measure at offset 0 … has no chord in part 'Piano'")."""
    vocab = data.Vocabulary(("C,1.000",))
    changes = parse_chords("G7 | F")
    names = [(0, "C"), (1, "F"), (2, "G7")]  # its own chord, then the changes, cycled
    partly = write_solo(tmp_path / "partly.musicxml", solo=SOLO[:3], changes=CHANGES[:1])
    opening = primer.from_file(partly, tiny.data, vocab, changes)
    assert [(i, render.chord_name(m[0])) for i, m in enumerate(opening.chords)] == names
    melody_alone = write_lead_sheet(tmp_path / "melody.musicxml", SOLO[:3], symbols=[])
    opening = primer.from_file(melody_alone, tiny.data, vocab, changes)
    assert [render.chord_name(m[0]) for m in opening.chords] == ["G7", "F", "G7"]
    assert len(opening.melody) == 3 and opening.melody[1][0].pitch == 65  # its own notes
    with pytest.raises(JazzFlaxError, match="partly.musicxml has measures without chords"):
        primer.from_file(partly, tiny.data, vocab)


def test_a_primer_file_over_its_own_chords(run_dir, tmp_path):
    workdir, _, _ = run_dir
    checkpoint = checkpoints.load_checkpoint(workdir)
    corpus = checkpoints.checkpoint_corpus(checkpoint)
    path = write_solo(tmp_path / "primer.musicxml", solo=SOLO[1:3], changes=CHANGES[1:3])
    opening = primer.from_file(path, checkpoint.config.data, checkpoint.vocab)
    assert opening.tokens == (*corpus.measures[1], *corpus.measures[2])  # trained tokens
    assert opening.chords == corpus.chords[1:3] and opening.replaced == 0
    # The first measure is not trained on: 5 of its 6 tokens are not in the vocabulary.
    first = write_solo(tmp_path / "first.musicxml", solo=SOLO[:1], changes=CHANGES[:1])
    replaced = primer.from_file(first, checkpoint.config.data, checkpoint.vocab)
    assert replaced.replaced == 5 and set(replaced.tokens) <= set(checkpoint.vocab.values)
    result = generate.generate(workdir, primer_midi=first, output=tmp_path)
    assert result.describe().split(";")[0].endswith(", 5 primer tokens replaced")


def test_out_of_vocabulary_tokens_become_the_nearest():
    vocab = data.Vocabulary(
        ("C,0.250", "C,1.000", "S,0.500,<m2,P-4>", "S,1.000,<M2,M3>", "R,2.000")
    )
    assert primer.nearest("C,1.000", vocab) == "C,1.000"
    assert primer.nearest("C,0.750", vocab) == "C,1.000"  # kind, then the nearest duration
    assert primer.nearest("S,0.750,<M2,M3>", vocab) == "S,1.000,<M2,M3>"  # the same intervals
    assert primer.nearest("A,0.250,<m2,m3>", vocab) == "C,0.250"  # no A: any kind
    assert primer.nearest("A,0.250,<m2,m3>", data.Vocabulary((*vocab.values, "<unk>"))) == "<unk>"


@pytest.mark.parametrize("typed", ["<unk>", "C,1.000 <unk>", "Q,9.000"])
def test_a_typed_primer_is_of_playable_tokens(typed):
    """A vocabulary of a split corpus has UNK: it encoded any token, and a solo cannot play it."""
    vocab = data.Vocabulary(("<unk>", "C,0.250", "C,1.000"))
    with pytest.raises(JazzFlaxError, match="is not a token the model can play") as error:
        primer.from_text(typed, vocab)
    assert "e.g. C,0.250 C,1.000" in error.value.hint
    assert primer.from_text("C,1.000 C,0.250", vocab).tokens == ("C,1.000", "C,0.250")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "absent.mid", "no primer file at"),
        (lambda d: write_text(d / "notes.txt", "hello"), "notes.txt is not a music file"),
        (lambda d: write_text(d / "fake.mid", "not midi"), "could not be read as MIDI"),
    ],
)
def test_a_primer_that_is_not_music_is_a_clear_error(run_dir, tmp_path, make, message):
    with pytest.raises(JazzFlaxError, match=message):
        generate.generate(run_dir[0], primer_midi=make(tmp_path), output=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def write_text(path, text):
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------
# The command line


def generate_command(workdir, *flags):
    command = main_command("generate", "--config", str(ROOT / "experiments" / "baseline.py"))
    command += [f"--workdir={workdir}", *flags]
    return subprocess.run(command, cwd=ROOT, env=environment(), capture_output=True, text=True)


def test_the_command_line_writes_several_solos_with_a_line_each(run_dir, tmp_path):
    run = shutil.copytree(run_dir[0], tmp_path / "run")  # the files go to the run's output/
    result = generate_command(
        run, "--num_outputs=2", "--chords=Dm7 G7 | C", "--beam_size=2", "--branch_factor=2",
        "--swing=2", "--instrument=jazz_guitar", "--bass", "--norender_chords",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [Path(line).name for line in lines if line.startswith("/")] == [
        f"my_music_{i}.{suffix}" for i in (1, 2) for suffix in ("mid", "wav", "png")
    ]
    stats = [line for line in lines if line.startswith("my_music_")]
    assert len(stats) == 2 and all(", log-prob " in line and "; audio: " in line for line in stats)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--num_outputs=0"], r"num_outputs must be in \[1, 10.?000\] \(.*\), got 0"),
        (["--num_outputs=1000000"], r"num_outputs must be in \[1, 10.?000\]"),
        (["--beam_size=0"], "beam_size must be ≥ 1, got 0"),
        (["--soundfont=/nowhere/gm.sf2"], "no soundfont at /nowhere/gm.sf2"),
    ],
)
def test_bad_values_are_one_line_errors(run_dir, flags, message):
    result = generate_command(run_dir[0], *flags)
    assert result.returncode == 2
    assert re.fullmatch(f"error: {message}.*\n", result.stderr), result.stderr


@pytest.mark.parametrize("bpm", [2.0, 1e9, 1e-3, float("inf")])
def test_a_tempo_midi_cannot_store_is_refused(run_dir, bpm, tmp_path):
    with pytest.raises(JazzFlaxError, match=r"bpm must be .*in \[4, 600\]"):
        generate.generate(run_dir[0], bpm=bpm, output=tmp_path)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())

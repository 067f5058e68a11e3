"""The WJazzD reader on small CSVs written here, and on the real corpus in data/wjazzd."""

import csv
import dataclasses
import math
import re
from pathlib import Path

import ml_collections
import pytest

from jazz_flax import data, grammar
from jazz_flax.data import chord_symbols, wjazzd
from jazz_flax.errors import JazzFlaxError

REAL = Path(__file__).resolve().parents[1] / "data" / "wjazzd"
BEAT = 0.5  # seconds per beat in the written solos (120 bpm)

# The beat track, (bar, beat, period, chord): a pickup bar (beats 3-4 only), a change inside bar 1,
# NC in bar 2, bar 2's number repeated, then bar 3.
BEATS = (
    [(0, 3, 4, "NC"), (0, 4, 4, "NC")]
    + [(1, b, 4, "C7" if b < 3 else "F7") for b in range(1, 5)]
    + [(2, b, 4, "NC") for b in range(1, 5)]
    + [(2, b, 4, "Bb-7") for b in range(1, 5)]
    + [(3, b, 4, "Ebj7") for b in range(1, 5)]
)
# The melody, (bar, beat, tatum, division, beats long, pitch): two pickup eighths, a triplet, …
NOTES = [
    (0, 4, 1, 2, 0.5, 67),
    (0, 4, 2, 2, 0.5, 69),
    (1, 1, 1, 3, 1 / 3, 60),
    (1, 1, 2, 3, 1 / 3, 64),
    (1, 1, 3, 3, 1 / 3, 67),
    (1, 3, 1, 1, 0.98, 65),  # a quarter played a hair short, rounded to the grid
    (2, 1, 1, 1, 2.0, 70),
    (2, 1, 1, 1, 1.0, 62),  # in the second bar numbered 2
    (3, 1, 1, 5, 1.0, 63),  # tatum 1 of 5: on the grid
    (3, 2, 2, 5, 0.2, 65),  # tatum 2 of 5: at 1.2 beats, snapped to 14 twelfths
]


def write_solo(folder: Path, name: str, beats=BEATS, notes=NOTES) -> tuple[Path, Path]:
    melody, track = wjazzd.solo_paths(folder, name)
    melody.parent.mkdir(parents=True, exist_ok=True)
    track.parent.mkdir(parents=True, exist_ok=True)
    with open(track, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["onset", "bar", "beat", "period", "signature", "chord"])
        for i, (bar, beat, period, chord) in enumerate(beats):
            writer.writerow([i * BEAT, bar, beat, period, f"'{period}/4'", chord])
    with open(melody, "w", newline="") as f:
        writer = csv.writer(f)
        columns = ["onset", "duration", "division", "bar", "beat", "tatum", "beat_duration"]
        writer.writerow([*columns, "pitch", "chord"])
        for i, (bar, beat, tatum, division, beats_long, pitch) in enumerate(notes):
            row = [i, beats_long * BEAT, division, bar, beat, tatum, BEAT, pitch, ""]
            writer.writerow(row)
    return melody, track


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wjazzd")
    return wjazzd.read_solo(*write_solo(folder, "Someone_Tune_FINAL"))


def durations(measure) -> list[float]:
    return [grammar.Token.parse(token).duration for token in measure]


def test_measures_follow_the_beat_track_a_repeated_bar_number_starting_a_new_one(solo):
    piece, _ = solo
    assert len(piece.measures) == 5  # pickup, 1, 2, 2 again, 3
    assert piece.source["solo"] == "Someone_Tune_FINAL"
    for measure in piece.measures:
        assert math.isclose(sum(durations(measure)), 4.0, abs_tol=0.01)


def test_a_pickup_bar_is_a_whole_measure_with_rests_before_its_notes(solo):
    piece, _ = solo
    assert durations(piece.measures[0]) == [3.0, 0.5, 0.5]
    assert piece.measures[0][0] == "R,3.000"
    assert [e.pitch for e in piece.melody[0]] == [None, 67, 69]


def test_a_triplet_keeps_its_positions_and_a_short_note_leaves_a_rest(solo):
    piece, _ = solo
    assert [t.split(",")[1] for t in piece.measures[1]] == [
        "0.333",
        "0.333",
        "0.333",
        "1.000",  # the rest to beat 3
        "1.000",  # 0.98 beats, rounded to the grid
        "1.000",  # the rest to the bar line
    ]
    assert [e.offset for e in piece.melody[1]][:4] == pytest.approx([0, 1 / 3, 2 / 3, 1.0])


def test_chords_change_inside_a_bar_and_nc_continues_the_chord_before(solo):
    piece, _ = solo
    offsets = [[c.offset for c in measure] for measure in piece.chords]
    assert offsets == [[0.0], [0.0, 2.0], [0.0], [0.0], [0.0]]
    c7, f7 = chord_symbols.parse_chord("C7", 0, ""), chord_symbols.parse_chord("F7", 0, "")
    assert piece.chords[0][0].pitches == c7.pitches  # NC before any chord: the first one
    assert piece.chords[1][1].pitches == f7.pitches
    assert piece.chords[2][0].pitches == f7.pitches  # NC: F7 continues
    assert piece.chords[3][0].pitches == chord_symbols.parse_chord("Bb-7", 0, "").pitches


def test_off_grid_positions_are_snapped_and_counted(solo):
    piece, counts = solo
    assert counts.notes == len(NOTES) and counts.snapped == 1
    assert [e.offset for e in piece.melody[4] if e.pitch] == pytest.approx([0.0, 14 / 12])
    assert counts.held == 1  # the gap of 2 twelfths before it is articulation


def test_a_short_gap_is_articulation_the_note_is_held(tmp_path):
    notes = [(1, 1, 1, 2, 0.4, 60), (1, 1, 2, 2, 0.5, 62)]  # 0.4 of 0.5 beats: a 1/12 gap
    piece, counts = wjazzd.read_solo(*write_solo(tmp_path, "A_B_FINAL", BEATS[2:6], notes))
    assert counts.held == 1
    assert durations(piece.measures[0])[:2] == [0.5, 0.5]


def test_other_time_signatures_and_solos_without_chords_are_left_out_with_a_count(tmp_path):
    three = [(1, b, 3, "C7") for b in (1, 2, 3)] + [(2, b, 4, "F7") for b in (1, 2, 3, 4)]
    notes = [(1, 1, 1, 1, 1.0, 60), (2, 1, 1, 1, 1.0, 60)]
    write_solo(tmp_path, "Waltz_Player_FINAL", three, notes)
    write_solo(tmp_path, "Free_Player_FINAL", [(1, b, 4, "NC") for b in (1, 2, 3, 4)], notes[:1])
    write_solo(tmp_path, "Someone_Tune_FINAL")
    reading = wjazzd.load(tmp_path, cache_dir=tmp_path / "cache", jobs=1)
    assert reading.left_out == {
        "Free_Player_FINAL": "no chords",
        "Waltz_Player_FINAL": "time signature",
    }
    assert [p.source["solo"] for p in reading.corpus.pieces] == ["Someone_Tune_FINAL"]
    corpus = dataclasses.replace(reading.corpus, report=reading.report())  # as `wjazzd.read`
    with pytest.raises(JazzFlaxError, match=r"left it out \(reason: time signature\)"):
        data.piece_named(corpus, "Waltz_Player")  # --changes_of: not "no solo named"
    with pytest.raises(JazzFlaxError, match="no solo named 'Nobody'"):
        data.piece_named(corpus, "Nobody")


def rewrite(path: Path, edit) -> None:
    """Rewrites the CSV `path` with `edit(rows)` applied to its rows (the header first)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(edit(rows))


def set_value(column: str, value: str, line: int = 4):
    """An `edit` writing `value` in `column` on `line` (1: the header)."""

    def edit(rows):
        rows[line - 1][rows[0].index(column)] = value
        return rows

    return edit


def without(column: str):
    def edit(rows):
        i = rows[0].index(column)
        return [row[:i] + row[i + 1 :] for row in rows]

    return edit


# (the file spoilt: melody or beats, its edit, the message expected after the file's name)
SPOILT = {
    "pitch 200": (0, set_value("pitch", "200"), r"line 4: pitch must be in \[0, 127\]"),
    "pitch -5": (0, set_value("pitch", "-5"), r"line 4: pitch must be in \[0, 127\].*got -5"),
    "pitch 65.5": (0, set_value("pitch", "65.5"), r"line 4: pitch .*whole MIDI number.*got 65.5"),
    "pitch nan": (0, set_value("pitch", "nan"), r"line 4: pitch must be .*got nan"),
    "pitch empty": (0, set_value("pitch", ""), r"line 4: pitch must be a number, got ''"),
    "negative duration": (0, set_value("duration", "-0.5"), r"line 4: duration must be > 0"),
    "duration inf": (0, set_value("duration", "inf"), r"line 4: duration must be > 0, got inf"),
    "beat_duration 0": (0, set_value("beat_duration", "0"), r"line 4: beat_duration must be > 0"),
    "division 0": (0, set_value("division", "0"), r"line 4: division must be ≥ 1"),
    "tatum 0": (0, set_value("tatum", "0"), r"line 4: tatum must be ≥ 1"),
    "tatum above division": (0, set_value("tatum", "4"), r"line 4: tatum must be ≤ division \(3\)"),
    "beat 9 of 4": (0, set_value("beat", "9"), r"line 4: beat must be ≤ the bar's 4 beats, got 9"),
    "bar not a number": (0, set_value("bar", "one"), r"line 4: bar must be a number, got 'one'"),
    "a bar the beats lack": (0, set_value("bar", "7"), r"line 4: bar 7 is not in the beat track"),
    "missing column": (0, without("beat_duration"), r"lacks the column 'beat_duration'"),
    "beats: period 0": (1, set_value("period", "0"), r"line 4: period must be ≥ 1"),
    "beats: beat 5 of 4": (1, set_value("beat", "5"), r"line 4: beat must be ≤ period \(4\)"),
    "beats: no chords": (1, without("chord"), r"lacks the column 'chord'"),
}


@pytest.mark.parametrize("case", SPOILT, ids=list(SPOILT))
def test_an_impossible_or_malformed_value_is_one_error_naming_file_line_and_column(tmp_path, case):
    which, edit, message = SPOILT[case]
    path = write_solo(tmp_path, "Someone_Tune_FINAL")[which]
    rewrite(path, edit)
    with pytest.raises(JazzFlaxError, match=f"^{re.escape(str(path))} {message}") as info:
        wjazzd.load(tmp_path, cache_dir=tmp_path / "cache")
    assert "\n" not in str(info.value)


def test_a_whole_number_written_with_a_point_is_that_number(tmp_path):
    melody, track = write_solo(tmp_path, "Someone_Tune_FINAL")
    before, _ = wjazzd.read_solo(melody, track)
    rewrite(melody, set_value("pitch", "60.0"))  # the 60 of line 4, as a float
    after, _ = wjazzd.read_solo(melody, track)
    assert after.melody == before.melody and after.measures == before.measures


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    melody, _ = write_solo(tmp_path, "Someone_Tune_FINAL")
    melody.write_bytes(melody.read_bytes().replace(b"67", b"6\xff7", 1))
    with pytest.raises(JazzFlaxError, match=f"^{melody} is not UTF-8 text \\(byte 0xff"):
        wjazzd.load(tmp_path, cache_dir=tmp_path / "cache", jobs=1)


def test_melody_rows_out_of_order_say_so_and_do_not_blame_the_beat_track(tmp_path):
    across_bars = [NOTES[2], NOTES[0], *NOTES[3:]]  # a bar-1 note before the pickup's
    within_a_bar = [*NOTES[:2], NOTES[3], NOTES[2], *NOTES[4:]]  # the triplet's 2nd before its 1st
    for name, notes, line in (("A_B_FINAL", across_bars, 3), ("C_D_FINAL", within_a_bar, 5)):
        melody, track = write_solo(tmp_path, name, BEATS, notes)
        with pytest.raises(JazzFlaxError, match=f"^{melody} line {line}: .*out of order"):
            wjazzd.read_solo(melody, track)


def test_an_empty_melody_is_left_out_for_its_lack_of_notes_not_chords(tmp_path):
    write_solo(tmp_path, "Silent_Player_FINAL", BEATS, [])
    write_solo(tmp_path, "Someone_Tune_FINAL")
    reading = wjazzd.load(tmp_path, cache_dir=tmp_path / "cache")
    assert reading.left_out == {"Silent_Player_FINAL": "no notes"}


def test_a_workers_error_keeps_its_hint(tmp_path):
    melody, _ = write_solo(tmp_path, "Someone_Tune_FINAL")
    write_solo(tmp_path, "Other_Tune_FINAL")
    rewrite(melody, without("pitch"))
    with pytest.raises(JazzFlaxError, match="lacks the column 'pitch'") as info:
        wjazzd.load(tmp_path, cache_dir=tmp_path / "cache", jobs=2)
    assert "make wjazzd" in str(info.value)


def test_the_cache_gives_back_the_same_corpus(tmp_path):
    write_solo(tmp_path, "Someone_Tune_FINAL")
    cold = wjazzd.load(tmp_path, cache_dir=tmp_path / "cache", jobs=1)
    warm = wjazzd.load(tmp_path, cache_dir=tmp_path / "cache", jobs=1)
    assert not cold.corpus.cache_hit and warm.corpus.cache_hit
    assert warm.corpus.pieces == cold.corpus.pieces
    assert warm.counts == cold.counts
    assert [list(p.melody) for p in warm.corpus.pieces] == [
        list(p.melody) for p in cold.corpus.pieces
    ]
    melody = warm.corpus.pieces[0].melody
    assert melody[-1] == melody[len(melody) - 1] and melody[1:3] == (melody[1], melody[2])
    with pytest.raises(IndexError):
        melody[len(melody)]


def test_two_processes_read_the_same_corpus_as_one(tmp_path):
    write_solo(tmp_path, "Someone_Tune_FINAL")
    write_solo(tmp_path, "Other_Tune_FINAL", BEATS, NOTES[2:])
    one = wjazzd.load(tmp_path, cache_dir=tmp_path / "one", jobs=1)
    two = wjazzd.load(tmp_path, cache_dir=tmp_path / "two", jobs=2)
    assert two.corpus.pieces == one.corpus.pieces and two.counts == one.counts


def test_grammar_v2_tokenises_the_same_line_its_intervals_crossing_bar_lines(tmp_path):
    melody, track = write_solo(tmp_path, "Someone_Tune_FINAL")
    notebook, counts = wjazzd.read_solo(melody, track)
    v2, v2_counts = wjazzd.read_solo(melody, track, "v2")
    assert v2.source["grammar"] == "v2" and "grammar" not in notebook.source
    assert v2.melody == notebook.melody and v2.chords == notebook.chords and v2_counts == counts
    assert v2.measures[0] == ("R,3.000", "C,0.500", "S,0.500,<P4,m-2>")  # G, A over C7
    # bar 1 starts with a triplet C E G over C7: its first interval is from the pickup's A
    steps = [grammar.v2.interval_range(n) for n in (60 - 69, 64 - 60, 67 - 64)]
    assert v2.measures[1][:3] == tuple(f"C,0.333,{s}" for s in steps)
    for measure, events in zip(v2.measures, v2.melody, strict=True):
        assert math.isclose(sum(durations(measure)), 4.0, abs_tol=0.01)
        assert len(measure) == len(events)


def test_the_grammar_is_in_the_cache_key_and_the_v2_register_in_the_vocabulary(tmp_path):
    write_solo(tmp_path, "Someone_Tune_FINAL")
    write_solo(tmp_path, "Other_Tune_FINAL", BEATS, NOTES[2:])
    write_solo(tmp_path, "Third_Tune_FINAL", BEATS, NOTES[:6])
    config = ml_collections.ConfigDict(dict(path=str(tmp_path), solos="*", grammar="v2"))
    config.update(split_seed=0, split_by="path", valid_fraction=0.3, test_fraction=0.3, min_count=1)
    notebook = wjazzd.load(tmp_path, cache_dir=tmp_path / "cache")
    v2 = wjazzd.load(tmp_path, cache_dir=tmp_path / "cache", grammar_name="v2")
    assert not v2.corpus.cache_hit and v2.corpus.grammar == "v2"
    assert v2.corpus.pieces[0].measures != notebook.corpus.pieces[0].measures
    split = data.SplitCorpus.from_config(v2.corpus, config)
    train = split.pieces_of("train")
    pitches = [e.pitch for p in train for m in p.melody for e in m if e.pitch is not None]
    assert split.vocab.grammar == "v2" and split.vocab.register == grammar.v2.register(pitches)
    saved = data.Vocabulary.from_json(split.vocab.to_json())
    assert saved == split.vocab and saved.rules.name == "v2"
    with pytest.raises(JazzFlaxError, match="unknown grammar 'v3'"):
        wjazzd.load(tmp_path, cache_dir=tmp_path / "cache", grammar_name="v3")


@pytest.mark.parametrize(
    "solo, expected",
    [
        ("JohnColtrane_GiantSteps-2_FINAL", "giantsteps"),
        ("FatsNavarro_GoodBait_AlternateTake_FINAL", "goodbait"),
        ("CliffordBrown_I'llRememberApril_AlternateTake2_FINAL", "illrememberapril"),
        ("SonnyRollins_St.Thomas-1_FINAL", "stthomas"),
        ("JohnColtrane_Impressions_1961_FINAL", "impressions"),
        ("WyntonMarsalis_CherokeeII_FINAL", "cherokee"),
        ("Someone_GoodBaitAlt", "goodbait"),
        ("Someone_GoodBait-AlternateTake-2", "goodbait"),
        ("SteveColeman_TakeTheColtrane_FINAL", "takethecoltrane"),  # not a take's mark
        ("EricDolphy_245_FINAL", "245"),
        ("Someone_Take5", "take5"),  # a title is never marked away whole
    ],
)
def test_the_tune_of_a_solo_leaves_out_the_takes_marks(solo, expected):
    assert wjazzd.tune(solo) == expected


def test_split_by_tune_keeps_every_take_by_every_performer_in_one_split(tmp_path):
    names = ["A_Blues-1", "A_Blues-2", "B_Blues_AlternateTake", "A_Other", "C_Third", "D_Fourth"]
    for name in [*names, "E_Fifth", "F_Sixth"]:  # enough tunes that training keeps one
        write_solo(tmp_path, f"{name}_FINAL")
    corpus = wjazzd.load(tmp_path, cache_dir=tmp_path / "cache").corpus
    tunes = {"blues", "other", "third", "fourth", "fifth", "sixth"}
    assert {p.source["tune"] for p in corpus.pieces} == tunes
    config = ml_collections.ConfigDict(dict(split_by="tune", valid_fraction=0.2))
    config.update(test_fraction=0.2, min_count=1)
    for seed in range(8):
        config.split_seed = seed
        split = data.SplitCorpus.from_config(corpus, config)
        where = {s: {p.source["tune"] for p in split.pieces_of(s)} for s in data.SPLITS}
        assert not where["train"] & (where["valid"] | where["test"])
        assert not where["valid"] & where["test"]
        blues = [s for s in data.SPLITS for p in split.pieces_of(s) if p.source["tune"] == "blues"]
        assert len(blues) == 3 and len(set(blues)) == 1


# ---------------------------------------------------------------------------------------------
# The real corpus (CI copies it from ../shared/data/wjazzd)


@pytest.fixture(scope="module")
def real():
    if not (REAL / wjazzd.MELODY).is_dir():
        pytest.skip(f"{REAL} is absent: run `make wjazzd` (CI copies it from ../shared/data)")
    return REAL


def test_every_chord_symbol_of_the_real_beat_tracks_parses(real):
    symbols = set()
    for track in (real / wjazzd.BEAT_TRACKS).glob("*.csv"):
        with open(track, newline="") as f:
            symbols.update(row["chord"] for row in csv.DictReader(f))
    symbols.discard(chord_symbols.NO_CHORD)
    assert len(symbols) > 400
    unparsed = [s for s in symbols if chord_symbols.chord_midi(s) is None]
    assert unparsed == []


def test_real_solos_read_into_measures_of_four_beats(real, tmp_path):
    reading = wjazzd.load(real, "ArtPepper_*", cache_dir=tmp_path, jobs=1)
    assert len(reading.corpus.pieces) + len(reading.left_out) == 6
    for piece in reading.corpus.pieces:
        assert len(piece.measures) == len(piece.chords) == len(piece.melody)
        for measure, events in zip(piece.measures, piece.melody, strict=True):
            assert math.isclose(sum(durations(measure)), 4.0, abs_tol=0.02)
            assert len(measure) == len(events)
    assert reading.counts.notes > 2000
    assert isinstance(reading.corpus, data.Corpus) and len(reading.corpus.vocab) > 100


def test_real_solos_in_grammar_v2_keep_their_lines_and_four_beats(real, tmp_path):
    notebook = wjazzd.load(real, "ArtPepper_*", cache_dir=tmp_path)
    v2 = wjazzd.load(real, "ArtPepper_*", cache_dir=tmp_path, grammar_name="v2")
    assert v2.left_out == notebook.left_out and v2.counts == notebook.counts
    for piece, before in zip(v2.corpus.pieces, notebook.corpus.pieces, strict=True):
        assert piece.melody == before.melody and piece.source["grammar"] == "v2"
        for measure, events in zip(piece.measures, piece.melody, strict=True):
            assert math.isclose(sum(durations(measure)), 4.0, abs_tol=0.02)
            assert len(measure) == len(events)
    tokens = {t for piece in v2.corpus.pieces for m in piece.measures for t in m}
    assert {t.split(",")[0] for t in tokens} <= set("CSAXR")
    low, high = v2.corpus.vocab.register
    assert 40 < low < high < 100


def test_no_test_tune_of_the_real_corpus_has_a_take_in_training(real):
    names = wjazzd.solo_names(real)
    tunes = [wjazzd.tune(name) for name in names]
    indices = data.split_indices(tunes, seed=0)
    where = {s: {tunes[i] for i in indices[s]} for s in data.SPLITS}
    assert not where["test"] & where["train"] and not where["valid"] & where["train"]
    assert len(set(tunes)) < len(names) - 100  # takes, and tunes many performers played
    split_of = {names[i]: s for s in data.SPLITS for i in indices[s]}
    for tune in ("JohnColtrane_GiantSteps-{}_FINAL", "FatsNavarro_GoodBait{}_FINAL"):
        takes = [tune.format(mark) for mark in ("1", "2", "", "_AlternateTake")]
        assert len({split_of[take] for take in takes if take in split_of}) == 1

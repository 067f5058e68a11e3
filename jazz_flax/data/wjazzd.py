"""The Weimar Jazz Database (WJazzD): each solo's melody and beat track as a corpus `Piece`.

    mcsv_melody/<solo>.csv ─┐ notes at (bar, beat, tatum/division), durations in seconds
                            ├─ read_solo ──▶ Piece: grammar tokens, chords and notes per measure
    mcsv_beat/<solo>_beattrack.csv ─┘ the chord symbol under every beat (`chord_symbols`)

`read` is the "wjazzd" entry of `readers.READERS`. Policies (counted in `Reading`, the corpus'
report, printed by `python -m jazz_flax.data summary`):
* Measures are the bars from a solo's first note to its last, in the beat track's order (a bar
  number that comes again later starts a new measure). A solo with a bar of another length than
  4 beats among them (3/4, 1/4, 5/4 … bars: 25 solos of the shared copy) is left out whole. A pickup
  or a short bar at either end of a 4/4 solo (the beat track starts or stops inside it) is read as
  a whole 4/4 measure: its missing beats are rests.
* Metrical positions come from bar, beat, tatum and division, snapped to the 1/12-beat GRID (a
  position of a division that does not divide 12 is `snapped`); durations from the seconds over the
  note's local beat duration, rounded to GRID (at least one step). The line is monophonic: a note
  sounds until the next onset or the bar line at the latest (`shortened`); of two notes snapped to
  one position the first is `dropped`; a gap shorter than MIN_REST after a note is articulation:
  the note is `held` to the next onset (or the bar line); longer gaps become rests.
* Every row is checked (`csv_rows`): a value that cannot be (a pitch outside MIDI's 0–127, a
  duration ≤ 0, beat 9 in a bar of 4, tatum 0 or above its division, a note before the one above
  it), a missing column or a file that is not UTF-8 text is one error naming the file, the line
  and the column: nothing impossible is trained on. A solo without notes is left out.
* Chords: the beat track's symbol of each beat, consecutive equal ones merged into one change.
  `NC` (no chord) continues the chord before it, or before the first chord the solo's first one (a
  line over a break is heard against the harmony around it); a solo without any chord is left out.
* Tokens come from the grammar `data.grammar` names (`corpus.tokenize`): the notebook's
  `grammar.parse_measure`, the entry point `score_files.parse_file` uses, or v2's
  `grammar.v2.parse`, whose grid is the reader's (nothing is snapped again) and whose intervals
  carry across bar lines.
"""

from __future__ import annotations

import base64
import collections
import collections.abc
import concurrent.futures
import dataclasses
import fnmatch
import functools
import hashlib
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

import ml_collections
import numpy as np

from jazz_flax import grammar, meter
from jazz_flax.data import cache
from jazz_flax.data.chord_symbols import NO_CHORD, parse_chord
from jazz_flax.data.corpus import Corpus, Piece, tokenize
from jazz_flax.data.csv_rows import COUNT, TEXT, WHOLE, at, read_rows
from jazz_flax.data.roots import data_path
from jazz_flax.errors import JazzFlaxError, Range

MELODY, BEAT_TRACKS = "mcsv_melody", "mcsv_beat"
GRID = 12  # positions and durations in twelfths of a beat: sixteenths and triplets
MIN_REST = 3  # grid steps: a shorter silence between two notes is articulation, not a rest
REST = -1  # the pitch of a rest in a Melody's rows
Row = tuple[int, int, "int | None"]  # a note or rest: onset and length in grid steps, MIDI pitch
READER_VERSION = 7  # bump when reading changes: it invalidates the cached corpora
# The columns read and the values each may hold (`csv_rows`); the files' other columns are ignored.
SECONDS = Range(0, low_open=True)
MELODY_COLUMNS = dict(
    bar=WHOLE, beat=COUNT, tatum=COUNT, division=COUNT, duration=SECONDS, beat_duration=SECONDS
) | dict(pitch=Range(0, 127, integer=True, high_open=False, note="(a whole MIDI number)"))
BEAT_COLUMNS = dict(bar=WHOLE, beat=COUNT, period=COUNT, chord=TEXT)


# ---------------------------------------------------------------------------------------------
# Reading one solo


@dataclasses.dataclass
class Bar:
    """A bar of the beat track: its number, its beats' count and each beat's chord symbol."""

    number: int
    period: int
    symbols: dict[int, str]  # beat (1-based) -> symbol
    notes: list[dict] = dataclasses.field(default_factory=list)  # melody rows


@dataclasses.dataclass
class Counts:
    """What reading changed, summed over the solos read."""

    notes: int = 0
    snapped: int = 0  # positions not on the grid
    shortened: int = 0  # durations cut at the next onset or the bar line
    dropped: int = 0  # notes snapped onto the position of the next one
    held: int = 0  # notes held over a gap shorter than MIN_REST before the next

    def add(self, other: Counts) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


class LeftOut(Exception):
    """A solo the corpus leaves out, and why (one of REASONS)."""


REASONS = ("time signature", "no chords", "no notes")


def solo_paths(folder: Path, name: str) -> tuple[Path, Path]:
    """(melody CSV, beat track CSV) of the solo `name`, e.g. `JohnColtrane_GiantSteps-1_FINAL`."""
    return folder / MELODY / f"{name}.csv", folder / BEAT_TRACKS / f"{name}_beattrack.csv"


def read_solo(
    melody_path: Path, beats_path: Path, grammar_name: str = "notebook"
) -> tuple[Piece, Counts]:
    """The Piece of one solo in grammar `grammar_name` and what reading it changed; raises LeftOut
    for a solo the corpus leaves out (see the module's policies)."""
    bars = _bars(_rows(beats_path, BEAT_COLUMNS))
    notes = _rows(melody_path, MELODY_COLUMNS)
    _assign_notes(bars, notes, melody_path)
    bars = _played(bars)
    if not bars:
        raise LeftOut(REASONS[2])
    if any(bar.period != meter.BEATS for bar in bars):
        raise LeftOut(REASONS[0])
    chords = _measure_chords(bars, beats_path)
    counts = Counts()
    melody = Melody.from_measures([_line(bar.notes, counts) for bar in bars])
    name = solo_name(melody_path)
    source = dict(
        path=str(melody_path), beats=str(beats_path), solo=name, performer=performer(name)
    )
    source["tune"] = tune(name)
    source["bpm"] = tempo(notes)
    if grammar_name != "notebook":  # a line grammar records, as data.in_line_grammar, the notes
        source.update(grammar=grammar_name, snapped_durations=counts.snapped)  # snapped to its grid
    measures = tokenize(melody, chords, grammar_name)
    return Piece(measures, tuple(chords), melody, source), counts


def tempo(notes: Sequence[dict]) -> float:
    """The solo's tempo in bpm: 60 over the median beat duration (seconds) of its notes."""
    return round(60.0 / float(np.median([row["beat_duration"] for row in notes])), 1)


def solo_name(melody_path: Path) -> str:
    return Path(melody_path).stem


def performer(solo: str) -> str:
    """`JohnColtrane_GiantSteps-1_FINAL` -> `JohnColtrane`."""
    return solo.split("_", 1)[0]


# a take's mark at the end of a title: "-2", "Alt", "AlternateTake2", "Take3", the "II" of
# "CherokeeII" (the parts after a second "_", as "_AlternateTake" or "_1961", are dropped before)
TAKE_MARK = re.compile(r"(-\d+|Alt(ernate)?(Take)?\d*|Take\d+|(?<=[a-z])I{2,3})$")


def tune(solo: str) -> str:
    """The tune all takes and performers of it share: the title, less its take's marks, in lower
    case letters and digits. `JohnColtrane_GiantSteps-2_FINAL` -> `giantsteps`,
    `FatsNavarro_GoodBait_AlternateTake_FINAL` -> `goodbait`, `SonnyRollins_St.Thomas-1_FINAL`
    -> `stthomas`."""
    title = (solo.split("_") + [""])[1]
    while (shorter := TAKE_MARK.sub("", title, count=1)) not in ("", title):
        title = shorter  # "GoodBait-AlternateTake-2": each mark in turn; "Take5" stays
    return re.sub(r"[^a-z0-9]", "", title.lower()) or solo


def _rows(path: Path, columns: dict) -> list[dict]:
    """The rows of a solo's CSV, checked, the tatum within its division."""
    rows = read_rows(path, columns, hint="`make wjazzd` downloads the files again")
    for row in rows:
        for part, whole in (("tatum", "division"), ("beat", "period")):
            if whole in row and row[part] > row[whole]:
                raise JazzFlaxError(
                    f"{at(path, row)}: {part} must be ≤ {whole} ({row[whole]}), got {row[part]}"
                )
    return rows


def _bars(rows: Sequence[dict]) -> list[Bar]:
    """The beat track's bars in order; a bar number seen again after another starts a new bar."""
    bars: list[Bar] = []
    for row in rows:
        number, beat = row["bar"], row["beat"]
        if not bars or bars[-1].number != number or beat in bars[-1].symbols:
            bars.append(Bar(number, row["period"], {}))
        bars[-1].symbols[beat] = row["chord"]
    return bars


def _assign_notes(bars: list[Bar], notes: Sequence[dict], where: Path) -> None:
    """Each note joins the first bar of its number at or after the previous note's bar; a note
    out of place (`_misplaced`) is an error naming its line."""
    index, previous = 0, 0.0
    for row in notes:
        start = index
        while index < len(bars) and bars[index].number != row["bar"]:
            index += 1
        problem = _misplaced(row, bars, index, start, previous)
        if problem:
            raise JazzFlaxError(f"{at(where, row)}: {problem}")
        bars[index].notes.append(row)
        previous = _beats(row)


def _misplaced(row: dict, bars: Sequence[Bar], index: int, start: int, previous: float) -> str:
    """What is wrong with a note found in bars[index], searching from bars[start] where the
    previous note is, at `previous` beats ("" if nothing)."""
    if index == len(bars):
        if any(bar.number == row["bar"] for bar in bars[:start]):
            return f"bar {row['bar']} is before the previous note's (the rows are out of order)"
        return f"bar {row['bar']} is not in the beat track"
    if row["beat"] > bars[index].period:
        return f"beat must be ≤ the bar's {bars[index].period} beats, got {row['beat']}"
    if index == start and _beats(row) < previous:
        return "the note is before the previous one in its bar (the rows are out of order)"
    return ""


def _played(bars: list[Bar]) -> list[Bar]:
    """The bars from the first with a note to the last with one."""
    played = [i for i, bar in enumerate(bars) if bar.notes]
    return bars[played[0] : played[-1] + 1] if played else []


def _measure_chords(bars: Sequence[Bar], where: Path) -> list[tuple[grammar.Chord, ...]]:
    """Each bar's chord changes, offsets in beats from its start; NC continues the chord before
    (the solo's first before any)."""
    symbols = [s for bar in bars for s in bar.symbols.values() if s != NO_CHORD]
    if not symbols:
        raise LeftOut(REASONS[1])
    held, result = symbols[0], []
    for bar in bars:
        changes: list[tuple[float, str]] = []
        for beat, symbol in sorted(bar.symbols.items()):
            held = held if symbol == NO_CHORD else symbol
            if not changes or changes[-1][1] != held:
                changes.append((0.0 if not changes else float(beat - 1), held))
        changes = changes or [(0.0, held)]
        result.append(tuple(parse_chord(s, offset, str(where)) for offset, s in changes))
    return result


def _line(notes: Sequence[dict], counts: Counts) -> list[Row]:
    """A bar's notes as a monophonic line on the grid, rests (pitch None) in the gaps."""
    onsets = [_position(row, counts) for row in notes]
    rows, end = [], 0
    for i, note in enumerate(notes):
        onset, length = onsets[i], _length(note)
        limit = onsets[i + 1] if i + 1 < len(onsets) else meter.BEATS * GRID
        if limit <= onset:
            counts.dropped += 1
            continue
        if rows and 0 < onset - end < MIN_REST:  # articulation, not a rest: hold the note
            counts.held += 1
            rows[-1] = (rows[-1][0], onset - rows[-1][0], rows[-1][2])
        elif onset > end:
            rows.append((end, onset - end, None))
        end = min(onset + length, limit)
        counts.shortened += end < onset + length
        rows.append((onset, end - onset, note["pitch"]))
    if meter.BEATS * GRID - end >= MIN_REST or not rows:
        rows.append((end, meter.BEATS * GRID - end, None))
    elif end < meter.BEATS * GRID:
        rows[-1] = (rows[-1][0], meter.BEATS * GRID - rows[-1][0], rows[-1][2])
    counts.notes += len(notes)
    return rows


def _beats(row: dict) -> float:
    """The note's position in its bar, in beats."""
    return row["beat"] - 1 + (row["tatum"] - 1) / row["division"]


def _position(row: dict, counts: Counts) -> int:
    """The note's position in the bar, in grid steps (snapped when off the grid)."""
    exact = _beats(row) * GRID
    counts.snapped += not math.isclose(exact, round(exact), abs_tol=1e-6)
    return min(round(exact), meter.BEATS * GRID - 1)


def _length(row: dict) -> int:
    """The note's duration in grid steps: seconds over the local beat's, at least one step."""
    return max(1, round(row["duration"] / row["beat_duration"] * GRID))


class Melody(collections.abc.Sequence):
    """A solo's notes per measure, kept as one array of grid rows until a measure's
    `grammar.Event`s are asked for: a warm corpus loads without building its 270k events."""

    def __init__(self, rows: np.ndarray, starts: np.ndarray):
        self.rows = rows  # int16 (n, 3): onset, length (grid steps), MIDI pitch or REST
        self.starts = starts  # int32 (measures + 1): where each measure's rows begin

    @classmethod
    def from_measures(cls, measures: Sequence[Sequence[Row]]) -> Melody:
        rows = [(o, n, REST if p is None else p) for m in measures for o, n, p in m]
        starts = np.cumsum([0, *map(len, measures)], dtype=np.int32)
        return cls(np.array(rows, np.int16).reshape(-1, 3), starts)

    def to_json(self) -> dict:
        return dict(rows=_b64(self.rows), starts=_b64(self.starts))

    @classmethod
    def from_json(cls, raw: dict) -> Melody:
        return cls(_array(raw["rows"], np.int16).reshape(-1, 3), _array(raw["starts"], np.int32))

    @property
    def pitches(self) -> np.ndarray:
        """The notes' MIDI pitches, rests left out."""
        return self.rows[self.rows[:, 2] != REST, 2]

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        index = range(len(self))[index]  # an IndexError out of range, as a tuple's
        rows = self.rows[self.starts[index] : self.starts[index + 1]].tolist()
        return tuple(
            grammar.Event(o / GRID, n / GRID, None if p == REST else p) for o, n, p in rows
        )

    def __eq__(self, other) -> bool:
        return isinstance(other, collections.abc.Sequence) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()


def _array(text: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype).copy()


# ---------------------------------------------------------------------------------------------
# The corpus: every solo, read in parallel once, then from the cache


@dataclasses.dataclass(frozen=True)
class Reading:
    """The corpus read from a WJazzD folder, the solos it left out and what reading changed."""

    corpus: Corpus
    left_out: dict[str, str]  # solo -> reason (REASONS)
    counts: Counts

    def report(self) -> dict:
        """The counts of what reading changed and left out, for `data summary`."""
        reasons = collections.Counter(self.left_out.values())
        left_out_solos = dict(sorted(self.left_out.items()))  # solo -> reason (`piece_named`)
        return dict(left_out=dict(reasons), left_out_solos=left_out_solos) | dict(
            notes=dataclasses.asdict(self.counts)
        )

    def to_json(self) -> str:
        """Compact JSON: tokens and chords as indices into tables, melodies as grid rows."""
        values = sorted({t for piece in self.corpus.pieces for m in piece.measures for t in m})
        chords = {c for piece in self.corpus.pieces for m in piece.chords for c in m}
        chords = sorted(chords, key=lambda c: (c.offset, c.pitches))
        value_ids, chord_ids = _index(values), _index(chords)
        pieces = [
            dict(
                measures=[[value_ids[t] for t in m] for m in piece.measures],
                chords=[[chord_ids[c] for c in m] for m in piece.chords],
                melody=piece.melody.to_json(),
                source=piece.source,
            )
            for piece in self.corpus.pieces
        ]
        tables = dict(values=values, chords=[[c.offset, list(c.pitches)] for c in chords])
        counts = dataclasses.asdict(self.counts)
        return json.dumps(dict(tables, pieces=pieces, left_out=self.left_out, counts=counts))

    @classmethod
    def from_json(cls, text: str) -> Reading:
        raw = json.loads(text)
        values = raw["values"]
        chords = [grammar.Chord(offset, tuple(pitches)) for offset, pitches in raw["chords"]]
        pieces = tuple(
            Piece(
                tuple(tuple(values[i] for i in m) for m in piece["measures"]),
                tuple(tuple(chords[i] for i in m) for m in piece["chords"]),
                Melody.from_json(piece["melody"]),
                piece["source"],
                cache_hit=True,
            )
            for piece in raw["pieces"]
        )
        return cls(Corpus(pieces), raw["left_out"], Counts(**raw["counts"]))


def _index(items: Sequence) -> dict:
    return {item: i for i, item in enumerate(items)}


def solo_names(folder: Path, pattern: str = "*") -> list[str]:
    """The solos of `folder` whose names match the glob `pattern`, sorted."""
    melodies = sorted(p.stem for p in (Path(folder) / MELODY).glob("*.csv"))
    if not melodies:
        raise JazzFlaxError(
            f"no WJazzD solos in {folder}/{MELODY}",
            hint="`make wjazzd` downloads them (or put the folder there by hand)",
        )
    names = [name for name in melodies if fnmatch.fnmatchcase(name, pattern)]
    if not names:
        raise JazzFlaxError(f"no WJazzD solo in {folder} matches {pattern!r}")
    return names


def load(
    folder: str | os.PathLike | None = None,
    solos: str = "*",
    cache_dir: str | os.PathLike | None = None,
    jobs: int = 1,
    grammar_name: str = "notebook",
) -> Reading:
    """The solos of `folder` (default data/wjazzd, under $JAZZ_FLAX_DATA) matching `solos` in
    grammar `grammar_name`, from the cache when their files are unchanged.

    A cold read parses them in `jobs` processes. One is the default: most of a cold read is
    music21 deriving each distinct chord's scale (`grammar.harmony`), which every process would
    do again for the chords it meets (experiments/bench_wjazzd.py measures both).
    """
    folder = Path(folder or data_path("wjazzd"))
    names = solo_names(folder, solos)
    paths = [solo_paths(folder, name) for name in names]
    digest = hashlib.sha256()
    for path in (p for pair in paths for p in pair):
        digest.update(path.read_bytes() if path.is_file() else b"missing")
    options = dict(reader="wjazzd", reader_version=READER_VERSION, solos=names)
    options.update(grammar=grammar.check_name(grammar_name))
    entry = cache.cache_entry(cache_dir, digest.hexdigest(), options)
    cached = cache.read_cache_payload(entry)
    if cached is not None:
        return Reading.from_json(cached)
    reading = _read_all(paths, jobs, grammar_name)
    cache.write_cache_payload(entry, reading.to_json())
    return reading


def read(data_config: ml_collections.ConfigDict) -> Corpus:
    """The READERS entry: the solos `data.solos` of the folder `data.path`, in `data.grammar`;
    what reading left out and changed is the corpus' report."""
    reading = load(data_config.path, data_config.solos, grammar_name=data_config.grammar)
    return dataclasses.replace(reading.corpus, report=reading.report())


def _read_all(paths: Sequence[tuple[Path, Path]], jobs: int, grammar_name: str) -> Reading:
    jobs = min(jobs, len(paths))
    read = functools.partial(_read_or_leave_out, grammar_name=grammar_name)
    if jobs > 1:
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=_spawn()) as pool:
            results = list(pool.map(read, paths, chunksize=4))
    else:
        results = [read(pair) for pair in paths]
    pieces, left_out, counts = [], {}, Counts()
    for (melody, _), (piece, solo_counts, reason) in zip(paths, results, strict=True):
        if reason:
            left_out[solo_name(melody)] = reason
        else:
            pieces.append(piece)
            counts.add(solo_counts)
    return Reading(Corpus(tuple(pieces)), left_out, counts)


def _read_or_leave_out(
    pair: tuple[Path, Path], grammar_name: str
) -> tuple[Piece | None, Counts | None, str]:
    try:
        return (*read_solo(*pair, grammar_name), "")
    except LeftOut as e:
        return None, None, str(e)


def _spawn():
    """Fresh worker processes: forking one that runs JAX's threads can deadlock."""
    import multiprocessing

    return multiprocessing.get_context("spawn")

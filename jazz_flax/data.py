"""From a MIDI or MusicXML solo to a token corpus, a vocabulary and training windows.

    score ──parse (music21, ≈8 s, cached)──▶ Corpus: tokens and chords per measure
    Corpus.ids ──make_windows──▶ Windows(x, y): int32 (m, Tx), EMPTY where a vector is all zeros

`python -m jazz_flax.data summary [--midi PATH] [--json]` prints the corpus' shapes.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import ml_collections
import numpy as np

from jazz_flax import grammar
from jazz_flax.errors import JazzFlaxError, one_line_errors
from jazz_flax.files import atomic_write

EMPTY = -1  # id of an all-zero vector: the notebook's x<1> and its last target
BEATS_PER_MEASURE = 4
PIPELINE_VERSION = 2  # bump when parsing changes: it invalidates every cache entry
MUSIC_SUFFIXES = (".mid", ".midi", ".xml", ".mxl", ".musicxml")


def default_config() -> ml_collections.ConfigDict:
    """The data settings of the seed notebook (the Metheny file)."""
    return ml_collections.ConfigDict(
        dict(
            path="data/original_metheny.mid",
            melody_part="Guitar",
            chord_part="Piano",
            start=476.0,  # the accompanied solo, in quarter notes
            end=548.0,
            windows="notebook",  # "notebook": m random windows; "sliding": every window
            m=60,  # notebook mode: number of windows
            Tx=30,
            window_seed=0,  # notebook mode: np.random.seed of the window starts
            stride=1,  # sliding mode
            holdout_measures=0,  # the last measures, kept out of training for held-out NLL
        )
    )


# ---------------------------------------------------------------------------------------------
# Vocabulary


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """The distinct token values, sorted, so ids never depend on hashing or file order."""

    values: tuple[str, ...]

    @classmethod
    def from_tokens(cls, tokens: Iterable[str]) -> Vocabulary:
        return cls(tuple(sorted(set(tokens))))

    def __len__(self) -> int:
        return len(self.values)

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {value: i for i, value in enumerate(self.values)}

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """int32 ids of `tokens`; a token outside the vocabulary raises ValueError naming it."""
        try:
            return np.array([self._index[t] for t in tokens], dtype=np.int32)
        except KeyError as e:
            raise ValueError(f"token {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.values[int(i)] for i in ids]

    def to_json(self) -> str:
        return json.dumps({"values": list(self.values)})

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        return cls(tuple(json.loads(text)["values"]))


# ---------------------------------------------------------------------------------------------
# Corpus


@dataclasses.dataclass(frozen=True)
class Corpus:
    """Tokens, chords and notes of each measure of a section; the first is not trained on."""

    measures: tuple[tuple[str, ...], ...]  # grammar tokens of each measure
    chords: tuple[tuple[grammar.Chord, ...], ...]  # chords of each measure, offsets within it
    melody: tuple[tuple[grammar.Event, ...], ...]  # the notes themselves (double stops: top note)
    source: dict  # file, sha256, parts and section it came from
    cache_hit: bool = dataclasses.field(default=False, compare=False)

    @property
    def n_measures(self) -> int:
        return len(self.measures)

    @functools.cached_property
    def tokens(self) -> list[str]:
        """The training corpus: every measure's tokens but the first's, as the seed does."""
        return [token for measure in self.measures[1:] for token in measure]

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        return Vocabulary.from_tokens(self.tokens)

    @functools.cached_property
    def ids(self) -> np.ndarray:
        return self.vocab.encode(self.tokens)

    def split_ids(self, holdout_measures: int) -> tuple[np.ndarray, np.ndarray]:
        """(training ids, held-out ids): the last `holdout_measures` measures are held out.

        The vocabulary covers both, so held-out tokens have ids.
        """
        trained = len(self.measures) - 1  # the first measure is never used
        if not 0 <= holdout_measures < trained:
            raise JazzFlaxError(
                f"holdout_measures={holdout_measures} leaves nothing to train on",
                hint=f"use 0 to {trained - 1} for this corpus of {trained} measures",
            )
        held_out = sum(len(m) for m in self.measures[len(self.measures) - holdout_measures :])
        return self.ids[: len(self.ids) - held_out], self.ids[len(self.ids) - held_out :]

    def to_json(self) -> dict:
        return {
            "measures": [list(m) for m in self.measures],
            "chords": [[[c.offset, list(c.pitches)] for c in m] for m in self.chords],
            "melody": [[[e.offset, e.duration, e.pitch] for e in m] for m in self.melody],
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict, cache_hit: bool = False) -> Corpus:
        chords = tuple(
            tuple(grammar.Chord(float(offset), tuple(pitches)) for offset, pitches in m)
            for m in data["chords"]
        )
        melody = tuple(tuple(grammar.Event(*e) for e in m) for m in data["melody"])
        measures = tuple(tuple(m) for m in data["measures"])
        if not len(measures) == len(chords) == len(melody):
            raise ValueError("inconsistent corpus data")
        if not all(isinstance(t, str) for m in measures for t in m):
            raise ValueError("inconsistent corpus data")
        return cls(measures, chords, melody, dict(data["source"]), cache_hit)


def load_corpus(
    path: str | os.PathLike,
    melody_part: str = "Guitar",
    chord_part: str = "Piano",
    start: float = 476.0,
    end: float = 548.0,
    cache_dir: str | os.PathLike | None = None,
) -> Corpus:
    """The corpus of the section [start, end] of a MIDI or MusicXML file, from the cache if there.

    The cache entry is keyed by the file's sha256, the options and PIPELINE_VERSION; an entry that
    does not read back whole is rebuilt.
    """
    path = Path(path)
    if not path.is_file():
        raise JazzFlaxError(f"no such file: {path}", hint="run `make data` to download the solo")
    options = dict(melody_part=melody_part, chord_part=chord_part, start=start, end=end)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    entry = _cache_entry(cache_dir, sha256, options)
    cached = _read_cache(entry)
    if cached is not None:
        return cached
    corpus = parse_file(path, **options)
    corpus.source.update(sha256=sha256)
    payload = json.dumps(corpus.to_json())
    checksum = hashlib.sha256(payload.encode()).hexdigest()
    atomic_write(entry, json.dumps({"checksum": checksum, "corpus": payload}))
    return corpus


def load_corpus_from_config(data_config: ml_collections.ConfigDict) -> Corpus:
    return load_corpus(
        data_config.path,
        data_config.melody_part,
        data_config.chord_part,
        data_config.start,
        data_config.end,
    )


def cache_root() -> Path:
    """$JAZZ_FLAX_CACHE, else $XDG_CACHE_HOME/jazz_flax, else ~/.cache/jazz_flax."""
    if "JAZZ_FLAX_CACHE" in os.environ:
        return Path(os.environ["JAZZ_FLAX_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jazz_flax"


def _cache_entry(cache_dir, sha256: str, options: dict) -> Path:
    key = json.dumps(dict(options, sha256=sha256, version=PIPELINE_VERSION), sort_keys=True)
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    return Path(cache_dir or cache_root()) / f"corpus-{name}.json"


def _read_cache(entry: Path) -> Corpus | None:
    """The cached corpus, or None when the entry is missing or does not check out."""
    try:
        wrapper = json.loads(entry.read_text())
        payload = wrapper["corpus"]
        if hashlib.sha256(payload.encode()).hexdigest() != wrapper["checksum"]:
            return None
        return Corpus.from_json(json.loads(payload), cache_hit=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------------------------------------
# Parsing a score (music21)


def parse_file(path: Path, melody_part: str, chord_part: str, start: float, end: float) -> Corpus:
    """Parses the section [start, end] of the file: one token list and chord list per measure."""
    if path.suffix.lower() not in MUSIC_SUFFIXES:
        raise JazzFlaxError(
            f"{path} is not a music file", hint=f"expected one of {', '.join(MUSIC_SUFFIXES)}"
        )
    from music21 import converter

    try:
        score = converter.parse(str(path))
    except Exception as e:  # music21 raises many types for a file it cannot read
        raise JazzFlaxError(f"{path} could not be read as MIDI or MusicXML: {e}") from None
    melody_stream, chord_stream = _part(score, melody_part, path), _part(score, chord_part, path)
    melody = _section(melody_stream, start, end, ("Note", "Rest", "Chord"))
    if not any(not e.isRest for e in melody):
        raise JazzFlaxError(
            f"no notes in part {melody_part!r} between offsets {start:g} and {end:g} of {path}"
        )
    chords = _section(chord_stream, start, end, ("Chord",))
    melody_by_measure = _group_by_measure(melody)
    chords_by_measure = _group_by_measure(chords)
    measures, measure_chords, melody_events = [], [], []
    for number, elements in melody_by_measure.items():
        measure_start = float(number * BEATS_PER_MEASURE)
        chord_list = tuple(
            grammar.Chord.from_music21(c, float(c.offset) - measure_start)
            for c in chords_by_measure.get(number, [])
        )
        if not chord_list:
            raise JazzFlaxError(
                f"measure at offset {measure_start:g} of {path} has no chord in part "
                f"{chord_part!r}",
                hint="choose the chord part with --chord-part or another section",
            )
        measures.append(tuple(grammar.parse_measure(elements, chord_list, measure_start)))
        measure_chords.append(chord_list)
        melody_events.append(tuple(_event(e, measure_start) for e in elements))
    source = dict(
        path=str(path), melody_part=melody_part, chord_part=chord_part, start=start, end=end
    )
    return Corpus(tuple(measures), tuple(measure_chords), tuple(melody_events), source)


def _event(element, measure_start: float) -> grammar.Event:
    """A melody element as an Event: rests have no pitch, double stops sound their top note."""
    pitch = None if element.isRest else max(p.midi for p in element.pitches)
    return grammar.Event(float(element.offset) - measure_start, float(element.quarterLength), pitch)


def _part(score, name: str, path: Path):
    for part in score.parts:
        if part.partName == name:
            return part
    names = ", ".join(str(p.partName) for p in score.parts) or "none"
    raise JazzFlaxError(f"{path} has no part named {name!r}; its parts: {names}")


def _section(part, start: float, end: float, classes: Sequence[str]) -> list:
    """The part's elements of the given classes with offsets in [start, end], in time order."""
    flat = part.flatten().getElementsByOffset(start, end, includeEndBoundary=True)
    return list(flat.getElementsByClass(list(classes)))


def _group_by_measure(elements: Sequence) -> dict[int, list]:
    groups: dict[int, list] = {}
    for element in elements:
        groups.setdefault(int(element.offset // BEATS_PER_MEASURE), []).append(element)
    return groups


# ---------------------------------------------------------------------------------------------
# Training windows


class Windows(NamedTuple):
    """Next-token training windows; EMPTY marks an all-zero input or an empty (masked) target."""

    x: np.ndarray  # int32 (m, Tx): inputs
    y: np.ndarray  # int32 (m, Tx): targets, y[:, t] follows x[:, t]

    @property
    def mask(self) -> np.ndarray:
        """bool (m, Tx): the targets that count in the loss."""
        return self.y != EMPTY


def notebook_windows(ids: np.ndarray, m: int, Tx: int, seed: int = 0) -> Windows:
    """The seed notebook's windows: m random starts as after `np.random.seed(seed)`.

    x[:, 0] is EMPTY, x[:, t] = ids[s + t] for t ≥ 1; y[:, t-1] = x[:, t] and y[:, Tx-1] is EMPTY.
    """
    _check_length(ids, Tx + 1)
    state = np.random.RandomState(seed)
    starts = np.array([state.choice(len(ids) - Tx) for _ in range(m)])
    window = ids[starts[:, None] + np.arange(Tx)]
    x = window.copy()
    x[:, 0] = EMPTY
    y = np.full_like(window, EMPTY)
    y[:, :-1] = window[:, 1:]
    return Windows(x, y)


def sliding_windows(ids: np.ndarray, Tx: int, stride: int = 1) -> Windows:
    """Every window of Tx tokens, starting each `stride` tokens, every target used.

    x[:, 0] is EMPTY (a start-of-sequence input, as the sampler's zero start) and y = the window.
    """
    _check_length(ids, Tx)
    starts = np.arange(0, len(ids) - Tx + 1, stride)
    y = ids[starts[:, None] + np.arange(Tx)]
    x = np.concatenate([np.full((len(starts), 1), EMPTY, ids.dtype), y[:, :-1]], axis=1)
    return Windows(x, y)


def make_windows(ids: np.ndarray, data_config: ml_collections.ConfigDict) -> Windows:
    """Windows of the kind `data_config.windows` names."""
    if data_config.windows == "notebook":
        return notebook_windows(ids, data_config.m, data_config.Tx, data_config.window_seed)
    if data_config.windows == "sliding":
        return sliding_windows(ids, data_config.Tx, data_config.stride)
    raise JazzFlaxError(
        f"unknown windows mode {data_config.windows!r}", hint="use 'notebook' or 'sliding'"
    )


def _check_length(ids: np.ndarray, needed: int) -> None:
    if len(ids) < needed:
        raise JazzFlaxError(
            f"the corpus has {len(ids)} tokens, too few for windows of {needed}",
            hint="use a smaller Tx or a longer section",
        )


# ---------------------------------------------------------------------------------------------
# Command line


def summary(corpus: Corpus, data_config: ml_collections.ConfigDict) -> dict:
    """Shapes of the corpus and of its windows in the notebook's one-hot layout."""
    windows = make_windows(corpus.ids, data_config)
    m, Tx = windows.x.shape
    n_values = len(corpus.vocab)
    return dict(
        n_values=n_values,
        corpus_len=len(corpus.tokens),
        n_measures=corpus.n_measures,
        X_shape=[m, Tx, n_values],
        Y_shape=[Tx, m, n_values],
        cache_hit=corpus.cache_hit,
    )


def main(argv: list[str] | None = None) -> None:
    defaults = default_config()
    parser = argparse.ArgumentParser(prog="python -m jazz_flax.data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("summary", help="print the corpus' shapes")
    cmd.add_argument("--midi", default=defaults.path, help="MIDI or MusicXML file")
    cmd.add_argument("--melody-part", default=defaults.melody_part)
    cmd.add_argument("--chord-part", default=defaults.chord_part)
    cmd.add_argument("--start", type=float, default=defaults.start)
    cmd.add_argument("--end", type=float, default=defaults.end)
    cmd.add_argument("--json", action="store_true", help="print one JSON object")
    cmd.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)

    data_config = defaults
    data_config.update(
        path=args.midi,
        melody_part=args.melody_part,
        chord_part=args.chord_part,
        start=args.start,
        end=args.end,
    )
    with one_line_errors(args.debug):
        began = time.perf_counter()
        corpus = load_corpus_from_config(data_config)
        info = summary(corpus, data_config)
        info["load_seconds"] = round(time.perf_counter() - began, 3)
    if args.json:
        print(json.dumps(info))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

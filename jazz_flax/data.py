"""From MIDI or MusicXML files to a token corpus, a vocabulary and training windows.

    file ──parse_file (music21 via `scores`, ≈8 s, cached per file)──▶ Piece: tokens, chords and
          notes per measure
    pieces ──one sorted vocabulary──▶ Corpus ──segments──▶ Segment(ids, chords) per piece
    segments ──segment_windows (never across two pieces)──▶ Windows(x, y, chords)

`data_config.path` is a file, a folder (its music files) or a glob. A piece's chords come from a
chord part or from the chord symbols of a lead sheet (`chord_part="symbols"`); each token has the
features of the chord sounding at its onset (`chord_vector`: 12 pitch classes, then 12 roots).
With `data_config.split_seed`, a `SplitCorpus`: whole pieces in train/valid/test, the vocabulary
the training split's (with `<unk>`); `data_config.reader = "wjazzd"` reads the Weimar Jazz Database
(`jazz_flax/wjazzd.py`).

`python -m jazz_flax.data summary [--midi PATH | --config EXPERIMENT] [--json]` prints the corpus'
shapes (with --config also its splits and, for WJazzD, what reading left out).
"""

from __future__ import annotations

import collections
import dataclasses
import difflib
import fnmatch
import functools
import glob
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import ml_collections
import numpy as np

from jazz_flax import grammar, interrupts, scores
from jazz_flax.errors import (
    ArgumentParser,
    JazzFlaxError,
    one_line_errors,
    warn_once,
)
from jazz_flax.files import atomic_write, call_function
from jazz_flax.grammar import notebook
from jazz_flax.scores import BEATS_PER_MEASURE, MUSIC_SUFFIXES

EMPTY = -1  # id of an all-zero vector: the notebook's x<1> and its last target
UNK = "<unk>"  # the value of tokens outside a vocabulary built with a min_count
SPLITS = ("train", "valid", "test")
PIPELINE_VERSION = 4  # bump when parsing changes: it invalidates every cache entry
CHORD_SYMBOLS = "symbols"  # chord_part: the chord symbols written in the melody part
PART_RULE_KEYS = ("melody_part", "chord_part")  # what a `parts` rule may set
CHORD_FEATURES = 24  # chord_vector: 12 pitch classes, then 12 roots


def default_config() -> ml_collections.ConfigDict:
    """The data settings' defaults: `config.defaults().data`."""
    from jazz_flax import config  # config imports losses, which imports this module

    return config.defaults().data


# ---------------------------------------------------------------------------------------------
# Vocabulary


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """The distinct token values, sorted, so ids never depend on hashing or file order, and the
    grammar that made them (with v2, the corpus' voice range its decoder keeps to)."""

    values: tuple[str, ...]
    grammar: str = "notebook"
    register: tuple[int, int] | None = None  # v2: lowest and highest MIDI pitch

    @classmethod
    def from_tokens(cls, tokens: Iterable[str], grammar: str = "notebook", register=None):
        return cls(tuple(sorted(set(tokens))), grammar, register)

    @property
    def rules(self) -> grammar.Rules:
        """How this vocabulary's tokens decode (`grammar.rules`)."""
        return grammar.rules(self.grammar, self.register)

    def __len__(self) -> int:
        return len(self.values)

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {value: i for i, value in enumerate(self.values)}

    @classmethod
    def from_counts(
        cls, tokens: Iterable[str], min_count: int, grammar: str = "notebook", register=None
    ) -> Vocabulary:
        """The tokens seen at least `min_count` times, and UNK for the others."""
        counts = collections.Counter(tokens)
        values = tuple(sorted({t for t, n in counts.items() if n >= min_count} | {UNK}))
        return cls(values, grammar, register)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """int32 ids of `tokens`; a token outside the vocabulary is UNK's id when the vocabulary
        has UNK, else a ValueError naming it."""
        index, unknown = self._index, self._index.get(UNK)
        try:
            return np.array(
                [index.get(t, unknown) if unknown is not None else index[t] for t in tokens],
                np.int32,
            )
        except KeyError as e:
            raise ValueError(f"token {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.values[int(i)] for i in ids]

    def playable(self, ids: Iterable[int]) -> list[str]:
        """`decode`, without UNK: the tokens a solo can be made of."""
        return [token for token in self.decode(ids) if token != UNK]

    @functools.cached_property
    def durations(self) -> np.ndarray:
        """float32 (V,): each value's duration in beats (v2's exactly, not to three decimals;
        UNK's 0)."""
        durations = [0.0 if v == UNK else grammar.Token.parse(v).duration for v in self.values]
        if self.grammar == "v2":
            durations = grammar.v2.prune_durations(durations, rng=None)
        return np.array(durations, np.float32)

    def to_json(self) -> str:
        fields = {"values": list(self.values), "grammar": self.grammar}
        return json.dumps(fields | ({"register": list(self.register)} if self.register else {}))

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        fields = json.loads(text)  # a vocabulary saved before grammars were chosen is notebook's
        register = fields.get("register")
        return cls(
            tuple(fields["values"]),
            fields.get("grammar", "notebook"),
            tuple(register) if register else None,
        )


# ---------------------------------------------------------------------------------------------
# Chord features


def chord_vector(chord: grammar.Chord) -> np.ndarray:
    """float32 (CHORD_FEATURES,): the chord's pitch classes (multi-hot), then its root (one-hot)."""
    return _chord_vector(chord.pitches).copy()


@functools.cache  # once per distinct chord; not `chord.harmony`, whose scale is slow to derive
def _chord_vector(pitches: tuple[str, ...]) -> np.ndarray:
    from music21 import chord as m21chord

    chord = m21chord.Chord(list(pitches))
    vector = np.zeros(CHORD_FEATURES, np.float32)
    vector[sorted({p.pitchClass for p in chord.pitches})] = 1.0
    vector[12 + chord.root().pitchClass] = 1.0
    return vector


# ---------------------------------------------------------------------------------------------
# Pieces and the corpus


@dataclasses.dataclass(frozen=True)
class Piece:
    """Tokens, chords and notes of each measure of a file's section; the first is not trained on."""

    measures: tuple[tuple[str, ...], ...]  # grammar tokens of each measure
    chords: tuple[tuple[grammar.Chord, ...], ...]  # chords of each measure, offsets within it
    melody: tuple[tuple[grammar.Event, ...], ...]  # the notes themselves (double stops: top note)
    source: dict  # file, sha256, parts and section it came from
    cache_hit: bool = dataclasses.field(default=False, compare=False)

    @functools.cached_property
    def tokens(self) -> list[str]:
        """The piece's training tokens: every measure's but the first's, as the seed does."""
        return [token for measure in self.measures[1:] for token in measure]

    @functools.cached_property
    def token_chords(self) -> list[grammar.Chord]:
        """The chord sounding at each of `tokens`, at its onset (`grammar.onsets`)."""
        return [
            grammar.chord_at(chords, onset)
            for measure, chords in zip(self.measures[1:], self.chords[1:], strict=True)
            for onset in grammar.onsets(measure)
        ]

    @functools.cached_property
    def chord_features(self) -> np.ndarray:
        """float32 (len(tokens), CHORD_FEATURES): `chord_vector` of each token's chord."""
        vectors = [chord_vector(chord) for chord in self.token_chords]
        return np.array(vectors, np.float32).reshape(-1, CHORD_FEATURES)

    def held_out_tokens(self, holdout_measures: int) -> int:
        """How many tokens the last `holdout_measures` measures hold."""
        return sum(len(m) for m in self.measures[len(self.measures) - holdout_measures :])

    def to_json(self) -> dict:
        return {
            "measures": [list(m) for m in self.measures],
            "chords": [[[c.offset, list(c.pitches)] for c in m] for m in self.chords],
            "melody": [[[e.offset, e.duration, e.pitch] for e in m] for m in self.melody],
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict, cache_hit: bool = False) -> Piece:
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


class Segment(NamedTuple):
    """Consecutive training tokens of one piece: their ids and their chords' features."""

    ids: np.ndarray  # int32 (n,)
    chords: np.ndarray  # float32 (n, CHORD_FEATURES): chord_vector of each token's chord

    @classmethod
    def without_chords(cls, ids: np.ndarray) -> Segment:
        """`ids` with all-zero chord features."""
        return cls(ids, np.zeros((len(ids), CHORD_FEATURES), np.float32))


@dataclasses.dataclass(frozen=True)
class Corpus:
    """Pieces with one vocabulary; its measures, chords and notes are theirs, one after another."""

    pieces: tuple[Piece, ...]

    @property
    def cache_hit(self) -> bool:
        return all(piece.cache_hit for piece in self.pieces)

    @functools.cached_property
    def measures(self) -> tuple[tuple[str, ...], ...]:
        return tuple(m for piece in self.pieces for m in piece.measures)

    @functools.cached_property
    def chords(self) -> tuple[tuple[grammar.Chord, ...], ...]:
        return tuple(c for piece in self.pieces for c in piece.chords)

    @functools.cached_property
    def melody(self) -> tuple[tuple[grammar.Event, ...], ...]:
        return tuple(e for piece in self.pieces for e in piece.melody)

    @property
    def n_measures(self) -> int:
        return len(self.measures)

    @functools.cached_property
    def tokens(self) -> list[str]:
        """The training corpus: each piece's tokens (its first measure aside), piece after piece."""
        return [token for piece in self.pieces for token in piece.tokens]

    @property
    def grammar(self) -> str:
        """The grammar of the pieces' tokens."""
        return self.pieces[0].source.get("grammar", "notebook")

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        """The tokens' vocabulary; with grammar v2, the voice range of the corpus' notes too."""
        return Vocabulary.from_tokens(self.tokens, self.grammar, self.register_of(self.pieces))

    def register_of(self, pieces: Sequence[Piece]) -> tuple[int, int] | None:
        """With grammar v2, the voice range of the pieces' notes (`grammar.v2.register`)."""
        if self.grammar == "notebook":
            return None
        pitches = [_pitches(piece.melody) for piece in pieces]
        return grammar.v2.register(np.concatenate(pitches) if pitches else [])

    @functools.cached_property
    def ids(self) -> np.ndarray:
        return self.vocab.encode(self.tokens)

    @functools.cached_property
    def segments(self) -> tuple[Segment, ...]:
        """Each piece's ids (cut from `ids`) and chord features."""
        ends = np.cumsum([len(piece.tokens) for piece in self.pieces])
        ids = np.split(self.ids, ends[:-1])
        return tuple(
            Segment(piece_ids, piece.chord_features)
            for piece_ids, piece in zip(ids, self.pieces, strict=True)
        )

    def split(self, holdout_measures: int) -> tuple[list[Segment], list[Segment]]:
        """(training segments, held-out segments), one of each per piece: each piece's last
        `holdout_measures` measures are held out. The vocabulary covers both."""
        shortest = min(len(piece.measures) - 1 for piece in self.pieces)  # the first is never used
        if not 0 <= holdout_measures < shortest:
            raise JazzFlaxError(
                f"holdout_measures={holdout_measures} leaves nothing to train on",
                hint=f"use 0 to {shortest - 1}: the shortest piece has {shortest} measures",
            )
        trained, held_out = [], []
        for piece, segment in zip(self.pieces, self.segments, strict=True):
            cut = len(segment.ids) - piece.held_out_tokens(holdout_measures)
            trained.append(Segment(segment.ids[:cut], segment.chords[:cut]))
            held_out.append(Segment(segment.ids[cut:], segment.chords[cut:]))
        return trained, held_out

    def split_ids(self, holdout_measures: int) -> tuple[np.ndarray, np.ndarray]:
        """(training ids, held-out ids): `split`'s segments' ids, each side concatenated."""
        return tuple(
            np.concatenate([segment.ids for segment in side])
            for side in self.split(holdout_measures)
        )


def _pitches(melody) -> np.ndarray:
    """The MIDI pitches of a piece's notes; a `wjazzd.Melody` reads them from its rows (its
    `pitches`) rather than build its events."""
    if hasattr(melody, "pitches"):
        return melody.pitches
    return np.array([e.pitch for m in melody for e in m if e.pitch is not None], np.int64)


@dataclasses.dataclass(frozen=True)
class SplitCorpus(Corpus):
    """A corpus split by piece into SPLITS; the vocabulary is the training split's.

    Training tokens seen fewer than `min_count` times, and tokens of the other splits outside the
    vocabulary, are UNK. `split()` gives the training segments and the test split's, so that
    training and `evaluate` use the test split as they use held-out measures.
    """

    indices: Mapping[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    min_count: int = 1

    @classmethod
    def from_config(cls, corpus: Corpus, data_config: ml_collections.ConfigDict) -> SplitCorpus:
        keys = [piece.source[_split_key(data_config, piece)] for piece in corpus.pieces]
        valid, test = data_config.valid_fraction, data_config.test_fraction
        indices = split_indices(keys, data_config.split_seed, valid, test)
        return cls(corpus.pieces, indices, data_config.min_count)

    def pieces_of(self, split: str) -> list[Piece]:
        return [self.pieces[i] for i in self.indices[split]]

    def tokens_of(self, split: str) -> list[str]:
        return [token for piece in self.pieces_of(split) for token in piece.tokens]

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        """The training split's tokens seen `min_count` times, UNK; with v2 its voice range."""
        register = self.register_of(self.pieces_of("train"))
        return Vocabulary.from_counts(
            self.tokens_of("train"), self.min_count, self.grammar, register
        )

    @functools.cached_property
    def segments(self) -> tuple[Segment, ...]:
        """Each piece's ids (UNK for those outside the vocabulary) and chord features."""
        return tuple(Segment(self.vocab.encode(p.tokens), p.chord_features) for p in self.pieces)

    def segments_of(self, split: str) -> list[Segment]:
        return [self.segments[i] for i in self.indices[split]]

    def oov_rate(self, split: str) -> float:
        """The share of the split's tokens that are UNK."""
        ids = np.concatenate([s.ids for s in self.segments_of(split)] or [np.zeros(0, np.int32)])
        return float(np.mean(ids == self.vocab.encode([UNK])[0])) if len(ids) else math.nan

    def split(self, holdout_measures: int = 0) -> tuple[list[Segment], list[Segment]]:
        """(training segments, test segments): the splits replace held-out measures."""
        if holdout_measures:
            raise JazzFlaxError(
                "a corpus split by piece holds out whole pieces, not measures",
                hint="use --config.data.holdout_measures=0",
            )
        return self.segments_of("train"), self.segments_of("test")


def default_changes(corpus: Corpus) -> Corpus:
    """What a solo is improvised over when no chords are given: the corpus' pieces; of a corpus
    split by piece, its first test piece (the whole corpus would be hours of music)."""
    if isinstance(corpus, SplitCorpus):
        return Corpus(tuple(corpus.pieces_of("test")[:1]))
    return corpus


def piece_name(piece: Piece) -> str:
    """A WJazzD solo's name (e.g. `JohnColtrane_GiantSteps-1_FINAL`), else its file's stem."""
    return piece.source.get("solo") or Path(piece.source["path"]).stem


def piece_names(corpus: Corpus) -> list[tuple[str, str]]:
    """(name, split) of each piece, sorted by name; the split is "train" in an unsplit corpus."""
    splits = {i: s for s, ids in getattr(corpus, "indices", {}).items() for i in ids}
    names = [(piece_name(p), splits.get(i, "train")) for i, p in enumerate(corpus.pieces)]
    return sorted(names)


def piece_named(corpus: Corpus, name: str) -> Piece:
    """The piece called `name` (WJazzD's `_FINAL` may be left off), else a JazzFlaxError
    suggesting close names."""
    pieces = {piece_name(p): p for p in corpus.pieces}
    for candidate in (name, f"{name}_FINAL"):
        if candidate in pieces:
            return pieces[candidate]
    close = difflib.get_close_matches(name, pieces, n=3, cutoff=0.5)
    suggestion = f"did you mean {', '.join(close)}? " if close else ""
    raise JazzFlaxError(
        f"no solo named {name!r} in the corpus", hint=f"{suggestion}--list_solos lists them"
    )


def _split_key(data_config: ml_collections.ConfigDict, piece: Piece) -> str:
    """The source field that keeps pieces together in one split: "path" (each piece on its
    own) or e.g. "performer"."""
    key = data_config.split_by
    if key not in piece.source:
        raise JazzFlaxError(
            f"split_by={key!r}: the pieces do not say it", hint=f"use one of {sorted(piece.source)}"
        )
    return key


def split_indices(
    keys: Sequence[str], seed: int, valid: float = 0.05, test: float = 0.05
) -> dict[str, tuple[int, ...]]:
    """Indices of the pieces in each of SPLITS; pieces with the same key go to the same split.

    The distinct keys are shuffled by `seed`; test, then valid, take keys until they hold their
    fraction of the pieces (at least one key each), train the rest. Deterministic in `seed`.
    """
    if not (0 < valid and 0 < test and valid + test < 1):
        raise JazzFlaxError(
            f"valid_fraction={valid} and test_fraction={test} must be > 0 and leave some to train"
        )
    groups = sorted(set(keys))
    order = [groups[i] for i in np.random.default_rng(seed).permutation(len(groups))]
    members = collections.defaultdict(list)
    for index, key in enumerate(keys):
        members[key].append(index)
    chosen, taken = {}, 0
    for split, fraction in (("test", test), ("valid", valid)):
        want, held = fraction * len(keys), []
        while order[taken:] and (not held or len(held) < want):
            held += members[order[taken]]
            taken += 1
        chosen[split] = tuple(sorted(held))
    chosen["train"] = tuple(sorted(i for key in order[taken:] for i in members[key]))
    return {split: chosen[split] for split in SPLITS}


# ---------------------------------------------------------------------------------------------
# Loading files, the cache


def load_corpus(
    path: str | os.PathLike,
    melody_part: str = "Guitar",
    chord_part: str = "Piano",
    start: float | None = 476.0,
    end: float | None = 548.0,
    cache_dir: str | os.PathLike | None = None,
    parts: Mapping[str, Mapping[str, str]] | None = None,
    grammar: str = "notebook",
) -> Corpus:
    """The corpus of the section [start, end] (None: the piece's start or end) of each file.

    `path` is a MIDI or MusicXML file, a folder or a glob (`music_files`). The first rule of
    `parts` whose pattern matches a file's stem (or name) sets that file's melody_part and
    chord_part. `grammar` ("notebook" or "v2") makes the tokens. Each file is read from the cache
    if there (`load_piece`).
    """
    files = music_files(path)
    options = dict(melody_part=melody_part, chord_part=chord_part, start=start, end=end)
    options.update(grammar=_known_grammar(grammar))
    per_file = options_per_file(files, options, parts or {})
    return Corpus(tuple(load_piece(f, o, cache_dir) for f, o in zip(files, per_file, strict=True)))


def load_corpus_from_config(data_config: ml_collections.ConfigDict) -> Corpus:
    """The corpus `data_config` names; a SplitCorpus when it sets `split_seed`."""
    corpus = _read_corpus(data_config)
    if data_config.split_seed is None:
        return corpus
    return SplitCorpus.from_config(corpus, data_config)


def _read_corpus(data_config: ml_collections.ConfigDict) -> Corpus:
    if data_config.reader == "wjazzd":
        from jazz_flax import wjazzd

        return wjazzd.load_from_config(data_config).corpus
    return load_corpus(
        data_config.path,
        data_config.melody_part,
        data_config.chord_part,
        data_config.start,
        data_config.end,
        parts=data_config.parts.to_dict(),
        grammar=data_config.grammar,
    )


def _known_grammar(name: str) -> str:
    return grammar.check_name(name)


def music_files(path: str | os.PathLike) -> list[Path]:
    """The files `path` names: itself, a folder's music files, or those a glob matches; sorted."""
    path = Path(path)
    if path.is_dir():
        candidates, where = path.iterdir(), f"in {path}"
    elif any(char in str(path) for char in "*?["):
        candidates, where = map(Path, glob.glob(str(path), recursive=True)), f"match {path}"
    else:
        return [path]
    files = sorted(p for p in candidates if p.suffix.lower() in MUSIC_SUFFIXES and p.is_file())
    if not files:
        raise JazzFlaxError(
            f"no music files {where}", hint=f"expected files ending in {', '.join(MUSIC_SUFFIXES)}"
        )
    return files


def options_per_file(
    files: Sequence[Path], options: dict, parts: Mapping[str, Mapping[str, str]]
) -> list[dict]:
    """Each file's options: `options`, updated by the first rule of `parts` that matches it.

    A rule that sets something else than PART_RULE_KEYS, or matches no file, is an error.
    """
    for pattern, rule in parts.items():
        if not isinstance(rule, Mapping) or set(rule) - set(PART_RULE_KEYS):
            raise JazzFlaxError(
                f"parts rule {pattern!r} must set {' and/or '.join(PART_RULE_KEYS)}, got {rule!r}"
            )
        if not any(_matches(file, pattern) for file in files):
            raise JazzFlaxError(
                f"parts rule {pattern!r} matches none of the {len(files)} files",
                hint="a rule names a file's stem or a glob of stems, e.g. 'berlin*'",
            )
    return [dict(options, **part_rule(file, parts)) for file in files]


def part_rule(file: Path, parts: Mapping[str, Mapping[str, str]]) -> Mapping[str, str]:
    """The first rule of `parts` whose pattern matches `file`; {} when none does."""
    return next((rule for pattern, rule in parts.items() if _matches(file, pattern)), {})


def _matches(file: Path, pattern: str) -> bool:
    return fnmatch.fnmatchcase(file.stem, pattern) or fnmatch.fnmatchcase(file.name, pattern)


def load_piece(path: Path, options: dict, cache_dir: str | os.PathLike | None = None) -> Piece:
    """The piece of one file (`parse_file` with `options`), from the cache if there.

    The cache entry is keyed by the file's sha256, the options and PIPELINE_VERSION; an entry that
    does not read back whole is rebuilt.
    """
    if not path.is_file():
        raise JazzFlaxError(
            f"no such file: {path}",
            hint="`make data` downloads the Metheny solo, `make leadsheets` copies the lead sheets",
        )
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    entry = cache_entry(cache_dir, sha256, options)
    cached = _read_cache(entry)
    if cached is not None:
        cached.source.update(path=str(path))  # the same music may have been cached from elsewhere
        return cached
    piece = parse_file(path, **options)
    piece.source.update(sha256=sha256)
    write_cache_payload(entry, json.dumps(piece.to_json()))
    return piece


def cache_root() -> Path:
    """$JAZZ_FLAX_CACHE, else $XDG_CACHE_HOME/jazz_flax, else ~/.cache/jazz_flax."""
    if "JAZZ_FLAX_CACHE" in os.environ:
        return Path(os.environ["JAZZ_FLAX_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jazz_flax"


def cache_entry(cache_dir, sha256: str, options: dict) -> Path:
    """The cache file of a source (its sha256) read with `options`, in this PIPELINE_VERSION."""
    key = json.dumps(dict(options, sha256=sha256, version=PIPELINE_VERSION), sort_keys=True)
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    return Path(cache_dir or cache_root()) / f"corpus-{name}.json"


def _read_cache(entry: Path) -> Piece | None:
    """The cached piece, or None when the entry is missing or does not check out."""
    payload = read_cache_payload(entry)
    try:
        return None if payload is None else Piece.from_json(json.loads(payload), cache_hit=True)
    except (ValueError, KeyError, TypeError):
        return None


def write_cache_payload(entry: Path, payload: str) -> None:
    """Writes the JSON text `payload` to the cache `entry` with its checksum; a cache that cannot
    be written is an optimisation lost: one warning."""
    checksum = hashlib.sha256(payload.encode()).hexdigest()
    try:
        atomic_write(entry, json.dumps({"checksum": checksum, "corpus": payload}))
    except JazzFlaxError as e:
        reason = getattr(e.__cause__, "strerror", None) or e.__cause__
        warn_once(f"cannot write {entry.parent}: {reason}; going on without the corpus cache")


def read_cache_payload(entry: Path) -> str | None:
    """The text `write_cache_payload` wrote, or None when missing or not checking out."""
    try:
        wrapper = json.loads(entry.read_text())
        payload = wrapper["corpus"]
        return (
            payload if hashlib.sha256(payload.encode()).hexdigest() == wrapper["checksum"] else None
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------------------------------------
# Parsing a score (music21)


def parse_file(
    path: Path,
    melody_part: str,
    chord_part: str,
    start: float | None,
    end: float | None,
    grammar: str = "notebook",
) -> Piece:
    """Parses the section [start, end] of the file: one token list and chord list per measure.

    The chords come from the part `chord_part`, or with CHORD_SYMBOLS from the melody part's chord
    symbols, each lasting until the next. `grammar` v2 re-parses the notes (`in_grammar_v2`).
    """
    score = scores.read_score(path)
    melody_stream = scores.melody_part(score, melody_part, path)
    symbols = chord_part == CHORD_SYMBOLS
    symbols_hint = f"for a lead sheet's chord symbols, use chord_part={CHORD_SYMBOLS!r}"
    chord_stream = melody_stream if symbols else scores.part(score, chord_part, path, symbols_hint)
    melody = scores.melody(scores.upper_voice(melody_stream, path), start, end)
    section = scores.section_text(start, end)
    if not any(not e.isRest for e in melody):
        raise JazzFlaxError(f"no notes in part {melody_part!r} {section} of {path}")
    chords = scores.section(chord_stream, start, end, ("ChordSymbol",) if symbols else ("Chord",))
    if symbols and not any(c.pitches for c in chords):
        raise JazzFlaxError(f"no chord symbols {section} of {path}", hint="name its chord part")
    melody_by_measure = scores.group_by_measure(melody)
    chords_by_measure = scores.measure_chords(chords, melody_by_measure, held=symbols)
    measures, melody_events = [], []
    for number, elements in melody_by_measure.items():
        measure_start = float(number * BEATS_PER_MEASURE)
        chords_here = chords_by_measure[number]
        if not chords_here:
            raise JazzFlaxError(
                f"measure at offset {measure_start:g} of {path} has no chord in part "
                f"{chord_part!r}",
                hint="choose another chord part (--config.data.chord_part) or section",
            )
        measures.append(tuple(notebook.parse_measure(elements, chords_here, measure_start)))
        melody_events.append(tuple(scores.event(e, measure_start) for e in elements))
    source = dict(
        path=str(path), melody_part=melody_part, chord_part=chord_part, start=start, end=end
    )
    measure_chords = tuple(chords_by_measure[number] for number in melody_by_measure)
    piece = Piece(tuple(measures), measure_chords, tuple(melody_events), source)
    return in_grammar_v2(piece) if grammar == "v2" else piece


def in_grammar_v2(piece: Piece) -> Piece:
    """The piece with grammar v2's tokens and monophonic line, and how many notes it snapped."""
    parsed = grammar.v2.parse(piece.melody, piece.chords)
    source = dict(piece.source, grammar="v2", snapped_durations=parsed.snapped)
    return Piece(
        tuple(map(tuple, parsed.measures)),
        piece.chords,
        tuple(map(tuple, parsed.melody)),
        source,
    )


# ---------------------------------------------------------------------------------------------
# Training windows


class Windows(NamedTuple):
    """Next-token training windows; EMPTY marks an all-zero input or an empty (masked) target."""

    x: np.ndarray  # int32 (m, Tx): inputs
    y: np.ndarray  # int32 (m, Tx): targets, y[:, t] follows x[:, t]
    chords: np.ndarray  # float32 (m, Tx, CHORD_FEATURES): the chord of each target y[:, t]

    @property
    def mask(self) -> np.ndarray:
        """bool (m, Tx): the targets that count in the loss."""
        return self.y != EMPTY


def notebook_windows(
    ids: np.ndarray, m: int, Tx: int, seed: int = 0, chords: np.ndarray | None = None
) -> Windows:
    """The seed notebook's windows: m random starts as after `np.random.seed(seed)`.

    x[:, 0] is EMPTY, x[:, t] = ids[s + t] for t ≥ 1; y[:, t-1] = x[:, t] and y[:, Tx-1] is EMPTY.
    `chords` (n, CHORD_FEATURES), one row per id, gives the windows' chords (None: zeros).
    """
    _check_length(ids, Tx, Tx + 1)
    state = np.random.RandomState(seed)
    starts = np.array([state.choice(len(ids) - Tx) for _ in range(m)])
    positions = starts[:, None] + np.arange(Tx)
    window = ids[positions]
    x = window.copy()
    x[:, 0] = EMPTY
    y = np.full_like(window, EMPTY)
    y[:, :-1] = window[:, 1:]
    return Windows(x, y, _target_chords(chords, positions + 1, y))


def sliding_windows(
    ids: np.ndarray, Tx: int, stride: int = 1, chords: np.ndarray | None = None
) -> Windows:
    """Every window of Tx tokens, starting each `stride` tokens, every target used.

    x[:, 0] is EMPTY (a start-of-sequence input, as the sampler's zero start) and y = the window.
    `chords` (n, CHORD_FEATURES), one row per id, gives the windows' chords (None: zeros).
    """
    _check_length(ids, Tx, Tx)
    starts = np.arange(0, len(ids) - Tx + 1, stride)
    positions = starts[:, None] + np.arange(Tx)
    y = ids[positions]
    x = np.concatenate([np.full((len(starts), 1), EMPTY, ids.dtype), y[:, :-1]], axis=1)
    return Windows(x, y, _target_chords(chords, positions, y))


def _target_chords(chords: np.ndarray | None, positions: np.ndarray, y: np.ndarray) -> np.ndarray:
    """float32 (m, Tx, CHORD_FEATURES): the rows `positions` of `chords`, zeros where y is EMPTY."""
    if chords is None:
        return np.zeros((*y.shape, CHORD_FEATURES), np.float32)
    return np.where((y != EMPTY)[..., None], chords[positions], 0.0).astype(np.float32)


def make_windows(
    ids: np.ndarray, data_config: ml_collections.ConfigDict, chords: np.ndarray | None = None
) -> Windows:
    """Windows of the kind `data_config.windows` names, cut from one sequence of ids."""
    if data_config.windows == "notebook":
        return notebook_windows(
            ids, data_config.m, data_config.Tx, data_config.window_seed, chords=chords
        )
    if data_config.windows == "sliding":
        return sliding_windows(ids, data_config.Tx, data_config.stride, chords=chords)
    raise JazzFlaxError(
        f"unknown windows mode {data_config.windows!r}", hint="use 'notebook' or 'sliding'"
    )


def segment_windows(segments: Sequence[Segment], data_config: ml_collections.ConfigDict) -> Windows:
    """`make_windows` of each segment, concatenated: no window spans two pieces.

    Notebook windows cut one piece. With several, a segment shorter than Tx gives no window.
    """
    if len(segments) == 1:
        return make_windows(segments[0].ids, data_config, segments[0].chords)
    if data_config.windows == "notebook":
        raise JazzFlaxError(
            f"notebook windows are cut from one piece; this corpus has {len(segments)}",
            hint="use sliding windows: --config.data.windows=sliding",
        )
    long_enough = [s for s in segments if len(s.ids) >= data_config.Tx]
    if not long_enough:
        raise JazzFlaxError(
            f"no piece has the {data_config.Tx} tokens of a window",
            hint="use a smaller Tx or longer sections",
        )
    windows = [make_windows(s.ids, data_config, s.chords) for s in long_enough]
    return Windows(*(np.concatenate(field) for field in zip(*windows, strict=True)))


def _check_length(ids: np.ndarray, Tx: int, needed: int) -> None:
    if len(ids) < needed:
        raise JazzFlaxError(
            f"the corpus has {len(ids)} tokens, too few for windows of Tx={Tx} "
            f"(they need {needed})",
            hint="use a smaller Tx or a longer section",
        )


# ---------------------------------------------------------------------------------------------
# Command line


def summary(corpus: Corpus, data_config: ml_collections.ConfigDict) -> dict:
    """Shapes of the corpus and of its windows in the notebook's one-hot layout."""
    training = corpus.split(0)[0] if isinstance(corpus, SplitCorpus) else corpus.segments
    windows = segment_windows(training, data_config)
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


def split_summary(corpus: SplitCorpus) -> dict:
    """Pieces, measures, tokens and OOV rate of each split, and the vocabulary's size."""
    splits = {
        name: dict(
            pieces=len(corpus.indices[name]),
            measures=sum(len(p.measures) for p in corpus.pieces_of(name)),
            tokens=len(corpus.tokens_of(name)),
            oov_rate=round(corpus.oov_rate(name), 5),
        )
        for name in SPLITS
    }
    return dict(splits=splits, vocabulary=len(corpus.vocab), min_count=corpus.min_count)


def load_config_file(path: str | os.PathLike) -> ml_collections.ConfigDict:
    """`get_config()` of an experiment file, e.g. experiments/wjazzd.py."""
    if not Path(path).is_file():
        raise JazzFlaxError(f"no experiment file {path}")
    return call_function(Path(path), "get_config")


def experiment_summary(data_config: ml_collections.ConfigDict) -> dict:
    """The summary of an experiment's corpus: `summary`, its splits', and the reader's counts."""
    reading = None
    if data_config.reader == "wjazzd":
        from jazz_flax import wjazzd

        reading = wjazzd.load_from_config(data_config)
    corpus = load_corpus_from_config(data_config) if reading is None else reading.corpus
    if data_config.split_seed is not None:
        corpus = SplitCorpus.from_config(corpus, data_config)
    info = summary(corpus, data_config)
    if isinstance(corpus, SplitCorpus):
        info.update(split_summary(corpus))
    if reading is not None:
        info.update(reading.report())
    return info


def _offset(text: str) -> float | None:
    """A section bound from the command line: a number of quarter notes, or "none"."""
    return None if text.lower() == "none" else float(text)


def main(argv: list[str] | None = None) -> None:
    defaults = default_config()
    parser = ArgumentParser(prog="python -m jazz_flax.data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("summary", help="print the corpus' shapes")
    cmd.add_argument("--midi", default=defaults.path, help="MIDI or MusicXML file, folder or glob")
    cmd.add_argument("--melody-part", default=defaults.melody_part)
    cmd.add_argument("--chord-part", default=defaults.chord_part, help="a part, or 'symbols'")
    cmd.add_argument("--start", type=_offset, default=defaults.start, help="a number or 'none'")
    cmd.add_argument("--end", type=_offset, default=defaults.end, help="a number or 'none'")
    cmd.add_argument("--windows", default=defaults.windows, help="notebook or sliding")
    cmd.add_argument("--grammar", default=defaults.grammar, choices=grammar.GRAMMARS)
    cmd.add_argument("--config", help="an experiment file: its corpus (the options above aside)")
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
        windows=args.windows,
        grammar=args.grammar,
    )
    with one_line_errors(args.debug):
        began = time.perf_counter()
        if args.config:
            info = experiment_summary(load_config_file(args.config).data)
        else:
            info = summary(load_corpus_from_config(data_config), data_config)
        info["load_seconds"] = round(time.perf_counter() - began, 3)
    if args.json:
        print(json.dumps(info))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
    sys.stdout.flush()


if __name__ == "__main__":
    interrupts.catch()
    main()

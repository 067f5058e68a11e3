"""A corpus: pieces (tokens, chords and notes of each measure) sharing one vocabulary.

    pieces ──one sorted vocabulary──▶ Corpus ──segments──▶ Segment(ids, chords) per piece

Each token has the features of the chord sounding at its onset (`features.chord_vector`). A reader
(`readers.READERS`) makes the pieces, from a score or from notes and chords (`tokenize`);
`splits.SplitCorpus` splits them by piece.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from music21 import note as m21note

from jazz_flax import grammar
from jazz_flax.data.features import chord_vector, token_context
from jazz_flax.data.vocab import Vocabulary
from jazz_flax.errors import JazzFlaxError
from jazz_flax.windows import CHORD_FEATURES, Segment


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


@dataclasses.dataclass(frozen=True)
class Corpus:
    """Pieces with one vocabulary; its measures, chords and notes are theirs, one after another."""

    pieces: tuple[Piece, ...]
    # what the reader changed and left out, by its own names (`data summary` prints it)
    report: Mapping[str, object] = dataclasses.field(
        default_factory=dict, compare=False, kw_only=True
    )
    # the parts of each token's context (`data.context`, features.PARTS); () keeps the chord's
    # features, which only a chord-conditioned model reads
    context: tuple[str, ...] = dataclasses.field(default=(), kw_only=True)

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
        """Each piece's ids (cut from `ids`) and context features."""
        ends = np.cumsum([len(piece.tokens) for piece in self.pieces])
        ids = np.split(self.ids, ends[:-1])
        return tuple(
            Segment(piece_ids, self.features_of(piece))
            for piece_ids, piece in zip(ids, self.pieces, strict=True)
        )

    def features_of(self, piece: Piece) -> np.ndarray:
        """float32 (len(piece.tokens), F): the context of each of the piece's tokens
        (`features.token_context`), or its chord's features when no context is chosen."""
        return token_context(piece, self.context) if self.context else piece.chord_features

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


def tokenize(
    melody: Sequence[Sequence[grammar.Event]],
    chords: Sequence[Sequence[grammar.Chord]],
    grammar_name: str = "notebook",
) -> tuple[tuple[str, ...], ...]:
    """Each measure's tokens in grammar `grammar_name` from its notes and chords (offsets from its
    start), for a reader that has notes rather than a score: notebook's `grammar.parse_measure` of
    music21 elements, as `score_files.parse_file` tokenises, or a line grammar's parse of the line
    (`grammar.parse_line`)."""
    if grammar.check_name(grammar_name) != "notebook":
        return tuple(map(tuple, grammar.parse_line(grammar_name, melody, chords).measures))
    return tuple(
        tuple(grammar.parse_measure(_elements(events), measure_chords, 0.0))
        for events, measure_chords in zip(melody, chords, strict=True)
    )


def _elements(events: Sequence[grammar.Event]) -> list[m21note.GeneralNote]:
    """music21 notes and rests of a bar's events, offsets from its start (as parse_measure
    reads)."""
    elements = []
    for event in events:
        if event.pitch is None:
            element = m21note.Rest(quarterLength=event.duration)
        else:
            element = m21note.Note(event.pitch, quarterLength=event.duration)
        element.offset = event.offset
        elements.append(element)
    return elements


def piece_name(piece: Piece) -> str:
    """A WJazzD solo's name (e.g. `JohnColtrane_GiantSteps-1_FINAL`), else its file's stem."""
    return piece.source.get("solo") or Path(piece.source["path"]).stem


def piece_names(corpus: Corpus) -> list[tuple[str, str]]:
    """(name, split) of each piece, sorted by name; the split is "train" in an unsplit corpus."""
    splits = {i: s for s, ids in getattr(corpus, "indices", {}).items() for i in ids}
    names = [(piece_name(p), splits.get(i, "train")) for i, p in enumerate(corpus.pieces)]
    return sorted(names)


def piece_named(corpus: Corpus, name: str) -> Piece:
    """The piece called `name` (WJazzD's `_FINAL` may be left off), else a JazzFlaxError saying
    why the reader left it out (its report's `left_out_solos`: name -> reason), or suggesting
    close names."""
    pieces = {piece_name(p): p for p in corpus.pieces}
    left_out = corpus.report.get("left_out_solos", {})
    for candidate in (name, f"{name}_FINAL"):
        if candidate in pieces:
            return pieces[candidate]
        if candidate in left_out:
            raise JazzFlaxError(
                f"the solo {candidate!r} is not in the corpus: the reader left it out "
                f"(reason: {left_out[candidate]})",
                hint="python -m jazz_flax.data summary --config EXPERIMENT lists those left out",
            )
    close = difflib.get_close_matches(name, pieces, n=3, cutoff=0.5)
    suggestion = f"did you mean {', '.join(close)}? " if close else ""
    raise JazzFlaxError(
        f"no solo named {name!r} in the corpus", hint=f"{suggestion}--list_solos lists them"
    )

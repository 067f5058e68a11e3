"""The opening a solo continues: tokens typed on the command line, or a melody from a file.

A file's melody (MIDI or MusicXML; its melody part chosen as the run's data config chooses it) is
tokenised with the grammar over its own chords (the chord part the data config names), or over
the chords given as text, cycled, when there are some. The model reads its tokens before it
improvises; the solo plays the file's own notes, then the improvisation over the changes.

A token outside the run's vocabulary is replaced by the nearest one there (`nearest`): of the same
kind and intervals (a pitch grammar: the nearest pitch) if there is one, else of the same kind,
else "<unk>" when the vocabulary has it, else any kind; among those, the nearest duration. The
replacements are counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import ml_collections
import numpy as np

from jazz_flax import data, grammar, meter
from jazz_flax.errors import JazzFlaxError
from jazz_flax.music import scores

UNKNOWN = "<unk>"


class Opening(NamedTuple):
    """What the model reads before it samples, and the measures of the file it came from."""

    tokens: tuple[str, ...] = ()  # in the vocabulary
    chords: tuple[tuple[grammar.Chord, ...], ...] = ()  # the file's measures (none for text)
    melody: tuple[tuple[grammar.Event, ...], ...] = ()  # their notes, offsets within the measure
    replaced: int = 0  # tokens outside the vocabulary, replaced by `nearest`

    def ids(self, vocab: data.Vocabulary) -> np.ndarray | None:
        return vocab.encode(self.tokens) if self.tokens else None


def from_text(text: str | None, vocab: data.Vocabulary) -> Opening:
    """Space-separated tokens, each a playable value of the run's vocabulary (not UNK, which
    stands for tokens the model never learnt, and which no solo can play)."""
    if not text:
        return Opening()
    for token in text.split():
        if token not in vocab.values or token == UNKNOWN:
            raise JazzFlaxError(
                f"bad primer: {token!r} is not a token the model can play",
                hint="use tokens of the training corpus, e.g. " + " ".join(_examples(vocab)),
            )
    return Opening(tuple(text.split()))


def _examples(vocab: data.Vocabulary) -> list[str]:
    """A few of the vocabulary's playable tokens."""
    return [value for value in vocab.values if value != UNKNOWN][:2]


def from_file(
    path: str | Path,
    data_config: ml_collections.ConfigDict,
    vocab: data.Vocabulary,
    changes: Sequence[Sequence[grammar.Chord]] | None = None,
) -> Opening:
    """The melody of a MIDI or MusicXML file, tokenised over its chords or `changes` (cycled)."""
    path = Path(path)
    if not path.is_file():
        raise JazzFlaxError(f"no primer file at {path}")
    melody_part, chord_part = _parts(path, data_config)
    if changes is None:
        piece = data.parse_file(path, melody_part, chord_part, None, None, vocab.grammar)
    else:
        piece = _over_changes(path, melody_part, changes, vocab.grammar)
    tokens = [t for measure in piece.measures for t in measure]
    in_vocabulary = [nearest(t, vocab) for t in tokens]
    replaced = sum(a != b for a, b in zip(tokens, in_vocabulary, strict=True))
    return Opening(tuple(in_vocabulary), piece.chords, piece.melody, replaced)


def _parts(path: Path, data_config: ml_collections.ConfigDict) -> tuple[str, str]:
    """The melody and chord parts the data config names for this file (its `parts` rules)."""
    rules = data_config.parts.to_dict()
    rule = data.part_rule(path, rules)
    return (
        rule.get("melody_part", data_config.melody_part),
        rule.get("chord_part", data_config.chord_part),
    )


def _over_changes(
    path: Path, melody_part: str, changes: Sequence[Sequence[grammar.Chord]], grammar_name: str
) -> data.Piece:
    """The file's melody over `changes`, cycled, in the grammar `grammar_name`."""
    score = scores.read_score(path)
    part = scores.melody_part(score, melody_part, path)
    by_measure = scores.group_by_measure(scores.melody(part, None, None))
    measures, chords, melody = [], [], []
    for i, (number, elements) in enumerate(by_measure.items()):
        start = float(number * meter.BEATS)
        chords.append(tuple(changes[i % len(changes)]))
        measures.append(grammar.parse_measure(elements, chords[-1], start))
        melody.append(tuple(scores.event(e, start) for e in elements))
    piece = data.Piece(tuple(measures), tuple(chords), tuple(melody), {"path": str(path)})
    return data.in_line_grammar(piece, grammar_name) if grammar_name != "notebook" else piece


def nearest(token: str, vocab: data.Vocabulary) -> str:
    """`token` if the vocabulary has it, else its nearest value there (the module's policy)."""
    if token in vocab.values:
        return token
    wanted = grammar.shape(token)
    candidates = [(value, grammar.shape(value)) for value in vocab.values if value != UNKNOWN]
    if UNKNOWN in vocab.values and not any(t.kind == wanted.kind for _, t in candidates):
        return UNKNOWN

    def distance(candidate):
        _, parsed = candidate
        return (
            parsed.kind != wanted.kind,
            _apart(parsed.where, wanted.where),
            abs(parsed.duration - wanted.duration),
        )

    return min(candidates, key=distance)[0]


def _apart(where, wanted) -> float:
    """How far apart two tokens' intervals (equal or not) or pitches (in semitones) are."""
    if isinstance(where, int) and isinstance(wanted, int):
        return abs(where - wanted)
    return float(where != wanted)

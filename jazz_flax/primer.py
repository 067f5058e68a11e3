"""The opening a solo continues: tokens typed on the command line, or a melody from a file.

A file's melody (MIDI or MusicXML; its melody part chosen as the run's data config chooses it) is
tokenised with the grammar over its own chords (the chord part the data config names) where it
has them, and over the solo's changes, cycled, where it does not (a melody alone, or a section of
a piece that has no chords); over the chords given as text, or a corpus solo's, when there are
some. The model reads its tokens before it improvises; the solo plays the file's own notes, then
the improvisation over the changes.

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
    changes: Sequence[Sequence[grammar.Chord]] = (),
    own_chords: bool = True,
) -> Opening:
    """The melody of a MIDI or MusicXML file, tokenised over its own chords where it has them and
    over `changes` (cycled) where it does not; with `own_chords` False, over `changes` alone."""
    path = Path(path)
    if not path.is_file():
        raise JazzFlaxError(f"no primer file at {path}")
    piece = _read(path, data_config, tuple(changes), own_chords)
    if vocab.grammar != "notebook":
        piece = data.in_line_grammar(piece, vocab.grammar)
    tokens = [t for measure in piece.measures for t in measure]
    in_vocabulary = [nearest(t, vocab) for t in tokens]
    replaced = sum(a != b for a, b in zip(tokens, in_vocabulary, strict=True))
    return Opening(tuple(in_vocabulary), piece.chords, piece.melody, replaced)


def _read(path: Path, data_config, changes: tuple, own_chords: bool) -> data.Piece:
    """The file's melody part (the one the data config names for it; a file of one part, that
    one) in notebook tokens, each measure over the file's chords or the `changes`."""
    score = scores.read_score(path)
    melody_name, chord_name = _parts(path, data_config)
    part = scores.upper_voice(scores.melody_part(score, melody_name, path), path)
    by_measure = scores.group_by_measure(scores.melody(part, None, None))
    own = _own_chords(score, part, chord_name, by_measure) if own_chords else {}
    measures, chords, melody = [], [], []
    for i, (number, elements) in enumerate(by_measure.items()):
        start = float(number * meter.BEATS)
        chords.append(own.get(number) or _cycled(changes, i, path))
        measures.append(tuple(grammar.parse_measure(elements, chords[-1], start)))
        melody.append(tuple(scores.event(e, start) for e in elements))
    return data.Piece(tuple(measures), tuple(chords), tuple(melody), {"path": str(path)})


def _own_chords(score, melody, chord_part: str, numbers) -> dict[int, tuple]:
    """The file's chords of each measure numbered in `numbers` (`scores.measure_chords`), from its
    part `chord_part` (or the melody's chord symbols); none where it has no such chords."""
    symbols = chord_part == data.CHORD_SYMBOLS
    parts = [p for p in score.parts if p.partName == chord_part]
    source = melody if symbols else (parts[0] if parts else None)
    found = [] if source is None else scores.section(source, None, None, _CHORD_CLASSES[symbols])
    if not any(c.pitches for c in found):
        return {}
    return scores.measure_chords(found, numbers, held=symbols)


_CHORD_CLASSES = {True: ("ChordSymbol",), False: ("Chord",)}  # chord symbols, or a part's chords


def _cycled(changes: tuple, i: int, path: Path) -> tuple[grammar.Chord, ...]:
    """The `i`th measure's chords of the changes, cycled."""
    if not changes:
        raise JazzFlaxError(f"{path} has measures without chords", hint="give --chords")
    return tuple(changes[i % len(changes)])


def _parts(path: Path, data_config: ml_collections.ConfigDict) -> tuple[str, str]:
    """The melody and chord parts the data config names for this file (its `parts` rules)."""
    rules = data_config.parts.to_dict()
    rule = data.part_rule(path, rules)
    return (
        rule.get("melody_part", data_config.melody_part),
        rule.get("chord_part", data_config.chord_part),
    )


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

"""Reading MIDI and MusicXML files (music21, through `scores`) into a corpus: the default reader.

    file ──parse_file (music21 via `scores`, ≈8 s, cached per file)──▶ Piece: tokens, chords and
          notes per measure

`data.path` is a file, a folder (its music files) or a glob; `data.parts` sets the melody and chord
parts per file. A piece's chords come from a chord part or from the chord symbols of a lead sheet
(`chord_part="symbols"`).
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import ml_collections

from jazz_flax import grammar, meter
from jazz_flax.data import cache
from jazz_flax.data.corpus import Corpus, Piece
from jazz_flax.errors import JazzFlaxError
from jazz_flax.grammar import notebook
from jazz_flax.music import scores
from jazz_flax.music.scores import MUSIC_SUFFIXES

CHORD_SYMBOLS = "symbols"  # chord_part: the chord symbols written in the melody part
PART_RULE_KEYS = ("melody_part", "chord_part")  # what a `parts` rule may set


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


def read_music_files(data_config: ml_collections.ConfigDict) -> Corpus:
    """The READERS entry: `load_corpus` of the files, parts and section `data_config` names."""
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
    """The files `path` names: itself, a folder's music files, or those a glob matches; sorted.

    A file that exists is itself even when its name holds glob characters (`Tune [1].mxl`).
    """
    path = Path(path)
    if path.is_dir():
        candidates, where = path.iterdir(), f"in {path}"
    elif not path.is_file() and any(char in str(path) for char in "*?["):
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
    if pattern in (file.stem, file.name):  # a name with glob characters, e.g. `Tune [1]`
        return True
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
    entry = cache.cache_entry(cache_dir, sha256, options)
    cached = _read_cache(entry)
    if cached is not None:
        cached.source.update(path=str(path))  # the same music may have been cached from elsewhere
        return cached
    piece = parse_file(path, **options)
    piece.source.update(sha256=sha256)
    cache.write_cache_payload(entry, json.dumps(piece.to_json()))
    return piece


def _read_cache(entry: Path) -> Piece | None:
    """The cached piece, or None when the entry is missing or does not check out."""
    payload = cache.read_cache_payload(entry)
    try:
        return None if payload is None else Piece.from_json(json.loads(payload), cache_hit=True)
    except (ValueError, KeyError, TypeError):
        return None


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
    symbols, each lasting until the next. `grammar` v2 re-parses the notes (`in_line_grammar`).
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
        measure_start = float(number * meter.BEATS)
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
    return in_line_grammar(piece, grammar) if grammar != "notebook" else piece


def in_line_grammar(piece: Piece, name: str) -> Piece:
    """The piece in the line grammar `name` (v2, pitch, …): its tokens and monophonic line, and
    how many notes it snapped to the grid."""
    parsed = grammar.parse_line(name, piece.melody, piece.chords)
    source = dict(piece.source, grammar=name, snapped_durations=parsed.snapped)
    return Piece(
        tuple(map(tuple, parsed.measures)),
        piece.chords,
        tuple(map(tuple, parsed.melody)),
        source,
    )

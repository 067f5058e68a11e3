"""Corpus readers chosen by name (`data.reader`), and `get_corpus`, the one way to a corpus.

A reader takes the data config and returns a `Corpus` or its pieces; what it changed or left out
goes in the corpus' `report`. Adding a corpus format is one entry in READERS: the cache, the
splits and `data summary` go through the corpus, never the reader's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

import ml_collections

from jazz_flax.data import score_files, wjazzd
from jazz_flax.data.corpus import Corpus, Piece
from jazz_flax.data.splits import SplitCorpus
from jazz_flax.errors import JazzFlaxError
from jazz_flax.windows import context_parts

Reader = Callable[[ml_collections.ConfigDict], Corpus | Iterable[Piece]]
READERS: dict[str, Reader] = {
    "music21": score_files.read_music_files,  # MIDI and MusicXML files, folders and globs
    "wjazzd": wjazzd.read,  # the Weimar Jazz Database's melody and beat-track CSVs
}


def reader(name: str) -> Reader:
    """The reader called `name`, else a JazzFlaxError naming the known ones."""
    if name not in READERS:
        raise JazzFlaxError(
            f"unknown corpus reader {name!r}", hint=f"data.reader is one of {', '.join(READERS)}"
        )
    return READERS[name]


def get_corpus(data_config: ml_collections.ConfigDict) -> Corpus:
    """The corpus `data_config` names, read by its `reader`; a SplitCorpus when it sets
    `split_seed`."""
    read = reader(data_config.reader)(data_config)
    context = context_parts(data_config.context)
    if isinstance(read, Corpus):
        corpus = dataclasses.replace(read, context=context)
    else:
        corpus = Corpus(tuple(read), context=context)
    if data_config.split_seed is None:
        return corpus
    return SplitCorpus.from_config(corpus, data_config)


load_corpus_from_config = get_corpus  # its older name, which callers use

"""From a corpus (MIDI or MusicXML files, the Weimar Jazz Database, ...) to token ids and windows.

    data.reader (READERS) ──get_corpus──▶ Corpus: pieces, one sorted vocabulary ──segments──▶
    Segment(ids, chords) per piece ──segment_windows (jazz_flax.windows)──▶ Windows(x, y, chords)

The modules, one job each: `readers` (READERS, get_corpus), `score_files` (MIDI/MusicXML through
music21, the default reader), `wjazzd` and `chord_symbols` (the Weimar Jazz Database), `corpus`
(Piece, Corpus, piece names), `splits` (SplitCorpus: train/valid/test by piece), `vocab`,
`features` (the context of each token), `cache`, `cli` (`python -m jazz_flax.data summary`, not
imported here: it reads `jazz_flax.config`, which imports this package) and `download` (`python
-m jazz_flax.data.download`). The settings are `jazz_flax.config`'s; the windows are
`jazz_flax.windows`, numpy only, so that the model layer imports none of this package.
"""

from jazz_flax.data.cache import (
    PIPELINE_VERSION,
    cache_entry,
    cache_root,
    read_cache_payload,
    write_cache_payload,
)
from jazz_flax.data.corpus import Corpus, Piece, piece_name, piece_named, piece_names, tokenize
from jazz_flax.data.features import chord_vector, context_grid, piece_bpm
from jazz_flax.data.readers import (
    READERS,
    get_corpus,
    load_corpus_from_config,
    reader,
)
from jazz_flax.data.score_files import (
    CHORD_SYMBOLS,
    PART_RULE_KEYS,
    in_line_grammar,
    load_corpus,
    load_piece,
    music_files,
    options_per_file,
    parse_file,
    part_rule,
    read_music_files,
)
from jazz_flax.data.splits import SPLITS, SplitCorpus, default_changes, split_indices
from jazz_flax.data.vocab import UNK, Vocabulary
from jazz_flax.windows import (
    CHORD_FEATURES,
    EMPTY,
    Segment,
    Windows,
    make_windows,
    notebook_windows,
    segment_windows,
    sliding_windows,
)

__all__ = [
    "CHORD_FEATURES",
    "CHORD_SYMBOLS",
    "EMPTY",
    "PART_RULE_KEYS",
    "PIPELINE_VERSION",
    "READERS",
    "SPLITS",
    "UNK",
    "Corpus",
    "Piece",
    "Segment",
    "SplitCorpus",
    "Vocabulary",
    "Windows",
    "cache_entry",
    "cache_root",
    "context_grid",
    "piece_bpm",
    "chord_vector",
    "default_changes",
    "get_corpus",
    "in_line_grammar",
    "load_corpus",
    "load_corpus_from_config",
    "load_piece",
    "make_windows",
    "music_files",
    "notebook_windows",
    "options_per_file",
    "parse_file",
    "part_rule",
    "piece_name",
    "piece_named",
    "piece_names",
    "read_cache_payload",
    "read_music_files",
    "reader",
    "segment_windows",
    "sliding_windows",
    "split_indices",
    "tokenize",
    "write_cache_payload",
]

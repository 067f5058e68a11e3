"""The corpus' shapes on the command line (with --config also its splits and what its reader
changed or left out, e.g. WJazzD's):

    python -m jazz_flax.data summary [--midi PATH | --config EXPERIMENT] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import ml_collections

from jazz_flax import config, grammar
from jazz_flax.cli.options import experiment_config
from jazz_flax.data.corpus import Corpus
from jazz_flax.data.readers import get_corpus
from jazz_flax.data.splits import SPLITS, SplitCorpus
from jazz_flax.errors import ArgumentParser, one_line_errors
from jazz_flax.windows import segment_windows


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


def experiment_summary(data_config: ml_collections.ConfigDict) -> dict:
    """The summary of an experiment's corpus: `summary`, its splits', and its reader's report."""
    corpus = get_corpus(data_config)
    info = summary(corpus, data_config)
    if isinstance(corpus, SplitCorpus):
        info.update(split_summary(corpus))
    return info | dict(corpus.report)


def _offset(text: str) -> float | None:
    """A section bound from the command line: a number of quarter notes, or "none"."""
    if text.lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:  # argparse would name this function in its message
        raise argparse.ArgumentTypeError(f"a number of beats or 'none', got {text!r}") from None


def main(argv: list[str] | None = None) -> None:
    defaults = config.data_defaults()
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
            info = experiment_summary(experiment_config(args.config).data)
        else:
            info = summary(get_corpus(data_config), data_config)
        info["load_seconds"] = round(time.perf_counter() - began, 3)
    if args.json:
        print(json.dumps(info))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
    sys.stdout.flush()

"""The n-gram baselines of an experiment's test split under each `data.split_by` protocol: the bar
a model must clear on a split by solo ("path"), by tune or by performer, without training one.

For each protocol, the experiment's corpus split by its `data.split_seed` with that `split_by`:
its solos, tunes (where the pieces say them: WJazzD's) and tokens per split, and the baselines
`evaluate` reports beside a model on the same test tokens (`ngrams.baseline_nlls`: fitted on the
training split, Kneser–Ney's discounts tuned on the validation split), the best of them named.

    python -m experiments.tools.split_baselines [--config experiments/wjazzd.py]
        [--split-by path,tune,performer] [--json]
"""

from __future__ import annotations

import json

import ml_collections

from jazz_flax import data, ngrams
from jazz_flax.cli.options import experiment_config
from jazz_flax.errors import ArgumentParser, JazzFlaxError, one_line_errors

PROTOCOLS = ("path", "tune", "performer")
SHOWN = ("bigram", "kneser_ney_3", "kneser_ney_5")  # the table's baseline columns, and the best


def split_counts(corpus: data.SplitCorpus) -> dict:
    """Each split's solos, distinct tunes (None where the pieces do not say them) and tokens."""
    counts = {}
    for split in data.SPLITS:
        pieces = corpus.pieces_of(split)
        tunes = {piece.source.get("tune") for piece in pieces}
        counts[split] = dict(
            solos=len(pieces),
            tunes=None if None in tunes else len(tunes),
            tokens=len(corpus.tokens_of(split)),
        )
    return counts


def protocol(data_config: ml_collections.ConfigDict, split_by: str) -> dict:
    """The splits and the test split's baselines (nats/token) when `split_by` keeps pieces
    together."""
    if data_config.split_seed is None:
        raise JazzFlaxError(
            "the experiment does not split its corpus", hint="set data.split_seed, as wjazzd.py"
        )
    data_config = ml_collections.ConfigDict(data_config.to_dict())
    data_config.split_by = split_by
    corpus = data.get_corpus(data_config)
    ids = {split: [s.ids for s in corpus.segments_of(split)] for split in data.SPLITS}
    baselines = ngrams.baseline_nlls(ids["train"], ids["test"], len(corpus.vocab), ids["valid"])
    return dict(split_by=split_by, splits=split_counts(corpus), baselines=baselines)


def table(rows: list[dict]) -> str:
    """One markdown row per protocol: solos and tunes per split, the test tokens, the baselines."""
    header = ["split_by", "solos (train/valid/test)", "tunes", "test tokens"]
    header += [*SHOWN, "best n-gram"]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for row in rows:
        splits, baselines = row["splits"], row["baselines"]
        name, nll = ngrams.best(baselines)
        cells = [f"`{row['split_by']}`", _per_split(splits, "solos"), _per_split(splits, "tunes")]
        cells += [f"{splits['test']['tokens']:,}"]
        cells += [f"{baselines[key]:.3f}" for key in SHOWN] + [f"{nll:.3f} ({name})"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _per_split(splits: dict, key: str) -> str:
    values = [splits[split][key] for split in data.SPLITS]
    return "—" if None in values else "/".join(map(str, values))


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(prog="python -m experiments.tools.split_baselines", description=__doc__)
    parser.add_argument("--config", default="experiments/wjazzd.py", help="an experiment file")
    parser.add_argument("--split-by", default=",".join(PROTOCOLS), help="protocols, by commas")
    parser.add_argument("--json", action="store_true", help="print one JSON object per protocol")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    with one_line_errors(args.debug):
        data_config = experiment_config(args.config).data
        rows = [protocol(data_config, name) for name in args.split_by.split(",")]
    print("\n".join(map(json.dumps, rows)) if args.json else table(rows), end="\n" * args.json)


if __name__ == "__main__":
    main()

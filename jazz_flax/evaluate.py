"""Evaluating a trained model: held-out next-token scores and the musical metrics of its solos.

    params ──heldout_windows (held-out measures only)──▶ NLL (nats/token), perplexity, accuracy
    params ──soloist.solos: `solos` streams sampled (jit), cut into measures, decoded──▶ Solo
           ──metrics.musical_metrics, averaged over the solos──▶ beside the training solo's

Held-out protocol. `config.data.holdout_measures` keeps each piece's last measures out of every
training window (`Corpus.split`). A piece's n held-out tokens are scored in windows of
L = min(Tx, n) of them laid out as `data.sliding_windows` — EMPTY first, a zero initial state, as in
training: the first window scores all its L tokens, each later one (stride 1) only its last, so
every held-out token is scored exactly once, after up to Tx - 1 held-out tokens of its piece and no
training token. NLL is the mean over the held-out tokens of -log p(token) in nats, perplexity
exp(NLL), accuracy the share of tokens that are the argmax; the n-gram baselines fitted on the
training segments (`baseline_nlls`) score the same tokens. With holdout_measures=0 nothing is held
out: the three are NaN (null in eval.json).

Musical metrics: `solos` streams sampled in one batch (`Strategy` from the evaluation config), each
cut into the piece's measures and decoded over its chords, as `make generate` does; the metrics
are averaged over the solos and shown beside those of the training solo (`music.solo.of_corpus`;
of a corpus split by piece, its first test solo: `data.default_changes`).

Over the test changes (a corpus split by piece): one solo generated over the changes of each test
solo (the first `test_solos` of them; None: all), as long, beside the test solos themselves: the
musical metrics averaged over the solos (the duration distance to the training split's durations),
and memorisation, the longest run of a solo's tokens found verbatim in a training piece
(`verbatim.VerbatimIndex`; its median and maximum over the solos).

`make evaluate EXP=baseline` writes runs/<EXP>/eval.json and prints `table`.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import jax
import ml_collections
import numpy as np

from jazz_flax import data, soloist, train
from jazz_flax.errors import POSITIVE, JazzFlaxError
from jazz_flax.files import atomic_write
from jazz_flax.model import token_scores
from jazz_flax.music import metrics, solo, verbatim
from jazz_flax.music.render import Solo
from jazz_flax.sample import Strategy

EVAL = "eval.json"
HELDOUT_KEYS = ("nll", "perplexity", "accuracy")
LABELS = {  # short names of the scores, for tables
    "nll": "held-out NLL",
    "perplexity": "perplexity",
    "accuracy": "accuracy",
    "chord_tone_ratio": "chord tones",
    "scale_tone_ratio": "scale tones",
    "pitch_class_entropy": "pc entropy (bits)",
    "mean_abs_interval": "abs. interval",
    "leaps_over_octave": "leaps > octave",
    "notes_per_measure": "notes/measure",
    "rest_ratio": "rests",
    "grooving_similarity": "grooving sim.",
    "duration_distance": "duration TV",
    "clean_measure_ratio": "clean measures",
    "verbatim_run_median": "verbatim run (med.)",
    "verbatim_run_max": "verbatim run (max)",
}


def default_config() -> ml_collections.ConfigDict:
    """How solos are generated for the musical metrics."""
    top_k = ml_collections.config_dict.placeholder(int)  # None: every token
    test_solos = ml_collections.config_dict.placeholder(int)  # None: all the test split's
    return ml_collections.ConfigDict(
        dict(solos=4, seed=0, temperature=1.0, top_k=top_k, top_p=1.0, greedy=False)
        | dict(test_solos=test_solos)
    )


# ---------------------------------------------------------------------------------------------
# Held-out next-token scores


def heldout_windows(held: Sequence[data.Segment], Tx: int) -> tuple[data.Windows, np.ndarray]:
    """Windows over the held-out segments and the targets they score, each token exactly once.

    Returns (windows (W, L), mask bool (W, L)), L = min(Tx, the longest segment's n): a segment
    of n tokens gives n - min(Tx, n) + 1 windows as `data.sliding_windows` (x EMPTY-first, y the
    tokens), EMPTY after its end when n < L. Empty (0, 0) arrays when nothing is held out.
    """
    segments = [segment for segment in held if len(segment.ids)]
    if not segments:
        empty = np.zeros((0, 0), np.int32)
        no_chords = np.zeros((0, 0, data.CHORD_FEATURES), np.float32)
        return data.Windows(empty, empty, no_chords), np.zeros((0, 0), bool)
    width = min(Tx, max(len(segment.ids) for segment in segments))
    windows, masks = zip(*(_scored_windows(segment, width) for segment in segments), strict=True)
    return data.Windows(*map(np.concatenate, zip(*windows, strict=True))), np.concatenate(masks)


def _scored_windows(segment: data.Segment, width: int) -> tuple[data.Windows, np.ndarray]:
    """One segment's windows of `width` tokens (of all of them, EMPTY after, if fewer) and the
    targets they score."""
    ids = np.asarray(segment.ids, np.int32)
    windows = data.sliding_windows(ids, min(width, len(ids)), chords=segment.chords)
    mask = np.zeros(windows.y.shape, bool)
    mask[0] = True  # the first window: every token, after 0 … L-1 tokens of context
    mask[1:, -1] = True  # each later window: its last token, after L-1 tokens of context
    pad = [(0, 0), (0, width - mask.shape[1])]  # the causal model's earlier outputs never see it
    padded = data.Windows(
        np.pad(windows.x, pad, constant_values=data.EMPTY),
        np.pad(windows.y, pad, constant_values=data.EMPTY),
        np.pad(windows.chords, [*pad, (0, 0)]),
    )
    return padded, np.pad(mask, pad)


def heldout_scores(model, params, held: Sequence[data.Segment], Tx: int) -> dict:
    """tokens, nll (nats/token), perplexity and accuracy of the held-out segments; NaN when none."""
    windows, mask = heldout_windows(held, Tx)
    if not mask.any():
        return dict(tokens=0, **dict.fromkeys(HELDOUT_KEYS, math.nan))
    nll, correct = (np.asarray(a) for a in token_scores(model, params, windows))
    mean_nll = float(nll[mask].mean())
    return dict(
        tokens=int(mask.sum()),
        nll=mean_nll,
        perplexity=math.exp(mean_nll),
        accuracy=float(correct[mask].mean()),
    )


# ---------------------------------------------------------------------------------------------
# Baselines: n-gram models fitted on the training segments, scored on the same tokens


def baseline_nlls(
    train: Sequence[np.ndarray], test: Sequence[np.ndarray], n_values: int
) -> dict[str, float]:
    """Mean NLL (nats/token) of the `test` segments' tokens under three models fitted on `train`:

    * uniform: ln n_values;
    * unigram: add-one (Laplace) estimates;
    * bigram: Witten-Bell interpolation with that unigram, λ(v) = c(v) / (c(v) + T(v)) where
      c(v) counts the tokens after v and T(v) their distinct values; each segment's first token
      follows a start context of its own (as the model's EMPTY input).
    """
    counts = np.bincount(np.concatenate(train), minlength=n_values)
    unigram = (counts + 1) / (counts.sum() + n_values)
    tokens = np.concatenate(test)
    bigram = _witten_bell(_pairs(train, n_values), _pairs(test, n_values), unigram, n_values)
    return dict(
        uniform=math.log(n_values),
        unigram=float(-np.log(unigram[tokens]).mean()),
        bigram=float(-np.log(bigram).mean()),
    )


def _pairs(segments: Sequence[np.ndarray], n_values: int) -> np.ndarray:
    """(n, 2) int64: (previous token, token) of every token, `n_values` as the start context."""
    return np.concatenate(
        [np.stack([np.concatenate([[n_values], s[:-1]]), s], axis=1) for s in segments if len(s)]
    ).astype(np.int64)


def _witten_bell(train: np.ndarray, test: np.ndarray, unigram: np.ndarray, n_values: int):
    """The interpolated bigram's probability of each pair of `test`."""
    codes, pair_counts = np.unique(train[:, 0] * (n_values + 1) + train[:, 1], return_counts=True)
    context_counts = np.bincount(train[:, 0], minlength=n_values + 1)
    distinct = np.bincount(codes // (n_values + 1), minlength=n_values + 1)
    previous, token = test[:, 0], test[:, 1]
    code = previous * (n_values + 1) + token
    at = np.minimum(np.searchsorted(codes, code), len(codes) - 1)
    seen = np.where(codes[at] == code, pair_counts[at], 0)
    c, t = context_counts[previous], distinct[previous]
    weight = np.divide(c, c + t, out=np.zeros(len(c)), where=c > 0)
    maximum_likelihood = np.divide(seen, c, out=np.zeros(len(c)), where=c > 0)
    return weight * maximum_likelihood + (1 - weight) * unigram[token]


def scores_beside_baselines(model, params, training, held, Tx: int, n_values: int) -> dict:
    """`heldout_scores` of the `held` segments and, when they hold tokens, the NLL of the n-gram
    baselines fitted on the `training` segments (`baseline_nlls`) on the same tokens."""
    scores = heldout_scores(model, params, held, Tx)
    if scores["tokens"]:
        ids = [segment.ids for segment in training], [segment.ids for segment in held]
        scores["baselines"] = baseline_nlls(*ids, n_values)
    return scores


def scores_on_test_split(model, params, corpus: data.SplitCorpus, Tx: int) -> dict:
    """The test split's tokens, OOV rate, the model's scores and the baselines' NLL."""
    scores = scores_beside_baselines(model, params, *corpus.split(0), Tx, len(corpus.vocab))
    return split_test_scores(scores, corpus)


def split_test_scores(scores: dict, corpus: data.SplitCorpus) -> dict:
    """`scores_beside_baselines` of the test split, with its OOV rate."""
    return dict(scores, oov_rate=corpus.oov_rate("test"))


# ---------------------------------------------------------------------------------------------
# Musical metrics of generated solos


def strategy(eval_config: ml_collections.ConfigDict) -> Strategy:
    return Strategy(
        eval_config.temperature, eval_config.top_k, eval_config.top_p, eval_config.greedy
    )


def generated_solos(model, params, vocab: data.Vocabulary, chords, eval_config) -> list[Solo]:
    """`eval_config.solos` solos over `chords` (one tuple per measure), sampled in one batch."""
    key, rng = jax.random.key(eval_config.seed), np.random.default_rng(eval_config.seed)
    played = soloist.solos(
        model,
        params,
        vocab,
        chords,
        key,
        rng,
        batch=eval_config.solos,
        strategy=strategy(eval_config),
    )
    return [one.solo for one in played]


def mean_metrics(solos: list[Solo], reference: Solo) -> dict[str, float]:
    """`metrics.musical_metrics` of each solo, averaged; NaN where every solo's is NaN."""
    rows = [metrics.musical_metrics(played, reference) for played in solos]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of all-NaN values is NaN
        return {key: float(np.nanmean([row[key] for row in rows])) for key in rows[0]}


def over_test_changes(model, params, corpus: data.SplitCorpus, eval_config) -> dict:
    """Solos generated over the changes of the test solos beside the test solos themselves:
    dict(solos, generated=metrics, test_solos=metrics) (see the module's docstring)."""
    limit = eval_config.get("test_solos")
    if limit is not None and limit < 1:
        raise JazzFlaxError(f"test_solos must be ≥ 1, got {limit}", hint="or None: all of them")
    pieces = corpus.pieces_of("test")[:limit]
    training = solo.of_corpus(data.Corpus(tuple(corpus.pieces_of("train"))))
    generated = solos_over_pieces(model, params, corpus.vocab, pieces, eval_config)
    real = [(p.measures, solo.of_corpus(data.Corpus((p,)))) for p in pieces]
    index = verbatim.VerbatimIndex([segment.ids for segment in corpus.segments_of("train")])

    def scores(solos: list[tuple[Sequence[Sequence[str]], Solo]]) -> dict:
        runs = [
            index.longest_run(corpus.vocab.encode(t for m in tokens for t in m))
            for tokens, _ in solos
        ]
        return mean_metrics([played for _, played in solos], training) | dict(
            verbatim_run_median=float(np.median(runs)), verbatim_run_max=float(max(runs))
        )

    return dict(solos=len(pieces), generated=scores(generated), test_solos=scores(real))


def solos_over_pieces(model, params, vocab, pieces, eval_config) -> list[tuple[list, Solo]]:
    """(tokens per measure, Solo) of one solo generated over each piece's changes, as long.

    Every piece is sampled as long as the longest, its last measure's chords going on after it
    (as `sample` plays them past the end), so that one compiled sampler serves them all.
    """
    longest = max(len(piece.chords) for piece in pieces)
    keys = jax.random.split(jax.random.key(eval_config.seed), len(pieces))
    rng, result = np.random.default_rng(eval_config.seed), []
    for key, piece in zip(keys, pieces, strict=True):
        (one,) = soloist.solos(
            model,
            params,
            vocab,
            tuple(piece.chords),
            key,
            rng,
            strategy=strategy(eval_config),
            sampled_measures=longest,
        )
        result.append((one.tokens, one.solo))
    return result


# ---------------------------------------------------------------------------------------------
# A trained model, a run directory


def evaluate(
    config: ml_collections.ConfigDict,
    params,
    corpus: data.Corpus,
    eval_config: ml_collections.ConfigDict | None = None,
) -> dict:
    """Held-out scores and musical metrics of `params`, trained as `config` says on `corpus`.

    Returns dict(corpus=`corpus_figures`, heldout=dict(measures, tokens, nll, perplexity,
    accuracy, and the n-gram baselines' NLL on the same tokens when any), generated=metrics
    averaged over the solos, training_solo=the training piece's metrics, eval=the eval config).
    """
    eval_config = eval_config or default_config()
    POSITIVE.check("solos", eval_config.solos)
    model = train.make_model(config, len(corpus.vocab))
    training, held = corpus.split(config.data.holdout_measures)
    compared = data.default_changes(corpus)  # the solo the generated ones are compared with
    reference = solo.of_corpus(compared)
    solos = generated_solos(model, params, corpus.vocab, compared.chords, eval_config)
    n_values, Tx = len(corpus.vocab), config.data.Tx
    scores = scores_beside_baselines(model, params, training, held, Tx, n_values)
    heldout = dict(measures=config.data.holdout_measures, **scores)
    result = dict(
        corpus=corpus_figures(corpus, training),
        heldout=heldout,
        generated=mean_metrics(solos, reference),
        training_solo=metrics.musical_metrics(reference, reference),
        eval=eval_config.to_dict(),
    )
    if isinstance(corpus, data.SplitCorpus):
        result["test"] = split_test_scores(scores, corpus)  # `held` is its test split
        result["test_changes"] = over_test_changes(model, params, corpus, eval_config)
    return result


def corpus_figures(corpus: data.Corpus, training: Sequence[data.Segment]) -> dict:
    """The corpus' pieces, its `training` segments' tokens and the vocabulary's size."""
    tokens = sum(len(segment.ids) for segment in training)
    return dict(pieces=len(corpus.pieces), training_tokens=tokens, vocabulary=len(corpus.vocab))


def evaluate_run(workdir: str | Path, eval_config: ml_collections.ConfigDict | None = None) -> dict:
    """Evaluates the model of the run in `workdir` (`train.model_checkpoint`: its best checkpoint
    when it kept one) with the config it was trained with; writes EVAL into `workdir`."""
    began = time.perf_counter()
    path = train.model_checkpoint(workdir)
    checkpoint = train.load_checkpoint(path)
    corpus = train.checkpoint_corpus(checkpoint)
    result = evaluate(checkpoint.config, checkpoint.params, corpus, eval_config)
    result.update(
        config=checkpoint.config.to_dict(),
        epoch=checkpoint.epoch,
        checkpoint=str(path.relative_to(workdir)),
        seconds=round(time.perf_counter() - began, 3),
    )
    atomic_write(Path(workdir) / EVAL, dumps(result))
    return result


def changed_settings(config: ml_collections.ConfigDict, trained: dict) -> list[str]:
    """Dotted keys whose value in `config` is not the one a run was `trained` with ("resume" aside).

    `evaluate_run` always evaluates a run as it was trained; this says where a config given with
    it, e.g. on the command line, would have meant something else.
    """
    given, used = train.flat_settings(config.to_dict()), train.flat_settings(trained)
    keys = sorted(set(given) | set(used))
    return [key for key in keys if key != "resume" and given.get(key) != used.get(key)]


def dumps(value) -> str:
    """JSON text of `value` with every NaN written as null (JSON has no NaN)."""

    def clean(item):
        if isinstance(item, float) and math.isnan(item):
            return None
        if isinstance(item, dict):
            return {key: clean(v) for key, v in item.items()}
        if isinstance(item, list | tuple):
            return [clean(v) for v in item]
        return item

    return json.dumps(clean(value), indent=2) + "\n"


def table(result: dict) -> str:
    """The held-out scores, then each musical metric of the solos beside the training solo's."""
    heldout, solos = result["heldout"], result["eval"]["solos"]
    if "test" in result:
        test, baselines = result["test"], result["test"]["baselines"]
        lines = [
            f"test split: {test['tokens']} tokens (OOV {test['oov_rate']:.2%})   "
            f"NLL {test['nll']:.3f} nats/token   perplexity {test['perplexity']:.2f}   "
            f"accuracy {test['accuracy']:.3f}",
            _baselines_line(baselines),
        ]
    elif heldout["tokens"]:
        lines = [
            f"held-out: {heldout['measures']} measures, {heldout['tokens']} tokens   "
            f"NLL {heldout['nll']:.3f} nats/token   perplexity {heldout['perplexity']:.2f}   "
            f"accuracy {heldout['accuracy']:.3f}",
            _baselines_line(heldout.get("baselines", {})),  # absent from older eval.json files
        ]
    else:
        lines = ["held-out: none (holdout_measures=0; train with --config.data.holdout_measures=3)"]
    reference = "first test solo" if "test" in result else "training solo"  # data.default_changes
    lines += _columns(
        f"generated ({solos})", result["generated"], reference, result["training_solo"]
    )
    if "test_changes" in result:
        changes = result["test_changes"]
        lines.append(f"over the changes of {changes['solos']} test solos:")
        lines += _columns("generated", changes["generated"], "test solos", changes["test_solos"])
    return "\n".join(lines)


def _baselines_line(baselines: dict) -> str:
    return "baselines (NLL): " + "   ".join(f"{k} {v:.3f}" for k, v in baselines.items())


def _columns(name: str, scores: dict, reference_name: str, reference: dict) -> list[str]:
    """A line per score: its label, its value and the reference's."""
    lines = [f"{'':<20}{name:>16}{reference_name:>16}"]
    for key, value in scores.items():
        lines.append(f"{LABELS[key]:<20}{value:>16.3f}{reference.get(key, math.nan):>16.3f}")
    return lines

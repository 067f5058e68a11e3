"""Evaluating a trained model: held-out next-token scores and the musical metrics of its solos.

    params ──heldout_windows (held-out measures only)──▶ NLL (nats/token), perplexity, accuracy
    params ──soloist.solos: `solos` streams sampled (jit), cut into measures, decoded──▶ Solo
           ──line_metrics.all_metrics, averaged over the solos──▶ beside the training solo's

Held-out protocol. `config.data.holdout_measures` keeps each piece's last measures out of every
training window (`Corpus.split`). A piece's n held-out tokens are scored in windows of
L = min(Tx, n) of them laid out as `data.sliding_windows` — EMPTY first, a zero initial state, as in
training: the first window scores all its L tokens, each later one (stride 1) only its last, so
every held-out token is scored exactly once, after up to Tx - 1 held-out tokens of its piece and no
training token. NLL is the mean over the held-out tokens of -log p(token) in nats, perplexity
exp(NLL), accuracy the share of tokens that are the argmax; the n-gram baselines fitted on the
training segments (`ngrams.baseline_nlls`: Witten–Bell, Kneser–Ney tuned on the validation split)
score the same tokens. With holdout_measures=0 nothing is held out: the three are NaN (null in
eval.json).

Musical metrics: `solos` streams sampled in one batch (`Strategy` from the evaluation config), each
cut into the piece's measures and decoded over its chords, as `make generate` does; the metrics
are averaged over the solos and shown beside those of the training solo (`music.solo.of_corpus`;
of a corpus split by piece, its first test solo: `data.default_changes`), at its tempo
(`data.piece_bpm`). The same seed over a Dm7 vamp as long gives the model's harmony
sensitivity (`line_metrics.mean_harmony_sensitivity`), shown with its solos' metrics.

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

from jazz_flax import checkpoints, data, likelihood, ngrams, soloist
from jazz_flax import config as config_lib
from jazz_flax.beam import Beam
from jazz_flax.errors import POSITIVE, JazzFlaxError
from jazz_flax.files import atomic_write
from jazz_flax.model import batched_token_scores
from jazz_flax.models import make_model
from jazz_flax.music import line_metrics, solo, verbatim
from jazz_flax.music.render import Solo
from jazz_flax.sample import Strategy
from jazz_flax.windows import heldout_windows

EVAL = checkpoints.EVAL
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
    **line_metrics.LABELS,
}


def default_config() -> ml_collections.ConfigDict:
    """How solos are generated for the musical metrics."""
    top_k = ml_collections.config_dict.placeholder(int)  # None: every token
    test_solos = ml_collections.config_dict.placeholder(int)  # None: all the test split's
    return ml_collections.ConfigDict(
        dict(solos=4, seed=0, temperature=1.0, top_k=top_k, top_p=1.0, greedy=False)
        | dict(pitch_temperature=1.0, keep_repeats=False)
        | dict(test_solos=test_solos)
    )


# ---------------------------------------------------------------------------------------------
# Held-out next-token scores


def heldout_scores(model, params, held: Sequence[data.Segment], Tx: int) -> dict:
    """tokens, nll (nats/token), perplexity and accuracy of the held-out segments; NaN when none."""
    windows, mask = heldout_windows(held, Tx)
    if not mask.any():
        return dict(tokens=0, **dict.fromkeys(HELDOUT_KEYS, math.nan))
    nll, correct = batched_token_scores(model, params, windows)
    mean_nll = float(nll[mask].mean())
    return dict(
        tokens=int(mask.sum()),
        nll=mean_nll,
        perplexity=math.exp(mean_nll),
        accuracy=float(correct[mask].mean()),
    )


def scores_beside_baselines(model, params, training, held, Tx: int, n_values: int, valid=()):
    """`heldout_scores` of the `held` segments and, when they hold tokens, the NLL of the n-gram
    baselines fitted on the `training` segments, tuned on the `valid` ones, on the same tokens
    (`ngrams.baseline_nlls`)."""
    scores = heldout_scores(model, params, held, Tx)
    if scores["tokens"]:
        ids = [[segment.ids for segment in side] for side in (training, held, valid)]
        scores["baselines"] = ngrams.baseline_nlls(*ids[:2], n_values, valid=ids[2])
    return scores


def scores_on_test_split(model, params, corpus: data.SplitCorpus, Tx: int) -> dict:
    """The test split's tokens, OOV rate, the model's scores and the baselines' NLL."""
    valid = corpus.segments_of("valid")
    scores = scores_beside_baselines(model, params, *corpus.split(0), Tx, len(corpus.vocab), valid)
    return split_test_scores(scores, corpus)


def split_test_scores(scores: dict, corpus: data.SplitCorpus) -> dict:
    """`scores_beside_baselines` of the test split, with its OOV rate."""
    return dict(scores, oov_rate=corpus.oov_rate("test"))


# ---------------------------------------------------------------------------------------------
# Musical metrics of generated solos


def strategy(eval_config: ml_collections.ConfigDict) -> Strategy:
    return Strategy(
        eval_config.temperature,
        eval_config.top_k,
        eval_config.top_p,
        eval_config.greedy,
        eval_config.pitch_temperature,
        eval_config.keep_repeats,
    )


def generated_solos(
    model, params, vocab: data.Vocabulary, chords, eval_config, bpm: float = solo.BPM, context=()
) -> list[Solo]:
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
        bpm=bpm,
        context=context,
    )
    return [one.solo for one in played]


def mean_metrics(solos: list[Solo], reference: Solo) -> dict[str, float]:
    """`line_metrics.all_metrics` of each solo, averaged; NaN where every solo's is NaN."""
    rows = [line_metrics.all_metrics(played, reference) for played in solos]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of all-NaN values is NaN
        return {key: float(np.nanmean([row[key] for row in rows])) for key in rows[0]}


def over_test_changes(model, params, corpus: data.SplitCorpus, eval_config) -> dict:
    """Solos generated over the changes of the test solos beside the test solos themselves:
    dict(solos, generated=metrics, test_solos=metrics) (see the module's docstring)."""
    limit = eval_config.test_solos
    if limit is not None and limit < 1:
        raise JazzFlaxError(f"test_solos must be ≥ 1, got {limit}", hint="or None: all of them")
    pieces = corpus.pieces_of("test")[:limit]
    training = solo.of_corpus(data.Corpus(tuple(corpus.pieces_of("train"))))
    generated = solos_over_pieces(model, params, corpus.vocab, pieces, eval_config, corpus.context)
    real = [(p.measures, solo.of_corpus(data.Corpus((p,)), data.piece_bpm(p))) for p in pieces]
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


def solos_over_pieces(
    model, params, vocab, pieces, eval_config, context=(), beam: Beam | None = None
) -> list[tuple[list, Solo]]:
    """(tokens per measure, Solo) of one solo generated over each piece's changes, as long (the
    best beam of a search, with `beam`).

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
            beam=beam,
            sampled_measures=longest,
            bpm=data.piece_bpm(piece),
            context=context,
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
    model = make_model(config, len(corpus.vocab))
    training, held = corpus.split(config.data.holdout_measures)
    compared = data.default_changes(corpus)  # the solo the generated ones are compared with
    bpm = data.piece_bpm(compared.pieces[0])
    reference = solo.of_corpus(compared, bpm)
    solos = generated_solos(
        model, params, corpus.vocab, compared.chords, eval_config, bpm, corpus.context
    )
    vamp = line_metrics.vamp(len(compared.chords))  # the same seed over a vamp: sensitivity
    over_vamp = generated_solos(model, params, corpus.vocab, vamp, eval_config, bpm, corpus.context)
    sensitivity = line_metrics.mean_harmony_sensitivity(solos, over_vamp)
    n_values, Tx = len(corpus.vocab), config.data.Tx
    valid = corpus.segments_of("valid") if isinstance(corpus, data.SplitCorpus) else ()
    scores = scores_beside_baselines(model, params, training, held, Tx, n_values, valid)
    heldout = dict(measures=config.data.holdout_measures, **scores)
    result = dict(
        corpus=corpus_figures(corpus, training),
        heldout=heldout,
        generated=mean_metrics(solos, reference) | sensitivity,
        training_solo=line_metrics.all_metrics(reference, reference),
        eval=eval_config.to_dict(),
    )
    if isinstance(corpus, data.SplitCorpus):
        result["test"] = split_test_scores(scores, corpus)  # `held` is its test split
        result["test"]["split_by"] = config.data.split_by  # the protocol: "path", "tune" …
        result["test"] |= likelihood.nats_per_note(model, params, corpus, Tx)
        result["continuation"] = likelihood.continuation_accuracy(model, params, corpus, Tx)
        result["test_changes"] = over_test_changes(model, params, corpus, eval_config)
        result["test_changes"]["generated"] |= sensitivity  # the model's, beside its figures
    return result


def corpus_figures(corpus: data.Corpus, training: Sequence[data.Segment]) -> dict:
    """The corpus' pieces, its `training` segments' tokens and the vocabulary's size."""
    tokens = sum(len(segment.ids) for segment in training)
    return dict(pieces=len(corpus.pieces), training_tokens=tokens, vocabulary=len(corpus.vocab))


def evaluate_run(workdir: str | Path, eval_config: ml_collections.ConfigDict | None = None) -> dict:
    """Evaluates the model of the run in `workdir` (`checkpoints.load_run`: its best checkpoint
    when it kept one) with the config it was trained with; writes EVAL into `workdir`."""
    began = time.perf_counter()
    run = checkpoints.load_run(workdir)
    corpus = checkpoints.checkpoint_corpus(run.checkpoint)
    result = evaluate(run.config, run.params, corpus, eval_config)
    result.update(
        config=run.config.to_dict(),
        epoch=run.checkpoint.epoch,
        checkpoint=str(run.path.relative_to(workdir)),
        seconds=round(time.perf_counter() - began, 3),
    )
    atomic_write(Path(workdir) / EVAL, dumps(result))
    return result


def changed_settings(config: ml_collections.ConfigDict, trained: dict) -> list[str]:
    """Dotted keys whose value in `config` is not the one a run was `trained` with ("resume" aside).

    `evaluate_run` always evaluates a run as it was trained; this says where a config given with
    it, e.g. on the command line, would have meant something else.
    """
    given, used = config_lib.flat_settings(config.to_dict()), config_lib.flat_settings(trained)
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
            f"test split (by {test.get('split_by', 'path')}): {test['tokens']} tokens "
            f"(OOV {test['oov_rate']:.2%})   "
            f"NLL {test['nll']:.3f} nats/token   perplexity {test['perplexity']:.2f}   "
            f"accuracy {test['accuracy']:.3f}",
            _baselines_line(baselines, test["nll"]),
            *_likelihood_lines(result),
        ]
    elif heldout["tokens"]:
        lines = [
            f"held-out: {heldout['measures']} measures, {heldout['tokens']} tokens   "
            f"NLL {heldout['nll']:.3f} nats/token   perplexity {heldout['perplexity']:.2f}   "
            f"accuracy {heldout['accuracy']:.3f}",
            _baselines_line(heldout.get("baselines", {}), heldout["nll"]),  # absent: older files
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


def _baselines_line(baselines: dict, nll: float) -> str:
    """The baselines' NLL; below, the model's against the bigram's and the best n-gram's."""
    names = "   ".join(f"{k} {v:.3f}" for k, v in baselines.items())
    return f"baselines (NLL): {names}\n{ngrams.versus(nll, baselines)}"


def _columns(name: str, scores: dict, reference_name: str, reference: dict) -> list[str]:
    """A line per score: its label, its value and the reference's."""
    lines = [f"{'':<20}{name:>16}{reference_name:>16}"]
    for key, value in scores.items():
        lines.append(f"{LABELS[key]:<20}{value:>16.3f}{reference.get(key, math.nan):>16.3f}")
    return lines


def _likelihood_lines(result: dict) -> list[str]:
    """Nats per note and continuation prediction, where the result has them (older files not)."""
    test, continuation = result["test"], result.get("continuation")
    lines = []
    if "nats_per_note" in test:
        lines.append(
            f"nats per note {test['nats_per_note']:.3f} (tokens {test['token_nats_per_note']:.3f}"
            f" + decoder {test['decoder_nats_per_note']:.3f}, {test['notes']} notes)"
        )
    if continuation and continuation["prompts"]:
        lines.append(
            f"continuation: {continuation['accuracy']:.3f} of {continuation['prompts']} prompts "
            "(true 2 bars among 4; chance 0.25)"
        )
    return lines

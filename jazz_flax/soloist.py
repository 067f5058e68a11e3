"""A trained model's solos over changes: token streams sampled in one call, cut and decoded.

    params ──sample (jit fori_loop) or beam_search, `batch` rows──▶ token streams
           ──music.solo.from_stream over the changes' measures──▶ (tokens per measure, Solo)

`solos` is what `generate`, `evaluate` and the sweeps' musical metrics improvise with: N solos are
one batched sampler call (or N beam searches, vmapped), the model's state carried across measures,
a chord-conditioned model fed each token's chord. An opening (`primer.Opening`) is read first:
typed tokens start the stream; a file's measures are played, with their own notes, before the
improvisation. `streams` alone gives the token rows (`generate`'s notebook layout decodes them its
own way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import numpy as np

from jazz_flax import data, grammar, sample
from jazz_flax import primer as primers
from jazz_flax.beam import Beam, beam_search
from jazz_flax.music import solo
from jazz_flax.music.render import Solo
from jazz_flax.sample import Strategy
from jazz_flax.windows import read_context

Changes = Sequence[Sequence[grammar.Chord]]  # the chords of each measure


class Streams(NamedTuple):
    tokens: list[list[str]]  # each row's playable tokens (`Vocabulary.playable`)
    log_probs: np.ndarray  # float32 (batch,): of each row's tokens under the model


class Improvised(NamedTuple):
    """A solo improvised over changes, and what it came from."""

    tokens: list[list[str]]  # per measure, the opening's typed tokens included
    solo: Solo
    log_prob: float  # of the sampled tokens under the model (temperature 1)


def solos(
    model,
    params,
    vocab: data.Vocabulary,
    changes: Changes,
    key: jax.Array,
    rng: np.random.Generator,
    *,
    batch: int = 1,
    strategy: Strategy = Strategy(),  # noqa: B008 (an immutable NamedTuple)
    beam: Beam | None = None,
    opening: primers.Opening = primers.Opening(),  # noqa: B008 (an immutable NamedTuple)
    bpm: float = solo.BPM,
    sampled_measures: int | None = None,
    context: Sequence[str] = (),
) -> list[Improvised]:
    """`batch` solos over `changes` after the `opening`, decoded with the vocabulary's grammar
    (`rng` draws the decoder's choices, row after row); a model conditioned on the music reads
    the `context` parts (`models.context_of` its config; none: the chord alone) at `bpm`.

    `sampled_measures` (default: the changes') is how many measures the sampler plays, the last
    measure's chords going on after the changes: one compiled sampler then serves changes of
    several lengths, each solo cut to its own.
    """
    extra = (sampled_measures or len(changes)) - len(changes)
    played = tuple(opening.chords) + tuple(changes) + tuple(changes[-1:]) * extra
    length = solo.tokens_needed(len(changes) + extra, vocab.rules.grid)
    found = streams(
        model, params, vocab, key, batch, length, played, strategy, beam, opening.ids(vocab),
        context=context, bpm=bpm,
    )  # fmt: skip
    return [
        Improvised(*after_opening(row, opening, changes, rng, bpm, vocab.rules), float(log_prob))
        for row, log_prob in zip(found.tokens, found.log_probs, strict=True)
    ]


def after_opening(
    stream: Sequence[str],
    opening: primers.Opening,
    changes: Changes,
    rng: np.random.Generator,
    bpm: float,
    rules: grammar.Rules,
) -> tuple[list[list[str]], Solo]:
    """(tokens per measure, Solo) of a stream sampled after the opening: typed tokens start the
    stream; a file's measures play its own notes first, the stream goes on from its last pitch."""
    if not opening.chords:
        stream = [*opening.tokens, *stream]
    previous = solo.last_pitch(opening.melody)
    tokens, improvised = solo.from_stream(stream, changes, rng, bpm, rules, previous)
    if opening.chords:
        improvised = solo.joined(solo.lay_out(opening.melody, opening.chords, bpm), improvised)
    return tokens, improvised


def streams(
    model,
    params,
    vocab: data.Vocabulary,
    key: jax.Array,
    batch: int,
    length: int,
    chords: Changes = (),
    strategy: Strategy = Strategy(),  # noqa: B008 (an immutable NamedTuple)
    beam: Beam | None = None,
    primer: np.ndarray | None = None,
    *,
    context: Sequence[str] = (),
    bpm: float = solo.BPM,
) -> Streams:
    """`batch` streams of `length` tokens after the `primer` ids, a model conditioned on the
    music fed the `context` of the `chords` of each measure at `bpm`: sampled (`sample.sample`),
    or the best beam of each of `batch` beam searches (`beam.beam_search`)."""
    grid = over_chords(model, chords, context, bpm)
    options = dict(length=length, strategy=strategy, primer=primer, chord_grid=grid)
    options |= dict(durations=vocab.durations, pitch_groups=vocab.pitch_groups)
    if beam is None:
        found = sample.sample(model, params, key, batch=batch, **options)
        ids, log_probs = np.asarray(found.ids), np.asarray(found.log_probs).sum(axis=-1)
    else:
        found = beam_search(model, params, key, beam=beam, searches=batch, **options)
        ids, log_probs = np.asarray(found.ids[:, 0]), np.asarray(found.log_probs[:, 0])
    return Streams([vocab.playable(row) for row in ids], log_probs)


def over_chords(model, chords: Changes, context, bpm: float) -> np.ndarray | None:
    """What `sample` needs to feed a model conditioned on the music each token's context: the
    `context` parts' grid over the chords (`data.context_grid`); None for other models."""
    if not model.chord_features:
        return None
    return data.context_grid(chords, read_context(context), bpm)

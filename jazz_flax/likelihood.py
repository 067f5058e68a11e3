"""Scores that compare representations: nats per note, and continuation prediction.

Nats per token cannot compare grammars: a v2 token leaves its pitch to a random decoder, a pitch
token does not, and the two cut a line into different tokens. Both describe the same monophonic
line on the same grid (v2's `line`), so the measure here is the information of the real test
melodies, per note:

* `pitch` grammars: the model's NLL of the line's tokens (each note's pitch and duration, each
  rest's), summed, divided by the number of notes.
* `v2`: the same token NLL, plus -log p(real pitch) of each note under the decoder given its token
  and the real pitch before it (`grammar.v2.pitch_log_probs`); v2's durations and onsets are exact,
  so the token says them all.

Tokens are scored as `evaluate` scores the test split (windows of up to Tx tokens, each token
once), so the token part is the test NLL times the tokens.

Continuation prediction (the Jazz Transformer's MIREX-like task): given 8 bars of a test solo, the
model ranks the solo's true next 2 bars against 3 distractors, 2 bars of other test solos whose
chords have the same qualities (chord-scales) bar by bar; each candidate is scored by its summed
NLL after the 8 bars (all candidates span the same 8 beats), over the true bars' chords (and the
rest of the corpus' context). Accuracy
is the share of prompts where the true bars score best; chance is 1/4.

Repeat odds (pitch grammars): over the real notes that follow a note, the share that repeat its
pitch, beside the model's mean probability of the last pitch given that a note comes, read with
the real tokens as inputs (`repeat_odds`). Sampled solos that repeat more than the players could
come from the model (these differ) or from sampling's drift off the real lines (they agree).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jazz_flax import data, grammar, sample
from jazz_flax.grammar import pitch as pitch_grammar
from jazz_flax.grammar import v2
from jazz_flax.model import batched, batched_token_scores, token_scores
from jazz_flax.windows import EMPTY, Windows, heldout_windows

PROMPT_BARS, CONTINUATION_BARS, DISTRACTORS = 8, 2, 3


# ---------------------------------------------------------------------------------------------
# Nats per note


def test_token_nlls(model, params, corpus: data.SplitCorpus, Tx: int) -> np.ndarray:
    """-log p of every test token, in the order of the test pieces' tokens."""
    windows, mask = heldout_windows(corpus.segments_of("test"), Tx)
    return batched_token_scores(model, params, windows)[0][mask]


def piece_pitches(piece: data.Piece) -> list[list[int | None]]:
    """The real pitch of each token of each measure (None for a rest): v2's line of its notes,
    which v2 and the pitch grammars tokenise element by element."""
    lines = (v2.line_events(v2.line(events)[0]) for events in piece.melody)
    return [[event.pitch for event in line] for line in lines]


def decoder_nats(piece: data.Piece, vocab: data.Vocabulary) -> float:
    """-log p of the piece's real pitches under its grammar's decoder, summed over its training
    measures (the first aside); 0 for a pitch grammar, whose tokens say the pitch."""
    if vocab.grammar != "v2":
        return 0.0
    pitches, total = piece_pitches(piece), 0.0
    previous = next((p for p in reversed(pitches[0]) if p is not None), None)
    for tokens, chords, real in zip(piece.measures[1:], piece.chords[1:], pitches[1:], strict=True):
        scores = v2.pitch_log_probs(
            tokens, chords, real, previous=previous, register=vocab.register
        )
        total -= float(scores.sum())
        previous = next((p for p in reversed(real) if p is not None), previous)
    return total


def notes_of(piece: data.Piece) -> int:
    """The notes of the piece's training measures (the first aside)."""
    return sum(p is not None for measure in piece_pitches(piece)[1:] for p in measure)


def nats_per_note(model, params, corpus: data.SplitCorpus, Tx: int) -> dict:
    """The test split's information per note: token NLL and decoder NLL, summed, over its notes."""
    if corpus.vocab.grammar not in ("v2", *pitch_grammar.NAMES):
        return {}
    pieces = corpus.pieces_of("test")
    token_nats = float(test_token_nlls(model, params, corpus, Tx).sum())
    pitch_nats = sum(decoder_nats(piece, corpus.vocab) for piece in pieces)
    notes = sum(notes_of(piece) for piece in pieces)
    return dict(
        notes=notes,
        token_nats_per_note=token_nats / notes,
        decoder_nats_per_note=pitch_nats / notes,
        nats_per_note=(token_nats + pitch_nats) / notes,
    )


# ---------------------------------------------------------------------------------------------
# Continuation prediction


def qualities(chords: Sequence[grammar.Chord]) -> tuple[str, ...]:
    """The chord-scale name of each chord of a bar: what a distractor's chords must match."""
    return tuple(v2.chord_scale(chord.pitches).name for chord in chords)


def candidate_window(corpus, piece, start: int, candidate, Tx: int) -> tuple[data.Windows, int]:
    """The window that scores `candidate` (bars of tokens) after the piece's bars before `start`,
    over the piece's own chords (its context as the corpus gives it, `Corpus.features_of`): its
    last Tx tokens and how many of them are the candidate's."""
    bars = piece.measures[:start] + tuple(tuple(bar) for bar in candidate)
    after = piece.measures[len(bars) :]  # kept, so that the changes go on after the candidate
    scored = dataclasses.replace(piece, measures=bars + after)
    tokens = [token for bar in bars[1:] for token in bar]
    ids = corpus.vocab.encode(tokens)[-Tx:]
    features = corpus.features_of(scored)[: len(tokens)][-Tx:]
    x = np.concatenate([[data.EMPTY], ids[:-1]]).astype(np.int32)
    count = min(sum(map(len, candidate)), len(ids))
    return data.Windows(x[None], ids[None].astype(np.int32), features[None]), count


def candidate_nll(model, params, window: data.Windows, scored: int) -> float:
    """The summed NLL of the window's last `scored` tokens."""
    return float(np.asarray(token_scores(model, params, window)[0])[0, -scored:].sum())


def bar_runs(piece: data.Piece, length: int) -> list[int]:
    """The first bars of every run of `length` bars of the piece (its first bar never used)."""
    return list(range(1, len(piece.measures) - length + 1))


def distractors(pieces, i: int, start: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """DISTRACTORS (piece, first bar) of other pieces whose next CONTINUATION_BARS bars' chord
    qualities match piece `i`'s from `start`; fewer when fewer match."""
    wanted = [qualities(c) for c in pieces[i].chords[start : start + CONTINUATION_BARS]]
    matches = [
        (j, bar)
        for j, piece in enumerate(pieces)
        if j != i
        for bar in bar_runs(piece, CONTINUATION_BARS)
        if [qualities(c) for c in piece.chords[bar : bar + CONTINUATION_BARS]] == wanted
    ]
    chosen = rng.permutation(len(matches))[:DISTRACTORS]
    return [matches[k] for k in chosen]


def continuation_accuracy(model, params, corpus: data.SplitCorpus, Tx: int, seed: int = 0):
    """dict(prompts, accuracy): continuation prediction over the test pieces (one prompt a piece,
    its first 8 bars after the first; pieces without 3 matching distractors are left out)."""
    pieces, rng, wins = corpus.pieces_of("test"), np.random.default_rng(seed), []
    for i, piece in enumerate(pieces):
        start = 1 + PROMPT_BARS
        if len(piece.measures) < start + CONTINUATION_BARS:
            continue
        others = distractors(pieces, i, start, rng)
        if len(others) < DISTRACTORS:
            continue
        wins.append(_true_bars_win(model, params, corpus, piece, start, others, Tx))
    return dict(prompts=len(wins), accuracy=float(np.mean(wins)) if wins else float("nan"))


def _true_bars_win(model, params, corpus, piece, start, others, Tx) -> bool:
    """Whether the true bars after the prompt score better than every distractor."""
    candidates = [piece.measures[start : start + CONTINUATION_BARS]] + [
        corpus.pieces_of("test")[j].measures[bar : bar + CONTINUATION_BARS] for j, bar in others
    ]
    nlls = [
        candidate_nll(model, params, *candidate_window(corpus, piece, start, c, Tx))
        for c in candidates
    ]
    return int(np.argmin(nlls)) == 0


# ---------------------------------------------------------------------------------------------
# Repeat odds


def repeat_odds(model, params, corpus: data.SplitCorpus, Tx: int, split: str = "test") -> dict:
    """Over the split's real notes that follow a note (among their window's inputs, scored as
    `evaluate` scores the split): `repeat_share`, the share that repeat the last pitch, and
    `repeat_odds`, the model's mean p(the last pitch | a note comes). {} for a grammar whose
    tokens name no pitch."""
    groups = corpus.vocab.pitch_groups
    if groups is None:
        return {}
    windows, mask = heldout_windows(corpus.segments_of(split), Tx)
    if not mask.any():
        return {}
    odds, last = batched(_repeat_odds, model, params, windows, jnp.asarray(groups))
    target = np.where(windows.y == EMPTY, -1, groups[windows.y])
    scored = mask & (target >= 0) & (last >= 0)
    share, mean_odds = float((target == last)[scored].mean()), float(odds[scored].mean())
    return dict(notes=int(scored.sum()), repeat_share=share, repeat_odds=mean_odds)


@functools.partial(jax.jit, static_argnums=0)
def _repeat_odds(model, params, windows: Windows, groups: jax.Array):
    """(p(the last note's pitch | a note) (W, L), the last note's pitch group (W, L)) at each
    target, the window's inputs read as they are."""
    chords = windows.chords if model.chord_features else None
    probs = jax.nn.softmax(model.apply({"params": params}, windows.x, chords))
    last = sample.last_pitch_groups(windows.x, groups)
    note = jnp.sum(jnp.where(groups >= 0, probs, 0.0), axis=-1)
    return jnp.sum(jnp.where(groups == last[..., None], probs, 0.0), axis=-1) / note, last

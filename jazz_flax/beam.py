"""Beam search over a trained model, Magenta's way, in one `jax.jit` around a `jax.lax.fori_loop`.

Magenta's `improv_rnn_generate` semantics: every `steps_per_iteration` (S) tokens, each of the
`beam_size` (B) beams is extended by `branch_factor` (K) continuations of S tokens and the B
likeliest of the B·K are kept; the first iteration takes the tokens left over, (length − 1) % S + 1,
so that the last one ends on the last token. Continuations are sampled with the `Strategy`
(temperature, top-k, top-p, pitch temperature); with `greedy` the K branches of a beam are its K
likeliest next tokens, each continued by argmax. A beam's score is its tokens' log-probability
under the model (temperature 1, no filter), the primer's excluded.

Magenta's events are time steps, so its beams always cover the same stretch of music. Ours are
notes and rests of any length: after as many tokens, one beam may have played 4 beats and another
12. A `length_penalty` α ranks the beams by their log-probability divided by beats^α, the beats of
music they cover (GNMT's length penalty, counted in beats): 0 ranks them in total, 1 per beat.
Ranked in total, the likeliest beams are streams of short, predictable notes; per beat, long rests
win, for a rest's log-probability is spread over the beats it fills (docs/results.md).

The loop always holds B·K rows, row b·K + k being branch k of beam b; pruning gathers the rows of
the B best and repeats each K times. Each step writes its tokens and the rows they came from; the
sequences are traced back after the loop, not gathered at every step. Shapes are static, each step
is branch-free (the pruning is a gather by an index that is the identity between prunes), and the
model's state is an opaque pytree (`jax.tree.map` gathers its rows): any cell's carry, or the
Transformer's key/value cache and positions (see `sample`), works.
Measure-aware as `sample.sample`: a chord-conditioned model reads the chord at each row's own
position in beats.

With greedy extensions and one iteration (S = length), branch 0 of beam 0 is greedy decoding, so
the best beam (ranked in total) is never less likely than it. With several iterations, as any beam
search, it can be: the greedy path's prefix may be pruned for prefixes that turn out worse.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jazz_flax import sample
from jazz_flax.errors import POSITIVE, JazzFlaxError
from jazz_flax.sample import Strategy
from jazz_flax.windows import EMPTY


class Beam(NamedTuple):
    """Magenta's beam search settings; the defaults (1, 1, 1) are plain sampling."""

    beam_size: int = 1
    branch_factor: int = 1
    steps_per_iteration: int = 1
    length_penalty: float = 0.0  # rank beams by log-probability / beats covered ** this


class Beams(NamedTuple):
    ids: jax.Array  # int32 (N, B, length): each search's beams, the best first
    log_probs: jax.Array  # float32 (N, B): each beam's log-probability (the best's first)


# A beam that has covered less than this (a token of no duration: UNK) is ranked as covering it.
MIN_BEATS = 1 / 12


def check_beam(beam: Beam) -> None:
    """Raises a JazzFlaxError for a size below 1 or a negative length penalty."""
    for name, value in beam._asdict().items():
        if name != "length_penalty":
            POSITIVE.check(name, value)
    if not beam.length_penalty >= 0:
        raise JazzFlaxError(f"the length penalty must be ≥ 0, got {beam.length_penalty}")


def token_beats(model, beam: Beam, durations) -> jax.Array | None:
    """float32 (V,) each token's duration in beats, for a length penalty; None without one."""
    if not beam.length_penalty:
        return None
    if durations is None:
        raise JazzFlaxError(
            "a beam search with a length penalty needs each token's duration",
            hint="pass durations (V,) in beats (data.Vocabulary.durations)",
        )
    return sample.token_durations(model, durations)


def beam_search(
    model,
    params,
    key: jax.Array,
    *,
    beam: Beam = Beam(),  # noqa: B008 (an immutable NamedTuple)
    searches: int = 1,
    length: int = 50,
    strategy: Strategy = Strategy(),  # noqa: B008 (an immutable NamedTuple)
    primer: Sequence[int] | None = None,
    chord_grid: np.ndarray | None = None,
    durations: np.ndarray | None = None,
    pitch_groups: np.ndarray | None = None,
) -> Beams:
    """`searches` independent beam searches of `length` tokens each (search i draws with key
    `jax.random.split(key, searches)[i]`, or `key` itself when searches is 1). The other arguments
    are `sample.sample`'s."""
    check_beam(beam)
    sample.check_strategy(strategy, length)
    if strategy.greedy and beam.branch_factor > model.n_values:
        raise JazzFlaxError(
            f"branch_factor {beam.branch_factor} exceeds the {model.n_values} tokens to branch on"
        )
    if searches < 1:
        raise JazzFlaxError(f"the number of searches must be ≥ 1, got {searches}")
    beats = token_beats(model, beam, durations)
    grid, durations = sample.chord_inputs(model, chord_grid, durations)
    groups = sample.pitch_inputs(model, strategy, pitch_groups)
    inputs = np.array([EMPTY, *([] if primer is None else primer)], np.int32)
    keys = key[None] if searches == 1 else jax.random.split(key, searches)
    numbers, greedy = sample.without_greedy(strategy)
    shape = dict(length=length, greedy=greedy, beams=beam.beam_size)
    shape.update(branches=beam.branch_factor, steps=beam.steps_per_iteration)
    traced_args = (numbers, grid, durations, groups, beats, jnp.float32(beam.length_penalty))
    return _searches(model, params, inputs, keys, traced_args, **shape)


@functools.partial(
    jax.jit, static_argnames=("model", "length", "greedy", "beams", "branches", "steps")
)
def _searches(model, params, inputs, keys, traced_args, **shape) -> Beams:
    """`_search` for each key, vmapped: one program for all of them."""
    search = functools.partial(_search, model, params, inputs, **shape)
    return Beams(*jax.vmap(lambda key: search(key, *traced_args))(keys))


def _search(model, params, inputs, key, numbers, grid, durations, groups, beats, penalty, **shape):
    """One search: inputs (1 + P,) EMPTY then the primer → (ids (B, length), log_probs (B,))."""
    length, greedy, beams, branches, steps = (
        shape[name] for name in ("length", "greedy", "beams", "branches", "steps")
    )
    rows = beams * branches
    strategy = numbers._replace(greedy=greedy)
    step = sample._stepper(model, params, grid, durations)
    state, _ = jax.lax.scan(
        lambda state, ids: (step(state, jnp.broadcast_to(ids, (rows,)))[0], None),
        sample._initial_state(model, rows, grid),
        inputs[:-1],
    )
    # With greedy extensions, identical beams would give identical branches: one beam starts live.
    alive = jnp.arange(rows) < (branches if greedy else rows)
    first = (length - 1) % steps + 1  # tokens of the first iteration

    def body(t, loop_state):
        state, ids_in, last, key, tokens, parents, scores, covered = loop_state
        state, logits = step(state, ids_in)
        key, subkey = (key, key) if greedy else jax.random.split(key)
        branching = (t == 0) | ((t - first) % steps == 0)
        token = _extend(subkey, logits, strategy, (groups, last), branches, branching)
        scores = scores + jnp.take_along_axis(jax.nn.log_softmax(logits), token[:, None], -1)[:, 0]
        covered = covered if beats is None else covered + beats[token]
        ranked = scores if beats is None else scores / jnp.maximum(covered, MIN_BEATS) ** penalty
        pruning = (length - 1 - t) % steps == 0
        order = jnp.where(pruning, _best(ranked, beams, branches), jnp.arange(rows))
        moved = (state, token, sample.after(groups, last, token), scores, covered)
        state, token, last, scores, covered = jax.tree.map(lambda x: x[order], moved)
        written = tokens.at[t].set(token), parents.at[t].set(order)
        return state, token, last, key, *written, scores, covered

    init = (
        state,
        jnp.broadcast_to(inputs[-1], (rows,)),
        sample.last_pitches(groups, jnp.broadcast_to(inputs, (rows, len(inputs)))),
        key,
        jnp.zeros((length, rows), jnp.int32),
        jnp.zeros((length, rows), jnp.int32),
        jnp.where(alive, 0.0, -jnp.inf),
        jnp.zeros(rows, jnp.float32),  # beats covered
    )
    _, _, _, _, tokens, parents, scores, _ = jax.lax.fori_loop(0, length, body, init)
    ids = _backtrack(tokens, parents)
    return ids[::branches], scores[::branches]  # the B beams, best first


def _backtrack(tokens: jax.Array, parents: jax.Array) -> jax.Array:
    """int32 (rows, length): each final row's tokens. Row r after step t ends in tokens[t, r] and
    was row parents[t, r] after step t − 1."""

    def back(rows, step):
        token, parent = step
        return parent[rows], token[rows]

    _, ids = jax.lax.scan(back, jnp.arange(tokens.shape[1]), (tokens, parents), reverse=True)
    return ids.T


def _extend(key, logits, strategy: Strategy, pitches, branches: int, branching) -> jax.Array:
    """int32 (B·K,) next tokens: a draw per row (pitches at the pitch temperature with the pitch
    groups and each row's last, `pitches`); greedy, row b·K + k's k-th likeliest token at a
    branching step and the likeliest otherwise."""
    if not strategy.greedy:
        return sample.choose(key, logits, strategy, *pitches)
    _, ranked = jax.lax.top_k(logits, branches)
    rank = jnp.where(branching, jnp.arange(logits.shape[0]) % branches, 0)
    return jnp.take_along_axis(ranked, rank[:, None], axis=-1)[:, 0].astype(jnp.int32)


def _best(ranked: jax.Array, beams: int, branches: int) -> jax.Array:
    """Row indices (B·K,): the B best rows by `ranked`, best first, each repeated K times."""
    _, best = jax.lax.top_k(ranked, beams)
    return jnp.repeat(best, branches)

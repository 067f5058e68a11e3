"""Sampling token ids from a trained model: one `jax.jit` around a `jax.lax.fori_loop`.

The sampler is generic over a model's step and its state: a model gives `initial_carry(batch)`,
its state before the first token, and `sample_step(params, state, ids (B,), chords)` → (state,
logits (B, V)), one token per row. The LSTM's state is its cells' carry (`model.DJModel`); the
Transformer's a key/value cache of its attention span and each row's position
(`transformer.Cache`), written in place at each step, so the prefix is never run again. The state
is an opaque pytree whose leaves have the batch axis first (beam search reorders its rows).

Each step applies the model's single step (the training parameters, no copy) and feeds the
chosen token back as the next input. Temperature, top-k and
nucleus (top-p) are traced values: one compile per (batch, length) shape serves them all. Greedy
sampling (the notebook's argmax) draws no random numbers and is a program of its own.

A pitch temperature (grammars whose tokens name pitches) sharpens or flattens the choice of pitch
alone: whether a note or a rest comes, and a note's duration given its pitch, keep the model's
probabilities (`at_pitch_temperature`). One temperature over a token that pairs a pitch with a
duration cannot do this: low enough for the pitches to land on the harmony, it also picks the
likeliest rhythm every time, an unbroken eighth-note stream (docs/results.md). Sharpened, the
likeliest pitch is often the one just played; with `keep_repeats`, the last note's pitch keeps the
model's probability and the temperature sharpens the choice among the others (the loop carries
each stream's last pitch).

A chord-conditioned model (`chord_features` > 0) is fed the chord sounding where each token starts:
the loop carries each stream's position in beats (the durations of the tokens so far, the primer's
included) and reads the chord of that grid step of that measure from a chord grid (an array that
`data.chord_grid` builds from the chords).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jazz_flax import meter
from jazz_flax.errors import JazzFlaxError, Range
from jazz_flax.windows import EMPTY

GRID = 1 / 12  # beats per step of the context grid: sixteenths and triplets (data.CONTEXT_STEPS)
STEPS = round(meter.BEATS / GRID)  # grid steps per measure: 48
# A position this close below a grid line (in grid steps; 0.0025 beats) counts as on it: float32
# sums of 3-decimal durations miss the line, e.g. three triplet eighths (3 × 0.333) make 0.999.
ON_THE_LINE = 0.03


class Strategy(NamedTuple):
    """How to choose each token. All fields are traced: changing them does not recompile."""

    temperature: float = 1.0
    top_k: int | None = None  # keep the k likeliest tokens; None keeps all
    top_p: float = 1.0  # keep the smallest set of likeliest tokens with probability ≥ p
    greedy: bool = False  # argmax, as the notebook
    pitch_temperature: float = 1.0  # of the pitch alone, given a note (`at_pitch_temperature`)
    keep_repeats: bool = False  # at a pitch temperature, repeat the last pitch as the model would


# Below the floor, logits / temperature overflow float32 and every token comes out the same:
# the likeliest token is greedy sampling, which says so.
TEMPERATURE = Range(0.01, note="(for the likeliest token, use greedy)")


def check_strategy(strategy: Strategy, length: int) -> None:
    """Raises a JazzFlaxError for settings outside their range."""
    TEMPERATURE.check("temperature", strategy.temperature)
    TEMPERATURE.check("pitch_temperature", strategy.pitch_temperature)
    if strategy.greedy and strategy.pitch_temperature != 1:
        raise JazzFlaxError(
            "greedy sampling takes the likeliest token: a pitch temperature has no say in it",
            hint="leave pitch_temperature at 1, or sample without greedy",
        )
    if strategy.keep_repeats and strategy.pitch_temperature == 1:
        raise JazzFlaxError(
            "keep_repeats keeps the model's repeats at a pitch temperature: none is set",
            hint="set pitch_temperature (e.g. 0.2), or leave keep_repeats off",
        )
    if strategy.top_k is not None and strategy.top_k < 1:
        raise JazzFlaxError(
            f"top_k must be ≥ 1, got {strategy.top_k}", hint="leave it unset to keep every token"
        )
    Range(0, 1, low_open=True, high_open=False).check("top_p", strategy.top_p)
    if length <= 0:
        raise JazzFlaxError(f"the number of tokens to sample must be > 0, got {length}")


def traced(strategy: Strategy) -> Strategy:
    """The strategy as the sampler takes it: temperature, top_k (0 for None: every token), top_p,
    pitch_temperature and keep_repeats as numpy scalars, which jit traces; greedy a Python bool,
    which picks the program."""
    return Strategy(
        np.float32(strategy.temperature),
        np.int32(0 if strategy.top_k is None else strategy.top_k),
        np.float32(strategy.top_p),
        bool(strategy.greedy),
        np.float32(strategy.pitch_temperature),
        np.bool_(strategy.keep_repeats),
    )


def pitch_inputs(model, strategy: Strategy, pitch_groups: np.ndarray | None) -> jax.Array | None:
    """The values' pitch groups (`data.Vocabulary.pitch_groups`) as the sampler takes them; None at
    pitch temperature 1, where there is nothing to do."""
    if strategy.pitch_temperature == 1:
        return None
    if pitch_groups is None:
        raise JazzFlaxError(
            "a pitch temperature needs tokens that name their pitch",
            hint="train with --config.data.grammar=pitch (or pitch_relative), or leave it at 1",
        )
    if np.shape(pitch_groups) != (model.n_values,):
        raise JazzFlaxError(f"pitch_groups ({model.n_values},) expected, got {pitch_groups.shape}")
    return jnp.asarray(pitch_groups, jnp.int32)


def at_pitch_temperature(
    logits: jax.Array, groups: jax.Array, pitch_temperature, last: jax.Array | None = None
) -> jax.Array:
    """Log-probabilities (B, V) of the values when the pitch of a note is drawn at
    `pitch_temperature`:

        p'(note of pitch g and duration d) = p(note) · p'(g | note) · p(d | g)

    p'(g | note) = softmax_g(log p(g | note) / T); with `last` (B,), each row's last pitch group
    (−1: none), that group keeps p(g | note) and the others share the rest at T (`_sharpened`).
    p'(rest or UNK) = p(rest or UNK). logits (B, V); groups (V,) each value's pitch group, −1 for
    those that are not notes (`data.Vocabulary.pitch_groups`)."""
    log_p = jax.nn.log_softmax(logits).T  # (V, B): segments run along the first axis
    n_groups = groups.shape[0] + 1  # at most one group per value, and the values that are no note
    segments = jnp.where(groups < 0, n_groups - 1, groups)
    peak = jax.ops.segment_max(log_p, segments, num_segments=n_groups)  # -inf where empty
    total = jax.ops.segment_sum(jnp.exp(log_p - peak[segments]), segments, num_segments=n_groups)
    log_pitch = peak + jnp.log(total)  # (G + 1, B): log p(g), the last row not a pitch
    notes = jnp.where((jnp.arange(n_groups) < n_groups - 1)[:, None], log_pitch, -jnp.inf)
    log_note = jax.nn.logsumexp(notes, axis=0)
    sharpened = log_note + _sharpened(notes, log_note, pitch_temperature, last)
    at_temperature = log_p + (sharpened - log_pitch)[segments]
    return jnp.where(groups[:, None] >= 0, at_temperature, log_p).T


def _sharpened(notes: jax.Array, log_note: jax.Array, pitch_temperature, last) -> jax.Array:
    """log p'(g | note) (G + 1, B) from notes = log p(g) (−inf for the last row, no pitch) and
    log_note = log p(note): softmax(log p(g) / T), or with `last`, p(last | note) for the last
    group and (1 − p(last | note)) · softmax(log p(g) / T) over the others."""
    if last is None:
        return jax.nn.log_softmax(notes / pitch_temperature, axis=0)
    is_last = jnp.arange(notes.shape[0])[:, None] == last[None, :]
    log_kept = jnp.max(jnp.where(is_last, notes, -jnp.inf), axis=0) - log_note  # −inf: none
    others = jax.nn.log_softmax(jnp.where(is_last, -jnp.inf, notes) / pitch_temperature, axis=0)
    others = jnp.nan_to_num(others, nan=-jnp.inf) + jnp.log1p(-jnp.exp(log_kept))
    return jnp.where(is_last, notes - log_note, others)


def note_groups(groups: jax.Array, ids: jax.Array) -> jax.Array:
    """Each id's pitch group (`data.Vocabulary.pitch_groups`), −1 for a rest, UNK or EMPTY."""
    return jnp.where(ids == EMPTY, -1, groups[ids])


def last_pitch_groups(ids: jax.Array, groups: jax.Array) -> jax.Array:
    """int32 (B, L): the pitch group of the last note among ids[:, : t + 1] (B, L), −1 before
    the first."""
    group = note_groups(groups, ids)
    seen = jnp.where(group >= 0, jnp.arange(ids.shape[1]), -1)
    latest = jax.lax.cummax(seen, axis=1)
    return jnp.where(latest >= 0, jnp.take_along_axis(group, jnp.maximum(latest, 0), 1), -1)


def last_pitches(groups: jax.Array | None, inputs: jax.Array) -> jax.Array | None:
    """int32 (B,) the pitch group of each row's last note in inputs (B, P) (−1: none); None
    without groups."""
    return None if groups is None else last_pitch_groups(inputs, groups)[:, -1]


def after(groups: jax.Array | None, last: jax.Array | None, token: jax.Array) -> jax.Array | None:
    """The last pitch groups (B,) once tokens (B,) are played: a rest or EMPTY keeps them."""
    if groups is None:
        return None
    group = note_groups(groups, token)
    return jnp.where(group >= 0, group, last).astype(jnp.int32)


def filter_logits(logits: jax.Array, top_k: jax.Array, top_p: jax.Array) -> jax.Array:
    """logits (B, V) with -inf outside the top-k (top_k 0: every token) and top-p (nucleus) sets."""
    n_values = logits.shape[-1]
    ordered = jnp.sort(logits, axis=-1)[:, ::-1]  # descending
    k = jnp.where(top_k > 0, jnp.minimum(top_k, n_values), n_values)
    kth = jnp.take(ordered, k - 1, axis=-1)[:, None]
    probs = jax.nn.softmax(ordered, axis=-1)
    before = jnp.cumsum(probs, axis=-1) - probs  # probability of the likelier tokens
    n_nucleus = jnp.sum(before < top_p, axis=-1, keepdims=True)  # ≥ 1: before[0] == 0
    pth = jnp.take_along_axis(ordered, n_nucleus - 1, axis=-1)
    return jnp.where((logits >= kth) & (logits >= pth), logits, -jnp.inf)


def choose(
    key: jax.Array, logits: jax.Array, strategy: Strategy, groups=None, last=None
) -> jax.Array:
    """int32 (B,) tokens from logits (B, V): the argmax when greedy, else a draw. The strategy as
    `traced` gives it; its numbers may be tracers. With the values' pitch `groups`
    (`pitch_inputs`) and each row's `last` pitch group (`last_pitches`), pitches are drawn at the
    pitch temperature, the last one kept at the model's probability with `keep_repeats`.

    Draws by inverse CDF, one uniform number per row (cheaper on CPU than Gumbel noise per value);
    the sort behind top-k / top-p runs only when one of them is set.
    """
    if strategy.greedy:
        return jnp.argmax(logits, axis=-1).astype(jnp.int32)
    if groups is not None:
        kept = None if last is None else jnp.where(strategy.keep_repeats, last, -1)
        logits = at_pitch_temperature(logits, groups, strategy.pitch_temperature, kept)
    filtering = (strategy.top_k > 0) | (strategy.top_p < 1)
    filtered = jax.lax.cond(
        filtering,
        lambda: filter_logits(logits, strategy.top_k, strategy.top_p),
        lambda: logits,
    )
    cdf = jnp.cumsum(jax.nn.softmax(filtered / strategy.temperature, axis=-1), axis=-1)
    u = (1.0 - jax.random.uniform(key, (logits.shape[0], 1))) * cdf[:, -1:]  # in (0, total]
    return jnp.minimum(jnp.sum(cdf < u, axis=-1), logits.shape[-1] - 1).astype(jnp.int32)


class Sample(NamedTuple):
    ids: jax.Array  # int32 (B, Ty)
    log_probs: jax.Array  # float32 (B, Ty): log p(token) under the model (temperature 1, no filter)


def sample(
    model,
    params,
    key: jax.Array,
    *,
    batch: int = 1,
    length: int = 50,
    strategy: Strategy = Strategy(),  # noqa: B008 (an immutable NamedTuple)
    primer: Sequence[int] | None = None,
    chord_grid: np.ndarray | None = None,
    durations: np.ndarray | None = None,
    pitch_groups: np.ndarray | None = None,
) -> Sample:
    """Samples `length` tokens for each of `batch` sequences.

    Args:
      model: a `model.DJModel` or `transformer.Transformer`: its `sample_step` is the step.
      params: the model's parameters (as trained).
      key: PRNG key; the same key gives the same tokens.
      strategy: greedy / temperature / top-k / top-p.
      primer: token ids the solo starts with (shared by the batch); sampling continues after
        them. None starts from the zero state and an empty input, as the notebook.
      chord_grid: float32 (n_measures, STEPS, F), the chord features at each grid step of each
        measure (`data.chord_grid` builds it); the last measure's go on after it. For
        chord-conditioned models only: the others ignore it.
      durations: float32 (V,), each token's duration in beats; with `chord_grid`.
      pitch_groups: int32 (V,), each token's pitch (`data.Vocabulary.pitch_groups`); needed for a
        pitch temperature other than 1.
    """
    check_strategy(strategy, length)
    grid, durations = chord_inputs(model, chord_grid, durations)
    groups = pitch_inputs(model, strategy, pitch_groups)
    inputs = np.tile(np.array([EMPTY, *([] if primer is None else primer)], np.int32), (batch, 1))
    # numpy, not jax.numpy, outside the jitted loop: each jax.numpy op costs a dispatch
    numbers, greedy = without_greedy(strategy)
    result = _sample(
        model, params, inputs, key, numbers, grid, durations, groups, length=length, greedy=greedy
    )
    if not np.isfinite(np.asarray(result.log_probs)).all():
        raise JazzFlaxError(
            "the model's predictions are not finite numbers (NaN or infinity)",
            hint="its weights are damaged or diverged: train it again",
        )
    return result


def without_greedy(strategy: Strategy) -> tuple[Strategy, bool]:
    """The `traced` strategy with greedy None (a pytree of numbers that jit traces) and greedy,
    which jit takes as static: it picks the program."""
    numbers = traced(strategy)
    return numbers._replace(greedy=None), numbers.greedy


def chord_inputs(model, chord_grid, durations) -> tuple[jax.Array | None, jax.Array | None]:
    """(chord_grid, durations) as float32 arrays for a chord-conditioned model; Nones otherwise."""
    if not model.chord_features:
        return None, None
    if chord_grid is None or durations is None:
        raise JazzFlaxError(
            "a chord-conditioned model samples over chords",
            hint="pass chord_grid (n_measures, 16, F) and durations (V,)",
        )
    grid = jnp.asarray(chord_grid, jnp.float32)
    if grid.ndim != 3 or grid.shape[0] < 1 or grid.shape[1:] != (STEPS, model.chord_features):
        raise JazzFlaxError(
            f"chord_grid of shape (n_measures ≥ 1, {STEPS}, {model.chord_features}) expected, "
            f"got {grid.shape}"
        )
    return grid, token_durations(model, durations)


def token_durations(model, durations) -> jax.Array:
    """durations (V,), each token's in beats, as a float32 array (checked against the model)."""
    durations = jnp.asarray(durations, jnp.float32)
    if durations.shape != (model.n_values,):
        raise JazzFlaxError(f"durations ({model.n_values},) expected, got {durations.shape}")
    return durations


def chords_at(grid: jax.Array, position: jax.Array) -> jax.Array:
    """The chord features (B, F) at positions (B,) in beats from the start of the first measure:
    grid[measure, step] (a `chord_grid`) of the grid step the position falls in; past the end,
    the last measure's."""
    grid_step = jnp.floor(position / GRID + ON_THE_LINE).astype(jnp.int32)
    measure = jnp.minimum(grid_step // STEPS, grid.shape[0] - 1)
    return grid[measure, grid_step % STEPS]


def _initial_state(model, batch: int, grid: jax.Array | None):
    """The model's initial state (a carry, an empty cache); with a chord grid, also each stream's
    position in beats (B,)."""
    state = model.initial_carry(batch)
    return state if grid is None else (state, jnp.zeros(batch, jnp.float32))


def _stepper(model, params, grid: jax.Array | None, durations: jax.Array | None):
    """The loop's step: (state, ids (B,)) → (state, logits (B, V)), the state `_initial_state`'s.

    With a chord grid, each input token advances the position by its duration, then the model
    reads the chord there.
    """
    if grid is None:
        return functools.partial(model.sample_step, params)

    def step(state, ids):
        model_state, position = state
        position = position + jnp.where(ids == EMPTY, 0.0, durations[ids])
        model_state, logits = model.sample_step(params, model_state, ids, chords_at(grid, position))
        return (model_state, position), logits

    return step


@functools.partial(jax.jit, static_argnames=("model", "length", "greedy"))
def _sample(
    model, params, inputs: jax.Array, key, numbers, grid, durations, groups, *, length, greedy
) -> Sample:
    """inputs (B, 1 + P): EMPTY then the primer; all but the last set the state before sampling.
    numbers and greedy: `without_greedy`; grid and durations: `chord_inputs`; groups:
    `pitch_inputs`. Greedy sampling is a program of its own, with no random numbers."""
    batch = inputs.shape[0]
    strategy = numbers._replace(greedy=greedy)
    step = _stepper(model, params, grid, durations)

    def feed(state, ids):
        return step(state, ids)[0], None

    state, _ = jax.lax.scan(feed, _initial_state(model, batch, grid), inputs[:, :-1].T)

    def body(t, loop_state):
        state, ids_in, last, key, ids, log_probs = loop_state
        state, logits = step(state, ids_in)
        key, subkey = (key, key) if greedy else jax.random.split(key)
        token = choose(subkey, logits, strategy, groups, last)
        log_p = jnp.take_along_axis(jax.nn.log_softmax(logits), token[:, None], axis=-1)[:, 0]
        last = after(groups, last, token)
        return state, token, last, key, ids.at[:, t].set(token), log_probs.at[:, t].set(log_p)

    init = (
        state,
        inputs[:, -1],
        last_pitches(groups, inputs),
        key,
        jnp.zeros((batch, length), jnp.int32),
        jnp.zeros((batch, length), jnp.float32),
    )
    _, _, _, _, ids, log_probs = jax.lax.fori_loop(0, length, body, init)
    return Sample(ids, log_probs)

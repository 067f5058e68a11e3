"""Training windows cut from token ids, numpy only: what the model layer trains on and samples
from, without the corpus code (music21, grammars) behind the ids.

    Segment(ids, chords) of one piece ──make_windows──▶ Windows(x, y, chords)
    segments ──segment_windows (never across two pieces)──▶ Windows

`data.windows = "notebook"`: the seed notebook's m random windows of one piece, x<1> EMPTY (an
all-zero input) and the last target EMPTY (masked); `"sliding"`: every window, each `stride` tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import ml_collections
import numpy as np

from jazz_flax.errors import JazzFlaxError
from jazz_flax.meter import BEATS

EMPTY = -1  # id of an all-zero vector: the notebook's x<1> and its last target
CHORD_FEATURES = 24  # a token's chord features (data.chord_vector): 12 pitch classes, 12 roots

# The context a model may read beside each token (`data.context`; data.features computes it)
CHANGE_CAP = 8  # beats to the next chord change are counted up to this
TEMPO_EDGES = (110.0, 150.0, 190.0, 230.0, 270.0)  # bpm: the edges of the tempo buckets
CONTEXT_STEPS = 12  # positions per beat: the 1/12-beat grid of v2 and the pitch grammars
PARTS = {  # each part of the context and its width
    "chord": CHORD_FEATURES,  # the chord sounding: pitch classes, root
    "next_chord": CHORD_FEATURES,  # the next different chord (zeros after the last)
    "position": BEATS + CONTEXT_STEPS,  # the beat of the bar, the twelfth of the beat
    "to_change": CHANGE_CAP + 1,  # whole beats until the next change, up to CHANGE_CAP
    "tempo": len(TEMPO_EDGES) + 1,  # the tempo's bucket
}


CHORD_ALONE = ("chord",)  # what a model conditioned on the music reads when no part is chosen


def read_context(parts: Sequence[str]) -> tuple[str, ...]:
    """The parts a model conditioned on the music reads: those chosen, else the chord alone
    (`condition_on_chords`); a model that reads none is fed nothing (`soloist.over_chords`)."""
    return tuple(parts) or CHORD_ALONE


def context_parts(text: str) -> tuple[str, ...]:
    """The parts `data.context` names ("chord,position"; "" for none), in PARTS' order."""
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = sorted(names - PARTS.keys())
    if unknown:
        raise JazzFlaxError(
            f"unknown context part {unknown[0]!r} in data.context={text!r}",
            hint=f"name some of {', '.join(PARTS)}, separated by commas",
        )
    return tuple(name for name in PARTS if name in names)


def width(parts: Sequence[str]) -> int:
    """The features of the context `parts`."""
    return sum(PARTS[part] for part in parts)


class Segment(NamedTuple):
    """Consecutive training tokens of one piece: their ids and their chords' features."""

    ids: np.ndarray  # int32 (n,)
    chords: np.ndarray  # float32 (n, CHORD_FEATURES): chord_vector of each token's chord

    @classmethod
    def without_chords(cls, ids: np.ndarray) -> Segment:
        """`ids` with all-zero chord features."""
        return cls(ids, np.zeros((len(ids), CHORD_FEATURES), np.float32))


class Windows(NamedTuple):
    """Next-token training windows; EMPTY marks an all-zero input or an empty (masked) target."""

    x: np.ndarray  # int32 (m, Tx): inputs
    y: np.ndarray  # int32 (m, Tx): targets, y[:, t] follows x[:, t]
    chords: np.ndarray  # float32 (m, Tx, CHORD_FEATURES): the chord of each target y[:, t]

    @property
    def mask(self) -> np.ndarray:
        """bool (m, Tx): the targets that count in the loss."""
        return self.y != EMPTY


def notebook_windows(
    ids: np.ndarray, m: int, Tx: int, seed: int = 0, chords: np.ndarray | None = None
) -> Windows:
    """The seed notebook's windows: m random starts as after `np.random.seed(seed)`.

    x[:, 0] is EMPTY, x[:, t] = ids[s + t] for t ≥ 1; y[:, t-1] = x[:, t] and y[:, Tx-1] is EMPTY.
    `chords` (n, CHORD_FEATURES), one row per id, gives the windows' chords (None: zeros).
    """
    _check_length(ids, Tx, Tx + 1)
    state = np.random.RandomState(seed)
    starts = np.array([state.choice(len(ids) - Tx) for _ in range(m)])
    positions = starts[:, None] + np.arange(Tx)
    window = ids[positions]
    x = window.copy()
    x[:, 0] = EMPTY
    y = np.full_like(window, EMPTY)
    y[:, :-1] = window[:, 1:]
    return Windows(x, y, _target_chords(chords, positions + 1, y))


def sliding_windows(
    ids: np.ndarray, Tx: int, stride: int = 1, chords: np.ndarray | None = None
) -> Windows:
    """Every window of Tx tokens, starting each `stride` tokens, every target used.

    x[:, 0] is EMPTY (a start-of-sequence input, as the sampler's zero start) and y = the window.
    `chords` (n, CHORD_FEATURES), one row per id, gives the windows' chords (None: zeros).
    """
    _check_length(ids, Tx, Tx)
    starts = np.arange(0, len(ids) - Tx + 1, stride)
    positions = starts[:, None] + np.arange(Tx)
    y = ids[positions]
    x = np.concatenate([np.full((len(starts), 1), EMPTY, ids.dtype), y[:, :-1]], axis=1)
    return Windows(x, y, _target_chords(chords, positions, y))


def _target_chords(chords: np.ndarray | None, positions: np.ndarray, y: np.ndarray) -> np.ndarray:
    """float32 (m, Tx, CHORD_FEATURES): the rows `positions` of `chords`, zeros where y is EMPTY."""
    if chords is None:
        return np.zeros((*y.shape, CHORD_FEATURES), np.float32)
    return np.where((y != EMPTY)[..., None], chords[positions], 0.0).astype(np.float32)


def make_windows(
    ids: np.ndarray, data_config: ml_collections.ConfigDict, chords: np.ndarray | None = None
) -> Windows:
    """Windows of the kind `data_config.windows` names, cut from one sequence of ids."""
    if data_config.windows == "notebook":
        return notebook_windows(
            ids, data_config.m, data_config.Tx, data_config.window_seed, chords=chords
        )
    if data_config.windows == "sliding":
        return sliding_windows(ids, data_config.Tx, data_config.stride, chords=chords)
    raise JazzFlaxError(
        f"unknown windows mode {data_config.windows!r}", hint="use 'notebook' or 'sliding'"
    )


def segment_windows(segments: Sequence[Segment], data_config: ml_collections.ConfigDict) -> Windows:
    """`make_windows` of each segment, concatenated: no window spans two pieces.

    Notebook windows cut one piece. With several, a segment shorter than Tx gives no window.
    """
    if len(segments) == 1:
        return make_windows(segments[0].ids, data_config, segments[0].chords)
    if data_config.windows == "notebook":
        raise JazzFlaxError(
            f"notebook windows are cut from one piece; this corpus has {len(segments)}",
            hint="use sliding windows: --config.data.windows=sliding",
        )
    long_enough = [s for s in segments if len(s.ids) >= data_config.Tx]
    if not long_enough:
        raise JazzFlaxError(
            f"no piece has the {data_config.Tx} tokens of a window",
            hint="use a smaller Tx or longer sections",
        )
    windows = [make_windows(s.ids, data_config, s.chords) for s in long_enough]
    return Windows(*(np.concatenate(field) for field in zip(*windows, strict=True)))


def _check_length(ids: np.ndarray, Tx: int, needed: int) -> None:
    if len(ids) < needed:
        raise JazzFlaxError(
            f"the corpus has {len(ids)} tokens, too few for windows of Tx={Tx} "
            f"(they need {needed})",
            hint="use a smaller Tx or a longer section",
        )


# ---------------------------------------------------------------------------------------------
# Scoring held-out tokens, each once


def heldout_windows(held: Sequence[Segment], Tx: int) -> tuple[Windows, np.ndarray]:
    """Windows over the held-out segments and the targets they score, each token exactly once.

    Returns (windows (W, L), mask bool (W, L)), L = min(Tx, the longest segment's n): a segment
    of n tokens gives n - min(Tx, n) + 1 windows as `sliding_windows` (x EMPTY-first, y the
    tokens), EMPTY after its end when n < L. Empty (0, 0) arrays when nothing is held out.
    """
    segments = [segment for segment in held if len(segment.ids)]
    if not segments:
        empty = np.zeros((0, 0), np.int32)
        no_chords = np.zeros((0, 0, CHORD_FEATURES), np.float32)
        return Windows(empty, empty, no_chords), np.zeros((0, 0), bool)
    width = min(Tx, max(len(segment.ids) for segment in segments))
    windows, masks = zip(*(_scored_windows(segment, width) for segment in segments), strict=True)
    return Windows(*map(np.concatenate, zip(*windows, strict=True))), np.concatenate(masks)


def _scored_windows(segment: Segment, width: int) -> tuple[Windows, np.ndarray]:
    """One segment's windows of `width` tokens (of all of them, EMPTY after, if fewer) and the
    targets they score."""
    ids = np.asarray(segment.ids, np.int32)
    windows = sliding_windows(ids, min(width, len(ids)), chords=segment.chords)
    mask = np.zeros(windows.y.shape, bool)
    mask[0] = True  # the first window: every token, after 0 … L-1 tokens of context
    mask[1:, -1] = True  # each later window: its last token, after L-1 tokens of context
    pad = [(0, 0), (0, width - mask.shape[1])]  # the causal model's earlier outputs never see it
    padded = Windows(
        np.pad(windows.x, pad, constant_values=EMPTY),
        np.pad(windows.y, pad, constant_values=EMPTY),
        np.pad(windows.chords, [*pad, (0, 0)]),
    )
    return padded, np.pad(mask, pad)

"""Musical metrics of a solo: how it sits on its chords, its pitches, intervals and rhythms.

Every function takes a `render.Solo` (offsets and durations in beats, chords at absolute offsets)
and returns a float, except `duration_histogram` (an array). A "note" is a pitched event; rests
(`pitch` None) only matter to `rest_ratio` as the absence of notes.

Degenerate solos never raise: a quantity whose denominator is zero is NaN, e.g. the chord-tone
ratio of a solo with no notes (or no chords), the mean interval of fewer than two notes, or any
per-beat / per-measure quantity of a solo of length 0. Well-defined values stay values: a solo
with no notes has 0.0 notes per measure, a rest ratio of 1.0 and a clean-measure ratio of 1.0.
"""

from __future__ import annotations

import math

import numpy as np

from jazz_flax import grammar
from jazz_flax.meter import BEATS
from jazz_flax.music.render import Solo

DURATION_STEP = 0.25  # duration histogram bins: the 0.25-beat grid …
LONG_NOTE = 4.0  # … up to one bin for every duration of LONG_NOTE beats or more
N_DURATION_BINS = round(LONG_NOTE / DURATION_STEP)  # 16: 0.25, 0.5, …, 3.75, ≥ 4
GROOVE_STEPS = 48  # onset positions per measure for grooving patterns: the 1/12-beat grid


def pitched_notes(solo: Solo) -> list[grammar.Event]:
    """The pitched events of `solo`, by onset (stable: simultaneous notes keep their order)."""
    return sorted((e for e in solo.notes if e.pitch is not None), key=lambda e: e.offset)


def _notes_over_chords(solo: Solo) -> list[tuple[grammar.Event, grammar.Chord]]:
    """Each note with the chord sounding at its onset; empty when the solo has no chords."""
    if not solo.chords:
        return []
    return [(note, grammar.chord_at(solo.chords, note.offset)) for note in pitched_notes(solo)]


def _share_of_notes_in(solo: Solo, kinds: str) -> float:
    """Share of notes whose pitch class is among the chord's `kinds` ("C", "S") pitch classes."""
    pairs = _notes_over_chords(solo)
    if not pairs:
        return math.nan
    hits = [
        any(note.pitch % 12 in chord.harmony.pitch_classes[kind] for kind in kinds)
        for note, chord in pairs
    ]
    return float(np.mean(hits))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def chord_tone_ratio(solo: Solo) -> float:
    """Share (0…1) of notes whose pitch class is a tone of the chord sounding at the note's onset
    (`grammar.chord_at`; before the first chord, the first chord). NaN: no notes or no chords."""
    return _share_of_notes_in(solo, "C")


def scale_tone_ratio(solo: Solo) -> float:
    """Share (0…1) of notes whose pitch class is a chord tone or in the scale derived from the
    chord sounding at the note's onset (for C major: G major). NaN: no notes or no chords."""
    return _share_of_notes_in(solo, "CS")


def pitch_class_entropy(solo: Solo) -> float:
    """Shannon entropy, in bits, of the notes' pitch-class histogram: 0 (one pitch class) to
    log2(12) ≈ 3.585 (all twelve equally often). NaN: no notes."""
    counts = np.bincount([note.pitch % 12 for note in pitched_notes(solo)], minlength=12)
    if not counts.sum():
        return math.nan
    p = counts[counts > 0] / counts.sum()
    return float((p * np.log2(1 / p)).sum())


def mean_abs_interval(solo: Solo) -> float:
    """Mean absolute distance, in semitones, between consecutive notes by onset (rests skipped).
    NaN: fewer than two notes."""
    pitches = np.array([note.pitch for note in pitched_notes(solo)])
    if len(pitches) < 2:
        return math.nan
    return float(np.abs(np.diff(pitches)).mean())


def leaps_over_octave(solo: Solo) -> float:
    """Share (0…1) of moves between consecutive notes by onset (rests skipped) wider than an
    octave. NaN: fewer than two notes."""
    pitches = np.array([note.pitch for note in pitched_notes(solo)])
    if len(pitches) < 2:
        return math.nan
    return float((np.abs(np.diff(pitches)) > 12).mean())


def pitch_range(solo: Solo) -> tuple[float, float]:
    """(lowest, highest) MIDI pitch of the notes; (NaN, NaN): no notes."""
    pitches = [note.pitch for note in pitched_notes(solo)]
    return (min(pitches), max(pitches)) if pitches else (math.nan, math.nan)


def notes_per_measure(solo: Solo) -> float:
    """Number of notes per 4-beat measure: notes / (length / 4). NaN: length 0."""
    return _ratio(len(pitched_notes(solo)), solo.length / BEATS)


def rest_ratio(solo: Solo) -> float:
    """Share (0…1) of the solo's length, in beats, during which no note sounds: explicit rests,
    gaps between events and silence at the end alike; overlapping notes count once and notes are
    cut at the solo's end. NaN: length 0."""
    covered, reach = 0.0, 0.0  # reach: the latest end of the notes so far (never before 0)
    for start, end in sorted((n.offset, n.offset + n.duration) for n in pitched_notes(solo)):
        low, high = max(start, reach), min(end, solo.length)
        covered += max(0.0, high - low)
        reach = max(reach, end)
    return _ratio(solo.length - covered, solo.length)


def duration_histogram(solo: Solo) -> np.ndarray:
    """Normalised histogram of the notes' durations: float64, shape (N_DURATION_BINS,) = (16,).

    Bin i < 15 holds durations nearest (i + 1) * 0.25 beats, bin 15 those nearest 4 beats or longer
    (≥ 3.875); halves round up, so 0.375 goes to 0.5; shorter than 0.125 goes to 0.25. Sums to 1,
    or is all zeros when there are no notes.
    """
    durations = np.array([note.duration for note in pitched_notes(solo)], dtype=float)
    bins = np.floor(durations / DURATION_STEP + 0.5).astype(int)
    counts = np.bincount(np.clip(bins, 1, N_DURATION_BINS) - 1, minlength=N_DURATION_BINS)
    return counts / counts.sum() if counts.sum() else counts.astype(float)


def duration_distance(solo: Solo, reference: Solo) -> float:
    """Total-variation distance (0…1) between the duration histograms of `solo` and `reference`:
    0 when they use durations in the same proportions, 1 when they share no duration bin.
    NaN: either has no notes."""
    p, q = duration_histogram(solo), duration_histogram(reference)
    if not (p.any() and q.any()):
        return math.nan
    return float(0.5 * np.abs(p - q).sum())


def onset_patterns(solo: Solo) -> np.ndarray:
    """bool (measures, GROOVE_STEPS): where notes start in each 4-beat measure, on the 1/12-beat
    grid (an onset off it at its nearest step); a last, partial measure counts as a measure."""
    n_measures = math.ceil(solo.length / BEATS - 1e-9)
    patterns = np.zeros((n_measures, GROOVE_STEPS), bool)
    for note in pitched_notes(solo):
        step = min(round(note.offset * GROOVE_STEPS / BEATS), n_measures * GROOVE_STEPS - 1)
        patterns[step // GROOVE_STEPS, step % GROOVE_STEPS] = True
    return patterns


def grooving_similarity(solo: Solo) -> float:
    """Grooving-pattern similarity (Jazz Transformer, Wu & Yang 2020): the mean over all pairs of
    measures of 1 - (grid steps where exactly one of the two has an onset) / GROOVE_STEPS
    (`onset_patterns`); 1 when every measure has the same rhythm. NaN: fewer than two measures."""
    patterns = onset_patterns(solo).astype(np.int64)
    n = len(patterns)
    if n < 2:
        return math.nan
    onsets = patterns.sum(axis=1)
    differing = onsets[:, None] + onsets[None, :] - 2 * patterns @ patterns.T
    pairs = differing[np.triu_indices(n, k=1)]
    return float(1.0 - pairs.mean() / GROOVE_STEPS)


def clean_measure_ratio(solo: Solo) -> float:
    """Share (0…1) of 4-beat measures in which no note starting there has `repaired=True` (decoding
    found nothing of the token's type in range). A last, partial measure counts as a measure.
    NaN: length 0."""
    n_measures = math.ceil(solo.length / BEATS - 1e-9)
    repaired = {int(n.offset // BEATS) for n in pitched_notes(solo) if n.repaired}
    return _ratio(n_measures - len(repaired & set(range(n_measures))), n_measures)


def musical_metrics(solo: Solo, reference: Solo | None = None) -> dict[str, float]:
    """Every metric above, by its function's name; `duration_distance` only with a reference."""
    metrics = {
        f.__name__: f(solo)
        for f in (
            chord_tone_ratio,
            scale_tone_ratio,
            pitch_class_entropy,
            mean_abs_interval,
            leaps_over_octave,
            notes_per_measure,
            rest_ratio,
            grooving_similarity,
            clean_measure_ratio,
        )
    }
    if reference is not None:
        metrics["duration_distance"] = duration_distance(solo, reference)
    return metrics

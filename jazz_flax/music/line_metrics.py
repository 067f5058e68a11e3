"""Metrics of a solo's line that a generated solo can fail: where its chord tones fall, its
register, how it moves after a leap, its rhythm (against the tempo), its phrases and motifs, and
whether it hears the harmony at all.

Every function takes `render.Solo`s (offsets and durations in beats, 4-beat bars from offset 0,
chords at absolute offsets, `Solo.bpm` its tempo) and returns a float, NaN where the denominator is
zero, as `metrics` does; notes are the pitched events by onset (`metrics.pitched_notes`), rests only
separate them. The definitions, each named by its constant:

* chord tones by pitch class against the chord sounding at the note's onset (`grammar.chord_at`):
  on beats 1 and 3 (onsets within ON_BEAT of them), and on the first note of each chord change
  (the first onset at or after it, before the next change; equal consecutive chords are one);
* register: the 5th–95th percentile pitch span (REGISTER_PERCENTILES), and the swing of the
  mean pitch over consecutive, non-overlapping SWING_BARS-bar windows (max − min over the windows
  with notes);
* leap recovery: after a move of more than LEAP semitones, the share of next moves that step back
  (1–2 semitones, the other way); repeated notes: the share of moves of 0 semitones;
* the rhythm mix: the spacings between consecutive onsets on the 1/12-beat grid, binned by
  RHYTHMS (sixteenths and sixteenth triplets, eighth triplets, eighths, longer: `spacing_<name>`),
  and the sixteenths' share per tempo bucket (TEMPO_BUCKETS; NaN for a solo of another bucket, so
  a mean over solos is the bucket's);
* syncopation: the share of notes starting off the beat (not within ON_BEAT of one) whose next
  onset comes after the next beat, the beat itself unstruck;
* phrases: runs of notes separated by at least PHRASE_GAP beats of silence; their mean length in
  notes and in beats (first onset to last end);
* motif reuse: the share of the solo's windows of MOTIF_INTERVALS consecutive intervals whose
  pattern occurs more than once in it (6 intervals, 7 notes, gives Coltrane's Giant Steps 0.31);
* harmony sensitivity: two solos of one seed over two progressions: the Jaccard distance of their
  onset sets, and the share of shared onsets whose pitch differs. A grammar's pitches are decoded
  over the chords at random, so only the onsets tell whether a grammar model heard the chords.

The tempo of a WJazzD solo is the one its reader keeps (`data.piece_bpm`).
"""

from __future__ import annotations

import collections
import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from jazz_flax import grammar
from jazz_flax.music import metrics
from jazz_flax.music.chords import parse_chords
from jazz_flax.music.render import Solo

BEATS = metrics.BEATS
STEPS = 12  # grid steps per beat: sixteenths and triplets
ON_BEAT = 1 / 12  # beats: an onset this close to a beat is on it
STRONG_BEATS = (0.0, 2.0)  # beats 1 and 3 of the bar
ALL_BEATS = (0.0, 1.0, 2.0, 3.0)
REGISTER_PERCENTILES = (5, 95)
SWING_BARS = 4
LEAP = 4  # semitones: a wider move is a leap
STEP_BACK = (1, 2)  # semitones of a step back after a leap
RHYTHMS = (  # (name, the longest spacing in grid steps it holds)
    ("sixteenths", 3),  # 1/12, 1/6 (sixteenth triplets), 1/4 beat
    ("eighth_triplets", 4),  # 1/3 beat
    ("eighths", 7),  # 5/12 … 7/12 beat: eighths, swung or straight
    ("longer", math.inf),
)
TEMPO_BUCKETS = (("under_150", 0.0), ("150_to_250", 150.0), ("250_up", 250.0))  # (name, from bpm)
PHRASE_GAP = 1.0  # beats of silence between two phrases
MOTIF_INTERVALS = 6
VAMP = "Dm7"  # the progression harmony sensitivity compares a solo's changes with

LABELS = {  # short names for tables (at most 19 characters)
    "strong_beat_chord_tones": "chord tones 1 & 3",
    "change_chord_tones": "change chord tones",
    "register_span": "span 5–95 % (st)",
    "register_swing": f"{SWING_BARS}-bar swing (st)",
    "leap_recovery": "leap recovery",
    "repeated_notes": "repeated notes",
    "spacing_sixteenths": "16th spacings",
    "spacing_eighth_triplets": "8th-trip. spacings",
    "spacing_eighths": "8th spacings",
    "spacing_longer": "longer spacings",
    "sixteenths_under_150_bpm": "16ths < 150 bpm",
    "sixteenths_150_to_250_bpm": "16ths 150–250 bpm",
    "sixteenths_250_up_bpm": "16ths ≥ 250 bpm",
    "syncopation": "syncopation",
    "phrase_notes": "phrase (notes)",
    "phrase_beats": "phrase (beats)",
    "motif_reuse": "motif reuse",
    "harmony_onsets_differ": "onsets vs vamp",
    "harmony_pitches_differ": "pitches vs vamp",
}


def _pitches(solo: Solo) -> np.ndarray:
    return np.array([note.pitch for note in metrics.pitched_notes(solo)], int)


def _moves(solo: Solo) -> np.ndarray:
    """Semitones from each note to the next (rests skipped)."""
    return np.diff(_pitches(solo))


def _share(hits: Sequence[bool]) -> float:
    return float(np.mean(hits)) if len(hits) else math.nan


def _chord_tone_share(solo: Solo, notes: Sequence[grammar.Event]) -> float:
    """Share of `notes` whose pitch class is a tone of the chord sounding at their onset."""
    if not solo.chords:
        return math.nan
    tones = [grammar.chord_at(solo.chords, n.offset).harmony.pitch_classes["C"] for n in notes]
    return _share([n.pitch % 12 in pcs for n, pcs in zip(notes, tones, strict=True)])


def _on_beat(offset: float, beats: Sequence[float]) -> bool:
    """Whether `offset` lies within ON_BEAT of one of `beats` (in the bar) of any 4-beat bar."""
    within = offset % BEATS
    distance = min(min(abs(within - b), BEATS - abs(within - b)) for b in beats)
    return distance <= ON_BEAT + 1e-9


# ---------------------------------------------------------------------------------------------
# The harmony


def strong_beat_chord_tones(solo: Solo) -> float:
    """Chord tones' share of the notes starting on beat 1 or 3. NaN: none there, or no chords."""
    notes = metrics.pitched_notes(solo)
    return _chord_tone_share(solo, [n for n in notes if _on_beat(n.offset, STRONG_BEATS)])


def changes(solo: Solo) -> list[tuple[float, float, grammar.Chord]]:
    """(start, end, chord) of each change: `Solo.chord_spans` with equal neighbours merged."""
    merged: list[tuple[float, float, grammar.Chord]] = []
    for start, end, chord in solo.chord_spans():
        if merged and merged[-1][2].pitches == chord.pitches:
            start = merged.pop()[0]
        merged.append((start, end, chord))
    return merged


def change_chord_tones(solo: Solo) -> float:
    """Chord tones' share of the first notes of the changes (`changes`; a change without a note
    does not count). NaN: no such note."""
    notes, firsts = metrics.pitched_notes(solo), []
    for start, end, _ in changes(solo):
        first = next((n for n in notes if start - 1e-9 <= n.offset < end - 1e-9), None)
        firsts += [first] if first is not None else []
    return _chord_tone_share(solo, firsts)


# ---------------------------------------------------------------------------------------------
# The line: register, leaps, repeated notes


def register_span(solo: Solo) -> float:
    """Semitones between the 5th and 95th percentile of the notes' pitches. NaN: no notes."""
    pitches = _pitches(solo)
    if not len(pitches):
        return math.nan
    low, high = np.percentile(pitches, REGISTER_PERCENTILES)
    return float(high - low)


def register_swing(solo: Solo) -> float:
    """max − min of the mean pitch of the notes starting in each SWING_BARS-bar window (0–4, 4–8 …
    bars; windows without notes left out). NaN: no notes."""
    notes = metrics.pitched_notes(solo)
    windows = collections.defaultdict(list)
    for note in notes:
        windows[int(note.offset // (SWING_BARS * BEATS))].append(note.pitch)
    means = [np.mean(pitches) for pitches in windows.values()]
    return float(max(means) - min(means)) if means else math.nan


def leap_recovery(solo: Solo) -> float:
    """Share of the moves after a leap (> LEAP semitones) that step back by 1–2 semitones the
    other way. NaN: no leap followed by a move."""
    moves = _moves(solo)
    after = [
        (leap, back) for leap, back in zip(moves[:-1], moves[1:], strict=True) if abs(leap) > LEAP
    ]
    return _share(
        [np.sign(back) == -np.sign(leap) and abs(back) in STEP_BACK for leap, back in after]
    )


def repeated_notes(solo: Solo) -> float:
    """Share of moves between consecutive notes that repeat the pitch. NaN: fewer than 2 notes."""
    return _share(_moves(solo) == 0)


# ---------------------------------------------------------------------------------------------
# Rhythm


def onset_spacings(solo: Solo) -> np.ndarray:
    """int grid steps (1/STEPS beat) from each note's onset to the next note's."""
    onsets = [note.offset for note in metrics.pitched_notes(solo)]
    return np.round(np.diff(onsets) * STEPS).astype(int)


def rhythm_mix(solo: Solo) -> dict[str, float]:
    """Share of the onset spacings in each of RHYTHMS, by name (summing to 1). NaN: < 2 notes."""
    return _mix(onset_spacings(solo))


def _mix(spacings: np.ndarray) -> dict[str, float]:
    kinds = np.searchsorted([longest for _, longest in RHYTHMS], spacings)
    return {name: _share(kinds == i) for i, (name, _) in enumerate(RHYTHMS)}


def tempo_bucket(bpm: float) -> str:
    """The name of the TEMPO_BUCKETS bucket `bpm` falls in."""
    return [name for name, low in TEMPO_BUCKETS if bpm >= low][-1]


def rhythm_mix_by_tempo(solos: Sequence[Solo]) -> dict[str, dict[str, float]]:
    """`rhythm_mix` of the spacings of all `solos` of each tempo bucket together; the buckets
    without solos left out."""
    spacings = collections.defaultdict(list)
    for solo in solos:
        spacings[tempo_bucket(solo.bpm)].append(onset_spacings(solo))
    return {
        name: _mix(np.concatenate(spacings[name])) for name, _ in TEMPO_BUCKETS if name in spacings
    }


def sixteenths_by_tempo(solo: Solo) -> dict[str, float]:
    """`sixteenths_<bucket>_bpm` of every bucket: the sixteenths' share in the solo's, NaN in the
    others (a mean over solos is then each bucket's)."""
    share = rhythm_mix(solo)["sixteenths"]
    bucket = tempo_bucket(solo.bpm)
    return {
        f"sixteenths_{name}_bpm": share if name == bucket else math.nan for name, _ in TEMPO_BUCKETS
    }


def syncopation(solo: Solo) -> float:
    """Share of the notes (all but the last) that start off the beat and whose next note starts
    after the next beat: the beat is not struck. NaN: fewer than 2 notes."""
    onsets = [note.offset for note in metrics.pitched_notes(solo)]
    return _share(
        [
            not _on_beat(onset, ALL_BEATS) and after > math.ceil(onset) + ON_BEAT
            for onset, after in zip(onsets[:-1], onsets[1:], strict=True)
        ]
    )


def phrases(solo: Solo) -> list[list[grammar.Event]]:
    """The notes in runs separated by silences of at least PHRASE_GAP beats."""
    result: list[list[grammar.Event]] = []
    reach = -math.inf  # where the notes so far end
    for note in metrics.pitched_notes(solo):
        if note.offset - reach >= PHRASE_GAP - 1e-9:
            result.append([])
        result[-1].append(note)
        reach = max(reach, note.offset + note.duration)
    return result


def phrase_notes(solo: Solo) -> float:
    """Mean notes per phrase (`phrases`). NaN: no notes."""
    return _mean([len(phrase) for phrase in phrases(solo)])


def phrase_beats(solo: Solo) -> float:
    """Mean beats per phrase, from its first onset to its last note's end. NaN: no notes."""
    lengths = [max(n.offset + n.duration for n in p) - p[0].offset for p in phrases(solo)]
    return _mean(lengths)


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def motif_reuse(solo: Solo) -> float:
    """Share of the windows of MOTIF_INTERVALS consecutive intervals (rests skipped) whose pattern
    occurs more than once in the solo. NaN: fewer than MOTIF_INTERVALS + 1 notes."""
    moves = _moves(solo)
    windows = [
        tuple(moves[i : i + MOTIF_INTERVALS]) for i in range(len(moves) - MOTIF_INTERVALS + 1)
    ]
    counts = collections.Counter(windows)
    return _share([counts[window] > 1 for window in windows])


# ---------------------------------------------------------------------------------------------
# All of them; harmony sensitivity


def line_metrics(solo: Solo) -> dict[str, float]:
    """Every metric of one solo above, by name (the keys of LABELS but harmony sensitivity's)."""
    named = {
        f.__name__: f(solo)
        for f in (
            strong_beat_chord_tones,
            change_chord_tones,
            register_span,
            register_swing,
            leap_recovery,
            repeated_notes,
        )
    }
    named |= {f"spacing_{name}": share for name, share in rhythm_mix(solo).items()}
    named |= sixteenths_by_tempo(solo)
    named |= {f.__name__: f(solo) for f in (syncopation, phrase_notes, phrase_beats, motif_reuse)}
    return named


def all_metrics(solo: Solo, reference: Solo | None = None) -> dict[str, float]:
    """`metrics.musical_metrics` and `line_metrics` of `solo`."""
    return metrics.musical_metrics(solo, reference) | line_metrics(solo)


def harmony_sensitivity(solo: Solo, other: Solo) -> dict[str, float]:
    """How two solos of one seed over two progressions differ: `harmony_onsets_differ`, the
    Jaccard distance of their onsets (on the grid), and `harmony_pitches_differ`, the share of the
    onsets both have whose pitches differ. NaN: no onsets (none shared, for the pitches)."""
    pitches, others = _pitch_at_onset(solo), _pitch_at_onset(other)
    shared = pitches.keys() & others.keys()
    union = pitches.keys() | others.keys()
    onsets = 1 - len(shared) / len(union) if union else math.nan
    return dict(
        harmony_onsets_differ=onsets,
        harmony_pitches_differ=_share([pitches[step] != others[step] for step in shared]),
    )


def _pitch_at_onset(solo: Solo) -> dict[int, int]:
    return {round(n.offset * STEPS): n.pitch for n in metrics.pitched_notes(solo)}


def mean_harmony_sensitivity(solos: Sequence[Solo], others: Sequence[Solo]) -> dict[str, float]:
    """`harmony_sensitivity` of each pair of `solos` and `others`, averaged."""
    pairs = [harmony_sensitivity(a, b) for a, b in zip(solos, others, strict=True)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of all-NaN values is NaN
        return {key: float(np.nanmean([pair[key] for pair in pairs])) for key in pairs[0]}


def harmony_sensitivity_of(
    improvise: Callable[[Sequence], Sequence[Solo]], progression: Sequence, other: Sequence
) -> dict[str, float]:
    """`mean_harmony_sensitivity` of the solos `improvise` (one seed, e.g. evaluate's
    `generated_solos`) plays over two progressions (chords per measure, as long)."""
    return mean_harmony_sensitivity(improvise(progression), improvise(other))


def vamp(n_measures: int) -> list[tuple[grammar.Chord, ...]]:
    """`n_measures` measures of the VAMP chord."""
    return parse_chords(VAMP) * n_measures

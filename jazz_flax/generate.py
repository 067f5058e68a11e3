"""Generating a solo from a trained run: sample tokens, cut them into measures, decode, render.

    checkpoint ──sample (jit fori_loop)──▶ ids ──vocab──▶ tokens ──cut_into_measures──▶ measures
               ──grammar.decode over each measure's chords──▶ Solo ──render──▶ .mid .wav .png

`measures` mode (the default) samples one long stream, the LSTM state carried across measures, and
cuts it into measures of exactly four beats. `notebook` mode is the seed's `generate_music`: five
independent segments of 50 tokens, each after a `C,0.25`, laid at offsets 0, 4, 8, … (they overlap).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from jazz_flax import data, grammar, render, sample, train
from jazz_flax.errors import JazzFlaxError
from jazz_flax.render import Solo
from jazz_flax.sample import Strategy

BEATS = 4.0
NOTEBOOK_SEGMENT = 50  # tokens sampled per segment in notebook mode
NOTEBOOK_PREFIX = "C,0.250"
MODES = ("measures", "notebook")


class Generated(NamedTuple):
    """A generated solo, the files written for it, and the tokens it came from."""

    solo: Solo
    paths: dict[str, Path]  # "midi", "wav", "png"
    tokens: list[list[str]]  # per measure (measures mode) or per segment (notebook mode)

    def score(self):
        """The solo as a music21 score."""
        return render.to_score(self.solo)

    def audio(self):
        """An IPython audio player for the WAV file (in a notebook)."""
        from IPython.display import Audio

        return Audio(filename=str(self.paths["wav"]))

    def describe(self) -> str:
        """One line: measures, notes, seconds."""
        notes = sum(e.pitch is not None for e in self.solo.notes)
        return (
            f"{self.solo.length / BEATS:g} measures, {notes} notes, "
            f"{self.solo.seconds:.1f} s at {self.solo.bpm:g} bpm"
        )


def generate(
    workdir: str | Path,
    *,
    seed: int = 0,
    strategy: Strategy = Strategy(),  # noqa: B008 (an immutable NamedTuple)
    chords: str | None = None,
    mode: str = "measures",
    primer: str | None = None,
    output: str | Path | None = None,
) -> Generated:
    """Improvises a solo with the model trained in `workdir` and writes my_music.{mid,wav,png}.

    Args:
      workdir: the run directory holding the checkpoint.
      seed: seeds both the sampler and the decoder: the same seed writes the same files.
      strategy: how tokens are sampled (greedy, temperature, top-k, top-p).
      chords: lead-sheet symbols, one per measure ("Dm7 G7 Cmaj7"); None: the training piece's.
      mode: "measures" (one stream cut into 4-beat measures) or "notebook" (the seed's segments).
      primer: tokens the solo starts with, separated by spaces (measures mode).
      output: the folder for the files (default `workdir`/output).
    """
    if mode not in MODES:
        raise JazzFlaxError(f"unknown mode {mode!r}", hint=f"use one of {', '.join(MODES)}")
    checkpoint = train.load_checkpoint(workdir)
    if chords:
        measure_chords = parse_chords(chords)
    else:  # the training piece's; of a corpus split by piece, its first test piece's
        measure_chords = data.default_changes(train.checkpoint_corpus(checkpoint)).chords
    model = train.make_model(checkpoint.config, len(checkpoint.vocab))
    if mode == "notebook" and model.chord_features:
        raise JazzFlaxError(
            "notebook mode samples segments without chords, and this model is chord-conditioned",
            hint="use --mode measures",
        )
    key, rng = jax.random.key(seed), np.random.default_rng(seed)
    primer_ids = primer_to_ids(primer, checkpoint.vocab) if primer else None

    def sampled(batch: int, length: int) -> list[list[str]]:
        ids = sample.sample(
            model,
            checkpoint.params,
            key,
            batch=batch,
            length=length,
            strategy=strategy,
            primer=primer_ids,
            **over_chords(model, checkpoint.vocab, measure_chords),
        ).ids
        return [checkpoint.vocab.playable(row) for row in np.asarray(ids)]

    if mode == "measures":
        (stream,) = sampled(1, tokens_needed(len(measure_chords)))
        stream = (primer.split() if primer else []) + stream
        tokens = cut_into_measures(stream, len(measure_chords), rng)
        solo = solo_from_measures(tokens, measure_chords, rng)
    else:
        tokens = sampled(notebook_segments(len(measure_chords)), NOTEBOOK_SEGMENT)
        solo = notebook_solo(tokens, measure_chords, rng)
    output = Path(output) if output is not None else Path(workdir) / "output"
    return Generated(solo, render.write_all(solo, output / "my_music"), tokens)


def over_chords(model, vocab, measure_chords: Sequence[Sequence[grammar.Chord]]) -> dict:
    """What `sample` needs to feed a chord-conditioned model each token's chord: the chords'
    grid and the tokens' durations; nothing for other models."""
    if not model.chord_features:
        return {}
    return dict(
        chord_grid=sample.chord_grid(measure_chords, data.chord_vector), durations=vocab.durations
    )


def primer_to_ids(primer: str, vocab) -> np.ndarray:
    """The ids of space-separated tokens, which must be in the run's vocabulary."""
    try:
        return vocab.encode(primer.split())
    except ValueError as e:
        raise JazzFlaxError(f"bad primer: {e}", hint="use tokens of the training corpus") from None


def parse_chords(text: str) -> list[tuple[grammar.Chord, ...]]:
    """One chord per measure from lead-sheet symbols, e.g. "Dm7 G7 Cmaj7 Cmaj7" or "Bbmaj7"."""
    from music21 import harmony

    measures = []
    for symbol in text.split():
        figure = re.sub(r"(^|/)([A-G])b", r"\1\2-", symbol)  # music21 spells flats with "-"
        try:
            pitches = harmony.ChordSymbol(figure).pitches
        except Exception as e:  # music21 raises ValueError and others for a bad symbol
            raise JazzFlaxError(f"bad chord symbol {symbol!r}: {e}") from None
        if not pitches:
            raise JazzFlaxError(f"bad chord symbol {symbol!r}: it names no pitches")
        measures.append((grammar.Chord(0.0, tuple(p.nameWithOctave for p in pitches)),))
    if not measures:
        raise JazzFlaxError("no chords given", hint='e.g. --chords "Dm7 G7 Cmaj7 Cmaj7"')
    return measures


def tokens_needed(n_measures: int) -> int:
    """Tokens enough to fill `n_measures`: no pruned token is shorter than one grid step."""
    return int(n_measures * BEATS / grammar.GRID)


def cut_into_measures(
    tokens: Sequence[str], n_measures: int, rng: np.random.Generator
) -> list[list[str]]:
    """Prunes the stream's durations and cuts it into `n_measures` measures of exactly 4 beats.

    A token that crosses a bar line is shortened to end there (its remainder is dropped); when the
    stream runs out, the rest is filled with rests.
    """
    durations = grammar.prune_durations([grammar.Token.parse(t).duration for t in tokens], rng)
    measures, current, room = [], [], BEATS
    for text, duration in zip(tokens, durations, strict=True):
        if len(measures) == n_measures:
            break
        take = min(duration, room)
        current.append(grammar.with_duration(text, take))
        room -= take
        if room == 0:
            measures.append(current)
            current, room = [], BEATS
    while len(measures) < n_measures:
        current.append(f"R,{room:.3f}")
        measures.append(current)
        current, room = [], BEATS
    return measures


def solo_from_measures(
    measures: Sequence[Sequence[str]],
    chords: Sequence[Sequence[grammar.Chord]],
    rng: np.random.Generator,
    bpm: float = 130.0,
) -> Solo:
    """Decodes each measure over its chords, the melody continuing from measure to measure."""
    events, previous = [], None
    for tokens, measure_chords in zip(measures, chords, strict=True):
        events.append(grammar.decode(tokens, measure_chords, rng, previous=previous))
        previous = next((e.pitch for e in reversed(events[-1]) if e.pitch is not None), previous)
    return lay_out(events, chords, bpm)


def corpus_solo(corpus, bpm: float = 130.0) -> Solo:
    """The training piece itself (a data.Corpus) as a Solo: its notes over its chords."""
    return lay_out(corpus.melody, corpus.chords, bpm)


def notebook_solo(
    segments: Sequence[Sequence[str]],
    chords: Sequence[Sequence[grammar.Chord]],
    rng: np.random.Generator,
    bpm: float = 130.0,
) -> Solo:
    """The seed's layout: segment i, after a `C,0.25`, decoded over chords[i + 1] at offset 4i."""
    segment_chords = chords[1 : len(segments) + 1]
    events = [
        grammar.decode([NOTEBOOK_PREFIX, *tokens], measure_chords, rng)
        for tokens, measure_chords in zip(segments, segment_chords, strict=True)
    ]
    return lay_out(events, segment_chords, bpm)


def lay_out(
    events: Sequence[Sequence[grammar.Event]],
    chords: Sequence[Sequence[grammar.Chord]],
    bpm: float,
) -> Solo:
    """A Solo of measures laid end to end, 4 beats apart; it lasts until its last note ends."""
    notes = [_shift(e, i * BEATS) for i, measure in enumerate(events) for e in measure]
    shifted = [_shift(c, i * BEATS) for i, measure in enumerate(chords) for c in measure]
    length = max([len(events) * BEATS] + [n.offset + n.duration for n in notes])
    return Solo(tuple(notes), tuple(shifted), length, bpm)


def notebook_segments(n_measures: int) -> int:
    """The seed's `len(chords) // 3 - 1` segments (5 for the Metheny solo's 19 measures)."""
    return max(1, n_measures // 3 - 1)


def _shift(item, start: float):
    """An Event or Chord moved `start` beats later."""
    return dataclasses.replace(item, offset=item.offset + start)

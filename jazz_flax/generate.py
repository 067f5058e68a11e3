"""Generating solos from a trained run: sample tokens, cut them into measures, decode, render.

    checkpoint ──sample (jit fori_loop) or beam_search──▶ ids ──vocab──▶ tokens
               ──cut_into_measures──▶ measures ──grammar.decode over each measure's chords──▶ Solo
               ──render──▶ my_music.mid .wav .png (my_music_1 … my_music_N for N solos)

`measures` mode (the default) samples one long stream per solo, the LSTM state carried across
measures, and cuts it into measures of exactly four beats; N solos are one batched sampler call
(or N beam searches, vmapped). `notebook` mode is the seed's `generate_music`: five independent
segments of 50 tokens, each after a `C,0.25`, laid at offsets 0, 4, 8, … (they overlap).

The chords are lead-sheet text (`parse_chords`: bars, several chords per bar, N.C.) repeated for
`choruses`, or the training piece's. An opening (`primer`) is typed tokens, which start the stream,
or a file's melody, whose measures the solo plays before it improvises over the changes.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from jazz_flax import data, grammar, sample, train
from jazz_flax import primer as primers
from jazz_flax.beam import Beam, beam_search, check_beam
from jazz_flax.errors import POSITIVE, JazzFlaxError, Range
from jazz_flax.music import render
from jazz_flax.music.render import Rendering, Solo
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
    log_prob: float = 0.0  # of the sampled tokens under the model (temperature 1)
    renderer: str = ""  # what rendered the WAV (`render.Renderer`)
    replaced: int = 0  # primer tokens outside the vocabulary, replaced (`primer.nearest`)

    def score(self):
        """The solo as a music21 score."""
        return render.to_score(self.solo)

    def audio(self):
        """An IPython audio player for the WAV file (in a notebook)."""
        from IPython.display import Audio

        return Audio(filename=str(self.paths["wav"]))

    def describe(self) -> str:
        """One line: measures, notes, seconds, log-probability, the audio's renderer."""
        notes = sum(e.pitch is not None for e in self.solo.notes)
        line = (
            f"{self.solo.length / BEATS:g} measures, {notes} notes, "
            f"{self.solo.seconds:.1f} s at {self.solo.bpm:g} bpm, log-prob {self.log_prob:.1f}"
        )
        if self.replaced:
            line += f", {self.replaced} primer tokens replaced"
        return f"{line}; audio: {self.renderer}" if self.renderer else line


def generate(workdir: str | Path, **options) -> Generated:
    """One solo: `improvise` with num_outputs=1, written as my_music.{mid,wav,png}."""
    return improvise(workdir, num_outputs=1, **options)[0]


def improvise(
    workdir: str | Path,
    num_outputs: int = 1,
    *,
    seed: int = 0,
    strategy: Strategy = Strategy(),  # noqa: B008 (an immutable NamedTuple)
    beam: Beam | None = None,
    chords: str | None = None,
    changes_of: str | None = None,
    choruses: int = 1,
    mode: str = "measures",
    primer: str | None = None,
    primer_midi: str | Path | None = None,
    bpm: float = 130.0,
    rendering: Rendering = Rendering(),  # noqa: B008 (an immutable NamedTuple)
    output: str | Path | None = None,
) -> list[Generated]:
    """Improvises `num_outputs` solos with the model trained in `workdir`, from one sampler call,
    and writes my_music_1.{mid,wav,png} … (my_music.* for one).

    Args:
      workdir: the run directory; its best checkpoint when it kept one
        (`train.model_checkpoint`), else its last.
      num_outputs: how many solos.
      seed: seeds both the sampler and the decoder: the same seed writes the same files.
      strategy: how tokens are sampled (greedy, temperature, top-k, top-p).
      beam: beam search settings (`beam.Beam`); None samples each solo token by token.
      chords: lead-sheet text, e.g. "Dm7 G7 | Cmaj7 | Cmaj7" (`parse_chords`); None: the
        training piece's.
      changes_of: the name of a piece of the training corpus (e.g. a WJazzD solo,
        `JohnColtrane_GiantSteps-1`) whose changes, bar by bar, are improvised over, as many
        choruses as it has (`data.piece_names` lists them).
      choruses: times the changes are played.
      mode: "measures" (one stream cut into 4-beat measures) or "notebook" (the seed's segments).
      primer: tokens the solo starts with, separated by spaces (measures mode).
      primer_midi: a MIDI or MusicXML file whose melody the solo continues (`primer.from_file`).
      bpm: the tempo.
      rendering: how the MIDI and WAV files play the solo (instrument, comping, swing …).
      output: the folder for the files (default `workdir`/output).
    """
    check_options(mode, num_outputs, choruses, bpm, beam, primer, primer_midi)
    sample.check_strategy(strategy, length=1)
    render.check_rendering(rendering)
    renderer = render.find_renderer(rendering.soundfont)  # a missing soundfont fails first
    checkpoint = train.load_checkpoint(train.model_checkpoint(workdir))
    given = chords is not None or changes_of is not None
    changes = tuple(changes_to_play(checkpoint, chords, changes_of)) * choruses
    model = train.make_model(checkpoint.config, len(checkpoint.vocab))
    check_model(model, mode, len(changes))
    opening = opening_of(checkpoint, primer, primer_midi, changes if given else None)
    sampled = functools.partial(
        sample_tokens,
        model,
        checkpoint,
        jax.random.key(seed),
        strategy=strategy,
        beam=beam,
        opening=opening,
        measure_chords=opening.chords + changes,
    )
    rng = np.random.default_rng(seed)
    rules = checkpoint.vocab.rules  # the grammar the model was trained with
    if mode == "measures":
        streams, log_probs = sampled(num_outputs, tokens_needed(len(changes), rules.grid))
        solos = [measures_solo(stream, opening, changes, rng, bpm, rules) for stream in streams]
    else:
        segments = notebook_segments(len(changes))
        streams, log_probs = sampled(num_outputs * segments, NOTEBOOK_SEGMENT)
        log_probs = log_probs.reshape(num_outputs, segments).sum(axis=1)
        groups = [streams[i * segments : (i + 1) * segments] for i in range(num_outputs)]
        solos = [(group, notebook_solo(group, changes, rng, bpm, rules)) for group in groups]
    output = Path(output) if output is not None else Path(workdir) / "output"
    return [
        Generated(
            solo,
            render.write_all(solo, output / stem, rendering, renderer),
            tokens,
            float(log_prob),
            str(renderer),
            opening.replaced,
        )
        for stem, (tokens, solo), log_prob in zip(stems(num_outputs), solos, log_probs, strict=True)
    ]


def changes_to_play(checkpoint, chords: str | None, changes_of: str | None) -> list[tuple]:
    """Each measure's chords: from the text `chords`, of the corpus' piece `changes_of`, else the
    training piece's (of a corpus split by piece, its first test piece's)."""
    if chords is not None and changes_of is not None:
        raise JazzFlaxError("give --chords or --changes_of, not both")
    if chords is not None:
        return parse_chords(chords)
    corpus = train.checkpoint_corpus(checkpoint)
    if changes_of is not None:
        return list(data.piece_named(corpus, changes_of).chords)
    return list(data.default_changes(corpus).chords)


def solos(workdir: str | Path) -> list[tuple[str, str]]:
    """(name, split) of the pieces of the corpus the model in `workdir` was trained on."""
    return data.piece_names(train.checkpoint_corpus(train.load_checkpoint(workdir)))


def check_options(mode, num_outputs, choruses, bpm, beam, primer, primer_midi) -> None:
    """Raises a JazzFlaxError for an option out of range or options that do not go together."""
    if mode not in MODES:
        raise JazzFlaxError(f"unknown mode {mode!r}", hint=f"use one of {', '.join(MODES)}")
    POSITIVE.check("num_outputs", num_outputs)
    POSITIVE.check("choruses", choruses)
    Range(0, low_open=True).check("bpm", bpm)
    if beam is not None:
        check_beam(beam)
    if primer and primer_midi:
        raise JazzFlaxError("give --primer or --primer_midi, not both")
    if mode == "notebook" and (beam is not None or primer_midi):
        raise JazzFlaxError("beam search and --primer_midi need --mode measures")


def check_model(model, mode: str, n_measures: int) -> None:
    """Notebook mode samples segments without chords (not for a chord-conditioned model) and lays
    segment i over measure i + 1."""
    if mode == "notebook" and model.chord_features:
        raise JazzFlaxError(
            "notebook mode samples segments without chords, and this model is chord-conditioned",
            hint="use --mode measures",
        )
    if mode == "notebook" and n_measures < 2:
        raise JazzFlaxError(
            "notebook mode lays segment i over measure i + 1: it needs 2 measures or more",
            hint="give more --chords, or use --mode measures",
        )


def opening_of(checkpoint, primer, primer_midi, changes) -> primers.Opening:
    """The opening from a file (over `changes` when given as text) or from typed tokens."""
    if primer_midi:
        return primers.from_file(primer_midi, checkpoint.config.data, checkpoint.vocab, changes)
    return primers.from_text(primer, checkpoint.vocab)


def stems(num_outputs: int) -> list[str]:
    """my_music for one solo; my_music_1 … my_music_N for several."""
    return (
        ["my_music"] if num_outputs == 1 else [f"my_music_{i}" for i in range(1, num_outputs + 1)]
    )


class Sampled(NamedTuple):
    ids: np.ndarray  # int32 (batch, length)
    log_probs: np.ndarray  # float32 (batch,): of each row's tokens under the model


def sample_tokens(
    model,
    checkpoint: train.Checkpoint,
    key: jax.Array,
    batch: int,
    length: int,
    *,
    opening: primers.Opening,
    measure_chords: Sequence[Sequence[grammar.Chord]],
    **options,
) -> tuple[list[list[str]], np.ndarray]:
    """`batch` token streams of `length` after the opening, over the measures' chords (for a
    chord-conditioned model), and their log-probabilities (`sample_ids`)."""
    vocab = checkpoint.vocab
    found = sample_ids(
        model,
        checkpoint.params,
        key,
        batch=batch,
        length=length,
        primer=opening.ids(vocab),
        **over_chords(model, vocab, measure_chords),
        **options,
    )
    return [vocab.playable(row) for row in found.ids], found.log_probs


def sample_ids(model, params, key, *, batch: int, beam: Beam | None, **options) -> Sampled:
    """`batch` rows of tokens: sampled (`sample.sample`), or the best beam of each of `batch`
    beam searches (`beam.beam_search`). `options`: what both take (length, strategy, primer, …)."""
    if beam is None:
        found = sample.sample(model, params, key, batch=batch, **options)
        return Sampled(np.asarray(found.ids), np.asarray(found.log_probs).sum(axis=-1))
    found = beam_search(model, params, key, beam=beam, searches=batch, **options)
    return Sampled(np.asarray(found.ids[:, 0]), np.asarray(found.log_probs[:, 0]))


def measures_solo(
    stream: list[str],
    opening: primers.Opening,
    changes: Sequence[Sequence[grammar.Chord]],
    rng: np.random.Generator,
    bpm: float,
    rules: grammar.Rules = grammar.NOTEBOOK,
) -> tuple[list[list[str]], Solo]:
    """(tokens per measure, Solo): the stream cut into the changes' measures and decoded, after
    the opening: typed tokens start the stream; a file's measures play its own notes first."""
    if not opening.chords:
        stream = [*opening.tokens, *stream]
    tokens = cut_into_measures(stream, len(changes), rng, rules)
    previous = last_pitch(opening.melody)
    solo = solo_from_measures(tokens, changes, rng, bpm, rules=rules, previous=previous)
    if opening.chords:
        solo = joined(lay_out(opening.melody, opening.chords, bpm), solo)
    return tokens, solo


def last_pitch(measures: Sequence[Sequence[grammar.Event]]) -> int | None:
    """The pitch of the last note of the measures; None without notes."""
    return next(
        (e.pitch for m in reversed(measures) for e in reversed(m) if e.pitch is not None), None
    )


def joined(first: Solo, second: Solo) -> Solo:
    """`second` played after `first`'s whole measures."""
    start = math.ceil(first.length / BEATS) * BEATS
    notes = (*first.notes, *(_shift(e, start) for e in second.notes))
    chords = (*first.chords, *(_shift(c, start) for c in second.chords))
    return Solo(notes, chords, start + second.length, first.bpm)


def over_chords(model, vocab, measure_chords: Sequence[Sequence[grammar.Chord]]) -> dict:
    """What `sample` needs to feed a chord-conditioned model each token's chord: the chords'
    grid and the tokens' durations; nothing for other models."""
    if not model.chord_features:
        return {}
    return dict(
        chord_grid=sample.chord_grid(measure_chords, data.chord_vector), durations=vocab.durations
    )


NO_CHORD = ("N.C.", "NC", "N.C")
# Lead-sheet spellings music21 does not read, and what it reads for them.
ALIASES = {"7alt": "7#5#9", "alt": "7#5#9", "ø7": "m7b5", "ø": "m7b5", "Δ7": "maj7", "Δ": "maj7"}


def parse_chords(text: str) -> list[tuple[grammar.Chord, ...]]:
    """The chords of each measure from lead-sheet text.

    Bars are separated by "|" and share their 4 beats evenly among their chords, or by weights:
    "Dm7 G7 | Cmaj7 | Dm7:3 G7:1". Text with neither "|" nor ":" has one chord per measure, the
    older form: "Dm7 G7 Cmaj7 Cmaj7". "N.C." (no chord) is allowed, as on the data side, where it
    is left out: the chord before it goes on sounding (before the first chord, the first).
    """
    if not text.strip():
        raise JazzFlaxError("no chords given", hint='e.g. --chords "Dm7 G7 | Cmaj7 | Cmaj7"')
    if "|" in text or ":" in text:
        bars = [bar.split() for bar in text.strip().strip("|").split("|")]
    else:
        bars = [[symbol] for symbol in text.split()]
    written = [_bar(symbols, number) for number, symbols in enumerate(bars, 1)]
    return _held(written)


def _bar(symbols: Sequence[str], number: int) -> list[grammar.Chord]:
    """The chords of one bar, offsets from the weights (default 1 each), on the grid; "N.C." as a
    chord without pitches."""
    if not symbols:
        raise JazzFlaxError(f"bar {number} of the chords is empty", hint="write a chord or N.C.")
    names, weights = zip(*(_weighted(symbol) for symbol in symbols), strict=True)
    starts = np.concatenate([[0.0], np.cumsum(weights)[:-1]]) / sum(weights) * BEATS
    offsets = [round(start / grammar.GRID) * grammar.GRID for start in starts]
    if len(set(offsets)) < len(offsets):
        raise JazzFlaxError(f"bar {number} has more chords than its grid steps can hold")
    return [grammar.Chord(o, _pitches(n)) for o, n in zip(offsets, names, strict=True)]


def _weighted(symbol: str) -> tuple[str, float]:
    """("Dm7", 3.0) for "Dm7:3"; weight 1 without one."""
    name, _, weight = symbol.partition(":")
    try:
        value = float(weight) if weight else 1.0
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise JazzFlaxError(f"bad chord weight in {symbol!r}", hint='beats, e.g. "Dm7:3 G7:1"')
    return name, value


def _pitches(symbol: str) -> tuple[str, ...]:
    """The pitch names (with octave) of a lead-sheet symbol; () for "N.C."."""
    from music21 import harmony

    if symbol in NO_CHORD:
        return ()
    root, kind = re.fullmatch(r"([A-G][#b]?|)(.*)", symbol).groups()
    figure = re.sub(r"(^|/)([A-G])b", r"\1\2-", root + ALIASES.get(kind, kind))  # flats as "-"
    try:
        pitches = harmony.ChordSymbol(figure).pitches
    except Exception as e:  # music21 raises ValueError and others for a bad symbol
        raise JazzFlaxError(f"bad chord symbol {symbol!r}: {e}") from None
    if not pitches:
        raise JazzFlaxError(f"bad chord symbol {symbol!r}: it names no pitches")
    return tuple(p.nameWithOctave for p in pitches)


def _held(bars: Sequence[Sequence[grammar.Chord]]) -> list[tuple[grammar.Chord, ...]]:
    """Each bar's chords with N.C. left out; a bar that starts without a chord starts with the
    one sounding (before the first chord, the first chord)."""
    sounding = [c for bar in bars for c in bar if c.pitches]
    if not sounding:
        raise JazzFlaxError("the chords are all N.C.", hint="a solo needs a chord to decode over")
    measures, last = [], sounding[0]
    for bar in bars:
        own = [c for c in bar if c.pitches]
        if not own or own[0].offset > 0:
            own.insert(0, dataclasses.replace(last, offset=0.0))
        measures.append(tuple(own))
        last = own[-1]
    return measures


def tokens_needed(n_measures: int, grid: float = grammar.GRID) -> int:
    """Tokens enough to fill `n_measures`: no pruned token is shorter than one `grid` step."""
    return round(n_measures * BEATS / grid)


def cut_into_measures(
    tokens: Sequence[str],
    n_measures: int,
    rng: np.random.Generator,
    rules: grammar.Rules = grammar.NOTEBOOK,
) -> list[list[str]]:
    """Prunes the stream's durations and cuts it into `n_measures` measures of exactly 4 beats.

    A token that crosses a bar line is shortened to end there (its remainder is dropped); when the
    stream runs out, the rest is filled with rests.
    """
    durations = rules.prune_durations([grammar.Token.parse(t).duration for t in tokens], rng)
    measures, current, room = [], [], BEATS
    for text, duration in zip(tokens, durations, strict=True):
        if len(measures) == n_measures:
            break
        take = min(duration, room)
        current.append(grammar.with_duration(text, take))
        room -= take
        if room < 1e-9:  # thirds of a beat do not add up exactly
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
    rules: grammar.Rules = grammar.NOTEBOOK,
    previous: int | None = None,
) -> Solo:
    """Decodes each measure over its chords with the grammar's `rules`, the melody continuing from
    measure to measure (each measure gets the last pitch before it; the first, `previous`)."""
    events = []
    for tokens, measure_chords in zip(measures, chords, strict=True):
        events.append(rules.decode(tokens, measure_chords, rng, previous=previous))
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
    rules: grammar.Rules = grammar.NOTEBOOK,
) -> Solo:
    """The seed's layout: segment i, after a `C,0.25`, decoded over chords[i + 1] at offset 4i."""
    segment_chords = chords[1 : len(segments) + 1]
    events = [
        rules.decode([NOTEBOOK_PREFIX, *tokens], measure_chords, rng)
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

"""Generating solos from a trained run: the `generate` command over the library's functions.

    checkpoint ──soloist.solos: sample (jit fori_loop) or beam_search, cut into measures,
               decode over each measure's chords──▶ Solo
               ──render──▶ my_music.mid .wav .png (my_music_1 … my_music_N for N solos;
                           my_music-2…, my_music-3… where those exist: never overwritten)

`Settings` says how. `measures` mode (the default) samples one long stream per solo, the LSTM
state carried across measures, and cuts it into measures of exactly four beats; N solos are one
batched sampler call (or N beam searches, vmapped). `notebook` mode is the seed's `generate_music`:
five independent segments of 50 tokens, each after a `C,0.25`, laid at offsets 0, 4, 8, … (they
overlap; `music.solo.notebook`).

The chords are lead-sheet text (`music.chords`: bars, several chords per bar, N.C.) repeated for
`choruses`, or the changes of a piece of the training corpus, or the training piece's. An opening
(`primer`) is typed tokens, which start the stream, or a file's melody, whose measures the solo
plays before it improvises over the changes.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from jazz_flax import checkpoints, data, files, models, soloist
from jazz_flax import primer as primers
from jazz_flax.beam import Beam, check_beam
from jazz_flax.errors import POSITIVE, JazzFlaxError, Range
from jazz_flax.meter import BEATS
from jazz_flax.music import render, solo
from jazz_flax.music.chords import parse_chords
from jazz_flax.music.render import Rendering, Solo
from jazz_flax.sample import Strategy, check_strategy
from jazz_flax.soloist import Improvised

MODES = ("measures", "notebook")
OUTPUT = checkpoints.OUTPUT  # the run directory's folder of generated files (the default)

# A MIDI file stores the tempo as microseconds a beat in 24 bits (slower than 3.6 bpm cannot be
# written, and a tempo of millions of bpm rounds to 0); past 600 bpm no player follows.
BPM = Range(4, 600, high_open=False, note="(what a MIDI file stores and a player can follow)")
OUTPUTS = Range(1, 10_000, integer=True, high_open=False, note="(a file of each per solo)")


@dataclasses.dataclass(frozen=True)
class Settings:
    """How `improvise` plays: the `generate` command's flags."""

    num_outputs: int = 1  # solos, from one sampler call
    seed: int = 0  # seeds the sampler and the decoder: the same seed writes the same files
    strategy: Strategy = Strategy()  # how tokens are sampled (greedy, temperature, top-k, top-p)
    beam: Beam | None = None  # beam search (`beam.Beam`); None samples token by token
    chords: str | None = None  # lead-sheet text, e.g. "Dm7 G7 | Cmaj7" (`music.chords`)
    # A piece of the training corpus (e.g. the WJazzD solo `JohnColtrane_GiantSteps-1`) whose
    # changes, bar by bar, are played, as many choruses as it has (`solos` lists them). Without it
    # or `chords`: the training piece's (of a corpus split by piece, its first test piece's).
    changes_of: str | None = None
    choruses: int = 1  # times the changes are played
    mode: str = "measures"  # one stream cut into 4-beat measures, or "notebook" (the seed's)
    primer: str | None = None  # tokens the solo starts with, separated by spaces
    primer_midi: str | Path | None = None  # a MIDI or MusicXML file whose melody the solo continues
    bpm: float = solo.BPM  # the tempo
    rendering: Rendering = Rendering()  # how the MIDI and WAV files play the solo
    output: str | Path | None = None  # the folder for the files (default `workdir`/output)

    def check(self) -> None:
        """Raises a JazzFlaxError for a setting out of range or settings that do not go together."""
        if self.mode not in MODES:
            raise JazzFlaxError(
                f"unknown mode {self.mode!r}", hint=f"use one of {', '.join(MODES)}"
            )
        OUTPUTS.check("num_outputs", self.num_outputs)
        POSITIVE.check("choruses", self.choruses)
        BPM.check("bpm", self.bpm)
        if self.beam is not None:
            check_beam(self.beam)
        if self.primer and self.primer_midi:
            raise JazzFlaxError("give --primer or --primer_midi, not both")
        if self.mode == "notebook" and (self.beam is not None or self.primer_midi):
            raise JazzFlaxError("beam search and --primer_midi need --mode measures")
        check_strategy(self.strategy, length=1)
        render.check_rendering(self.rendering)


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
        """One line: measures (begun: a notebook solo's segments overlap, its last note may end
        within a measure), notes, seconds, log-probability, the audio's renderer."""
        notes = sum(e.pitch is not None for e in self.solo.notes)
        measures = math.ceil(self.solo.length / BEATS - 1e-9)
        line = (
            f"{measures} measures, {notes} notes, "
            f"{self.solo.seconds:.1f} s at {self.solo.bpm:g} bpm, log-prob {self.log_prob:.1f}"
        )
        if self.replaced:
            line += f", {self.replaced} primer tokens replaced"
        return f"{line}; audio: {self.renderer}" if self.renderer else line


def generate(workdir: str | Path, **options) -> Generated:
    """One solo: `improvise` with Settings(num_outputs=1, **options), written as my_music.*."""
    return improvise(workdir, Settings(num_outputs=1, **options))[0]


def improvise(workdir: str | Path, settings: Settings = Settings()) -> list[Generated]:  # noqa: B008
    """Improvises `settings.num_outputs` solos with the model trained in `workdir` (its best
    checkpoint when it kept one, `checkpoints.load_run`, else its last), from one sampler call,
    and writes my_music_1.{mid,wav,png} … (my_music.* for one) into `settings.output`, numbered
    my_music-2… where those names are taken (`files.new_stems`)."""
    settings.check()
    renderer = render.find_renderer(settings.rendering.soundfont)  # a missing soundfont fails first
    run = checkpoints.load_run(workdir)
    model, checkpoint = run.model, run.checkpoint
    changes = changes_to_play(checkpoint, settings.chords, settings.changes_of) * settings.choruses
    check_model(model, settings.mode, len(changes))
    opening = opening_of(checkpoint, settings, changes)
    play = in_measures if settings.mode == "measures" else in_notebook_segments
    played = play(model, checkpoint, changes, opening, settings)
    output = Path(workdir) / OUTPUT if settings.output is None else Path(settings.output)
    with files.new_stems(output, "my_music", settings.num_outputs) as stems:
        return [
            Generated(
                one.solo,
                render.write_all(one.solo, stem, settings.rendering, renderer),
                one.tokens,
                one.log_prob,
                str(renderer),
                opening.replaced,
            )
            for stem, one in zip(stems, played, strict=True)
        ]


def in_measures(model, checkpoint, changes, opening, settings: Settings) -> list[Improvised]:
    """The solos, each one stream after the opening, cut into the changes' measures."""
    return soloist.solos(
        model,
        checkpoint.params,
        checkpoint.vocab,
        changes,
        jax.random.key(settings.seed),
        np.random.default_rng(settings.seed),
        batch=settings.num_outputs,
        strategy=settings.strategy,
        beam=settings.beam,
        opening=opening,
        bpm=settings.bpm,
        context=models.context_of(checkpoint.config),
    )


def in_notebook_segments(model, checkpoint, changes, opening, settings) -> list[Improvised]:
    """The solos in the seed's layout: each of its segments sampled as a stream of its own."""
    segments, vocab = solo.notebook_segments(len(changes)), checkpoint.vocab
    key, rng = jax.random.key(settings.seed), np.random.default_rng(settings.seed)
    streams = soloist.streams(
        model,
        checkpoint.params,
        vocab,
        key,
        settings.num_outputs * segments,
        solo.NOTEBOOK_SEGMENT,
        changes,
        settings.strategy,
        primer=opening.ids(vocab),
    )
    log_probs = streams.log_probs.reshape(settings.num_outputs, segments).sum(axis=1)
    groups = [streams.tokens[i * segments : (i + 1) * segments] for i in range(len(log_probs))]
    return [
        Improvised(group, solo.notebook(group, changes, rng, settings.bpm, vocab.rules), float(lp))
        for group, lp in zip(groups, log_probs, strict=True)
    ]


def changes_to_play(checkpoint, chords: str | None, changes_of: str | None) -> tuple[tuple, ...]:
    """Each measure's chords: from the text `chords`, of the corpus' piece `changes_of`, else the
    training piece's (of a corpus split by piece, its first test piece's)."""
    if chords is not None and changes_of is not None:
        raise JazzFlaxError("give --chords or --changes_of, not both")
    if chords is not None:
        return tuple(parse_chords(chords))
    corpus = checkpoints.checkpoint_corpus(checkpoint)
    if changes_of is not None:
        return tuple(data.piece_named(corpus, changes_of).chords)
    return tuple(data.default_changes(corpus).chords)


def solos(workdir: str | Path) -> list[tuple[str, str]]:
    """(name, split) of the pieces of the corpus the model in `workdir` was trained on."""
    checkpoint = checkpoints.load_checkpoint(checkpoints.model_checkpoint(workdir))
    return data.piece_names(checkpoints.checkpoint_corpus(checkpoint))


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


def opening_of(checkpoint, settings: Settings, changes) -> primers.Opening:
    """The opening from a file (over `changes` when they were given, else over its own chords,
    and `changes` where it has none) or from typed tokens."""
    if not settings.primer_midi:
        return primers.from_text(settings.primer, checkpoint.vocab)
    given = settings.chords is not None or settings.changes_of is not None
    return primers.from_file(
        settings.primer_midi, checkpoint.config.data, checkpoint.vocab, changes, not given
    )

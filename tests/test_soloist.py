"""A trained model's solos over changes: one sampler call, each stream cut and decoded."""

import jax
import numpy as np

from jazz_flax import checkpoints, models, primer, soloist
from jazz_flax.beam import Beam
from jazz_flax.music import solo
from jazz_flax.music.chords import parse_chords


def model_of(workdir):
    checkpoint = checkpoints.load_checkpoint(workdir)
    return models.make_model(checkpoint.config, len(checkpoint.vocab)), checkpoint


def test_solos_fill_the_changes_measures_sampled_longer_or_not(run_dir):
    model, checkpoint = model_of(run_dir[0])
    changes = parse_chords("Dm7 G7 | Cmaj7")
    for sampled_measures in (None, 5):
        played = soloist.solos(
            model, checkpoint.params, checkpoint.vocab, changes, jax.random.key(0),
            np.random.default_rng(0), batch=3, sampled_measures=sampled_measures,
        )  # fmt: skip
        assert len(played) == 3 and all(one.log_prob < 0 for one in played)
        assert all(len(one.tokens) == 2 and one.solo.length == 8.0 for one in played)


def test_typed_opening_tokens_start_the_first_measure(run_dir):
    model, checkpoint = model_of(run_dir[0])
    opening = primer.from_text(" ".join(checkpoint.vocab.values[:2]), checkpoint.vocab)
    (played,) = soloist.solos(
        model, checkpoint.params, checkpoint.vocab, parse_chords("C"), jax.random.key(1),
        np.random.default_rng(1), opening=opening,
    )  # fmt: skip
    assert tuple(played.tokens[0][:2]) == opening.tokens


def test_streams_are_sampled_or_the_best_beam_of_each_search(run_dir):
    model, checkpoint = model_of(run_dir[0])
    length = solo.tokens_needed(2)
    for beam in (None, Beam(2, 2, 1), Beam(2, 2, 1, length_penalty=1.0)):
        found = soloist.streams(
            model, checkpoint.params, checkpoint.vocab, jax.random.key(2), 2, length, beam=beam
        )
        assert len(found.tokens) == 2 and found.log_probs.shape == (2,)
        assert all(set(row) <= set(checkpoint.vocab.values) for row in found.tokens)

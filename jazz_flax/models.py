"""The model registry: the family `config.model.kind` names, built from a config.

    "lstm"        model.DJModel: stacked recurrent cells (`model.cell`) and a dense head
    "transformer" transformer.Transformer: a causal decoder with a key/value cache

Both take token ids and, when the config chooses a context (`data.context`, or
`condition_on_chords` for the chord alone), its features beside each token; both are trained by
the same loop and sampled by the same `fori_loop` through `initial_carry` and `sample_step`.
"""

from __future__ import annotations

import ml_collections

from jazz_flax import model, transformer
from jazz_flax.windows import CHORD_FEATURES, context_parts, read_context, width

MODELS = {"lstm": model.from_config, "transformer": transformer.from_config}


def context_features(config: ml_collections.ConfigDict) -> int:
    """The features the model reads beside each token: the `data.context` parts', or the chord's
    with `condition_on_chords`, else none."""
    features = width(context_parts(config.data.context))
    return features or (CHORD_FEATURES if config.condition_on_chords else 0)


def context_of(config: ml_collections.ConfigDict) -> tuple[str, ...]:
    """The context parts the model of `config` reads (`data.context`; the chord alone for
    `condition_on_chords`, and for an unconditioned model, which reads none)."""
    return read_context(context_parts(config.data.context))


def make_model(config: ml_collections.ConfigDict, n_values: int):
    """The model `config.model.kind` names over `n_values` token values."""
    return MODELS[config.model.kind](config, n_values, context_features(config))

"""The Transformer decoder: its parameters, its key/value cache against the full causal forward
pass, sampling and beam search through the cache, and training and generating by `model.kind`."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jazz_flax import beam, checkpoints, generate, sample, train
from jazz_flax import config as config_lib
from jazz_flax.errors import JazzFlaxError
from jazz_flax.model import DJModel, count_params, init_params
from jazz_flax.models import make_model
from jazz_flax.transformer import Transformer
from jazz_flax.windows import EMPTY
from tests.music import CHANGES, SOLO, write_solo
from tests.test_model import CONDITIONING, logits_step_by_step, random_chords, random_ids
from tests.test_sample import DURATIONS, random_grid

N_VALUES = 12
SPAN = 3  # max_len below the sequences' lengths: the cache wraps round its ring


def make(chord_features: int = 0, tied: bool = False, layers: int = 2):
    """A Transformer of `layers` blocks 16 wide, 2 heads, attending SPAN tokens; its params."""
    model = Transformer(N_VALUES, 16, layers, heads=2, max_len=SPAN, tied=tied)
    model = model.clone(chord_features=chord_features)
    return model, init_params(model, jax.random.key(0), "flax")


def block_params(d: int, mlp: int) -> int:
    """One block: two LayerNorms, query/key/value/out projections with biases, the MLP."""
    return 2 * 2 * d + 4 * (d * d + d) + (d * mlp + mlp) + (mlp * d + d)


@pytest.mark.parametrize("tied", [False, True], ids=["head", "tied"])
@CONDITIONING
def test_parameter_count(chord_features, tied):
    model, params = make(chord_features, tied)
    d, V = 16, N_VALUES
    head = 0 if tied else d * V + V
    expected = (V + 1) * d + chord_features * d + 2 * block_params(d, 4 * d) + 2 * d + head
    assert count_params(params) == expected
    assert ("head" in params) != tied


@CONDITIONING
def test_the_cache_gives_the_logits_of_the_whole_prefix(chord_features):
    """Step by step through the cache against the full causal forward pass over each prefix
    (attending to the last SPAN tokens, as the cache does), 7 steps: the ring wraps twice."""
    model, params = make(chord_features)
    ids, chords = random_ids(3, 7, N_VALUES), random_chords(3, 7, chord_features)
    prefixes = prefix_logits(model, params, ids, chords)
    cached = logits_step_by_step(model, params, ids, chords)
    np.testing.assert_allclose(cached, prefixes, atol=1e-5)
    whole = forward(model, params, ids, chords)
    np.testing.assert_allclose(whole, prefixes, atol=1e-5)
    time_major = forward(model, params, ids.T, transposed(chords), time_major=True)
    np.testing.assert_allclose(time_major, whole.transpose(1, 0, 2), atol=1e-6)


@functools.partial(jax.jit, static_argnums=0, static_argnames="time_major")
def forward(model, params, ids, chords=None, time_major=False):
    return model.apply({"params": params}, ids, chords, time_major=time_major)


@functools.partial(jax.jit, static_argnums=0)
def prefix_logits(model, params, ids, chords):
    """Logits (B, T, V): at each t, the last of the forward pass over ids[:, : t + 1]."""
    return jnp.stack(
        [
            forward(model, params, ids[:, : t + 1], until(chords, t + 1))[:, -1]
            for t in range(ids.shape[1])
        ],
        axis=1,
    )


def until(chords, t):
    return None if chords is None else chords[:, :t]


def transposed(chords):
    return None if chords is None else chords.transpose(1, 0, 2)


def test_attention_is_causal_and_reaches_max_len_tokens_back():
    """One block: a token sees itself and the SPAN - 1 before it (two see twice as far)."""
    model, params = make(layers=1)
    ids = random_ids(1, 9, N_VALUES)
    logits = forward(model, params, ids)
    for changed in (5, 8):  # a later token changes nothing before it
        other = ids.at[0, changed].set((ids[0, changed] + 1) % N_VALUES)
        moved = np.abs(forward(model, params, other) - logits).max(axis=-1)[0]
        assert (moved[:changed] == 0).all() and (moved[changed : changed + SPAN] > 0).all()
        assert (moved[changed + SPAN :] == 0).all()


def test_gradients_are_finite_through_many_blocks_after_a_start_token():
    """EMPTY, then tokens whose predictions count, through 8 blocks: an all-zero start input
    would leave the residual stream at zero there, and 17 LayerNorms overflow its gradient."""
    model = Transformer(N_VALUES, 8, 8, heads=2, max_len=SPAN)
    params, ids = init_params(model, jax.random.key(0), "flax"), random_ids(2, 5, N_VALUES)

    def loss(params):
        logits = model.apply({"params": params}, ids, time_major=True)
        return train.sequence_loss(logits, jnp.abs(ids), jnp.full(5, 1 / 5))

    grads = jax.jit(jax.grad(loss))(params)
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(grads))


def test_dropout_applies_in_training_only():
    model = Transformer(N_VALUES, 16, 2, dropout=0.5, heads=2, max_len=SPAN)
    params, ids = init_params(model, jax.random.key(0), "flax"), random_ids(2, 6, N_VALUES)
    apply = functools.partial(model.apply, {"params": params}, ids, None)
    apply = jax.jit(apply, static_argnames="deterministic")
    np.testing.assert_array_equal(apply(), apply())
    trained = apply(deterministic=False, rngs={"dropout": jax.random.key(1)})
    assert not np.allclose(trained, apply())


# ---------------------------------------------------------------------------------------------
# Sampling through the cache against sampling without it


def uncached_sample(
    model, params, key, batch, length, strategy, primer=(), grid=None, durations=None
):
    """`sample.sample` without a cache: at each step, the full causal forward pass over
    everything so far (EMPTY, the primer, the sampled tokens; EMPTY after them, which the causal
    mask hides: one compile), each token's chord read at its position in beats as the sampler
    reads it. (ids (B, length), log_probs (B, length))."""
    start = 1 + len(primer)
    inputs = np.full((batch, start + length - 1), EMPTY)
    inputs[:, 1:start] = primer
    for t in range(length):
        chords = None
        if grid is not None:
            beats = np.cumsum(np.where(inputs == EMPTY, 0.0, durations[inputs]), axis=1)
            chords = sample.chords_at(jnp.asarray(grid), jnp.asarray(beats, jnp.float32))
        logits = forward(model, params, jnp.asarray(inputs, jnp.int32), chords)[:, start + t - 1]
        key, subkey = jax.random.split(key)
        token = np.asarray(sample.choose(subkey, logits, sample.traced(strategy)))
        if t < length - 1:
            inputs[:, start + t] = token
    log_probs = jax.nn.log_softmax(forward(model, params, jnp.asarray(inputs, jnp.int32), chords))
    ids = np.concatenate([inputs[:, start:], token[:, None]], axis=1)
    chosen = np.take_along_axis(np.asarray(log_probs)[:, start - 1 :], ids[..., None], axis=-1)
    return ids, chosen[..., 0]


STRATEGIES = pytest.mark.parametrize(
    "strategy",
    [sample.Strategy(greedy=True), sample.Strategy(temperature=1.3, top_k=6, top_p=0.9)],
    ids=["greedy", "top-k-top-p"],
)


@STRATEGIES
@pytest.mark.parametrize("primer", [(), (3, 7, 1)], ids=["zero-start", "primer"])
@CONDITIONING
def test_cached_sampling_equals_uncached_sampling(chord_features, primer, strategy):
    model, params = make(chord_features)
    rng = np.random.default_rng(0)
    durations = rng.choice(DURATIONS, N_VALUES).astype(np.float32)
    over = dict(grid=random_grid(2, rng), durations=durations) if chord_features else {}
    key = jax.random.key(42)
    got = sample.sample(
        model, params, key, batch=3, length=11, strategy=strategy, primer=primer or None,
        chord_grid=over.get("grid"), durations=over.get("durations"),
    )  # fmt: skip
    ids, log_probs = uncached_sample(model, params, key, 3, 11, strategy, primer, **over)
    np.testing.assert_array_equal(got.ids, ids)
    np.testing.assert_allclose(got.log_probs, log_probs, atol=1e-5)


@STRATEGIES
def test_one_beam_one_branch_is_plain_sampling(strategy):
    model, params = make()
    key = jax.random.key(7)
    plain = sample.sample(model, params, key, length=11, strategy=strategy, primer=(2, 5))
    found = beam.beam_search(model, params, key, length=11, strategy=strategy, primer=(2, 5))
    np.testing.assert_array_equal(found.ids[0], plain.ids)


def test_beams_reorder_the_cache_with_their_rows():
    """Each beam's score is its tokens' log-probability under the uncached model: a cache left
    in another row's order would score another sequence's prefix."""
    model, params = make()
    found = beam.beam_search(
        model, params, jax.random.key(3), beam=beam.Beam(3, 3, 2), searches=2, length=9
    )
    for search in range(2):
        inputs = np.concatenate([np.full((3, 1), EMPTY), found.ids[search]], axis=1)
        log_probs = jax.nn.log_softmax(model.apply({"params": params}, inputs[:, :-1]))
        expected = np.take_along_axis(np.asarray(log_probs), inputs[:, 1:, None], -1).sum((1, 2))
        np.testing.assert_allclose(found.log_probs[search], expected, rtol=1e-5)
    assert (np.diff(found.log_probs, axis=1) <= 0).all()


# ---------------------------------------------------------------------------------------------
# model.kind: configs, training, checkpoints, generation


def transformer_config(tiny):
    config = tiny.copy_and_resolve_references()
    config.model.update(kind="transformer", heads=2)
    config.update(n_a=8, layers=2, init="flax")
    return config


def test_the_kind_picks_the_model(tiny):
    config = transformer_config(tiny)
    model = make_model(config, N_VALUES)
    assert isinstance(model, Transformer) and model.max_len == config.data.Tx
    assert (model.n_a, model.layers, model.heads) == (8, 2, 2)
    assert isinstance(make_model(tiny, N_VALUES), DJModel)  # the default: lstm


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("model.kind", "gpt", "model.kind must be one of 'lstm', 'transformer', got 'gpt'"),
        ("model.heads", 3, "a transformer of n_a=8 cannot have 3 heads"),
        ("model.mlp", 0, "model.mlp must be ≥ 1, got 0"),
        ("model.embed", 5, "a transformer embeds its tokens into n_a=8 features"),
    ],
)
def test_bad_transformer_settings_are_clear_errors(tiny, setting, value, message):
    config = transformer_config(tiny)
    section, key = setting.split(".")
    config[section][key] = value
    with pytest.raises(JazzFlaxError, match=message):
        config_lib.check(config)


def test_the_keras_init_is_the_lstms(tiny):
    with pytest.raises(JazzFlaxError, match="the keras init is the recurrent cells'"):
        init_params(make()[0], jax.random.key(0), "keras")


def test_a_checkpoint_without_a_kind_is_an_lstm(tiny):
    saved = config_lib.with_defaults({"model": {"cell": "gru", "embed": 0}})
    assert saved["model"]["kind"] == "lstm" and saved["model"]["cell"] == "gru"


@pytest.fixture(scope="module")
def transformer_run(tiny, tmp_path_factory):
    """A chord-conditioned tiny Transformer trained 2 epochs on the tiny solo: the workdir."""
    config = transformer_config(tiny)
    config.update(condition_on_chords=True, epochs=2, lr=0.003)
    workdir = tmp_path_factory.mktemp("run") / "transformer"
    _, history = train.train(config, workdir=workdir)
    assert all(np.isfinite(row["loss"]) for row in history)
    return workdir


def test_the_checkpoint_records_the_kind(transformer_run):
    checkpoint = checkpoints.load_checkpoint(transformer_run)
    assert checkpoint.config.model.kind == "transformer"
    model = make_model(checkpoint.config, len(checkpoint.vocab))
    assert isinstance(model, Transformer) and "blocks_1" in checkpoint.params


def test_a_transformer_improvises_as_the_lstm_does(transformer_run, tmp_path):
    """--num_outputs with beam search, --primer, --primer_midi and --changes_of."""
    workdir = transformer_run
    settings = generate.Settings(
        num_outputs=2, chords="C Dm7 G7 C", beam=beam.Beam(2, 2, 4), output=tmp_path / "beam"
    )
    found = generate.improvise(workdir, settings)
    assert len(found) == 2 and all(len(result.tokens) == 4 for result in found)
    primer = checkpoints.load_checkpoint(workdir).vocab.values[:2]
    primed = generate.generate(workdir, primer=" ".join(primer), output=tmp_path / "primer")
    assert tuple(primed.tokens[0][:2]) == primer
    path = write_solo(tmp_path / "primer.musicxml", solo=SOLO[1:3], changes=CHANGES[1:3])
    opened = generate.generate(workdir, primer_midi=path, chords="G7 | C", output=tmp_path / "m")
    assert opened.solo.length == 4 * (2 + 2)
    over = generate.generate(workdir, changes_of="solo", output=tmp_path / "changes")
    assert len(over.tokens) == 4 and over.solo.length == 16


@pytest.mark.parametrize(
    "name, lstm", [("wjazzd_transformer", "wjazzd"), ("wjazzd_pitch_transformer", "wjazzd_pitch")]
)
def test_the_experiments_transformers_change_only_the_model_of_their_lstm_experiment(name, lstm):
    """The model-family comparison holds the data, windows, context and optimiser fixed."""
    from jazz_flax.cli.options import experiment_config

    transformer, recurrent = experiment_config(name), experiment_config(lstm)
    assert transformer.data == recurrent.data
    assert (transformer.lr, transformer.batch_size) == (recurrent.lr, recurrent.batch_size)
    assert transformer.model.kind == "transformer" and recurrent.model.kind == "lstm"
    assert transformer.data.Tx == 64 and transformer.n_a == 128 and transformer.layers == 7

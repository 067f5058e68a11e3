import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jazz_flax import cells, sample
from jazz_flax.errors import JazzFlaxError
from jazz_flax.model import DJModel, init_params
from jazz_flax.windows import CHORD_FEATURES, EMPTY

LOGITS = jnp.log(jnp.array([[0.05, 0.4, 0.1, 0.25, 0.2], [0.3, 0.1, 0.2, 0.15, 0.25]]))


def allowed(top_k, top_p):
    """The tokens each row of LOGITS may take under `Strategy(top_k=top_k, top_p=top_p)`."""
    strategy = sample.traced(sample.Strategy(top_k=top_k, top_p=top_p))
    filtered = sample.filter_logits(LOGITS, strategy.top_k, strategy.top_p)
    return [set(np.flatnonzero(np.isfinite(row)).tolist()) for row in filtered]


def test_top_k_keeps_the_k_likeliest():
    assert allowed(2, 1.0) == [{1, 3}, {0, 4}]
    assert allowed(None, 1.0) == allowed(99, 1.0) == [set(range(5))] * 2


def test_top_k_none_is_traced_as_an_int32():
    assert sample.traced(sample.Strategy()).top_k.dtype == jnp.int32


def test_top_p_keeps_the_smallest_set_reaching_p():
    assert allowed(None, 0.35) == [{1}, {0, 4}]
    assert allowed(None, 0.6) == [{1, 3}, {0, 4, 2}]
    assert allowed(None, 0.01) == [{1}, {0}]  # never empty


def test_top_k_and_top_p_combine():
    assert allowed(1, 0.9) == [{1}, {0}]


@pytest.mark.parametrize("top_k, top_p", [(2, 1.0), (None, 0.5), (3, 0.7), (None, 1.0)])
def test_sampled_tokens_stay_in_the_allowed_set(top_k, top_p):
    strategy = sample.traced(sample.Strategy(temperature=2.0, top_k=top_k, top_p=top_p))
    keys = jax.random.split(jax.random.key(0), 500)
    tokens = jax.vmap(lambda k: sample.choose(k, LOGITS, strategy))(keys)
    sets = allowed(top_k, top_p)
    for row in range(2):
        seen = set(np.asarray(tokens[:, row]).tolist())
        assert seen <= sets[row] and len(seen) == len(sets[row])


def test_sampling_follows_the_softmax_at_the_temperature():
    keys = jax.random.split(jax.random.key(3), 20_000)
    for temperature in (1.0, 0.5):
        strategy = sample.traced(sample.Strategy(temperature=temperature))
        draw = functools.partial(sample.choose, logits=LOGITS, strategy=strategy)
        tokens = np.asarray(jax.vmap(draw)(keys))
        expected = np.asarray(jax.nn.softmax(LOGITS / temperature))
        for row in range(2):
            freq = np.bincount(tokens[:, row], minlength=5) / len(keys)
            np.testing.assert_allclose(freq, expected[row], atol=0.015)


def test_greedy_is_argmax():
    strategy = sample.traced(sample.Strategy(greedy=True, temperature=5.0))
    assert sample.choose(jax.random.key(1), LOGITS, strategy).tolist() == [1, 0]


# Values 0 and 1 are a rest and UNK; 2-4 one pitch in three durations, 5-6 another, 7 a third.
GROUPS = jnp.array([-1, -1, 0, 0, 0, 1, 1, 2])


def at_pitch_temperature_by_hand(probs: np.ndarray, temperature: float, last=-1) -> np.ndarray:
    """p'(v) = p(v) for rests and UNK, else p(note) · q(pitch) · p(v | pitch), where q is
    p(pitch | note) ** (1 / temperature), normalised; the `last` pitch (−1: none) keeps
    p(last | note), the others share the rest in those proportions."""
    groups = np.asarray(GROUPS)
    pitch = np.array([probs[groups == g].sum() for g in range(3)])
    note = pitch.sum()
    q = (pitch / note) ** (1 / temperature)
    others = np.arange(3) != last
    q = np.where(others, q / q[others].sum() * (1 - pitch[last] / note * (last >= 0)), pitch / note)
    notes = note * q[groups] * probs / pitch[groups]
    return np.where(groups < 0, probs, notes)


@pytest.mark.parametrize("temperature", [1.0, 0.4, 2.5])
@pytest.mark.parametrize("last", [None, -1, 0, 2])
def test_pitch_temperature_reshapes_the_pitch_alone(temperature, last):
    logits = jax.random.normal(jax.random.key(round(10 * temperature)), (3, 8)) * 2
    lasts = None if last is None else jnp.full(3, last)
    got = np.exp(np.asarray(sample.at_pitch_temperature(logits, GROUPS, temperature, lasts)))
    for row, probs in zip(got, np.asarray(jax.nn.softmax(logits)), strict=True):
        expected = at_pitch_temperature_by_hand(probs, temperature, -1 if last is None else last)
        np.testing.assert_allclose(row, expected, 1e-5)
        np.testing.assert_allclose(row[:2], probs[:2], 1e-5)  # rest and UNK untouched
        np.testing.assert_allclose(row[2:5] / row[2:5].sum(), probs[2:5] / probs[2:5].sum(), 1e-5)
        if last is not None and last >= 0:  # the last pitch as likely as the model has it
            in_last = np.asarray(GROUPS) == last
            np.testing.assert_allclose(row[in_last].sum(), probs[in_last].sum(), 1e-5)


def test_a_last_pitch_the_model_is_sure_of_stays_sure():
    probs = jnp.array([[0.5, 0.0, 0.2, 0.2, 0.1, 0.0, 0.0, 0.0]])  # no pitch but pitch 0
    sharp = sample.at_pitch_temperature(jnp.log(probs + 1e-30), GROUPS, 0.3, jnp.array([0]))
    np.testing.assert_allclose(np.exp(np.asarray(sharp)), probs, atol=1e-6)


def test_the_last_pitch_group_is_carried_through_rests_and_empty():
    groups = np.array([-1, 0, 1, 1, -1])  # values 0 and 4 are no note
    ids = np.array([[-1, 0, 1, 0, 4, 2], [-1, 3, 2, 1, 0, 0]])  # -1: EMPTY
    got = sample.last_pitch_groups(ids, groups)
    np.testing.assert_array_equal(got, [[-1, -1, 0, 0, 0, 1], [-1, 1, 1, 0, 0, 0]])


def test_the_last_pitch_is_the_last_notes_whatever_rests_come_after():
    inputs = jnp.array([[EMPTY, 2, 0, 1], [EMPTY, 5, 7, 0], [EMPTY, 0, 1, 0]])  # 0, 1: rest, UNK
    assert sample.last_pitches(GROUPS, inputs).tolist() == [0, 2, -1]
    assert sample.last_pitches(None, inputs) is None


def test_pitch_temperature_below_one_favours_the_likeliest_pitch_and_keeps_the_rests():
    # a rest 0.2; pitch 0 0.3 in three durations, pitch 1 0.4 in two, pitch 2 0.1
    probs = jnp.array([[0.2, 0.0, 0.1, 0.1, 0.1, 0.3, 0.1, 0.1]])
    sharp = np.exp(np.asarray(sample.at_pitch_temperature(jnp.log(probs + 1e-9), GROUPS, 0.5)))[0]
    assert sharp[0] == pytest.approx(0.2, abs=1e-6)
    assert sharp[5:7].sum() > 0.45 and sharp[7] < 0.05  # 0.8 · (0.615, 0.038): squared, renormed


def test_draws_follow_the_pitch_temperature():
    logits = jax.random.normal(jax.random.key(5), (2, 8))
    keys = jax.random.split(jax.random.key(6), 20_000)
    strategy = sample.traced(sample.Strategy(pitch_temperature=0.5))
    draw = functools.partial(sample.choose, logits=logits, strategy=strategy, groups=GROUPS)
    tokens = np.asarray(jax.vmap(draw)(keys))
    expected = np.exp(np.asarray(sample.at_pitch_temperature(logits, GROUPS, 0.5)))
    for row in range(2):
        freq = np.bincount(tokens[:, row], minlength=8) / len(keys)
        np.testing.assert_allclose(freq, expected[row], atol=0.015)


# The boundaries (temperature 0, top_k 0, top_p 0 and 1.5, length 0) are rows of test_failures.py.
@pytest.mark.parametrize(
    "strategy, length, message",
    [
        (sample.Strategy(temperature=-1.0), 5, "temperature must be ≥ 0.01"),
        (sample.Strategy(top_k=-1), 5, "top_k must be ≥ 1, got -1"),
        (sample.Strategy(), -3, "number of tokens"),
        (sample.Strategy(pitch_temperature=0.0), 5, "pitch_temperature must be ≥ 0.01"),
        (sample.Strategy(greedy=True, pitch_temperature=0.5), 5, "has no say"),
        (sample.Strategy(keep_repeats=True), 5, "keep_repeats keeps .* none is set"),
    ],
)
def test_settings_beyond_the_boundaries_are_clear_errors(strategy, length, message):
    with pytest.raises(JazzFlaxError, match=message):
        sample.check_strategy(strategy, length)


# ---------------------------------------------------------------------------------------------
# The jitted fori_loop sampler against a Python loop over the same step

N_VALUES = 12
DURATIONS = (0.375, 0.75, 1.125, 1.5)  # exact in binary: no position near a grid line
PITCH_GROUPS = np.array([-1, 0, 0, 1, 1, 1, 2, -1, 2, 3, 3, 4], np.int32)  # -1: not a note


@pytest.fixture(scope="module")
def trained():
    model = DJModel(n_values=N_VALUES, n_a=16)
    return model, init_params(model, jax.random.key(0))


@pytest.fixture(scope="module")
def conditioned():
    """A chord-conditioned model, the durations of its tokens and a two-measure chord grid."""
    model = DJModel(n_values=N_VALUES, n_a=16, chord_features=CHORD_FEATURES)
    rng = np.random.default_rng(0)
    durations = rng.choice(DURATIONS, N_VALUES).astype(np.float32)
    return model, init_params(model, jax.random.key(0)), durations, random_grid(2, rng)


def random_grid(n_measures: int, rng: np.random.Generator) -> np.ndarray:
    """A chord grid (n_measures, STEPS, F) of random 0s and 1s, a new chord every beat."""
    beats = rng.integers(0, 2, (n_measures, 4, 1, CHORD_FEATURES))
    steps_per_beat = sample.STEPS // 4
    return np.tile(beats, (1, 1, steps_per_beat, 1)).reshape(n_measures, sample.STEPS, -1)


def python_loop(
    model, params, key, batch, length, strategy, primer=(), chord_grid=None, durations=None
):
    """`sample.sample` as a plain loop over `model.sample_step`. With a chord grid it tracks each
    stream's position in beats and looks up the chord of its grid step in its measure; at a pitch
    temperature, each stream's last pitch group."""
    carry, position = model.initial_carry(batch), np.zeros(batch)
    inputs, ids, last = np.full(batch, EMPTY), [], np.full(batch, -1)
    for t in range(len(primer) + length):
        chords = None
        if chord_grid is not None:
            position += np.where(inputs == EMPTY, 0.0, durations[inputs])
            measure = np.minimum(position // 4, len(chord_grid) - 1).astype(int)
            step = np.floor(position % 4 / sample.GRID + sample.ON_THE_LINE).astype(int)
            chords = chord_grid[measure, step]
        carry, logits = model.sample_step(params, carry, jnp.asarray(inputs, jnp.int32), chords)
        if t < len(primer):
            inputs = np.full(batch, primer[t])
        else:
            key, subkey = jax.random.split(key)
            groups = None if strategy.pitch_temperature == 1 else jnp.asarray(PITCH_GROUPS)
            pitches = (groups, None if groups is None else jnp.asarray(last))
            inputs = np.asarray(sample.choose(subkey, logits, sample.traced(strategy), *pitches))
            ids.append(inputs)
        group = np.where(inputs == EMPTY, -1, PITCH_GROUPS[inputs])
        last = np.where(group >= 0, group, last)
    return np.stack(ids, axis=1)


@pytest.mark.parametrize(
    "strategy",
    [
        sample.Strategy(greedy=True),
        sample.Strategy(temperature=0.7),
        sample.Strategy(temperature=1.3, top_k=4, top_p=0.8),
        sample.Strategy(top_p=0.9, pitch_temperature=0.5),
        sample.Strategy(pitch_temperature=0.3, keep_repeats=True),
    ],
    ids=["greedy", "temperature", "top-k-top-p", "pitch-temperature", "keep-repeats"],
)
@pytest.mark.parametrize("primer", [(), (3, 7, 1)], ids=["zero-start", "primer"])
def test_fori_loop_sampler_equals_a_python_loop(trained, strategy, primer):
    model, params = trained
    key = jax.random.key(42)
    options = dict(strategy=strategy, primer=primer or None, pitch_groups=PITCH_GROUPS)
    got = sample.sample(model, params, key, batch=3, length=9, **options)
    expected = python_loop(model, params, key, 3, 9, strategy, primer)
    np.testing.assert_array_equal(got.ids, expected)
    assert got.ids.shape == got.log_probs.shape == (3, 9)
    assert (got.log_probs <= 0).all()


@pytest.mark.parametrize("cell", list(cells.CELLS))
def test_every_cell_samples_as_a_python_loop_of_its_steps(cell):
    """The fori_loop drives each cell's own `__call__` and carry (GRU's is one array, not two)."""
    model = DJModel(n_values=N_VALUES, n_a=16, layers=2, cell=cell)
    params, key, strategy = (
        init_params(model, jax.random.key(0)),
        jax.random.key(7),
        sample.Strategy(),
    )
    got = sample.sample(model, params, key, batch=2, length=4, strategy=strategy, primer=(3,))
    np.testing.assert_array_equal(got.ids, python_loop(model, params, key, 2, 4, strategy, (3,)))


def test_greedy_rows_are_identical_and_sampled_rows_differ(trained):
    model, params = trained
    greedy = sample.sample(
        model, params, jax.random.key(0), batch=4, length=20, strategy=sample.Strategy(greedy=True)
    )
    assert (greedy.ids == greedy.ids[0]).all()
    sampled = sample.sample(
        model,
        params,
        jax.random.key(0),
        batch=4,
        length=20,
        strategy=sample.Strategy(temperature=2.0),
    )
    assert len({tuple(row) for row in np.asarray(sampled.ids)}) > 1


def test_strategies_share_one_compile_and_greedy_has_its_own(trained):
    model, params = trained
    key = jax.random.key(0)
    before = sample._sample._cache_size()
    sample.sample(model, params, key, batch=2, length=7, strategy=sample.Strategy(greedy=True))
    sample.sample(model, params, key, batch=2, length=7)
    assert sample._sample._cache_size() == before + 2
    for strategy in (
        sample.Strategy(temperature=0.5),
        sample.Strategy(top_k=3, top_p=0.9),
        sample.Strategy(greedy=True, temperature=3.0),
        sample.Strategy(temperature=2),
    ):
        sample.sample(model, params, key, batch=2, length=7, strategy=strategy)
    assert sample._sample._cache_size() == before + 2


# ---------------------------------------------------------------------------------------------
# Chord conditioning


@pytest.mark.parametrize(
    "strategy",
    [sample.Strategy(greedy=True), sample.Strategy(temperature=0.7)],
    ids=["greedy", "temperature"],
)
@pytest.mark.parametrize("primer", [(), (3, 7, 1)], ids=["zero-start", "primer"])
def test_conditioned_sampler_equals_a_python_loop(conditioned, strategy, primer):
    model, params, durations, grid = conditioned
    key, chords = jax.random.key(42), dict(chord_grid=grid, durations=durations)
    got = sample.sample(
        model, params, key, batch=3, length=12, strategy=strategy, primer=primer or None, **chords
    )
    expected = python_loop(model, params, key, 3, 12, strategy, primer, **chords)
    np.testing.assert_array_equal(got.ids, expected)
    positions = np.cumsum(durations[expected], axis=1) + durations[list(primer)].sum()
    assert positions[:, -2].max() > 8  # the last token chosen after the grid's two measures


def test_the_chords_change_the_samples(conditioned):
    model, params, durations, grid = conditioned
    greedy = functools.partial(
        sample.sample,
        model,
        params,
        jax.random.key(0),
        length=16,
        strategy=sample.Strategy(greedy=True),
        durations=durations,
    )
    other = random_grid(2, np.random.default_rng(1))
    assert not np.array_equal(greedy(chord_grid=grid).ids, greedy(chord_grid=other).ids)


def test_chords_at_reads_the_grid_step_of_the_measure():
    grid = np.arange(3 * sample.STEPS, dtype=np.float32).reshape(3, sample.STEPS, 1)  # its index
    triplets = np.float32(0.333) + np.float32(0.333) + np.float32(0.333)  # 0.999 beats
    positions = jnp.array([0.0, 0.2, 0.25, triplets, 4.0, 7.9, 11.75, 12.0, 50.0], jnp.float32)
    expected = [0, 2, 3, 12, 48, 94, 141, 96, 96 + 24]  # past the end: the last measure, mod 4
    assert sample.chords_at(jnp.asarray(grid), positions)[:, 0].tolist() == expected


def test_unconditioned_models_ignore_the_chords(trained, conditioned):
    model, params = trained
    _, _, durations, grid = conditioned
    plain = sample.sample(model, params, jax.random.key(0), batch=2, length=7)
    before = sample._sample._cache_size()
    ignored = sample.sample(
        model, params, jax.random.key(0), batch=2, length=7, chord_grid=grid, durations=durations
    )
    np.testing.assert_array_equal(plain.ids, ignored.ids)
    assert sample._sample._cache_size() == before  # the same compiled program


def test_conditioned_strategies_and_grids_share_one_compile(conditioned):
    model, params, durations, grid = conditioned
    key = jax.random.key(0)
    for greedy in (True, False):
        strategy = sample.Strategy(greedy=greedy)
        sample.sample(
            model, params, key, length=7, strategy=strategy, chord_grid=grid, durations=durations
        )
    before = sample._sample._cache_size()
    for strategy, chords in [
        (sample.Strategy(greedy=True), grid),
        (sample.Strategy(temperature=0.5, top_k=3), 1 - grid),
    ]:
        sample.sample(
            model, params, key, length=7, strategy=strategy, chord_grid=chords, durations=durations
        )
    assert sample._sample._cache_size() == before


@pytest.mark.parametrize(
    "chord_grid, durations, message",
    [
        (None, np.ones(N_VALUES), "samples over chords"),
        (np.zeros((2, sample.STEPS, CHORD_FEATURES)), None, "samples over chords"),
        (np.zeros((2, 8, CHORD_FEATURES)), np.ones(N_VALUES), "chord_grid of shape"),
        (np.zeros((0, sample.STEPS, CHORD_FEATURES)), np.ones(N_VALUES), "chord_grid of shape"),
        (np.zeros((2, sample.STEPS, CHORD_FEATURES)), np.ones(3), "durations"),
    ],
    ids=["no-grid", "no-durations", "grid-steps", "no-measure", "durations-size"],
)
def test_conditioned_sampler_checks_its_chords(conditioned, chord_grid, durations, message):
    model, params, _, _ = conditioned
    with pytest.raises(JazzFlaxError, match=message):
        sample.sample(model, params, jax.random.key(0), chord_grid=chord_grid, durations=durations)

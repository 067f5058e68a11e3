"""Property tests of the decoder and the chord-text parser on random and malformed input.

The suite runs a short profile; `make fuzz` runs the same properties with 10,000 examples each.
"""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from music21 import pitch

from jazz_flax import grammar
from jazz_flax.errors import JazzFlaxError
from jazz_flax.grammar import v2
from jazz_flax.music import solo
from jazz_flax.music.chords import parse_chords

INTERVALS = ["P1", "m2", "M2", "m3", "M3", "P4", "A4", "d5", "P5", "m6", "M6", "m7", "M7", "P8"]
INTERVALS += [f"{name[0]}-{name[1:]}" for name in INTERVALS[1:]] + ["d1", "A1", "d-4", "d9"]
QUALITIES = ["", "m", "7", "m7", "maj7", "dim", "dim7", "aug", "m7b5", "9", "6", "sus4", "m6"]


@st.composite
def tokens(draw):
    """A well-formed grammar token."""
    kind = draw(st.sampled_from(grammar.KINDS))
    text = f"{kind},{draw(st.floats(0, 8, allow_nan=False)):.3f}"
    if kind != "R" and draw(st.booleans()):
        text += f",<{draw(st.sampled_from(INTERVALS))},{draw(st.sampled_from(INTERVALS))}>"
    return text


@st.composite
def pitch_tokens(draw):
    """A well-formed token of a pitch grammar: a rest, a pitch, or an interval and octave."""
    text = f"{draw(st.sampled_from('RN'))},{draw(st.floats(0, 8, allow_nan=False)):.3f}"
    if text.startswith("N"):
        interval = f"+{draw(st.integers(0, 11))}o{draw(st.integers(0, 8))}"
        text += f",{draw(st.one_of(st.integers(0, 127).map(str), st.just(interval)))}"
    return text


TOKENS = {"notebook": tokens(), "v2": tokens(), "pitch": pitch_tokens()}


@st.composite
def chords(draw):
    """A measure's chords: 1 to 3 random pitch sets at increasing offsets."""
    offsets = sorted(
        draw(st.sets(st.sampled_from([0.0, 1.0, 1.5, 2.0, 3.0]), min_size=1, max_size=3))
    )
    result = []
    for offset in offsets:
        midi = draw(st.sets(st.integers(28, 84), min_size=1, max_size=5))
        names = tuple(pitch.Pitch(midi=m).nameWithOctave for m in sorted(midi))
        result.append(grammar.Chord(offset, names))
    return result


def chord_symbols():
    root = st.sampled_from("ABCDEFG")
    accidental = st.sampled_from(["", "b", "#"])
    quality = st.sampled_from(QUALITIES)
    return st.builds(lambda r, a, q: r + a + q, root, accidental, quality)


@given(st.lists(tokens(), max_size=30), chords(), st.integers(0, 2**32 - 1), st.booleans())
def test_decoding_valid_tokens_never_fails_and_fills_their_time(
    token_list, chord_list, seed, a_as_c
):
    durations = grammar.prune_durations(
        [grammar.Token.parse(t).duration for t in token_list], np.random.default_rng(seed)
    )
    events = grammar.decode(
        token_list, chord_list, np.random.default_rng(seed), approach_as_chord=a_as_c
    )
    assert sum(e.duration for e in events) == pytest.approx(sum(durations))
    top = 12 * (grammar.TOP_OCTAVE + 2)
    assert all(e.pitch is None or 48 <= e.pitch < top for e in events)


@given(
    st.lists(tokens(), min_size=1, max_size=16),
    chords(),
    st.one_of(st.none(), st.integers(40, 90)),
    st.integers(40, 70),
    st.integers(12, 30),
    st.integers(0, 2**32 - 1),
)
def test_v2_fills_its_time_inside_the_register_with_each_tokens_type_where_in_range(
    token_list, chord_list, previous, low, width, seed
):
    register = (low, low + width)
    rng = np.random.default_rng(seed)
    events = v2.decode(token_list, chord_list, rng, previous=previous, register=register)
    durations = [grammar.Token.parse(t).duration for t in token_list]
    steps = [v2.snap(d) for d in v2.prune_durations(durations, rng)]
    assert [v2.snap(e.duration) for e in events] == steps
    assert [v2.snap(e.offset) for e in events] == list(np.cumsum([0, *steps[:-1]]))
    for text, event in zip(token_list, events, strict=True):
        token = grammar.Token.parse(text)
        assert (event.pitch is None) == (token.kind == "R")
        if event.pitch is None:
            continue
        assert register[0] <= event.pitch <= register[1]
        span = (
            register
            if previous is None or token.steps is None
            else (
                previous + token.steps[0],
                previous + token.steps[1],
            )
        )
        scale = v2.scale_at(chord_list, event.offset)
        in_range = range(max(span[0], register[0]), min(span[1], register[1]) + 1)
        if any(scale.kind(p) == token.kind for p in in_range):
            assert scale.kind(event.pitch) == token.kind
        previous = event.pitch


@pytest.mark.parametrize("name", grammar.GRAMMARS)
@given(st.data(), st.lists(chords(), min_size=1, max_size=4), st.integers(0, 99))
def test_generated_measures_last_four_beats(name, data, measure_chords, seed):
    token_list = data.draw(st.lists(TOKENS[name.removesuffix("_relative")], max_size=60))
    rng, rules = np.random.default_rng(seed), grammar.rules(name)
    measures = solo.cut_into_measures(token_list, len(measure_chords), rng, rules)
    played = solo.decode(measures, measure_chords, rng, rules=rules)
    assert played.length == 4.0 * len(measure_chords)
    for index in range(len(measure_chords)):
        inside = [e for e in played.notes if index * 4.0 <= e.offset < (index + 1) * 4.0]
        assert sum(e.duration for e in inside) == pytest.approx(4.0)
    ends = [e.offset + e.duration for e in played.notes]
    assert all(
        end == pytest.approx(e.offset) for end, e in zip(ends, played.notes[1:], strict=False)
    )


@given(st.text(max_size=40))
def test_any_text_is_a_token_or_a_value_error_naming_it(text):
    try:
        token = grammar.Token.parse(text)
    except ValueError as e:
        assert repr(text) in str(e)
    else:
        assert token.kind in grammar.KINDS and token.duration >= 0


@given(st.lists(tokens(), max_size=10), st.text(max_size=20), st.integers(0, 10))
def test_a_malformed_token_in_a_measure_is_named(token_list, junk, position):
    try:
        grammar.Token.parse(junk)
    except ValueError:
        pass
    else:
        return  # the junk happens to be a valid token
    token_list.insert(min(position, len(token_list)), junk)
    with pytest.raises(ValueError, match="malformed grammar token") as info:
        grammar.decode(
            token_list, [grammar.Chord(0.0, ("C4", "E4", "G4"))], np.random.default_rng(0)
        )
    assert repr(junk) in str(info.value)


@given(st.lists(chord_symbols(), min_size=1, max_size=8))
def test_valid_chord_symbols_give_one_chord_per_measure(symbols):
    measures = parse_chords(" ".join(symbols))
    assert len(measures) == len(symbols)
    assert all(len(m) == 1 and m[0].pitches for m in measures)


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30))
def test_any_chord_text_parses_or_is_a_clear_error(text):
    try:
        measures = parse_chords(text)
    except JazzFlaxError as e:
        message = str(e)
        words = re.split(r"[\s|]+", text)  # symbols with their weights
        named = any(repr(w) in message or repr(w.partition(":")[0]) in message for w in words)
        assert named or re.match(r"no chords given|bar \d+ |the chords are all N\.C\.", message)
    else:
        assert len(measures) == len(bars(text))


def bars(text: str) -> list[str]:
    """The bars of chord text: split at "|" (or one per symbol in the older form)."""
    if "|" in text or ":" in text:
        return text.strip().strip("|").split("|")
    return text.split()


@given(
    st.lists(
        st.lists(st.one_of(chord_symbols(), st.just("N.C.")), min_size=1, max_size=3),
        min_size=1,
        max_size=6,
    )
)
def test_bars_of_valid_symbols_give_a_measure_each(symbols):
    text = " | ".join(" ".join(bar) for bar in symbols) + " |"  # a bar line: not the older form
    if all(s == "N.C." for bar in symbols for s in bar):
        return  # nothing to decode over: test_chords' error table
    measures = parse_chords(text)
    assert len(measures) == len(symbols)
    for measure, bar in zip(measures, symbols, strict=True):
        offsets = [c.offset for c in measure]
        assert offsets[0] == 0.0 and offsets == sorted(set(offsets))
        assert all(c.pitches for c in measure) and len(measure) <= len(bar) + 1

"""The config schema: every setting has a default, a comment, a check; old configs are completed."""

import ast
import inspect
import json
from pathlib import Path

import pytest

from experiments import baseline, baseline_v2, leadsheets, openewld, wjazzd
from jazz_flax import config
from jazz_flax.errors import JazzFlaxError

MAIN = Path(__file__).with_name("experiment_configs.json")  # the experiments' configs on main


@pytest.mark.parametrize("experiment", [baseline, baseline_v2, wjazzd, openewld, leadsheets])
def test_experiments_resolve_as_they_did_before_the_schema(experiment):
    """Every value an experiment had (6f8460c) is kept; what it lacked is the default it read."""
    before = json.loads(MAIN.read_text())[experiment.__name__.split(".")[-1]]
    now = json.loads(experiment.get_config().to_json())
    assert config.with_defaults(before) == now
    assert set(config.flat_settings(before)) <= set(config.flat_settings(now))


def test_the_baseline_is_the_defaults_on_the_fast_lstm():
    expected = config.defaults()
    expected.model.cell = "fused_lstm"  # nn.LSTMCell's parameters and loss curve, faster
    assert baseline.get_config().to_dict() == expected.to_dict()


def test_every_default_has_a_check_and_a_comment():
    defaults = dict(config._leaves(config.defaults().to_dict()))
    assert set(defaults) == set(config.CHECKS)
    config.check(config.defaults())
    source = inspect.getsource(config.defaults) + inspect.getsource(config.data_defaults)
    settings = [line.strip() for line in source.splitlines() if " = " in line]
    settings = [line for line in settings if line.startswith(("config.", "data."))]
    uncommented = [line for line in settings if "  # " not in line and "ConfigDict()" not in line]
    assert len(settings) > len(config.CHECKS) and uncommented == []


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("epochs_per_call", 0, "epochs_per_call must be ≥ 1, got 0"),
        ("data.reader", 3, "data.reader must be one of 'music21', 'wjazzd', got 3"),
        ("data.reader", "bogus", "data.reader must be one of 'music21', 'wjazzd', got 'bogus'"),
        ("data.context", "chord,meter", "unknown context part 'meter'"),
        ("data.windows", "tumbling", "data.windows must be one of 'notebook', 'sliding'"),
        ("model.cell", "lstn", "model.cell must be one of"),
        ("loss", "mse", "loss must be one of 'cross_entropy', got 'mse'"),
        ("init", "zeros", "init must be one of 'keras', 'flax'"),
        ("data.windows_per_epoch", 0, r"data.windows_per_epoch must be ≥ 1 \(None: all\), got 0"),
        ("data.split_seed", -1, "data.split_seed must be in"),
        ("data.split_by", "instrument", "data.split_by must be one of 'path', 'performer', 'tune'"),
        ("epochs_per_call", -2, "epochs_per_call must be ≥ 1, got -2"),
        ("data.valid_fraction", 0.0, r"data.valid_fraction must be in \(0, 1\), got 0.0"),
        ("resume", "yes", "resume must be a bool"),
        ("lr", 0.0, "lr must be > 0, got 0.0"),
        ("data.Tx", 1, "notebook windows need data.Tx ≥ 2"),
        ("data.end", 400.0, "data.start must be before data.end"),
    ],
)
def test_check_names_the_key_and_its_range(key, value, message):
    settings = config.defaults()
    *parents, leaf = key.split(".")
    node = settings
    for name in parents:
        node = node[name]
    with node.ignore_type():
        node[leaf] = value
    with pytest.raises(JazzFlaxError, match=message) as error:
        config.check(settings)
    assert "\n" not in str(error.value)


def test_check_refuses_unknown_and_missing_settings():
    settings = config.defaults()
    settings.data.Ty = 3
    with pytest.raises(JazzFlaxError, match="unknown config setting 'data.Ty'"):
        config.check(settings)
    settings = config.defaults()
    del settings["epochs_per_call"]
    with pytest.raises(JazzFlaxError, match="lacks the setting 'epochs_per_call'"):
        config.check(settings)


def test_with_defaults_fills_only_what_is_missing():
    saved = {"n_a": 16, "data": {"Tx": 5, "parts": {"a*": {"melody_part": "Sax"}}}}
    filled = config.with_defaults(saved)
    assert filled["n_a"] == 16 and filled["data"]["Tx"] == 5 and filled["lr"] == 0.01
    assert filled["data"]["parts"] == {"a*": {"melody_part": "Sax"}}
    assert filled["data"]["reader"] == "music21" and filled["model"]["cell"] == "lstm"


def test_no_read_site_carries_its_own_default():
    """Settings are read as `config.key`: `.get("key", default)` of a config nowhere."""
    package = Path(config.__file__).parent
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "get":
                owner = ast.unparse(node.func.value)
                assert not owner.endswith(("config", "data_config", "settings")), (
                    f"{path.name}:{node.lineno}: {ast.unparse(node)}"
                )


def test_the_context_is_chosen_in_one_place():
    settings = config.defaults()
    settings.data.context = "chord,position"
    config.check(settings)
    settings.condition_on_chords = True
    with pytest.raises(JazzFlaxError, match="condition_on_chords and data.context both"):
        config.check(settings)

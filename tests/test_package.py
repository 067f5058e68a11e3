"""The package as pip installs it."""

import configparser

import setuptools

from tests.commands import ROOT


def test_setuptools_finds_every_module():
    options = configparser.ConfigParser()
    options.read(ROOT / "setup.cfg")
    include = options["options.packages.find"]["include"].split()
    found = setuptools.find_packages(str(ROOT), include=include)
    subpackages = [f"jazz_flax.{p.parent.name}" for p in (ROOT / "jazz_flax").glob("*/__init__.py")]
    assert sorted(found) == ["jazz_flax", *sorted(subpackages)]
    assert {"jazz_flax.grammar", "jazz_flax.music"} <= set(found)

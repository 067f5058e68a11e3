"""The package as pip installs it."""

import configparser

import setuptools

from tests.commands import ROOT


def test_setuptools_finds_every_module():
    options = configparser.ConfigParser()
    options.read(ROOT / "setup.cfg")
    include = options["options.packages.find"]["include"].split()
    found = setuptools.find_packages(str(ROOT), include=include)
    assert sorted(found) == ["jazz_flax", "jazz_flax.data", "jazz_flax.grammar"]

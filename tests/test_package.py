"""The package as pip installs it."""

import configparser

import setuptools

import jazz_flax
from tests.commands import ROOT


def test_setuptools_finds_every_module():
    options = configparser.ConfigParser()
    options.read(ROOT / "setup.cfg")
    include = options["options.packages.find"]["include"].split()
    found = setuptools.find_packages(str(ROOT), include=include)
    subpackages = [f"jazz_flax.{p.parent.name}" for p in (ROOT / "jazz_flax").glob("*/__init__.py")]
    assert sorted(found) == ["jazz_flax", *sorted(subpackages)]
    assert {"jazz_flax.data", "jazz_flax.grammar", "jazz_flax.music"} <= set(found)


def citation_field(key: str) -> str:
    """A top-level scalar of CITATION.cff (a `key: value` line, quotes removed)."""
    for line in (ROOT / "CITATION.cff").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return value.strip().strip('"')
    raise AssertionError(f"CITATION.cff has no {key}")


def test_licence_and_citation_agree_with_the_package():
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence  # the whole text
    assert "Copyright 2026 The jazz_flax authors" in licence
    options = configparser.ConfigParser()
    options.read(ROOT / "setup.cfg")
    assert citation_field("license") == options["metadata"]["license"] == "Apache-2.0"
    assert citation_field("version") == jazz_flax.__version__
    assert citation_field("cff-version") == "1.2.0"

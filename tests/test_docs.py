"""The documentation holds together: the README stays short with its table of contents, and
every relative link of the README, docs/ and data/README.md reaches a file and, after a #, one
of its headings (as GitHub turns headings into anchors)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "data" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of `page`'s headings: lower case, no punctuation, - for space."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def relative_links(page: Path) -> list[str]:
    return [link for link in LINK.findall(page.read_text()) if not re.match(r"[a-z]+:", link)]


def test_the_readme_is_short_and_has_contents():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    assert "## Contents" in readme
    for anchor in re.findall(r"^- \[.+\]\(#(.+)\)$", readme, flags=re.MULTILINE):
        assert anchor in anchors(ROOT / "README.md"), anchor


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_reach_a_file_and_heading(page):
    for link in relative_links(page):
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: {link} is not a file"
        if anchor:
            assert anchor in anchors(target), f"{page.name}: {link} names no heading"


def test_the_anchor_of_a_heading_is_githubs():
    page = ROOT / "docs" / "results.md"
    assert "grammars-what-a-solo-keeps" in anchors(page)  # "## Grammars: what a solo keeps"

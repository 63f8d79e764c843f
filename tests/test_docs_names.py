"""The docs name only what exists. Every code name README.md, ARCHITECTURE.md, SECURITY.md
and docs/*.md give in backticks as a dotted path into the product
(`core.errors.version_check`; only paths that start with a package) resolves in the code;
every row of ARCHITECTURE.md's "Where each rule lives" names at least one; and every link
between the docs reaches a file and a heading that exist. So the docs cannot keep naming
what was renamed, removed or moved."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from tests.test_app_dependencies import ORDER

ROOT = Path(__file__).resolve().parent.parent
_TOPS = "|".join(ORDER)
NAME = re.compile(rf"`((?:{_TOPS})(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(\))?`")
DOCS = [
    "README.md",
    "ARCHITECTURE.md",
    "SECURITY.md",
    *sorted(str(path.relative_to(ROOT)) for path in (ROOT / "docs").glob("*.md")),
]
LINK = re.compile(r"\[[^\]]+\]\(([^)\s]+)\)")


def named(text: str) -> list[str]:
    return sorted(set(NAME.findall(text)))


def resolves(dotted: str) -> bool:
    """A module, or a module's attribute (a class's too: `a.b.Class.method`)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def anchors(path: Path) -> set[str]:
    """The heading anchors a Markdown file has, as GitHub makes them."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", text, re.M)
    }


@pytest.mark.parametrize("doc", DOCS)
def test_every_dotted_name_in_the_docs_exists(doc):
    names = named((ROOT / doc).read_text(encoding="utf-8"))
    missing = [name for name in names if not resolves(name)]
    assert not missing, f"{doc} names code that does not exist: {missing}"


def test_every_rule_in_the_table_names_its_code():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text.split("## Where each rule lives", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")][2:]
    assert len(rows) >= 20, "the rules table is missing or was cut"
    unnamed = [row for row in rows if not named(row)]
    assert not unnamed, f"rules without a code name: {unnamed}"


@pytest.mark.parametrize("doc", DOCS)
def test_every_link_between_the_docs_arrives(doc):
    source = ROOT / doc
    broken = []
    for target in LINK.findall(source.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # an outside address
        path, _, anchor = target.partition("#")
        destination = (source.parent / path).resolve() if path else source
        arrives = destination.exists() and not (
            anchor and destination.suffix == ".md" and anchor not in anchors(destination)
        )
        if not arrives:
            broken.append(target)
    assert not broken, f"{doc} links to what does not exist: {broken}"

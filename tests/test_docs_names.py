"""Every code name ARCHITECTURE.md and SECURITY.md give in backticks as a dotted path
into the product (`core.errors.version_check`, `Token.objects.followed_by` aside: only
paths that start with a package) exists in the code, so the docs cannot keep naming
what was renamed or removed."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "accounts", "reports", "devices", "licensing", "provisioning", "ztp", "config")
_TOPS = "|".join(PACKAGES)
NAME = re.compile(rf"`((?:{_TOPS})(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(\))?`")


def named(doc: str) -> list[str]:
    return sorted(set(NAME.findall((ROOT / doc).read_text(encoding="utf-8"))))


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


@pytest.mark.parametrize("doc", ["ARCHITECTURE.md", "SECURITY.md", "README.md"])
def test_every_dotted_name_in_the_docs_exists(doc):
    names = named(doc)
    assert names, f"{doc} names no code: is the pattern right?"
    missing = [name for name in names if not resolves(name)]
    assert not missing, f"{doc} names code that does not exist: {missing}"

"""The product's packages import one way (ARCHITECTURE.md, "App order"): each may import
only the packages before it in ORDER, so the graph of imports has no cycle. `core`, the
shared kernel, imports no other package; `accounts`, the base app, imports only `core`;
`config` (settings, URLs, Celery, serving) sits on top and may import every one. There is
no list of exceptions.

Every `import x` and `from x import y` counts, at module level or inside a function,
relative ones too; migrations are left out (Django writes them).

How a failure reads, from the synthetic tree of the second test (a cycle and a base app
importing a domain app):

    accounts/services.py:1 imports provisioning (accounts may import only core)
    devices/services.py:1 imports provisioning (devices may import only core, accounts,
    reports)
    cycle: accounts -> provisioning -> devices -> accounts
    cycle: devices -> provisioning -> devices
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Ground floor first. Each may import the ones before it.
ORDER = [
    "core",
    "accounts",
    "reports",
    "devices",
    "licensing",
    "provisioning",
    "phones",
    "ztp",
    "gateway",
    "config",
]


@dataclass(frozen=True)
class Arrow:
    source: str  # the importing app
    target: str  # the imported app
    where: str  # file:line


def node_of(module: str) -> str | None:
    """The package a dotted module belongs to, or None outside the product."""
    top = module.split(".")[0]
    return top if top in ORDER else None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool):
    """(dotted name, line) of every import in a module, relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from core import ratelimit` imports core.ratelimit, not just core.
            for alias in node.names:
                yield (f"{base}.{alias.name}", node.lineno)
            yield base, node.lineno


def arrows(root: Path) -> list[Arrow]:
    """Every import from one node of the app graph to another under `root`."""
    found: dict[tuple[str, str, str], Arrow] = {}
    for top in ORDER:
        for path in sorted((root / top).rglob("*.py")) if (root / top).is_dir() else []:
            if "migrations" in path.parts:
                continue
            module = module_name(path, root)
            source = node_of(module)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            names = imported_modules(tree, module, path.name == "__init__.py")
            for name, line in names:
                target = node_of(name)
                if target is None or target == source:
                    continue
                key = (source, target, f"{path.relative_to(root)}:{line}")
                found[key] = Arrow(source, target, key[2])
    return list(found.values())


def allowed(source: str) -> list[str]:
    return ORDER[: ORDER.index(source)]


def violations(found: list[Arrow]) -> list[str]:
    def rule(source: str) -> str:
        below = allowed(source)
        return f"may import only {', '.join(below)}" if below else "may import no other package"

    return sorted(
        f"{a.where} imports {a.target} ({a.source} {rule(a.source)})"
        for a in found
        if a.target not in allowed(a.source)
    )


def cycles(found: list[Arrow]) -> list[str]:
    """One line per cycle in the graph of app imports (each found once)."""
    graph: dict[str, set[str]] = {}
    for arrow in found:
        graph.setdefault(arrow.source, set()).add(arrow.target)
    seen: set[frozenset[str]] = set()
    lines = []

    def walk(path: list[str]) -> None:
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == path[0]:
                if frozenset(path) not in seen:
                    seen.add(frozenset(path))
                    lines.append("cycle: " + " -> ".join([*path, nxt]))
            elif nxt not in path and nxt > path[0]:
                walk([*path, nxt])

    for start in sorted(graph):
        walk([start])
    return lines


def test_apps_import_one_way():
    found = arrows(ROOT)
    assert found, "no imports between apps found: is ROOT right?"
    problems = violations(found) + cycles(found)
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_cycle_and_a_base_app_importing_a_domain_app(tmp_path):
    """The failure the module docstring shows, on a synthetic tree."""
    files = {
        "accounts/services.py": "from provisioning.services import defaults\n",
        "provisioning/services.py": "def f():\n    from devices import services\n",
        "devices/services.py": "from ..provisioning import models\n",
        "devices/models.py": "from accounts.models import Customer\nfrom core.http import x\n",
        "core/http.py": "from config.settings import y\n",
        "config/urls.py": "from provisioning import views\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = arrows(tmp_path)
    assert violations(found) == [
        "accounts/services.py:1 imports provisioning (accounts may import only core)",
        "core/http.py:1 imports config (core may import no other package)",
        "devices/services.py:1 imports provisioning (devices may import only core, accounts, "
        "reports)",
    ]
    assert cycles(found) == [
        "cycle: accounts -> provisioning -> devices -> accounts",
        "cycle: config -> provisioning -> devices -> core -> config",
        "cycle: devices -> provisioning -> devices",
    ]


def test_a_function_level_import_counts(tmp_path):
    (tmp_path / "licensing").mkdir()
    (tmp_path / "licensing" / "tasks.py").write_text(
        "def run():\n    import provisioning.services\n"
    )
    assert violations(arrows(tmp_path)) == [
        "licensing/tasks.py:2 imports provisioning (licensing may import only core, accounts, "
        "reports, devices)"
    ]

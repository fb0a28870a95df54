"""The layout's rules (README "Layout"), read from the source: the domain speaks no HTTP, the adapters know no
domain, the plumbing knows neither, and no module grows past one job's size."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 500


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (a function-level import counts as much as a top-level one)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def top(name: str) -> str:
    return name.split(".")[0]


def sources(*relative: str) -> list[Path]:
    found = []
    for item in relative:
        path = ROOT / item
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


RULES = [
    # (files, top-level packages they must not import, why)
    (("alerts",), {"flask", "flask_smorest", "flask_wtf", "flask_babel", "werkzeug", "web", "worker", "devtools"},
     "the domain takes its inputs as arguments: no HTTP, no process wiring, no stand-ins"),
    (("channels",), {"alerts", "web", "flask", "worker", "devtools"}, "an adapter only measures and transmits"),
    (("settings.py", "db.py"), {"alerts", "web", "channels", "flask", "worker"}, "plumbing under everything"),
    (("web", "alerts", "channels", "worker.py", "app.py", "cli.py", "network_cli.py", "bench", "deploy", "devtools"),
     {"tests"},
     "code, benchmarks and stand-ins never import test modules"),
]


@pytest.mark.parametrize("files,forbidden,why", RULES, ids=[",".join(r[0]) for r in RULES])
def test_imports_follow_the_layout(files, forbidden, why):
    offences = {str(path.relative_to(ROOT)): sorted(name for name in imported_modules(path) if top(name) in forbidden)
                for path in sources(*files)}
    offences = {path: names for path, names in offences.items() if names}
    assert not offences, f"{why}: {offences}"


def test_the_rules_see_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from flask import g\n    import web.auth\n")
    assert {top(name) for name in imported_modules(sample)} == {"flask", "web"}


def test_no_module_is_over_the_size_of_one_job():
    big = {}
    for path in sources("app.py", "cli.py", "network_cli.py", "settings.py", "db.py", "worker.py", "alerts", "channels",
                        "web", "devtools", "bench", "deploy"):
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            big[str(path.relative_to(ROOT))] = lines
    assert not big, f"modules over {MAX_LINES} lines (split them by job): {big}"

"""One place each for the questions many modules ask: who the system administrators are, and
whose HR a person is; and the API package imports no domain (each domain registers itself)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "internal_affairs"

def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), path.read_text(encoding="utf-8")


def test_only_org_queries_reads_the_administrators_setting():
    readers = {name for name, text in _sources() if '"SYSTEM_ADMINS"' in text}
    assert readers == {"config.py", "org/queries.py"}


def test_only_org_queries_asks_who_holds_a_functional_role():
    """Who is HR, a doc clerk, a seal keeper or an auditor for which agency is asked in one module
    (org/queries.py: role_agency_ids, get_role_holders and the named helpers over them)."""
    pattern = re.compile(r"""role_code\s*==""")
    assert {name for name, text in _sources() if pattern.search(text)} == {"org/queries.py"}


def test_the_api_package_imports_no_domain():
    for path in (PACKAGE / "api").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                top = (node.module or "").split(".")[0] if node.level == 2 else ""
                assert top in {"", "errors", "extensions", "inputs"}, (path.name, node.module)


def test_only_matters_queries_calls_the_resolver_and_maps_its_errors():
    """The route is resolved, and the resolver's errors become the platform's, in one function
    (matters/queries.py resolve_plan) that the route preview and the case services both use."""
    callers = {name for name, text in _sources() if re.search(r"\bresolve_route\(", text)}
    assert callers == {"matters/queries.py", "routing/resolver.py"}
    mappers = {name for name, text in _sources()
               if "except ConditionEvaluationError" in text and not name.startswith("routing/")}
    assert mappers == {"matters/queries.py"}
    assert "resolve_plan(" in (PACKAGE / "cases" / "actions.py").read_text(encoding="utf-8")


def test_the_libraries_import_no_flask_and_no_app():
    """``signing`` and ``org_sync`` are libraries of plain data (DESIGN.md §2): the app imports
    them, never the reverse, and neither needs Flask."""
    root = PACKAGE.parent
    for library in ("signing", "org_sync"):
        files = sorted((root / library).rglob("*.py"))
        assert files, library
        for path in files:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                for name in names:
                    top = name.split(".")[0]
                    assert top != "internal_affairs" and not top.startswith("flask"), (path.name, name)

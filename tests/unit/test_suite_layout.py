"""The suite's own layout: tests share helpers through ``tests/support/`` and fixtures, never by
importing a test module or ``conftest.py`` (pytest imports those itself, under names that depend
on the import mode and the rootdir; importing one again runs it twice, or under a second name)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


def _is_test_module(path: Path) -> bool:
    return path.name == "conftest.py" or path.name.startswith("test_") or path.stem.endswith("_test")


def _test_module_names() -> set[str]:
    """Every name a test module could be imported by: dotted from the root (``tests.unit.test_x``,
    ``tests.conftest``), and bare (``test_x``: its folder is on ``sys.path`` under pytest)."""
    names = set()
    for path in TESTS.rglob("*.py"):
        if _is_test_module(path):
            names.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
            names.add(path.stem)
    return names


def _imported(tree: ast.AST, path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``tree`` (``from a import b`` gives ``a`` and ``a.b``;
    a relative import is resolved against ``path``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                package = path.relative_to(ROOT).parent.parts
                package = package[:len(package) - (node.level - 1)]
                module = ".".join((*package, module) if module else package)
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def imports_of_test_modules(source: str, path: Path, test_modules: set[str]) -> list[str]:
    """The lines of ``source`` (the file at ``path``) that import a test module or a conftest."""
    return [f"{path.relative_to(ROOT)}:{line}: imports {module}"
            for line, module in _imported(ast.parse(source, str(path)), path) if module in test_modules]


def test_no_test_module_imports_another_or_a_conftest():
    test_modules = _test_module_names()
    problems = []
    for path in sorted(TESTS.rglob("*.py")):
        problems += imports_of_test_modules(path.read_text(encoding="utf-8"), path, test_modules)
    assert not problems, ("shared helpers belong in tests/support/ (or a fixture), not in a test module or "
                          "conftest.py:\n" + "\n".join(problems))


def test_the_check_sees_every_way_of_importing_a_test_module():
    test_modules = _test_module_names()
    here = TESTS / "web" / "test_example.py"
    for line in ("from tests.conftest import api_token", "import tests.conftest",
                 "from tests.integration.test_cases_flow import LEAVE", "from tests.integration import test_cases_flow",
                 "from test_attachment_sniff import pdf", "import test_attachment_sniff as sniff",
                 "from ..unit.test_attachment_sniff import pdf", "from .. import conftest",
                 "def f():\n    from tests.conftest import login"):
        assert imports_of_test_modules(line, here, test_modules), line
    for line in ("from tests.support.app import api_token", "from tests.support import cases",
                 "import internal_affairs.cases", "from ..support.files import pdf"):
        assert not imports_of_test_modules(line, here, test_modules), line

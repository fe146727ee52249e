"""Build step that makes the wheel carry everything the app needs at run time.

The metadata lives in pyproject.toml. The layout of record (DESIGN.md §2) keeps ``templates/``,
``static/`` and ``migrations/`` at the repository root, beside the package, and the compiled
message catalogs (``.mo``) are not in git. A built package copies those three folders into
``internal_affairs/`` and compiles the ``.po`` catalogs into ``.mo`` files there;
``internal_affairs.create_app`` looks for them inside the package first and beside it second, so
a source checkout (and an editable install, which points at it) keeps using the root folders.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PACKAGE = "internal_affairs"
ROOT_FOLDERS = ("templates", "static", "migrations")
SKIP = shutil.ignore_patterns("__pycache__", "*.py[co]", ".*")


class build_py_with_app_data(build_py):
    """``build_py``, then the root folders and the compiled catalogs into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout, where the root folders are
        target = Path(self.build_lib) / PACKAGE
        for name in ROOT_FOLDERS:
            shutil.copytree(HERE / name, target / name, ignore=SKIP, dirs_exist_ok=True)
        self._compile_catalogs(target / "translations")

    def _compile_catalogs(self, target: Path) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        source = HERE / PACKAGE / "translations"
        for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
            locale = po.parent.parent.name
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
            mo = target / po.relative_to(source).with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with mo.open("wb") as fh:
                write_mo(fh, catalog)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if getattr(self, "editable_mode", False):
            return outputs
        target = Path(self.build_lib) / PACKAGE
        for name in ROOT_FOLDERS:
            outputs += [str(target / p.relative_to(HERE)) for p in (HERE / name).rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
                        and not p.name.startswith(".")]
        source = HERE / PACKAGE / "translations"
        outputs += [str(target / "translations" / po.relative_to(source).with_suffix(".mo"))
                    for po in source.glob("*/LC_MESSAGES/*.po")]
        return sorted(set(outputs))


setup(cmdclass={"build_py": build_py_with_app_data})

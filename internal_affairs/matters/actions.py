"""Loading the catalog into the database."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select

from ..atomic import atomic
from ..audit.actions import record_event
from ..extensions import db
from ..org.models import Person
from .models import MatterType, MatterVersion
from .schema import CatalogError, parse_matter

__all__ = ["CATALOG_DIR", "LoadReport", "read_catalog", "do_load_catalog"]

CATALOG_DIR = Path(__file__).parent / "catalog"


@dataclass(frozen=True)
class LoadReport:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]


def read_catalog(directory: Path = CATALOG_DIR) -> list[tuple[Path, dict]]:
    """Every matter file, parsed and validated. Raises :class:`CatalogError` for the first
    broken file (naming it, the path inside it and what is wrong)."""
    out = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            from ..routing.errors import Problem

            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else "?"
            raise CatalogError(path.name, [Problem(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from exc
        parse_matter(data, source=path.name)
        out.append((path, data))
    return out


def _digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


@atomic
def do_load_catalog(*, acting_user: Person | None, now: datetime, directory: Path = CATALOG_DIR) -> LoadReport:
    """Version every catalog file into the database; an unchanged file makes no new version.
    Raises :class:`CatalogError` (nothing is loaded when any file is broken)."""
    files = read_catalog(directory)
    created, updated, unchanged = [], [], []
    for path, data in files:
        definition = json.loads(json.dumps(data, default=str))
        digest = _digest(definition)
        matter = db.session.execute(select(MatterType).where(MatterType.code == data["code"])).scalar_one_or_none()
        if matter is None:
            matter = MatterType(code=data["code"], name=data["name"], category=data["category"], active=True)
            db.session.add(matter)
            db.session.flush()
            number = 1
            created.append(matter.code)
        else:
            current = matter.current_version
            if current is not None and current.digest == digest:
                unchanged.append(matter.code)
                continue
            number = (current.version if current else 0) + 1
            updated.append(matter.code)
        version = MatterVersion(matter_type_id=matter.id, version=number, digest=digest, definition=definition,
                                source=path.name, loaded_at=now)
        db.session.add(version)
        db.session.flush()
        matter.current_version_id = version.id
        matter.name, matter.category = data["name"], data["category"]
        record_event("matters.version.loaded", actor=acting_user, object_type="matter_type", object_id=matter.code,
                     data={"version": number, "digest": digest, "source": path.name}, now=now)
    db.session.commit()
    return LoadReport(tuple(created), tuple(updated), tuple(unchanged))


"""Migration 0014 moves a step's hidden progress keys out of its planned spec into
``case_step.progress``, and its downgrade puts them back — on a scratch database of its own."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SPEC = {"name": "并联", "kind": "approve", "mode": "all", "branches": [{"name": "甲"}, {"name": "乙"}]}


def _scratch(tmp_path) -> tuple[str, callable]:
    url = os.environ.get("IA_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / 'progress.db'}", lambda: None
    url = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    scratch = url.set(database=f"{url.database}_progress")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{scratch.database}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()

    return scratch.render_as_string(hide_password=False), drop


CASE = ("INSERT INTO \"case\" (id, agency_id, matter_type_id, matter_version_id, applicant_id, status, title, form, "
        "plan, created_at, updated_at, version, return_count) "
        "VALUES (1, 1, 1, 1, 1, 'in_progress', 't', '{}', '{}', '2026-12-07 09:00:00', '2026-12-07 09:00:00', 1, 0)")


def _insert_steps(url: str) -> None:
    """Two steps of a case whose own references lead nowhere (not what this test is about)."""
    done = SPEC | {"_done_branches": ["甲"], "_resume": {"branch": "乙", "position": 1}}
    rows = [(1, json.dumps(done)), (2, json.dumps(SPEC))]
    insert = ("INSERT INTO case_step (id, case_id, \"index\", name, kind, mode, status, spec) "
              "VALUES ({0}, 1, {0}, 's', 'approve', 'all', 'active', {1})")
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute(CASE)
            conn.executemany(insert.format(":id", ":spec"), [{"id": i, "spec": spec} for i, spec in rows])
            conn.commit()
        return
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(CASE))
        for step_id, spec in rows:
            conn.execute(text(insert.format(":id", ":spec")), {"id": step_id, "spec": spec})
    engine.dispose()


def _rows(conn, columns: str) -> dict[int, tuple]:
    def load(value):
        return json.loads(value) if isinstance(value, str) else value

    return {row[0]: tuple(load(v) for v in row[1:])
            for row in conn.execute(text(f"SELECT id, {columns} FROM case_step ORDER BY id"))}


def test_step_progress_moves_out_of_the_spec_and_back(tmp_path):
    from flask_migrate import downgrade, upgrade

    from internal_affairs import create_app
    from internal_affairs.extensions import db

    url, drop = _scratch(tmp_path)
    try:
        app = create_app({"ENVIRON": {"IA_DATABASE_URL": url, "IA_SECRET_KEY": "test-secret"},
                          "INSTANCE_PATH": str(tmp_path / "instance")})
        with app.app_context():
            upgrade(revision="0013")
            _insert_steps(url)
            upgrade(revision="0014")
            with db.engine.connect() as conn:
                rows = _rows(conn, "spec, progress")
            assert rows[1] == (SPEC, {"done_branches": ["甲"], "resume": {"branch": "乙", "position": 1}})
            assert rows[2] == (SPEC, None)
            downgrade(revision="0013")
            with db.engine.connect() as conn:
                rows = _rows(conn, "spec")
            assert rows[1] == (SPEC | {"_done_branches": ["甲"], "_resume": {"branch": "乙", "position": 1}},)
            assert rows[2] == (SPEC,)
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()

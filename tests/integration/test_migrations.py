"""The migrations build the schema the models describe (a model change without its migration, or
the reverse, fails here), and every migration goes down as well as up: from head to base and back
on an empty database of its own (a SQLite file, or a second PostgreSQL database beside the test
one)."""

from __future__ import annotations

from contextlib import contextmanager

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from internal_affairs.extensions import db
from tests.support.app import PG_URL, base_environ, pg_url


@contextmanager
def _empty_database(tmp_path):
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    url = make_url(pg_url(PG_URL))
    scratch = url.set(database=f"{url.database}_migrations")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{scratch.database}"'))
    try:
        yield scratch.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()


def test_every_migration_downgrades_and_upgrades_again(tmp_path):
    from flask_migrate import downgrade, upgrade

    from internal_affairs import create_app

    with _empty_database(tmp_path) as url:
        app = create_app({"ENVIRON": base_environ(url), "INSTANCE_PATH": str(tmp_path / "instance")})
        with app.app_context():
            upgrade()
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}, "base leaves no tables"
            if db.engine.dialect.name == "postgresql":
                functions = db.session.execute(text(r"SELECT proname FROM pg_proc WHERE proname LIKE 'ia\_%'"))
                assert functions.scalars().all() == [], "base leaves no functions"
                db.session.rollback()
            upgrade()
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                differences = [d for d in compare_metadata(context, db.metadata)
                               if not (isinstance(d, tuple) and d[0] == "remove_table"
                                       and d[1].name == "alembic_version")]
            assert differences == []
            db.session.remove()
            db.engine.dispose()

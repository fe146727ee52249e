"""The schema the migrations build is the schema the models describe: a model change without its
migration (or the reverse) fails here, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from internal_affairs.extensions import db


def test_migrations_and_models_describe_the_same_schema(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        differences = [d for d in compare_metadata(context, db.metadata)
                       if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")]
    assert differences == []

"""Shared fixtures: an app on a migrated database (SQLite, or PostgreSQL with
``IA_TEST_DATABASE_URL``), a client, the demo district and the catalog. The helpers tests call
themselves (log in, API tokens, loading the demo) are in :mod:`tests.support.app`."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.app import PG_URL, base_environ, load_catalog, load_demo, migrate, pg_url, truncate_all


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an asyncio loop running in the main thread
    from the first browser test to the end of the session, and pyHanko (sealing, verifying) calls
    ``asyncio.run``, which refuses to run inside a running loop."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture(scope="session")
def db_template(tmp_path_factory):
    """A migrated database: a SQLite file to copy, or the PostgreSQL test database itself
    (created for the session and dropped after it)."""
    from internal_affairs import create_app

    if PG_URL:
        url = make_url(pg_url(PG_URL))
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
        app = create_app({"ENVIRON": base_environ(PG_URL), "INSTANCE_PATH": str(tmp_path_factory.mktemp("inst"))})
        migrate(app)
        with app.app_context():
            from internal_affairs.extensions import db

            db.engine.dispose()
        yield PG_URL
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # the test database is this run's own: leave nothing behind
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        admin.dispose()
        return
    path = tmp_path_factory.mktemp("dbtemplate") / "template.db"
    app = create_app({"ENVIRON": base_environ(f"sqlite:///{path}"),
                      "INSTANCE_PATH": str(tmp_path_factory.mktemp("inst"))})
    migrate(app)
    with app.app_context():
        from internal_affairs.extensions import db

        db.engine.dispose()  # the last connection closed checkpoints the WAL into the file we copy
    yield path


@pytest.fixture
def make_app(db_template, tmp_path):
    """Build an app on a fresh copy of the migrated database; extra IA_ settings may be given."""
    from internal_affairs import create_app

    created = []

    def factory(**environ: str):
        if PG_URL:
            url = PG_URL
        else:
            db_file = tmp_path / f"test{len(created)}.db"
            shutil.copy(db_template, db_file)
            url = f"sqlite:///{db_file}"
        env = base_environ(url) | environ
        app = create_app({"ENVIRON": env, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True,
                          "WTF_CSRF_ENABLED": True})
        if PG_URL:
            truncate_all(app)
        created.append(app)
        return app

    yield factory
    from internal_affairs.extensions import db

    for app in created:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo_app(app):
    """The demo district (every person's password ``demo1234``)."""
    load_demo(app)
    return app


@pytest.fixture
def catalog_app(demo_app):
    """The demo district with the shipped matter catalog."""
    load_catalog(demo_app)
    return demo_app


@pytest.fixture
def docs_app(catalog_app):
    """The demo district with the catalog and the demo seals (documents are sealed at sign-off)."""
    from tests.support.sealing import init_demo_seals

    init_demo_seals(catalog_app)
    return catalog_app


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()

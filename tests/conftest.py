"""Shared fixtures: an app on a migrated database (SQLite, or PostgreSQL with
``IA_TEST_DATABASE_URL``), a client, and helpers to log in and load a directory."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEMO_LDIF = ROOT / "demo" / "district.ldif"
BASE_DN = "dc=jiahe,dc=gov,dc=cn"

PG_URL = os.environ.get("IA_TEST_DATABASE_URL")


def _pg_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def _base_environ(db_url: str) -> dict[str, str]:
    return {"IA_DATABASE_URL": db_url, "IA_SECRET_KEY": "test-secret", "IA_LOCAL_LOGIN": "on",
            "IA_ADMINS": "shenliheng"}


@pytest.fixture(scope="session")
def db_template(tmp_path_factory):
    """A migrated database: a SQLite file to copy, or the PostgreSQL test database itself
    (created for the session and dropped after it)."""
    from internal_affairs import create_app

    if PG_URL:
        url = make_url(_pg_url(PG_URL))
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
        app = create_app({"ENVIRON": _base_environ(PG_URL), "INSTANCE_PATH": str(tmp_path_factory.mktemp("inst"))})
        _migrate(app)
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
    app = create_app({"ENVIRON": _base_environ(f"sqlite:///{path}"),
                      "INSTANCE_PATH": str(tmp_path_factory.mktemp("inst"))})
    _migrate(app)
    with app.app_context():
        from internal_affairs.extensions import db

        db.engine.dispose()  # the last connection closed checkpoints the WAL into the file we copy
    yield path


def _truncate_all(app) -> None:
    from internal_affairs.extensions import db

    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        db.session.commit()


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
        env = _base_environ(url) | environ
        app = create_app({"ENVIRON": env, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True,
                          "WTF_CSRF_ENABLED": True})
        if PG_URL:
            _truncate_all(app)
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


def load_demo(app, path: Path = DEMO_LDIF):
    """Sync the demo directory from its LDIF and give everyone the demo password."""
    from internal_affairs.clock import utcnow
    from internal_affairs.extensions import db
    from internal_affairs.org.actions import do_sync
    from internal_affairs.org.models import Person
    from sqlalchemy import select

    with app.app_context():
        run = do_sync(acting_user=None, config=app.config, now=utcnow(), source=path, base_dn=BASE_DN)
        for person in db.session.execute(select(Person)).scalars():
            person.local_password_hash = _DEMO_HASH
        db.session.commit()
        return run.id


def _demo_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash("demo1234", method="pbkdf2:sha256:1000")


_DEMO_HASH = _demo_hash()


@pytest.fixture
def demo_app(app):
    load_demo(app)
    return app


def load_catalog(app) -> None:
    """Load the shipped matter catalog, as ``flask matters load`` does."""
    from internal_affairs.clock import utcnow
    from internal_affairs.matters.actions import do_load_catalog

    with app.app_context():
        do_load_catalog(acting_user=None, now=utcnow())


def load_catalog_with(app, directory, *extra: dict) -> None:
    """Load the shipped matter catalog together with ``extra`` matter definitions, as
    ``flask matters load`` would from ``directory`` holding them all."""
    from pathlib import Path

    import yaml

    from internal_affairs.clock import utcnow
    from internal_affairs.matters.actions import CATALOG_DIR, do_load_catalog

    directory.mkdir()
    for path in Path(CATALOG_DIR).glob("*.yaml"):
        (directory / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    for definition in extra:
        (directory / f"{definition['code']}.yaml").write_text(yaml.safe_dump(definition, allow_unicode=True),
                                                            encoding="utf-8")
    with app.app_context():
        do_load_catalog(acting_user=None, now=utcnow(), directory=directory)


@pytest.fixture
def catalog_app(demo_app):
    """The demo district with the shipped matter catalog."""
    load_catalog(demo_app)
    return demo_app


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()


def csrf_token(client, path: str = "/login") -> str:
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, uid: str, password: str = "demo1234"):
    """Log in through the login form (with its CSRF token)."""
    token = csrf_token(client)
    return client.post("/login", data={"username": uid, "password": password, "csrf_token": token})


def api_token(client, uid: str, password: str = "demo1234") -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": uid, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}

"""The test app's surroundings: where the repository and the demo directory are, the database the
suite runs on (SQLite, or PostgreSQL with ``IA_TEST_DATABASE_URL``), and the steps most tests
share: load the demo district and the matter catalog, log in through the form, get an API token."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

__all__ = ["ROOT", "DEMO_LDIF", "BASE_DN", "PG_URL", "pg_url", "base_environ", "migrate", "truncate_all",
           "demo_hash", "load_demo", "load_catalog", "load_catalog_with", "csrf_token", "login", "logged_in", "api_token"]

ROOT = Path(__file__).resolve().parents[2]
DEMO_LDIF = ROOT / "demo" / "district.ldif"
BASE_DN = "dc=jiahe,dc=gov,dc=cn"

PG_URL = os.environ.get("IA_TEST_DATABASE_URL")
"""The PostgreSQL database the suite runs on (created and dropped by the suite), or None for SQLite."""


def pg_url(url: str) -> str:
    """``url`` with SQLAlchemy's psycopg 3 driver named (``postgresql://`` means psycopg2 to it)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def base_environ(db_url: str) -> dict[str, str]:
    """The ``IA_`` settings every test app starts from."""
    return {"IA_DATABASE_URL": db_url, "IA_SECRET_KEY": "test-secret", "IA_LOCAL_LOGIN": "on",
            "IA_ADMINS": "shenliheng"}


_pg_url = pg_url  # the names these had in tests/conftest.py
_base_environ = base_environ


def migrate(app) -> None:
    """``flask db upgrade`` on the app's database."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def truncate_all(app) -> None:
    """Empty every table of the app's PostgreSQL database and restart its sequences."""
    from sqlalchemy import text

    from internal_affairs.extensions import db

    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        # the audit tables refuse TRUNCATE (migration 0018): the superuser switches triggers off
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        db.session.commit()


@functools.cache
def demo_hash() -> str:
    """The local password hash of ``demo1234`` (a cheap one: tests log in often)."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash("demo1234", method="pbkdf2:sha256:1000")


def load_demo(app, path: Path = DEMO_LDIF):
    """Sync the demo directory from its LDIF and give everyone the demo password; returns the
    sync run's id."""
    from sqlalchemy import select

    from internal_affairs.clock import utcnow
    from internal_affairs.extensions import db
    from internal_affairs.org.actions import do_sync
    from internal_affairs.org.models import Person

    with app.app_context():
        run = do_sync(acting_user=None, config=app.config, now=utcnow(), source=path, base_dn=BASE_DN)
        for person in db.session.execute(select(Person)).scalars():
            person.local_password_hash = demo_hash()
        db.session.commit()
        return run.id


def load_catalog(app) -> None:
    """Load the shipped matter catalog, as ``flask matters load`` does."""
    from internal_affairs.clock import utcnow
    from internal_affairs.matters.actions import do_load_catalog

    with app.app_context():
        do_load_catalog(acting_user=None, now=utcnow())


def load_catalog_with(app, directory: Path, *extra: dict) -> None:
    """Load the shipped matter catalog together with ``extra`` matter definitions, as
    ``flask matters load`` would from ``directory`` holding them all."""
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


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of the page at ``path`` (its form field or its meta tag)."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, uid: str, password: str = "demo1234"):
    """Log in through the login form (with its CSRF token)."""
    token = csrf_token(client)
    return client.post("/login", data={"username": uid, "password": password, "csrf_token": token})


def logged_in(app, uid: str, page: str = "/inbox"):
    """A test client logged in as ``uid`` through the form, carrying the CSRF token of ``page`` as
    ``client.token`` for its own form posts."""
    client = app.test_client()
    assert login(client, uid).status_code in (302, 303)
    client.token = csrf_token(client, page)
    return client


def api_token(client, uid: str, password: str = "demo1234") -> dict[str, str]:
    """The bearer header of a new API token for ``uid``."""
    response = client.post("/api/v1/auth/token", json={"username": uid, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}

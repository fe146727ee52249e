"""``bench/cases.py``, part 1: the database and the org chart, built the supported way
(``flask db upgrade``, ``flask org load-ldif`` of a generated district, ``flask matters load``),
and the helpers every part shares (settings, ``log``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BASE_DN = "dc=jiahe,dc=gov,dc=cn"
DB_DEFAULT = "postgresql://postgres@127.0.0.1:5432/ia_bench_cases"
BIN = ROOT / ".venv" / "bin"
PASSWORD = "demo1234"
RACE_AGENCY = "区教育局"
TZ = ZoneInfo("Asia/Shanghai")
T0 = time.perf_counter()


def log(message: str) -> None:
    """Progress on stderr (stdout carries the one JSON object)."""
    sys.stderr.write(f"[{time.perf_counter() - T0:7.1f}s] {message}\n")
    sys.stderr.flush()


def app_environ(url: str) -> dict[str, str]:
    return {"IA_DATABASE_URL": url, "IA_SECRET_KEY": "bench-cases-secret", "IA_LOCAL_LOGIN": "on"}


def process_environ(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IA_")}
    env.update(app_environ(url))
    env["PYTHONPATH"] = str(ROOT)
    return env


def conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def recreate_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing a non-loopback database host: {parsed.host}")
    admin = conninfo(str(parsed.set(database="postgres").render_as_string(hide_password=False)))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def flask_cli(url: str, *args: str) -> str:
    result = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=process_environ(url),
                            capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def write_directory(path: Path, people: int, hr_holders: int, race_holders: int, seed: int) -> dict[str, list[str]]:
    """A generated district as LDIF, with every agency's ``hr`` role widened to ``hr_holders``
    people of the same department (``race_holders`` in 区教育局). Returns agency -> hr uids."""
    from tests.support.directory import build_directory

    directory = build_directory(people, seed=seed, base_dn=BASE_DN)
    by_dn = {p.dn: p for p in directory.people}
    holders: dict[str, list[str]] = {}
    for dn, attrs in directory.records:
        if not dn.startswith("cn=hr,ou=roles,"):
            continue
        agency = dn.split(",")[2].split("=", 1)[1]
        members = [v for a, v in attrs if a == "member"]
        want = race_holders if agency == RACE_AGENCY else hr_holders
        first = by_dn[members[0]]
        pool = sorted((p for p in directory.people if p.agency == agency and p.kind in ("staff", "dept_deputy")
                       and p.dn not in members), key=lambda p: (p.department != first.department, p.uid))
        extra = [p.dn for p in pool[:max(0, want - len(members))]]
        at = max(i for i, (a, _v) in enumerate(attrs) if a == "member") + 1
        attrs[at:at] = [("member", m) for m in extra]
        holders[agency] = [by_dn[m].uid for m in members + extra]
    path.write_text(directory.to_ldif(include_base=True))
    return holders



def set_passwords(url: str, password: str) -> None:
    """One local password hash for everyone, in one statement through the model (``flask demo
    seed`` would hash per person)."""
    from sqlalchemy import update
    from werkzeug.security import generate_password_hash

    from internal_affairs.extensions import db
    from internal_affairs.org.models import Person

    db.session.execute(update(Person).values(local_password_hash=generate_password_hash(password)))
    db.session.commit()

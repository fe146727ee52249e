"""Benchmark: the supervision dashboard (效能监察) over the 200,000-case database of bench/cases.py.

Prints ONE JSON object: for each dashboard request (the API at several periods and scopes, and the
page with its SVG charts) the p50/p95/max latency in milliseconds, the SQL statements it runs and
the rows it reads; the time and plan of each statement of the widest request (``EXPLAIN (ANALYZE,
BUFFERS)``, with any sequential scan of a large table named); and whether every request meets the
target (p95 ≤ 500 ms).

    .venv/bin/python bench/stats.py [--db URL] [--source ia_bench_cases] [--repeat 30]

What it does (progress on stderr):

1. Works on its own copy of the cases database, ``ia_bench_stats`` (``CREATE DATABASE … TEMPLATE
   ia_bench_cases``, once; bench/cases.py's database is left as it is). When the source does not
   exist it runs ``bench/cases.py`` first (about five minutes). ``flask db upgrade`` brings the
   copy to this branch's schema (migration 0019: ``case_rating`` and the dashboard's indexes;
   0022: the decided tasks' partial index). ``--db`` names another copy (say ``ia_bench_stats2``)
   when ``ia_bench_stats`` was upgraded by another branch's chain of migrations.
2. Rates one finished case in five (scores skewed towards good, some comments), in one
   ``INSERT … SELECT``, then ``ANALYZE``.
3. In-process (Flask test client, bearer token from ``POST /api/v1/auth/token``): a district
   leader (a member of another agency's 分管领导 group) and an agency's principal leader ask
   ``GET /api/v1/stats`` for 30, 90 and 365 days, one agency, one matter; the district leader also
   loads the page ``GET /stats``. Each request is warmed up twice and then timed ``--repeat`` times.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cases_setup import PASSWORD, conninfo, flask_cli, log  # noqa: E402

TARGET_MS = 500
LARGE_TABLES = {"case", "case_step", "task", "audit_event", "case_rating", "case_material"}


def _exists(admin_conninfo: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def prepare_database(url: str, source: str) -> None:
    """The benchmark's copy of the cases database, at this branch's schema."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing a non-loopback database host: {parsed.host}")
    admin = conninfo(str(parsed.set(database="postgres").render_as_string(hide_password=False)))
    if not _exists(admin, parsed.database):
        if not _exists(admin, source):
            log(f"{source} does not exist: building it with bench/cases.py (about five minutes)")
            subprocess.run([sys.executable, str(ROOT / "bench" / "cases.py")], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        log(f"copying {source} to {parsed.database}")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{parsed.database}" TEMPLATE "{source}"')
    log("flask db upgrade")
    flask_cli(url, "db", "upgrade")


def seed_ratings(url: str) -> int:
    """One finished case in five rated by its applicant, a day after it finished."""
    import psycopg

    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM case_rating").fetchone()[0]
        if not have:
            log("rating one finished case in five")
            conn.execute("""
                INSERT INTO case_rating (case_id, agency_id, matter_type_id, rater_id, score, comment, created_at)
                SELECT id, agency_id, matter_type_id, applicant_id,
                       (ARRAY[5, 5, 5, 4, 4, 4, 3, 2, 1, 5])[1 + (id * 7919) % 10],
                       CASE WHEN id % 7 = 0 THEN '办理及时' WHEN id % 11 = 0 THEN '等待太久' END,
                       finished_at + interval '1 day'
                FROM "case" WHERE status IN ('approved', 'rejected', 'completed') AND finished_at IS NOT NULL
                  AND id % 5 = 0""")
            conn.execute("ANALYZE case_rating")
            conn.execute('ANALYZE "case"')
        return conn.execute("SELECT count(*) FROM case_rating").fetchone()[0]


def pick_people(url: str) -> dict[str, str]:
    """A district leader (in another agency's 分管领导 group) and the principal leader of the agency
    with the most cases."""
    import psycopg

    with psycopg.connect(conninfo(url)) as conn:
        district = conn.execute("""
            SELECT p.uid FROM org_group g JOIN org_group_member m ON m.group_id = g.id
            JOIN person p ON p.id = m.person_id
            WHERE g.kind = 'leader_in_charge' AND g.department_id IS NULL AND g.active AND p.active
              AND g.agency_id <> p.agency_id ORDER BY p.uid LIMIT 1""").fetchone()[0]
        agency_id, agency_name = conn.execute("""
            SELECT a.id, a.name FROM "case" c JOIN agency a ON a.id = c.agency_id
            GROUP BY a.id, a.name ORDER BY count(*) DESC LIMIT 1""").fetchone()
        leader = conn.execute("""
            SELECT p.uid FROM org_group g JOIN org_group_member m ON m.group_id = g.id
            JOIN person p ON p.id = m.person_id
            WHERE g.kind = 'principal_leader' AND g.department_id IS NULL AND g.active AND p.active
              AND g.agency_id = %s ORDER BY p.uid LIMIT 1""", (agency_id,)).fetchone()[0]
        matter = conn.execute("""
            SELECT m.code FROM "case" c JOIN matter_type m ON m.id = c.matter_type_id
            GROUP BY m.code ORDER BY count(*) DESC LIMIT 1""").fetchone()[0]
        rows = {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for name in ("case", "case_step", "task", "case_rating", "case_material")}
    return {"district": district, "leader": leader, "agency_id": str(agency_id), "agency": agency_name,
            "matter": matter, "rows": rows}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(share * len(ordered) + 0.5)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("IA_BENCH_STATS_DB",
                                                       "postgresql://postgres@127.0.0.1:5432/ia_bench_stats"))
    parser.add_argument("--source", default="ia_bench_cases")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    url = args.db
    prepare_database(url, args.source)
    ratings = seed_ratings(url)
    who = pick_people(url)
    log(f"district leader {who['district']}, principal leader {who['leader']} of {who['agency']}; "
        f"{who['rows']['case']} cases, {ratings} ratings")

    from sqlalchemy import event

    from internal_affairs import create_app
    from internal_affairs.clock import utcnow
    from internal_affairs.extensions import db
    from bench._cases_setup import app_environ

    app = create_app({"ENVIRON": app_environ(url) | {"IA_LOCAL_LOGIN": "on"}, "TESTING": True})
    client = app.test_client()
    tokens = {}
    for role in ("district", "leader"):
        response = client.post("/api/v1/auth/token", json={"username": who[role], "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        tokens[role] = {"Authorization": f"Bearer {response.get_json()['token']}"}

    today = (utcnow() + timedelta(hours=8)).date()

    def period(days: int) -> dict[str, str]:
        return {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()}

    scenarios = {
        "district_30_days": ("district", "/api/v1/stats", {}),
        "district_90_days": ("district", "/api/v1/stats", period(90)),
        "district_365_days": ("district", "/api/v1/stats", period(365)),
        "one_agency_365_days": ("district", "/api/v1/stats", period(365) | {"agency": who["agency_id"]}),
        "one_matter_90_days": ("district", "/api/v1/stats", period(90) | {"matter_type": who["matter"]}),
        "agency_leader_90_days": ("leader", "/api/v1/stats", period(90)),
        "agency_leader_365_days": ("leader", "/api/v1/stats", period(365)),
        "page_district_90_days": ("district", "/stats", period(90)),
    }
    with app.app_context():
        engine = db.engine
    captured: list[tuple[str, object, float]] = []
    started: list[float] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        started.append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters, (time.perf_counter() - started.pop()) * 1000))

    results = {}
    widest_statements = []
    for name, (role, path, query) in scenarios.items():
        headers = tokens[role]
        use = client
        if path == "/stats":  # the page is a browser's: a session from the login form instead of a token
            headers, use = {}, app.test_client()
            form = use.get("/login").get_data(as_text=True)
            csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
            use.post("/login", data={"username": who[role], "password": PASSWORD, "csrf_token": csrf})
        for _ in range(2):
            response = use.get(path, query_string=query, headers=headers)
            assert response.status_code == 200, (name, response.status_code, response.get_data(as_text=True)[:300])
        times = []
        for _ in range(args.repeat):
            captured.clear()
            event.listen(engine, "before_cursor_execute", before)
            event.listen(engine, "after_cursor_execute", after)
            t0 = time.perf_counter()
            response = use.get(path, query_string=query, headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
        statements = list(captured)
        body = response.get_json() if path != "/stats" else None
        results[name] = {
            "path": path, "query": query, "as": who[role], "status": response.status_code,
            "p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 0.95), 1),
            "max_ms": round(max(times), 1), "statements": len(statements),
            "sql_ms": round(sum(ms for _s, _p, ms in statements), 1),
            "cases_in_period": body["totals"]["volume"] if body else None,
            "finished_in_period": body["totals"]["finished"] if body else None,
        }
        log(f"{name}: p50 {results[name]['p50_ms']} ms, p95 {results[name]['p95_ms']} ms, "
            f"{len(statements)} statements, SQL {results[name]['sql_ms']} ms")
        if name == "district_365_days":
            widest_statements = statements

    plans = []
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for statement, parameters, ms in widest_statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
                plan = cursor.fetchone()[0][0]
            nodes, seq = [], []

            def walk(node):
                nodes.append(node["Node Type"] + (f" on {node['Relation Name']}" if "Relation Name" in node else "")
                             + (f" using {node['Index Name']}" if "Index Name" in node else ""))
                if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in LARGE_TABLES:
                    seq.append(node["Relation Name"])
                for child in node.get("Plans", []):
                    walk(child)

            walk(plan["Plan"])
            plans.append({"statement": " ".join(statement.split())[:160], "ms_in_request": round(ms, 1),
                          "execution_ms": round(plan["Execution Time"], 1),
                          "rows": plan["Plan"].get("Actual Rows"), "seq_scans_of_large_tables": seq,
                          "nodes": nodes[:12]})
        raw.rollback()
    worst = max(r["p95_ms"] for r in results.values())
    print(json.dumps({
        "database": url.rsplit("/", 1)[-1], "rows": who["rows"], "ratings": ratings,
        "people": {"district_leader": who["district"], "agency_leader": who["leader"], "agency": who["agency"]},
        "repeat": args.repeat, "measured": "in-process Flask test client: routing, auth, SQL, figures, JSON/HTML",
        "scenarios": results, "widest_request_plans": plans,
        "target": {"p95_ms": TARGET_MS, "worst_p95_ms": worst, "met": worst <= TARGET_MS},
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()

"""``bench/cases.py``, part 5: the measurements, against gunicorn on the loaded database: the SQL
statements of one request of each kind (in-process, with ``EXPLAIN``), the scenarios over HTTP at
1 and at ``--clients`` clients, and the race of many holders on ``any`` steps."""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from _cases_clone import settle
from _cases_engine import Engine, Org, create_race_cases
from _cases_measure import CpuMeter, Gunicorn, StatementCounter, explain, load, short, summarize
from _cases_setup import PASSWORD, conninfo, log


@dataclass
class Bench:
    """What the measurements share: the run's options, the in-process app and its org facts, the
    people measured, gunicorn and the tokens it issued, and the JSON object being built."""

    args: object
    rng: object
    app: object
    org: Org
    lanes: list[dict]
    people: dict
    out: dict
    gunicorn: Gunicorn | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    counter: StatementCounter | None = None
    client: object = None
    b_path: str = "/healthz"
    b_tok: str | None = None
    b_real: bool = False
    big_key: str = ""
    attempts: list = field(default_factory=list)

    @property
    def uid_of(self) -> dict[int, str]:
        return {pid: p["uid"] for pid, p in self.org.people.items()}

    def token(self, pid: int) -> str:
        """The key of ``pid``'s bearer token in ``tokens`` (issued through the API on first use)."""
        key = str(pid)
        if key not in self.tokens:
            status, body = self.gunicorn.request("POST", "/api/v1/auth/token",
                                                 {"username": self.uid_of[pid], "password": PASSWORD})
            if status != 200:
                raise SystemExit(f"token for {self.uid_of[pid]}: {status} {body[:300]!r}")
            self.tokens[key] = "Bearer " + json.loads(body)["token"]
        return key

    def hdr(self, pid) -> dict[str, str]:
        return {"Authorization": self.tokens[str(pid)], "Accept": "application/json"}

    def query(self, sql: str, params: dict | None = None) -> list:
        from internal_affairs.extensions import db

        with self.app.app_context():
            rows = db.session.execute(db.text(sql), params or {}).all()
            db.session.remove()
            return rows

    def probe(self, label: str, fn) -> dict:
        response, ms, items = self.counter.measure(fn)
        if response.status_code >= 300:
            raise SystemExit(f"{label} ({response.request.method} {response.request.path}): "
                             f"{response.status_code} {response.get_data(as_text=True)[:300]}")
        return {"status": response.status_code, "statements": len(items), "in_process_ms": round(ms, 2),
                "sql_ms": round(sum(i["ms"] for i in items), 2), "items": items}


def start_server(bench: Bench, workdir: Path) -> None:
    """gunicorn, the tokens of everyone measured, and which endpoint is ``B_read``."""
    args, people = bench.args, bench.people
    bench.gunicorn = gunicorn = Gunicorn(args.db, args.workers, workdir, args.threads)
    log(f"gunicorn -w {args.workers} --threads {args.threads} on 127.0.0.1:{gunicorn.port}")
    for pid in people["inbox_users"] + people["approvers"] + people["race_holders"] + [people["light"]]:
        bench.token(pid)
    log(f"{len(bench.tokens)} tokens issued")
    # B_read: the "JSON endpoint reading one row by primary key": GET /api/v1/org/agencies/1
    # with a bearer token, like every other API call measured here; GET /healthz stands in if absent
    tok = str(people["inbox_users"][0])
    if gunicorn.request("GET", "/api/v1/org/agencies/1", token=bench.tokens[tok])[0] == 200:
        bench.b_path, bench.b_tok, bench.b_real = "/api/v1/org/agencies/1", tok, True
    log(f"B_read is GET {bench.b_path}{' with a token' if bench.b_tok else ''}")


def count_statements(bench: Bench) -> None:
    """The statements of one request of each kind, in-process (same database, same tokens). No app
    context is held around the requests: each pushes its own, as under gunicorn (fresh session,
    fresh current_user)."""
    from internal_affairs.extensions import db

    app, out, lanes, query, probe, hdr, token = bench.app, bench.out, bench.lanes, bench.query, bench.probe, \
        bench.hdr, bench.token
    light, b_path, b_tok = bench.people["light"], bench.b_path, bench.b_tok
    with app.app_context():
        bench.counter = StatementCounter(db.engine)
    bench.client = client = app.test_client()
    heavy_user = bench.people["inbox_users"][0]
    for _ in range(3):  # the first requests of a process build its caches
        client.get("/api/v1/inbox?box=todo", headers=hdr(heavy_user))
    probes = {
        "inbox_heaviest_per_page_20": probe("inbox", lambda: client.get("/api/v1/inbox?box=todo",
                                                                        headers=hdr(heavy_user))),
        "inbox_heaviest_per_page_200": probe("inbox", lambda: client.get(
            "/api/v1/inbox?box=todo&per_page=200", headers=hdr(heavy_user))),
        "inbox_light_user": probe("inbox", lambda: client.get("/api/v1/inbox?box=todo", headers=hdr(light))),
        "inbox_done_box": probe("inbox", lambda: client.get("/api/v1/inbox?box=done", headers=hdr(heavy_user))),
    }
    # sizes compared among cases never returned: a returned case's document also lists its
    # revisions (one statement more, whatever its size)
    case_tasks = dict(query("""SELECT case_id, count(*) FROM task WHERE case_id IN
                               (SELECT t.case_id FROM task t JOIN "case" c ON c.id = t.case_id
                                WHERE t.assignee_id = :p AND c.return_count = 0) GROUP BY case_id""",
                            {"p": heavy_user}))
    small_case = min(case_tasks, key=lambda c: (case_tasks[c], c))
    big_case = max(case_tasks, key=lambda c: (case_tasks[c], c))
    small_key, big_key = f"detail_case_with_{case_tasks[small_case]}_tasks", f"detail_case_with_{case_tasks[big_case]}_tasks"
    probes[small_key] = probe("detail", lambda: client.get(f"/api/v1/cases/{small_case}", headers=hdr(heavy_user)))
    probes[big_key] = probe("detail", lambda: client.get(f"/api/v1/cases/{big_case}", headers=hdr(heavy_user)))
    spare_lane = lanes[0]
    spares = spare_lane["tasks"][-3:]
    del spare_lane["tasks"][-3:]
    approve = {"decision": "approve", "comment": "同意"}
    probes["decision_leader_approve_step_ends"] = probe("decision", lambda: client.post(
        f"/api/v1/tasks/{spares[0][0]}/decision", json=approve, headers=hdr(spare_lane["approver"])))
    probes["decision_leader_approve_step_ends_again"] = probe("decision", lambda: client.post(
        f"/api/v1/tasks/{spares[1][0]}/decision", json=approve, headers=hdr(spare_lane["approver"])))
    hr_task = query("SELECT id, assignee_id FROM task WHERE case_id = :c AND status = 'pending' ORDER BY id LIMIT 1",
                    {"c": spares[0][1]})[0]
    token(hr_task[1])
    probes["decision_hr_done_case_finishes"] = probe("decision", lambda: client.post(
        f"/api/v1/tasks/{hr_task[0]}/decision", json={"decision": "done", "comment": "已登记"},
        headers=hdr(hr_task[1])))
    probes["me"] = probe("me", lambda: client.get("/api/v1/me", headers=hdr(heavy_user)))
    probes["healthz"] = probe("healthz", lambda: client.get("/healthz"))
    if bench.b_real:
        probes["B_read"] = probe("B_read", lambda: client.get(b_path, headers=hdr(b_tok) if b_tok else {}))

    def slowest(name: str, n: int, reads: bool = False) -> list:
        items = [i for i in probes[name]["items"] if not i["many"] and (
            not reads or i["sql"].lstrip().split(None, 1)[0].upper() in ("SELECT", "UPDATE", "DELETE"))]
        return sorted(items, key=lambda i: -i["ms"])[:n]

    with app.app_context():
        explains = {
            "inbox_heaviest_per_page_20": [explain(i) for i in probes["inbox_heaviest_per_page_20"]["items"]
                                           if i["sql"].lstrip().upper().startswith("SELECT")],
            "decision_slowest_statements": [explain(i) for i in slowest("decision_leader_approve_step_ends_again", 4,
                                                                          reads=True)],
            "detail_slowest_statements": [explain(i) for i in slowest(big_key, 2, reads=True)],
        }
        db.session.remove()
        db.engine.dispose()
    sql = {}
    for name, p in probes.items():
        sql[name] = {k: v for k, v in p.items() if k != "items"} | {
            "slowest": [{"ms": round(i["ms"], 2), "sql": short(i["sql"])} for i in slowest(name, 3)]}
    out["sql_per_request"] = sql
    out["explain_analyze"] = explains
    log("statement counts and plans done")
    bench.big_key = big_key


def run_scenarios(bench: Bench) -> None:
    """B_read, B_auth_me, the inbox, case detail and decisions over HTTP, at 1 client and at
    ``--clients``; ``B_read`` at many clients three times (the median is the one shares are of)."""
    args, out, rng, tokens, lanes = bench.args, bench.out, bench.rng, bench.tokens, bench.lanes
    gunicorn, b_path, b_tok, b_real = bench.gunicorn, bench.b_path, bench.b_tok, bench.b_real
    inbox_users, approvers = bench.people["inbox_users"], bench.people["approvers"]
    detail_cases, big_key = bench.people["detail_cases"], bench.big_key
    port = gunicorn.port
    n1, n50, c = args.requests_1, args.requests_50, args.clients
    stmts = {k: v["statements"] for k, v in out["sql_per_request"].items()}
    results: dict[str, dict] = {}

    meter = CpuMeter(gunicorn, args.db)

    def measured(**job) -> tuple[dict, dict]:
        """A load run and the CPU per request it cost (warmup included in both counts)."""
        before = meter.sample()
        r = load(port, tokens, **job)
        sent = len(r["latencies_ms"]) + len(job.get("warmup", ()))
        cpu = meter.per_request_ms(before, sent)
        cpu["load_generator"] = round(r["client_cpu_seconds"] / len(r["latencies_ms"]) * 1000, 3)
        return r, cpu

    def scenario(name: str, reqs1, reqs50, statements, warm=30):
        warm1, warm50 = reqs1[:warm], reqs50[:warm * 3]
        r1 = load(port, tokens, queue=reqs1[warm:warm + n1], concurrency=1, warmup=warm1)
        r50, cpu = measured(queue=reqs50[warm * 3:warm * 3 + n50], concurrency=c, warmup=warm50)
        results[name] = {"1_client": summarize(r1, statements),
                         f"{c}_clients": summarize(r50, statements) | {"cpu_ms_per_request": cpu}}
        log(f"{name}: 1 client p95 {results[name]['1_client']['p95_ms']} ms, "
            f"{c} clients {results[name][f'{c}_clients']['requests_per_second']} req/s")

    def cycle(items, n):
        return [items[i % len(items)] for i in range(n)]

    settle(args.db, vacuum=False)
    health = [["GET", b_path, b_tok, None]]
    b_stmts = stmts["B_read" if b_real else "healthz"]
    b_runs = []

    def b_read(when: str) -> None:
        r, cpu = measured(queue=cycle(health, n50), concurrency=c, warmup=cycle(health, 90))
        b_runs.append(summarize(r, b_stmts) | {"cpu_ms_per_request": cpu, "when": when})

    scenario("B_read", cycle(health, n1 + 30), cycle(health, n50 + 90), b_stmts)
    b_runs.append(results["B_read"][f"{c}_clients"] | {"when": "first"})
    me = [["GET", "/api/v1/me", str(p), None] for p in inbox_users]
    scenario("B_auth_me", cycle(me, n1 + 30), cycle(me, n50 + 90), stmts["me"])
    inbox = [["GET", "/api/v1/inbox?box=todo", str(p), None] for p in inbox_users]
    scenario("inbox_todo_first_page", cycle(inbox, n1 + 30), cycle(inbox, n50 + 90),
             stmts["inbox_heaviest_per_page_20"])
    detail = [["GET", f"/api/v1/cases/{detail_cases[p][i % len(detail_cases[p])]}", str(p), None]
              for i in range(200) for p in inbox_users]
    rng.shuffle(detail)
    scenario("case_detail", detail[:n1 + 30], detail[-(n50 + 90):], stmts[big_key])

    b_read("before the decisions")
    # decisions: each task decided once; at 50 clients each client is one department head
    def decision(pid, task_id):
        return ["POST", f"/api/v1/tasks/{task_id}/decision", str(pid), {"decision": "approve", "comment": "同意"}]

    pools = {lane["approver"]: list(lane["tasks"]) for lane in lanes}
    order = [a for a in approvers]
    one_client, warm_one = [], []
    i = 0
    while len(one_client) < n1 + 10:
        a = order[i % len(order)]
        one_client.append(decision(a, pools[a].pop()[0]))
        i += 1
    warm_one, one_client = one_client[:10], one_client[10:]
    r1 = load(port, tokens, queue=one_client, concurrency=1, warmup=warm_one)
    per = math.ceil(n50 / c)
    warm_many = [decision(a, pools[a].pop()[0]) for a in order for _ in range(2)]
    lanes50 = [[decision(a, pools[a].pop()[0]) for _ in range(per)] for a in order]
    r50, cpu = measured(lanes=lanes50, warmup=warm_many)
    stm = stmts["decision_leader_approve_step_ends_again"]
    results["decision_approve"] = {"1_client": summarize(r1, stm),
                                   f"{c}_clients": summarize(r50, stm) | {"cpu_ms_per_request": cpu}}
    log(f"decisions: 1 client p95 {results['decision_approve']['1_client']['p95_ms']} ms, "
        f"{c} clients {results['decision_approve'][f'{c}_clients']['requests_per_second']} req/s")
    b_read("after the decisions")
    median = sorted(b_runs, key=lambda r: r["requests_per_second"])[len(b_runs) // 2]
    results["B_read"] = {
        "endpoint": f"GET {b_path}" + (" (bearer token)" if b_tok else ""),
        "stand_in": None if b_real else (
            "the issue's B_read (a JSON endpoint reading one row by primary key) is not in the app yet; "
            "/healthz runs SELECT 1 without authentication and answers {\"status\": \"ok\"}"),
        "1_client": results["B_read"]["1_client"],
        f"{c}_clients": {k: v for k, v in median.items() if k != "when"} | {"of_runs": "median of 3"},
        f"{c}_clients_runs_requests_per_second": {r["when"]: r["requests_per_second"] for r in b_runs},
    }
    results["B_auth_me"] = {"endpoint": "GET /api/v1/me",
                            "note": "authenticated: token, person, roles, groups, leader chain"} | results["B_auth_me"]
    out["scenarios"] = results


def run_race(bench: Bench) -> None:
    """Many holders of ``--race-steps`` ``any`` steps decide at once; then the database is checked
    for exactly one winner per step."""
    from internal_affairs.extensions import db

    args, out, rng, tokens, app, org = bench.args, bench.out, bench.rng, bench.tokens, bench.app, bench.org
    client, probe, hdr = bench.client, bench.probe, bench.hdr
    port, c = bench.gunicorn.port, args.clients
    with app.app_context():
        started = time.perf_counter()
        race = create_race_cases(Engine(rng), org, rng, args.race_steps + 1,
                                 datetime.now(timezone.utc).replace(tzinfo=None))
        race_setup = round(time.perf_counter() - started, 1)
        db.session.remove()
        db.engine.dispose()
    # one of them is decided in-process first: the statements of a decision on a 10-holder step
    probe_case = max(case for ts in race.values() for _t, case in ts)
    holder, probe_task = next((h, t) for h, ts in race.items() for t, case in ts if case == probe_case)
    race = {h: [(t, case) for t, case in ts if case != probe_case] for h, ts in race.items()}
    p = probe("decision", lambda: client.post(f"/api/v1/tasks/{probe_task}/decision",
                                              json={"decision": "read", "comment": "已阅"}, headers=hdr(holder)))
    out["sql_per_request"][f"decision_read_any_step_{args.race_holders}_holders_case_finishes"] = {
        k: v for k, v in p.items() if k != "items"} | {
        "slowest": [{"ms": round(i["ms"], 2), "sql": short(i["sql"])}
                    for i in sorted(p["items"], key=lambda i: -i["ms"])[:3]]}
    race_case_ids = sorted({case for ts in race.values() for _t, case in ts})
    log(f"race: {len(race_case_ids)} cases at their any step in {race_setup} s")
    by_case: dict[int, list] = defaultdict(list)
    for holder, ts in race.items():
        for task_id, case_id in ts:
            by_case[case_id].append(["POST", f"/api/v1/tasks/{task_id}/decision", str(holder),
                                     {"decision": "read", "comment": "已阅"}])
    attempts = []
    for case_id in race_case_ids:
        group = by_case[case_id]
        rng.shuffle(group)
        attempts.extend(group)
    rr = load(port, tokens, queue=attempts, concurrency=c)
    import psycopg

    with psycopg.connect(conninfo(args.db)) as conn:
        per_case = conn.execute("""
            SELECT c.status, count(*) FILTER (WHERE t.status = 'read') AS winners,
                   count(*) FILTER (WHERE t.status = 'pending') AS still_pending
            FROM "case" c JOIN task t ON t.case_id = c.id AND t.kind = 'read'
            WHERE c.id = ANY(%s) GROUP BY c.id, c.status""", (race_case_ids,)).fetchall()
    summary = summarize(rr)
    status = Counter({int(k): v for k, v in rr["status"].items()})
    out["race"] = {
        "any_steps": len(race_case_ids), "holders_per_step": args.race_holders, "attempts": len(attempts),
        "clients": c, "setup_seconds": race_setup,
        "http_200_winners": status.get(200, 0), "http_409": status.get(409, 0),
        "http_409_codes": {k: v for k, v in rr["codes"].items()},
        "http_5xx": sum(v for k, v in status.items() if k >= 500),
        "other": {str(k): v for k, v in status.items() if k not in (200, 409) and k < 500},
        "db_steps_with_exactly_one_winner": sum(1 for _s, w, _p in per_case if w == 1),
        "db_tasks_left_pending": sum(p for _s, _w, p in per_case),
        "db_case_status": dict(Counter(s for s, _w, _p in per_case)),
        "p50_ms": summary["p50_ms"], "p95_ms": summary["p95_ms"], "p99_ms": summary["p99_ms"],
        "requests_per_second": summary["requests_per_second"],
    }
    bench.attempts = attempts
    log(f"race: {out['race']['http_200_winners']} winners, {out['race']['http_409']} 409s, "
        f"{out['race']['http_5xx']} 5xx")

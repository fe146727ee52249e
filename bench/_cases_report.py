"""``bench/cases.py``, part 6: what the database holds, the machine it ran on, and the verdicts
against the targets."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from _cases_setup import conninfo


def row_counts(url: str) -> dict:
    import psycopg

    with psycopg.connect(conninfo(url)) as conn:
        one = lambda q: conn.execute(q).fetchone()[0]  # noqa: E731
        return {
            "person": one("SELECT count(*) FROM person"), "agency": one("SELECT count(*) FROM agency"),
            "case": one('SELECT count(*) FROM "case"'),
            "case_by_status": dict(conn.execute('SELECT status, count(*) FROM "case" GROUP BY 1 ORDER BY 2 DESC').fetchall()),
            "case_step": one("SELECT count(*) FROM case_step"), "task": one("SELECT count(*) FROM task"),
            "task_by_status": dict(conn.execute("SELECT status, count(*) FROM task GROUP BY 1 ORDER BY 2 DESC").fetchall()),
            "case_revision": one("SELECT count(*) FROM case_revision"),
            "audit_event": one("SELECT count(*) FROM audit_event"), "api_token": one("SELECT count(*) FROM api_token"),
            "database_mb": round(one("SELECT pg_database_size(current_database())") / 2**20),
            "task_table_mb": round(one("SELECT pg_total_relation_size('task')") / 2**20),
        }


def machine(url: str) -> dict:
    import psycopg

    with psycopg.connect(conninfo(url)) as conn:
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in (
            "server_version", "shared_buffers", "work_mem", "effective_cache_size", "max_connections",
            "synchronous_commit", "random_page_cost", "jit", "max_parallel_workers_per_gather",
            "shared_preload_libraries")}
    mem = None
    try:
        mem = round(int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1]) / 2**20, 1)
    except (OSError, StopIteration):
        pass
    return {"cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
            "cpu_model": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
                              None) if Path("/proc/cpuinfo").exists() else platform.processor(),
            "memory_gb": mem, "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "database": {"engine": "PostgreSQL", "url": url.split("@")[-1], **settings}}


def add_verdicts(out: dict, args, attempts: list) -> None:
    """``targets`` (each with its value and whether it is met) and ``topology``."""
    res = out["scenarios"]
    many = f"{args.clients}_clients"
    b_read = res["B_read"][many]["requests_per_second"]
    me_rps = res["B_auth_me"][many]["requests_per_second"]

    def verdict(value, target, op):
        return {"value": value, "target": target, "met": bool(value is not None and (value <= target if op == "<="
                                                                                      else value >= target))}

    out["targets"] = {
        "inbox_p95_ms_at_1_client": verdict(res["inbox_todo_first_page"]["1_client"]["p95_ms"], 30, "<="),
        "detail_p95_ms_at_1_client": verdict(res["case_detail"]["1_client"]["p95_ms"], 30, "<="),
        "inbox_rps_share_of_B_read_at_50": verdict(round(res["inbox_todo_first_page"][many]["requests_per_second"]
                                                         / b_read, 3), 0.6, ">="),
        "decision_rps_share_of_B_read_at_50": verdict(round(res["decision_approve"][many]["requests_per_second"]
                                                            / b_read, 3), 0.35, ">="),
        # django-viewflow 2.4 on the same three-step leave, PostgreSQL and gunicorn -w 2 (issue 12)
        "decision_server_cpu_ms_at_50_below_viewflow": verdict(
            res["decision_approve"][many]["cpu_ms_per_request"]["server"], 16.0, "<="),
        "race_exactly_one_winner_per_step": verdict(out["race"]["db_steps_with_exactly_one_winner"],
                                                    args.race_steps, ">="),
        "race_winners": {"value": out["race"]["http_200_winners"], "target": args.race_steps,
                         "met": out["race"]["http_200_winners"] == args.race_steps},
        "race_clean_409s": {"value": out["race"]["http_409"], "target": len(attempts) - args.race_steps,
                            "met": out["race"]["http_409"] == len(attempts) - args.race_steps
                            and set(out["race"]["http_409_codes"]) <= {"stale_decision"}},
        "race_zero_5xx": verdict(out["race"]["http_5xx"], 0, "<="),
        "statements_constant_inbox_page_20_vs_200": {
            "value": [out["sql_per_request"]["inbox_heaviest_per_page_20"]["statements"],
                      out["sql_per_request"]["inbox_heaviest_per_page_200"]["statements"]],
            "met": out["sql_per_request"]["inbox_heaviest_per_page_20"]["statements"]
            == out["sql_per_request"]["inbox_heaviest_per_page_200"]["statements"]},
        "B_read_endpoint": res["B_read"]["endpoint"] + ("" if not res["B_read"]["stand_in"] else " (stand-in)"),
        "shares_of_B_auth_me_rps_at_50": {
            "inbox": round(res["inbox_todo_first_page"][many]["requests_per_second"] / me_rps, 3),
            "decision": round(res["decision_approve"][many]["requests_per_second"] / me_rps, 3)},
    }
    detail_keys = [k for k in out["sql_per_request"] if k.startswith("detail_")]
    out["targets"]["statements_constant_detail_small_vs_big_case"] = {
        "value": {k: out["sql_per_request"][k]["statements"] for k in detail_keys},
        "met": len({out["sql_per_request"][k]["statements"] for k in detail_keys}) == 1}
    out["topology"] = {"server": (f"gunicorn {args.workers} sync workers (1 thread each), 127.0.0.1" if args.threads == 1
                                  else f"gunicorn {args.workers} workers × {args.threads} threads (gthread), 127.0.0.1"),
                       "scheduler": "not running: the web workers are measured alone",
                       "load_generator": f"bench/_load.py: a separate process, up to {args.clients} threads, "
                                         "stdlib http.client over loopback, fixed request counts after a warmup",
                       "same_machine": "server, PostgreSQL and load generator share the CPUs"}

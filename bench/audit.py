"""Benchmark: the audit chain on PostgreSQL.

Prints ONE JSON object (progress on stderr):

- ``append``: events appended per second as the application writes them: each event in its own
  transaction through ``record_event`` (PostgreSQL's ``ia_audit_append``: lock, tip, hash, insert
  in one round trip) and committed, ``--appends`` times in one process; and the same with
  ``--writers`` threads at once (the one global chain serialises them).
- ``verification``: a chain of ``--events`` events (default 1,000,000; built with the public
  batch append ``record_events``), verified by ``verify_chain`` reading it from PostgreSQL, as a
  share of the same run's in-memory rate: the same canonical serialisation and SHA-256 over the
  same events already in memory (read before, the reading not timed). Target: ≥ 50%. Also the
  share of the in-memory rate of verification's own method (the stored canonical data text
  spliced in), which isolates the cost of reading from PostgreSQL.
- ``false_alarms``: on the clean chain ``verify_trail`` (chain, checkpoints, anchor file) must
  report nothing (target 0), after a signed checkpoint of the head.

    .venv/bin/python bench/audit.py [--events 1000000] [--appends 5000] [--writers 4] [--db URL]

The database (``--db``, default ``ia_bench_audit`` on 127.0.0.1) is dropped and recreated.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cases_setup import recreate_database  # noqa: E402

DB_DEFAULT = "postgresql://postgres@127.0.0.1:5432/ia_bench_audit"
T0 = time.perf_counter()


def log(message: str) -> None:
    sys.stderr.write(f"[{time.perf_counter() - T0:7.1f}s] {message}\n")
    sys.stderr.flush()


def _data(i: int) -> dict:
    """An event's data shaped like a decision's."""
    return {"case_id": 100000 + i % 5000, "task_id": 500000 + i, "decision": "approve", "comment": "同意，请按规定办理。",
            "step": i % 4, "on_behalf_of": None if i % 7 else "zhangwei", "before": "pending", "after": "done"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=int(os.environ.get("IA_BENCH_AUDIT_EVENTS", 1_000_000)))
    parser.add_argument("--appends", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--db", default=DB_DEFAULT)
    args = parser.parse_args()

    recreate_database(args.db)
    tmp = Path(tempfile.mkdtemp(prefix="ia-bench-audit-"))
    from tests.support.audit import make_audit_key

    key = make_audit_key(tmp)
    from flask_migrate import upgrade

    from internal_affairs import create_app
    from internal_affairs.audit.actions import (_CHAIN_COLUMNS, _STORED_COLUMNS, Event, _row_canonical_stored,
                                                do_checkpoint, record_event, record_events, row_canonical,
                                                verify_chain)
    from internal_affairs.audit.models import AuditEvent
    from internal_affairs.audit.queries import verify_trail
    from internal_affairs.extensions import db
    from sqlalchemy import select

    app = create_app({"ENVIRON": {"IA_DATABASE_URL": args.db, "IA_SECRET_KEY": "bench-audit",
                                  "IA_AUDIT_KEY_FILE": str(key), "IA_AUDIT_KEY_PASSWORD": "audit-pw",
                                  "IA_AUDIT_ANCHOR_FILE": str(tmp / "anchor.jsonl")},
                      "INSTANCE_PATH": str(tmp / "instance")})
    out: dict = {"benchmark": "audit", "events": args.events}
    base = datetime(2026, 1, 5, 9, 0)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        log("migrated")

        # 1. appends as the application writes them: one event per transaction
        start = time.perf_counter()
        for i in range(args.appends):
            record_event("cases.task.decided", actor=None, object_type="case", object_id=f"区教育局-2026-{i:06d}",
                         data=_data(i), now=base + timedelta(seconds=i))
            db.session.commit()
        single = time.perf_counter() - start
        log(f"{args.appends} appends in {single:.2f}s")

    errors: list[str] = []

    def writer(n: int, offset: int) -> None:
        try:
            with app.app_context():
                for i in range(n):
                    record_event("cases.task.decided", actor=None, object_type="case", object_id=f"W-{offset + i}",
                                 data=_data(offset + i), now=base + timedelta(seconds=offset + i))
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # reported, never hidden
            errors.append(repr(exc))

    per = max(1, args.appends // args.writers)
    threads = [threading.Thread(target=writer, args=(per, 10_000_000 + w * per)) for w in range(args.writers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    concurrent = time.perf_counter() - start
    log(f"{per * args.writers} appends from {args.writers} threads in {concurrent:.2f}s")
    out["append"] = {
        "one_writer": {"events": args.appends, "seconds": round(single, 3),
                       "events_per_second": round(args.appends / single, 1),
                       "ms_per_event": round(1000 * single / args.appends, 3)},
        f"{args.writers}_writers": {"events": per * args.writers, "seconds": round(concurrent, 3),
                                    "events_per_second": round(per * args.writers / concurrent, 1), "errors": errors},
        "how": "record_event + COMMIT per event (ia_audit_append on PostgreSQL), as an action writes it",
    }

    with app.app_context():
        # 2. a chain of --events events
        have = db.session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        todo = max(0, args.events - have)
        start = time.perf_counter()
        batch = 20_000
        for first in range(0, todo, batch):
            n = min(batch, todo - first)
            record_events([Event("cases.task.decided", "case", f"区教育局-2025-{first + i:07d}",
                                 base + timedelta(seconds=first + i), actor_label="bench", data=_data(first + i))
                           for i in range(n)])
            db.session.commit()
            if (first // batch) % 10 == 0:
                log(f"  chain: {have + first + n} events")
        build = time.perf_counter() - start
        db.session.execute(__import__("sqlalchemy").text("ANALYZE audit_event"))
        db.session.commit()
        total = have + todo
        log(f"chain of {total} events built in {build:.1f}s")

        # in memory: the same events read first, then only serialisation + SHA-256 timed
        hashed = 0
        in_memory = 0.0
        in_memory_spliced = 0.0
        last = 0
        sha256 = hashlib.sha256
        while True:
            rows = db.session.execute(select(*_CHAIN_COLUMNS).where(AuditEvent.seq > last)
                                      .order_by(AuditEvent.seq).limit(100_000)).all()
            if not rows:
                break
            stored = db.session.execute(select(*_STORED_COLUMNS).where(AuditEvent.seq > last)
                                        .order_by(AuditEvent.seq).limit(100_000)).all()
            t = time.perf_counter()
            for row in rows:
                sha256(row_canonical(row)).hexdigest()
            t2 = time.perf_counter()
            for row in stored:
                sha256(_row_canonical_stored(row)).hexdigest()
            in_memory_spliced += time.perf_counter() - t2
            in_memory += t2 - t
            hashed += len(rows)
            last = rows[-1][0]
        db.session.rollback()
        log(f"in memory: {hashed} events in {in_memory:.2f}s (serialising data), {in_memory_spliced:.2f}s (stored text)")

        start = time.perf_counter()
        report = verify_chain()
        verify = time.perf_counter() - start
        db.session.rollback()
        log(f"verify_chain from PostgreSQL: {report.checked} events in {verify:.2f}s, ok={report.ok}")
        share = (report.checked / verify) / (hashed / in_memory)
        out["verification"] = {
            "events": report.checked, "seconds": round(verify, 3), "events_per_second": round(report.checked / verify, 1),
            "in_memory_events_per_second": round(hashed / in_memory, 1), "in_memory_seconds": round(in_memory, 3),
            "share_of_in_memory": round(share, 3), "chain_build_seconds": round(build, 1),
            "in_memory_stored_text_events_per_second": round(hashed / in_memory_spliced, 1),
            "share_of_in_memory_stored_text": round((report.checked / verify) / (hashed / in_memory_spliced), 3),
            "method": "in memory: the canonical serialisation of every event (data parsed and re-serialised) + "
                      "SHA-256, the events already read; verify_chain hashes the same canonical bytes with the "
                      "event's data spliced in as its stored canonical text (falling back to re-serialising "
                      "when that differs); the *_stored_text figures time that same method in memory",
            "target_share": 0.5, "met": share >= 0.5,
        }

        # 3. no false alarm on the clean chain, with a signed checkpoint
        do_checkpoint(acting_user=None, now=base + timedelta(days=400))
        start = time.perf_counter()
        trail = verify_trail()
        trail_seconds = time.perf_counter() - start
        db.session.rollback()
        alarms = len(trail.problems) + (0 if trail.ok else 1) + (0 if report.ok else 1)
        out["false_alarms"] = {"value": alarms, "target": 0, "met": alarms == 0, "checked": trail.checked,
                               "checkpoints_ok": trail.checkpoints_ok, "verify_trail_seconds": round(trail_seconds, 3)}
        settings = {n: db.session.execute(__import__("sqlalchemy").text(f"SHOW {n}")).scalar_one()
                    for n in ("server_version", "shared_buffers", "synchronous_commit")}
        db.session.rollback()
    out["machine"] = {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                      "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                      "database": {"engine": "PostgreSQL", "url": args.db.split("@")[-1], **settings}}
    out["targets"] = {"verification_share": out["verification"]["met"], "false_alarms": out["false_alarms"]["met"]}
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark: one time-limit scan over 100,000 open tasks, and outbox delivery against bare smtplib.

Prints ONE JSON object (progress on stderr):

- ``scan``: the time of one :func:`scan_time_limits` on PostgreSQL over ``--tasks`` open tasks
  with due times, of which ``--due`` are due (half within their reminder lead, half overdue);
  what it fired; the same scan run again (everything already fired: the steady state of a
  scheduler scanning every minute); target ≤ 1 s.
- ``delivery``: ``--mails`` notifications delivered through the outbox (claim, send, commit per
  message) to a local aiosmtpd server, as messages/s and as a share of the same run's bare
  ``smtplib`` rate sending the same messages over one connection to the same server; target ≥ 50%.
- ``machine``: CPUs, Python, PostgreSQL.

    .venv/bin/python bench/scheduler.py [--db URL] [--tasks 100000] [--due 5000] [--mails 2000]

The database (default ``ia_bench_scheduler`` on 127.0.0.1) is recreated: migrations, the demo
district (``demo/district.ldif``) and the catalog through their public functions, one template
case per matter submitted through the case engine, then cases, steps and tasks copied from the
template with bulk Core inserts through the models' tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
T0 = time.perf_counter()


def log(message: str) -> None:
    sys.stderr.write(f"[{time.perf_counter() - T0:7.1f}s] {message}\n")
    sys.stderr.flush()


def recreate(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing a non-loopback database host: {parsed.host}")
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def build(app, tasks: int, due: int) -> dict:
    """The district, the catalog, one engine-made leave case, then ``tasks`` open tasks on copies
    of it (100 tasks a case), ``due`` of them due at the returned ``now``."""
    import random

    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select, text

    from internal_affairs.cases.actions import do_create_case
    from internal_affairs.cases.models import Case, CaseStep, Task
    from internal_affairs.clock import LOCAL_OFFSET
    from internal_affairs.extensions import db
    from internal_affairs.org.models import Person
    from tests.support.app import load_catalog, load_demo

    with app.app_context():
        upgrade()
    load_demo(app)
    load_catalog(app)
    now = datetime(2026, 12, 9, 7, 0)  # Wednesday 15:00 in Shanghai
    with app.app_context():
        applicant = db.session.execute(select(Person).where(Person.uid == "xujing")).scalar_one()
        template = do_create_case("leave", {"leave_type": "annual", "start_date": "2026-12-14", "end_date": "2026-12-14",
                                            "reason": "基准"}, applicant=applicant, now=now - timedelta(days=1), submit=True)
        case_row = {c.name: getattr(template, c.key) for c in Case.__table__.columns if c.name != "id"}
        step = db.session.execute(select(CaseStep).where(CaseStep.case_id == template.id, CaseStep.status == "active")).scalars().first()
        step_row = {c.name: getattr(step, c.key) for c in CaseStep.__table__.columns if c.name not in ("id", "case_id")}
        task = db.session.execute(select(Task).where(Task.case_id == template.id, Task.status == "pending")).scalar_one()
        task_row = {c.name: getattr(task, c.key) for c in Task.__table__.columns
                    if c.name not in ("id", "case_id", "step_id", "parent_task_id", "blocked_by_task_id", "closed_by_task_id")}
        people = list(db.session.execute(select(Person.id).where(Person.active.is_(True))).scalars())
        n_cases = (tasks + 99) // 100
        log(f"copying the template to {n_cases} cases, {n_cases} steps and {tasks} tasks")
        first_case = db.session.execute(select(func.max(Case.id))).scalar_one() + 1
        db.session.execute(insert(Case.__table__), [
            case_row | {"id": first_case + i, "number": f"基准-2026-{i:06d}"} for i in range(n_cases)])
        first_step = db.session.execute(select(func.max(CaseStep.id))).scalar_one() + 1
        db.session.execute(insert(CaseStep.__table__), [
            step_row | {"id": first_step + i, "case_id": first_case + i} for i in range(n_cases)])
        rng = random.Random(7)
        local_now = now + LOCAL_OFFSET
        rows = []
        for i in range(tasks):
            if i < due // 2:  # overdue by up to a day
                due_at = now - timedelta(minutes=rng.randint(1, 24 * 60))
            elif i < due:  # due within the next 2 working hours (today until 17:00)
                due_at = now + timedelta(minutes=rng.randint(1, 120))
            else:  # due from next week on
                due_at = now + timedelta(days=7 + rng.randint(0, 60), minutes=rng.randint(0, 600))
            c = i // 100
            rows.append(task_row | {"case_id": first_case + c, "step_id": first_step + c,
                                    "assignee_id": rng.choice(people), "due_at": due_at})
            if len(rows) == 10_000:
                db.session.execute(insert(Task.__table__), rows)
                rows = []
        if rows:
            db.session.execute(insert(Task.__table__), rows)
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('case', 'id'), (SELECT max(id) FROM \"case\"))"))
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('case_step', 'id'), (SELECT max(id) FROM case_step))"))
        db.session.commit()
        assert local_now.hour == 15
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return {"now": now}


def measure_scan(app, now: datetime) -> dict:
    from internal_affairs.cases.timelimits import scan_time_limits
    from internal_affairs.extensions import db

    with app.app_context():
        started = time.perf_counter()
        report = scan_time_limits(now=now)
        first = time.perf_counter() - started
        db.session.remove()
    with app.app_context():
        started = time.perf_counter()
        again = scan_time_limits(now=now + timedelta(minutes=1))
        second = time.perf_counter() - started
        db.session.remove()
    return {"seconds": round(first, 3), "candidates": report.candidates, "fired": report.fired,
            "reminders": report.reminders, "overdue": report.overdue, "escalations": report.escalations,
            "rescan_seconds": round(second, 3), "rescan_fired": again.fired, "target_seconds": 1.0,
            "met": first <= 1.0}


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def measure_delivery(app, mails: int) -> dict:
    from aiosmtpd.controller import Controller
    from sqlalchemy import delete, select

    from internal_affairs.clock import utcnow
    from internal_affairs.extensions import db
    from internal_affairs.notify.actions import Notice, notify_many
    from internal_affairs.notify.channels import Letter, MailSender
    from internal_affairs.notify.delivery import deliver_due
    from internal_affairs.notify.models import OutboxMessage
    from internal_affairs.org.models import Person
    from tests.support.channels import free_port

    sink = _Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    url = f"smtp://127.0.0.1:{port}"
    try:
        config = dict(app.config) | {"SMTP_URL": url, "WEBHOOK_URL": None}
        with app.app_context():
            app.config["SMTP_URL"] = url
            db.session.execute(delete(OutboxMessage))
            people = list(db.session.execute(select(Person).where(Person.mail.is_not(None))).scalars())
            now = utcnow()
            notices = [Notice((people[i % len(people)],), "bench.mail", f"基准通知 {i}", f"第 {i} 条基准通知正文。",
                              f"/cases/{i}", f"bench:{i}") for i in range(mails)]
            notify_many(notices, now=now)
            db.session.commit()
            letters = [Letter(i, f"bench:{i}", people[i % len(people)].mail, people[i % len(people)].name,
                              f"基准通知 {i}", f"第 {i} 条基准通知正文。", f"http://127.0.0.1:5000/cases/{i}")
                       for i in range(mails)]
            db.session.remove()
        log(f"bare smtplib: {mails} mails")
        sender = MailSender(url, "noreply@localhost")
        started = time.perf_counter()
        for letter in letters:
            sender.send(letter)
        sender.close()
        bare = time.perf_counter() - started
        log(f"outbox: {mails} mails")
        with app.app_context():
            started = time.perf_counter()
            report = deliver_due(config=config, holder="bench", now=utcnow)
            outbox = time.perf_counter() - started
            db.session.remove()
        bare_rate, outbox_rate = mails / bare, report.sent / outbox
        return {"mails": mails, "sent": report.sent, "received": sink.count,
                "bare_smtplib_per_second": round(bare_rate, 1), "outbox_per_second": round(outbox_rate, 1),
                "share_of_bare": round(outbox_rate / bare_rate, 3), "target_share": 0.5,
                "met": outbox_rate / bare_rate >= 0.5,
                "note": "bare: the same messages built by the same MailSender over one connection; outbox: "
                        "claim in batches of 50, then per message send + its own commit"}
    finally:
        controller.stop()


def machine(app) -> dict:
    from sqlalchemy import text

    from internal_affairs.extensions import db

    with app.app_context():
        version = db.session.execute(text("SHOW server_version")).scalar_one()
        db.session.remove()
    return {"cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "platform": platform.platform(), "postgresql": version,
            "same_machine": "PostgreSQL, the scan, the SMTP server and the sender share the CPUs"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/ia_bench_scheduler")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=5_000)
    parser.add_argument("--mails", type=int, default=2_000)
    args = parser.parse_args()
    from internal_affairs import create_app

    recreate(args.db)
    app = create_app({"ENVIRON": {"IA_DATABASE_URL": args.db, "IA_SECRET_KEY": "bench-scheduler"},
                      "INSTANCE_PATH": str(ROOT / "instance" / "bench-scheduler")})
    log("building the database")
    built = build(app, args.tasks, args.due)
    load = round(time.perf_counter() - T0, 1)
    log("one scan")
    scan = measure_scan(app, built["now"])
    delivery = measure_delivery(app, args.mails)
    print(json.dumps({"benchmark": "scheduler", "tasks": args.tasks, "due": args.due, "load_seconds": load,
                      "scan": scan, "delivery": delivery, "machine": machine(app)}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

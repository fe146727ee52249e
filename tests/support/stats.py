"""The supervision figures' fixed data set: nine cases around the 2026 National Day holiday (1–7
October off, Saturday 10 October a make-up working day; 25–27 September Mid-autumn, Sunday 20
September a make-up working day), and a factory writing it to the database with steps, tasks, a
deferred material and ratings, for the tests that check the figures by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["utc", "CASES", "PERIOD", "NOW", "AGENCIES", "MATTERS", "insert_dataset"]


def utc(local: str) -> datetime:
    """A Shanghai wall time ``YYYY-MM-DD HH:MM`` as the naive UTC the database stores."""
    return datetime.fromisoformat(local) - timedelta(hours=8)


CASES = {
    # key: (agency, matter, status, submitted, finished, due, returns)
    # A: the day before the holiday → the first working day after it: 1 working day, on time
    "A": (1, 1, "approved", "2026-09-30 10:00", "2026-10-08 15:00", "2026-10-09 17:30", 0),
    # B: Sep 30, Oct 8, 9, 10 (make-up Saturday), 12 → 5 working days, late, returned once
    "B": (1, 1, "approved", "2026-09-29 09:00", "2026-10-12 10:00", "2026-10-09 17:30", 1),
    # C: Friday → the make-up Saturday: 1 working day, on time
    "C": (1, 2, "completed", "2026-10-09 16:00", "2026-10-10 11:00", "2026-10-13 17:30", 0),
    # D: submitted before the period, across Mid-autumn and National Day: Sep 28, 29, 30, Oct 8, 9,
    #    10, 12, 13 → 8; no due time (left out of the on-time rate); rejected still counts finished
    "D": (2, 1, "rejected", "2026-09-24 09:00", "2026-10-13 11:00", None, 0),
    # E: finished the day it was submitted: 0 working days, on time, returned twice
    "E": (2, 2, "approved", "2026-10-08 09:00", "2026-10-08 17:00", "2026-10-09 17:30", 2),
    # F: open and overdue (not finished)
    "F": (2, 1, "in_progress", "2026-10-12 09:00", None, "2026-10-14 17:30", 0),
    # G: submitted before the period on Sunday 20 September, a make-up working day:
    #    Sep 21, 22, 23, 24, 28, 29, 30, Oct 8, 9 → 9, late
    "G": (1, 1, "approved", "2026-09-20 11:00", "2026-10-09 10:00", "2026-10-01 17:30", 0),
    # H: withdrawn in the period: counts in the volume, never as finished
    "H": (2, 2, "withdrawn", "2026-10-09 09:00", "2026-10-09 12:00", None, 0),
    # I: submitted in the period, finished after it
    "I": (1, 2, "approved", "2026-10-14 09:00", "2026-10-19 09:00", "2026-10-20 17:30", 0),
}
PERIOD = ("2026-09-28", "2026-10-16")
NOW = utc("2026-10-16 10:00")
AGENCIES = {1: "区教育局", 2: "区财政局"}
MATTERS = {1: "leave", 2: "business_trip"}

STEPS = [
    # case, step name, started, finished, actor, on the matter of the case
    ("A", "部门审核", "2026-09-30 10:00", "2026-10-08 09:00", "zhangwei"),   # 1
    ("B", "部门审核", "2026-09-29 09:00", "2026-10-09 10:00", "zhangwei"),   # Sep 30, Oct 8, 9 → 3
    ("B", "人事登记", "2026-10-09 10:00", "2026-10-12 10:00", "linxiaoyan"),  # Oct 10, 12 → 2
    ("C", "部门审核", "2026-10-09 16:00", "2026-10-10 11:00", "zhangwei"),   # 1
]
RATINGS = [("A", 5, None, "2026-10-09 09:00"), ("B", 2, "太慢了，节后才批", "2026-10-12 12:00"),
           ("D", 1, "被驳回也没说明原因", "2026-10-14 09:00")]


def insert_dataset(app) -> dict[str, int]:
    """FACTORY: the data set written directly (bypassing the engine, which cannot travel back to
    2026-09), with the steps and tasks above, F's pending task held by zhangwei since it was
    submitted, a deferred material of F due 13 October and one of A supplied, and the ratings.
    Returns case ids by key."""
    from sqlalchemy import func, select

    from internal_affairs.cases.models import Case, CaseMaterial, CaseStep, Task
    from internal_affairs.extensions import db
    from internal_affairs.matters.queries import get_matter
    from internal_affairs.org.models import Agency, Person
    from internal_affairs.stats.models import CaseRating

    with app.app_context():
        people = {p.uid: p for p in db.session.execute(select(Person).where(
            Person.uid.in_(["xujing", "zhangwei", "linxiaoyan"]))).scalars()}
        agencies = {k: db.session.execute(select(Agency.id).where(Agency.name == v)).scalar_one()
                    for k, v in AGENCIES.items()}
        matters = {k: get_matter(v) for k, v in MATTERS.items()}
        ids: dict[str, int] = {}
        already = db.session.execute(select(func.count()).select_from(Case)).scalar_one()
        for n, (key, (agency, matter, status, submitted, finished, due, returns)) in enumerate(CASES.items(), 1):
            loaded = matters[matter]
            case = Case(number=f"统计-2026-{already + n:06d}", agency_id=agencies[agency], matter_type_id=loaded.type.id,
                        matter_version_id=loaded.version.id, applicant_id=people["xujing"].id, status=status,
                        title=f"案例{key}", form={}, plan={}, created_at=utc(submitted), updated_at=utc(submitted),
                        submitted_at=utc(submitted), finished_at=utc(finished) if finished else None,
                        due_at=utc(due) if due else None, return_count=returns)
            db.session.add(case)
            db.session.flush()
            ids[key] = case.id
        for index, (key, name, started, finished, actor) in enumerate(STEPS):
            step = CaseStep(case_id=ids[key], index=index, name=name, kind="approval", mode="serial", status="done",
                            spec={}, started_at=utc(started), finished_at=utc(finished))
            db.session.add(step)
            db.session.flush()
            db.session.add(Task(case_id=ids[key], step_id=step.id, kind="approve", assignee_id=people[actor].id,
                                status="done", acted_by_id=people[actor].id, decision="approve",
                                created_at=utc(started), decided_at=utc(finished)))
        open_step = CaseStep(case_id=ids["F"], index=0, name="部门审核", kind="approval", mode="serial",
                             status="active", spec={}, started_at=utc("2026-10-12 09:00"))
        db.session.add(open_step)
        db.session.flush()
        db.session.add(Task(case_id=ids["F"], step_id=open_step.id, kind="approve", assignee_id=people["zhangwei"].id,
                            status="pending", created_at=utc("2026-10-12 09:00"), due_at=utc("2026-10-14 17:30")))
        db.session.add(CaseMaterial(case_id=ids["F"], material="proof", status="deferred", commitment="节后补交",
                                    due_at=utc("2026-10-13 17:30"), created_at=utc("2026-10-12 09:00")))
        db.session.add(CaseMaterial(case_id=ids["A"], material="proof", status="supplied", commitment="补交",
                                    due_at=utc("2026-10-09 17:30"), supplied_at=utc("2026-10-08 09:00"),
                                    created_at=utc("2026-09-30 10:00")))
        for key, score, comment, at in RATINGS:
            agency, matter = CASES[key][0], CASES[key][1]
            db.session.add(CaseRating(case_id=ids[key], agency_id=agencies[agency],
                                      matter_type_id=matters[matter].type.id, rater_id=people["xujing"].id,
                                      score=score, comment=comment, created_at=utc(at)))
        db.session.commit()
        return ids

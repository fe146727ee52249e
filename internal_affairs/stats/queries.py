"""Reads of the supervision dashboard: who may see which agencies' figures, the filters, and the
dashboard itself — a fixed number of statements whatever the data (no N+1), each reading only the
columns the figures need through the indexes of migration 0019.

The figures are computed by :mod:`internal_affairs.stats.figures` from the plain rows read here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Set
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Date, and_, case, func, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..calendar.queries import get_calendar
from ..cases.models import Case, CaseMaterial, CaseStep, Task
from ..errors import BadRequest, NotFound
from ..extensions import db
from ..matters.models import MatterType
from ..org.models import Agency, OrgGroup, OrgGroupMember, Person
from ..org.queries import get_hr_scope
from .figures import (FINISHED, LOCAL_OFFSET, CaseFacts, WorkDays, group_durations, group_ratings,
                      local_day, rating_figures, summarize_cases)
from .models import CaseRating

__all__ = ["StatsScope", "StatsFilters", "get_stats_scope", "parse_filters", "get_dashboard", "MAX_DAYS",
           "LIST_LIMIT", "DEFAULT_DAYS"]

MAX_DAYS = 366
DEFAULT_DAYS = 30
LIST_LIMIT = 50
"""How many overdue cases, missing materials and low ratings the dashboard lists (the counts are whole)."""
APPROVER_LIMIT = 20
DECISIONS = ("approve", "reject", "return", "done")


@dataclass(frozen=True)
class StatsScope:
    """Whose figures a person may see: the whole district, or some agencies."""

    district: bool
    agency_ids: frozenset[int]

    def allows(self, agency_id: int) -> bool:
        """True when this scope covers ``agency_id``."""
        return self.district or agency_id in self.agency_ids


def get_stats_scope(person: Person, roles: Set[str]) -> StatsScope:
    """The agencies whose supervision figures ``person`` may see: district leaders, the
    organisation department (its HR, or whoever holds ``cadre_management``) and administrators
    see the whole district; an agency's principal leader, its leaders in charge (of the agency or
    of one of its departments) and its HR see that agency. Pages and API ask only this.

    A district leader is a member of an agency-level 分管领导 group of another agency than their
    own (区领导 in charge of 区教育局), or of an agency-level 主要领导 or 分管领导 group of an agency
    such leaders belong to (the 区委书记 and the 区长 of 区领导; its secretaries are not). Raises
    :class:`NotFound` for anyone else.
    """
    hr = get_hr_scope(person, roles)
    if "admin" in roles or "cadre_management" in roles or hr.district:
        return StatsScope(True, frozenset())
    groups = db.session.execute(
        select(OrgGroup.kind, OrgGroup.agency_id, OrgGroup.department_id).join(OrgGroupMember)
        .where(OrgGroupMember.person_id == person.id, OrgGroup.active.is_(True),
               OrgGroup.kind.in_(("principal_leader", "leader_in_charge")))).all()
    if any(g.kind == "leader_in_charge" and g.department_id is None and g.agency_id != person.agency_id
           for g in groups):
        return StatsScope(True, frozenset())
    if any(g.department_id is None and g.agency_id == person.agency_id for g in groups) \
            and _is_district_leadership(person.agency_id):
        return StatsScope(True, frozenset())
    agencies = {g.agency_id for g in groups} | set(hr.agency_ids)
    if not agencies:
        raise NotFound()
    return StatsScope(False, frozenset(agencies))


def _is_district_leadership(agency_id: int) -> bool:
    """True when members of ``agency_id`` lead other agencies as their 分管领导."""
    return db.session.execute(
        select(OrgGroup.id).join(OrgGroupMember).join(Person, Person.id == OrgGroupMember.person_id)
        .where(OrgGroup.kind == "leader_in_charge", OrgGroup.department_id.is_(None), OrgGroup.active.is_(True),
               OrgGroup.agency_id != agency_id, Person.agency_id == agency_id).limit(1)).first() is not None


@dataclass(frozen=True)
class StatsFilters:
    """A dashboard question: the period (Shanghai days, both included) and optionally one agency
    and one matter type."""

    start_day: date
    end_day: date
    agency_id: int | None = None
    matter_type_id: int | None = None
    matter_code: str | None = None

    @property
    def start(self) -> datetime:
        """The period's first instant, naive UTC."""
        return datetime.combine(self.start_day, datetime.min.time()) - LOCAL_OFFSET

    @property
    def end(self) -> datetime:
        """The instant after the period, naive UTC."""
        return datetime.combine(self.end_day + timedelta(days=1), datetime.min.time()) - LOCAL_OFFSET

    def to_json(self) -> dict[str, Any]:
        return {"from": self.start_day.isoformat(), "to": self.end_day.isoformat(), "agency": self.agency_id,
                "matter_type": self.matter_code}


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadRequest(_("%(name)s 必须是日期（YYYY-MM-DD）。", name=name), code="bad_date") from None


def parse_filters(args, scope: StatsScope, *, now: datetime) -> StatsFilters:
    """The filters of ``?agency=&matter_type=&from=&to=`` (empty means all, and the last 30 days).

    Raises :class:`BadRequest` (400) for a malformed or reversed period, one longer than a year, an
    agency id that is not a number or a matter type that does not exist; :class:`NotFound` for an
    agency outside ``scope``."""
    today = local_day(now)
    raw_from, raw_to = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    end_day = _day(raw_to, "to") if raw_to else today
    start_day = _day(raw_from, "from") if raw_from else end_day - timedelta(days=DEFAULT_DAYS - 1)
    if end_day < start_day:
        raise BadRequest(_("开始日期不能晚于结束日期。"), code="bad_range")
    if (end_day - start_day).days + 1 > MAX_DAYS:
        raise BadRequest(_("统计期间最长 %(n)s 天。", n=MAX_DAYS), code="bad_range")
    agency_id = None
    raw_agency = (args.get("agency") or "").strip()
    if raw_agency:
        if not raw_agency.isdigit() or not 0 < int(raw_agency) < 2**31:
            raise BadRequest(_("agency 必须是单位编号。"), code="bad_agency")
        agency_id = int(raw_agency)
        if not scope.allows(agency_id) or db.session.get(Agency, agency_id) is None:
            raise NotFound()
    matter_type_id, matter_code = None, None
    raw_matter = (args.get("matter_type") or "").strip()
    if raw_matter:
        matter_type_id = db.session.execute(select(MatterType.id).where(MatterType.code == raw_matter[:50])).scalar()
        if matter_type_id is None or len(raw_matter) > 50:
            raise BadRequest(_("没有这个事项类型：%(code)s。", code=raw_matter[:50]), code="bad_matter_type")
        matter_code = raw_matter
    return StatsFilters(start_day, end_day, agency_id, matter_type_id, matter_code)


def _where(filters: StatsFilters, scope: StatsScope, agency_col=Case.agency_id, matter_col=Case.matter_type_id):
    conditions = []
    if filters.agency_id is not None:
        conditions.append(agency_col == filters.agency_id)
    elif not scope.district:
        conditions.append(agency_col.in_(sorted(scope.agency_ids)))
    if filters.matter_type_id is not None:
        conditions.append(matter_col == filters.matter_type_id)
    return conditions


class local_date(FunctionElement):
    """The Shanghai calendar day of a naive UTC timestamp column, computed by the database (so
    that rows can be grouped by day)."""

    type = Date()
    inherit_cache = True
    name = "local_date"


@compiles(local_date)
def _local_date_sqlite(element, compiler, **kw):
    return "date(%s, '+8 hours')" % compiler.process(element.clauses, **kw)


@compiles(local_date, "postgresql")
def _local_date_pg(element, compiler, **kw):
    return "CAST((%s + INTERVAL '8 hours') AS DATE)" % compiler.process(element.clauses, **kw)


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() + "Z" if instant else None


def _trend(facts: list[CaseFacts], filters: StatsFilters) -> list[dict[str, Any]]:
    """Volume and finished cases per week (Monday's date) for a period up to 92 days, else per month."""
    weekly = (filters.end_day - filters.start_day).days < 92

    def bucket(day: date) -> date:
        return day - timedelta(days=day.weekday()) if weekly else day.replace(day=1)

    keys: list[date] = []
    day = bucket(filters.start_day)
    while day <= filters.end_day:
        keys.append(day)
        day = day + timedelta(days=7) if weekly else (day + timedelta(days=32)).replace(day=1)
    volume = Counter()
    finished = Counter()
    for _a, _m, submitted_day, finished_day, submitted_in, finished_in, *_flags, n in facts:
        if submitted_in and submitted_day:
            volume[submitted_day] += n
        if finished_in and finished_day:
            finished[finished_day] += n
    per_volume, per_finished = Counter(), Counter()
    for day, n in volume.items():
        per_volume[bucket(day)] += n
    for day, n in finished.items():
        per_finished[bucket(day)] += n
    volume, finished = per_volume, per_finished
    return [{"from": k.isoformat(), "unit": "week" if weekly else "month", "volume": volume[k],
             "finished": finished[k]} for k in keys]


def _flag(condition):
    return case((condition, 1), else_=0)


def _case_facts(filters: StatsFilters, where: list) -> list[Any]:
    """The cases submitted or finished in the period, grouped by everything the figures ask of
    them: rows shaped like :class:`CaseFacts`, one per group, with its count."""
    start, end = filters.start, filters.end
    raw = (Case.agency_id, Case.matter_type_id, Case.status, Case.submitted_at, Case.finished_at, Case.due_at,
           Case.return_count)
    submitted = and_(Case.submitted_at >= start, Case.submitted_at < end)
    finished_only = and_(Case.finished_at >= start, Case.finished_at < end, Case.status.in_(sorted(FINISHED)),
                         or_(Case.submitted_at < start, Case.submitted_at >= end))
    # two range reads, each from its own covering index, rather than one OR that reads the table
    both = union_all(select(*raw).where(submitted, *where), select(*raw).where(finished_only, *where)).subquery()
    c = both.c
    finished_in = and_(c.status.in_(sorted(FINISHED)), c.finished_at >= start, c.finished_at < end,
                       c.submitted_at.is_not(None))
    columns = (c.agency_id, c.matter_type_id, local_date(c.submitted_at), local_date(c.finished_at),
               _flag(and_(c.submitted_at >= start, c.submitted_at < end)), _flag(finished_in),
               _flag(c.due_at.is_not(None)), _flag(c.finished_at <= c.due_at), _flag(c.return_count == 0))
    return _rows(select(*columns, func.count()).group_by(*columns))


def _rows(statement) -> list[Any]:
    """The rows of a read-only ``statement`` as the connection returns them (named tuples),
    without the ORM's per-row work: the dashboard's grouped reads return tens of thousands."""
    return db.session.connection().execute(statement).all()


def get_dashboard(scope: StatsScope, filters: StatsFilters, *, now: datetime) -> dict[str, Any]:
    """Every figure of the dashboard for ``filters`` within ``scope`` (see
    :mod:`internal_affairs.stats.figures` for the units and conventions), in a fixed number of
    statements."""
    start, end = filters.start, filters.end
    days = WorkDays(get_calendar())
    where = _where(filters, scope)
    finished_in = and_(Case.status.in_(sorted(FINISHED)), Case.finished_at >= start, Case.finished_at < end)

    facts = _case_facts(filters, where)

    step_days = (Case.matter_type_id.label("matter_type_id"), CaseStep.name.label("name"),
                 local_date(CaseStep.started_at).label("start_day"), local_date(CaseStep.finished_at).label("end_day"))
    steps = _rows(select(*step_days, func.count().label("count")).join(CaseStep, CaseStep.case_id == Case.id)
                  .where(finished_in, *where, CaseStep.status == "done", CaseStep.started_at.is_not(None),
                         CaseStep.finished_at.is_not(None)).group_by(*step_days))

    task_days = (Task.acted_by_id.label("key"), local_date(Task.created_at).label("start_day"),
                 local_date(Task.decided_at).label("end_day"))
    decided = _rows(select(*task_days, func.count().label("count")).join(Case, Case.id == Task.case_id)
                    .where(finished_in, *where, Task.decision.in_(DECISIONS), Task.acted_by_id.is_not(None),
                           Task.decided_at.is_not(None)).group_by(*task_days))

    overdue_where = [Case.status == "in_progress", Case.due_at < now, *where]
    overdue_total = db.session.execute(select(func.count()).select_from(Case).where(*overdue_where)).scalar_one()
    overdue_cases = db.session.execute(
        select(Case.id, Case.number, Case.title, Case.agency_id, Case.matter_type_id, Case.due_at)
        .where(*overdue_where).order_by(Case.due_at, Case.id).limit(LIST_LIMIT)).all()
    holders: dict[int, list[dict[str, Any]]] = {}
    if overdue_cases:
        for case_id, uid, name, since in db.session.execute(
                select(Task.case_id, Person.uid, Person.name, Task.created_at)
                .join(Person, Person.id == Task.assignee_id)
                .where(Task.case_id.in_([c.id for c in overdue_cases]), Task.status == "pending")
                .order_by(Task.case_id, Task.id)):
            holders.setdefault(case_id, []).append(
                {"uid": uid, "name": name, "since": _iso(since), "held_days": days.between(since, now)})

    material_where = [CaseMaterial.status == "deferred", Case.status.not_in(("withdrawn", "draft")), *where]
    missing_total, missing_overdue = db.session.execute(
        select(func.count(), func.count().filter(CaseMaterial.due_at < now))
        .select_from(CaseMaterial).join(Case, Case.id == CaseMaterial.case_id).where(*material_where)).one()
    missing = db.session.execute(
        select(CaseMaterial.case_id, Case.number, Case.agency_id, CaseMaterial.material, CaseMaterial.due_at)
        .join(Case, Case.id == CaseMaterial.case_id).where(*material_where)
        .order_by(CaseMaterial.due_at, CaseMaterial.id).limit(LIST_LIMIT)).all()

    rating_where = [CaseRating.created_at >= start, CaseRating.created_at < end,
                    *_where(filters, scope, CaseRating.agency_id, CaseRating.matter_type_id)]
    ratings = _rows(select(CaseRating.agency_id, CaseRating.matter_type_id, CaseRating.score).where(*rating_where))
    rated_columns = (CaseRating.matter_type_id, CaseStep.name, CaseRating.score)
    rated_steps = _rows(
        select(*rated_columns, func.count()).join(CaseStep, CaseStep.case_id == CaseRating.case_id)
        .where(*rating_where, CaseStep.status.in_(("done", "rejected"))).group_by(*rated_columns))
    low = db.session.execute(
        select(CaseRating.case_id, Case.number, Case.title, CaseRating.agency_id, CaseRating.matter_type_id,
               CaseRating.score, CaseRating.comment, CaseRating.created_at)
        .join(Case, Case.id == CaseRating.case_id).where(*rating_where, CaseRating.score <= 2)
        .order_by(CaseRating.created_at.desc(), CaseRating.id.desc()).limit(LIST_LIMIT)).all()

    approver_figures = group_durations(decided, days)
    slowest = sorted(approver_figures.items(), key=lambda kv: (-(kv[1]["median_days"] or 0), -kv[1]["count"], kv[0]))
    slowest = slowest[:APPROVER_LIMIT]
    people = {p.id: p for p in db.session.execute(
        select(Person.id, Person.uid, Person.name, Person.agency_id)
        .where(Person.id.in_([pid for pid, _f in slowest])))} if slowest else {}
    agencies = dict(db.session.execute(select(Agency.id, Agency.name)).all())
    matters = {m.id: m for m in db.session.execute(select(MatterType.id, MatterType.code, MatterType.name))}

    def agency_ref(agency_id: int) -> dict[str, Any]:
        return {"id": agency_id, "name": agencies.get(agency_id)}

    def matter_ref(matter_id: int) -> dict[str, Any]:
        matter = matters.get(matter_id)
        return {"code": matter.code if matter else None, "name": matter.name if matter else None}

    cases = summarize_cases(facts, days)
    by_agency_ratings = group_ratings((r.agency_id, r.score) for r in ratings)
    by_matter_ratings = group_ratings((r.matter_type_id, r.score) for r in ratings)
    by_step_ratings = group_ratings(((m, n), s, c) for m, n, s, c in rated_steps)
    return {
        "filters": filters.to_json(),
        "scope": "district" if scope.district else "agencies",
        "unit": "working_days",
        "generated_at": _iso(now),
        "totals": cases["total"] | {
            "overdue_now": overdue_total, "materials_missing": missing_total,
            "materials_overdue": missing_overdue},
        "by_agency": sorted(({"agency": agency_ref(k)} | v for k, v in cases["agency"].items()),
                            key=lambda x: (-x["volume"], x["agency"]["id"])),
        "by_matter": sorted(({"matter_type": matter_ref(k)} | v for k, v in cases["matter"].items()),
                            key=lambda x: (-x["volume"], x["matter_type"]["code"] or "")),
        "trend": _trend(facts, filters),
        "steps": sorted(({"matter_type": matter_ref(m), "step": n} | v
                         for (m, n), v in group_durations(steps, days).items()),
                        key=lambda x: (x["matter_type"]["code"] or "", -(x["median_days"] or 0), x["step"])),
        "approvers": [{"uid": people[pid].uid, "name": people[pid].name,
                       "agency": agency_ref(people[pid].agency_id)} | fig
                      for pid, fig in slowest if pid in people],
        "overdue": {"total": overdue_total, "items": [
            {"case_id": c.id, "number": c.number, "title": c.title, "agency": agency_ref(c.agency_id),
             "matter_type": matter_ref(c.matter_type_id), "due_at": _iso(c.due_at),
             "overdue_days": days.between(c.due_at, now), "holders": holders.get(c.id, [])}
            for c in overdue_cases]},
        "materials": {"missing": missing_total, "overdue": missing_overdue, "items": [
            {"case_id": m.case_id, "number": m.number, "agency": agency_ref(m.agency_id), "material": m.material,
             "due_at": _iso(m.due_at), "overdue": m.due_at < now} for m in missing]},
        "ratings": rating_figures(r.score for r in ratings) | {
            "by_agency": sorted(({"agency": agency_ref(k)} | v for k, v in by_agency_ratings.items()),
                                key=lambda x: x["agency"]["id"]),
            "by_matter": sorted(({"matter_type": matter_ref(k)} | v for k, v in by_matter_ratings.items()),
                                key=lambda x: x["matter_type"]["code"] or ""),
            "by_step": sorted(({"matter_type": matter_ref(m), "step": n} | v
                               for (m, n), v in by_step_ratings.items()),
                              key=lambda x: (x["matter_type"]["code"] or "", x["step"])),
            "low_items": [{"case_id": r.case_id, "number": r.number, "title": r.title,
                           "agency": agency_ref(r.agency_id), "matter_type": matter_ref(r.matter_type_id),
                           "score": r.score, "comment": r.comment, "at": _iso(r.created_at)} for r in low],
        },
    }

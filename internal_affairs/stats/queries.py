"""Reads of the supervision dashboard: who may see which agencies' figures, the filters, and the
dashboard itself — a fixed number of statements whatever the data (no N+1), each reading only the
columns the figures need through the indexes of migration 0019.

The figures are computed by :mod:`internal_affairs.stats.figures` from the rows read here, which
the database has grouped: by working days taken (counted from a running count per calendar day that
:class:`~internal_affairs.stats.figures.WorkDays` computes from the calendar and passes as one
parameter, see :class:`_Spans`), by trend bucket and by score, so that a district's year arrives
as a few thousand rows rather than a hundred thousand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Set
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Date, Integer, String, TypeDecorator, and_, case, cast, func, literal, null, select, text, union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..calendar.queries import get_calendar
from ..cases.models import Case, CaseMaterial, CaseStep, Task
from ..errors import BadRequest, NotFound
from ..extensions import db
from ..inputs import is_db_id
from ..matters.models import MatterType
from ..org.models import Agency, OrgGroup, OrgGroupMember, Person
from ..org.queries import get_hr_scope
from .figures import (FINISHED, LOCAL_OFFSET, WorkDays, group_ratings,
                      group_spans, local_day, rating_figures, summarize_case_groups)
from .models import CaseRating

__all__ = ["StatsScope", "StatsFilters", "get_stats_scope", "parse_filters", "get_dashboard", "MAX_DAYS",
           "LIST_LIMIT", "DEFAULT_DAYS"]

MAX_DAYS = 366
DEFAULT_DAYS = 30
LIST_LIMIT = 50
"""How many overdue cases, missing materials and low ratings the dashboard lists (the counts are whole)."""
APPROVER_LIMIT = 20
DECISIONS = ("approve", "reject", "return", "done")
"""The decisions counted per approver; the partial index ix_task_decided (migration 0022) lists the same."""


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
        if not is_db_id(raw_agency):
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


class _DayValues(TypeDecorator):
    """A list of integers bound as one parameter: an ``INTEGER[]`` on PostgreSQL (a typed
    parameter: a text, or a smallint[], cast to an integer[] would be converted again for every row
    of a generic plan), a JSON array on SQLite."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(Integer()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value, dialect):
        if dialect.name == "postgresql":
            if dialect.driver == "psycopg":  # as an int4[]: psycopg sends small integers as int2[]
                from psycopg.types.numeric import Int4

                return [Int4(v) for v in value]
            return [int(v) for v in value]
        return "[%s]" % ",".join(str(int(v)) for v in value)


class day_lookup(FunctionElement):
    """``values[day - first]`` for a Date expression ``day``: one integer per calendar day from
    ``first``, NULL for a day outside the list. ``day_lookup(day, first, values)``."""

    type = Integer()
    inherit_cache = True
    name = "day_lookup"


@compiles(day_lookup)
def _day_lookup_sqlite(element, compiler, **kw):
    day, first, values = (compiler.process(c, **kw) for c in element.clauses)
    return ("CASE WHEN %(day)s >= %(first)s THEN json_extract(%(values)s, '$[' || "
            "CAST(julianday(%(day)s) - julianday(%(first)s) AS INTEGER) || ']') END"
            % {"day": day, "first": first, "values": values})


@compiles(day_lookup, "postgresql")
def _day_lookup_pg(element, compiler, **kw):
    day, first, values = (compiler.process(c, **kw) for c in element.clauses)
    # the parameter is an int4[] already (see _DayValues), so the cast costs nothing per row even in
    # a generic plan; a smallint[] cast to integer[] would be redone for every row of one
    return "(CAST(%s AS INTEGER[]))[(%s - CAST(%s AS DATE)) + 1]" % (values, day, first)


COUNTED_BEFORE = timedelta(days=400)
"""How far before the period the database is given the running count of working days: steps and
tasks that started earlier are counted in Python from their days (exactly the same figures)."""


class _Spans:
    """Working days between two timestamp columns, counted by the database from a running count of
    working days per calendar day that :class:`WorkDays` computes (the calendar's rules stay in
    one place), so that rows are grouped by working days rather than by pairs of days."""

    def __init__(self, days: WorkDays, first: date, last: date) -> None:
        self.first = literal(first, Date())
        self.counts = literal(days.running_counts(first, last), _DayValues())

    def columns(self, started, finished) -> tuple:
        """Working days from ``started`` to ``finished`` (NULL for a day the running count does
        not cover), and the two days where it is NULL (else NULL)."""
        start_day, end_day = local_date(started), local_date(finished)
        counted = day_lookup(end_day, self.first, self.counts) - day_lookup(start_day, self.first, self.counts)
        duration = case((end_day <= start_day, 0), else_=counted)
        uncounted = duration.is_(None)
        return (duration.label("days"), case((uncounted, start_day)).label("start_day"),
                case((uncounted, end_day)).label("end_day"))


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() + "Z" if instant else None


def _bucket(filters: StatsFilters) -> Callable[[date], date]:
    """The trend's unit: a week (its Monday) for a period up to 92 days, else a month (its first day)."""
    if (filters.end_day - filters.start_day).days < 92:
        return lambda day: day - timedelta(days=day.weekday())
    return lambda day: day.replace(day=1)


def _trend(submitted: Counter, finished: Counter, filters: StatsFilters) -> list[dict[str, Any]]:
    """Volume and finished cases per week or month (see :func:`_bucket`), from counts per bucket."""
    bucket = _bucket(filters)
    weekly = (filters.end_day - filters.start_day).days < 92
    keys: list[date] = []
    day = bucket(filters.start_day)
    while day <= filters.end_day:
        keys.append(day)
        day = day + timedelta(days=7) if weekly else (day + timedelta(days=32)).replace(day=1)
    return [{"from": k.isoformat(), "unit": "week" if weekly else "month", "volume": submitted[k],
             "finished": finished[k]} for k in keys]


def _flag(condition):
    return case((condition, 1), else_=0)


def _case_groups(filters: StatsFilters, where: list, spans: _Spans) -> tuple[list, list, Counter, Counter]:
    """The cases submitted or finished in the period, grouped by the database in one statement of
    two parts: those submitted, per agency, matter and trend bucket; those finished (approved,
    rejected or completed), per agency, matter, trend bucket, working days taken and the three
    flags. Returns the rows :func:`summarize_case_groups` takes and the trend's
    counts per bucket (its first day)."""
    start, end = filters.start, filters.end
    bucket = _bucket(filters)
    period = [filters.start_day + timedelta(days=i) for i in range((filters.end_day - filters.start_day).days + 1)]
    first = literal(filters.start_day, Date())
    buckets = literal([bucket(day).toordinal() for day in period], _DayValues())
    no_int, no_day = cast(null(), Integer()), cast(null(), Date())
    submitted_bucket = day_lookup(local_date(Case.submitted_at), first, buckets)
    finished_bucket = day_lookup(local_date(Case.finished_at), first, buckets)
    finished_in = [Case.finished_at >= start, Case.finished_at < end, Case.status.in_(sorted(FINISHED)),
                   Case.submitted_at.is_not(None), *where]
    duration, start_day, end_day = spans.columns(Case.submitted_at, Case.finished_at)
    flags = (_flag(Case.due_at.is_not(None)), _flag(Case.finished_at <= Case.due_at), _flag(Case.return_count == 0))
    submitted = select(literal(0), Case.agency_id, Case.matter_type_id, submitted_bucket, no_int, no_day, no_day,
                       no_int, no_int, no_int, func.count()) \
        .where(Case.submitted_at >= start, Case.submitted_at < end, *where) \
        .group_by(Case.agency_id, Case.matter_type_id, submitted_bucket)
    # the finished cases once, per trend bucket too: a few more groups rather than a second read
    finished = select(literal(1), Case.agency_id, Case.matter_type_id, finished_bucket, duration, start_day, end_day,
                      *flags, func.count()).where(*finished_in) \
        .group_by(Case.agency_id, Case.matter_type_id, finished_bucket, duration, start_day, end_day, *flags)
    volume, done, by_submitted, by_finished = [], [], Counter(), Counter()
    for kind, agency, matter, bucket_day, days, start_day, end_day, with_due, on_time, one_trip, n in _rows(
            union_all(submitted, finished)):
        if kind == 0:
            volume.append((agency, matter, n))
            by_submitted[date.fromordinal(bucket_day)] += n
        else:
            done.append((agency, matter, days, _as_date(start_day), _as_date(end_day), with_due, on_time, one_trip, n))
            by_finished[date.fromordinal(bucket_day)] += n
    return volume, done, by_submitted, by_finished


def _as_date(value) -> date | None:
    """A day as the database returns it (SQLite: text)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _rows(statement) -> list[Any]:
    """The rows of a read-only ``statement`` as the connection returns them (named tuples),
    without the ORM's per-row work: the dashboard's grouped reads return tens of thousands."""
    return db.session.connection().execute(statement).all()


def get_dashboard(scope: StatsScope, filters: StatsFilters, *, now: datetime) -> dict[str, Any]:
    """Every figure of the dashboard for ``filters`` within ``scope`` (see
    :mod:`internal_affairs.stats.figures` for the units and conventions), in a fixed number of
    statements."""
    start, end = filters.start, filters.end
    if db.session.get_bind().dialect.name == "postgresql":
        # plan each read for its actual period: once psycopg prepares a statement (its fifth run on
        # a connection) PostgreSQL would settle on a generic plan that guesses a few hundred rows
        # for any period, serial and sorting (bench/stats.py: the year's tasks 130 → 200 ms)
        db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    days = WorkDays(get_calendar())
    where = _where(filters, scope)
    finished_in = and_(Case.status.in_(sorted(FINISHED)), Case.finished_at >= start, Case.finished_at < end)

    spans = _Spans(days, filters.start_day - COUNTED_BEFORE, filters.end_day)
    submitted, finished, trend_submitted, trend_finished = _case_groups(filters, where, spans)

    step_days = (Case.matter_type_id.label("matter_type_id"), CaseStep.name.label("name"),
                 *spans.columns(CaseStep.started_at, CaseStep.finished_at))
    steps = _rows(select(*step_days, func.count().label("count")).join(CaseStep, CaseStep.case_id == Case.id)
                  .where(finished_in, *where, CaseStep.status == "done", CaseStep.started_at.is_not(None),
                         CaseStep.finished_at.is_not(None)).group_by(*step_days))

    task_days = (Task.acted_by_id.label("key"), *spans.columns(Task.created_at, Task.decided_at))
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
    rating_columns = (CaseRating.agency_id, CaseRating.matter_type_id, CaseRating.score)
    ratings = _rows(select(*rating_columns, func.count()).where(*rating_where).group_by(*rating_columns))
    rated_columns = (CaseRating.matter_type_id, CaseStep.name, CaseRating.score)
    rated_steps = _rows(
        select(*rated_columns, func.count()).join(CaseStep, CaseStep.case_id == CaseRating.case_id)
        .where(*rating_where, CaseStep.status.in_(("done", "rejected"))).group_by(*rated_columns))
    low = db.session.execute(
        select(CaseRating.case_id, Case.number, Case.title, CaseRating.agency_id, CaseRating.matter_type_id,
               CaseRating.score, CaseRating.comment, CaseRating.created_at)
        .join(Case, Case.id == CaseRating.case_id).where(*rating_where, CaseRating.score <= 2)
        .order_by(CaseRating.created_at.desc(), CaseRating.id.desc()).limit(LIST_LIMIT)).all()

    approver_figures = group_spans(decided, days)
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

    cases = summarize_case_groups(submitted, finished, days)
    by_agency_ratings = group_ratings((a, s, c) for a, _m, s, c in ratings)
    by_matter_ratings = group_ratings((m, s, c) for _a, m, s, c in ratings)
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
        "trend": _trend(trend_submitted, trend_finished, filters),
        "steps": sorted(({"matter_type": matter_ref(m), "step": n} | v
                         for (m, n), v in group_spans(steps, days).items()),
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
        "ratings": rating_figures((s, c) for _a, _m, s, c in ratings) | {
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

"""Time limits: reminders before a due time, overdue marks after it, and the escalation a route
step declares — each fired once and recorded on the case.

The planner (:func:`plan_time_events`) is pure: open items with their due instants and reminder
leads, the working-day calendar, what already fired, and ``now`` in; the events to fire out. The
scan (:func:`scan_time_limits`) reads the candidates, asks the planner, and fires each event in
the same transaction as its unique :class:`~internal_affairs.jobs.models.TimeMark` (item, kind),
its audit event and its outbox rows — a rerun, or a second scanner, fires nothing again.

Items: pending tasks (steps' tasks and post-approval obligations alike; a step's escalation
applies to each of its open tasks), deferred materials (容缺) before and after their supply
deadline, and cases past their promised time limit (an overdue mark only).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from sqlalchemy import exists, select

from ..audit.actions import Event, record_event, record_events
from ..calendar.queries import get_calendar
from ..calendar.working_days import WorkCalendar
from ..clock import LOCAL_OFFSET
from ..delegation.queries import acting_delegate
from ..errors import DomainError
from ..extensions import db
from ..jobs.models import TimeMark
from ..matters.models import MatterType, MatterVersion
from ..matters.queries import definition_of
from ..notify.actions import Notice, notify, notify_many
from ..notify.bulk import insert_new
from ..org.models import Person
from ..org.queries import get_hr_holders
from .models import OPEN_TASK, Case, CaseMaterial, CaseStep, Task

__all__ = ["WORK_PERIODS", "DEFAULT_LEAD_HOURS", "OpenItem", "TimeEvent", "plan_time_events",
           "working_hours_before", "working_hours_after", "ScanReport", "scan_time_limits",
           "get_time_marks", "register_template_helpers"]

WORK_PERIODS = ((_dt.time(8, 30), _dt.time(12, 0)), (_dt.time(13, 30), _dt.time(17, 30)))
"""Working hours of a working day, local time: the reminder lead counts only these."""
DEFAULT_LEAD_HOURS = Decimal(4)
_MAX_DAYS = 400


# ---- the pure planner -------------------------------------------------------------------------

def working_hours_before(due_local: _dt.datetime, hours: Decimal | int, calendar: WorkCalendar) -> _dt.datetime:
    """The local instant ``hours`` working hours before ``due_local`` (naive local time)."""
    remaining = _dt.timedelta(hours=float(hours))
    cursor = due_local
    for _ in range(_MAX_DAYS):
        day = cursor.date()
        if calendar.is_working_day(day):
            for start, end in reversed(WORK_PERIODS):
                lo = _dt.datetime.combine(day, start)
                hi = min(_dt.datetime.combine(day, end), cursor)
                if hi <= lo:
                    continue
                if remaining <= hi - lo:
                    return hi - remaining
                remaining -= hi - lo
        cursor = _dt.datetime.combine(day, _dt.time(0)) - _dt.timedelta(microseconds=1)
    return cursor


def working_hours_after(start_local: _dt.datetime, hours: Decimal | int, calendar: WorkCalendar) -> _dt.datetime:
    """The local instant ``hours`` working hours after ``start_local`` (naive local time)."""
    remaining = _dt.timedelta(hours=float(hours))
    cursor = start_local
    for _ in range(_MAX_DAYS):
        day = cursor.date()
        if calendar.is_working_day(day):
            for start, end in WORK_PERIODS:
                lo = max(_dt.datetime.combine(day, start), cursor)
                hi = _dt.datetime.combine(day, end)
                if hi <= lo:
                    continue
                if remaining <= hi - lo:
                    return lo + remaining
                remaining -= hi - lo
        cursor = _dt.datetime.combine(day + _dt.timedelta(days=1), _dt.time(0))
    return cursor


@dataclass(frozen=True)
class OpenItem:
    """Something with a due instant (naive UTC): ``item_type`` ``task`` | ``material`` | ``case``."""

    item_type: str
    item_id: int
    case_id: int
    due_at: _dt.datetime
    lead_hours: Decimal = DEFAULT_LEAD_HOURS
    on_timeout: str | None = None
    escalate_to: str | None = None


@dataclass(frozen=True)
class TimeEvent:
    item: OpenItem
    kind: str
    """``reminder`` | ``overdue`` | ``escalation``."""


def plan_time_events(items: Iterable[OpenItem], *, now: _dt.datetime, calendar: WorkCalendar,
                     fired: Mapping[tuple[str, int], set[str]] | None = None) -> list[TimeEvent]:
    """The events due at ``now`` (naive UTC) that have not fired: a reminder from ``lead_hours``
    working hours before the due instant until it (none once overdue: the overdue mark says
    more), the overdue mark from the due instant on, and with it the escalation when the step
    declares ``on_timeout: escalate`` or ``auto_approve``. Cases get only the overdue mark."""
    fired = fired or {}
    events: list[TimeEvent] = []
    for item in items:
        done = fired.get((item.item_type, item.item_id), set())
        if now >= item.due_at:
            if "overdue" not in done:
                events.append(TimeEvent(item, "overdue"))
            if item.on_timeout in ("escalate", "auto_approve") and "escalation" not in done:
                events.append(TimeEvent(item, "escalation"))
            continue
        if item.item_type == "case" or "reminder" in done:
            continue
        remind_at = working_hours_before(item.due_at + LOCAL_OFFSET, item.lead_hours, calendar) - LOCAL_OFFSET
        if now >= remind_at:
            events.append(TimeEvent(item, "reminder"))
    return events


# ---- the scan ---------------------------------------------------------------------------------

@dataclass
class ScanReport:
    candidates: int = 0
    fired: int = 0
    reminders: int = 0
    overdue: int = 0
    escalations: int = 0
    problems: list[str] = field(default_factory=list)


def _local(at: _dt.datetime) -> str:
    return (at + LOCAL_OFFSET).strftime("%m月%d日 %H:%M")


def _insert_marks(rows: list[dict[str, Any]]) -> set[tuple[str, int, str]]:
    """Insert marks, skipping those that exist; returns the (type, id, kind) that are new."""
    return set(insert_new(TimeMark.__table__, rows, conflict=("item_type", "item_id", "kind"),
                          returning=("item_type", "item_id", "kind")))


def _matter_settings(version_ids: Iterable[int]) -> dict[int, tuple[Decimal, dict[str, tuple[str | None, str | None]]]]:
    """Per matter version: the reminder lead and each step's (on_timeout, escalate_to)."""
    found: dict[int, tuple[Decimal, dict[str, tuple[str | None, str | None]]]] = {}
    ids = sorted(set(version_ids))
    if not ids:
        return found
    for version in db.session.execute(select(MatterVersion).where(MatterVersion.id.in_(ids))).scalars():
        definition = definition_of(version)
        found[version.id] = (definition.remind_before_hours, _route_steps(definition.route))
    return found


def _route_steps(route: Any) -> dict[Any, tuple[str | None, str | None]]:
    """Each step's timeout rule by (variant, step name), and by step name alone for the first
    variant that has it."""
    steps: dict[Any, tuple[str | None, str | None]] = {}
    for variant in route.variants:
        for step in variant.steps:
            steps[(variant.name, step.name)] = (step.on_timeout, step.escalate_to)
            steps.setdefault(step.name, (step.on_timeout, step.escalate_to))
    return steps


_UNFINISHED = ("in_progress", "approved", "returned")
"""The case statuses with work still watched: open tasks, obligations, deferred materials."""


def _open_settings() -> dict[int, tuple[Decimal, dict[str, tuple[str | None, str | None]]]]:
    """:func:`_matter_settings` of every matter version an unfinished case was submitted under:
    the reminder lead that reaches furthest ahead is among them, whichever version is current."""
    return _matter_settings(db.session.execute(
        select(Case.matter_version_id).where(Case.status.in_(_UNFINISHED)).distinct()).scalars())


def _not_overdue(item_type: str, id_column):
    return ~exists().where(TimeMark.item_type == item_type, TimeMark.item_id == id_column, TimeMark.kind == "overdue")


def scan_time_limits(*, now: _dt.datetime, batch: int = 5000) -> ScanReport:
    """Fire every due reminder, overdue mark and escalation once; commits per batch (escalations
    that hand a task on commit on their own). Returns what fired."""
    now = now.replace(tzinfo=None)
    calendar = get_calendar()
    report = ScanReport()
    settings = _open_settings()
    lead = max([lead for lead, _steps in settings.values()] + [DEFAULT_LEAD_HOURS])
    horizon = working_hours_after(now + LOCAL_OFFSET, lead, calendar) - LOCAL_OFFSET
    tasks = db.session.execute(
        select(Task.id, Task.case_id, Task.due_at, Task.assignee_id, Task.kind, Task.obligation_code,
               CaseStep.name, Case.variant, Case.matter_version_id, Case.number, Case.title, Case.applicant_id, Case.agency_id,
               Case.matter_type_id)
        .join(Case, Case.id == Task.case_id).outerjoin(CaseStep, CaseStep.id == Task.step_id)
        .where(Task.status == OPEN_TASK, Task.due_at.is_not(None), Task.due_at <= horizon,
               _not_overdue("task", Task.id),
               # a task the scan itself handed on (escalation to HR) does not escalate again
               ~exists().where(TimeMark.item_type == "task", TimeMark.item_id == Task.parent_task_id,
                               TimeMark.kind == "escalation"))).all()
    materials = db.session.execute(
        select(CaseMaterial.id, CaseMaterial.case_id, CaseMaterial.due_at, CaseMaterial.material,
               Case.matter_version_id, Case.number, Case.title, Case.applicant_id)
        .join(Case, Case.id == CaseMaterial.case_id)
        .where(CaseMaterial.status == "deferred", CaseMaterial.due_at <= horizon,
               Case.status.in_(_UNFINISHED),
               _not_overdue("material", CaseMaterial.id))).all()
    cases = db.session.execute(
        select(Case.id, Case.due_at, Case.matter_version_id, Case.number, Case.title)
        .where(Case.status == "in_progress", Case.due_at.is_not(None), Case.due_at <= now,
               _not_overdue("case", Case.id))).all()
    # an open task on a case in another status (none is expected) still finds its matter's rules
    settings |= _matter_settings({r.matter_version_id for r in tasks + materials} - settings.keys())
    items: list[OpenItem] = []
    facts: dict[tuple[str, int], Any] = {}
    for r in tasks:
        lead, steps = settings.get(r.matter_version_id, (DEFAULT_LEAD_HOURS, {}))
        rule = steps.get((r.variant, r.name)) or steps.get(r.name) if r.name and r.kind != "obligation" else None
        on_timeout, escalate_to = rule or (None, None)
        items.append(OpenItem("task", r.id, r.case_id, r.due_at, lead, on_timeout, escalate_to))
        facts[("task", r.id)] = r
    for r in materials:
        lead = settings.get(r.matter_version_id, (DEFAULT_LEAD_HOURS, {}))[0]
        items.append(OpenItem("material", r.id, r.case_id, r.due_at, lead))
        facts[("material", r.id)] = r
    for r in cases:
        items.append(OpenItem("case", r.id, r.id, r.due_at))
        facts[("case", r.id)] = r
    report.candidates = len(items)
    fired = _fired_reminders([i for i in items if i.due_at > now])
    events = plan_time_events(items, now=now, calendar=calendar, fired=fired)
    plain = [e for e in events if e.kind != "escalation"]
    for start in range(0, len(plain), batch):
        _fire_batch(plain[start:start + batch], facts, now, report)
    for event in (e for e in events if e.kind == "escalation"):
        _escalate(event, facts[(event.item.item_type, event.item.item_id)], now, report)
    return report


def _fired_reminders(items: list[OpenItem]) -> dict[tuple[str, int], set[str]]:
    fired: dict[tuple[str, int], set[str]] = {}
    by_type: dict[str, list[int]] = {}
    for item in items:
        by_type.setdefault(item.item_type, []).append(item.item_id)
    for item_type, ids in by_type.items():
        for start in range(0, len(ids), 1000):
            rows = db.session.execute(select(TimeMark.item_id, TimeMark.kind).where(
                TimeMark.item_type == item_type, TimeMark.item_id.in_(ids[start:start + 1000])))
            for item_id, kind in rows:
                fired.setdefault((item_type, item_id), set()).add(kind)
    return fired


def _texts(event: TimeEvent, r: Any) -> tuple[str, str, str]:
    """(timeline note, notification subject, body) in the platform's language."""
    item, due = event.item, _local(event.item.due_at)
    if item.item_type == "task":
        what = f"「{r.title}」" + (f"的“{r.name}”环节" if r.name else "")
        if r.kind == "obligation":
            what = f"「{r.title}」的批后事项"
        if event.kind == "reminder":
            return (f"{what}将于 {due} 到期，已提醒办理人", f"即将到期：{r.title}",
                    f"{what}将于 {due} 到期，请及时办理。")
        return (f"{what}已超过办理期限（{due}）", f"已超期：{r.title}", f"{what}已超过办理期限（{due}），请尽快办理。")
    if item.item_type == "material":
        if event.kind == "reminder":
            return (f"容缺材料“{r.material}”将于 {due} 到期，已提醒申请人", f"请补交材料：{r.title}",
                    f"您承诺补交的材料“{r.material}”将于 {due} 到期，请及时上传。")
        return (f"容缺材料“{r.material}”已超过补交期限（{due}）", f"补交材料已超期：{r.title}",
                f"您承诺补交的材料“{r.material}”已超过补交期限（{due}），请尽快上传。")
    return (f"办件已超过承诺时限（{due}）", "", "")


def _fire_batch(events: list[TimeEvent], facts: Mapping[tuple[str, int], Any], now: _dt.datetime,
                report: ScanReport) -> None:
    marks = []
    for e in events:
        note = _texts(e, facts[(e.item.item_type, e.item.item_id)])[0]
        marks.append(dict(case_id=e.item.case_id, item_type=e.item.item_type, item_id=e.item.item_id, kind=e.kind,
                          due_at=e.item.due_at, fired_at=now, note=note[:500]))
    new = _insert_marks(marks)
    people_ids = set()
    for e in events:
        r = facts[(e.item.item_type, e.item.item_id)]
        people_ids.add(getattr(r, "assignee_id", None) if e.item.item_type == "task" else getattr(r, "applicant_id", None))
    people = {p.id: p for p in db.session.execute(select(Person).where(Person.id.in_(
        sorted(i for i in people_ids if i)))).scalars()}
    audit: list[Event] = []
    notices: list[Notice] = []
    for e in events:
        key = (e.item.item_type, e.item.item_id, e.kind)
        if key not in new:
            continue  # another scanner fired it first
        r = facts[(e.item.item_type, e.item.item_id)]
        note, subject, body = _texts(e, r)
        audit.append(Event(action=f"cases.time.{e.kind}", object_type="case", object_id=r.number or e.item.case_id,
                           occurred_at=now, data={"case_id": e.item.case_id, "item": e.item.item_type,
                                                  "item_id": e.item.item_id, "due_at": e.item.due_at.isoformat(),
                                                  "note": note}))
        to = people.get(r.assignee_id if e.item.item_type == "task" else getattr(r, "applicant_id", None))
        if subject and to is not None:
            notices.append(Notice((to,), f"cases.{e.item.item_type}.{e.kind}", subject, body,
                                  f"/cases/{e.item.case_id}", f"time:{e.item.item_type}:{e.item.item_id}:{e.kind}",
                                  urgent=e.kind == "overdue", case_id=e.item.case_id))
        report.fired += 1
        if e.kind == "reminder":
            report.reminders += 1
        else:
            report.overdue += 1
    record_events(audit)
    notify_many(notices, now=now)
    db.session.commit()


def _escalate(event: TimeEvent, r: Any, now: _dt.datetime, report: ScanReport) -> None:
    """One escalation in a transaction of its own, with its mark: approve it on the platform's
    behalf (``on_timeout: auto_approve``, an approval task), notify the assignee's manager
    (``manager``), hand the task to the agency's HR (``hr``), or tell the person acting for the
    holder (``delegate``)."""
    assignee = db.session.get(Person, r.assignee_id) if r.assignee_id else None
    target = (event.item.escalate_to or "manager") if event.item.on_timeout == "escalate" else "manager"
    mark = dict(case_id=event.item.case_id, item_type="task", item_id=event.item.item_id, kind="escalation",
                due_at=event.item.due_at, fired_at=now)
    what = f"「{r.title}」" + (f"的“{r.name}”环节" if r.name else "")
    link = f"/cases/{event.item.case_id}"
    if event.item.on_timeout == "auto_approve" and r.kind == "approve":
        from .actions import do_approve_on_timeout

        note = f"{what}超时未办，按流程规定默认同意"
        if not _insert_marks([mark | {"note": note}]):
            db.session.rollback()
            return
        try:
            do_approve_on_timeout(r.id, now=now, reason="超时未办，按流程规定默认同意")
        except DomainError as exc:  # decided or waiting for an opinion meanwhile (rolled back): next scan
            report.problems.append(f"task {r.id}: approval on timeout refused ({exc.code})")
            return
        if assignee is not None:
            notify([assignee], kind="cases.task.auto_approved", subject=f"超时默认同意：{r.title}",
                   body=f"您办理的{what}已超过期限，已按流程规定默认同意。", link=link,
                   dedupe_key=f"time:task:{r.id}:auto_approved", now=now, case_id=r.case_id)
            db.session.commit()
        report.fired += 1
        report.escalations += 1
        return
    if target == "hr" and assignee is not None:
        hr = next((p for p in get_hr_holders(r.agency_id) if p.id not in (r.applicant_id, assignee.id)), None)
        if hr is not None:
            from .actions import do_escalate_task

            note = f"{what}超时未办，已转交本单位人事 {hr.name} 办理"
            if not _insert_marks([mark | {"note": note}]):
                db.session.rollback()
                return
            record_event("cases.time.escalation", actor=None, object_type="case", object_id=r.number or r.case_id,
                         data={"case_id": r.case_id, "item": "task", "item_id": r.id, "to": "hr", "person": hr.uid,
                               "note": note}, now=now)
            notify([hr], kind="cases.task.escalation", subject=f"超时转办：{r.title}",
                   body=f"{what}超过办理期限，已转交您办理。", link=link,
                   dedupe_key=f"time:task:{r.id}:escalation", now=now, urgent=True, case_id=r.case_id)
            try:
                do_escalate_task(r.id, hr, now=now, reason="超时未办，系统按流程规定转交人事部门")
                report.fired += 1
                report.escalations += 1
                return
            except DomainError as exc:  # refused by the engine (rolled back): tell HR instead
                report.problems.append(f"task {r.id}: transfer to HR refused ({exc.code})")
    to: Person | None = None
    label = "manager"
    if target == "delegate" and assignee is not None:
        matter = db.session.get(MatterType, r.matter_type_id)
        to = acting_delegate(assignee.id, matter=matter.code if matter else "", applicant_id=r.applicant_id, now=now)
        label = "delegate" if to is not None else "manager"
    if to is None and target == "hr":
        hr_all = [p for p in get_hr_holders(r.agency_id) if p.id != r.applicant_id]
        to, label = (hr_all[0], "hr") if hr_all else (None, "manager")
    if to is None and assignee is not None and assignee.manager_id:
        to = db.session.get(Person, assignee.manager_id)
    if to is not None and to.id == r.applicant_id:
        to = None
    roles = {"manager": "上级领导", "hr": "人事部门", "delegate": "代理人"}
    note = (f"{what}超时未办，已提请{roles[label]} {to.name} 督办" if to is not None
            else f"{what}超时未办，无可升级的人员")
    if not _insert_marks([mark | {"note": note[:500]}]):
        db.session.rollback()
        return
    record_event("cases.time.escalation", actor=None, object_type="case", object_id=r.number or r.case_id,
                 data={"case_id": r.case_id, "item": "task", "item_id": r.id, "to": label,
                       "person": to.uid if to else None, "note": note}, now=now)
    if to is not None:
        holder = assignee.name if assignee else "办理人"
        notify([to], kind="cases.task.escalation", subject=f"超时督办：{r.title}",
               body=f"{holder}办理的{what}已超过期限（{_local(event.item.due_at)}），请督促办理。", link=link,
               dedupe_key=f"time:task:{r.id}:escalation", now=now, urgent=True, case_id=r.case_id)
    db.session.commit()
    report.fired += 1
    report.escalations += 1


def register_template_helpers(app) -> None:
    """``case_time_marks(case_id)`` for the case page's timeline."""
    app.jinja_env.globals["case_time_marks"] = get_time_marks


def get_time_marks(case_id: int) -> list[TimeMark]:
    """The time events of one case in the order they fired, for its timeline."""
    return list(db.session.execute(select(TimeMark).where(TimeMark.case_id == case_id)
                                   .order_by(TimeMark.fired_at, TimeMark.id)).scalars())

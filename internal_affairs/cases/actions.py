"""Every write to a case: submission, the task engine, decisions and the actions around them.

Each public ``do_*`` is atomic: it checks, changes, appends its audit event and commits, or
raises a domain error and changes nothing. Decisions are race-safe: a task action first locks its
case's row (PostgreSQL) and only then reads the case's steps and tasks, and every change to a case
moves its ``version`` on with ``UPDATE … WHERE version = <read>`` (the mapper's version column), so
of two people deciding the same ``any`` step at once exactly one wins and the other gets
:class:`StaleDecisionError` (409). The engine works on the loaded ``case.steps`` and
``case.tasks``; new tasks join ``case.tasks`` as they are made, and :func:`write_case` writes
what changed.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from collections.abc import Set as AbstractSet
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, update

from ..atomic import atomic, commit_keeping_state
from ..audit.actions import record_event
from ..calendar.queries import get_calendar
from ..calendar.working_days import CalendarError, WorkCalendar
from ..errors import DomainError, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..matters.queries import LoadedMatter, check_form, definition_of, get_matter, get_org_view
from ..matters.schema import compute_facts
from ..org.models import Agency, Person
from ..routing.errors import ConditionEvaluationError, UnknownPersonError
from ..routing.resolver import resolve_route
from .access import can_view_case, lock_case_of_task
from .queries import case_to_json, hold_people, named_in_case
from .writes import write_case
from .errors import (InvalidTransitionError, MissingMaterialError, NotYourTaskError, OwnCaseError, RateLimitedError,
                     SelfApprovalError, StaleDecisionError, TaskBlockedError)
from .models import (OPEN_TASK, Attachment, Case, CaseCC, CaseCounter, CaseMaterial, CaseRevision, CaseStep,
                     Reminder, Task)

__all__ = [
    "do_create_case", "do_update_draft", "do_submit_case", "do_decide", "do_transfer", "do_consult", "do_add_approver",
    "do_remove_approver", "do_withdraw_decision", "do_withdraw_case", "do_resubmit", "do_cc", "do_remind",
    "do_batch_decision", "DECISIONS", "REMIND_INTERVAL",
]

_log = logging.getLogger(__name__)
TZ = ZoneInfo("Asia/Shanghai")
DECISIONS = ("approve", "reject", "return", "done", "read")
ALLOWED = {
    "approve": ("approve", "reject", "return"),
    "handle": ("done", "return"),
    "read": ("read",),
    "consult": ("done",),
    "error": ("done",),
    "obligation": ("done",),
}
RESULT_STATUS = {"approve": "approved", "reject": "rejected", "return": "returned", "done": "done", "read": "read"}
REMIND_INTERVAL = timedelta(minutes=30)
MAX_COMMENT = 2000
FINISHED = ("approved", "rejected", "completed", "withdrawn")


def N_(text: str, **values: Any) -> str:
    """A note stored on the record: kept in the platform's language (Chinese) whoever acts, and
    translated when shown (the extractor picks these up as msgids)."""
    return text % values if values else text


# ---- time -------------------------------------------------------------------------------------

def _due(calendar: WorkCalendar, start_utc: datetime, days: Any) -> datetime | None:
    """``days`` working days after ``start_utc`` (naive UTC), computed on the Shanghai calendar."""
    if days in (None, "", 0):
        return None
    try:
        local = start_utc.replace(tzinfo=timezone.utc).astimezone(TZ)
        return calendar.add_working_days(local, Decimal(str(days))).astimezone(timezone.utc).replace(tzinfo=None)
    except (CalendarError, ArithmeticError):
        return None


def _due_after_date(calendar: WorkCalendar, day: date, days: int) -> datetime | None:
    start = datetime.combine(day, datetime.min.time()).replace(hour=18, tzinfo=TZ)
    return calendar.add_working_days(start, days).astimezone(timezone.utc).replace(tzinfo=None)


# ---- helpers ----------------------------------------------------------------------------------

def _comment(comment: Any) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise ValidationError(fields={"comment": _("批示意见必须是文字。")})
    if len(comment) > MAX_COMMENT:
        raise ValidationError(fields={"comment": _("批示意见不能超过 %(n)s 字。", n=MAX_COMMENT)})
    return comment.strip() or None


def _people(uids: list[Any], field: str = "to") -> list[Person]:
    """The active people ``uids`` name, in their order, read in one statement. Raises
    :class:`ValidationError` for a uid that is not a name or names nobody in post."""
    if any(not isinstance(uid, str) or not uid or len(uid) > 100 for uid in uids):
        raise ValidationError(fields={field: _("请指定人员（用户名）。")})
    found = {p.uid: p for p in db.session.execute(
        select(Person).where(Person.uid.in_(set(uids)), Person.active.is_(True))).scalars()}
    missing = next((uid for uid in uids if uid not in found), None)
    if missing is not None:
        raise ValidationError(fields={field: _("没有这个在岗人员：%(uid)s", uid=missing)})
    return [found[uid] for uid in uids]


def _person(uid: Any, field: str = "to") -> Person:
    return _people([uid], field)[0]


_CASE_PEOPLE = select(Person).where(Person.uid.in_(bindparam("uids", expanding=True))
                                    | Person.id.in_(bindparam("ids", expanding=True)))


def _people_by_uid(uids: Iterable[str], case: Case) -> dict[str, Person]:
    """The people ``uids`` names, read together with everyone else ``case``'s document names
    (its applicant, the people on its tasks and in its plan), so that the answer to the action
    finds them in the session instead of asking again."""
    uids = set(uids)
    if not uids:
        return {}
    ids, named = named_in_case(case)
    found = db.session.execute(_CASE_PEOPLE, {"uids": sorted(uids | named), "ids": sorted(ids)}).scalars().all()
    hold_people(found)
    return {p.uid: p for p in found if p.uid in uids}


def _definition(case: Case):
    return definition_of(case.matter_version)


def _bump(case: Case, now: datetime) -> None:
    """Move the case's version on. Its UPDATE (:func:`write_case`) is guarded by the version that
    was read, so the loser of a race writes nothing and gets a clean 409."""
    case.version = case.version + 1
    case.updated_at = now


def _event(action: str, case: Case, actor: Person | None, now: datetime, *, on_behalf_of: Person | None = None,
           **data: Any) -> None:
    write_case(case)
    record_event(action, actor=actor, object_type="case", object_id=case.number or case.id,
                 data={"case_id": case.id} | data, now=now, on_behalf_of=on_behalf_of)


def _next_number(agency: Agency, year: int) -> str:
    """The next gapless number of ``agency`` in ``year``, taken in the current transaction."""
    for _attempt in range(3):
        result = db.session.execute(
            update(CaseCounter).where(CaseCounter.agency_id == agency.id, CaseCounter.year == year)
            .values(last=CaseCounter.last + 1).returning(CaseCounter.last))
        value = result.scalar_one_or_none()
        if value is not None:
            return f"{agency.name}-{year}-{value:06d}"
        nested = db.session.begin_nested()
        try:
            db.session.add(CaseCounter(agency_id=agency.id, year=year, last=0))
            db.session.flush()
            nested.commit()
        except Exception:  # noqa: BLE001 - another submitter created the counter row first
            nested.rollback()
    raise DomainError(_("无法分配办件编号，请重试。"), code="numbering_failed")


def _title(definition, applicant: Person, form: Mapping[str, Any]) -> str:
    span = ""
    if form.get("start_date"):
        span = f" {form['start_date']}" + (f" 至 {form['end_date']}" if form.get("end_date") and
                                            form.get("end_date") != form["start_date"] else "")
    elif form.get("date"):
        span = f" {form['date']}"
    return f"{applicant.name}的{definition.name}申请{span}"[:300]


def _resolve(loaded: LoadedMatter, form: Mapping[str, Any], applicant: Person, system_admins: tuple[str, ...]):
    definition = loaded.definition
    try:
        facts = compute_facts(definition, form, get_calendar())
    except CalendarError as exc:
        raise ValidationError(str(exc), code="invalid_form") from None
    try:
        plan = resolve_route(definition.route, get_org_view(system_admins), applicant.uid, facts)
    except UnknownPersonError:
        raise NotFound() from None
    except ConditionEvaluationError as exc:
        raise ValidationError(_("表单内容无法用于判断审批路线：%(why)s", why=exc.message), code="invalid_form") from None
    return plan, facts


# ---- creating and submitting ------------------------------------------------------------------

@atomic
def do_create_case(matter_code: Any, form: Any, *, applicant: Person, now: datetime, submit: bool,
                   system_admins: tuple[str, ...] = (), deferred: Mapping[str, str] | None = None) -> Case:
    """Create a case (a draft, or submitted at once). Raises :class:`ValidationError` (422 with
    per-field messages), :class:`NotFound` (unknown matter) and, on submit, :class:`MissingMaterialError`."""
    loaded = get_matter(matter_code)
    cleaned = check_form(loaded.definition, form if form is not None else {})
    case = Case(agency_id=applicant.agency_id, matter_type_id=loaded.type.id, matter_version_id=loaded.version.id,
                applicant_id=applicant.id, status="draft", title=_title(loaded.definition, applicant, cleaned),
                form=cleaned, plan={}, created_at=now, updated_at=now, version=1, return_count=0, steps=[], tasks=[])
    db.session.add(case)
    db.session.flush()
    _event("cases.case.created", case, applicant, now, matter=loaded.type.code, version=loaded.version.version)
    if not submit:
        db.session.commit()
        return case
    return _submit(case, loaded, applicant=applicant, now=now, system_admins=system_admins, deferred=deferred or {})


@atomic
def do_update_draft(case: Case, form: Any, *, actor: Person, now: datetime) -> Case:
    """Change a draft's form before it is submitted. Raises :class:`InvalidTransitionError`,
    :class:`ValidationError`."""
    if case.applicant_id != actor.id:
        raise PermissionDenied(_("只有申请人可以修改草稿。"))
    if case.status != "draft":
        raise InvalidTransitionError(_("只有草稿可以直接修改；已提交的申请请在退回后重新提交。"))
    definition = _definition(case)
    cleaned = check_form(definition, form if form is not None else {})
    _bump(case, now)
    changed = sorted(_diff(case.form, cleaned))
    case.form, case.title = cleaned, _title(definition, case.applicant, cleaned)
    _event("cases.case.draft_updated", case, actor, now, changed=changed)
    db.session.commit()
    return case


@atomic
def do_submit_case(case: Case, *, applicant: Person, now: datetime, system_admins: tuple[str, ...] = (),
                   deferred: Mapping[str, str] | None = None) -> Case:
    """Submit a draft. Only its applicant may. Raises :class:`InvalidTransitionError`."""
    if case.applicant_id != applicant.id:
        raise PermissionDenied(_("只有申请人可以提交。"))
    if case.status != "draft":
        raise InvalidTransitionError(_("只有草稿可以提交。"))
    from ..matters.models import MatterVersion

    version = db.session.get(MatterVersion, case.matter_version_id)
    loaded = LoadedMatter(case.matter_type, version, definition_of(version))
    return _submit(case, loaded, applicant=applicant, now=now, system_admins=system_admins, deferred=deferred or {})


def _check_materials(case: Case, definition, deferred: Mapping[str, str], now: datetime) -> None:
    if not isinstance(deferred, Mapping) or any(not isinstance(v, str) for v in deferred.values()):
        raise ValidationError(fields={"deferred_materials": _("容缺材料须写明承诺，如 {\"材料代码\": \"承诺内容\"}。")})
    have = set(db.session.execute(select(Attachment.material).where(Attachment.case_id == case.id,
                                                                    Attachment.superseded.is_(False))).scalars())
    errors: dict[str, str] = {}
    specs = {m.code: m for m in definition.materials}
    for code in deferred:
        spec = specs.get(code)
        if spec is None or not spec.deferrable:
            errors[f"materials.{code}"[:100]] = _("该材料不能容缺后补。")
        elif not deferred[code].strip():
            errors[f"materials.{code}"] = _("请填写补交承诺。")
    for spec in definition.materials:
        if spec.required and spec.code not in have and spec.code not in deferred:
            errors[f"materials.{spec.code}"] = _("请上传“%(name)s”。", name=spec.name)
    if errors:
        raise MissingMaterialError(fields=errors)
    calendar = get_calendar()
    for code, commitment in deferred.items():
        if code in have:
            continue
        spec = specs[code]
        db.session.add(CaseMaterial(case_id=case.id, material=code, status="deferred", commitment=commitment.strip()[:2000],
                                    due_at=_due(calendar, now, spec.supply_days) or now, created_at=now))


def _submit(case: Case, loaded: LoadedMatter, *, applicant: Person, now: datetime,
            system_admins: tuple[str, ...], deferred: Mapping[str, str]) -> Case:
    definition = loaded.definition
    _check_materials(case, definition, deferred, now)
    plan, _facts = _resolve(loaded, case.form, applicant, system_admins)
    preview = plan.as_preview()
    calendar = get_calendar()
    case.plan = preview
    case.variant = plan.variant
    case.number = _next_number(applicant.agency, (now.replace(tzinfo=timezone.utc).astimezone(TZ)).year)
    case.status = "in_progress"
    case.submitted_at = now
    case.due_at = _due(calendar, now, definition.time_limit)
    case.updated_at = now
    for index, step in enumerate(preview["steps"]):
        db.session.add(CaseStep(case=case, index=index, name=step["name"], kind=step["kind"],
                                mode=step["mode"], status="planned", spec=step, time_limit=step.get("time_limit")))
    db.session.flush()
    _event("cases.case.submitted", case, applicant, now, number=case.number, variant=plan.variant,
           deferred=sorted(deferred))
    _advance(case, from_index=0, now=now, calendar=calendar)
    db.session.commit()
    return case


# ---- the engine -------------------------------------------------------------------------------

def _steps(case: Case) -> list[CaseStep]:
    return sorted(case.steps, key=lambda s: s.index)


def _lanes(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The independent lanes of a step: one per applying branch, or the step itself."""
    if spec.get("branches"):
        return [b for b in spec["branches"] if b.get("applies", True)]
    return [spec]


def _task_kind(step_kind: str) -> str:
    return {"approve": "approve", "auto": "approve", "handle": "handle", "read": "read"}.get(step_kind, "approve")


def _new_task(case: Case, step: CaseStep | None, assignee: Person | None, *, kind: str, branch: str | None,
              now: datetime, position: int = 0, origin: str = "plan", parent: Task | None = None,
              note: str | None = None, due_at: datetime | None = None) -> Task:
    """A new open task of ``case``. ``assignee`` None makes an error task that waits for a system
    administrator other than the applicant. Nobody holds a task on their own case (only the
    applicant's own obligations are theirs): raises :class:`OwnCaseError` whatever asked for it."""
    if assignee is not None and assignee.id == case.applicant_id and kind != "obligation":
        raise OwnCaseError()
    task = Task(case=case, step=step, step_id=step.id if step else None, branch=branch, kind=kind, origin=origin,
                position=position, assignee_id=assignee.id if assignee else None, status=OPEN_TASK, created_at=now,
                due_at=due_at if due_at is not None else (step.due_at if step else None),
                parent_task_id=parent.id if parent else None, note=note, version=1)
    db.session.add(task)
    return task


def _step_uids(spec: Mapping[str, Any]) -> set[str]:
    uids: set[str] = set()
    for lane in _lanes(spec):
        uids.update(lane.get("approvers", []))
        uids.update(lane.get("error_assignees", []))
    return uids


def _replan_if_needed(case: Case, step: CaseStep, people: Mapping[str, Person], *, now: datetime) -> bool:
    """Re-resolve ``step`` when the org changed since submission so that a planned approver is no
    longer active (left, or deactivated by a sync). The change is recorded on the case. ``people``
    are the step's planned people by uid; returns whether the step's plan changed."""
    planned = {uid for lane in _lanes(step.spec) for uid in lane.get("approvers", [])}
    if not planned:
        return False
    active = {uid for uid in planned if uid in people and people[uid].active}
    if active == planned:
        return False
    from flask import current_app

    loaded = LoadedMatter(case.matter_type, case.matter_version, _definition(case))
    plan, _facts = _resolve(loaded, case.form, case.applicant, tuple(current_app.config.get("SYSTEM_ADMINS", ())))
    fresh = plan.as_preview()["steps"]
    if step.index >= len(fresh) or fresh[step.index]["name"] != step.name:
        return False
    before = sorted(planned)
    step.spec = fresh[step.index] | {k: v for k, v in step.spec.items() if k.startswith("_")}
    plan_doc = dict(case.plan)
    plan_doc["steps"] = [fresh[step.index] if i == step.index else s for i, s in enumerate(plan_doc.get("steps", []))]
    case.plan = plan_doc
    _event("cases.case.plan_changed", case, None, now, step=step.name, reason="approver_inactive",
           before=before, after=sorted({u for lane in _lanes(step.spec) for u in lane.get("approvers", [])}))
    return True


def _activate(case: Case, step: CaseStep, *, now: datetime, calendar: WorkCalendar) -> bool:
    """Start ``step``. Returns True when it now waits for people, False when it finished at once."""
    people = _people_by_uid(_step_uids(step.spec), case)
    if _replan_if_needed(case, step, people, now=now):
        people = _people_by_uid(_step_uids(step.spec), case)
    spec = step.spec
    if not spec.get("applies", True):
        step.status, step.note, step.finished_at = "skipped", (spec.get("not_applied") or {}).get("text"), now
        return False
    if spec.get("auto_outcome") == "approved":
        step.status, step.finished_at = "done", now
        step.note = N_("符合秒批规则，系统即时确认")
        _event("cases.step.auto_approved", case, None, now, step=step.name, rule=spec.get("rule"))
        return False
    step.started_at = now
    step.due_at = _due(calendar, now, step.time_limit)
    step.status = "active"
    created = 0
    kind = _task_kind(step.kind)
    done_branches = set(spec.get("_done_branches", []))
    resume = spec.get("_resume") or {}
    for lane in _lanes(spec):
        branch = lane["name"] if spec.get("branches") else None
        if branch in done_branches:
            continue
        if lane.get("error"):
            repairers = [people[uid] for uid in lane.get("error_assignees", [])
                         if uid in people and people[uid].active and people[uid].id != case.applicant_id]
            for person in repairers:
                _new_task(case, step, person, kind="error", branch=branch, now=now, note=lane["error"])
            if not repairers:
                _new_task(case, step, None, kind="error", branch=branch, now=now, note=lane["error"])
            created += max(len(repairers), 1)
            continue
        planned = [people.get(u) for u in lane.get("approvers", [])]
        approvers = [p for p in planned if p is not None and p.id != case.applicant_id]
        if not approvers:
            if any(p is not None for p in planned):  # only the applicant was left: never theirs to decide
                _new_task(case, step, None, kind="error", branch=branch, now=now, note=N_("申请人不能审批自己的申请。"))
                created += 1
            continue
        if lane.get("mode") == "serial":
            start = resume.get("position", 0) if resume.get("branch") == branch else 0
            start = _serial_position(planned, start if 0 <= start < len(planned) else 0, case)
            _new_task(case, step, planned[start], kind=kind, branch=branch, now=now, position=start)
            created += 1
        else:
            for position, person in enumerate(planned):
                if person is not None and person.id != case.applicant_id:
                    _new_task(case, step, person, kind=kind, branch=branch, now=now, position=position)
                    created += 1
    if resume:
        step.spec = {k: v for k, v in spec.items() if k != "_resume"}
    if created == 0:
        step.status, step.finished_at = "skipped", now
        step.note = N_("审批人已在上一环节审批，不再重复")
        return False
    return True


def _serial_position(queue: list[Person | None], start: int, case: Case) -> int:
    """The first position from ``start`` of a serial queue that someone other than the applicant
    holds (the plan never names the applicant; this keeps a stored plan from doing so either)."""
    for position in list(range(start, len(queue))) + list(range(0, start)):
        person = queue[position]
        if person is not None and person.id != case.applicant_id:
            return position
    raise OwnCaseError()


def _advance(case: Case, *, from_index: int, now: datetime, calendar: WorkCalendar | None = None) -> None:
    """Activate steps from ``from_index`` until one waits for people, or finish the case."""
    calendar = calendar or get_calendar()
    for step in _steps(case):
        if step.index < from_index or step.status not in ("planned",):
            continue
        case.current_step = step.index
        if _activate(case, step, now=now, calendar=calendar):
            return
    _finish_approved(case, now=now, calendar=calendar)


def _finish_approved(case: Case, *, now: datetime, calendar: WorkCalendar) -> None:
    definition = _definition(case)
    case.current_step = None
    case.finished_at = now
    applicant = case.applicant
    obligations = definition.obligations
    if obligations:
        case.status = "approved"
        for ob in obligations:
            day = case.form.get(ob.from_field)
            due = _due_after_date(calendar, date.fromisoformat(day), ob.days) if day else None
            _new_task(case, None, applicant, kind="obligation", branch=None, now=now, origin="obligation",
                      note=ob.name, due_at=due).obligation_code = ob.code
        case.finished_at = None
    else:
        case.status = "completed" if all(s.kind in ("handle", "read") for s in _steps(case)) else "approved"
    _event("cases.case.approved", case, None, now, status=case.status)


def _lane_tasks(step: CaseStep, branch: str | None) -> list[Task]:
    return [t for t in step.case.tasks if t.step_id == step.id and t.branch == branch
            and t.kind in ("approve", "handle", "read", "error")]


def _lane_spec(step: CaseStep, branch: str | None) -> dict[str, Any]:
    if branch is None:
        return step.spec
    return next(b for b in step.spec.get("branches", []) if b["name"] == branch)


def _lane_done(step: CaseStep, branch: str | None, decided: Task, *, now: datetime) -> bool:
    """After ``decided`` was approved/done/read: create the next serial task, cancel the rest of an
    ``any`` lane, and say whether the lane is finished."""
    spec = _lane_spec(step, branch)
    tasks = _lane_tasks(step, branch)
    open_tasks = [t for t in tasks if t.status == OPEN_TASK]
    mode = spec.get("mode", "any")
    if decided.kind == "error":
        mode = "any"
    if mode == "serial" and decided.origin in ("plan", "transfer"):
        queue = spec.get("approvers", [])
        people = _people_by_uid(queue[decided.position + 1:], step.case)
        for nxt in range(decided.position + 1, len(queue)):
            if any(t.origin == "plan" and t.position == nxt for t in tasks):
                break
            person = people.get(queue[nxt])
            if person is not None and person.id != step.case.applicant_id:
                _new_task(step.case, step, person, kind=decided.kind, branch=branch, now=now, position=nxt)
                return False
    if mode == "any":
        for task in open_tasks:
            if task.id != decided.id and task.origin in ("plan", "transfer") and task.blocked_by_task_id != decided.id:
                task.status, task.note, task.decided_at = "cancelled", N_("已由他人处理"), now
                task.closed_by_task_id = decided.id
        open_tasks = [t for t in open_tasks if t.status == OPEN_TASK and t.id != decided.id]
    return not [t for t in open_tasks if t.id != decided.id]


def _step_done(step: CaseStep) -> bool:
    if not step.spec.get("branches"):
        return step.status == "done"
    done = step.spec.get("_done_branches", [])
    return all(b["name"] in done for b in _lanes(step.spec) if b.get("approvers") or b.get("error"))


def _mark_branch(step: CaseStep, branch: str) -> None:
    spec = dict(step.spec)
    spec["_done_branches"] = sorted(set(spec.get("_done_branches", [])) | {branch})
    step.spec = spec


def _after_positive(case: Case, task: Task, *, now: datetime) -> None:
    """Move the case on after an approve / done / read."""
    unblocked = [t for t in case.tasks if t.blocked_by_task_id == task.id and t.status == OPEN_TASK]
    for other in unblocked:
        other.blocked_by_task_id = None
    if task.kind == "consult" or task.step is None:
        if task.kind == "obligation":
            _maybe_complete(case, now=now)
        return
    if unblocked and task.origin == "added_before":
        return
    step = task.step
    if step.status != "active":
        return
    if _lane_done(step, task.branch, task, now=now):
        if task.branch is not None:
            _mark_branch(step, task.branch)
            if not _step_done(step):
                return
        step.status, step.finished_at = "done", now
        _advance(case, from_index=step.index + 1, now=now)


def _maybe_complete(case: Case, *, now: datetime) -> None:
    pending = [t for t in case.tasks if t.kind == "obligation" and t.status == OPEN_TASK]
    if not pending and case.status == "approved":
        case.status, case.finished_at = "completed", now
        _event("cases.case.completed", case, None, now)


def _cancel_open(case: Case, *, now: datetime, note: str, keep_obligations: bool = True,
                 steps_from: int | None = None) -> None:
    for task in case.tasks:
        if task.status != OPEN_TASK:
            continue
        if keep_obligations and task.kind == "obligation":
            continue
        if steps_from is not None and (task.step is None or task.step.index < steps_from):
            continue
        task.status, task.note, task.decided_at = "cancelled", note, now


def _load_task(task_id: Any, actor: Person, roles: AbstractSet[str]) -> tuple[Task, Case]:
    """The task and its case, locked and read as the last committed action left them. A task's
    holder may see its case; anyone else as :func:`can_view_case` says. Raises :class:`NotFound`."""
    case = lock_case_of_task(task_id)
    task = next((t for t in case.tasks if t.id == task_id), None)
    if task is None or (task.assignee_id != actor.id and not can_view_case(case, actor, roles)):
        raise NotFound()
    return task, case


def _check_holder(task: Task, case: Case, actor: Person, roles: AbstractSet[str]) -> None:
    """``actor`` may act on ``task`` now: they hold it, or it waits for an administrator and they
    are one (they take it). Nobody acts on their own case but to fulfil their obligations.
    Raises :class:`OwnCaseError`, :class:`NotYourTaskError`, :class:`StaleDecisionError`,
    :class:`TaskBlockedError`."""
    if case.applicant_id == actor.id and task.kind != "obligation":
        raise OwnCaseError()
    waiting = task.assignee_id is None
    if (waiting and "admin" not in roles) or (not waiting and task.assignee_id != actor.id):
        raise NotYourTaskError()
    if task.status != OPEN_TASK:
        raise StaleDecisionError()
    if task.blocked_by_task_id is not None:
        raise TaskBlockedError()
    if waiting:
        task.assignee_id = actor.id


def _claim(task: Task, case: Case, *, actor: Person, status: str, decision: str, comment: str | None,
           now: datetime) -> None:
    """Record the decision on the task (exactly once: the task was read under the case's lock, and
    the case's guarded version bump fails if anything changed since)."""
    if task.status != OPEN_TASK:
        raise StaleDecisionError()
    _bump(case, now)
    task.status, task.decision, task.comment, task.decided_at = status, decision, comment, now
    task.acted_by_id, task.on_behalf_of_id, task.version = actor.id, None, task.version + 1


# ---- decisions --------------------------------------------------------------------------------

def _conclude(case: Case, actor: Person, now: datetime, action: str, data: dict[str, Any], describe: bool) -> Any:
    """The end of a task action: the audit event, the commit, and the case (or, with
    ``describe``, the actor's case document, read inside the transaction before the audit append,
    so that the answer needs no second transaction and the chain's lock is not held for it)."""
    document = None
    if describe:
        write_case(case)
        document = case_to_json(case, actor)
    _event(action, case, actor, now, **data)
    commit_keeping_state()
    return document if describe else case


@atomic
def do_decide(task_id: Any, decision: Any, *, actor: Person, roles: AbstractSet[str], now: datetime,
              comment: Any = None, to_step: Any = None, describe: bool = False) -> Any:
    """Approve, reject, return, mark done or read; returns the case (with ``describe``, its
    document as the actor sees it). Raises :class:`NotFound`, :class:`NotYourTaskError`,
    :class:`StaleDecisionError` (409), :class:`TaskBlockedError`, :class:`ValidationError`."""
    if decision not in DECISIONS:
        raise ValidationError(fields={"decision": _("决定必须是 approve、reject、return、done 或 read。")})
    comment = _comment(comment)
    with db.session.no_autoflush:  # the engine works on the loaded case; write_case writes it
        case, task = _decide(task_id, decision, actor=actor, roles=roles, now=now, comment=comment, to_step=to_step)
    return _conclude(case, actor, now, "cases.task.decided", {
        "task_id": task.id, "decision": decision, "comment": comment, "step": task.step.name if task.step else None,
        "branch": task.branch, "status": case.status}, describe)


def _decide(task_id: Any, decision: str, *, actor: Person, roles: AbstractSet[str], now: datetime,
            comment: str | None, to_step: Any) -> tuple[Case, Task]:
    task, case = _load_task(task_id, actor, roles)
    _check_holder(task, case, actor, roles)
    if decision not in ALLOWED.get(task.kind, ()):
        raise ValidationError(fields={"decision": _("此任务不能作出该决定。")})
    if case.status not in ("in_progress", "approved"):
        raise InvalidTransitionError()
    target = None
    if decision == "return" and to_step is not None:
        target = _return_target(case, task, to_step)
    if decision in ("reject", "return") and task.kind == "approve" and not comment:
        raise ValidationError(fields={"comment": _("退回或不同意时请填写意见。")})
    _claim(task, case, actor=actor, status=RESULT_STATUS[decision], decision=decision, comment=comment, now=now)
    if decision in ("approve", "done", "read"):
        _after_positive(case, task, now=now)
    elif decision == "reject":
        _cancel_open(case, now=now, note=N_("申请未获同意"))
        case.status, case.finished_at, case.current_step = "rejected", now, None
        for step in _steps(case):
            if step.status == "active":
                step.status, step.finished_at = "rejected", now
    else:
        _return(case, task, target, now=now)
    return case, task


def _return_target(case: Case, task: Task, to_step: Any) -> CaseStep:
    steps = _steps(case)
    current = task.step.index if task.step else None
    if isinstance(to_step, bool) or not isinstance(to_step, (int, str)):
        raise ValidationError(fields={"to_step": _("请指定要退回的环节（名称或序号）。")})
    target = next((s for s in steps if (isinstance(to_step, int) and s.index == to_step) or s.name == to_step), None)
    if target is None or current is None or target.index >= current or target.status not in ("done",):
        raise ValidationError(fields={"to_step": _("只能退回到已经办理过的前面环节。")})
    return target


def _return(case: Case, task: Task, target: CaseStep | None, *, now: datetime) -> None:
    current = task.step
    case.return_count += 1
    if target is None:
        _cancel_open(case, now=now, note=N_("已退回申请人修改"))
        case.status, case.returned_from_step, case.current_step = "returned", current.index if current else None, None
        if current is not None:
            current.status, current.finished_at = "returned", now
            current.spec = dict(current.spec) | {"_resume": {"branch": task.branch, "position": task.position}}
        return
    _cancel_open(case, now=now, note=N_("已退回至“%(step)s”", step=target.name), steps_from=target.index)
    for step in _steps(case):
        if step.index >= target.index and step.status in ("done", "active", "skipped", "returned"):
            step.status, step.finished_at, step.started_at = "planned", None, None
            spec = dict(step.spec)
            spec.pop("_done_branches", None)
            step.spec = spec
    write_case(case)
    _advance(case, from_index=target.index, now=now)


@atomic
def do_withdraw_decision(task_id: Any, *, actor: Person, roles: AbstractSet[str], now: datetime,
                         describe: bool = False) -> Any:
    """An approver takes back their own decision while the next step has not acted yet."""
    task, case = _load_task(task_id, actor, roles)
    if case.applicant_id == actor.id:
        raise OwnCaseError()
    if task.acted_by_id != actor.id or task.status not in ("approved", "done", "read") or task.step is None:
        raise InvalidTransitionError(_("只能撤回自己作出的同意或办理决定。"))
    if case.status not in ("in_progress",):
        raise InvalidTransitionError(_("办件已办结，不能撤回。"))
    later = [t for t in case.tasks if t.id != task.id and t.decided_at is not None and t.decided_at >= task.decided_at
             and t.status in ("approved", "rejected", "returned", "done", "read", "transferred")]
    if any(t.step is None or t.step.index > task.step.index or t.position > task.position for t in later):
        raise InvalidTransitionError(_("后续环节已经处理，不能撤回。"))
    _bump(case, now)
    step = task.step
    for other in _steps(case):
        if other.index > step.index and other.status in ("active", "done", "skipped"):
            other.status, other.started_at, other.finished_at = "planned", None, None
    _cancel_open(case, now=now, note=N_("上一环节撤回了决定"), steps_from=step.index + 1)
    for other in _lane_tasks(step, task.branch):
        if other.status == "cancelled" and other.closed_by_task_id == task.id:
            other.status, other.note, other.decided_at, other.closed_by_task_id = OPEN_TASK, None, None, None
    task.status, task.note = "cancelled", N_("审批人撤回了此决定")
    replacement = _new_task(case, step, actor, kind=task.kind, branch=task.branch, now=now,
                            position=task.position, origin=task.origin, parent=task)
    if task.branch:
        spec = dict(step.spec)
        spec["_done_branches"] = [b for b in spec.get("_done_branches", []) if b != task.branch]
        step.spec = spec
    step.status, step.finished_at = "active", None
    case.current_step = step.index
    write_case(case)
    return _conclude(case, actor, now, "cases.task.decision_withdrawn",
                     {"task_id": task.id, "replacement": replacement.id}, describe)


def _hand_on(task_id: Any, to: Any, *, actor: Person, roles: AbstractSet[str], refusal: str) -> tuple[Task, Case, Person]:
    """The holder's open task and the person it is handed to (transfer, consult, add approver).

    Nobody hands a task to themselves or to the applicant: raises :class:`SelfApprovalError`
    with ``refusal``, besides what :func:`_load_task` and :func:`_check_holder` raise."""
    target = _person(to)
    task, case = _load_task(task_id, actor, roles)
    _check_holder(task, case, actor, roles)
    if target.id in (actor.id, case.applicant_id):
        raise SelfApprovalError(fields={"to": refusal})
    return task, case, target


@atomic
def do_transfer(task_id: Any, to: Any, *, actor: Person, roles: AbstractSet[str], now: datetime, comment: Any = None,
                describe: bool = False) -> Any:
    """转办: the new person decides in the holder's place."""
    comment = _comment(comment)
    task, case, target = _hand_on(task_id, to, actor=actor, roles=roles, refusal=_("不能转给自己或申请人。"))
    _claim(task, case, actor=actor, status="transferred", decision="transfer", comment=comment, now=now)
    new = _new_task(case, task.step, target, kind=task.kind, branch=task.branch, now=now, position=task.position,
                    origin="transfer" if task.origin == "plan" else task.origin, parent=task,
                    note=N_("由%(name)s转办", name=actor.name), due_at=task.due_at)
    write_case(case)
    for other in case.tasks:
        if other.blocked_by_task_id == task.id and other.status == OPEN_TASK:
            other.blocked_by_task_id = new.id
    return _conclude(case, actor, now, "cases.task.transferred",
                     {"task_id": task.id, "to": target.uid, "comment": comment}, describe)


@atomic
def do_consult(task_id: Any, to: Any, *, actor: Person, roles: AbstractSet[str], now: datetime, comment: Any = None,
               describe: bool = False) -> Any:
    """委派: ask someone's opinion; the task waits for it and comes back to its holder."""
    comment = _comment(comment)
    task, case, target = _hand_on(task_id, to, actor=actor, roles=roles, refusal=_("不能征询自己或申请人。"))
    _bump(case, now)
    consult = _new_task(case, task.step, target, kind="consult", branch=task.branch, now=now, origin="consult",
                        parent=task, note=comment, due_at=task.due_at)
    write_case(case)
    task.blocked_by_task_id = consult.id
    return _conclude(case, actor, now, "cases.task.consulted",
                     {"task_id": task.id, "to": target.uid, "consult_task": consult.id}, describe)


@atomic
def do_add_approver(task_id: Any, to: Any, *, actor: Person, roles: AbstractSet[str], now: datetime,
                    position: Any = "after", comment: Any = None, describe: bool = False) -> Any:
    """加签: someone approves before the holder (who then decides) or after the holder (before the
    step moves on)."""
    comment = _comment(comment)
    if position not in ("before", "after"):
        raise ValidationError(fields={"position": _("加签位置必须是 before 或 after。")})
    task, case, target = _hand_on(task_id, to, actor=actor, roles=roles, refusal=_("不能加签自己或申请人。"))
    if task.kind not in ("approve", "handle"):
        raise ValidationError(fields={"task": _("此任务不能加签。")})
    _bump(case, now)
    added = _new_task(case, task.step, target, kind=task.kind, branch=task.branch, now=now, position=task.position,
                      origin=f"added_{position}", parent=task, note=comment, due_at=task.due_at)
    write_case(case)
    if position == "before":
        task.blocked_by_task_id = added.id
    else:
        added.blocked_by_task_id = task.id
    return _conclude(case, actor, now, "cases.task.approver_added",
                     {"task_id": task.id, "to": target.uid, "position": position, "added_task": added.id}, describe)


@atomic
def do_remove_approver(task_id: Any, *, actor: Person, roles: AbstractSet[str], now: datetime,
                       describe: bool = False) -> Any:
    """减签: the holder removes an approver they added, before that person decided."""
    added, case = _load_task(task_id, actor, roles)
    if case.applicant_id == actor.id:
        raise OwnCaseError()
    parent = db.session.get(Task, added.parent_task_id) if added.parent_task_id else None
    if not added.origin.startswith("added_") or parent is None or parent.assignee_id != actor.id:
        raise PermissionDenied(_("只能减去自己加签的人员。"))
    if added.status != OPEN_TASK:
        raise StaleDecisionError(_("被加签人已经处理，不能减签。"))
    _bump(case, now)
    added.status, added.note, added.decided_at = "cancelled", N_("已减签"), now
    if parent.blocked_by_task_id == added.id:
        parent.blocked_by_task_id = None
    if parent.status in ("approved", "done") and parent.step is not None and parent.step.status == "active":
        _after_positive(case, parent, now=now)
    return _conclude(case, actor, now, "cases.task.approver_removed", {"task_id": added.id}, describe)


@atomic
def do_batch_decision(task_ids: Any, decision: Any, *, actor: Person, roles: AbstractSet[str], now: datetime,
                      comment: Any = None) -> list[dict[str, Any]]:
    """Decide several tasks with one comment; each succeeds or fails on its own (its own
    transaction), and an unexpected fault in one is reported as that task's error: the decisions
    committed before it are real, so the answer must say so rather than be a 500."""
    if not isinstance(task_ids, list) or not task_ids or len(task_ids) > 100:
        raise ValidationError(fields={"task_ids": _("请提供 1 至 100 个任务编号。")})
    if decision not in ("approve", "done", "read"):
        raise ValidationError(fields={"decision": _("批量处理只支持同意、办理或已阅。")})
    results = []
    for task_id in task_ids:
        try:
            case = do_decide(task_id, decision, actor=actor, roles=roles, now=now, comment=comment)
            results.append({"task_id": task_id, "status": "ok", "case_status": case.status})
        except DomainError as exc:
            db.session.rollback()
            results.append({"task_id": task_id, "status": "error",
                            "error": {"code": exc.code, "message": str(exc.message)}})
        except Exception:  # noqa: BLE001 - the tasks decided before are committed: say so, not 500
            db.session.rollback()
            _log.exception("batch decision of task %s failed", task_id)
            results.append({"task_id": task_id, "status": "error",
                            "error": {"code": "internal", "message": _("系统内部错误，已记录，请稍后重试。")}})
    return results


# ---- the applicant's actions ------------------------------------------------------------------

def _own_case(case: Case, actor: Person) -> None:
    if case.applicant_id != actor.id:
        raise PermissionDenied(_("只有申请人可以执行此操作。"))


@atomic
def do_withdraw_case(case: Case, *, actor: Person, now: datetime, reason: Any = None) -> Case:
    """The applicant withdraws before anyone decided."""
    _own_case(case, actor)
    reason = _comment(reason)
    if case.status not in ("draft", "in_progress", "returned"):
        raise InvalidTransitionError(_("办件已办结，不能撤回。"))
    decided = any(t.acted_by_id is not None and t.status in ("approved", "rejected", "done", "read")
                  for t in case.tasks)
    if decided and case.status == "in_progress":
        raise InvalidTransitionError(_("已有审批人作出决定，不能撤回。"))
    _bump(case, now)
    _cancel_open(case, now=now, note=N_("申请人已撤回"), keep_obligations=False)
    case.status, case.finished_at, case.current_step = "withdrawn", now, None
    for step in _steps(case):
        if step.status in ("active", "planned"):
            step.status = "cancelled"
    _event("cases.case.withdrawn", case, actor, now, reason=reason)
    db.session.commit()
    return case


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


@atomic
def do_resubmit(case: Case, form: Any, *, actor: Person, now: datetime, system_admins: tuple[str, ...] = ()) -> Case:
    """Resubmit a returned case with an amended form. The diff is kept; by default the case goes
    straight back to the step that returned it (the matter may say ``resubmit: restart``)."""
    _own_case(case, actor)
    if case.status != "returned":
        raise InvalidTransitionError(_("只有被退回的办件可以重新提交。"))
    definition = _definition(case)
    cleaned = check_form(definition, form if form is not None else case.form)
    _bump(case, now)
    revisions = db.session.execute(select(func.count()).select_from(CaseRevision)
                                   .where(CaseRevision.case_id == case.id)).scalar()
    diff = _diff(case.form, cleaned)
    db.session.add(CaseRevision(case_id=case.id, number=revisions + 1, form_before=case.form, form_after=cleaned,
                                diff=diff, created_at=now, created_by_id=actor.id))
    case.form = cleaned
    case.title = _title(definition, case.applicant, cleaned)
    case.status = "in_progress"
    restart = definition.resubmit == "restart" or case.returned_from_step is None
    steps = _steps(case)
    if restart:
        loaded = LoadedMatter(case.matter_type, case.matter_version, definition)
        plan, _facts = _resolve(loaded, cleaned, case.applicant, system_admins)
        preview = plan.as_preview()
        old_plan = case.plan
        case.plan, case.variant = preview, plan.variant
        for step in steps:
            step.status = "superseded"
            step.index = -(step.id)
        db.session.flush()
        for index, spec in enumerate(preview["steps"]):
            db.session.add(CaseStep(case=case, index=index, name=spec["name"], kind=spec["kind"],
                                    mode=spec["mode"], status="planned", spec=spec, time_limit=spec.get("time_limit")))
        db.session.flush()
        _event("cases.case.plan_changed", case, actor, now, before=[s["name"] for s in old_plan.get("steps", [])],
               after=[s["name"] for s in preview["steps"]])
        start = 0
    else:
        start = case.returned_from_step
        for step in steps:
            if step.index >= start and step.status in ("returned", "planned"):
                step.status, step.started_at, step.finished_at = "planned", None, None
    db.session.flush()
    _event("cases.case.resubmitted", case, actor, now, revision=revisions + 1, restart=restart, changed=sorted(diff))
    _advance(case, from_index=start, now=now)
    db.session.commit()
    return case


@atomic
def do_cc(case: Case, to: Any, *, actor: Person, now: datetime) -> Case:
    """抄送 to people; the applicant and anyone who acts on the case may CC."""
    if not isinstance(to, list) or not to or len(to) > 50:
        raise ValidationError(fields={"to": _("请提供 1 至 50 个用户名。")})
    targets = _people(to)
    involved = case.applicant_id == actor.id or any(t.assignee_id == actor.id for t in case.tasks)
    if not involved:
        raise PermissionDenied(_("只有申请人或审批人可以抄送。"))
    existing = set(db.session.execute(select(CaseCC.person_id).where(CaseCC.case_id == case.id)).scalars())
    added = []
    for person in targets:
        if person.id not in existing and person.id != case.applicant_id:
            db.session.add(CaseCC(case_id=case.id, person_id=person.id, by_id=actor.id, created_at=now))
            existing.add(person.id)
            added.append(person.uid)
    _event("cases.case.cc", case, actor, now, to=added)
    db.session.commit()
    return case


@atomic
def do_remind(case: Case, *, actor: Person, now: datetime) -> list[Task]:
    """催办 the holders of the open tasks; at most once per task every :data:`REMIND_INTERVAL`."""
    _own_case(case, actor)
    if case.status != "in_progress":
        raise InvalidTransitionError(_("办件不在办理中，无需催办。"))
    open_tasks = [t for t in case.tasks if t.status == OPEN_TASK and t.kind != "obligation"]
    last = db.session.execute(select(func.max(Reminder.created_at)).where(Reminder.case_id == case.id)).scalar()
    if last is not None and now - last < REMIND_INTERVAL:
        minutes = int((REMIND_INTERVAL - (now - last)).total_seconds() // 60) + 1
        raise RateLimitedError(_("已催办过，请 %(n)s 分钟后再试。", n=minutes))
    for task in open_tasks:
        db.session.add(Reminder(case_id=case.id, task_id=task.id, by_id=actor.id, created_at=now))
    _event("cases.case.reminded", case, actor, now, tasks=[t.id for t in open_tasks])
    db.session.commit()
    return open_tasks

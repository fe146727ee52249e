"""Every write to a case: submission, decisions and the actions around them — the service layer
around the pure engine (:mod:`internal_affairs.cases.engine`).

Each public ``do_*`` is atomic and has the same shape: lock and load, turn the rows into the
engine's state, run the engine's command, write what changed (:mod:`.writes`), append the audit
events, commit — or raise a domain error and change nothing. Decisions are race-safe: a task
action first locks its case's row (PostgreSQL) and only then reads the case's steps and tasks,
and every change to a case moves its ``version`` on with ``UPDATE … WHERE version = <read>``, so
of two people deciding the same ``any`` step at once exactly one wins and the other gets
:class:`StaleDecisionError` (409).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from decimal import Decimal
from collections.abc import Set as AbstractSet
from typing import Any, Iterable, Mapping

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, update

from ..atomic import atomic, commit_keeping_state
from ..audit.actions import record_event
from ..calendar.queries import get_calendar
from ..clock import LOCAL_TZ, local_day
from ..calendar.working_days import CalendarError, WorkCalendar
from ..errors import DomainError, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..matters.queries import LoadedMatter, check_form, definition_of, get_matter, resolve_plan
from ..org.models import Agency, Person
from ..org.queries import system_admins as configured_admins
from .access import can_view_case, lock_case_of_task
from .queries import held_person, hold_people, learnt, named_in_case, note_state, relearn
from ..delegation.queries import principals_for
from . import engine
from .writes import resolve_ids, to_state, with_ids, write_changes
from ..seals.actions import RECORDED_OUTCOMES, queue_case_record
from .errors import (InvalidTransitionError, MissingMaterialError, NotYourTaskError, OwnCaseError, RateLimitedError,
                     SelfApprovalError, StaleDecisionError, TaskBlockedError)
from .models import (OPEN_TASK, Attachment, Case, CaseCC, CaseCounter, CaseMaterial, CaseRevision, Reminder,
                     Task)

__all__ = [
    "do_create_case", "create_case", "submit_case", "do_update_draft", "do_submit_case", "do_decide", "do_transfer",
    "do_consult", "do_add_approver", "do_remove_approver", "do_escalate_task", "do_approve_on_timeout",
    "do_withdraw_decision", "do_withdraw_case", "do_resubmit", "do_cc", "do_remind",
    "do_batch_decision", "DECISIONS", "REMIND_INTERVAL", "TaskResult",
]

_log = logging.getLogger(__name__)
DECISIONS = engine.DECISIONS
REMIND_INTERVAL = engine.REMIND_INTERVAL
MAX_COMMENT = 2000
N_ = engine.N_
DOCUMENT_MATTERS = ("doc_outgoing", "doc_incoming")
"""Matters whose cases carry an official document (:mod:`internal_affairs.documents`)."""


# ---- time -------------------------------------------------------------------------------------

def _due(calendar: WorkCalendar, start_utc: datetime, days: Any) -> datetime | None:
    """``days`` working days after ``start_utc`` (naive UTC), computed on the Shanghai calendar."""
    if days in (None, "", 0):
        return None
    try:
        local = start_utc.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ)
        return calendar.add_working_days(local, Decimal(str(days))).astimezone(timezone.utc).replace(tzinfo=None)
    except (CalendarError, ArithmeticError):
        return None


def _due_after_date(calendar: WorkCalendar, day: date, days: int) -> datetime | None:
    start = datetime.combine(day, datetime.min.time()).replace(hour=18, tzinfo=LOCAL_TZ)
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


_CASE_PEOPLE = select(Person.id, Person.uid, Person.name, Person.title, Person.active, Person.default_deputy_id).where(
    Person.uid.in_(bindparam("uids", expanding=True)) | Person.id.in_(bindparam("ids", expanding=True)))
"""Who a case names, with what the engine and the case document need of them (not whole rows)."""


def _definition(case: Case):
    return definition_of(case.matter_version)


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
    plan, facts, _view = resolve_plan(loaded.definition, form, applicant.uid, system_admins=system_admins)
    return plan, facts


# ---- the engine's refusals, in the platform's words ----------------------------------------

def _refused(refusal: engine.Refusal) -> DomainError:
    """The domain error (with its translated message) for a command the engine refused."""
    code, reason, values = refusal.code, refusal.reason, refusal.values
    if code == "own_case":
        return OwnCaseError()
    if code == "not_your_task":
        return NotYourTaskError()
    if code == "not_found":
        return NotFound()
    if code == "blocked":
        return TaskBlockedError()
    if code == "stale":
        return StaleDecisionError(_("被加签人已经处理，不能减签。") if reason == "added_decided" else None)
    if code == "rate_limited":
        return RateLimitedError(_("已催办过，请 %(n)s 分钟后再试。", n=values["n"]))
    messages = {
        "finished": lambda: _("办件已办结，不能撤回。"),
        "only_own_decision": lambda: _("只能撤回自己作出的同意或办理决定。"),
        "later_acted": lambda: _("后续环节已经处理，不能撤回。"),
        "already_decided": lambda: _("已有审批人作出决定，不能撤回。"),
        "only_returned": lambda: _("只有被退回的办件可以重新提交。"),
        "not_in_progress": lambda: _("办件不在办理中，无需催办。"),
        "only_draft_edit": lambda: _("只有草稿可以直接修改；已提交的申请请在退回后重新提交。"),
        "only_draft_submit": lambda: _("只有草稿可以提交。"),
        "only_own_added": lambda: _("只能减去自己加签的人员。"),
        "applicant_only": lambda: _("只有申请人可以执行此操作。"),
        "draft_applicant_only": lambda: _("只有申请人可以修改草稿。"),
        "submit_applicant_only": lambda: _("只有申请人可以提交。"),
        "cc_not_involved": lambda: _("只有申请人或审批人可以抄送。"),
        "decision_not_allowed": lambda: _("此任务不能作出该决定。"),
        "bad_decision": lambda: _("决定必须是 approve、reject、return、done 或 read。"),
        "comment_required": lambda: _("退回或不同意时请填写意见。"),
        "to_step_missing": lambda: _("请指定要退回的环节（名称或序号）。"),
        "to_step_invalid": lambda: _("只能退回到已经办理过的前面环节。"),
        "cannot_add": lambda: _("此任务不能加签。"),
        "cannot_forward": lambda: _("此任务不能转办或征询意见。"),
        "obligation_own": lambda: _("申请人的后续义务只能由本人完成，不能转办、征询或加签。"),
        "bad_position": lambda: _("加签位置必须是 before 或 after。"),
        "transfer_self": lambda: _("不能转给自己或申请人。"),
        "consult_self": lambda: _("不能征询自己或申请人。"),
        "add_self": lambda: _("不能加签自己或申请人。"),
    }
    message = messages[reason]() if reason in messages else None
    if code == "invalid_transition":
        return InvalidTransitionError(message)
    if code == "forbidden":
        return PermissionDenied(message)
    if code == "self_approval":
        return SelfApprovalError(fields={refusal.field or "to": message})
    return ValidationError(fields={refusal.field or "request": message})


def _run(command, *args: Any, **kwargs: Any) -> engine.Outcome:
    try:
        return command(*args, **kwargs)
    except engine.Refusal as refusal:
        raise _refused(refusal) from None


def _actor(person: Person, roles: AbstractSet[str] = frozenset(), state: engine.Case | None = None,
           principals: tuple[engine.Principal, ...] = ()) -> engine.Actor:
    """The engine's acting person, with the holders they may act for in this case (代理).
    Being an administrator matters to the engine only for an error task waiting for one, so the
    roles (read lazily) are asked only when ``state`` has one."""
    waiting = state is not None and any(t.assignee_id is None and t.status == OPEN_TASK for t in state.tasks)
    return engine.Actor(person.id, person.name, waiting and "admin" in roles, principals)


class _Calendar:
    """The working-day calendar as the engine asks for it, read only when a deadline is needed."""

    def __init__(self, calendar: WorkCalendar | None = None):
        self._calendar = calendar

    def _get(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = get_calendar()
        return self._calendar

    def due(self, start: datetime, days: Any) -> datetime | None:
        return _due(self._get(), start, days)

    def due_after_date(self, day: date, days: int) -> datetime | None:
        return _due_after_date(self._get(), day, days)


def _apply(case: Case, before: engine.Case, outcome: engine.Outcome, *, acting_user: Person | None, now: datetime,
           principals: tuple[engine.Principal, ...] = ()) -> None:
    """Write what the engine changed and append its audit events, in order, as ``acting_user``
    (the system's own for ``by_system`` events; for a delegate, on behalf of the principal the
    event names). A case just approved may start its applicant's automatic delegation."""
    ids = write_changes(case, before, outcome.case)
    note_state(with_ids(outcome.case, ids))
    behalf = {p.uid: p for p in principals}
    approved = False
    for event in outcome.events:
        approved = approved or event.action == "cases.case.approved"
        record_event(event.action, actor=None if event.by_system else acting_user, object_type="case",
                     object_id=outcome.case.number or case.id, data=resolve_ids(event.data, ids), now=now,
                     on_behalf_of=behalf.get(event.data.get("on_behalf_of")))
    if approved:
        from ..delegation.actions import auto_delegate_for_case

        applicant = held_person(case.applicant_id)
        auto_delegate_for_case(case, case.matter_type.code, now=now,
                               has_deputy=applicant is None or applicant.default_deputy_id is not None)
    if (outcome.case.finished_at is not None and before.finished_at is None
            and outcome.case.status in RECORDED_OUTCOMES):
        queue_case_record(case, trigger=f"cases.case.{outcome.case.status}", acting_user=acting_user, now=now)
    if case.matter_type.code in DOCUMENT_MATTERS:
        from ..documents.actions import case_changed

        case_changed(case, [event.action for event in outcome.events], acting_user=acting_user, now=now)


def _planned(loaded: LoadedMatter, form: Mapping[str, Any], applicant: Person,
             system_admins: tuple[str, ...]) -> tuple[dict[str, Any], str | None, dict[str, engine.Person]]:
    """The route ``form`` resolves to now (its preview and variant) and the people it names, for
    an engine command that plans again (a step's re-plan, a resubmission that restarts)."""
    plan, _facts = _resolve(loaded, form, applicant, system_admins)
    preview = plan.as_preview()
    uids = engine.plan_uids(preview["steps"])
    return preview, plan.variant, _engine_people(db.session.execute(select(Person).where(Person.uid.in_(uids))).scalars())


def _engine_people(found: Iterable[Person]) -> dict[str, engine.Person]:
    return {p.uid: engine.Person(p.id, p.uid, p.name, p.active) for p in found}


def _plan_people(case: Case, state: engine.Case, extra: Iterable[str] = ()) -> dict[str, engine.Person]:
    """Everyone the case's plan names (the engine may hand them tasks), read in one statement
    together with everyone else the case document names, so that the answer to the action finds
    them in the session."""
    uids = engine.uids_named(state) | set(extra)
    ids, named = named_in_case(state)
    found = db.session.execute(_CASE_PEOPLE, {"uids": sorted(uids | named), "ids": sorted(ids)}).all()
    hold_people(found)
    return _engine_people(found)


def _env(case: Case, state: engine.Case, *, system_admins: tuple[str, ...] | None = None,
         calendar: WorkCalendar | None = None, people: Mapping[str, engine.Person] | None = None) -> engine.Env:
    def obligations() -> list[engine.Obligation]:
        return [engine.Obligation(ob.code, ob.name, ob.from_field, ob.days) for ob in _definition(case).obligations]

    def replan():
        admins = system_admins if system_admins is not None else configured_admins()
        loaded = LoadedMatter(case.matter_type, case.matter_version, _definition(case))
        preview, _variant, people = _planned(loaded, case.form, case.applicant, admins)
        return preview["steps"], people

    return engine.Env(people=people if people is not None else _plan_people(case, state),
                      deadlines=_Calendar(calendar), obligations=obligations, replan=replan)


# ---- creating and submitting ------------------------------------------------------------------

def _event(action: str, case: Case, acting_user: Person | None, now: datetime, **data: Any) -> None:
    db.session.flush()
    record_event(action, actor=acting_user, object_type="case", object_id=case.number or case.id,
                 data={"case_id": case.id} | data, now=now)


@atomic
def do_create_case(matter_code: Any, form: Any, *, applicant: Person, now: datetime, submit: bool,
                   system_admins: tuple[str, ...] = (), deferred: Mapping[str, str] | None = None) -> Case:
    """Create a case (a draft, or submitted at once). Raises :class:`ValidationError` (422 with
    per-field messages), :class:`NotFound` (unknown matter) and, on submit, :class:`MissingMaterialError`."""
    case = create_case(matter_code, form, applicant=applicant, now=now, submit=submit, system_admins=system_admins,
                       deferred=deferred)
    db.session.commit()
    return case


def create_case(matter_code: Any, form: Any, *, applicant: Person, now: datetime, submit: bool,
                system_admins: tuple[str, ...] = (), deferred: Mapping[str, str] | None = None) -> Case:
    """:func:`do_create_case` inside the caller's transaction (the caller commits): for a domain
    whose own rows ride on a case, such as an official document."""
    loaded = get_matter(matter_code)
    cleaned = check_form(loaded.definition, form if form is not None else {})
    case = Case(agency_id=applicant.agency_id, matter_type_id=loaded.type.id, matter_version_id=loaded.version.id,
                applicant_id=applicant.id, status=engine.CaseStatus.DRAFT.value, title=_title(loaded.definition, applicant, cleaned),
                form=cleaned, plan={}, created_at=now, updated_at=now, version=1, return_count=0, steps=[], tasks=[])
    db.session.add(case)
    _event("cases.case.created", case, applicant, now, matter=loaded.type.code, version=loaded.version.version)
    if not submit:
        return case
    return _submit(case, loaded, applicant=applicant, now=now, system_admins=system_admins, deferred=deferred or {})


@atomic
def do_update_draft(case: Case, form: Any, *, acting_user: Person, now: datetime) -> Case:
    """Change a draft's form before it is submitted. Raises :class:`PermissionDenied`,
    :class:`InvalidTransitionError`, :class:`ValidationError`."""
    _run(engine.check_edit_draft, to_state(case), _actor(acting_user))
    definition = _definition(case)
    cleaned = check_form(definition, form if form is not None else {})
    case.version = case.version + 1  # the mapper's guarded UPDATE … WHERE version = <read>
    case.updated_at = now
    changed = sorted(_diff(case.form, cleaned))
    case.form, case.title = cleaned, _title(definition, case.applicant, cleaned)
    _event("cases.case.draft_updated", case, acting_user, now, changed=changed)
    db.session.commit()
    return case


@atomic
def do_submit_case(case: Case, *, applicant: Person, now: datetime, system_admins: tuple[str, ...] = (),
                   deferred: Mapping[str, str] | None = None) -> Case:
    """Submit a draft. Only its applicant may. Raises :class:`PermissionDenied`,
    :class:`InvalidTransitionError`."""
    submit_case(case, applicant=applicant, now=now, system_admins=system_admins, deferred=deferred)
    db.session.commit()
    return case


def submit_case(case: Case, *, applicant: Person, now: datetime, system_admins: tuple[str, ...] = (),
                deferred: Mapping[str, str] | None = None, form: Mapping[str, Any] | None = None) -> Case:
    """:func:`do_submit_case` inside the caller's transaction (the caller commits); ``form``, when
    given, replaces the draft's form first (checked like any form)."""
    _run(engine.check_submit, to_state(case), _actor(applicant))
    from ..matters.models import MatterVersion

    version = db.session.get(MatterVersion, case.matter_version_id)
    loaded = LoadedMatter(case.matter_type, version, definition_of(version))
    if form is not None:
        case.form = check_form(loaded.definition, form)
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
    number = _next_number(applicant.agency, local_day(now).year)
    db.session.flush()
    before = to_state(case)
    env = _env(case, before, system_admins=system_admins, calendar=calendar,
               people=_plan_people(case, before, engine.plan_uids(preview["steps"])))
    outcome = _run(engine.submit, before, preview, acting_user=_actor(applicant), variant=plan.variant, number=number,
                   due_at=_due(calendar, now, definition.time_limit), now=now, env=env, deferred=deferred)
    _apply(case, before, outcome, acting_user=applicant, now=now)
    return case


# ---- task actions ----------------------------------------------------------------------------

def _load_task(task_id: Any, acting_user: Person, roles: AbstractSet[str],
               now: datetime) -> tuple[Task, Case, tuple[engine.Principal, ...]]:
    """The task and its case, locked and read as the last committed action left them, and the
    holders ``acting_user`` may act for in it now (代理). A task's holder (or whoever may act for
    them) may see its case; anyone else as :func:`can_view_case` says. Raises :class:`NotFound`."""
    case = lock_case_of_task(task_id, now)
    task = next((t for t in case.tasks if t.id == task_id), None)
    if task is None:
        raise NotFound()
    principals = principals_for(case, acting_user, now, task=task)
    if task.assignee_id != acting_user.id and task.assignee_id not in {p.id for p in principals} \
            and not can_view_case(case, acting_user, roles):
        raise NotFound()
    return task, case, principals


def _task_action(task_id: Any, command, *args: Any, acting_user: Person, roles: AbstractSet[str], now: datetime,
                 needs_people: bool = True, target: Person | None = None, signature: bytes | None = None,
                 **kwargs: Any) -> Case:
    """Lock and load the task's case, run the engine's ``command`` on it, write the change and
    its audit events, commit; returns the case as the database now holds it."""
    _task, case, principals = _load_task(task_id, acting_user, roles, now)
    if signature is not None and case.matter_type.code not in DOCUMENT_MATTERS:
        raise ValidationError(fields={"signature": _("只有公文的审批可以附手写签名。")})
    before = to_state(case)
    if needs_people:
        kwargs["env"] = _env(case, before)
    else:
        hold_people([acting_user] + ([target] if target is not None else []))
    if target is not None:
        args = (engine.Person(target.id, target.uid, target.name, target.active), *args)
    outcome = _run(command, before, task_id, *args, acting_user=_actor(acting_user, roles, before, principals), now=now,
                   **kwargs)
    _apply(case, before, outcome, acting_user=acting_user, now=now, principals=principals)
    if signature is not None:
        from ..documents.actions import do_add_signature

        do_add_signature(task_id, signature, acting_user=acting_user, now=now)
    memo = learnt()
    commit_keeping_state()
    relearn(memo)
    return case


@atomic
def do_decide(task_id: Any, decision: Any, *, acting_user: Person, roles: AbstractSet[str], now: datetime,
              comment: Any = None, to_step: Any = None, signature: bytes | None = None) -> Case:
    """Approve, reject, return (to the applicant or an earlier step), mark done or read; returns
    the case. ``signature`` (PNG bytes), on an official document's task, is kept with the
    decision as the decider's handwritten signature. Raises :class:`NotFound`, :class:`OwnCaseError`, :class:`NotYourTaskError`,
    :class:`StaleDecisionError` (409), :class:`TaskBlockedError`, :class:`InvalidTransitionError`,
    :class:`ValidationError`."""
    if decision not in DECISIONS:
        raise ValidationError(fields={"decision": _("决定必须是 approve、reject、return、done 或 read。")})
    comment = _comment(comment)
    return _task_action(task_id, engine.decide, decision, acting_user=acting_user, roles=roles, now=now,
                        comment=comment, to_step=to_step, signature=signature)


@atomic
def do_withdraw_decision(task_id: Any, *, acting_user: Person, roles: AbstractSet[str], now: datetime) -> Case:
    """An approver takes back their own decision while the next step has not acted yet. Raises
    :class:`NotFound`, :class:`OwnCaseError`, :class:`InvalidTransitionError`."""
    return _task_action(task_id, engine.withdraw_decision, acting_user=acting_user, roles=roles, now=now)


def _hand_on(task_id: Any, to: Any, command, *, acting_user: Person, roles: AbstractSet[str], now: datetime,
             comment: Any, **kwargs: Any) -> Case:
    comment = _comment(comment)
    target = _person(to)
    return _task_action(task_id, command, acting_user=acting_user, roles=roles, now=now, needs_people=False,
                        target=target, comment=comment, **kwargs)


@atomic
def do_transfer(task_id: Any, to: Any, *, acting_user: Person, roles: AbstractSet[str], now: datetime,
                comment: Any = None) -> Case:
    """转办: the new person decides in the holder's place. Nobody hands a task to themselves or
    to the applicant (:class:`SelfApprovalError`)."""
    return _hand_on(task_id, to, engine.transfer, acting_user=acting_user, roles=roles, now=now, comment=comment)


@atomic
def do_escalate_task(task_id: Any, target: Person, *, now: datetime, reason: str) -> Case:
    """超时转办: the platform hands an overdue task to ``target`` (a time limit's escalation);
    no person acts, and the audit event is the system's. Raises :class:`NotFound`,
    :class:`StaleDecisionError` (decided meanwhile), :class:`SelfApprovalError`,
    :class:`TaskBlockedError`."""
    case = lock_case_of_task(task_id, now)
    before = to_state(case)
    hold_people([target])
    outcome = _run(engine.escalate, before, task_id, engine.Person(target.id, target.uid, target.name, target.active),
                   now=now, env=engine.Env(deadlines=_Calendar()), reason=reason)
    _apply(case, before, outcome, acting_user=None, now=now)
    db.session.commit()
    return case


@atomic
def do_approve_on_timeout(task_id: Any, *, now: datetime, reason: str) -> Case:
    """超时默认同意: the platform approves an overdue approval whose route says so; no person
    acts, and the audit events are the system's. Raises :class:`NotFound`,
    :class:`StaleDecisionError` (decided meanwhile), :class:`TaskBlockedError`,
    :class:`ValidationError`."""
    case = lock_case_of_task(task_id, now)
    before = to_state(case)
    outcome = _run(engine.approve_on_timeout, before, task_id, now=now, env=_env(case, before), reason=reason)
    _apply(case, before, outcome, acting_user=None, now=now)
    db.session.commit()
    return case


@atomic
def do_consult(task_id: Any, to: Any, *, acting_user: Person, roles: AbstractSet[str], now: datetime,
               comment: Any = None) -> Case:
    """征询意见: ask someone's opinion; the task waits for it and comes back to its holder."""
    return _hand_on(task_id, to, engine.consult, acting_user=acting_user, roles=roles, now=now, comment=comment)


@atomic
def do_add_approver(task_id: Any, to: Any, *, acting_user: Person, roles: AbstractSet[str], now: datetime,
                    position: Any = "after", comment: Any = None) -> Case:
    """加签: someone approves before the holder (who then decides) or after the holder (before the
    step moves on)."""
    if position not in ("before", "after"):
        raise ValidationError(fields={"position": _("加签位置必须是 before 或 after。")})
    return _hand_on(task_id, to, engine.add_approver, acting_user=acting_user, roles=roles, now=now,
                    comment=comment, position=position)


@atomic
def do_remove_approver(task_id: Any, *, acting_user: Person, roles: AbstractSet[str], now: datetime) -> Case:
    """减签: the holder removes an approver they added, before that person decided."""
    return _task_action(task_id, engine.remove_approver, acting_user=acting_user, roles=roles, now=now)


@atomic
def do_batch_decision(task_ids: Any, decision: Any, *, acting_user: Person, roles: AbstractSet[str], now: datetime,
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
            case = do_decide(task_id, decision, acting_user=acting_user, roles=roles, now=now, comment=comment)
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

@atomic
def do_withdraw_case(case: Case, *, acting_user: Person, now: datetime, reason: Any = None) -> Case:
    """The applicant withdraws before anyone decided. Raises :class:`PermissionDenied`,
    :class:`InvalidTransitionError`, :class:`StaleStateError` (the case changed since it was read)."""
    before = to_state(case)
    _run(engine.check_withdraw_case, before, _actor(acting_user))
    reason = _comment(reason)
    outcome = _run(engine.withdraw_case, before, acting_user=_actor(acting_user), now=now, reason=reason)
    _apply(case, before, outcome, acting_user=acting_user, now=now)
    db.session.commit()
    return case


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    keys = sorted(set(before) | set(after))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


@atomic
def do_resubmit(case: Case, form: Any, *, acting_user: Person, now: datetime,
                system_admins: tuple[str, ...] = ()) -> Case:
    """Resubmit a returned case with an amended form. The diff is kept; by default the case goes
    straight back to the step that returned it (the matter may say ``resubmit: restart``)."""
    before = to_state(case)
    _run(engine.check_resubmit, before, _actor(acting_user))
    definition = _definition(case)
    cleaned = check_form(definition, form if form is not None else case.form)
    revisions = db.session.execute(select(func.count()).select_from(CaseRevision)
                                   .where(CaseRevision.case_id == case.id)).scalar()
    diff = _diff(case.form, cleaned)
    db.session.add(CaseRevision(case_id=case.id, number=revisions + 1, form_before=case.form, form_after=cleaned,
                                diff=diff, created_at=now, created_by_id=acting_user.id))
    loaded = LoadedMatter(case.matter_type, case.matter_version, definition)

    def resolve():
        return _planned(loaded, cleaned, case.applicant, system_admins)

    env = _env(case, before, system_admins=system_admins)
    outcome = _run(engine.resubmit, before, cleaned, title=_title(definition, case.applicant, cleaned),
                   acting_user=_actor(acting_user), now=now, env=env, matter_restarts=definition.resubmit == "restart",
                   resolve=resolve, revision=revisions + 1, changed=diff)
    _apply(case, before, outcome, acting_user=acting_user, now=now)
    db.session.commit()
    return case


@atomic
def do_cc(case: Case, to: Any, *, acting_user: Person, now: datetime) -> Case:
    """抄送 to people; the applicant and anyone who acts on the case may CC."""
    if not isinstance(to, list) or not to or len(to) > 50:
        raise ValidationError(fields={"to": _("请提供 1 至 50 个用户名。")})
    targets = _people(to)
    before = to_state(case)
    actor = _actor(acting_user, principals=principals_for(case, acting_user, now))
    _run(engine.check_cc, before, actor)
    existing = db.session.execute(select(CaseCC.person_id).where(CaseCC.case_id == case.id)).scalars()
    outcome = _run(engine.cc, before, list(_engine_people(targets).values()), acting_user=actor, now=now,
                   already=existing)
    db.session.add_all(CaseCC(case_id=case.id, person_id=row.person_id, by_id=row.by_id, created_at=row.created_at)
                       for row in outcome.result)
    db.session.flush()
    _apply(case, before, outcome, acting_user=acting_user, now=now)
    db.session.commit()
    return case


@atomic
def do_remind(case: Case, *, acting_user: Person, now: datetime) -> list[Task]:
    """催办 the holders of the open tasks; at most once per task every :data:`REMIND_INTERVAL`.
    Raises :class:`PermissionDenied`, :class:`InvalidTransitionError`, :class:`RateLimitedError`."""
    before = to_state(case)
    _run(engine.check_remind, before, _actor(acting_user))
    last = db.session.execute(select(func.max(Reminder.created_at)).where(Reminder.case_id == case.id)).scalar()
    outcome = _run(engine.remind, before, acting_user=_actor(acting_user), now=now, last=last)
    db.session.add_all(Reminder(case_id=case.id, task_id=row.task_id, by_id=row.by_id, created_at=row.created_at)
                       for row in outcome.result)
    db.session.flush()
    _apply(case, before, outcome, acting_user=acting_user, now=now)
    db.session.commit()
    reminded = {row.task_id for row in outcome.result}
    return [t for t in case.tasks if t.id in reminded]

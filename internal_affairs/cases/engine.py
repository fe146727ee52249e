"""The case engine: a case, its steps and its tasks as plain data, and the commands that move them.

Pure: no Flask, no session, no clock. A command takes the case as it was read, the acting person
and ``now`` (and, in :class:`Env`, the people the plan names, the deadlines of the working-day
calendar, the matter's obligations and a way to re-resolve the plan) and returns an
:class:`Outcome`: the new case and the audit events to record, in order. The case it was given is
left as it was, so the service layer writes the difference. A command that is not allowed raises
:class:`Refusal` with a stable code; the service turns it into the platform's translated error.

New steps and tasks get negative ids (``-1``, ``-2``, …) that the service replaces with the
database's when it inserts them; whatever refers to a new row (a blocked task, an event) refers
to its negative id until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

__all__ = [
    "CaseStatus", "StepStatus", "TaskStatus", "TaskKind", "Person", "Principal", "Actor", "Obligation", "Progress", "Step", "Task",
    "Case", "Event", "Outcome", "Env", "Deadlines", "Refusal", "Capabilities", "DECISIONS", "ALLOWED", "REMIND_INTERVAL",
    "N_", "submit", "decide", "transfer", "consult", "add_approver", "remove_approver", "withdraw_decision",
    "withdraw_case", "resubmit", "cc", "remind", "escalate", "approve_on_timeout", "CcRow", "ReminderRow", "transition", "CASE_TRANSITIONS",
    "check_holder", "check_decision", "check_forward", "FORWARD_OPS", "check_withdraw_decision", "check_remove_approver",
    "check_withdraw_case", "check_resubmit", "check_remind", "check_cc", "check_upload", "check_withdraw_attachment",
    "check_edit_draft", "check_submit", "capabilities", "uids_named", "plan_uids",
]


class CaseStatus(StrEnum):
    DRAFT = "draft"
    IN_PROGRESS = "in_progress"
    APPROVED = "approved"
    REJECTED = "rejected"
    COMPLETED = "completed"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


class StepStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    DONE = "done"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"


class TaskStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    TRANSFERRED = "transferred"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    DONE = "done"
    READ = "read"


class TaskKind(StrEnum):
    APPROVE = "approve"
    HANDLE = "handle"
    READ = "read"
    CONSULT = "consult"
    ERROR = "error"
    OBLIGATION = "obligation"


OPEN = TaskStatus.PENDING
DECISIONS = ("approve", "reject", "return", "done", "read")
ALLOWED: Mapping[str, tuple[str, ...]] = {
    TaskKind.APPROVE: ("approve", "reject", "return"),
    TaskKind.HANDLE: ("done", "return"),
    TaskKind.READ: ("read",),
    TaskKind.CONSULT: ("done",),
    TaskKind.ERROR: ("done",),
    TaskKind.OBLIGATION: ("done",),
}
"""The decisions each kind of task takes."""
RESULT_STATUS = {"approve": TaskStatus.APPROVED, "reject": TaskStatus.REJECTED, "return": TaskStatus.RETURNED,
                 "done": TaskStatus.DONE, "read": TaskStatus.READ}
POSITIVE = (TaskStatus.APPROVED, TaskStatus.DONE, TaskStatus.READ)
DECIDED = (TaskStatus.APPROVED, TaskStatus.REJECTED, TaskStatus.DONE, TaskStatus.READ)
LANE_KINDS = (TaskKind.APPROVE, TaskKind.HANDLE, TaskKind.READ, TaskKind.ERROR)
_SPAWNED = ("consult", "added_before", "added_after")
_ASKED = ("consult", "added_before")
"""Tasks whose asker waits for them: withdrawing one's answer makes the asker wait again."""
"""The origins of tasks that exist only through the task that asked for them."""
REMIND_INTERVAL = timedelta(minutes=30)


def N_(text: str, **values: Any) -> str:
    """A note stored on the record: kept in the platform's language (Chinese) whoever acts, and
    translated when shown (the extractor picks these up as msgids)."""
    return text % values if values else text


class Refusal(Exception):
    """A command that the case's state or the acting person does not allow.

    ``code`` names the rule (``own_case``, ``not_your_task``, ``stale``, ``blocked``,
    ``invalid_transition``, ``forbidden``, ``invalid``, ``self_approval``, ``rate_limited``);
    ``reason`` says which message to show (None: the rule's own), ``field`` which input it
    concerns, ``values`` what the message names."""

    def __init__(self, code: str, reason: str | None = None, *, field: str | None = None, **values: Any):
        self.code, self.reason, self.field, self.values = code, reason, field, values
        super().__init__(f"{code}: {reason or ''}")


# ---- the state -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Person:
    """Someone the plan names: who holds a task is their ``id``."""

    id: int
    uid: str
    name: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class Principal:
    """Someone whose tasks in this case the acting person may act on (代理): a delegate's
    principal, or, when the principal's delegate is the applicant, the principal whose manager
    stands in (``reason`` ``manager_for_applicant``)."""

    id: int
    uid: str
    name: str = ""
    reason: str = "delegated"


@dataclass(frozen=True, slots=True)
class Actor:
    """The person acting, whether they are a system administrator (who take the error tasks
    waiting for one), and the people they may act for in this case (``principals``: computed by
    the service from the delegations in force, :mod:`internal_affairs.delegation.chain`)."""

    id: int
    name: str = ""
    admin: bool = False
    principals: tuple[Principal, ...] = ()

    def principal(self, person_id: int | None) -> Principal | None:
        """The principal ``person_id`` if this actor may act for them (never for themselves)."""
        if person_id is None or person_id == self.id:
            return None
        return next((p for p in self.principals if p.id == person_id), None)

    def holds(self, task: "Task") -> bool:
        """The task is this actor's own or a principal's."""
        return task.assignee_id == self.id or self.principal(task.assignee_id) is not None


@dataclass(frozen=True, slots=True)
class Obligation:
    """Something the applicant must do after approval (销假 …), due ``days`` working days after the
    date in ``from_field``."""

    code: str
    name: str
    from_field: str | None = None
    days: int = 0


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a step returned to the applicant picks up again on resubmission."""

    branch: str | None
    position: int


@dataclass(frozen=True, slots=True)
class Progress:
    """A step's progress beyond its status: the branches of a parallel step already finished, and
    where to resume after a return to the applicant."""

    done_branches: tuple[str, ...] = ()
    resume: Resume | None = None

    def to_json(self) -> dict[str, Any] | None:
        """The stored form (``case_step.progress``); None when there is nothing to keep."""
        data: dict[str, Any] = {}
        if self.done_branches:
            data["done_branches"] = list(self.done_branches)
        if self.resume is not None:
            data["resume"] = {"branch": self.resume.branch, "position": self.resume.position}
        return data or None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "Progress":
        if not data:
            return NO_PROGRESS
        resume = data.get("resume")
        return cls(tuple(data.get("done_branches") or ()),
                   Resume(resume.get("branch"), int(resume.get("position") or 0)) if resume else None)


NO_PROGRESS = Progress()


@dataclass(slots=True)
class Step:
    id: int
    index: int
    name: str
    kind: str
    mode: str
    status: StepStatus
    spec: Mapping[str, Any]
    """The planned step as the route resolved it (approvers, branches, skips); never changed in
    place, only replaced."""
    time_limit: str | None = None
    note: str | None = None
    started_at: datetime | None = None
    due_at: datetime | None = None
    finished_at: datetime | None = None
    progress: Progress = NO_PROGRESS


@dataclass(slots=True)
class Task:
    id: int
    case_id: int
    step_id: int | None
    kind: TaskKind
    status: TaskStatus
    created_at: datetime
    branch: str | None = None
    origin: str = "plan"
    position: int = 0
    assignee_id: int | None = None
    """None for an error task waiting for a system administrator other than the applicant."""
    acted_by_id: int | None = None
    on_behalf_of_id: int | None = None
    decision: str | None = None
    comment: str | None = None
    note: str | None = None
    parent_task_id: int | None = None
    blocked_by_task_id: int | None = None
    closed_by_task_id: int | None = None
    obligation_code: str | None = None
    due_at: datetime | None = None
    decided_at: datetime | None = None
    version: int = 1


@dataclass(slots=True)
class Case:
    id: int
    applicant_id: int
    status: CaseStatus
    version: int
    updated_at: datetime
    form: Mapping[str, Any] = field(default_factory=dict)
    plan: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""
    number: str | None = None
    variant: str | None = None
    current_step: int | None = None
    returned_from_step: int | None = None
    return_count: int = 0
    submitted_at: datetime | None = None
    due_at: datetime | None = None
    finished_at: datetime | None = None
    steps: list[Step] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)

    def copy(self) -> "Case":
        """A copy whose steps and tasks may change without touching this one's."""
        return replace(self, steps=[replace(s) for s in self.steps], tasks=[replace(t) for t in self.tasks])

    def task(self, task_id: int) -> Task | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def step(self, step_id: int | None) -> Step | None:
        return None if step_id is None else next((s for s in self.steps if s.id == step_id), None)

    def ordered_steps(self) -> list[Step]:
        return sorted(self.steps, key=lambda s: s.index)


@dataclass(frozen=True, slots=True)
class Event:
    """An audit event to record: ``by_system`` events have no acting person."""

    action: str
    data: Mapping[str, Any]
    by_system: bool = False


@dataclass(slots=True)
class Outcome:
    case: Case
    events: list[Event]
    result: Any = None
    """What the command made that its caller asks for (a task, the tasks reminded)."""


class Deadlines(Protocol):
    """The working-day calendar, as the engine needs it."""

    def due(self, start: datetime, days: Any) -> datetime | None:
        """``days`` working days after ``start`` (naive UTC), None when there is no limit."""

    def due_after_date(self, day: date, days: int) -> datetime | None:
        """``days`` working days after the end of the working day ``day``."""


Replan = Callable[[], tuple[Sequence[Mapping[str, Any]], Mapping[str, Person]]]
"""Resolve the case's route again: the fresh plan's steps and the people they name, by uid."""


@dataclass(slots=True)
class Env:
    """What a command may need besides the case: the people the plan names (by uid), the
    calendar, the matter's obligations (asked for only when a case is approved) and how to
    re-resolve the plan when a planned approver is no longer active."""

    people: Mapping[str, Person] = field(default_factory=dict)
    deadlines: Deadlines | None = None
    obligations: Callable[[], Sequence[Obligation]] = tuple
    replan: Replan | None = None


CASE_TRANSITIONS: Mapping[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.DRAFT: frozenset({CaseStatus.IN_PROGRESS, CaseStatus.WITHDRAWN}),
    CaseStatus.IN_PROGRESS: frozenset({CaseStatus.APPROVED, CaseStatus.COMPLETED, CaseStatus.REJECTED,
                                       CaseStatus.RETURNED, CaseStatus.WITHDRAWN}),
    CaseStatus.RETURNED: frozenset({CaseStatus.IN_PROGRESS, CaseStatus.WITHDRAWN}),
    CaseStatus.APPROVED: frozenset({CaseStatus.COMPLETED}),
    CaseStatus.REJECTED: frozenset(),
    CaseStatus.COMPLETED: frozenset(),
    CaseStatus.WITHDRAWN: frozenset(),
}
"""Where a case may go from each status; every change of a case's status goes through
:func:`transition`."""


def transition(case: Case, status: CaseStatus) -> None:
    """Move ``case`` to ``status``. Refuses ``invalid_transition`` for a move the table does not have."""
    if status not in CASE_TRANSITIONS[case.status]:
        raise Refusal("invalid_transition")
    case.status = status


def uids_named(case: Case) -> set[str]:
    """Every uid the case's current plan names (approvers and repairers of every lane)."""
    uids: set[str] = set()
    for step in case.steps:
        if step.index >= 0:
            uids |= _step_uids(step.spec)
    return uids


def _lanes(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The independent lanes of a step: one per applying branch, or the step itself."""
    if spec.get("branches"):
        return [b for b in spec["branches"] if b.get("applies", True)]
    return [spec]


def plan_uids(steps: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every uid planned steps (a route preview's) name: the people the engine may hand tasks to."""
    return set().union(*(_step_uids(spec) for spec in steps))


def _step_uids(spec: Mapping[str, Any]) -> set[str]:
    uids: set[str] = set()
    for lane in _lanes(spec):
        uids.update(lane.get("approvers", []))
        uids.update(lane.get("error_assignees", []))
    return uids


def _task_kind(step_kind: str) -> TaskKind:
    return {"approve": TaskKind.APPROVE, "auto": TaskKind.APPROVE, "handle": TaskKind.HANDLE,
            "read": TaskKind.READ}.get(step_kind, TaskKind.APPROVE)


# ---- one run of a command --------------------------------------------------------------------

class _Run:
    """A command at work on its copy of the case."""

    def __init__(self, case: Case, env: Env, now: datetime):
        self.case = case.copy()
        self.env = env
        self.now = now
        self.people = dict(env.people)
        self.events: list[Event] = []
        self._next_id = -1 - sum(1 for t in case.tasks if t.id < 0) - sum(1 for s in case.steps if s.id < 0)

    def new_id(self) -> int:
        value, self._next_id = self._next_id, self._next_id - 1
        return value

    def outcome(self, action: str | None = None, data: Mapping[str, Any] | None = None, result: Any = None) -> Outcome:
        if action is not None:
            self.events.append(Event(action, {"case_id": self.case.id} | dict(data or {})))
        return Outcome(self.case, self.events, result)

    def system_event(self, action: str, **data: Any) -> None:
        self.events.append(Event(action, {"case_id": self.case.id} | data, by_system=True))

    def bump(self) -> None:
        """Move the case's version on: its write is guarded by the version that was read."""
        self.case.version += 1
        self.case.updated_at = self.now

    def due(self, start: datetime, days: Any) -> datetime | None:
        if days in (None, "", 0) or self.env.deadlines is None:
            return None
        return self.env.deadlines.due(start, days)

    # -- tasks --

    def new_task(self, step: Step | None, assignee: Person | None, *, kind: TaskKind, branch: str | None,
                 position: int = 0, origin: str = "plan", parent: Task | None = None, note: str | None = None,
                 due_at: datetime | None = None) -> Task:
        """A new open task. ``assignee`` None makes an error task that waits for a system
        administrator other than the applicant. Nobody holds a task on their own case (only the
        applicant's own obligations are theirs): refuses ``own_case`` whatever asked for it."""
        if assignee is not None and assignee.id == self.case.applicant_id and kind != TaskKind.OBLIGATION:
            raise Refusal("own_case")
        task = Task(id=self.new_id(), case_id=self.case.id, step_id=step.id if step else None, branch=branch,
                    kind=TaskKind(kind), origin=origin, position=position,
                    assignee_id=assignee.id if assignee else None, status=OPEN, created_at=self.now,
                    due_at=due_at if due_at is not None else (step.due_at if step else None),
                    parent_task_id=parent.id if parent else None, note=note)
        self.case.tasks.append(task)
        return task

    def step_of(self, task: Task) -> Step | None:
        return self.case.step(task.step_id)

    # -- the engine --

    def replan_if_needed(self, step: Step) -> None:
        """Re-resolve ``step`` when the org changed since submission so that a planned approver is
        no longer active (left, or deactivated by a sync); the change is recorded on the case."""
        planned = {uid for lane in _lanes(step.spec) for uid in lane.get("approvers", [])}
        if not planned or self.env.replan is None:
            return
        active = {uid for uid in planned if uid in self.people and self.people[uid].active}
        if active == planned:
            return
        fresh, people = self.env.replan()
        self.people.update(people)
        if step.index >= len(fresh) or fresh[step.index]["name"] != step.name:
            return
        before = sorted(planned)
        step.spec = fresh[step.index]
        plan = dict(self.case.plan)
        plan["steps"] = [fresh[step.index] if i == step.index else s for i, s in enumerate(plan.get("steps", []))]
        self.case.plan = plan
        self.system_event("cases.case.plan_changed", step=step.name, reason="approver_inactive", before=before,
                          after=sorted({u for lane in _lanes(step.spec) for u in lane.get("approvers", [])}))

    def activate(self, step: Step) -> bool:
        """Start ``step``. True when it now waits for people, False when it finished at once."""
        self.replan_if_needed(step)
        spec, now, case, people = step.spec, self.now, self.case, self.people
        if not spec.get("applies", True):
            step.status, step.note, step.finished_at = (StepStatus.SKIPPED, (spec.get("not_applied") or {}).get("text"),
                                                        now)
            return False
        if spec.get("auto_outcome") == "approved":
            step.status, step.finished_at = StepStatus.DONE, now
            step.note = N_("符合秒批规则，系统即时确认")
            self.system_event("cases.step.auto_approved", step=step.name, rule=spec.get("rule"))
            return False
        step.started_at = now
        step.due_at = self.due(now, step.time_limit)
        step.status = StepStatus.ACTIVE
        created = 0
        kind = _task_kind(step.kind)
        done_branches = set(step.progress.done_branches)
        resume = step.progress.resume
        for lane in _lanes(spec):
            branch = lane["name"] if spec.get("branches") else None
            if branch in done_branches:
                continue
            if lane.get("error"):
                repairers = [people[uid] for uid in lane.get("error_assignees", [])
                             if uid in people and people[uid].active and people[uid].id != case.applicant_id]
                for person in repairers:
                    self.new_task(step, person, kind=TaskKind.ERROR, branch=branch, note=lane["error"])
                if not repairers:
                    self.new_task(step, None, kind=TaskKind.ERROR, branch=branch, note=lane["error"])
                created += max(len(repairers), 1)
                continue
            planned = [people.get(u) for u in lane.get("approvers", [])]
            approvers = [p for p in planned if p is not None and p.id != case.applicant_id]
            if not approvers:
                if any(p is not None for p in planned):  # only the applicant was left: never theirs to decide
                    self.new_task(step, None, kind=TaskKind.ERROR, branch=branch, note=N_("申请人不能审批自己的申请。"))
                    created += 1
                continue
            if lane.get("mode") == "serial":
                start = resume.position if resume is not None and resume.branch == branch else 0
                start = self.serial_position(planned, start if 0 <= start < len(planned) else 0)
                self.new_task(step, planned[start], kind=kind, branch=branch, position=start)
                created += 1
            else:
                for position, person in enumerate(planned):
                    if person is not None and person.id != case.applicant_id:
                        self.new_task(step, person, kind=kind, branch=branch, position=position)
                        created += 1
        if resume is not None:
            step.progress = replace(step.progress, resume=None)
        if created == 0:
            step.status, step.finished_at = StepStatus.SKIPPED, now
            step.note = N_("审批人已在上一环节审批，不再重复")
            return False
        return True

    def serial_position(self, queue: list[Person | None], start: int) -> int:
        """The first position from ``start`` of a serial queue that someone other than the
        applicant holds (the plan never names the applicant; this keeps a stored plan from doing
        so either)."""
        for position in list(range(start, len(queue))) + list(range(0, start)):
            person = queue[position]
            if person is not None and person.id != self.case.applicant_id:
                return position
        raise Refusal("own_case")

    def advance(self, from_index: int) -> None:
        """Activate steps from ``from_index`` until one waits for people, or finish the case."""
        for step in self.case.ordered_steps():
            if step.index < from_index or step.status != StepStatus.PLANNED:
                continue
            self.case.current_step = step.index
            if self.activate(step):
                return
        self.finish_approved()

    def finish_approved(self) -> None:
        case, now = self.case, self.now
        case.current_step = None
        case.finished_at = now
        obligations = self.env.obligations()
        if obligations:
            transition(case, CaseStatus.APPROVED)
            for ob in obligations:
                day = case.form.get(ob.from_field) if ob.from_field else None
                due = None
                if day and self.env.deadlines is not None:
                    due = self.env.deadlines.due_after_date(date.fromisoformat(day), ob.days)
                task = self.new_task(None, Person(case.applicant_id, ""), kind=TaskKind.OBLIGATION, branch=None,
                                     origin="obligation", note=ob.name, due_at=due)
                task.obligation_code = ob.code
            case.finished_at = None
        else:
            transition(case, CaseStatus.COMPLETED if all(s.kind in ("handle", "read") for s in case.steps)
                       else CaseStatus.APPROVED)
        self.system_event("cases.case.approved", status=str(case.status))

    def lane_tasks(self, step: Step, branch: str | None) -> list[Task]:
        return [t for t in self.case.tasks if t.step_id == step.id and t.branch == branch and t.kind in LANE_KINDS]

    def lane_done(self, step: Step, branch: str | None, decided: Task) -> bool:
        """After ``decided`` was approved/done/read: create the next serial task, cancel the rest
        of an ``any`` lane, and say whether the lane is finished."""
        spec = _lane_spec(step, branch)
        tasks = self.lane_tasks(step, branch)
        open_tasks = [t for t in tasks if t.status == OPEN]
        mode = spec.get("mode", "any")
        if decided.kind == TaskKind.ERROR:
            mode = "any"
        if mode == "serial" and decided.origin in ("plan", "transfer"):
            queue = spec.get("approvers", [])
            for nxt in range(decided.position + 1, len(queue)):
                if any(t.origin == "plan" and t.position == nxt for t in tasks):
                    break
                person = self.people.get(queue[nxt])
                if person is not None and person.id != self.case.applicant_id:
                    self.new_task(step, person, kind=decided.kind, branch=branch, position=nxt)
                    return False
        if mode == "any":
            for task in open_tasks:
                if task.id != decided.id and task.origin in ("plan", "transfer") and task.blocked_by_task_id != decided.id:
                    self.cancel_with_dependants(task, N_("已由他人处理"), closed_by=decided.id)
            open_tasks = [t for t in open_tasks if t.status == OPEN and t.id != decided.id]
        return not [t for t in open_tasks if t.id != decided.id]

    def cancel_with_dependants(self, task: Task, note: str, *, closed_by: int | None = None) -> None:
        """Cancel ``task`` and whatever exists only through it — the opinion (征询) it waits for, the
        approvers its holder added before or after it (加签), and theirs in turn — so that no task
        is left open or waiting for ever on a task that will never be decided."""
        task.status, task.note, task.decided_at, task.closed_by_task_id = TaskStatus.CANCELLED, note, self.now, closed_by
        queue = [task]
        while queue:
            holder = queue.pop()
            for other in self.case.tasks:
                if other.status != OPEN or other.origin not in _SPAWNED:
                    continue
                if (other.parent_task_id == holder.id or other.id == holder.blocked_by_task_id
                        or (other.blocked_by_task_id == holder.id and other.origin == "added_after")):
                    other.status, other.note, other.decided_at = TaskStatus.CANCELLED, note, self.now
                    other.closed_by_task_id = closed_by
                    queue.append(other)
            holder.blocked_by_task_id = None

    def after_positive(self, task: Task) -> None:
        """Move the case on after an approve / done / read."""
        unblocked = [t for t in self.case.tasks if t.blocked_by_task_id == task.id and t.status == OPEN]
        for other in unblocked:
            other.blocked_by_task_id = None
        step = self.step_of(task)
        if task.kind == TaskKind.CONSULT or step is None:
            if task.kind == TaskKind.OBLIGATION:
                self.maybe_complete()
            return
        if unblocked and task.origin == "added_before":
            return
        if step.status != StepStatus.ACTIVE:
            return
        if self.lane_done(step, task.branch, task):
            if task.branch is not None:
                step.progress = replace(step.progress,
                                        done_branches=tuple(sorted(set(step.progress.done_branches) | {task.branch})))
                if not _step_done(step):
                    return
            step.status, step.finished_at = StepStatus.DONE, self.now
            self.advance(step.index + 1)

    def maybe_complete(self) -> None:
        pending = [t for t in self.case.tasks if t.kind == TaskKind.OBLIGATION and t.status == OPEN]
        if not pending and self.case.status == CaseStatus.APPROVED:
            transition(self.case, CaseStatus.COMPLETED)
            self.case.finished_at = self.now
            self.system_event("cases.case.completed")

    def cancel_open(self, note: str, *, keep_obligations: bool = True, steps_from: int | None = None) -> None:
        for task in self.case.tasks:
            if task.status != OPEN:
                continue
            if keep_obligations and task.kind == TaskKind.OBLIGATION:
                continue
            if steps_from is not None:
                step = self.step_of(task)
                if step is None or step.index < steps_from:
                    continue
            task.status, task.note, task.decided_at = TaskStatus.CANCELLED, note, self.now

    def claim(self, task: Task, acting_user: Actor, *, status: TaskStatus, decision: str, comment: str | None) -> None:
        """Record the decision on the task, exactly once: who acted, and for whom when a delegate
        (or a manager standing in for an applicant-delegate) acted for the holder."""
        if task.status != OPEN:
            raise Refusal("stale")
        self.bump()
        principal = acting_user.principal(task.assignee_id)
        task.status, task.decision, task.comment, task.decided_at = status, decision, comment, self.now
        task.acted_by_id, task.version = acting_user.id, task.version + 1
        task.on_behalf_of_id = principal.id if principal is not None else None
        if principal is not None and principal.reason == "manager_for_applicant":
            why = N_("代理人是申请人本人，由%(holder)s的上级领导代为处理", holder=principal.name)
            task.note = f"{task.note}；{why}" if task.note else why

    def acting(self, task: Task, acting_user: Actor) -> dict[str, Any]:
        """What an event says about who acted when it was for someone else: ``on_behalf_of``
        (uid), ``acted_label`` (王五（代张三）) and, when a manager stood in, ``delegation_reason``."""
        principal = acting_user.principal(task.assignee_id)
        if principal is None:
            return {}
        data = {"on_behalf_of": principal.uid, "acted_label": f"{acting_user.name}（代{principal.name}）"}
        if principal.reason != "delegated":
            data["delegation_reason"] = principal.reason
        return data


def _wait_for(case: Case, handed_on: Task, new: Task) -> None:
    """Whatever waited for a task handed on (转办) now waits for the task that replaces it."""
    for other in case.tasks:
        if other.blocked_by_task_id == handed_on.id and other.status == OPEN:
            other.blocked_by_task_id = new.id


def _lane_spec(step: Step, branch: str | None) -> Mapping[str, Any]:
    if branch is None:
        return step.spec
    return next(b for b in step.spec.get("branches", []) if b["name"] == branch)


def _step_done(step: Step) -> bool:
    if not step.spec.get("branches"):
        return step.status == StepStatus.DONE
    done = step.progress.done_branches
    return all(b["name"] in done for b in _lanes(step.spec) if b.get("approvers") or b.get("error"))


# ---- the checks: what capabilities asks and each command enforces ------------------------------

def _task_or_refuse(case: Case, task_id: int) -> Task:
    task = case.task(task_id)
    if task is None:
        raise Refusal("not_found")
    return task


def check_holder(case: Case, task: Task, acting_user: Actor) -> None:
    """``acting_user`` may act on ``task`` now: they hold it, its holder is one of their
    principals (a delegate, 代理), or it waits for an administrator and they are one. Nobody acts on their own case but to fulfil their obligations. Refuses ``own_case``,
    ``not_your_task``, ``stale``, ``blocked``."""
    if case.applicant_id == acting_user.id and task.kind != TaskKind.OBLIGATION:
        raise Refusal("own_case")
    waiting = task.assignee_id is None
    if (waiting and not acting_user.admin) or (not waiting and not acting_user.holds(task)):
        raise Refusal("not_your_task")
    if task.status != OPEN:
        raise Refusal("stale")
    if task.blocked_by_task_id is not None:
        raise Refusal("blocked")


def check_decision(case: Case, task: Task, acting_user: Actor, decision: str) -> None:
    """``acting_user`` may decide ``task`` with ``decision`` now (besides the comment and return target)."""
    check_holder(case, task, acting_user)
    if decision not in ALLOWED.get(task.kind, ()):
        raise Refusal("invalid", "decision_not_allowed", field="decision")
    if case.status not in (CaseStatus.IN_PROGRESS, CaseStatus.APPROVED):
        raise Refusal("invalid_transition")


FORWARD_OPS: Mapping[str, tuple[str, ...]] = {
    TaskKind.APPROVE: ("transfer", "consult", "add_approver"),
    TaskKind.HANDLE: ("transfer", "consult", "add_approver"),
    TaskKind.READ: ("transfer", "consult"),
    TaskKind.CONSULT: ("transfer", "consult"),
    TaskKind.ERROR: ("transfer", "consult"),
    TaskKind.OBLIGATION: (),
}
"""How each kind of task may be handed on: an obligation is the applicant's own duty, done only by
its holder, never transferred, consulted on or given added approvers."""


def check_forward(case: Case, task: Task, acting_user: Actor, op: str = "transfer") -> None:
    """``acting_user`` may hand ``task`` on with ``op`` (``transfer``, ``consult``, ``add_approver``)."""
    check_holder(case, task, acting_user)
    if op not in FORWARD_OPS.get(task.kind, ()):
        if task.kind == TaskKind.OBLIGATION:
            raise Refusal("forbidden", "obligation_own", field="task")
        raise Refusal("invalid", "cannot_add" if op == "add_approver" else "cannot_forward", field="task")


def check_withdraw_decision(case: Case, task: Task, acting_user: Actor) -> None:
    """An approver takes back their own decision while the next step has not acted yet."""
    if case.applicant_id == acting_user.id:
        raise Refusal("own_case")
    if task.acted_by_id != acting_user.id or task.status not in POSITIVE or task.step_id is None:
        raise Refusal("invalid_transition", "only_own_decision")
    if case.status != CaseStatus.IN_PROGRESS:
        raise Refusal("invalid_transition", "finished")
    step = case.step(task.step_id)
    later = [t for t in case.tasks if t.id != task.id and t.decided_at is not None and task.decided_at is not None
             and t.decided_at >= task.decided_at
             and t.status in (*DECIDED, TaskStatus.RETURNED, TaskStatus.TRANSFERRED)]
    for t in later:
        other = case.step(t.step_id)
        if other is None or step is None or other.index > step.index or t.position > task.position:
            raise Refusal("invalid_transition", "later_acted")
    if task.origin in _ASKED:
        asker = _asker(case, task)
        if asker is None or asker.status != OPEN or asker.blocked_by_task_id is not None:
            raise Refusal("invalid_transition", "later_acted")


def _asker(case: Case, task: Task) -> Task | None:
    """The task that asked for ``task`` (an opinion, an approver added before it), through any
    transfers of the asked task."""
    parent = case.task(task.parent_task_id) if task.parent_task_id is not None else None
    while parent is not None and parent.origin == task.origin and parent.status == TaskStatus.TRANSFERRED:
        parent = case.task(parent.parent_task_id) if parent.parent_task_id is not None else None
    return parent


def check_remove_approver(case: Case, added: Task, acting_user: Actor) -> None:
    """The holder removes an approver they added, before that person decided."""
    if case.applicant_id == acting_user.id:
        raise Refusal("own_case")
    parent = _asker(case, added)
    if not added.origin.startswith("added_") or parent is None or not acting_user.holds(parent):
        raise Refusal("forbidden", "only_own_added")
    if added.status != OPEN:
        raise Refusal("stale", "added_decided")


def check_withdraw_case(case: Case, acting_user: Actor) -> None:
    """The applicant withdraws before anyone decided."""
    _check_applicant(case, acting_user)
    if case.status not in (CaseStatus.DRAFT, CaseStatus.IN_PROGRESS, CaseStatus.RETURNED):
        raise Refusal("invalid_transition", "finished")
    decided = any(t.acted_by_id is not None and t.status in DECIDED for t in case.tasks)
    if decided and case.status == CaseStatus.IN_PROGRESS:
        raise Refusal("invalid_transition", "already_decided")


def check_resubmit(case: Case, acting_user: Actor) -> None:
    _check_applicant(case, acting_user)
    if case.status != CaseStatus.RETURNED:
        raise Refusal("invalid_transition", "only_returned")


def check_remind(case: Case, acting_user: Actor, *, last: datetime | None = None, now: datetime | None = None) -> None:
    """催办: the applicant, while the case is in progress, at most once every :data:`REMIND_INTERVAL`."""
    _check_applicant(case, acting_user)
    if case.status != CaseStatus.IN_PROGRESS:
        raise Refusal("invalid_transition", "not_in_progress")
    if last is not None and now is not None and now - last < REMIND_INTERVAL:
        minutes = int((REMIND_INTERVAL - (now - last)).total_seconds() // 60) + 1
        raise Refusal("rate_limited", n=minutes)


def check_cc(case: Case, acting_user: Actor) -> None:
    """The applicant and anyone who holds (or held) a task of the case may CC."""
    if case.applicant_id != acting_user.id and not any(acting_user.holds(t) for t in case.tasks):
        raise Refusal("forbidden", "cc_not_involved")


def check_upload(case: Case, acting_user: Actor) -> None:
    """The applicant adds files while the case is open to them (:data:`UPLOAD_STATUSES`)."""
    if case.applicant_id != acting_user.id:
        raise Refusal("forbidden", "upload_applicant_only")
    if case.status not in UPLOAD_STATUSES:
        raise Refusal("invalid_transition", "upload_closed")


def check_withdraw_attachment(case: Case, acting_user: Actor) -> None:
    """The applicant takes a file back while they hold the case (:data:`WITHDRAW_ATTACHMENT_STATUSES`)."""
    if case.applicant_id != acting_user.id:
        raise Refusal("forbidden", "withdraw_attachment_applicant_only")
    if case.status not in WITHDRAW_ATTACHMENT_STATUSES:
        raise Refusal("invalid_transition", "withdraw_attachment_closed")


def check_edit_draft(case: Case, acting_user: Actor) -> None:
    if case.applicant_id != acting_user.id:
        raise Refusal("forbidden", "draft_applicant_only")
    if case.status != CaseStatus.DRAFT:
        raise Refusal("invalid_transition", "only_draft_edit")


def check_submit(case: Case, acting_user: Actor) -> None:
    if case.applicant_id != acting_user.id:
        raise Refusal("forbidden", "submit_applicant_only")
    if case.status != CaseStatus.DRAFT:
        raise Refusal("invalid_transition", "only_draft_submit")


def _check_applicant(case: Case, acting_user: Actor) -> None:
    if case.applicant_id != acting_user.id:
        raise Refusal("forbidden", "applicant_only")


def _allowed(check: Callable[..., None], *args: Any, **kwargs: Any) -> bool:
    try:
        check(*args, **kwargs)
    except Refusal:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one person may do with a case now. Task ids map to what may be done with them."""

    decide: Mapping[int, tuple[str, ...]]
    """Open tasks the viewer may decide (or take, an administrator), and with which decisions;
    a blocked task is listed with no decisions."""
    blocked: frozenset[int]
    forward: frozenset[int]
    """Tasks the viewer may transfer or ask an opinion on."""
    transfer: frozenset[int]
    consult: frozenset[int]
    add_approver: frozenset[int]
    withdraw_decision: frozenset[int]
    remove_approver: frozenset[int]
    return_to: Mapping[int, tuple[str, ...]]
    """For each task the viewer may return, the earlier steps it may go back to."""
    withdraw_case: bool
    resubmit: bool
    remind: bool
    edit_draft: bool
    submit: bool
    upload: bool
    withdraw_attachments: bool
    cc: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "decide": {str(k): list(v) for k, v in self.decide.items()},
            "blocked": sorted(self.blocked), "forward": sorted(self.forward),
            "transfer": sorted(self.transfer), "consult": sorted(self.consult),
            "add_approver": sorted(self.add_approver), "withdraw_decision": sorted(self.withdraw_decision),
            "remove_approver": sorted(self.remove_approver),
            "return_to": {str(k): list(v) for k, v in self.return_to.items()},
            "withdraw_case": self.withdraw_case, "resubmit": self.resubmit, "remind": self.remind,
            "edit_draft": self.edit_draft, "submit": self.submit, "upload": self.upload,
            "withdraw_attachments": self.withdraw_attachments, "cc": self.cc,
        }


UPLOAD_STATUSES = (CaseStatus.DRAFT, CaseStatus.IN_PROGRESS, CaseStatus.RETURNED)
"""The applicant adds files while the case is open to them (:func:`check_upload`)."""
WITHDRAW_ATTACHMENT_STATUSES = (CaseStatus.DRAFT, CaseStatus.RETURNED)
"""The applicant takes a file back while they hold the case."""


def capabilities(case: Case, viewer: Actor) -> Capabilities:
    """What ``viewer`` may do with ``case`` now: the same checks the commands make."""
    decide: dict[int, tuple[str, ...]] = {}
    blocked: set[int] = set()
    ops: dict[str, set[int]] = {op: set() for op in ("transfer", "consult", "add_approver")}
    return_to: dict[int, tuple[str, ...]] = {}
    for task in case.tasks:
        if task.status != OPEN:
            continue
        try:
            check_holder(case, task, viewer)
        except Refusal as refusal:
            if refusal.code == "blocked" and not (task.assignee_id is None and not viewer.admin) \
                    and case.applicant_id != viewer.id:
                decide[task.id] = ()
                blocked.add(task.id)
            continue
        if case.status not in (CaseStatus.IN_PROGRESS, CaseStatus.APPROVED):
            continue
        decide[task.id] = ALLOWED.get(task.kind, ())
        for op, ids in ops.items():
            if _allowed(check_forward, case, task, viewer, op):
                ids.add(task.id)
        if "return" in decide[task.id]:
            step = case.step(task.step_id)
            return_to[task.id] = tuple(s.name for s in case.ordered_steps()
                                       if step is not None and 0 <= s.index < step.index and s.status == StepStatus.DONE)
    return Capabilities(
        decide=decide, blocked=frozenset(blocked), forward=frozenset(ops["transfer"] | ops["consult"]),
        transfer=frozenset(ops["transfer"]), consult=frozenset(ops["consult"]),
        add_approver=frozenset(ops["add_approver"]),
        withdraw_decision=frozenset(t.id for t in case.tasks if t.kind != TaskKind.OBLIGATION
                                    and _allowed(check_withdraw_decision, case, t, viewer)),
        remove_approver=frozenset(t.id for t in case.tasks if t.status == OPEN
                                  and _allowed(check_remove_approver, case, t, viewer)),
        return_to=return_to,
        withdraw_case=_allowed(check_withdraw_case, case, viewer),
        resubmit=_allowed(check_resubmit, case, viewer),
        remind=_allowed(check_remind, case, viewer),
        edit_draft=_allowed(check_edit_draft, case, viewer),
        submit=_allowed(check_submit, case, viewer),
        upload=_allowed(check_upload, case, viewer),
        withdraw_attachments=_allowed(check_withdraw_attachment, case, viewer),
        cc=_allowed(check_cc, case, viewer) and case.status in (CaseStatus.IN_PROGRESS, CaseStatus.RETURNED),
    )


# ---- the commands ----------------------------------------------------------------------------

def submit(case: Case, plan: Mapping[str, Any], *, acting_user: Actor, variant: str | None, number: str,
           due_at: datetime | None, now: datetime, env: Env, deferred: Iterable[str] = ()) -> Outcome:
    """Put a draft in progress on the resolved ``plan`` (its preview, with ``steps``): the steps
    are made from it and the first that waits for people is started (or the case finishes).
    Events ``cases.case.submitted``, then the steps' own."""
    check_submit(case, acting_user)
    run = _Run(case, env, now)
    c = run.case
    transition(c, CaseStatus.IN_PROGRESS)
    c.plan, c.variant, c.number = plan, variant, number
    c.submitted_at, c.due_at, c.updated_at = now, due_at, now
    _make_steps(run, plan)
    run.events.append(Event("cases.case.submitted", {"case_id": c.id, "number": number, "variant": variant,
                                                     "deferred": sorted(deferred)}))
    run.advance(0)
    return run.outcome()


def _make_steps(run: _Run, plan: Mapping[str, Any]) -> None:
    for index, spec in enumerate(plan["steps"]):
        run.case.steps.append(Step(id=run.new_id(), index=index, name=spec["name"], kind=spec["kind"],
                                   mode=spec["mode"], status=StepStatus.PLANNED, spec=spec,
                                   time_limit=spec.get("time_limit")))


def decide(case: Case, task_id: int, decision: str, *, acting_user: Actor, now: datetime, env: Env,
           comment: str | None = None, to_step: Any = None) -> Outcome:
    """Approve, reject, return (to the applicant, or ``to_step``, an earlier step done), mark
    done or read. Event ``cases.task.decided``."""
    if decision not in DECISIONS:
        raise Refusal("invalid", "bad_decision", field="decision")
    run = _Run(case, env, now)
    c = run.case
    task = _task_or_refuse(c, task_id)
    check_decision(c, task, acting_user, decision)
    target = None
    if decision == "return" and to_step is not None:
        target = _return_target(c, task, to_step)
    if decision in ("reject", "return") and task.kind == TaskKind.APPROVE and not comment:
        raise Refusal("invalid", "comment_required", field="comment")
    _take_if_waiting(task, acting_user)
    run.claim(task, acting_user, status=RESULT_STATUS[decision], decision=decision, comment=comment)
    if decision in ("approve", "done", "read"):
        run.after_positive(task)
    elif decision == "reject":
        run.cancel_open(N_("申请未获同意"))
        transition(c, CaseStatus.REJECTED)
        c.finished_at, c.current_step = now, None
        for step in c.ordered_steps():
            if step.status == StepStatus.ACTIVE:
                step.status, step.finished_at = StepStatus.REJECTED, now
    else:
        _return(run, task, target)
    step = c.step(task.step_id)
    return run.outcome("cases.task.decided", {
        "task_id": task.id, "decision": decision, "comment": comment, "step": step.name if step else None,
        "branch": task.branch, "status": str(c.status)} | run.acting(task, acting_user), result=task)


def approve_on_timeout(case: Case, task_id: int, *, now: datetime, env: Env, reason: str) -> Outcome:
    """超时默认同意: a step whose route says ``on_timeout: auto_approve`` is approved by the platform
    when its time limit has passed (an approval task, open and not waiting for an opinion); the
    case moves on as after anyone's approval. Nobody is recorded as acting; the event is the
    system's. Refuses ``stale`` (decided meanwhile), ``blocked`` and ``invalid`` (a task that is
    not an approval). Event ``cases.task.auto_approved``."""
    run = _Run(case, env, now)
    c = run.case
    task = _task_or_refuse(c, task_id)
    if task.status != OPEN or c.status != CaseStatus.IN_PROGRESS:
        raise Refusal("stale")
    if task.blocked_by_task_id is not None:
        raise Refusal("blocked")
    if task.kind != TaskKind.APPROVE:
        raise Refusal("invalid", "decision_not_allowed", field="task")
    run.bump()
    task.status, task.decision, task.comment, task.decided_at = TaskStatus.APPROVED, "approve", reason, now
    task.note, task.version = N_("超时未办，按流程规定默认同意"), task.version + 1
    run.system_event("cases.task.auto_approved", task_id=task.id, reason=reason)
    run.after_positive(task)
    return run.outcome(result=task)


def _return_target(case: Case, task: Task, to_step: Any) -> Step:
    current = case.step(task.step_id)
    if isinstance(to_step, bool) or not isinstance(to_step, (int, str)):
        raise Refusal("invalid", "to_step_missing", field="to_step")
    target = next((s for s in case.ordered_steps()
                   if (isinstance(to_step, int) and s.index == to_step) or s.name == to_step), None)
    if target is None or current is None or target.index >= current.index or target.status != StepStatus.DONE:
        raise Refusal("invalid", "to_step_invalid", field="to_step")
    return target


def _return(run: _Run, task: Task, target: Step | None) -> None:
    case, now = run.case, run.now
    current = case.step(task.step_id)
    case.return_count += 1
    if target is None:
        run.cancel_open(N_("已退回申请人修改"))
        transition(case, CaseStatus.RETURNED)
        case.returned_from_step, case.current_step = current.index if current else None, None
        if current is not None:
            current.status, current.finished_at = StepStatus.RETURNED, now
            current.progress = replace(current.progress, resume=Resume(task.branch, task.position))
        return
    run.cancel_open(N_("已退回至“%(step)s”", step=target.name), steps_from=target.index)
    for step in case.ordered_steps():
        if step.index >= target.index and step.status in (StepStatus.DONE, StepStatus.ACTIVE, StepStatus.SKIPPED,
                                                          StepStatus.RETURNED):
            step.status, step.finished_at, step.started_at = StepStatus.PLANNED, None, None
            step.progress = replace(step.progress, done_branches=())
    run.advance(target.index)


def withdraw_decision(case: Case, task_id: int, *, acting_user: Actor, now: datetime, env: Env) -> Outcome:
    """Take back one's own decision while the next step has not acted: later steps go back to
    planned, their open tasks are cancelled, the lane's tasks the decision closed reopen and the
    decider gets a new task. Event ``cases.task.decision_withdrawn``."""
    run = _Run(case, env, now)
    c = run.case
    task = _task_or_refuse(c, task_id)
    check_withdraw_decision(c, task, acting_user)
    run.bump()
    step = c.step(task.step_id)
    assert step is not None
    for other in c.ordered_steps():
        if other.index > step.index and other.status in (StepStatus.ACTIVE, StepStatus.DONE, StepStatus.SKIPPED):
            other.status, other.started_at, other.finished_at = StepStatus.PLANNED, None, None
    run.cancel_open(N_("上一环节撤回了决定"), steps_from=step.index + 1)
    for other in run.lane_tasks(step, task.branch):
        if other.status == TaskStatus.CANCELLED and other.closed_by_task_id == task.id:
            other.status, other.note, other.decided_at, other.closed_by_task_id = OPEN, None, None, None
    task.status, task.note = TaskStatus.CANCELLED, N_("审批人撤回了此决定")
    asker = _asker(c, task) if task.origin in _ASKED else None
    replacement = run.new_task(step, Person(task.assignee_id or acting_user.id, ""), kind=task.kind,
                               branch=task.branch, position=task.position, origin=task.origin, parent=asker or task)
    if asker is not None:
        asker.blocked_by_task_id = replacement.id
    if task.branch:
        step.progress = replace(step.progress,
                                done_branches=tuple(b for b in step.progress.done_branches if b != task.branch))
    step.status, step.finished_at = StepStatus.ACTIVE, None
    c.current_step = step.index
    return run.outcome("cases.task.decision_withdrawn", {"task_id": task.id, "replacement": replacement.id},
                       result=replacement)


def _take_if_waiting(task: Task, acting_user: Actor) -> None:
    """An administrator acting on a task that waits for one (no assignee) takes it."""
    if task.assignee_id is None:
        task.assignee_id = acting_user.id


def _hand_on_check(case: Case, task: Task, acting_user: Actor, target: Person, refusal: str, op: str) -> None:
    check_forward(case, task, acting_user, op)
    if target.id in (acting_user.id, case.applicant_id):
        raise Refusal("self_approval", refusal, field="to")


def transfer(case: Case, task_id: int, target: Person, *, acting_user: Actor, now: datetime,
             comment: str | None = None) -> Outcome:
    """转办: ``target`` decides in the holder's place. Event ``cases.task.transferred``."""
    run = _Run(case, Env(), now)
    c = run.case
    task = _task_or_refuse(c, task_id)
    _hand_on_check(c, task, acting_user, target, "transfer_self", "transfer")
    _take_if_waiting(task, acting_user)
    run.claim(task, acting_user, status=TaskStatus.TRANSFERRED, decision="transfer", comment=comment)
    new = run.new_task(c.step(task.step_id), target, kind=task.kind, branch=task.branch, position=task.position,
                       origin="transfer" if task.origin == "plan" else task.origin, parent=task,
                       note=N_("由%(name)s转办", name=acting_user.name), due_at=task.due_at)
    _wait_for(c, task, new)
    return run.outcome("cases.task.transferred", {"task_id": task.id, "to": target.uid, "comment": comment}
                       | run.acting(task, acting_user), result=new)


def escalate(case: Case, task_id: int, target: Person, *, now: datetime, env: Env, reason: str) -> Outcome:
    """超时转办 by the platform: a step's time limit passed and its route hands the task on, so
    ``target`` decides in the holder's place, with a new time limit of the step's own (one working
    day when it has none). Nobody acts: the task is closed as transferred with ``reason`` and no
    ``acted_by``, and the event is the system's. Refuses ``stale`` (decided meanwhile),
    ``blocked``, ``invalid`` (a kind never handed on) and ``self_approval`` (``target`` is the
    applicant or already holds it). Event ``cases.task.escalated``."""
    run = _Run(case, env, now)
    c = run.case
    task = _task_or_refuse(c, task_id)
    if task.status != OPEN or c.status not in (CaseStatus.IN_PROGRESS, CaseStatus.APPROVED):
        raise Refusal("stale")
    if task.blocked_by_task_id is not None:
        raise Refusal("blocked")
    if "transfer" not in FORWARD_OPS.get(task.kind, ()):
        raise Refusal("invalid", "cannot_forward", field="task")
    if target.id in (c.applicant_id, task.assignee_id):
        raise Refusal("self_approval", "transfer_self", field="to")
    run.bump()
    task.status, task.decision, task.comment, task.decided_at = TaskStatus.TRANSFERRED, "transfer", reason, now
    task.version += 1
    step = c.step(task.step_id)
    new = run.new_task(step, target, kind=task.kind, branch=task.branch, position=task.position,
                       origin="transfer" if task.origin == "plan" else task.origin, parent=task,
                       note=N_("超时未办，由系统按流程转交"),
                       due_at=run.due(now, (step.time_limit if step is not None else None) or 1))
    _wait_for(c, task, new)
    run.system_event("cases.task.escalated", task_id=task.id, to=target.uid, reason=reason)
    return run.outcome(result=new)


def consult(case: Case, task_id: int, target: Person, *, acting_user: Actor, now: datetime,
            comment: str | None = None) -> Outcome:
    """征询意见: ask ``target``'s opinion; the task waits for it and comes back to its holder.
    Event ``cases.task.consulted``."""
    run = _Run(case, Env(), now)
    c = run.case
    task = _task_or_refuse(c, task_id)
    _hand_on_check(c, task, acting_user, target, "consult_self", "consult")
    _take_if_waiting(task, acting_user)
    run.bump()
    asked = run.new_task(c.step(task.step_id), target, kind=TaskKind.CONSULT, branch=task.branch, origin="consult",
                         parent=task, note=comment, due_at=task.due_at)
    task.blocked_by_task_id = asked.id
    return run.outcome("cases.task.consulted", {"task_id": task.id, "to": target.uid, "consult_task": asked.id}
                       | run.acting(task, acting_user), result=asked)


def add_approver(case: Case, task_id: int, target: Person, *, acting_user: Actor, now: datetime, position: str,
                 comment: str | None = None) -> Outcome:
    """加签: ``target`` approves before the holder (who then decides) or after the holder (before
    the step moves on). Event ``cases.task.approver_added``."""
    if position not in ("before", "after"):
        raise Refusal("invalid", "bad_position", field="position")
    run = _Run(case, Env(), now)
    c = run.case
    task = _task_or_refuse(c, task_id)
    _hand_on_check(c, task, acting_user, target, "add_self", "add_approver")
    _take_if_waiting(task, acting_user)
    run.bump()
    added = run.new_task(c.step(task.step_id), target, kind=task.kind, branch=task.branch, position=task.position,
                         origin=f"added_{position}", parent=task, note=comment, due_at=task.due_at)
    if position == "before":
        task.blocked_by_task_id = added.id
    else:
        added.blocked_by_task_id = task.id
    return run.outcome("cases.task.approver_added", {"task_id": task.id, "to": target.uid, "position": position,
                                                      "added_task": added.id} | run.acting(task, acting_user),
                       result=added)


def remove_approver(case: Case, task_id: int, *, acting_user: Actor, now: datetime, env: Env) -> Outcome:
    """减签: the holder removes an approver they added, before that person decided. Event
    ``cases.task.approver_removed``."""
    run = _Run(case, env, now)
    c = run.case
    added = _task_or_refuse(c, task_id)
    check_remove_approver(c, added, acting_user)
    parent = _asker(c, added)
    assert parent is not None
    run.bump()
    run.cancel_with_dependants(added, N_("已减签"))
    if parent.blocked_by_task_id == added.id:
        parent.blocked_by_task_id = None
    step = c.step(parent.step_id)
    if parent.status in (TaskStatus.APPROVED, TaskStatus.DONE) and step is not None and step.status == StepStatus.ACTIVE:
        run.after_positive(parent)
    return run.outcome("cases.task.approver_removed", {"task_id": added.id}, result=added)


def withdraw_case(case: Case, *, acting_user: Actor, now: datetime, reason: str | None = None) -> Outcome:
    """The applicant withdraws before anyone decided. Event ``cases.case.withdrawn``."""
    run = _Run(case, Env(), now)
    c = run.case
    check_withdraw_case(c, acting_user)
    run.bump()
    run.cancel_open(N_("申请人已撤回"), keep_obligations=False)
    transition(c, CaseStatus.WITHDRAWN)
    c.finished_at, c.current_step = now, None
    for step in c.ordered_steps():
        if step.status in (StepStatus.ACTIVE, StepStatus.PLANNED):
            step.status = StepStatus.CANCELLED
    return run.outcome("cases.case.withdrawn", {"reason": reason})


def resubmit(case: Case, form: Mapping[str, Any], *, title: str, acting_user: Actor, now: datetime, env: Env,
             matter_restarts: bool, resolve: Callable[[], tuple[Mapping[str, Any], str | None, Mapping[str, Person]]],
             revision: int, changed: Iterable[str]) -> Outcome:
    """A returned case goes on with an amended form: back to the step that returned it, or from
    the start on a freshly resolved plan (the matter says ``resubmit: restart``, or the case was
    returned from nowhere). ``resolve`` gives the fresh plan, its variant and the people it names.
    Events ``cases.case.plan_changed`` (restart), ``cases.case.resubmitted``, then the steps'."""
    check_resubmit(case, acting_user)
    run = _Run(case, env, now)
    c = run.case
    run.bump()
    transition(c, CaseStatus.IN_PROGRESS)
    c.form, c.title = dict(form), title
    restart = matter_restarts or c.returned_from_step is None
    if restart:
        plan, variant, people = resolve()
        run.people.update(people)
        old_plan = c.plan
        c.plan, c.variant = plan, variant
        for step in c.steps:
            step.status = StepStatus.SUPERSEDED
            step.index = -step.id
        _make_steps(run, plan)
        run.events.append(Event("cases.case.plan_changed", {
            "case_id": c.id, "before": [s["name"] for s in old_plan.get("steps", [])],
            "after": [s["name"] for s in plan["steps"]]}))
        first = 0
    else:
        first = c.returned_from_step or 0
        for step in c.steps:
            if step.index >= first and step.status in (StepStatus.RETURNED, StepStatus.PLANNED):
                step.status, step.started_at, step.finished_at = StepStatus.PLANNED, None, None
    run.events.append(Event("cases.case.resubmitted", {"case_id": c.id, "revision": revision, "restart": restart,
                                                       "changed": sorted(changed)}))
    run.advance(first)
    return run.outcome()


@dataclass(frozen=True, slots=True)
class CcRow:
    """A person the case is now copied to (a ``case_cc`` row to insert)."""

    person_id: int
    uid: str
    by_id: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReminderRow:
    """A holder reminded of their open task (a ``reminder`` row to insert)."""

    task_id: int
    by_id: int
    created_at: datetime


def cc(case: Case, targets: Sequence[Person], *, acting_user: Actor, now: datetime,
       already: Iterable[int] = ()) -> Outcome:
    """抄送: copy the case to ``targets``, skipping the applicant, the people ``already`` copied
    (by id) and repeats. The case does not change; ``result`` is the :class:`CcRow` list to
    insert. Event ``cases.case.cc``."""
    check_cc(case, acting_user)
    run = _Run(case, Env(), now)
    seen = set(already) | {case.applicant_id}
    rows: list[CcRow] = []
    for person in targets:
        if person.id not in seen:
            seen.add(person.id)
            rows.append(CcRow(person.id, person.uid, acting_user.id, now))
    return run.outcome("cases.case.cc", {"to": [r.uid for r in rows]}, result=rows)


def remind(case: Case, *, acting_user: Actor, now: datetime, last: datetime | None = None) -> Outcome:
    """催办 the holders of the open tasks (not the applicant's obligations); ``last`` is when the
    case was last reminded (at most once every :data:`REMIND_INTERVAL`). The case does not
    change; ``result`` is the :class:`ReminderRow` list to insert. Event ``cases.case.reminded``."""
    check_remind(case, acting_user, last=last, now=now)
    run = _Run(case, Env(), now)
    rows = [ReminderRow(t.id, acting_user.id, now) for t in case.tasks
            if t.status == OPEN and t.kind != TaskKind.OBLIGATION]
    return run.outcome("cases.case.reminded", {"tasks": [r.task_id for r in rows]}, result=rows)

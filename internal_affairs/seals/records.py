"""The record of a finished case as the signing library's :class:`~signing.CaseRecord`: the form
with the matter's labels, the materials with their SHA-256, the full trail (delegated acts as
"王五（代张三）") and whether each time limit was met."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from signing import CaseRecord, FormField, Material, TrailEntry

from ..clock import LOCAL_TZ
from ..cases.models import Attachment, Case, CaseStep, Task
from ..cases.queries import person_label
from ..extensions import db
from ..matters.queries import definition_of

__all__ = ["build_case_record", "DECISION_LABELS", "OUTCOME_LABELS"]

DECISION_LABELS = {"approve": "同意", "reject": "不同意", "return": "退回", "done": "已办理", "read": "已阅"}
OUTCOME_LABELS = {"approved": "同意", "rejected": "不予同意", "completed": "已办结"}


def _local(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ) if value else None


def _value(spec: Any, form: dict[str, Any]) -> str:
    if spec.type == "date_range":
        parts = [str(form.get(k, "")) for k in (spec.start, spec.end) if k]
        return " 至 ".join(p for p in parts if p)
    value = form.get(spec.code)
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return "、".join(spec.option_label(str(v)) if spec.options else str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return spec.option_label(str(value)) if spec.options else str(value)


def build_case_record(case: Case) -> CaseRecord:
    """The record of ``case`` (finished) for :func:`signing.render_record`: every act someone
    performed, in order (tasks cancelled unacted, e.g. the other holders of an 或签 step, are not acts)."""
    definition = definition_of(case.matter_version)
    form = tuple(FormField(spec.label, _value(spec, case.form)) for spec in definition.fields
                 if any(k in case.form for k in spec.keys()))
    names = {m.code: m.name for m in definition.materials}
    attachments = db.session.execute(
        select(Attachment).where(Attachment.case_id == case.id, Attachment.superseded.is_(False))
        .order_by(Attachment.id)).scalars()
    materials = tuple(Material(names.get(a.material, a.material), a.filename, a.sha256) for a in attachments)
    steps = {s.id: s for s in db.session.execute(select(CaseStep).where(CaseStep.case_id == case.id)).scalars()}
    tasks = db.session.execute(
        select(Task).where(Task.case_id == case.id, Task.decided_at.is_not(None), Task.acted_by_id.is_not(None))
        .order_by(Task.decided_at, Task.id)).scalars()
    trail = [TrailEntry(step=step.name, person="系统", title="", acted="系统自动审批", decision="同意",
                        comment=step.note or "", at=_local(step.finished_at))
             for step in sorted(steps.values(), key=lambda s: s.index)
             if (step.spec or {}).get("auto_outcome") == "approved" and step.status == "done" and step.finished_at]
    for task in tasks:
        step: CaseStep | None = steps.get(task.step_id)
        principal = task.on_behalf_of or task.acted_by or task.assignee
        trail.append(TrailEntry(
            step=step.name if step else (task.note or "办结后事项"), person=principal.name if principal else "—",
            title=(principal.title or "") if principal else "",
            acted=person_label(task.acted_by, task.on_behalf_of) or "—",
            decision=DECISION_LABELS.get(task.decision or "", task.decision or task.status),
            comment=task.comment or "", at=_local(task.decided_at),
            time_limit_met=None if task.due_at is None else task.decided_at <= task.due_at))
    trail.sort(key=lambda t: t.at)
    finished = case.finished_at or case.updated_at
    return CaseRecord(number=case.number or str(case.id), agency=case.agency.name, matter=case.matter_type.name,
                      applicant=person_label(case.applicant, None) or "", submitted_at=_local(case.submitted_at or case.created_at),
                      finished_at=_local(finished), outcome=OUTCOME_LABELS.get(case.status, case.status),
                      form=form, materials=materials, trail=tuple(trail), due_at=_local(case.due_at))

"""Every write to delegations: create, revoke, confirm a proposed one, and the automatic
delegation to a person's default deputy when their leave or business trip is approved.

Who may: the principal for themselves; HR for anyone in the agencies they are HR for; system
administrators for anyone (:func:`check_can_manage`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ..atomic import atomic
from ..audit.actions import record_event
from ..cases.errors import InvalidTransitionError
from ..clock import LOCAL_TZ, local_midnight
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..matters.models import MatterType
from ..org.models import Person
from ..org.queries import get_person_by_uid, hr_agency_ids, is_system_admin
from .models import Delegation, delegation_state
from .queries import absence_days, local

__all__ = ["parse_instant", "parse_person", "check_can_manage", "do_create_delegation", "do_revoke_delegation",
           "do_confirm_delegation", "auto_delegate_for_case", "AUTO_MATTERS", "MAX_WINDOW_DAYS"]

MAX_WINDOW_DAYS = 366
MAX_REASON = 500
AUTO_MATTERS = ("leave", "business_trip")
"""Approved cases of these matters are absences: the applicant's default deputy stands in."""


def parse_instant(value: Any, field: str, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 instant as naive UTC. A time without an offset is Asia/Shanghai wall time; a
    bare date is the start of that day there (``end_of_day``: the start of the next). Raises
    :class:`ValidationError`."""
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise ValidationError(fields={field: _("请填写时间（ISO 8601，如 2026-12-07T09:00）。")})
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            parsed = datetime.combine(day + timedelta(days=1) if end_of_day else day, time())
        else:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=LOCAL_TZ)
        return parsed.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: a day or instant at the edge of year 1 or 9999
        raise ValidationError(fields={field: _("时间格式不正确（ISO 8601，如 2026-12-07T09:00）。")}) from None


def parse_person(value: Any, field: str, label: str) -> Person:
    """The person whose login ``value`` names, for the form or body field ``field`` (``label``:
    its name in messages). Raises :class:`ValidationError` naming ``field``."""
    uid = value.strip() if isinstance(value, str) else ""
    if not uid or len(uid) > 100:
        raise ValidationError(fields={field: _("请填写%(field)s的用户名。", field=label)})
    try:
        return get_person_by_uid(uid)
    except NotFound:
        raise ValidationError(fields={field: _("没有这个人员：%(uid)s", uid=uid)}) from None


def check_can_manage(principal: Person, acting_user: Person) -> None:
    """``acting_user`` may create or revoke delegations of ``principal``: themselves, HR of the
    principal's agency, or a system administrator. Raises :class:`PermissionDenied`."""
    if principal.id == acting_user.id or is_system_admin(acting_user):
        return
    if principal.agency_id in hr_agency_ids(acting_user):
        return
    raise PermissionDenied(_("只能为自己设置代理；人事人员可为本单位人员设置。"))


def _matter_types(value: Any) -> list[str] | None:
    if value is None or value == [] or value == "all":
        return None
    if not isinstance(value, list) or len(value) > 50 or any(not isinstance(v, str) or not v for v in value):
        raise ValidationError(fields={"matter_types": _("事项范围须是事项代码的列表，或留空表示全部事项。")})
    codes = sorted(set(value))
    known = set(db.session.execute(select(MatterType.code).where(MatterType.code.in_(codes))).scalars())
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValidationError(fields={"matter_types": _("没有这个事项：%(code)s", code=unknown[0][:50])})
    return codes


def _check_people(principal: Person, delegate: Person) -> None:
    if delegate.id == principal.id:
        raise ValidationError(fields={"delegate": _("代理人不能是委托人本人。")})
    if not delegate.active:
        raise ValidationError(fields={"delegate": _("代理人已停用。")})
    if not principal.active:
        raise ValidationError(fields={"principal": _("委托人已停用。")})


def _check_window(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationError(fields={"ends_at": _("结束时间必须晚于开始时间。")})
    if ends_at <= now:
        raise ValidationError(fields={"ends_at": _("结束时间已经过去。")})
    if ends_at - starts_at > timedelta(days=MAX_WINDOW_DAYS):
        raise ValidationError(fields={"ends_at": _("代理期限不能超过 %(n)s 天。", n=MAX_WINDOW_DAYS)})


def _event(action: str, row: Delegation, acting_user: Person | None, now: datetime, **extra: Any) -> None:
    record_event(action, actor=acting_user, object_type="delegation", object_id=row.id, now=now, data={
        "principal": row.principal.uid, "delegate": row.delegate.uid, "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(), "matter_types": row.matter_types, "source": row.source} | extra)


@atomic
def do_create_delegation(principal: Person, delegate: Person, starts_at: datetime, ends_at: datetime, *,
                         acting_user: Person, now: datetime, matter_types: Any = None, reason: Any = None) -> Delegation:
    """A manual delegation of ``principal``'s tasks (in ``matter_types``, None: all) to
    ``delegate`` from ``starts_at`` to ``ends_at`` (naive UTC). Raises :class:`PermissionDenied`,
    :class:`ValidationError`. Event ``delegation.created``."""
    check_can_manage(principal, acting_user)
    _check_people(principal, delegate)
    _check_window(starts_at, ends_at, now)
    codes = _matter_types(matter_types)
    if reason is not None and not isinstance(reason, str):
        raise ValidationError(fields={"reason": _("事由必须是文字。")})
    if reason and len(reason) > MAX_REASON:
        raise ValidationError(fields={"reason": _("事由不能超过 %(n)s 字。", n=MAX_REASON)})
    row = Delegation(principal=principal, delegate=delegate, starts_at=starts_at, ends_at=ends_at, matter_types=codes,
                     reason=(reason or "").strip() or None, source="manual", proposed=False, created_at=now,
                     created_by=acting_user)
    db.session.add(row)
    db.session.flush()
    _event("delegation.created", row, acting_user, now, reason=row.reason)
    _tell_people(row, now=now, kind="delegation.created")
    db.session.commit()
    return row


@atomic
def do_revoke_delegation(row: Delegation, *, acting_user: Person, now: datetime) -> Delegation:
    """Revoke a delegation (the row stays, with who revoked it and when): its principal, its
    delegate (declining), HR of the principal's agency, administrators. Raises
    :class:`PermissionDenied`, :class:`InvalidTransitionError` (already revoked or over). Event
    ``delegation.revoked``."""
    if row.delegate_id != acting_user.id:
        check_can_manage(row.principal, acting_user)
    state = delegation_state(row, now)
    if state in ("revoked", "expired"):
        raise InvalidTransitionError(_("该代理已撤销或已到期。"))
    row.revoked_at, row.revoked_by = now, acting_user
    _event("delegation.revoked", row, acting_user, now, state_before=state)
    _tell_people(row, now=now, kind="delegation.revoked")
    db.session.commit()
    return row


@atomic
def do_confirm_delegation(row: Delegation, *, acting_user: Person, now: datetime) -> Delegation:
    """The principal (or their HR) confirms a delegation the platform proposed. Raises
    :class:`PermissionDenied`, :class:`InvalidTransitionError`. Event ``delegation.confirmed``."""
    check_can_manage(row.principal, acting_user)
    if delegation_state(row, now) != "proposed" or row.ends_at <= now:
        raise InvalidTransitionError(_("只有待确认且尚未到期的代理可以确认。"))
    row.proposed = False
    _event("delegation.confirmed", row, acting_user, now)
    _tell_people(row, now=now, kind="delegation.created")
    db.session.commit()
    return row


def _absence_window(form: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """The whole local days of the absence the form gives, as naive UTC."""
    days = absence_days(form)
    return None if days is None else (local_midnight(days[0]), local_midnight(days[1] + timedelta(days=1)))


def auto_delegate_for_case(case: Any, matter_code: str, *, now: datetime, has_deputy: bool = True) -> Delegation | None:
    """In the transaction that approves ``case``: when it is a leave or business trip of someone
    with an active default deputy, delegate to the deputy for the absence window (source
    ``auto``), or propose it (``IA_AUTO_DELEGATION=propose``); nothing when the setting is
    ``off``, the window is over or the same delegation exists. Event ``delegation.created`` by
    the system. The caller commits. ``has_deputy=False`` (the caller read the applicant and knows
    they have no default deputy) spares reading them again."""
    mode = current_app.config.get("AUTO_DELEGATION", "create")
    if mode == "off" or matter_code not in AUTO_MATTERS or not has_deputy:
        return None
    principal = db.session.get(Person, case.applicant_id)
    deputy = principal.default_deputy if principal is not None else None
    if deputy is None or not deputy.active or deputy.id == principal.id:
        return None
    window = _absence_window(dict(case.form or {}))
    if window is None or window[1] <= now:
        return None
    exists = db.session.execute(select(Delegation.id).where(
        Delegation.source_case_id == case.id, Delegation.revoked_at.is_(None))).first()
    if exists:
        return None
    row = Delegation(principal=principal, delegate=deputy, starts_at=window[0], ends_at=window[1], matter_types=None,
                     reason=f"{case.title}（办件 {case.number or case.id} 已批准）"[:MAX_REASON],
                     source="auto", proposed=mode == "propose", source_case_id=case.id, created_at=now, created_by=None)
    db.session.add(row)
    db.session.flush()
    _event("delegation.created", row, None, now, case_id=case.id, proposed=row.proposed)
    _tell_people(row, now=now, kind="delegation.proposed" if row.proposed else "delegation.created")
    return row


def _texts(row: Delegation, kind: str) -> Iterable[tuple[Person, str, str]]:
    """Who is told what about ``row``: (recipient, subject, body), in the platform's language."""
    window = f"{local(row.starts_at)} — {local(row.ends_at)}"
    principal, delegate = row.principal, row.delegate
    if kind == "delegation.revoked":
        yield principal, f"代理已撤销：{delegate.name}", f"{delegate.name}代您处理待办的安排（{window}）已撤销。"
        yield delegate, f"代理已撤销：{principal.name}", f"您代{principal.name}处理待办的安排（{window}）已撤销。"
    elif kind == "delegation.proposed":
        yield principal, f"请确认代理：{delegate.name}", (
            f"您的请假/出差已批准。系统建议由默认代理人{delegate.name}在 {window} 代您处理待办，请在“代理设置”页确认。")
    else:
        yield principal, f"代理已生效：{delegate.name}", f"{delegate.name}将在 {window} 代您处理待办事项。"
        yield delegate, f"请代{principal.name}处理待办", (
            f"{principal.name}在 {window} 期间由您代为处理待办，相关事项会出现在您的待办中，标注“代 {principal.name}”。")


def _tell_people(row: Delegation, *, now: datetime, kind: str) -> int:
    """Tell the principal and the delegate about ``row`` — the one place that does — through the
    notification outbox, in the caller's transaction, once per delegation, event and person.
    Returns the outbox rows added."""
    from ..notify.actions import notify

    return sum(notify([recipient], kind=kind, subject=subject, body=body, link="/delegations",
                      dedupe_key=f"{kind}:{row.id}:{recipient.id}", now=now, case_id=row.source_case_id)
               for recipient, subject, body in _texts(row, kind))

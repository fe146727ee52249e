"""Writes to the org chart: directory sync runs and what HR sets in the app.

Every action is atomic and appends its audit event in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import delete, select

from org_sync.ldif_reader import read_ldif
from org_sync.model import ReadResult, Snapshot, SyncSourceError
from org_sync.plan import CurrentState, Guards, SyncPlan, clean_snapshot, compute_plan
from org_sync.snapshot import build_snapshot, merge_incremental, normalize_dn, schema_for

from ..audit.actions import record_event
from ..errors import Conflict, DomainError, NotFound, PermissionDenied, ServiceUnavailable, ValidationError
from ..extensions import db
from .directory import directory_configured, read_directory
from .models import Agency, Department, OrgGroup, OrgGroupMember, Person, SyncRun
from .queries import get_current_state

__all__ = ["SyncFailed", "SyncBlocked", "SyncPlanChanged", "do_sync", "do_apply_run",
           "do_set_default_deputy", "check_can_sync"]


class SyncFailed(ServiceUnavailable):
    code = "sync_failed"


class SyncBlocked(Conflict):
    code = "sync_refused"


class SyncPlanChanged(Conflict):
    code = "sync_plan_changed"


def check_can_sync(actor: Person | None, roles: set[str]) -> None:
    """HR officers and system administrators run syncs. Raises :class:`PermissionDenied`."""
    if actor is not None and not roles & {"hr", "admin"}:
        raise PermissionDenied(_("只有人事（组织人事）人员或系统管理员可以同步组织架构。"))


def _fingerprint(plan: SyncPlan) -> str:
    body = json.dumps(plan.to_dict()["changes"], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _active_part(state: CurrentState) -> Snapshot:
    snap = state.snapshot
    keep = lambda d: {k: v for k, v in d.items() if k not in state.inactive}  # noqa: E731
    return Snapshot(snap.base_dn, keep(snap.units), keep(snap.people), keep(snap.groups), snap.source)


def _known_dns(state: CurrentState) -> dict:
    known = {}
    snap = state.snapshot
    for kind, objects in (("unit", snap.units), ("person", snap.people)):
        for ident, obj in objects.items():
            if ident in state.inactive:
                continue
            try:
                known[normalize_dn(obj.dn)] = (kind, ident)
            except ValueError:
                continue
    return known


def _read(config: Mapping[str, Any], source: str | Path | bytes, *, full: bool,
          cookie: str | None, state: CurrentState) -> ReadResult:
    if source == "ldap":
        if not directory_configured(config):
            raise ValidationError(_("未配置目录服务（IA_LDAP_URI、IA_LDAP_BASE_DN）。"), code="ldap_not_configured")
        snap = state.snapshot
        known = [i for d in (snap.units, snap.people, snap.groups) for i in d if i not in state.inactive]
        return read_directory(config, cookie=cookie, full=full, known_ids=known)
    return read_ldif(source)


def _last_cookie(source_label: str) -> str | None:
    return db.session.execute(
        select(SyncRun.cookie).where(SyncRun.status == "applied", SyncRun.source == source_label,
                                     SyncRun.cookie.is_not(None))
        .order_by(SyncRun.id.desc()).limit(1)).scalar_one_or_none()


def do_sync(*, acting_user: Person | None, config: Mapping[str, Any], now: datetime,
            source: str | Path | bytes = "ldap", base_dn: str | None = None, dry_run: bool = False,
            full: bool = False, force: bool = False, expected_fingerprint: str | None = None) -> SyncRun:
    """Read the directory, plan, and (unless ``dry_run``) apply. Every run is recorded.

    ``source`` is ``"ldap"`` (the configured directory) or an LDIF path or its bytes.
    Raises :class:`SyncFailed` when the directory cannot be read completely (nothing changes),
    :class:`SyncBlocked` when a safety guard refuses the plan and ``force`` is off, and
    :class:`SyncPlanChanged` when ``expected_fingerprint`` no longer matches the plan.
    """
    base_dn = base_dn or config.get("LDAP_BASE_DN") or "dc=jiahe,dc=gov,dc=cn"
    if source == "ldap":
        label = f"ldap:{config.get('LDAP_URI')}/{base_dn}"
    elif isinstance(source, bytes):
        label = "ldif:upload"
    else:
        label = f"ldif:{Path(source).name}"
    schema = schema_for(config.get("LDAP_FLAVOR") or "openldap")
    run = SyncRun(started_at=now, actor_id=getattr(acting_user, "id", None),
                  actor_label=getattr(acting_user, "uid", None) or "system", source=label,
                  mode="full" if full or source != "ldap" else "incremental", dry_run=dry_run,
                  forced=force, status="running", counts={}, plan={}, errors=[])
    state = get_current_state(base_dn)
    cookie = None if full else _last_cookie(label)
    try:
        result = _read(config, source, full=full, cookie=cookie, state=state)
        if result.complete:
            run.mode = "full"
            incoming = build_snapshot(result.entries, base_dn, schema, source=label, cookie=result.cookie)
        else:
            delta = build_snapshot(result.entries, base_dn, schema, source=label, cookie=result.cookie,
                                   known=_known_dns(state), known_units=_active_part(state).units)
            incoming = merge_incremental(_active_part(state), delta, result.deleted_ids, result.present_ids)
    except SyncSourceError as exc:
        db.session.rollback()
        run.status, run.errors, run.finished_at = "failed", [str(exc)], now
        db.session.add(run)
        record_event("org.sync.failed", actor=acting_user, object_type="sync_run", object_id="-",
                     data={"source": label, "error": str(exc)}, now=now)
        db.session.commit()
        raise SyncFailed(_("读取目录失败，未做任何更改：%(error)s", error=str(exc)),
                         details={"run_id": run.id}) from exc

    plan = compute_plan(state, incoming, Guards(
        max_deactivate_ratio=float(config.get("SYNC_MAX_DEACTIVATE_RATIO", 0.1)), forced=force))
    fingerprint = _fingerprint(plan)
    run.people_seen = plan.people_seen
    run.plan = plan.to_dict() | {"fingerprint": fingerprint}
    run.counts = plan.counts()
    run.cookie = incoming.cookie
    run.errors = list(incoming.problems)
    if expected_fingerprint and expected_fingerprint != fingerprint:
        run.status, run.dry_run, run.finished_at = "planned", True, now
        db.session.add(run)
        db.session.commit()
        raise SyncPlanChanged(_("目录在预览之后发生了变化，请查看新的预览后再执行。"), details={"run_id": run.id})
    if dry_run:
        run.status, run.finished_at = "planned", now
        db.session.add(run)
        record_event("org.sync.planned", actor=acting_user, object_type="sync_run", object_id=label,
                     data={"counts": run.counts, "fingerprint": fingerprint}, now=now)
        db.session.commit()
        return run
    if plan.blocked:
        run.status, run.finished_at = "refused", now
        db.session.add(run)
        record_event("org.sync.refused", actor=acting_user, object_type="sync_run", object_id=label,
                     data={"refusals": [r.code for r in plan.refusals]}, now=now)
        db.session.commit()
        raise SyncBlocked(_("同步被安全检查拒绝：%(why)s", why="；".join(r.message for r in plan.refusals)),
                          details={"run_id": run.id, "refusals": [r.code for r in plan.refusals]})
    _apply(incoming, state, now=now)
    run.status, run.finished_at = "applied", now
    db.session.add(run)
    db.session.flush()
    record_event("org.sync.applied", actor=acting_user, object_type="sync_run", object_id=run.id,
                 data={"source": label, "counts": run.counts, "fingerprint": fingerprint,
                       "forced": force, "refusals": [r.code for r in plan.refusals]}, now=now)
    db.session.commit()
    return run


def do_apply_run(run_id: int, *, acting_user: Person | None, config: Mapping[str, Any], now: datetime,
                 force: bool = False, ldif: bytes | None = None) -> SyncRun:
    """Apply a reviewed dry run: read the same source again and apply only if the plan is the
    one that was reviewed. Raises :class:`NotFound`, :class:`SyncPlanChanged`, :class:`SyncBlocked`."""
    reviewed = db.session.get(SyncRun, run_id) if isinstance(run_id, int) else None
    if reviewed is None or not reviewed.dry_run or reviewed.status != "planned":
        raise NotFound(_("没有可执行的预览记录。"))
    if reviewed.source.startswith("ldap:"):
        source: str | bytes = "ldap"
    elif ldif is not None:
        source = ldif
    else:
        raise ValidationError(_("该预览来自 LDIF 文件，请使用命令行重新导入。"), code="ldif_required")
    return do_sync(acting_user=acting_user, config=config, now=now, source=source,
                   full=reviewed.mode == "full", force=force,
                   expected_fingerprint=reviewed.plan.get("fingerprint"))


def _set(obj: Any, **values: Any) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _apply(incoming: Snapshot, state: CurrentState, *, now: datetime) -> None:
    """Make the database say what ``incoming`` says; touch only rows that differ."""
    snap = clean_snapshot(incoming)
    agencies = {a.external_id: a for a in db.session.execute(select(Agency)).scalars()}
    departments = {d.external_id: d for d in db.session.execute(select(Department)).scalars()}

    for unit in sorted(snap.units.values(), key=lambda u: u.depth):
        if unit.is_agency:
            agency = agencies.get(unit.external_id)
            if agency is None:
                agency = Agency(external_id=unit.external_id, dn=unit.dn, name=unit.name, active=True, updated_at=now)
                db.session.add(agency)
                agencies[unit.external_id] = agency
            elif _set(agency, dn=unit.dn, name=unit.name, active=True):
                agency.updated_at = now
    db.session.flush()
    for unit in sorted(snap.units.values(), key=lambda u: u.depth):
        if unit.is_agency:
            continue
        parent = departments.get(unit.parent_id) if unit.parent_id != unit.agency_id else None
        values = dict(dn=unit.dn, name=unit.name, agency_id=agencies[unit.agency_id].id,
                      parent_id=parent.id if parent else None, depth=unit.depth, active=True)
        dept = departments.get(unit.external_id)
        if dept is None:
            dept = Department(external_id=unit.external_id, updated_at=now, **values)
            db.session.add(dept)
            departments[unit.external_id] = dept
            db.session.flush()
        elif _set(dept, **values):
            dept.updated_at = now
    for ext, unit in list(agencies.items()) + list(departments.items()):
        if ext not in snap.units and unit.active:
            unit.active, unit.updated_at = False, now
    db.session.flush()

    people = {p.external_id: p for p in db.session.execute(select(Person)).scalars()}
    wanted_uids = {p.uid for p in snap.people.values()}
    for ext, person in people.items():
        if ext not in snap.people and person.uid in wanted_uids:
            # a departed person's login has been given to someone new: keep the history under a
            # distinct login so the newcomer can have it
            person.uid = f"{person.uid}~{person.id}"
    new_people = []
    for dp in snap.people.values():
        unit = snap.units[dp.unit_id]
        agency_id = agencies[unit.agency_id].id
        department_id = None if unit.is_agency else departments[unit.external_id].id
        values = dict(dn=dp.dn, uid=dp.uid, name=dp.name, title=dp.title, rank=dp.rank,
                      cadre_category=dp.cadre_category, mail=dp.mail, mobile=dp.mobile,
                      agency_id=agency_id, department_id=department_id, active=True, deactivated_at=None)
        person = people.get(dp.external_id)
        if person is None:
            person = Person(external_id=dp.external_id, updated_at=now, **values)
            new_people.append(person)
            people[dp.external_id] = person
        elif _set(person, **values):
            person.updated_at = now
    db.session.add_all(new_people)
    for ext, person in people.items():
        if ext not in snap.people and person.active:
            person.active, person.deactivated_at, person.updated_at = False, now, now
    db.session.flush()
    for dp in snap.people.values():
        person = people[dp.external_id]
        manager_id = people[dp.manager_id].id if dp.manager_id else None
        if person.manager_id != manager_id:
            person.manager_id = manager_id
            person.updated_at = now

    groups = {g.external_id: g for g in db.session.execute(select(OrgGroup)).scalars()}
    members: dict[int, set[int]] = {}
    for group_id, person_id in db.session.execute(select(OrgGroupMember.group_id, OrgGroupMember.person_id)):
        members.setdefault(group_id, set()).add(person_id)
    for dg in snap.groups.values():
        unit = snap.units[dg.unit_id]
        values = dict(dn=dg.dn, kind=dg.kind, role_code=dg.role_code, agency_id=agencies[unit.agency_id].id,
                      department_id=None if unit.is_agency else departments[unit.external_id].id, active=True)
        group = groups.get(dg.external_id)
        if group is None:
            group = OrgGroup(external_id=dg.external_id, updated_at=now, **values)
            db.session.add(group)
            db.session.flush()
            groups[dg.external_id] = group
        elif _set(group, **values):
            group.updated_at = now
        wanted = {people[m].id for m in dg.member_ids}
        have = members.get(group.id, set())
        for person_id in wanted - have:
            db.session.add(OrgGroupMember(group_id=group.id, person_id=person_id))
        if have - wanted:
            db.session.execute(delete(OrgGroupMember).where(
                OrgGroupMember.group_id == group.id, OrgGroupMember.person_id.in_(have - wanted)))
    for ext, group in groups.items():
        if ext not in snap.groups and group.active:
            group.active, group.updated_at = False, now
    db.session.flush()


def do_set_default_deputy(person: Person, deputy: Person | None, *, acting_user: Person,
                          roles: set[str], now: datetime) -> Person:
    """HR (of the person's agency) or an administrator sets who deputises for ``person``.

    Raises :class:`PermissionDenied`, :class:`ValidationError` (self, inactive deputy, loop).
    """
    from .queries import get_role_holdings

    hr_agencies = {h.agency_id for h in get_role_holdings(acting_user) if h.kind == "role" and h.role_code == "hr"}
    if "admin" not in roles and person.agency_id not in hr_agencies:
        raise PermissionDenied(_("只有本单位人事人员或系统管理员可以设置默认代理人。"))
    if deputy is not None:
        if deputy.id == person.id:
            raise ValidationError(_("默认代理人不能是本人。"), fields={"deputy": _("默认代理人不能是本人。")})
        if not deputy.active:
            raise ValidationError(_("默认代理人已停用。"), fields={"deputy": _("默认代理人已停用。")})
    before = person.default_deputy.uid if person.default_deputy else None
    person.default_deputy_id = deputy.id if deputy else None
    person.updated_at = now
    record_event("org.person.default_deputy_set", actor=acting_user, object_type="person",
                 object_id=person.uid, data={"before": before, "after": deputy.uid if deputy else None}, now=now)
    db.session.commit()
    return person

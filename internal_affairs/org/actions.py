"""Writes to the org chart: directory sync runs and what HR sets in the app.

Every action is atomic and appends its audit event in the same transaction.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, update

from org_sync.ldif_reader import read_ldif
from org_sync.model import DirGroup, DirPerson, DirUnit, ReadResult, Snapshot, SyncSourceError
from org_sync.plan import CurrentState, Guards, SyncPlan, clean_snapshot, compute_incremental_plan, compute_plan
from org_sync.snapshot import ancestor_dns, build_snapshot, normalize_dn, schema_for

from ..atomic import atomic
from ..audit.actions import record_event
from ..auth.actions import revoke_credentials
from ..errors import Conflict, NotFound, PermissionDenied, ServiceUnavailable, ValidationError
from ..extensions import db
from .directory import directory_configured, read_directory
from .models import Agency, Department, OrgGroup, OrgGroupMember, Person, SyncRun
from .queries import (HrScope, get_active_external_ids, get_active_units, get_current_state, get_people_by_dn,
                      get_touched_state, get_units_by_dn, hr_agency_ids)

__all__ = ["SyncFailed", "SyncBlocked", "SyncPlanChanged", "do_sync", "do_apply_run",
           "do_set_default_deputy", "check_can_sync", "check_can_view_sync"]


MAX_STORED_CHANGES = 5000


class SyncFailed(ServiceUnavailable):
    code = "sync_failed"


class SyncBlocked(Conflict):
    code = "sync_refused"


class SyncPlanChanged(Conflict):
    code = "sync_plan_changed"


def check_can_sync(acting_user: Person | None, scope: HrScope | None) -> None:
    """The district-wide sync (preview, apply) belongs to the district role: a system
    administrator or HR of the district HR agency (区委组织部); the command line (no acting user)
    may. Raises :class:`PermissionDenied`."""
    if acting_user is not None and (scope is None or not scope.district):
        raise PermissionDenied(_("全区组织架构同步只能由系统管理员或区委组织部人事人员执行；"
                                 "单位人事人员可以查看涉及本单位的变化。"))


def check_can_view_sync(acting_user: Person, scope: HrScope) -> None:
    """District HR sees every sync run; an agency's HR sees the runs' changes to their agency.
    Raises :class:`PermissionDenied` for anyone else."""
    if not scope.is_hr:
        raise PermissionDenied(_("只有人事（组织人事）人员或系统管理员可以查看组织架构同步记录。"))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the duration of a sync.

    A district-sized sync allocates a few million small objects (entries, snapshot records,
    rows) that all stay alive until it ends; every automatic full collection walks all of them
    again and together they cost more than reading the directory. Reference counting still frees
    everything short-lived, and the cycles the pause leaves behind are collected when it ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read(config: Mapping[str, Any], source: str | Path | bytes, *, full: bool, cookie: str | None) -> ReadResult:
    if source == "ldap":
        if not directory_configured(config):
            raise ValidationError(_("未配置目录服务（IA_LDAP_URI、IA_LDAP_BASE_DN）。"), code="ldap_not_configured")
        return read_directory(config, cookie=cookie, full=full)
    return read_ldif(source)


def _last_cookie(source_label: str) -> str | None:
    return db.session.execute(
        select(SyncRun.cookie).where(SyncRun.status == "applied", SyncRun.source == source_label,
                                     SyncRun.cookie.is_not(None))
        .order_by(SyncRun.id.desc()).limit(1)).scalar_one_or_none()


class _Stopwatch:
    """Seconds spent per phase of a sync, added up into ``timings``."""

    def __init__(self, timings: dict[str, float]):
        self.timings = timings

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[phase] = self.timings.get(phase, 0.0) + time.perf_counter() - started


def _plan_full(result: ReadResult, *, base_dn: str, label: str, schema, guards: Guards,
               clock: _Stopwatch) -> tuple[SyncPlan, Snapshot, CurrentState, bool]:
    """A complete read: map every entry, diff against everything the platform holds."""
    with clock("map"):
        incoming = build_snapshot(result.entries, base_dn, schema, source=label, cookie=result.cookie)
    with clock("load_state"):
        state = get_current_state(base_dn)
    with clock("plan"):
        new = clean_snapshot(incoming)
        plan = compute_plan(state, incoming, guards)
    return plan, new, state, False


def _unit_keys(units: Mapping[str, DirUnit]) -> dict:
    keys = {}
    for ident, unit in units.items():
        try:
            keys[normalize_dn(unit.dn)] = ("unit", ident)
        except ValueError:
            continue
    return keys


def _placed(dn: str, unit_keys: Mapping, depth: int) -> bool:
    """Whether a unit of ``unit_keys`` holds ``dn`` (or ``dn`` cannot be placed anywhere anyway)."""
    try:
        key = normalize_dn(dn)
    except ValueError:
        return True
    return len(key) <= depth + 1 or any(key[i:] in unit_keys for i in range(1, len(key) - depth))


def _plan_incremental(result: ReadResult, *, base_dn: str, label: str, schema, guards: Guards,
                      clock: _Stopwatch) -> tuple[SyncPlan, Snapshot, CurrentState, bool]:
    """An incremental read: map the changed entries (their references resolved against the
    platform by DN, looked up only for the DNs they name), load only the part of the platform
    they touch, and plan that part."""
    with clock("map"):
        depth = len(normalize_dn(base_dn))
        referenced: set[str] = set()
        for entry in result.entries:
            if entry.object_classes & schema.person_classes:
                referenced.update(entry.attrs.get(schema.manager.lower(), ()))
            elif entry.object_classes & schema.group_classes:
                referenced.update(entry.attrs.get("member", ()))
        units = get_units_by_dn({dn for e in result.entries for dn in ancestor_dns(e.dn, depth)})
        known = _unit_keys(units)
        if any(not _placed(entry.dn, known, depth) for entry in result.entries):
            units = get_active_units()  # a DN spelled unlike the stored one: compare them all
            known = _unit_keys(units)
        known.update(get_people_by_dn(referenced))
        delta = build_snapshot(result.entries, base_dn, schema, source=label, cookie=result.cookie,
                               known=known, known_units=units)
    with clock("load_state"):
        gone = set(result.deleted_ids)
        if result.present_ids is not None:
            gone |= get_active_external_ids() - result.present_ids
        gone -= set(delta.units) | set(delta.people) | set(delta.groups)
        part, active_people, active_units = get_touched_state(delta, gone, base_dn)
    with clock("plan"):
        plan, new, state = compute_incremental_plan(part, delta, gone, active_people=active_people,
                                                    active_units=active_units, guards=guards)
    return plan, new, state, True


@atomic
@_collector_paused()
def do_sync(*, acting_user: Person | None, config: Mapping[str, Any], now: datetime,
            source: str | Path | bytes = "ldap", base_dn: str | None = None, dry_run: bool = False,
            full: bool = False, force: bool = False, expected_fingerprint: str | None = None,
            timings: dict[str, float] | None = None, on_plan: Callable[[SyncPlan], None] | None = None) -> SyncRun:
    """Read the directory, plan, and (unless ``dry_run``) apply. Every run is recorded.

    A complete read is diffed against everything the platform holds; an incremental read only
    against the part its changed entries touch, so an unchanged directory costs a few queries.
    ``timings``, when given, receives the seconds spent per phase (read, map, load_state, plan,
    apply, record); ``on_plan`` is called with the whole plan (the run stores at most
    ``MAX_STORED_CHANGES`` of its changes).

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
    clock = _Stopwatch(timings if timings is not None else {})
    guards = Guards(max_deactivate_ratio=float(config.get("SYNC_MAX_DEACTIVATE_RATIO", 0.1)), forced=force)
    cookie = None if full else _last_cookie(label)
    try:
        with clock("read"):
            result = _read(config, source, full=full, cookie=cookie)
        run.mode = "full" if result.complete else "incremental"
    except SyncSourceError as exc:
        db.session.rollback()
        run.status, run.errors, run.finished_at = "failed", [str(exc)], now
        db.session.add(run)
        record_event("org.sync.failed", actor=acting_user, object_type="sync_run", object_id="-",
                     data={"source": label, "error": str(exc)}, now=now)
        db.session.commit()
        raise SyncFailed(_("读取目录失败，未做任何更改：%(error)s", error=str(exc)),
                         details={"run_id": run.id}) from exc
    planner = _plan_full if result.complete else _plan_incremental
    plan, incoming, state, scoped = planner(result, base_dn=base_dn, label=label, schema=schema, guards=guards,
                                            clock=clock)
    del result  # the raw entries are the largest thing a sync holds
    if on_plan is not None:
        on_plan(plan)
    fingerprint = plan.fingerprint()
    run.people_seen = plan.people_seen
    run.plan = plan.to_dict(max_changes=MAX_STORED_CHANGES) | {"fingerprint": fingerprint}
    run.counts = plan.counts()
    run.cookie = incoming.cookie
    run.errors = list(plan.problems)
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
    with clock("apply"):
        _apply(incoming, state, now=now, scoped=scoped)
    with clock("record"):
        run.status, run.finished_at = "applied", now
        db.session.add(run)
        db.session.flush()
        record_event("org.sync.applied", actor=acting_user, object_type="sync_run", object_id=run.id,
                     data={"source": label, "counts": run.counts, "fingerprint": fingerprint,
                           "forced": force, "refusals": [r.code for r in plan.refusals]}, now=now)
        db.session.commit()
    return run


@atomic
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


_COPY_MIN_ROWS = 500


def _bulk_insert(model, rows: list[dict[str, Any]]) -> None:
    """INSERT plain rows (each naming the same columns). On PostgreSQL a large batch goes in with
    one ``COPY … FROM STDIN`` in the session's transaction (several times faster than an
    executemany); elsewhere, and for small batches, a Core executemany."""
    if not rows:
        return
    table = model.__table__
    connection = db.session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < _COPY_MIN_ROWS:
        connection.execute(insert(table), rows)
        return
    from psycopg import sql

    names = list(rows[0])
    defaults = {c.name: c.default.arg for c in table.columns
                if c.name not in names and c.default is not None and c.default.is_scalar}
    columns = names + list(defaults)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    tail = tuple(defaults.values())
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(tuple(row[n] for n in names) + tail)


def _bulk_update(model, rows: list[dict[str, Any]]) -> None:
    """UPDATE by primary key, batched (executemany); each row names ``id`` and what changes."""
    if rows:
        db.session.execute(update(model), rows)


def _ids(model, external_ids: Collection[str] | None = None) -> dict[str, int]:
    """Row ids by stable id: of every row, or of the rows with the given stable ids."""
    if external_ids is None:
        return dict(db.session.execute(select(model.external_id, model.id)).all())
    wanted = sorted(external_ids)
    out: dict[str, int] = {}
    for i in range(0, len(wanted), 5000):
        out.update(db.session.execute(select(model.external_id, model.id)
                                      .where(model.external_id.in_(wanted[i:i + 5000]))).all())
    return out


def _apply(snap: Snapshot, state: CurrentState, *, now: datetime, scoped: bool = False) -> None:
    """Make the database say what the cleaned ``snap`` says, touching only rows that differ.

    Works on plain rows with bulk statements (no ORM object per person), so a district-sized
    directory applies in seconds and an unchanged one writes nothing. ``scoped``: ``snap`` and
    ``state`` hold only the part an incremental read touched (every unit, some people and
    groups); rows outside it are neither read nor written.
    """
    old, inactive = state.snapshot, state.inactive

    def changed(ext: str, current: Any, wanted: Any) -> bool:
        return current != wanted or ext in inactive

    unit_scope = set(old.units) | set(snap.units) if scoped else None
    agency_ids = _ids(Agency, unit_scope)
    agencies = [u for u in snap.units.values() if u.is_agency]
    _bulk_insert(Agency, [dict(external_id=u.external_id, dn=u.dn, name=u.name, active=True, updated_at=now)
                          for u in agencies if u.external_id not in agency_ids])
    _bulk_update(Agency, [dict(id=agency_ids[u.external_id], dn=u.dn, name=u.name, active=True, updated_at=now)
                          for u in agencies if u.external_id in agency_ids
                          and changed(u.external_id, old.units.get(u.external_id), u)])
    agency_ids = _ids(Agency, unit_scope)

    dept_ids = _ids(Department, unit_scope)
    departments = [u for u in snap.units.values() if not u.is_agency]
    for depth in sorted({u.depth for u in departments}):
        level = [u for u in departments if u.depth == depth]

        def values(u: DirUnit) -> dict[str, Any]:
            return dict(dn=u.dn, name=u.name, agency_id=agency_ids[u.agency_id],
                        parent_id=dept_ids.get(u.parent_id) if u.parent_id != u.agency_id else None,
                        depth=u.depth, active=True, updated_at=now)

        _bulk_insert(Department, [values(u) | {"external_id": u.external_id}
                                  for u in level if u.external_id not in dept_ids])
        _bulk_update(Department, [values(u) | {"id": dept_ids[u.external_id]} for u in level
                                  if u.external_id in dept_ids and changed(u.external_id, old.units.get(u.external_id), u)])
        dept_ids = _ids(Department, unit_scope)
    for model, ids in ((Agency, agency_ids), (Department, dept_ids)):
        _bulk_update(model, [dict(id=ident, active=False, updated_at=now) for ext, ident in ids.items()
                             if ext not in snap.units and ext in old.units and ext not in inactive])

    person_ids = _ids(Person, set(old.people) | set(snap.people) if scoped else None)
    wanted_uids = {p.uid for p in snap.people.values()}
    _bulk_update(Person, [dict(id=person_ids[ext], uid=f"{p.uid}~{person_ids[ext]}") for ext, p in old.people.items()
                          if ext not in snap.people and p.uid in wanted_uids])

    def person_values(p: DirPerson) -> dict[str, Any]:
        unit = snap.units[p.unit_id]
        return dict(dn=p.dn, uid=p.uid, name=p.name, title=p.title, rank=p.rank, cadre_category=p.cadre_category,
                    mail=p.mail, mobile=p.mobile, agency_id=agency_ids[unit.agency_id],
                    department_id=None if unit.is_agency else dept_ids[unit.external_id],
                    active=True, deactivated_at=None, updated_at=now)

    # insert newcomers managers first, level by level, so each row is written once with its manager
    pending = {p.external_id: p for p in snap.people.values() if p.external_id not in person_ids}
    late_links: list[DirPerson] = []
    while pending:
        level = [p for p in pending.values() if not p.manager_id or p.manager_id not in pending]
        if not level:  # a manager loop among newcomers: write them, link managers below
            level = list(pending.values())
        _bulk_insert(Person, [person_values(p) | {"external_id": p.external_id,
                                                  "manager_id": person_ids.get(p.manager_id) if p.manager_id else None}
                              for p in level])
        for p in level:
            del pending[p.external_id]
            if p.manager_id and p.manager_id not in person_ids:
                late_links.append(p)
        person_ids.update(_ids(Person, [p.external_id for p in level]) if scoped or len(level) < 20_000
                          else _ids(Person))
    updates = [dict(id=person_ids[p.external_id], manager_id=person_ids[p.manager_id]) for p in late_links]
    for p in snap.people.values():
        manager_id = person_ids[p.manager_id] if p.manager_id else None
        before = old.people.get(p.external_id)
        if before is None:
            continue
        if changed(p.external_id, before, p):
            updates.append(person_values(p) | {"id": person_ids[p.external_id], "manager_id": manager_id})
    _bulk_update(Person, updates)
    leaving = [person_ids[ext] for ext in old.people if ext not in snap.people and ext not in inactive]
    _bulk_update(Person, [dict(id=ident, active=False, deactivated_at=now, updated_at=now) for ident in leaving])
    _seed_deputies(snap, person_ids, now=now)
    revoke_credentials(leaving, now=now, reason="deactivated")  # their sessions and tokens end with them

    group_scope = set(old.groups) | set(snap.groups) if scoped else None
    group_ids = _ids(OrgGroup, group_scope)

    def group_values(g: DirGroup) -> dict[str, Any]:
        unit = snap.units[g.unit_id]
        return dict(dn=g.dn, kind=g.kind, role_code=g.role_code, agency_id=agency_ids[unit.agency_id],
                    department_id=None if unit.is_agency else dept_ids[unit.external_id], active=True, updated_at=now)

    _bulk_insert(OrgGroup, [group_values(g) | {"external_id": g.external_id}
                            for g in snap.groups.values() if g.external_id not in group_ids])
    _bulk_update(OrgGroup, [group_values(g) | {"id": group_ids[g.external_id]} for g in snap.groups.values()
                            if g.external_id in group_ids and changed(
                                g.external_id, _without_members(old.groups.get(g.external_id)), _without_members(g))])
    _bulk_update(OrgGroup, [dict(id=ident, active=False, updated_at=now) for ext, ident in group_ids.items()
                            if ext not in snap.groups and ext in old.groups and ext not in inactive])
    group_ids = _ids(OrgGroup, group_scope)
    add, remove = [], []
    for g in snap.groups.values():
        have = set(old.groups[g.external_id].member_ids) if g.external_id in old.groups else set()
        want = set(g.member_ids)
        add += [dict(group_id=group_ids[g.external_id], person_id=person_ids[m]) for m in sorted(want - have)]
        remove += [(group_ids[g.external_id], person_ids[m]) for m in have - want if m in person_ids]
    for ext, g in old.groups.items():
        if ext not in snap.groups and g.member_ids and ext not in inactive:
            remove += [(group_ids[ext], person_ids[m]) for m in g.member_ids if m in person_ids]
    _bulk_insert(OrgGroupMember, add)
    for group_id, person_id in remove:
        db.session.execute(delete(OrgGroupMember).where(OrgGroupMember.group_id == group_id,
                                                        OrgGroupMember.person_id == person_id))


def _seed_deputies(snap: Snapshot, person_ids: dict[str, int], *, now: datetime) -> None:
    """Seed default deputies from the directory's ``secretary`` attribute for the people ``snap``
    holds. A deputy set by hand (``default_deputy_source`` ``manual``: by the person or HR) is
    never overridden; one the directory seeded follows the directory, and is cleared when the
    attribute goes."""
    wanted_ext = {p.external_id: p.secretary_id for p in snap.people.values()}
    missing = {ext for ext in wanted_ext.values() if ext and ext not in person_ids}
    ids = dict(person_ids) | (_ids(Person, missing) if missing else {})
    rows = []
    for chunk in _chunks_of(sorted(person_ids[ext] for ext in wanted_ext if ext in person_ids)):
        rows += db.session.execute(select(Person.id, Person.external_id, Person.default_deputy_id,
                                          Person.default_deputy_source).where(Person.id.in_(chunk))).all()
    updates = []
    for row in rows:
        if row.default_deputy_source == "manual":
            continue
        secretary = wanted_ext.get(row.external_id)
        deputy = ids.get(secretary) if secretary else None
        if deputy == row.id:
            deputy = None
        if deputy != row.default_deputy_id or (deputy is None) != (row.default_deputy_source is None):
            updates.append(dict(id=row.id, default_deputy_id=deputy,
                                default_deputy_source="directory" if deputy else None, updated_at=now))
    _bulk_update(Person, updates)


def _chunks_of(values: list[int], size: int = 5000) -> list[list[int]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def _without_members(group: DirGroup | None) -> DirGroup | None:
    return None if group is None else replace(group, member_ids=())


@atomic
def do_set_default_deputy(person: Person, deputy: Person | None, *, acting_user: Person,
                          roles: set[str], now: datetime) -> Person:
    """The person themselves, HR (of the person's agency) or an administrator sets who deputises
    for ``person``. A deputy set by hand is marked ``manual``: the directory sync no longer
    seeds it from the ``secretary`` attribute.

    Raises :class:`PermissionDenied`, :class:`ValidationError` (self, inactive deputy, loop).
    """
    if person.id != acting_user.id and "admin" not in roles and person.agency_id not in hr_agency_ids(acting_user):
        raise PermissionDenied(_("只有本人、本单位人事人员或系统管理员可以设置默认代理人。"))
    if deputy is not None:
        if deputy.id == person.id:
            raise ValidationError(_("默认代理人不能是本人。"), fields={"deputy": _("默认代理人不能是本人。")})
        if not deputy.active:
            raise ValidationError(_("默认代理人已停用。"), fields={"deputy": _("默认代理人已停用。")})
    before = person.default_deputy.uid if person.default_deputy else None
    person.default_deputy_id = deputy.id if deputy else None
    person.default_deputy_source = "manual"
    person.updated_at = now
    record_event("org.person.default_deputy_set", actor=acting_user, object_type="person",
                 object_id=person.uid, data={"before": before, "after": deputy.uid if deputy else None}, now=now)
    db.session.commit()
    return person

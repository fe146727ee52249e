"""The sync plan: a pure diff of what the platform holds against what the directory says.

HR reviews this plan before anything changes. Identity is the stable id, so a renamed or moved
person is an update of the same person, never a delete and a create. Safety guards refuse plans
that look like a broken read rather than a real reorganisation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Collection, Mapping

from .model import DirGroup, DirPerson, DirUnit, Snapshot
from .snapshot import merge_incremental

__all__ = ["CurrentState", "Change", "PlanWarning", "Guards", "SyncPlan", "compute_plan", "clean_snapshot",
           "compute_incremental_plan", "touched_part", "close_part", "dropped_units"]

PERSON_FIELDS = ("title", "rank", "cadre_category", "manager_id", "mail", "mobile")


@dataclass(frozen=True)
class CurrentState:
    """What the platform holds, as a snapshot of every known object, active or not."""

    snapshot: Snapshot
    inactive: frozenset[str] = frozenset()
    last_people_count: int | None = None


@dataclass(frozen=True)
class Change:
    """One thing the plan would do to one object.

    ``action`` is create, update, rename, move, deactivate or reactivate; ``kind`` is agency,
    department, person or group; ``fields`` lists ``(field, old, new)``. ``uid`` and ``name``
    name a person; ``agency`` and ``department`` (the path below the agency) say where the
    object is (for a person who leaves, where they were). ``agencies`` holds the external ids of
    the agencies the change concerns (both of them for a move between agencies), so each agency's
    HR can be shown its own part of a plan. None of these is part of the fingerprint.
    """

    action: str
    kind: str
    external_id: str
    label: str
    fields: tuple[tuple[str, Any, Any], ...] = ()
    agencies: tuple[str, ...] = ()
    uid: str | None = None
    name: str | None = None
    agency: str | None = None
    department: str | None = None


@dataclass(frozen=True)
class PlanWarning:
    code: str
    message: str
    external_id: str | None = None


@dataclass(frozen=True)
class Guards:
    max_deactivate_ratio: float = 0.1
    min_people_ratio: float = 0.9
    forced: bool = False


@dataclass(frozen=True)
class SyncPlan:
    changes: tuple[Change, ...]
    warnings: tuple[PlanWarning, ...]
    refusals: tuple[PlanWarning, ...]
    people_seen: int
    active_before: int
    forced: bool = False
    problems: tuple[str, ...] = field(default=())
    max_deactivate_ratio: float | None = None

    @property
    def blocked(self) -> bool:
        """True when a guard refused the plan and it was not forced."""
        return bool(self.refusals) and not self.forced

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for change in self.changes:
            key = f"{change.kind}.{change.action}"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))

    def agency_counts(self) -> dict[str, dict[str, int]]:
        """:meth:`counts` per agency external id (a change between two agencies counts for both)."""
        out: dict[str, dict[str, int]] = {}
        for change in self.changes:
            key = f"{change.kind}.{change.action}"
            for agency in change.agencies:
                per = out.setdefault(agency, {})
                per[key] = per.get(key, 0) + 1
        return {agency: dict(sorted(per.items())) for agency, per in sorted(out.items())}

    def fingerprint(self) -> str:
        """A digest of the changes: the same directory and state give the same fingerprint."""
        digest = hashlib.sha256()
        for c in self.changes:
            digest.update(json.dumps([c.action, c.kind, c.external_id, c.label, c.fields],
                                     ensure_ascii=False, default=str).encode())
        return digest.hexdigest()

    def to_dict(self, max_changes: int | None = None) -> dict[str, Any]:
        """JSON-ready; with ``max_changes`` only that many changes are listed (counts stay whole)."""
        listed = self.changes if max_changes is None else self.changes[:max_changes]
        return {
            "changes": [{"action": c.action, "kind": c.kind, "external_id": c.external_id, "label": c.label,
                         "uid": c.uid, "name": c.name, "agency": c.agency, "department": c.department,
                         "fields": [list(f) for f in c.fields], "agencies": list(c.agencies)} for c in listed],
            "agency_counts": self.agency_counts(),
            "changes_total": len(self.changes),
            "warnings": [asdict(w) for w in self.warnings],
            "refusals": [asdict(w) for w in self.refusals],
            "people_seen": self.people_seen,
            "active_before": self.active_before,
            "max_deactivate_ratio": self.max_deactivate_ratio,
            "forced": self.forced,
            "blocked": self.blocked,
            "counts": self.counts(),
            "problems": list(self.problems[:200]),
        }


def clean_snapshot(snapshot: Snapshot) -> Snapshot:
    """Drop references to objects the snapshot does not contain (a deleted manager, a group
    member who left, a department whose agency or parent is gone)."""
    units: dict[str, DirUnit] = {}
    for key, unit in sorted(snapshot.units.items(), key=lambda kv: kv[1].depth):
        if unit.agency_id in snapshot.units and (unit.parent_id is None or unit.parent_id in units):
            units[key] = unit
    people: dict[str, DirPerson] = {}
    for key, person in snapshot.people.items():
        if person.unit_id not in units:
            continue
        if person.manager_id is not None and person.manager_id not in snapshot.people:
            person = replace(person, manager_id=None)
        people[key] = person
    groups: dict[str, DirGroup] = {}
    for key, group in snapshot.groups.items():
        if group.unit_id not in units:
            continue
        if any(m not in people for m in group.member_ids):
            group = replace(group, member_ids=tuple(m for m in group.member_ids if m in people))
        groups[key] = group
    return Snapshot(snapshot.base_dn, units, people, groups, snapshot.source, snapshot.cookie, snapshot.problems)


def _unit_kind(unit: DirUnit) -> str:
    return "agency" if unit.is_agency else "department"


def _names(ids: tuple[str, ...] | list[str], *snaps: Snapshot) -> list[str]:
    out = []
    for ident in ids:
        person = next((s.people[ident] for s in snaps if ident in s.people), None)
        out.append(f"{person.name}（{person.uid}）" if person else ident)
    return out


def _unit_path(unit_id: str | None, *snaps: Snapshot) -> str:
    parts: list[str] = []
    seen = set()
    while unit_id and unit_id not in seen:
        seen.add(unit_id)
        unit = next((s.units[unit_id] for s in snaps if unit_id in s.units), None)
        if unit is None:
            break
        parts.append(unit.name)
        unit_id = unit.parent_id
    return "/".join(reversed(parts))


def _place(unit_id: str | None, snap: Snapshot) -> dict[str, str | None]:
    """The agency's name and the department path below it (None for the agency itself)."""
    names: list[str] = []
    seen = set()
    while unit_id and unit_id not in seen and unit_id in snap.units:
        seen.add(unit_id)
        unit = snap.units[unit_id]
        names.append(unit.name)
        unit_id = unit.parent_id
    names.reverse()
    return {"agency": names[0] if names else None, "department": "/".join(names[1:]) or None}


def _group_label(group: DirGroup, *snaps: Snapshot) -> str:
    label = group.role_code if group.kind == "role" else {
        "principal_leader": "主要领导", "leader_in_charge": "分管领导", "department_head": "负责人"}[group.kind]
    return f"{_unit_path(group.unit_id, *snaps)} {label}"


def _agencies_of(change: Change, old: Snapshot, new: Snapshot) -> tuple[str, ...]:
    """The agencies ``change`` concerns: where its object was and where it is, in that order."""
    found: list[str] = []
    for snap in (old, new):
        unit_id = None
        if change.kind in ("agency", "department"):
            unit_id = change.external_id
        elif change.kind == "person" and change.external_id in snap.people:
            unit_id = snap.people[change.external_id].unit_id
        elif change.kind == "group" and change.external_id in snap.groups:
            unit_id = snap.groups[change.external_id].unit_id
        unit = snap.units.get(unit_id) if unit_id is not None else None
        if unit is not None and unit.agency_id not in found:
            found.append(unit.agency_id)
    return tuple(found)


def compute_plan(current: CurrentState, incoming: Snapshot, guards: Guards = Guards()) -> SyncPlan:
    """Diff ``current`` against ``incoming`` and apply the safety guards. Pure."""
    new = clean_snapshot(incoming)
    diff = _diff(current.snapshot, new, current.inactive)
    return _guarded(diff, people_seen=len(new.people), active_before=diff.active_before, any_units=bool(new.units),
                    last_people_count=current.last_people_count, guards=guards, problems=incoming.problems)


@dataclass(frozen=True)
class _Diff:
    changes: tuple[Change, ...]
    warnings: tuple[PlanWarning, ...]
    deactivations: int
    active_before: int


def _diff(old: Snapshot, new: Snapshot, inactive: frozenset[str]) -> _Diff:
    """Every change from ``old`` (with ``inactive`` ids) to the cleaned ``new``."""
    new_paths: dict[str | None, str] = {}

    def new_path(unit_id: str | None) -> str:
        if unit_id not in new_paths:
            new_paths[unit_id] = _unit_path(unit_id, new)
        return new_paths[unit_id]

    places: dict[tuple[int, str | None], dict[str, str | None]] = {}

    def where(unit_id: str | None, snap: Snapshot) -> dict[str, str | None]:
        """``agency`` and ``department`` of a unit in ``snap`` (memoised)."""
        key = (id(snap), unit_id)
        if key not in places:
            places[key] = _place(unit_id, snap)
        return places[key]

    changes: list[Change] = []
    warnings: list[PlanWarning] = []

    for ident, unit in sorted(new.units.items(), key=lambda kv: (kv[1].depth, kv[1].dn)):
        kind = _unit_kind(unit)
        before = old.units.get(ident)
        label = new_path(ident)
        at = where(ident, new)
        if before is None:
            changes.append(Change("create", kind, ident, label, **at))
            continue
        if ident in inactive:
            changes.append(Change("reactivate", kind, ident, label, **at))
        if before.name != unit.name:
            changes.append(Change("rename", kind, ident, label, (("name", before.name, unit.name),), **at))
        if before.parent_id != unit.parent_id or before.agency_id != unit.agency_id:
            changes.append(Change("move", kind, ident, label, (
                ("parent", _unit_path(before.parent_id, old), _unit_path(unit.parent_id, new)),), **at))
        elif before.dn != unit.dn and before.name == unit.name:
            changes.append(Change("update", kind, ident, label, (("dn", before.dn, unit.dn),), **at))
    for ident, unit in old.units.items():
        if ident not in new.units and ident not in inactive:
            changes.append(Change("deactivate", _unit_kind(unit), ident, _unit_path(ident, old), **where(ident, old)))

    leader_groups: dict[str, list[str]] = {}
    for group in old.groups.values():
        if group.external_id in inactive:
            continue
        for member in group.member_ids:
            leader_groups.setdefault(member, []).append(_group_label(group, old))

    deactivations = 0
    for ident, person in sorted(new.people.items(), key=lambda kv: kv[1].uid):
        before = old.people.get(ident)
        label = f"{person.name}（{person.uid}）"
        who = {"uid": person.uid, "name": person.name, **where(person.unit_id, new)}
        if before is None:
            changes.append(Change("create", "person", ident, label, (
                ("unit", None, new_path(person.unit_id)),), **who))
            continue
        if ident in inactive:
            changes.append(Change("reactivate", "person", ident, label, **who))
        if before.uid != person.uid or before.name != person.name:
            fields = tuple((f, getattr(before, f), getattr(person, f)) for f in ("uid", "name")
                           if getattr(before, f) != getattr(person, f))
            changes.append(Change("rename", "person", ident, label, fields, **who))
        if before.unit_id != person.unit_id:
            changes.append(Change("move", "person", ident, label, (
                ("unit", _unit_path(before.unit_id, old), new_path(person.unit_id)),), **who))
        diffs = []
        for f in PERSON_FIELDS:
            a, b = getattr(before, f), getattr(person, f)
            if a != b:
                if f == "manager_id":
                    diffs.append(("manager", _names([a], old, new)[0] if a else None,
                                  _names([b], new, old)[0] if b else None))
                else:
                    diffs.append((f, a, b))
        renamed_or_moved = (before.uid, before.name, before.unit_id) != (person.uid, person.name, person.unit_id)
        if before.dn != person.dn and not renamed_or_moved:
            diffs.append(("dn", before.dn, person.dn))
        if diffs:
            changes.append(Change("update", "person", ident, label, tuple(diffs), **who))
    active_before = 0
    for ident, person in old.people.items():
        if ident in inactive:
            continue
        active_before += 1
        if ident not in new.people:
            deactivations += 1
            label = f"{person.name}（{person.uid}）"
            changes.append(Change("deactivate", "person", ident, label, uid=person.uid, name=person.name,
                                  **where(person.unit_id, old)))
            if ident in leader_groups:
                warnings.append(PlanWarning(
                    "leader_vanishes",
                    f"{label} 将被停用，但仍担任：{'、'.join(sorted(leader_groups[ident]))}",
                    ident))

    for ident, group in sorted(new.groups.items(), key=lambda kv: kv[1].dn):
        before = old.groups.get(ident)
        label = _group_label(group, new)
        at = where(group.unit_id, new)
        if before is None:
            changes.append(Change("create", "group", ident, label, (
                ("members", [], _names(group.member_ids, new)),), **at))
            continue
        if ident in inactive:
            changes.append(Change("reactivate", "group", ident, label, **at))
        fields = []
        added = sorted(set(group.member_ids) - set(before.member_ids))
        removed = sorted(set(before.member_ids) - set(group.member_ids))
        if added:
            fields.append(("members_added", None, _names(added, new)))
        if removed:
            fields.append(("members_removed", _names(removed, old, new), None))
        for f in ("kind", "role_code", "unit_id"):
            if getattr(before, f) != getattr(group, f):
                fields.append((f, getattr(before, f), getattr(group, f)))
        if before.dn != group.dn:
            fields.append(("dn", before.dn, group.dn))
        if fields:
            changes.append(Change("update", "group", ident, label, tuple(fields), **at))
        if not group.member_ids and before.member_ids and group.kind != "role":
            warnings.append(PlanWarning("group_empties", f"{label} 将没有成员", ident))
    for ident, group in old.groups.items():
        if ident not in new.groups and ident not in inactive:
            label = _group_label(group, old)
            changes.append(Change("deactivate", "group", ident, label, **where(group.unit_id, old)))
            if group.kind in ("principal_leader", "department_head") or group.kind == "role":
                warnings.append(PlanWarning("group_vanishes", f"{label} 将从目录中消失", ident))

    changes = [replace(c, agencies=_agencies_of(c, old, new)) for c in changes]
    return _Diff(tuple(changes), tuple(warnings), deactivations, active_before)


def _guarded(diff: _Diff, *, people_seen: int, active_before: int, any_units: bool, last_people_count: int | None,
             guards: Guards, problems: tuple[str, ...]) -> SyncPlan:
    """The plan of ``diff`` with the safety guards' refusals, from whole-directory figures."""
    deactivations = diff.deactivations
    refusals: list[PlanWarning] = []
    if not any_units and not people_seen:
        refusals.append(PlanWarning("base_empty", "目录基准 DN 下没有任何机构或人员，可能是基准 DN 配置错误或目录读取失败。"))
    if (last_people_count and people_seen < guards.min_people_ratio * last_people_count):
        refusals.append(PlanWarning(
            "people_shrink",
            f"本次读取到 {people_seen} 人，少于上次的 {last_people_count} 人的 "
            f"{guards.min_people_ratio:.0%}，疑似目录读取不完整。"))
    if active_before and deactivations > guards.max_deactivate_ratio * active_before:
        refusals.append(PlanWarning(
            "mass_deactivation",
            f"计划停用 {deactivations} 人，超过在岗人员 {active_before} 人的 "
            f"{guards.max_deactivate_ratio:.0%} 上限。"))
    return SyncPlan(diff.changes, diff.warnings, tuple(refusals), people_seen, active_before, guards.forced,
                    tuple(problems), guards.max_deactivate_ratio)


def dropped_units(units: Mapping[str, DirUnit], inactive: Collection[str], gone: Collection[str]) -> set[str]:
    """The active units an incremental read removes: the ``gone`` ones and every unit below them."""
    alive = {k: u for k, u in units.items() if k not in inactive and k not in gone}
    kept = clean_snapshot(Snapshot("", alive, {}, {})).units
    return {k for k in units if k not in inactive and k not in kept}


def touched_part(current: CurrentState, delta: Snapshot, gone: Collection[str]) -> CurrentState:
    """The part of the whole ``current`` state that :func:`compute_incremental_plan` needs.

    This is the contract a loader of the platform's state follows (and tests check it against
    this function): the removed units and every unit below them; the people and groups the read
    changed or removed; the people who leave with a removed unit; the active people who report
    to anyone who leaves, and the groups that list anyone who leaves; every member of those
    groups (before and after); the managers (before and after) of the changed people; anyone
    holding a login a changed person now uses; the units of all of these (before and after) with
    every unit above them. References from the loaded people to people outside the part are cut
    (see :func:`close_part`).
    """
    snap, inactive = current.snapshot, current.inactive
    gone = set(gone)
    ancestors_done: set[str] = set()
    dropped = dropped_units(snap.units, inactive, gone)
    people = {k for k in set(delta.people) | gone if k in snap.people}
    in_dropped = {k for k, p in snap.people.items() if k not in inactive and p.unit_id in dropped}
    people |= in_dropped
    leaving = in_dropped | {k for k in gone if k in snap.people and k not in inactive}
    leaving |= {k for k, p in delta.people.items() if p.unit_id in dropped and k in snap.people and k not in inactive}
    people |= {k for k, p in snap.people.items() if k not in inactive and p.manager_id in leaving}
    groups = {k for k in set(delta.groups) | gone if k in snap.groups}
    groups |= {k for k, g in snap.groups.items() if g.unit_id in dropped or leaving & set(g.member_ids)}
    people |= {m for k in groups for m in snap.groups[k].member_ids}
    people |= {m for g in delta.groups.values() for m in g.member_ids if m in snap.people}
    people |= {snap.people[k].manager_id for k in set(delta.people) if k in snap.people} - {None}
    people |= {p.manager_id for p in delta.people.values() if p.manager_id in snap.people}
    uids = {p.uid for p in delta.people.values()}
    people |= {k for k, p in snap.people.items() if p.uid in uids}
    units = {k for k, u in snap.units.items() if _below(k, gone, snap.units)}
    units |= {snap.people[k].unit_id for k in people} | {snap.groups[k].unit_id for k in groups}
    units |= {p.unit_id for p in delta.people.values()} | {g.unit_id for g in delta.groups.values()}
    units = {k for k in units if k in snap.units}
    for k in list(units):
        while k in snap.units and k not in ancestors_done:
            ancestors_done.add(k)
            units.add(k)
            unit = snap.units[k]
            units.add(unit.agency_id)
            k = unit.parent_id
    part = Snapshot(snap.base_dn, {k: u for k, u in snap.units.items() if k in units},
                    {k: snap.people[k] for k in sorted(people)},
                    {k: snap.groups[k] for k in sorted(groups)}, snap.source)
    loaded = set(part.units) | set(part.people) | set(part.groups)
    return CurrentState(close_part(part), frozenset(inactive & loaded), current.last_people_count)


def _below(ident: str, gone: set[str], units: Mapping[str, DirUnit]) -> bool:
    """True when the unit ``ident`` or one of its ancestors is in ``gone``."""
    seen = set()
    while ident is not None and ident not in seen:
        if ident in gone:
            return True
        seen.add(ident)
        unit = units.get(ident)
        if unit is None:
            return False
        ident = unit.parent_id
    return False


def close_part(part: Snapshot) -> Snapshot:
    """Cut references to people outside ``part``: a manager who is not loaded becomes None and
    a group lists only loaded members. Both sides of an incremental diff see the same cut, so a
    cut reference is never a change."""
    people = {k: p if p.manager_id is None or p.manager_id in part.people else replace(p, manager_id=None)
              for k, p in part.people.items()}
    groups = {k: g if all(m in people for m in g.member_ids)
              else replace(g, member_ids=tuple(m for m in g.member_ids if m in people))
              for k, g in part.groups.items()}
    return replace(part, people=people, groups=groups)


def compute_incremental_plan(current: CurrentState, delta: Snapshot, gone: Collection[str], *,
                             active_people: int, active_units: int, guards: Guards = Guards()) -> tuple[SyncPlan, Snapshot, CurrentState]:
    """Plan an incremental read from the part of the platform it touches. Pure.

    ``current`` is that part (see :func:`touched_part` for what it must hold), ``delta`` the
    snapshot of the changed entries, ``gone`` the stable ids the directory no longer has, and
    ``active_people`` and ``active_units`` how many active people and units the platform holds
    in all (the guards judge the whole directory, not the part). The plan equals :func:`compute_plan` of the whole state
    against the whole merged directory. Returns the plan, the part as the directory now
    describes it (cleaned) and the part as the platform holds it (references cut), the two
    snapshots an apply compares.
    """
    old = close_part(current.snapshot)
    inactive = current.inactive
    state = replace(current, snapshot=old)
    active = replace(old, units={k: u for k, u in old.units.items() if k not in inactive},
                     people={k: p for k, p in old.people.items() if k not in inactive},
                     groups={k: g for k, g in old.groups.items() if k not in inactive})
    new = clean_snapshot(merge_incremental(active, delta, gone))
    diff = _diff(old, new, inactive)
    people_seen = active_people - diff.active_before + len(new.people)
    units_left = active_units - len(active.units) + len(new.units)
    plan = _guarded(diff, people_seen=people_seen, active_before=active_people, any_units=units_left > 0,
                    last_people_count=current.last_people_count, guards=guards, problems=delta.problems)
    return plan, new, state

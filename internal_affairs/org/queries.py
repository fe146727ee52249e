"""Reads of the org chart: people, roles, leader chains, the state a sync diffs against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from org_sync.model import DirGroup, DirPerson, DirUnit, Snapshot
from org_sync.plan import CurrentState, close_part, dropped_units
from org_sync.snapshot import normalize_dn

from ..errors import NotFound
from ..extensions import db
from ..inputs import valid_id
from .models import ROLE_LABELS, Agency, Department, OrgGroup, OrgGroupMember, Person, SyncRun

__all__ = ["role_agency_ids", "get_role_holders", "get_auditors", "get_hr_holders",
    "get_person_by_uid", "get_roles", "get_leader_chain", "get_agencies_tree", "get_current_state",
    "person_to_json", "get_sync_runs", "get_last_people_count", "RoleHolding", "get_role_holdings",
    "get_group_leaders", "build_org_view", "get_agency_json", "system_admins", "is_system_admin", "hr_agency_ids",
    "get_district_hr_agency", "HrScope", "get_hr_scope", "plan_for_agencies", "run_counts", "get_sync_run",
    "get_touched_state", "get_people_by_dn", "get_active_units", "get_active_external_ids",
]


def get_person_by_uid(uid: str, *, active_only: bool = False) -> Person:
    """The person with this login. Raises :class:`NotFound`."""
    if not isinstance(uid, str) or not uid or len(uid) > 100:
        raise NotFound()
    stmt = select(Person).where(Person.uid == uid)
    if active_only:
        stmt = stmt.where(Person.active.is_(True))
    person = db.session.execute(stmt).scalar_one_or_none()
    if person is None:
        raise NotFound()
    return person


@dataclass(frozen=True)
class RoleHolding:
    kind: str
    role_code: str | None
    agency_id: int
    agency_name: str
    department_id: int | None
    department_name: str | None

    @property
    def label(self) -> str:
        what = ROLE_LABELS.get(self.role_code or "", self.role_code) if self.kind == "role" else {
            "principal_leader": "主要领导", "leader_in_charge": "分管领导", "department_head": "负责人"}[self.kind]
        where = self.agency_name + (f" {self.department_name}" if self.department_name else "")
        return f"{where} {what}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "role": self.role_code, "agency": self.agency_name,
                "department": self.department_name, "label": self.label}


def get_role_holdings(person: Person) -> list[RoleHolding]:
    """Every active leadership or role group the person is a member of."""
    rows = db.session.execute(
        select(OrgGroup).join(OrgGroupMember).where(OrgGroupMember.person_id == person.id,
                                                    OrgGroup.active.is_(True))
        .options(joinedload(OrgGroup.agency), joinedload(OrgGroup.department))
    ).scalars().all()
    return sorted((RoleHolding(g.kind, g.role_code, g.agency_id, g.agency.name, g.department_id,
                               g.department.name if g.department else None) for g in rows),
                  key=lambda r: (r.agency_name, r.kind, r.role_code or ""))


def get_roles(person: Person, system_admins: tuple[str, ...] = ()) -> set[str]:
    """Functional role codes the person holds anywhere, plus ``admin`` from configuration."""
    codes = set(db.session.execute(
        select(OrgGroup.role_code).join(OrgGroupMember)
        .where(OrgGroupMember.person_id == person.id, OrgGroup.active.is_(True), OrgGroup.kind == "role")
    ).scalars())
    if person.uid in system_admins:
        codes.add("admin")
    return codes


def system_admins() -> tuple[str, ...]:
    """The uids of the configured system administrators (``IA_ADMINS``): the one place that reads
    the setting."""
    from flask import current_app

    return tuple(current_app.config.get("SYSTEM_ADMINS", ()))


def is_system_admin(person: Person) -> bool:
    """True when ``person`` is one of the configured system administrators (``IA_ADMINS``)."""
    return person.uid in system_admins()


def role_agency_ids(person: Person, role_code: str) -> set[int]:
    """The agencies in which ``person`` holds the functional role ``role_code`` (an active group
    under the agency's ``ou=roles``): the one way to ask it."""
    return set(db.session.execute(
        select(OrgGroup.agency_id).join(OrgGroupMember, OrgGroupMember.group_id == OrgGroup.id)
        .where(OrgGroupMember.person_id == person.id, OrgGroup.kind == "role", OrgGroup.role_code == role_code,
               OrgGroup.active.is_(True))).scalars())


def get_role_holders(agency_id: int | None, role_code: str) -> list[Person]:
    """The people in post who hold the functional role ``role_code`` of agency ``agency_id`` (of
    any agency when None): the other side of :func:`role_agency_ids`."""
    query = (select(Person).join(OrgGroupMember, OrgGroupMember.person_id == Person.id)
             .join(OrgGroup, OrgGroup.id == OrgGroupMember.group_id)
             .where(OrgGroup.kind == "role", OrgGroup.role_code == role_code, OrgGroup.active.is_(True),
                    Person.active.is_(True)))
    if agency_id is not None:
        query = query.where(OrgGroup.agency_id == agency_id)
    return list(db.session.execute(query.distinct().order_by(Person.id)).scalars())


def hr_agency_ids(person: Person) -> set[int]:
    """The agencies in which ``person`` holds the ``hr`` role: the one answer to "whose HR is
    this person" (case visibility, route previews, default deputies and directory sync ask it)."""
    return role_agency_ids(person, "hr")


def get_hr_holders(agency_id: int) -> list[Person]:
    """The people in post who hold the ``hr`` role of agency ``agency_id`` (time-limit escalations
    hand tasks to them)."""
    return get_role_holders(agency_id, "hr")


def get_auditors() -> list[Person]:
    """The people in post who hold the ``auditor`` role in any agency (审计 / 纪检): the auditors'
    channel that audit checkpoints are sent to."""
    return get_role_holders(None, "auditor")


def get_district_hr_agency() -> Agency | None:
    """The agency whose HR acts for the whole district (区委组织部): the active agency named by
    ``IA_DISTRICT_HR_AGENCY``, else the one active agency holding the ``cadre_management`` role.
    None when there is no such agency or several hold the role (then only administrators act
    for the district until the setting names one)."""
    from flask import current_app

    name = current_app.config.get("DISTRICT_HR_AGENCY")
    if name:
        found = db.session.execute(select(Agency).where(Agency.name == name, Agency.active.is_(True))).scalars().all()
    else:
        holding = (select(OrgGroup.agency_id).where(OrgGroup.kind == "role", OrgGroup.role_code == "cadre_management",
                                                    OrgGroup.active.is_(True)))
        found = db.session.execute(select(Agency).where(Agency.id.in_(holding), Agency.active.is_(True))).scalars().all()
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class HrScope:
    """Whose HR a person is. ``agency_ids``: the agencies they hold ``hr`` in; ``district``: they
    act for the whole district (a system administrator, or ``hr`` of the district HR agency),
    which the district-wide directory sync needs."""

    agency_ids: frozenset[int]
    agency_external_ids: frozenset[str]
    district: bool

    @property
    def is_hr(self) -> bool:
        """True for district HR and for HR of at least one agency."""
        return self.district or bool(self.agency_ids)


def get_hr_scope(person: Person, roles) -> HrScope:
    """The :class:`HrScope` of ``person`` (``roles`` as :func:`get_roles` gives them)."""
    ids = hr_agency_ids(person)
    district = "admin" in roles
    if not district and ids:
        agency = get_district_hr_agency()
        district = agency is not None and agency.id in ids
    external = set(db.session.execute(select(Agency.external_id).where(Agency.id.in_(ids))).scalars()) if ids else set()
    return HrScope(frozenset(ids), frozenset(external), district)


def plan_for_agencies(plan: dict[str, Any], agency_external_ids: frozenset[str]) -> dict[str, Any]:
    """The part of a stored sync plan that concerns these agencies: their changes, the counts of
    those, the warnings about them. Directory-wide details (read problems) are left out; a plan
    stored before changes named their agencies shows nothing."""
    changes = [c for c in plan.get("changes", []) if agency_external_ids & set(c.get("agencies", ()))]
    ids = {c["external_id"] for c in changes}
    counts: dict[str, int] = {}
    for change in changes:
        key = f"{change['kind']}.{change['action']}"
        counts[key] = counts.get(key, 0) + 1
    return plan | {
        "changes": changes, "changes_total": len(changes), "counts": dict(sorted(counts.items())),
        "warnings": [w for w in plan.get("warnings", []) if w.get("external_id") in ids],
        "agency_counts": {k: v for k, v in (plan.get("agency_counts") or {}).items() if k in agency_external_ids},
        "problems": [],
    }


def get_group_leaders(kind: str, *, agency_id: int | None = None, department_id: int | None = None) -> list[Person]:
    stmt = (select(Person).join(OrgGroupMember, OrgGroupMember.person_id == Person.id)
            .join(OrgGroup, OrgGroup.id == OrgGroupMember.group_id)
            .where(OrgGroup.kind == kind, OrgGroup.active.is_(True), Person.active.is_(True)))
    if department_id is not None:
        stmt = stmt.where(OrgGroup.department_id == department_id)
    else:
        stmt = stmt.where(OrgGroup.agency_id == agency_id, OrgGroup.department_id.is_(None))
    return list(db.session.execute(stmt.order_by(Person.uid)).scalars())


def get_leader_chain(person: Person, limit: int = 12) -> list[Person]:
    """The person's managers, nearest first, following ``manager`` links (cycles cut)."""
    chain: list[Person] = []
    seen = {person.id}
    current = person.manager
    while current is not None and current.id not in seen and len(chain) < limit:
        chain.append(current)
        seen.add(current.id)
        current = current.manager
    return chain


def _brief(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"uid": person.uid, "name": person.name, "title": person.title,
            "agency": person.agency.name, "active": person.active}


def person_to_json(person: Person, *, detail: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "uid": person.uid,
        "name": person.name,
        "title": person.title,
        "rank": person.rank,
        "cadre_category": person.cadre_category,
        "is_cadre": person.is_cadre,
        "agency": {"id": person.agency_id, "name": person.agency.name},
        "department": ({"id": person.department_id, "name": person.department.name}
                       if person.department else None),
        "manager": person.manager.uid if person.manager else None,
        "mail": person.mail,
        "mobile": person.mobile,
        "active": person.active,
    }
    if detail:
        data["roles"] = [r.to_json() for r in get_role_holdings(person)]
        data["leader_chain"] = [_brief(p) for p in get_leader_chain(person)]
        data["default_deputy"] = _brief(person.default_deputy)
    return data


def get_agencies_tree() -> list[dict[str, Any]]:
    """Active agencies with their departments nested, and head counts."""
    agencies = db.session.execute(
        select(Agency).where(Agency.active.is_(True)).order_by(Agency.name)).scalars().all()
    departments = db.session.execute(
        select(Department).where(Department.active.is_(True)).order_by(Department.name)).scalars().all()
    counts = dict(db.session.execute(
        select(Person.department_id, func.count()).where(Person.active.is_(True))
        .group_by(Person.department_id)).all())
    agency_counts = dict(db.session.execute(
        select(Person.agency_id, func.count()).where(Person.active.is_(True))
        .group_by(Person.agency_id)).all())
    children: dict[int | None, list[Department]] = {}
    for dept in departments:
        children.setdefault(dept.parent_id, []).append(dept)

    def dept_json(dept: Department) -> dict[str, Any]:
        return {"id": dept.id, "name": dept.name, "people": counts.get(dept.id, 0),
                "departments": [dept_json(d) for d in children.get(dept.id, [])]}

    return [{"id": a.id, "name": a.name, "people": agency_counts.get(a.id, 0),
             "departments": [dept_json(d) for d in children.get(None, []) if d.agency_id == a.id]}
            for a in agencies]


def get_agency_json(agency_id: int) -> dict[str, Any]:
    """One agency by id (a single-row read). Raises :class:`NotFound`."""
    agency = db.session.get(Agency, agency_id) if valid_id(agency_id) else None
    if agency is None:
        raise NotFound()
    return {"id": agency.id, "name": agency.name, "active": agency.active}


def get_last_people_count() -> int | None:
    return db.session.execute(
        select(SyncRun.people_seen).where(SyncRun.status == "applied", SyncRun.dry_run.is_(False))
        .order_by(SyncRun.id.desc()).limit(1)).scalar_one_or_none()


_PERSON_COLUMNS = (Person.id, Person.external_id, Person.dn, Person.uid, Person.name, Person.agency_id,
                   Person.department_id, Person.title, Person.rank, Person.cadre_category, Person.manager_id,
                   Person.mail, Person.mobile, Person.active)
_CHUNK = 5000


def _chunks(values) -> list[list]:
    """``values`` in slices small enough for one ``IN (…)`` on every database."""
    values = sorted(values)
    return [values[i:i + _CHUNK] for i in range(0, len(values), _CHUNK)]


_AGENCY_COLUMNS = (Agency.id, Agency.external_id, Agency.dn, Agency.name, Agency.active)
_DEPARTMENT_COLUMNS = (Department.id, Department.external_id, Department.dn, Department.name, Department.agency_id,
                       Department.parent_id, Department.depth, Department.active)


class _Units:
    """Agencies and departments read so far, in the plan's vocabulary, with their row ids.

    Read all at once, or a few at a time and then closed over their parents and agencies (so
    that every unit's path can be named and checked)."""

    def __init__(self) -> None:
        self.agencies: dict[int, Any] = {}
        self.departments: dict[int, Any] = {}

    def load(self, agencies=None, departments=None) -> _Units:
        """Read the agencies and departments matching the conditions (True: all of them)."""
        if agencies is not None:
            stmt = select(*_AGENCY_COLUMNS)
            self.agencies.update((a.id, a) for a in db.session.execute(
                stmt if agencies is True else stmt.where(agencies)))
        if departments is not None:
            stmt = select(*_DEPARTMENT_COLUMNS)
            self.departments.update((d.id, d) for d in db.session.execute(
                stmt if departments is True else stmt.where(departments)))
        return self

    def load_ids(self, agency_ids=(), department_ids=()) -> _Units:
        for chunk in _chunks(set(agency_ids) - set(self.agencies)):
            self.load(agencies=Agency.id.in_(chunk))
        for chunk in _chunks(set(department_ids) - set(self.departments)):
            self.load(departments=Department.id.in_(chunk))
        return self

    def close(self) -> _Units:
        """Read the parents and agencies of every department read, up to the top."""
        while True:
            parents = {d.parent_id for d in self.departments.values() if d.parent_id} - set(self.departments)
            agencies = {d.agency_id for d in self.departments.values()} - set(self.agencies)
            if not parents and not agencies:
                return self
            self.load_ids(agencies, parents)

    def ext(self, agency_id: int, department_id: int | None) -> str:
        return self.departments[department_id].external_id if department_id else self.agencies[agency_id].external_id

    def row_ids(self, external_ids: Collection[str]) -> tuple[list[int], list[int]]:
        """Agency and department row ids of the given stable ids."""
        return ([i for i, a in self.agencies.items() if a.external_id in external_ids],
                [i for i, d in self.departments.items() if d.external_id in external_ids])

    @property
    def units(self) -> dict[str, DirUnit]:
        units: dict[str, DirUnit] = {}
        for a in self.agencies.values():
            units[a.external_id] = DirUnit(a.external_id, a.dn, a.name, None, a.external_id, True, 0)
        for d in self.departments.values():
            agency = self.agencies[d.agency_id].external_id
            parent = self.departments[d.parent_id].external_id if d.parent_id else agency
            units[d.external_id] = DirUnit(d.external_id, d.dn, d.name, parent, agency, False, d.depth)
        return units

    @property
    def inactive(self) -> frozenset[str]:
        return frozenset(u.external_id for rows in (self.agencies, self.departments) for u in rows.values()
                         if not u.active)


def _people(rows, units: _Units, ext_of: dict[int, str]) -> tuple[dict[str, DirPerson], set[str]]:
    """Person rows as :class:`DirPerson`; a manager outside ``ext_of`` becomes None."""
    people: dict[str, DirPerson] = {}
    inactive: set[str] = set()
    for r in rows:
        people[r.external_id] = DirPerson(
            r.external_id, r.dn, r.uid, r.name, units.ext(r.agency_id, r.department_id), r.title, r.rank,
            r.cadre_category, ext_of.get(r.manager_id) if r.manager_id else None, r.mail, r.mobile)
        if not r.active:
            inactive.add(r.external_id)
    return people, inactive


def _groups(rows, members: dict[int, list[str]], units: _Units) -> tuple[dict[str, DirGroup], set[str]]:
    groups: dict[str, DirGroup] = {}
    inactive: set[str] = set()
    for g in rows:
        groups[g.external_id] = DirGroup(g.external_id, g.dn, units.ext(g.agency_id, g.department_id), g.kind,
                                         g.role_code, tuple(sorted(members.get(g.id, []))))
        if not g.active:
            inactive.add(g.external_id)
    return groups, inactive


_GROUP_COLUMNS = (OrgGroup.id, OrgGroup.external_id, OrgGroup.dn, OrgGroup.kind, OrgGroup.role_code,
                  OrgGroup.agency_id, OrgGroup.department_id, OrgGroup.active)


def get_current_state(base_dn: str = "") -> CurrentState:
    """Everything the platform holds, in the plan's vocabulary (bulk reads, no N+1)."""
    units = _Units().load(True, True)
    rows = db.session.execute(select(*_PERSON_COLUMNS)).all()
    person_ext = {r.id: r.external_id for r in rows}
    people, inactive_people = _people(rows, units, person_ext)
    members: dict[int, list[str]] = {}
    for group_id, person_id in db.session.execute(select(OrgGroupMember.group_id, OrgGroupMember.person_id)):
        members.setdefault(group_id, []).append(person_ext[person_id])
    groups, inactive_groups = _groups(db.session.execute(select(*_GROUP_COLUMNS)).all(), members, units)
    snapshot = Snapshot(base_dn=base_dn, units=units.units, people=people, groups=groups, source="database")
    return CurrentState(snapshot=snapshot, inactive=units.inactive | inactive_people | inactive_groups,
                        last_people_count=get_last_people_count())


def get_sync_run(run_id: int) -> SyncRun:
    """One sync run. Raises :class:`NotFound`."""
    run = db.session.get(SyncRun, run_id) if valid_id(run_id) else None
    if run is None:
        raise NotFound()
    return run


def run_counts(run: SyncRun, scope: HrScope) -> dict[str, int]:
    """The counts of ``run`` as ``scope`` may see them: all of them for district HR, the sum over
    their agencies for an agency's HR (nothing for a run stored before plans named agencies)."""
    if scope.district:
        return dict(run.counts or {})
    out: dict[str, int] = {}
    per_agency = (run.plan or {}).get("agency_counts") or {}
    for agency in sorted(scope.agency_external_ids):
        for key, n in per_agency.get(agency, {}).items():
            out[key] = out.get(key, 0) + n
    return dict(sorted(out.items()))

def get_active_units() -> dict[str, DirUnit]:
    """Every active agency and department, by stable id."""
    units = _Units().load(True, True)
    inactive = units.inactive
    return {k: u for k, u in units.units.items() if k not in inactive}


def get_units_by_dn(dns: Collection[str]) -> dict[str, DirUnit]:
    """The active units whose DN is one of ``dns`` as stored, or differs only in case, with their
    parents and agencies, by stable id: two small reads. (DNs spelled otherwise are not found;
    :func:`get_active_units` reads them all.)"""
    units = _Units()
    active_a, active_d = Agency.active.is_(True), Department.active.is_(True)
    for chunk in _chunks(set(dns)):
        units.load(active_a & Agency.dn.in_(chunk), active_d & Department.dn.in_(chunk))
    seen = {u.dn for rows in (units.agencies, units.departments) for u in rows.values()}
    for chunk in _chunks({dn.lower() for dn in dns if dn not in seen}):
        units.load(active_a & func.lower(Agency.dn).in_(chunk), active_d & func.lower(Department.dn).in_(chunk))
    units.close()
    inactive = units.inactive
    return {k: u for k, u in units.units.items() if k not in inactive}


def get_active_external_ids() -> set[str]:
    """The stable ids of every active agency, department, person and group."""
    out: set[str] = set()
    for model in (Agency, Department, Person, OrgGroup):
        out.update(db.session.execute(select(model.external_id).where(model.active.is_(True))).scalars())
    return out


def get_people_by_dn(dns: Collection[str]) -> dict[tuple[str, ...], tuple[str, str]]:
    """Active people whose DN is one of ``dns``: normalised DN → ``("person", external_id)``.

    DNs are compared normalised (:func:`org_sync.snapshot.normalize_dn`). Most references carry
    the stored DN exactly, or differ only in case, so two ``IN`` reads find them and only the
    rows they return are parsed; a DN written some other way (escapes, spacing) or naming
    nobody costs reading and parsing every active person's DN.
    """
    wanted: dict[tuple[str, ...], str] = {}
    for dn in dns:
        try:
            wanted[normalize_dn(dn)] = dn
        except ValueError:
            continue
    found: dict[tuple[str, ...], tuple[str, str]] = {}

    def take(rows) -> None:
        for dn, ext in rows:
            try:
                key = normalize_dn(dn)
            except ValueError:
                continue
            if key in wanted:
                found[key] = ("person", ext)

    active = Person.active.is_(True)
    for chunk in _chunks(set(wanted.values())):
        take(db.session.execute(select(Person.dn, Person.external_id).where(active, Person.dn.in_(chunk))))
    missing = [dn for key, dn in wanted.items() if key not in found]
    for chunk in _chunks({dn.lower() for dn in missing}):
        take(db.session.execute(select(Person.dn, Person.external_id).where(active, func.lower(Person.dn).in_(chunk))))
    if any(key not in found for key in wanted):
        take(db.session.execute(select(Person.dn, Person.external_id).where(active)))
    return found


def get_touched_state(delta: Snapshot, gone: Collection[str], base_dn: str = "") -> tuple[CurrentState, int, int]:
    """The part of the platform an incremental read touches (the contract of
    :func:`org_sync.plan.touched_part`), read with a few ``IN`` queries instead of everything,
    and how many active people and units the platform holds in all."""
    gone = set(gone)
    units = _Units()
    for chunk in _chunks(gone):
        units.load(Agency.external_id.in_(chunk), Department.external_id.in_(chunk))
    below = units.load(departments=Department.agency_id.in_(list(units.agencies))) if units.agencies else units
    parents = set(below.departments)
    while parents:
        before = set(units.departments)
        for chunk in _chunks(parents):
            units.load(departments=Department.parent_id.in_(chunk))
        parents = set(units.departments) - before
    units.close()
    dropped = dropped_units(units.units, units.inactive, gone)
    dropped_agencies, dropped_depts = units.row_ids(dropped)

    rows: dict[int, Any] = {}

    def load(condition) -> list:
        got = db.session.execute(select(*_PERSON_COLUMNS).where(condition)).all()
        rows.update((r.id, r) for r in got)
        return got

    direct = []
    for chunk in _chunks(set(delta.people) | gone):
        direct += load(Person.external_id.in_(chunk))
    in_dropped = []
    if dropped:
        in_dropped = load(Person.active.is_(True) & (Person.department_id.in_(dropped_depts) | (
            Person.department_id.is_(None) & Person.agency_id.in_(dropped_agencies))))
    leaving = {r.id for r in in_dropped}
    leaving |= {r.id for r in direct if r.active and (r.external_id in gone or (
        r.external_id in delta.people and delta.people[r.external_id].unit_id in dropped))}
    for chunk in _chunks(leaving):
        load(Person.active.is_(True) & Person.manager_id.in_(chunk))

    group_rows: dict[int, Any] = {}
    for chunk in _chunks(set(delta.groups) | gone):
        group_rows.update((g.id, g) for g in db.session.execute(
            select(*_GROUP_COLUMNS).where(OrgGroup.external_id.in_(chunk))))
    if dropped:
        group_rows.update((g.id, g) for g in db.session.execute(select(*_GROUP_COLUMNS).where(
            OrgGroup.department_id.in_(dropped_depts)
            | (OrgGroup.department_id.is_(None) & OrgGroup.agency_id.in_(dropped_agencies)))))
    for chunk in _chunks(leaving):
        group_rows.update((g.id, g) for g in db.session.execute(select(*_GROUP_COLUMNS).where(OrgGroup.id.in_(
            select(OrgGroupMember.group_id).where(OrgGroupMember.person_id.in_(chunk))))))
    membership: list[tuple[int, int]] = []
    for chunk in _chunks(group_rows):
        membership += db.session.execute(select(OrgGroupMember.group_id, OrgGroupMember.person_id)
                                         .where(OrgGroupMember.group_id.in_(chunk))).all()

    more_ids = {person_id for _, person_id in membership}
    more_ids |= {r.manager_id for r in direct if r.external_id in delta.people and r.manager_id}
    more_ext = {m for g in delta.groups.values() for m in g.member_ids}
    more_ext |= {p.manager_id for p in delta.people.values() if p.manager_id}
    for chunk in _chunks(more_ids - set(rows)):
        load(Person.id.in_(chunk))
    for chunk in _chunks(more_ext):
        load(Person.external_id.in_(chunk))
    for chunk in _chunks({p.uid for p in delta.people.values()}):
        load(Person.uid.in_(chunk))

    units.load_ids({r.agency_id for r in rows.values()} | {g.agency_id for g in group_rows.values()},
                   {r.department_id for r in rows.values() if r.department_id}
                   | {g.department_id for g in group_rows.values() if g.department_id})
    for chunk in _chunks({p.unit_id for p in delta.people.values()} | {g.unit_id for g in delta.groups.values()}):
        units.load(Agency.external_id.in_(chunk), Department.external_id.in_(chunk))
    units.close()
    ext_of = {i: r.external_id for i, r in rows.items()}
    people, inactive_people = _people(sorted(rows.values(), key=lambda r: r.external_id), units, ext_of)
    members: dict[int, list[str]] = {}
    for group_id, person_id in membership:
        members.setdefault(group_id, []).append(ext_of[person_id])
    groups, inactive_groups = _groups(sorted(group_rows.values(), key=lambda g: g.external_id), members, units)
    snapshot = close_part(Snapshot(base_dn=base_dn, units=units.units, people=people, groups=groups,
                                   source="database"))
    loaded_inactive = units.inactive | inactive_people | inactive_groups
    active = {model: db.session.execute(select(func.count()).select_from(model).where(model.active.is_(True)))
              .scalar_one() for model in (Person, Agency, Department)}
    state = CurrentState(snapshot=snapshot, inactive=frozenset(loaded_inactive), last_people_count=get_last_people_count())
    return state, active[Person], active[Agency] + active[Department]


def get_sync_runs(limit: int = 20, offset: int = 0) -> tuple[list[SyncRun], int]:
    total = db.session.execute(select(func.count()).select_from(SyncRun)).scalar_one()
    runs = db.session.execute(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit).offset(offset)).scalars().all()
    return list(runs), total


def build_org_view(system_admins: tuple[str, ...] = ()):
    """The whole org chart as a routing :class:`~internal_affairs.routing.orgview.OrgView`,
    read in a constant number of queries. Ids are the platform's row ids as text."""
    from ..routing.orgview import AgencyView, DepartmentView, OrgView, PersonView

    rows = db.session.execute(select(
        Person.id, Person.uid, Person.name, Person.title, Person.rank, Person.cadre_category,
        Person.agency_id, Person.department_id, Person.manager_id, Person.active,
        Person.default_deputy_id)).all()
    uid_of = {r.id: r.uid for r in rows}
    people = [PersonView(r.uid, r.name, r.title, r.rank, (r.cadre_category or "") == "区管干部",
                         str(r.agency_id), str(r.department_id) if r.department_id else None,
                         uid_of.get(r.manager_id), bool(r.active), uid_of.get(r.default_deputy_id))
              for r in rows]
    groups: dict[int, list[str]] = {}
    for group_id, person_id in db.session.execute(
            select(OrgGroupMember.group_id, OrgGroupMember.person_id).order_by(OrgGroupMember.id)):
        groups.setdefault(group_id, []).append(uid_of[person_id])
    by_unit: dict[tuple[str, int], dict[str, list[str]]] = {}
    for g in db.session.execute(select(OrgGroup.id, OrgGroup.kind, OrgGroup.role_code, OrgGroup.agency_id,
                                       OrgGroup.department_id).where(OrgGroup.active.is_(True))):
        unit = ("department", g.department_id) if g.department_id else ("agency", g.agency_id)
        key = g.role_code if g.kind == "role" else g.kind
        by_unit.setdefault(unit, {}).setdefault(key, []).extend(groups.get(g.id, []))
    departments = []
    for d in db.session.execute(select(Department).where(Department.active.is_(True))).scalars():
        held = by_unit.get(("department", d.id), {})
        departments.append(DepartmentView(str(d.id), str(d.agency_id), str(d.parent_id) if d.parent_id else None,
                                          d.name, tuple(held.get("department_head", ())),
                                          tuple(held.get("leader_in_charge", ())), d.name == "领导班子"))
    agencies = []
    for a in db.session.execute(select(Agency).where(Agency.active.is_(True))).scalars():
        held = by_unit.get(("agency", a.id), {})
        roles = {k: tuple(v) for k, v in held.items() if k not in ("principal_leader", "leader_in_charge", "department_head")}
        agencies.append(AgencyView(str(a.id), a.name, a.name, tuple(held.get("principal_leader", ())),
                                   tuple(held.get("leader_in_charge", ())), roles))
    return OrgView.build(people, departments, agencies, system_admin_uids=system_admins)

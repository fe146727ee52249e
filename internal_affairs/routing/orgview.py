"""A read-only view of the org chart, shaped for routing.

The service layer builds an :class:`OrgView` from the database (which mirrors the directory,
DESIGN §5); the resolver only reads it. Everything is a frozen dataclass keyed by plain ids, so
tests and benchmarks build views directly without a database.

Vocabulary, as in the directory:

- an agency's ``principal_leader_uids`` is its ``cn=主要领导`` group;
- an agency's ``leader_in_charge_uids`` is its ``cn=分管领导`` group: the *district* leader(s)
  in charge of the agency;
- a department's ``head_uids`` is its ``cn=负责人`` group and its ``leader_in_charge_uids`` its
  ``cn=分管领导`` group: the *agency* leader in charge of that department;
- an agency's ``role_holders`` maps a role code (``hr``, ``discipline_review``, ...) to the
  members of ``ou=roles,cn=<code>``.

A person is in the agency's leadership team (领导班子) when they are its principal leader, are
the leader in charge of one of its departments, or belong to a department marked
``is_leadership_team``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import UnknownPersonError

__all__ = [
    "CADRE_CATEGORY",
    "RANK_LEVELS",
    "rank_level",
    "PersonView",
    "DepartmentView",
    "AgencyView",
    "OrgView",
    "Lookup",
]

CADRE_CATEGORY = "区管干部"

RANK_LEVELS: Mapping[str, int] = MappingProxyType({
    "办事员": 5,
    "科员": 10,
    "二级科员": 10,
    "一级科员": 11,
    "副科": 20,
    "副科级": 20,
    "四级主任科员": 20,
    "三级主任科员": 21,
    "正科": 30,
    "正科级": 30,
    "二级主任科员": 30,
    "一级主任科员": 31,
    "副处": 40,
    "副处级": 40,
    "四级调研员": 40,
    "三级调研员": 41,
    "正处": 50,
    "正处级": 50,
    "二级调研员": 50,
    "一级调研员": 51,
    "副厅": 60,
    "副厅级": 60,
    "二级巡视员": 60,
    "正厅": 70,
    "正厅级": 70,
    "一级巡视员": 70,
})
"""Ranks (职务 and 职级, which run side by side since 2019) on one ladder, for "up to a rank".

Each 职级 sits at the level of the 职务 it corresponds to (四级/三级主任科员 at 副科, 二级/一级
主任科员 at 正科, ...), a little higher for the senior grade of a pair. Unknown ranks have no
level and never satisfy a rank comparison.
"""


def rank_level(rank: str | None) -> int | None:
    """The ladder level of ``rank`` (see :data:`RANK_LEVELS`), or None for an unknown rank."""
    return None if rank is None else RANK_LEVELS.get(rank.strip())


@dataclass(frozen=True, slots=True)
class PersonView:
    """A person as routing needs them.

    ``is_cadre`` is true for ``businessCategory`` 区管干部. ``manager_uid`` is the direct leader
    (``manager``), possibly in another agency. Inactive people keep their place in the chart but
    never act.
    """

    uid: str
    name: str
    title: str | None
    rank: str | None
    is_cadre: bool
    agency_id: str
    department_id: str | None
    manager_uid: str | None
    active: bool = True
    default_deputy_uid: str | None = None


@dataclass(frozen=True, slots=True)
class DepartmentView:
    """A 内设科室 with its 负责人 and its 分管领导 (the agency leader in charge of it)."""

    id: str
    agency_id: str
    parent_id: str | None
    name: str
    head_uids: tuple[str, ...] = ()
    leader_in_charge_uids: tuple[str, ...] = ()
    is_leadership_team: bool = False


@dataclass(frozen=True, slots=True)
class AgencyView:
    """A 机关单位 with its 主要领导, its 分管领导 (district leaders in charge) and role holders.

    ``code`` is a short code where the directory has one, otherwise the agency's name.
    """

    id: str
    code: str
    name: str
    principal_leader_uids: tuple[str, ...] = ()
    leader_in_charge_uids: tuple[str, ...] = ()
    role_holders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def holders(self, role: str) -> tuple[str, ...]:
        """The uids holding ``role`` in this agency, in directory order."""
        return self.role_holders.get(role, ())


@dataclass(frozen=True, slots=True)
class Lookup:
    """The result of looking a position up a department tree.

    ``uids`` are the active holders found (empty when none was found up to the top);
    ``passed_inactive`` the inactive holders walked past, in order; ``department_id`` the
    department where the holders were found.
    """

    uids: tuple[str, ...]
    passed_inactive: tuple[str, ...] = ()
    department_id: str | None = None


@dataclass(frozen=True)
class OrgView:
    """The whole org chart, read-only, with the lookups routing needs.

    ``agency_by_name`` maps the names and codes catalog routes use (``区纪委``, ``区委组织部``)
    to agency ids; when omitted it is derived from every agency's ``name`` and ``code``.
    """

    people: Mapping[str, PersonView]
    departments: Mapping[str, DepartmentView]
    agencies: Mapping[str, AgencyView]
    system_admin_uids: tuple[str, ...] = ()
    agency_by_name: Mapping[str, str] | None = None
    _heads: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _leadership: frozenset[str] = field(init=False, repr=False, compare=False)
    _principals: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "people", MappingProxyType(dict(self.people)))
        setattr_(self, "departments", MappingProxyType(dict(self.departments)))
        setattr_(self, "agencies", MappingProxyType(dict(self.agencies)))
        setattr_(self, "system_admin_uids", tuple(self.system_admin_uids))
        names: dict[str, str] = {}
        for agency in self.agencies.values():
            names.setdefault(agency.name, agency.id)
            names.setdefault(agency.code, agency.id)
        if self.agency_by_name is not None:
            names.update(self.agency_by_name)
        setattr_(self, "agency_by_name", MappingProxyType(names))

        heads: dict[str, list[str]] = {}
        department_leaders: set[tuple[str, str]] = set()
        for department in self.departments.values():
            for uid in department.head_uids:
                heads.setdefault(uid, []).append(department.id)
            for uid in department.leader_in_charge_uids:
                department_leaders.add((department.agency_id, uid))
        principals: set[str] = set()
        for agency in self.agencies.values():
            for uid in agency.principal_leader_uids:
                person = self.people.get(uid)
                if person is not None and person.agency_id == agency.id:
                    principals.add(uid)
        leadership = set(principals)
        for person in self.people.values():
            if (person.agency_id, person.uid) in department_leaders:
                leadership.add(person.uid)
            elif person.department_id is not None:
                department = self.departments.get(person.department_id)
                if department is not None and department.is_leadership_team:
                    leadership.add(person.uid)
        setattr_(self, "_heads", MappingProxyType({uid: tuple(ids) for uid, ids in heads.items()}))
        setattr_(self, "_principals", frozenset(principals))
        setattr_(self, "_leadership", frozenset(leadership))

    @classmethod
    def build(
        cls,
        people: Iterable[PersonView],
        departments: Iterable[DepartmentView],
        agencies: Iterable[AgencyView],
        system_admin_uids: Iterable[str] = (),
        agency_by_name: Mapping[str, str] | None = None,
    ) -> OrgView:
        """An org view from sequences of views (keyed by their uid / id)."""
        return cls(
            people={p.uid: p for p in people},
            departments={d.id: d for d in departments},
            agencies={a.id: a for a in agencies},
            system_admin_uids=tuple(system_admin_uids),
            agency_by_name=agency_by_name,
        )

    def person(self, uid: str) -> PersonView:
        """The person with ``uid``.

        Raises :class:`UnknownPersonError` when there is none.
        """
        try:
            return self.people[uid]
        except KeyError:
            raise UnknownPersonError(uid) from None

    def is_active(self, uid: str) -> bool:
        """True when ``uid`` is a known, active person."""
        person = self.people.get(uid)
        return person is not None and person.active

    def agency_of(self, uid: str) -> AgencyView | None:
        """The agency ``uid`` belongs to (None for an unknown person or agency)."""
        person = self.people.get(uid)
        return None if person is None else self.agencies.get(person.agency_id)

    def find_agency(self, name: str) -> AgencyView | None:
        """The agency with this name, code or id, or None."""
        agency_id = self.agency_by_name.get(name)
        if agency_id is None and name in self.agencies:
            agency_id = name
        return None if agency_id is None else self.agencies.get(agency_id)

    def manager_chain(self, uid: str) -> tuple[PersonView, ...]:
        """Everyone above ``uid`` along ``manager`` links, nearest first, inactive people included.

        A loop in the directory ends the chain at the first repeated person. Unknown manager
        uids end it too.
        """
        chain: list[PersonView] = []
        seen = {uid}
        person = self.people.get(uid)
        while person is not None and person.manager_uid is not None and person.manager_uid not in seen:
            manager = self.people.get(person.manager_uid)
            if manager is None:
                break
            chain.append(manager)
            seen.add(manager.uid)
            person = manager
        return tuple(chain)

    def active_manager(self, uid: str) -> tuple[PersonView | None, tuple[str, ...]]:
        """The nearest active person above ``uid``, and the inactive uids walked past on the way."""
        passed: list[str] = []
        for manager in self.manager_chain(uid):
            if manager.active:
                return manager, tuple(passed)
            passed.append(manager.uid)
        return None, tuple(passed)

    def _lookup_up(self, department_id: str | None, attribute: str) -> Lookup:
        passed: list[str] = []
        seen: set[str] = set()
        while department_id is not None and department_id not in seen:
            department = self.departments.get(department_id)
            if department is None:
                break
            seen.add(department_id)
            holders = getattr(department, attribute)
            active = tuple(uid for uid in holders if self.is_active(uid))
            passed.extend(uid for uid in holders if uid in self.people and not self.people[uid].active)
            if active:
                return Lookup(active, tuple(passed), department_id)
            department_id = department.parent_id
        return Lookup((), tuple(passed), None)

    def find_department_heads(self, department_id: str | None) -> Lookup:
        """The active 负责人 of a department, walking up parent departments while it has none."""
        return self._lookup_up(department_id, "head_uids")

    def find_department_leaders_in_charge(self, department_id: str | None) -> Lookup:
        """The active 分管领导 of a department, walking up parent departments while it has none."""
        return self._lookup_up(department_id, "leader_in_charge_uids")

    def department_heads(self, department_id: str | None) -> tuple[str, ...]:
        """The uids of the active heads of a department (walking up parents); empty if none."""
        return self.find_department_heads(department_id).uids

    def is_department_head(self, uid: str) -> bool:
        """True when ``uid`` is listed as 负责人 of any department."""
        return uid in self._heads

    def headed_departments(self, uid: str) -> tuple[str, ...]:
        """The ids of the departments ``uid`` heads."""
        return self._heads.get(uid, ())

    def is_principal_leader(self, uid: str) -> bool:
        """True when ``uid`` is a 主要领导 of their own agency."""
        return uid in self._principals

    def is_leadership(self, uid: str) -> bool:
        """True when ``uid`` belongs to their agency's leadership team (see the module docstring)."""
        return uid in self._leadership

    def role_holders(self, agency_id: str, role: str) -> tuple[str, ...]:
        """The uids holding ``role`` in the agency (active or not), in directory order."""
        agency = self.agencies.get(agency_id)
        return () if agency is None else agency.holders(role)

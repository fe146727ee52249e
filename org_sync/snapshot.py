"""Map directory entries onto agencies, departments, people and groups (DESIGN §5).

Pure: entries in, :class:`~org_sync.model.Snapshot` out. DNs are compared parsed and
normalised (``ldap.dn.str2dn``), never as raw strings, because servers return escaped forms.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

import ldap.dn

from .model import ROLE_CODES, DirEntry, DirGroup, DirPerson, DirUnit, Snapshot

__all__ = ["DirectorySchema", "OPENLDAP", "ACTIVE_DIRECTORY", "normalize_dn", "parent_dn", "ancestor_dns",
           "build_snapshot", "merge_incremental", "schema_for"]

DnKey = tuple[str, ...]
"""A normalised DN: one string per RDN, ``type\x01value`` (multi-valued RDNs sorted, joined by ``\x00``)."""


@dataclass(frozen=True)
class DirectorySchema:
    """Which attributes and names carry which meaning. Defaults follow DESIGN §5."""

    login: str = "uid"
    name: tuple[str, ...] = ("displayName", "cn")
    manager: str = "manager"
    secretary: str = "secretary"
    title: str = "title"
    rank: str = "employeeType"
    cadre_category: str = "businessCategory"
    mail: str = "mail"
    mobile: str = "mobile"
    person_classes: frozenset[str] = frozenset({"inetorgperson"})
    group_classes: frozenset[str] = frozenset({"groupofnames"})
    unit_classes: frozenset[str] = frozenset({"organizationalunit"})
    principal_group: str = "主要领导"
    leader_in_charge_group: str = "分管领导"
    department_head_group: str = "负责人"
    roles_container: str = "roles"
    role_codes: tuple[str, ...] = ROLE_CODES
    cadre_value: str = "区管干部"


OPENLDAP = DirectorySchema()
ACTIVE_DIRECTORY = DirectorySchema(
    login="sAMAccountName",
    name=("displayName", "cn"),
    rank="extensionAttribute1",
    cadre_category="extensionAttribute2",
    person_classes=frozenset({"user"}),
    group_classes=frozenset({"group"}),
)


def schema_for(flavor: str) -> DirectorySchema:
    """The default schema of an ``IA_LDAP_FLAVOR`` value."""
    return ACTIVE_DIRECTORY if flavor == "ad" else OPENLDAP


def normalize_dn(dn: str) -> DnKey:
    """A comparable form of a DN: attribute types lower-cased, values case-folded, escapes undone.

    Raises :class:`ValueError` for a malformed DN.
    """
    try:
        parsed = ldap.dn.str2dn(dn)
    except ldap.DECODING_ERROR:
        raise ValueError(f"malformed DN: {dn!r}") from None
    return tuple(f"{rdn[0][0].lower()}\x01{rdn[0][1].casefold()}" if len(rdn) == 1
                 else "\x00".join(sorted(f"{attr.lower()}\x01{value.casefold()}" for attr, value, _ in rdn))
                 for rdn in parsed)


def ancestor_dns(dn: str, below: int = 0) -> list[str]:
    """The DNs above ``dn``, nearest first, spelled as in ``dn`` (its tails after each unescaped
    comma), only those longer than ``below`` RDNs (``below=2``: strictly below ``dc=x,dc=y``)."""
    cuts, escaped = [], False
    for i, ch in enumerate(dn):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            cuts.append(i)
    tails = [dn[i + 1:].lstrip() for i in cuts]
    return tails[:max(len(tails) - below, 0)]


def parent_dn(key: DnKey) -> DnKey:
    return key[1:]


def _rdn_value(key: DnKey) -> tuple[str, str]:
    attr, value = key[0].split("\x00", 1)[0].split("\x01", 1)
    return attr, value


def _display_rdn(dn: str) -> str:
    return ldap.dn.str2dn(dn)[0][0][1]


_INVISIBLE = {ord(c): None for c in "\x00\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"}


def _shown(text: str | None) -> str | None:
    """A name or title as people will read it: without NUL and bidirectional controls, which
    could make it read backwards (the platform's own input gate strips them the same way)."""
    return text.translate(_INVISIBLE) if text else text


@dataclass
class _Index:
    """DN → (kind, id) for everything known: the entries being mapped and, for incremental
    reads, what the platform already holds."""

    by_dn: dict[DnKey, tuple[str, str]] = field(default_factory=dict)


def build_snapshot(entries: Iterable[DirEntry], base_dn: str, schema: DirectorySchema = OPENLDAP,
                   *, source: str = "", cookie: str | None = None,
                   known: Mapping[DnKey, tuple[str, str]] | None = None,
                   known_units: Mapping[str, DirUnit] | None = None) -> Snapshot:
    """Map entries below ``base_dn`` to a snapshot.

    ``known`` maps normalised DNs of entries not in ``entries`` (the platform's current state)
    to ``(kind, external_id)`` so that references of an incremental read resolve; ``known_units``
    gives those units' data. Problems (a person outside any unit, an unknown manager, an unknown
    role group) are listed in ``snapshot.problems``; they never raise.
    """
    base = normalize_dn(base_dn)
    depth0 = len(base)
    memo: dict[str, DnKey | None] = {}

    def key_of(dn: str) -> DnKey | None:
        """Normalise a referenced DN once per build (managers and members repeat a lot)."""
        if dn not in memo:
            try:
                memo[dn] = normalize_dn(dn)
            except ValueError:
                memo[dn] = None
        return memo[dn]

    problems: list[str] = []
    units: dict[str, DirUnit] = {}
    by_dn: dict[DnKey, tuple[str, str]] = dict(known or {})
    containers: set[DnKey] = set()
    entries = list(entries)
    keyed: list[tuple[DnKey, DirEntry]] = []
    for entry in entries:
        key = key_of(entry.dn)
        if key is None:
            problems.append(f"malformed DN: {entry.dn!r}")
            continue
        if key[-depth0:] != base or len(key) == depth0:
            continue
        keyed.append((key, entry))

    unit_entries = sorted(((k, e) for k, e in keyed if e.object_classes & schema.unit_classes), key=lambda ke: len(ke[0]))
    all_units: dict[str, DirUnit] = dict(known_units or {})
    for key, entry in unit_entries:
        attr, value = _rdn_value(key)
        if value == schema.roles_container.casefold() and len(key) > depth0 + 1:
            containers.add(key)
            by_dn[key] = ("container", entry.entry_id)
            continue
        depth = len(key) - depth0
        parent_kind, parent_id = by_dn.get(parent_dn(key), (None, None))
        if depth == 1:
            unit = DirUnit(entry.entry_id, entry.dn, _shown(entry.first("ou") or _display_rdn(entry.dn)),
                           None, entry.entry_id, True, 0)
        elif parent_kind == "unit" and parent_id in all_units:
            parent = all_units[parent_id]
            unit = DirUnit(entry.entry_id, entry.dn, _shown(entry.first("ou") or _display_rdn(entry.dn)),
                           parent_id, parent.agency_id, False, depth - 1)
        else:
            problems.append(f"unit {entry.dn} is not below a known agency")
            continue
        units[unit.external_id] = unit
        all_units[unit.external_id] = unit
        by_dn[key] = ("unit", unit.external_id)

    person_entries = [(k, e) for k, e in keyed if e.object_classes & schema.person_classes]
    for key, entry in person_entries:
        by_dn[key] = ("person", entry.entry_id)

    people: dict[str, DirPerson] = {}
    seen_logins: dict[str, str] = {}
    for key, entry in person_entries:
        login = entry.first(schema.login)
        if not login:
            problems.append(f"person {entry.dn} has no {schema.login}")
            continue
        unit_id = _enclosing_unit(key, by_dn)
        if unit_id is None:
            problems.append(f"person {login} ({entry.dn}) is not inside an agency")
            continue
        if login.casefold() in seen_logins:
            problems.append(f"login {login} is used by two entries; {entry.dn} ignored")
            continue
        seen_logins[login.casefold()] = entry.entry_id
        manager_id = None
        manager_dn = entry.first(schema.manager)
        if manager_dn:
            found = by_dn.get(key_of(manager_dn))
            if found and found[0] == "person":
                manager_id = found[1] if found[1] != entry.entry_id else None
            else:
                problems.append(f"manager of {login} ({manager_dn}) is not a known person")
        secretary_id = None
        secretary_dn = entry.first(schema.secretary)
        if secretary_dn:
            found = by_dn.get(key_of(secretary_dn))
            if found and found[0] == "person" and found[1] != entry.entry_id:
                secretary_id = found[1]
            else:
                problems.append(f"secretary of {login} ({secretary_dn}) is not another known person")
        name = _shown(next((entry.first(a) for a in schema.name if entry.first(a)), login))
        cadre = entry.first(schema.cadre_category)
        people[entry.entry_id] = DirPerson(
            external_id=entry.entry_id, dn=entry.dn, uid=login, name=name, unit_id=unit_id,
            title=_shown(entry.first(schema.title)), rank=entry.first(schema.rank),
            cadre_category=cadre, manager_id=manager_id,
            mail=entry.first(schema.mail), mobile=entry.first(schema.mobile), secretary_id=secretary_id,
        )

    groups: dict[str, DirGroup] = {}
    for key, entry in keyed:
        if not entry.object_classes & schema.group_classes:
            continue
        group = _map_group(key, entry, by_dn, all_units, containers, schema, problems, key_of)
        if group is not None:
            groups[group.external_id] = group
    return Snapshot(base_dn=base_dn, units=units, people=people, groups=groups, source=source,
                    cookie=cookie, problems=tuple(problems))


def _enclosing_unit(key: DnKey, by_dn: Mapping[DnKey, tuple[str, str]]) -> str | None:
    for i in range(1, len(key)):
        kind, ident = by_dn.get(key[i:], (None, None))
        if kind == "unit":
            return ident
    return None


def _map_group(key: DnKey, entry: DirEntry, by_dn: Mapping[DnKey, tuple[str, str]],
               units: Mapping[str, DirUnit], containers: set[DnKey], schema: DirectorySchema,
               problems: list[str], key_of) -> DirGroup | None:
    cn = (entry.first("cn") or _display_rdn(entry.dn)).strip()
    parent = parent_dn(key)
    parent_kind, parent_id = by_dn.get(parent, (None, None))
    if (parent_kind is None and len(parent) > 1 and _rdn_value(parent)[1] == schema.roles_container.casefold()
            and by_dn.get(parent_dn(parent), (None, None))[0] == "unit"):
        parent_kind = "container"  # an incremental read resends the changed group, not its container
    kind: str | None = None
    role_code: str | None = None
    unit_id: str | None = None
    if parent_kind == "container":
        unit_id = _enclosing_unit(parent, by_dn)
        if cn in schema.role_codes:
            kind, role_code = "role", cn
        else:
            problems.append(f"role group {entry.dn}: unknown role code {cn!r}")
            return None
    elif parent_kind == "unit" and parent_id in units:
        unit_id = parent_id
        unit = units[parent_id]
        if cn == schema.principal_group and unit.is_agency:
            kind = "principal_leader"
        elif cn == schema.leader_in_charge_group:
            kind = "leader_in_charge"
        elif cn == schema.department_head_group and not unit.is_agency:
            kind = "department_head"
        elif cn in schema.role_codes:
            kind, role_code = "role", cn
    if kind is None or unit_id is None:
        return None
    members: list[str] = []
    unresolved = 0
    for member_dn in entry.attrs.get("member", []):
        found = by_dn.get(key_of(member_dn))
        if found and found[0] == "person":
            if found[1] not in members:
                members.append(found[1])
        else:
            unresolved += 1
    return DirGroup(entry.entry_id, entry.dn, unit_id, kind, role_code, tuple(sorted(members)), unresolved)


def merge_incremental(current: Snapshot, delta: Snapshot, deleted_ids: Iterable[str],
                      present_ids: frozenset[str] | None = None) -> Snapshot:
    """The directory after an incremental read: ``current`` with ``delta``'s objects replaced
    and deleted (or, with an id sweep, absent) objects removed."""
    gone = set(deleted_ids)
    if present_ids is not None:
        known = set(current.units) | set(current.people) | set(current.groups)
        gone |= known - present_ids - set(delta.units) - set(delta.people) - set(delta.groups)

    def merged(old: Mapping[str, object], new: Mapping[str, object]) -> dict:
        out = {k: v for k, v in old.items() if k not in gone}
        out.update(new)
        return out

    return replace(current, units=merged(current.units, delta.units),
                   people=merged(current.people, delta.people),
                   groups=merged(current.groups, delta.groups),
                   source=delta.source, cookie=delta.cookie,
                   problems=delta.problems)

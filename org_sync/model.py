"""Plain data that travels between the directory readers, the snapshot builder and the planner.

Nothing here knows about Flask or a database: readers turn a directory (LDAP or LDIF) into
:class:`DirEntry` records, :func:`org_sync.snapshot.build_snapshot` maps entries onto the
platform's org vocabulary, and :func:`org_sync.plan.compute_plan` diffs a snapshot against the
state the platform already holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DirEntry",
    "ReadResult",
    "DirUnit",
    "DirPerson",
    "DirGroup",
    "Snapshot",
    "SyncSourceError",
    "SyncRefused",
    "GROUP_KINDS",
    "ROLE_CODES",
]

ROLE_CODES = ("hr", "doc_clerk", "seal_keeper", "auditor", "discipline_review", "cadre_management")
GROUP_KINDS = ("principal_leader", "leader_in_charge", "department_head", "role")


class SyncSourceError(Exception):
    """The directory could not be read completely; nothing may be applied from this read."""


class SyncRefused(Exception):
    """A safety guard refused the plan (missing base, shrinking directory, mass deactivation)."""


@dataclass(frozen=True, slots=True)
class DirEntry:
    """One directory entry as read: its DN (as the server returned it), stable id and attributes.

    ``attrs`` maps lower-cased attribute names to lists of decoded strings. Binary attributes
    that the reader converts (AD ``objectGUID``) arrive already as text.
    """

    dn: str
    entry_id: str
    object_classes: frozenset[str]
    attrs: dict[str, list[str]]

    def first(self, name: str) -> str | None:
        """The first value of ``name`` (case-insensitive), or None."""
        values = self.attrs.get(name.lower())
        return values[0] if values else None


@dataclass(frozen=True)
class ReadResult:
    """What a reader returns.

    A full read (``complete=True``) lists every entry below the base. An incremental read lists
    the entries changed since ``cookie_in`` and, in ``deleted_ids``, the stable ids that are gone;
    ``present_ids`` (when not None) is the complete set of ids still present, from an id-only sweep.
    """

    entries: tuple[DirEntry, ...]
    complete: bool
    cookie: str | None = None
    deleted_ids: frozenset[str] = frozenset()
    present_ids: frozenset[str] | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class DirUnit:
    """An agency (first-level OU under the base) or a department (nested OU)."""

    external_id: str
    dn: str
    name: str
    parent_id: str | None
    agency_id: str
    is_agency: bool
    depth: int


@dataclass(frozen=True, slots=True)
class DirPerson:
    """A person (``inetOrgPerson``) with the attributes the platform keeps."""

    external_id: str
    dn: str
    uid: str
    name: str
    unit_id: str
    title: str | None = None
    rank: str | None = None
    cadre_category: str | None = None
    manager_id: str | None = None
    mail: str | None = None
    mobile: str | None = None
    secretary_id: str | None = field(default=None, compare=False)
    """The person the ``secretary`` attribute names (their default deputy, 默认代理人), seeded
    into the platform apart from the plan: not compared, so it never makes a person "changed"."""


@dataclass(frozen=True, slots=True)
class DirGroup:
    """A leadership or role group (``groupOfNames``) attached to a unit.

    ``kind`` is one of :data:`GROUP_KINDS`; ``role_code`` is set for ``kind == "role"``.
    ``member_ids`` are the stable ids of the people it lists (unknown members are dropped and
    counted in ``unresolved_members``).
    """

    external_id: str
    dn: str
    unit_id: str
    kind: str
    role_code: str | None
    member_ids: tuple[str, ...]
    unresolved_members: int = 0


@dataclass(frozen=True)
class Snapshot:
    """The whole org as the directory describes it, keyed by stable id."""

    base_dn: str
    units: dict[str, DirUnit]
    people: dict[str, DirPerson]
    groups: dict[str, DirGroup]
    source: str = ""
    cookie: str | None = None
    problems: tuple[str, ...] = field(default=())

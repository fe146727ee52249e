"""Who may act for the holder of a task: the delegation chain, as plain data.

Pure: no Flask, no session, no clock. The service gives the delegations active at ``now`` that
cover the case's matter type (:class:`Grant`), the case's applicant, the people who are inactive
and everyone's manager; :func:`resolve_chain` answers who may act for the holder ``P`` and why.

Rules: follow delegations from ``P`` at most :data:`MAX_HOPS` hops, never twice through the same
person (no loops); an inactive delegate is passed over (their own delegations are still
followed); nobody ever acts on a case they applied for — when the delegate reached is the
applicant, the right goes one level up ``P``'s manager chain instead (the first active manager
who is not the applicant), and the answer says so (:data:`MANAGER_FOR_APPLICANT`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

__all__ = ["Grant", "Right", "resolve_chain", "MAX_HOPS", "DELEGATED", "MANAGER_FOR_APPLICANT", "covers"]

MAX_HOPS = 3
DELEGATED = "delegated"
MANAGER_FOR_APPLICANT = "manager_for_applicant"
"""The delegate reached was the applicant: the principal's manager acts instead."""


@dataclass(frozen=True, slots=True)
class Grant:
    """An active delegation: ``delegate`` may act for ``principal`` (matter types already checked)."""

    principal: int
    delegate: int


@dataclass(frozen=True, slots=True)
class Right:
    """``person`` may act for the holder; ``hops`` delegations away (0 for a manager standing in
    for an applicant-delegate), ``reason`` one of :data:`DELEGATED`, :data:`MANAGER_FOR_APPLICANT`,
    ``via`` the person whose delegation (or, for the manager, whose place) it came through."""

    person: int
    hops: int
    reason: str
    via: int


def covers(matter_types: Iterable[str] | None, matter: str) -> bool:
    """A delegation's matter scope covers ``matter`` (None or empty: every matter)."""
    return not matter_types or matter in set(matter_types)


def _manager_up(holder: int, managers: Mapping[int, int | None], applicant: int, inactive: frozenset[int] | set[int],
                limit: int = MAX_HOPS) -> int | None:
    seen = {holder}
    current = managers.get(holder)
    for _ in range(limit):
        if current is None or current in seen:
            return None
        if current not in inactive and current != applicant:
            return current
        seen.add(current)
        current = managers.get(current)
    return None


def resolve_chain(holder: int, grants: Iterable[Grant], *, applicant: int, inactive: Iterable[int] = (),
                  managers: Mapping[int, int | None] | None = None, max_hops: int = MAX_HOPS) -> dict[int, Right]:
    """Everyone other than ``holder`` who may act for ``holder`` on a task of a case ``applicant``
    applied for, by person id. The holder and the applicant are never in the answer."""
    inactive = frozenset(inactive)
    managers = managers or {}
    by_principal: dict[int, list[int]] = {}
    for grant in grants:
        if grant.principal != grant.delegate:
            by_principal.setdefault(grant.principal, []).append(grant.delegate)
    rights: dict[int, Right] = {}
    seen = {holder}
    frontier = [holder]
    applicant_reached_from: int | None = None
    for hop in range(1, max_hops + 1):
        following: list[int] = []
        for principal in frontier:
            for delegate in sorted(by_principal.get(principal, ())):
                if delegate in seen:
                    continue
                seen.add(delegate)
                if delegate == applicant:
                    if applicant_reached_from is None:
                        applicant_reached_from = principal
                    continue  # the applicant never acts, nor passes the right on
                following.append(delegate)
                if delegate not in inactive:
                    rights[delegate] = Right(delegate, hop, DELEGATED, principal)
        frontier = following
        if not frontier:
            break
    if applicant_reached_from is not None:
        manager = _manager_up(holder, managers, applicant, inactive)
        if manager is not None and manager != holder and manager not in rights:
            rights[manager] = Right(manager, 0, MANAGER_FOR_APPLICANT, holder)
    return rights

"""A sync plan as lines of text for a terminal: guards first, then every change by kind.

Pure: takes the plan's dict form (:meth:`org_sync.plan.SyncPlan.to_dict`, also what a sync run
stores) and returns lines, so a stored run renders the same as a fresh one.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["plan_lines", "guard_lines", "PER_KIND"]

PER_KIND = 50
"""How many changes of each kind (e.g. ``person.update``) are listed; the rest are counted."""


def _value(value: Any) -> str:
    if value is None or value == []:
        return "—"
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    return str(value)


def _where(change: Mapping[str, Any]) -> str:
    return " / ".join(p for p in (change.get("agency"), change.get("department")) if p)


def _subject(change: Mapping[str, Any]) -> str:
    """uid and name for a person, the path (or group label) otherwise, then where it is."""
    if change.get("kind") == "person" and change.get("uid"):
        head = f"{change['uid']}  {change.get('name') or ''}".rstrip()
        where = _where(change)
        return f"{head}  ({where})" if where else head
    return str(change.get("label") or change.get("external_id"))


def guard_lines(plan: Mapping[str, Any]) -> list[str]:
    """The safety guards: the deactivation ratio, refusals, and warnings about leaders and role
    holders who vanish."""
    lines = ["guards:"]
    active = plan.get("active_before") or 0
    leaving = (plan.get("counts") or {}).get("person.deactivate", 0)
    ratio = f"{leaving / active:.1%}" if active else "—"
    limit = plan.get("max_deactivate_ratio")
    lines.append(f"  deactivations: {leaving} of {active} active people ({ratio}"
                 + (f", limit {limit:.0%})" if limit is not None else ")"))
    if plan.get("refusals"):
        for refusal in plan["refusals"]:
            lines.append(f"  REFUSED [{refusal['code']}]: {refusal['message']}")
        lines.append("  forced: the guards are overridden" if plan.get("forced")
                     else "  the plan is refused unless forced (--force)")
    for warning in plan.get("warnings", ()):
        lines.append(f"  warning [{warning['code']}]: {warning['message']}")
    if not plan.get("refusals") and not plan.get("warnings"):
        lines.append("  no refusals, no warnings")
    return lines


def plan_lines(plan: Mapping[str, Any], *, per_kind: int = PER_KIND) -> list[str]:
    """The whole plan: guards, the count of each kind of change, then each change (kind, uid,
    name, agency and department; for updates each field before → after), ``per_kind`` of each
    kind and a count of the rest."""
    counts: Mapping[str, int] = plan.get("counts") or {}
    lines = guard_lines(plan)
    lines.append("changes: " + (", ".join(f"{k}={v}" for k, v in counts.items()) if counts else "none"))
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for change in plan.get("changes", ()):
        by_kind.setdefault(f"{change['kind']}.{change['action']}", []).append(change)
    for key in list(counts) + [k for k in by_kind if k not in counts]:
        listed = by_kind.get(key, [])
        total = counts.get(key, len(listed))
        lines.append(f"{key} ({total}):")
        for change in listed[:per_kind]:
            lines.append(f"  - {_subject(change)}")
            for name, before, after in change.get("fields", ()):
                lines.append(f"      {name}: {_value(before)} → {_value(after)}")
        rest = total - min(len(listed), per_kind)
        if rest > 0:
            lines.append(f"  … and {rest} more {key}")
    return lines

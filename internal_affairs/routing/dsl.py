"""The route language: plain data (as written in catalog YAML) parsed into frozen dataclasses.

A route is a list of steps::

    - name: 领导审批
      kind: approve                 # approve | handle (办理) | read (传阅) | auto (秒批)
      approvers: {kind: leader_chain, up_to: principal_leader}
      mode: serial                  # serial | all (会签) | any (或签)
      when: {field: applicant.is_cadre, op: "==", value: true}
      time_limit: 2                 # working days, half days allowed
      on_timeout: remind            # remind | escalate | auto_approve
      escalate_to: manager          # with escalate: manager (default) | hr | delegate
      dedupe: true                  # false for gatekeepers who act even if they just did

    - name: 并联审查
      parallel:
        - {name: 纪委审查, approvers: {kind: role, role: discipline_review, agency: 区纪委}, dedupe: false}
        - {name: 分管区领导, approvers: {kind: leader_in_charge, of: agency}}

``approvers`` is one approver spec or a list of them (their people are united, in order):

``leader_chain``
    up the ``manager`` links: ``levels: N``, ``up_to: principal_leader``, ``up_to: <rank>``
    (the first person at or above that rank, see ``orgview.RANK_LEVELS``), or ``choose``, a
    table of ``{when, levels | up_to}`` rows of which the first whose ``when`` holds applies (the
    last row may omit ``when``). Its levels act one after another, so the step's mode is
    ``serial`` and the chain is the step's only approver spec.
``department_head``
    the applicant's 负责人 (walking up parent departments while one has none).
``leader_in_charge``
    ``of: department`` (default): the agency leader in charge of the applicant's department;
    ``of: agency``: the district leader(s) in charge of the applicant's agency.
``principal_leader``
    the 主要领导 of the applicant's agency, or of ``agency: <name>``.
``role``
    the holders of ``role: <code>`` in the applicant's agency, or in ``agency: <name>``.
``person``
    ``uid: <uid>``.
``named_units``
    the heads of the units the applicant named in form field ``field``, a list of
    ``department:<id>`` (that department's 负责人) and ``agency:<id>`` (that agency's 主要领导) and ``person:<uid>``
    entries — e.g. the departments and agencies a document's drafter asks to countersign (会签).
``applicant_choice``
    the uid(s) the applicant put in form field ``field``, which must belong to ``allowed``:
    a list of uids or another approver spec.

An ``auto`` step approves on submission when its ``rule`` (a condition) holds; otherwise its
``approvers`` (the fallback) decide.

A matter whose route differs by applicant may instead give ``{variants: [{name, when, steps}]}``:
the first variant whose ``when`` holds is used, and the last variant has no ``when``.

Defaults: ``kind: approve``; ``mode: serial`` for a leader chain and ``any`` otherwise;
``dedupe: true``. Unknown keys are errors, so a typo in the catalog fails at load time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Union

from .conditions import Condition, collect_condition
from .errors import Problem, RouteDefinitionError
from .orgview import RANK_LEVELS

__all__ = [
    "STEP_KINDS",
    "MODES",
    "TIMEOUT_ACTIONS",
    "ESCALATION_TARGETS",
    "ROLE_CODES",
    "LeaderChain",
    "ChainRule",
    "DepartmentHead",
    "LeaderInCharge",
    "PrincipalLeader",
    "RoleHolders",
    "NamedPerson",
    "ApplicantChoice",
    "ApproverSpec",
    "Branch",
    "Step",
    "Variant",
    "Route",
    "parse_route",
    "validate_route",
]

STEP_KINDS = ("approve", "handle", "read", "auto")
MODES = ("serial", "all", "any")
TIMEOUT_ACTIONS = ("remind", "escalate", "auto_approve")
ESCALATION_TARGETS = ("manager", "hr", "delegate")
"""Whom ``on_timeout: escalate`` turns to: the approver's manager, the agency's HR, or the
approver's active delegate."""
ROLE_CODES = frozenset(("hr", "doc_clerk", "seal_keeper", "auditor", "discipline_review", "cadre_management"))
PRINCIPAL_LEADER = "principal_leader"


@dataclass(frozen=True, slots=True)
class ChainRule:
    """One row of a leader chain's ``choose`` table: ``levels`` or ``up_to``, when ``when`` holds."""

    when: Condition | None
    levels: int | None = None
    up_to: str | None = None


@dataclass(frozen=True, slots=True)
class LeaderChain:
    """Up the manager chain: exactly one of ``levels``, ``up_to`` or ``choose`` is set."""

    levels: int | None = None
    up_to: str | None = None
    choose: tuple[ChainRule, ...] = ()
    path: str = ""


@dataclass(frozen=True, slots=True)
class DepartmentHead:
    """The applicant's department head."""

    path: str = ""


@dataclass(frozen=True, slots=True)
class LeaderInCharge:
    """The leader in charge ``of`` the applicant's ``department`` or ``agency``."""

    of: str = "department"
    path: str = ""


@dataclass(frozen=True, slots=True)
class PrincipalLeader:
    """The principal leader of the applicant's agency, or of the agency named ``agency``."""

    agency: str | None = None
    path: str = ""


@dataclass(frozen=True, slots=True)
class RoleHolders:
    """The holders of ``role`` in the applicant's agency, or in the agency named ``agency``."""

    role: str
    agency: str | None = None
    path: str = ""


@dataclass(frozen=True, slots=True)
class NamedPerson:
    """One person by uid."""

    uid: str
    path: str = ""


@dataclass(frozen=True, slots=True)
class NamedUnits:
    """The heads of the departments and agencies listed in form field ``field``."""

    field: str
    path: str = ""


@dataclass(frozen=True, slots=True)
class ApplicantChoice:
    """The uid(s) in form field ``field``, restricted to ``allowed_uids`` or to who ``allowed`` resolves to."""

    field: str
    allowed_uids: tuple[str, ...] = ()
    allowed: ApproverSpec | None = None
    path: str = ""


ApproverSpec = Union[
    LeaderChain, DepartmentHead, LeaderInCharge, PrincipalLeader, RoleHolders, NamedPerson, ApplicantChoice, NamedUnits
]


@dataclass(frozen=True, slots=True)
class Branch:
    """One branch of a parallel step; its kind is the step's."""

    name: str
    approvers: tuple[ApproverSpec, ...]
    mode: str = "any"
    dedupe: bool = True
    when: Condition | None = None
    path: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """One route step; a parallel step has ``branches`` and no approvers of its own."""

    name: str
    kind: str = "approve"
    approvers: tuple[ApproverSpec, ...] = ()
    mode: str = "any"
    when: Condition | None = None
    time_limit: Decimal | None = None
    on_timeout: str | None = None
    dedupe: bool = True
    rule: Condition | None = None
    branches: tuple[Branch, ...] = ()
    escalate_to: str | None = None
    path: str = ""

    @property
    def is_parallel(self) -> bool:
        """True for a 并联 step."""
        return bool(self.branches)


@dataclass(frozen=True, slots=True)
class Variant:
    """A list of steps for the applicants ``when`` selects (None: everyone else)."""

    name: str | None
    when: Condition | None
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Route:
    """A parsed route: one or more variants, the last of which applies to everyone."""

    variants: tuple[Variant, ...]

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps of a single-variant route.

        Raises :class:`ValueError` for a route with several variants.
        """
        if len(self.variants) != 1:
            raise ValueError("this route has several variants; pick one with the resolver")
        return self.variants[0].steps


class _Parser:
    def __init__(self, role_codes: Collection[str] | None):
        self.role_codes = role_codes
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def unknown_keys(self, data: Mapping[str, Any], allowed: Collection[str], path: str) -> None:
        extra = [str(k) for k in data if k not in allowed]
        if extra:
            self.problem(path, f"unknown keys {sorted(extra)}; allowed: {', '.join(sorted(allowed))}")

    def condition(self, data: Any, path: str) -> Condition | None:
        return collect_condition(data, path, self.problems)

    def text(self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
        if key not in data:
            if required:
                self.problem(path, f"'{key}' is required")
            return None
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{path}.{key}", f"must be non-empty text, not {value!r}")
            return None
        return value.strip()

    def route(self, data: Any, path: str) -> Route | None:
        if isinstance(data, Mapping):
            if "variants" not in data:
                self.problem(path, "a route is a non-empty list of steps, or a mapping with 'variants'")
                return None
            self.unknown_keys(data, ("variants",), path)
            variants_data = data.get("variants")
            vpath = f"{path}.variants"
            if not isinstance(variants_data, (list, tuple)) or not variants_data:
                self.problem(vpath, "a route with variants needs a non-empty list of variants")
                return None
            variants = []
            for i, variant in enumerate(variants_data):
                variants.append(self.variant(variant, f"{vpath}[{i}]", last=i == len(variants_data) - 1))
            if any(v is None for v in variants):
                return None
            return Route(tuple(variants))
        steps = self.steps(data, path)
        return None if steps is None else Route((Variant(None, None, steps),))

    def variant(self, data: Any, path: str, *, last: bool) -> Variant | None:
        if not isinstance(data, Mapping):
            self.problem(path, "a variant must be a mapping with name, when and steps")
            return None
        self.unknown_keys(data, ("name", "when", "steps"), path)
        name = self.text(data, "name", path, required=False)
        when = None
        if "when" in data:
            when = self.condition(data["when"], f"{path}.when")
        elif not last:
            self.problem(path, "only the last variant may omit 'when'")
        if last and "when" in data:
            self.problem(f"{path}.when", "the last variant applies to everyone else and takes no 'when'")
        steps = self.steps(data.get("steps"), f"{path}.steps")
        if steps is None:
            return None
        return Variant(name, when, steps)

    def steps(self, data: Any, path: str) -> tuple[Step, ...] | None:
        if not isinstance(data, (list, tuple)) or not data:
            self.problem(path, "a route is a non-empty list of steps")
            return None
        steps = [self.step(item, f"{path}[{i}]") for i, item in enumerate(data)]
        seen: dict[str, int] = {}
        for i, step in enumerate(steps):
            if step is None:
                continue
            if step.name in seen:
                self.problem(f"{path}[{i}].name", f"step name {step.name!r} already used by step {seen[step.name]}")
            seen.setdefault(step.name, i)
        if any(step is None for step in steps):
            return None
        return tuple(steps)  # type: ignore[arg-type]

    def step(self, data: Any, path: str) -> Step | None:
        if not isinstance(data, Mapping):
            self.problem(path, f"a step must be a mapping, not {type(data).__name__}")
            return None
        before = len(self.problems)
        name = self.text(data, "name", path)
        if "parallel" in data:
            return self.parallel_step(data, name, path, before)
        self.unknown_keys(
            data, ("name", "kind", "approvers", "mode", "when", "time_limit", "on_timeout", "escalate_to", "dedupe", "rule"),
            path
        )
        kind = data.get("kind", "approve")
        if kind not in STEP_KINDS:
            self.problem(f"{path}.kind", f"unknown step kind {kind!r}; expected one of {', '.join(STEP_KINDS)}")
        approvers = self.approvers(data.get("approvers"), f"{path}.approvers", required=True)
        has_chain = any(isinstance(spec, LeaderChain) for spec in approvers)
        if has_chain and len(approvers) > 1:
            self.problem(f"{path}.approvers", "a leader_chain must be the step's only approver spec")
        mode = self.mode(data, path, chain=has_chain)
        rule = None
        if kind == "auto":
            if "rule" not in data:
                self.problem(path, "an auto step needs a 'rule' (the condition for instant approval)")
            else:
                rule = self.condition(data["rule"], f"{path}.rule")
        elif "rule" in data:
            self.problem(f"{path}.rule", "only an auto step takes a 'rule'")
        when = self.condition(data["when"], f"{path}.when") if "when" in data else None
        time_limit = self.time_limit(data, path)
        on_timeout = self.on_timeout(data, path)
        escalate_to = self.escalate_to(data, path, on_timeout)
        dedupe = self.flag(data, "dedupe", path)
        if len(self.problems) > before or name is None:
            return None
        return Step(
            name=name,
            kind=kind,
            approvers=approvers,
            mode=mode,
            when=when,
            time_limit=time_limit,
            on_timeout=on_timeout,
            escalate_to=escalate_to,
            dedupe=dedupe,
            rule=rule,
            path=path,
        )

    def parallel_step(self, data: Mapping[str, Any], name: str | None, path: str, before: int) -> Step | None:
        self.unknown_keys(data, ("name", "kind", "parallel", "when", "time_limit", "on_timeout", "escalate_to"), path)
        for key in ("approvers", "mode", "dedupe", "rule"):
            if key in data:
                self.problem(f"{path}.{key}", f"a parallel step takes '{key}' per branch, not for the whole step")
        kind = data.get("kind", "approve")
        if kind not in ("approve", "handle", "read"):
            self.problem(f"{path}.kind", f"a parallel step's kind is approve, handle or read, not {kind!r}")
        branches_data = data["parallel"]
        bpath = f"{path}.parallel"
        branches: list[Branch | None] = []
        if not isinstance(branches_data, (list, tuple)) or not branches_data:
            self.problem(bpath, "'parallel' takes a non-empty list of branches")
        else:
            seen: set[str] = set()
            for i, item in enumerate(branches_data):
                branch = self.branch(item, f"{bpath}[{i}]")
                if branch is not None:
                    if branch.name in seen:
                        self.problem(f"{bpath}[{i}].name", f"branch name {branch.name!r} is used twice")
                    seen.add(branch.name)
                branches.append(branch)
        when = self.condition(data["when"], f"{path}.when") if "when" in data else None
        time_limit = self.time_limit(data, path)
        on_timeout = self.on_timeout(data, path)
        escalate_to = self.escalate_to(data, path, on_timeout)
        if len(self.problems) > before or name is None:
            return None
        return Step(
            name=name,
            kind=kind,
            mode="all",
            when=when,
            time_limit=time_limit,
            on_timeout=on_timeout,
            escalate_to=escalate_to,
            branches=tuple(branches),  # type: ignore[arg-type]
            path=path,
        )

    def branch(self, data: Any, path: str) -> Branch | None:
        if not isinstance(data, Mapping):
            self.problem(path, f"a branch must be a mapping, not {type(data).__name__}")
            return None
        before = len(self.problems)
        self.unknown_keys(data, ("name", "approvers", "mode", "dedupe", "when"), path)
        name = self.text(data, "name", path)
        approvers = self.approvers(data.get("approvers"), f"{path}.approvers", required=True)
        has_chain = any(isinstance(spec, LeaderChain) for spec in approvers)
        if has_chain and len(approvers) > 1:
            self.problem(f"{path}.approvers", "a leader_chain must be the branch's only approver spec")
        mode = self.mode(data, path, chain=has_chain)
        dedupe = self.flag(data, "dedupe", path)
        when = self.condition(data["when"], f"{path}.when") if "when" in data else None
        if len(self.problems) > before or name is None:
            return None
        return Branch(name=name, approvers=approvers, mode=mode, dedupe=dedupe, when=when, path=path)

    def mode(self, data: Mapping[str, Any], path: str, *, chain: bool) -> str:
        if "mode" not in data:
            return "serial" if chain else "any"
        mode = data["mode"]
        if mode not in MODES:
            self.problem(f"{path}.mode", f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
            return "any"
        if chain and mode != "serial":
            self.problem(f"{path}.mode", "a leader_chain's levels act one after another: its mode is serial")
        return mode

    def flag(self, data: Mapping[str, Any], key: str, path: str) -> bool:
        value = data.get(key, True)
        if not isinstance(value, bool):
            self.problem(f"{path}.{key}", f"must be true or false, not {value!r}")
            return True
        return value

    def time_limit(self, data: Mapping[str, Any], path: str) -> Decimal | None:
        if "time_limit" not in data or data["time_limit"] is None:
            return None
        value = data["time_limit"]
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            self.problem(f"{path}.time_limit", f"a number of working days, not {value!r}")
            return None
        days = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        if days <= 0 or (days * 2) % 1 != 0:
            self.problem(f"{path}.time_limit", f"a positive number of working days in half days, not {value!r}")
            return None
        return days

    def on_timeout(self, data: Mapping[str, Any], path: str) -> str | None:
        if "on_timeout" not in data or data["on_timeout"] is None:
            return None
        value = data["on_timeout"]
        if value not in TIMEOUT_ACTIONS:
            expected = ", ".join(TIMEOUT_ACTIONS)
            self.problem(f"{path}.on_timeout", f"unknown action {value!r}; expected one of {expected}")
            return None
        return value

    def escalate_to(self, data: Mapping[str, Any], path: str, on_timeout: str | None) -> str | None:
        if data.get("escalate_to") is None:
            return "manager" if on_timeout == "escalate" else None
        value = data["escalate_to"]
        if on_timeout != "escalate":
            self.problem(f"{path}.escalate_to", "only with on_timeout: escalate")
            return None
        if value not in ESCALATION_TARGETS:
            self.problem(f"{path}.escalate_to", f"unknown target {value!r}; expected one of {', '.join(ESCALATION_TARGETS)}")
            return None
        return value

    def approvers(self, data: Any, path: str, *, required: bool) -> tuple[ApproverSpec, ...]:
        if data is None:
            if required:
                self.problem(path.rpartition(".")[0], "'approvers' is required")
            return ()
        if isinstance(data, Mapping):
            spec = self.spec(data, path)
            return () if spec is None else (spec,)
        if not isinstance(data, (list, tuple)) or not data:
            self.problem(path, "'approvers' is an approver spec or a non-empty list of them")
            return ()
        specs = [self.spec(item, f"{path}[{i}]") for i, item in enumerate(data)]
        return tuple(spec for spec in specs if spec is not None)

    def spec(self, data: Any, path: str, *, inside_choice: bool = False) -> ApproverSpec | None:
        if not isinstance(data, Mapping):
            self.problem(path, f"an approver spec must be a mapping, not {type(data).__name__}")
            return None
        kind = data.get("kind")
        before = len(self.problems)
        if kind == "leader_chain":
            self.unknown_keys(data, ("kind", "levels", "up_to", "choose"), path)
            given = [key for key in ("levels", "up_to", "choose") if key in data]
            if len(given) != 1:
                self.problem(path, "a leader_chain takes exactly one of levels, up_to, choose")
                return None
            if "choose" in data:
                rules = self.chain_rules(data["choose"], f"{path}.choose")
                return None if rules is None else LeaderChain(choose=rules, path=path)
            levels, up_to = self.chain_extent(data, path)
            if len(self.problems) > before:
                return None
            return LeaderChain(levels=levels, up_to=up_to, path=path)
        if kind == "department_head":
            self.unknown_keys(data, ("kind",), path)
            return None if len(self.problems) > before else DepartmentHead(path=path)
        if kind == "leader_in_charge":
            self.unknown_keys(data, ("kind", "of"), path)
            of = data.get("of", "department")
            if of not in ("department", "agency"):
                self.problem(f"{path}.of", f"'of' is department or agency, not {of!r}")
            return None if len(self.problems) > before else LeaderInCharge(of=of, path=path)
        if kind == "principal_leader":
            self.unknown_keys(data, ("kind", "agency"), path)
            agency = self.text(data, "agency", path, required=False)
            return None if len(self.problems) > before else PrincipalLeader(agency=agency, path=path)
        if kind == "role":
            self.unknown_keys(data, ("kind", "role", "agency"), path)
            role = self.text(data, "role", path)
            agency = self.text(data, "agency", path, required=False)
            if role is not None and self.role_codes is not None and role not in self.role_codes:
                self.problem(f"{path}.role", f"unknown role {role!r}; known: {', '.join(sorted(self.role_codes))}")
            if len(self.problems) > before or role is None:
                return None
            return RoleHolders(role=role, agency=agency, path=path)
        if kind == "person":
            self.unknown_keys(data, ("kind", "uid"), path)
            uid = self.text(data, "uid", path)
            return None if len(self.problems) > before or uid is None else NamedPerson(uid=uid, path=path)
        if kind == "named_units":
            self.unknown_keys(data, ("kind", "field"), path)
            field = self.text(data, "field", path)
            return None if len(self.problems) > before or field is None else NamedUnits(field=field, path=path)
        if kind == "applicant_choice":
            if inside_choice:
                self.problem(path, "an applicant_choice cannot restrict itself to another applicant_choice")
                return None
            self.unknown_keys(data, ("kind", "field", "allowed"), path)
            field = self.text(data, "field", path)
            allowed = data.get("allowed")
            allowed_uids: tuple[str, ...] = ()
            allowed_spec: ApproverSpec | None = None
            if allowed is None:
                self.problem(path, "an applicant_choice needs 'allowed' (a list of uids or an approver spec)")
            elif isinstance(allowed, Mapping):
                allowed_spec = self.spec(allowed, f"{path}.allowed", inside_choice=True)
            elif isinstance(allowed, (list, tuple)) and allowed and all(isinstance(u, str) and u for u in allowed):
                allowed_uids = tuple(allowed)
            else:
                self.problem(f"{path}.allowed", "a non-empty list of uids or an approver spec")
            if len(self.problems) > before or field is None:
                return None
            return ApplicantChoice(field=field, allowed_uids=allowed_uids, allowed=allowed_spec, path=path)
        known = ("leader_chain, department_head, leader_in_charge, principal_leader, role, person, applicant_choice, "
                 "named_units")
        self.problem(f"{path}.kind", f"unknown approver kind {kind!r}; expected one of {known}")
        return None

    def chain_extent(self, data: Mapping[str, Any], path: str) -> tuple[int | None, str | None]:
        if "levels" in data:
            levels = data["levels"]
            if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
                self.problem(f"{path}.levels", f"a positive whole number of levels, not {levels!r}")
                return None, None
            return levels, None
        up_to = data.get("up_to")
        if up_to != PRINCIPAL_LEADER and (not isinstance(up_to, str) or up_to not in RANK_LEVELS):
            self.problem(f"{path}.up_to", f"'up_to' is principal_leader or a known rank, not {up_to!r}")
            return None, None
        return None, up_to

    def chain_rules(self, data: Any, path: str) -> tuple[ChainRule, ...] | None:
        if not isinstance(data, (list, tuple)) or not data:
            self.problem(path, "'choose' is a non-empty list of {when, levels | up_to} rows")
            return None
        rules: list[ChainRule] = []
        before = len(self.problems)
        for i, row in enumerate(data):
            rpath = f"{path}[{i}]"
            if not isinstance(row, Mapping):
                self.problem(rpath, "a row is a mapping {when, levels | up_to}")
                continue
            self.unknown_keys(row, ("when", "levels", "up_to"), rpath)
            if ("levels" in row) == ("up_to" in row):
                self.problem(rpath, "a row takes exactly one of levels, up_to")
                continue
            when = self.condition(row["when"], f"{rpath}.when") if "when" in row else None
            if when is None and "when" not in row and i != len(data) - 1:
                self.problem(rpath, "only the last row may omit 'when' (later rows could never apply)")
            levels, up_to = self.chain_extent(row, rpath)
            rules.append(ChainRule(when=when, levels=levels, up_to=up_to))
        if len(self.problems) > before:
            return None
        return tuple(rules)


def validate_route(data: Any, *, path: str = "route", role_codes: Collection[str] | None = ROLE_CODES) -> list[Problem]:
    """Every problem with a route read from data, each with its path; empty when it is well-formed.

    ``role_codes`` is the set of known role codes (None accepts any code).
    """
    parser = _Parser(role_codes)
    parser.route(data, path)
    return parser.problems


def parse_route(data: Any, *, path: str = "route", role_codes: Collection[str] | None = ROLE_CODES) -> Route:
    """A route read from data (a list of steps, or ``{variants: [...]}``) as frozen dataclasses.

    Raises :class:`RouteDefinitionError` listing every problem, each with its path.
    """
    parser = _Parser(role_codes)
    route = parser.route(data, path)
    if parser.problems or route is None:
        raise RouteDefinitionError(parser.problems or [Problem(path, "malformed route")])
    return route

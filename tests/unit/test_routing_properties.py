"""Properties of the resolver over generated org charts and routes.

The generated charts are deliberately untidy: managers anywhere (loops and self-references
included), inactive people, departments nested or without heads, agencies without roles.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from internal_affairs.routing.dsl import LeaderChain, parse_route
from internal_affairs.routing.orgview import AgencyView, DepartmentView, OrgView, PersonView
from internal_affairs.routing.resolver import resolve_route
from tests.support.routing import ROUTES

AGENCY_NAMES = ("区纪委", "区委组织部", "区教育局", "区财政局")
RANKS = (None, "一级科员", "四级主任科员", "副科", "正科", "副处", "正处", "未知职级")
ROLES = ("hr", "discipline_review", "cadre_management")


@st.composite
def org_views(draw) -> OrgView:
    """A random org chart: district leaders plus one to four agencies."""
    people: list[dict] = []
    departments: list[DepartmentView] = []
    agencies: list[AgencyView] = []

    def new_person(agency_id: str, department_id: str | None) -> str:
        uid = f"p{len(people)}"
        people.append({"uid": uid, "agency_id": agency_id, "department_id": department_id})
        return uid

    district = [new_person("district", "district-ld") for _ in range(draw(st.integers(1, 3)))]
    departments.append(DepartmentView("district-ld", "district", None, "领导班子", is_leadership_team=True))
    agencies.append(AgencyView("district", "区领导", "区领导", (district[0],), tuple(district[1:2])))

    for a in range(draw(st.integers(1, len(AGENCY_NAMES)))):
        agency_id = f"a{a}"
        dept_ids: list[str] = []
        for d in range(draw(st.integers(1, 4))):
            dept_id = f"{agency_id}-d{d}"
            parent = draw(st.none() | st.sampled_from(dept_ids)) if dept_ids else None
            dept_ids.append(dept_id)
            departments.append(DepartmentView(dept_id, agency_id, parent, f"科室{d}"))
        members = [
            new_person(agency_id, draw(st.sampled_from(dept_ids) | st.none()))
            for _ in range(draw(st.integers(1, 9)))
        ]
        for i, department in enumerate(departments):
            if department.agency_id == agency_id:
                departments[i] = DepartmentView(
                    department.id,
                    agency_id,
                    department.parent_id,
                    department.name,
                    tuple(draw(st.lists(st.sampled_from(members), max_size=2, unique=True))),
                    tuple(draw(st.lists(st.sampled_from(members), max_size=2, unique=True))),
                    draw(st.booleans()),
                )
        roles = {role: tuple(draw(st.lists(st.sampled_from(members), max_size=3, unique=True))) for role in ROLES}
        agencies.append(
            AgencyView(
                agency_id,
                f"code{a}",
                AGENCY_NAMES[a],
                tuple(dict.fromkeys(members[:1] + draw(st.lists(st.sampled_from(members), max_size=1)))),
                tuple(draw(st.lists(st.sampled_from(district), max_size=2, unique=True))),
                {role: holders for role, holders in roles.items() if holders},
            )
        )
    uids = [p["uid"] for p in people]
    views = []
    for i, p in enumerate(people):
        colleagues = [q["uid"] for q in people[:i] if q["agency_id"] == p["agency_id"]]
        usual = st.sampled_from(colleagues) if colleagues else st.sampled_from(district)
        manager = draw(usual | usual | usual | st.none() | st.sampled_from(district) | st.sampled_from(uids))
        views.append(
            PersonView(
                uid=p["uid"],
                name=p["uid"],
                title=None,
                rank=draw(st.sampled_from(RANKS)),
                is_cadre=draw(st.booleans()),
                agency_id=p["agency_id"],
                department_id=p["department_id"],
                manager_uid=manager,
                active=draw(st.sampled_from((True, True, True, False))),
            )
        )
    admins = tuple(draw(st.lists(st.sampled_from(uids + ["root"]), max_size=2, unique=True)))
    return OrgView.build(views, departments, agencies, system_admin_uids=admins)


SPECS = st.sampled_from(
    [
        {"kind": "leader_chain", "levels": 1},
        {"kind": "leader_chain", "levels": 3},
        {"kind": "leader_chain", "up_to": "principal_leader"},
        {"kind": "leader_chain", "up_to": "正科"},
        {"kind": "department_head"},
        {"kind": "leader_in_charge"},
        {"kind": "leader_in_charge", "of": "agency"},
        {"kind": "principal_leader"},
        {"kind": "principal_leader", "agency": "区纪委"},
        {"kind": "role", "role": "hr"},
        {"kind": "role", "role": "discipline_review", "agency": "区纪委"},
        {"kind": "role", "role": "cadre_management", "agency": "区委组织部"},
        {"kind": "person", "uid": "p1"},
        {"kind": "person", "uid": "p4"},
        {"kind": "applicant_choice", "field": "chosen", "allowed": {"kind": "role", "role": "hr"}},
    ]
)
WHEN = st.none() | st.builds(
    lambda op, value: {"field": "x", "op": op, "value": value},
    st.sampled_from(["==", "!=", "<", ">="]),
    st.integers(0, 3),
)


def _approvers(draw):
    specs = draw(st.lists(SPECS, min_size=1, max_size=3))
    chains = [s for s in specs if s["kind"] == "leader_chain"]
    return chains[0] if chains else (specs[0] if len(specs) == 1 else specs)


@st.composite
def routes(draw):
    """A random, well-formed route of one to five steps."""
    steps = []
    for i in range(draw(st.integers(1, 5))):
        when = draw(WHEN)
        if draw(st.integers(0, 4)) == 0:
            branches = []
            for b in range(draw(st.integers(1, 3))):
                branch = {"name": f"b{b}", "approvers": _approvers(draw), "dedupe": draw(st.booleans())}
                branch_when = draw(WHEN)
                if branch_when:
                    branch["when"] = branch_when
                if not isinstance(branch["approvers"], dict) or branch["approvers"]["kind"] != "leader_chain":
                    branch["mode"] = draw(st.sampled_from(["any", "all", "serial"]))
                branches.append(branch)
            step = {"name": f"s{i}", "parallel": branches}
        else:
            approvers = _approvers(draw)
            step = {"name": f"s{i}", "approvers": approvers, "dedupe": draw(st.booleans()),
                    "kind": draw(st.sampled_from(["approve", "handle", "read", "auto"]))}
            if step["kind"] == "auto":
                step["rule"] = {"field": "x", "op": "<=", "value": draw(st.integers(0, 3))}
        if when:
            step["when"] = when
        steps.append(step)
    return parse_route(steps)


ANY_ROUTE = st.sampled_from(sorted(ROUTES.values(), key=repr)) | routes()
FACTS = st.fixed_dictionaries(
    {
        "leave_working_days": st.decimals(Decimal("0.5"), Decimal(30), places=1),
        "trip_working_days": st.integers(1, 10),
        "leaves_province": st.booleans(),
        "outside_province": st.booleans(),
        "hours": st.integers(0, 12),
        "x": st.integers(0, 3),
        "chosen": st.sampled_from(["p0", "p2", "p3", "p5"]),
    }
)
CASES = st.tuples(org_views(), ANY_ROUTE, FACTS, st.data())


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CASES)
def test_resolver_properties(case):
    """One generated case, every property (generating a case costs far more than checking it)."""
    org, route, facts, data = case
    admins_in_org = sorted(u for u in org.system_admin_uids if u in org.people)
    everyone = st.sampled_from(sorted(org.people))
    applicant = data.draw(everyone | st.sampled_from(admins_in_org) if admins_in_org else everyone)
    plan = resolve_route(route, org, applicant, facts)
    args = (org, route, applicant, facts, plan)
    check_the_applicant_never_approves_and_inactive_people_never_act(*args)
    check_no_applicant_administrator_or_not_ever_holds_a_task_of_their_own_case(*args)
    check_no_one_acts_in_two_consecutive_steps_unless_the_later_says_dedupe_false(*args)
    check_every_applicable_step_has_approvers_or_an_error_or_is_already_done(*args)
    check_leader_chains_stay_in_the_agency_and_stop_at_the_principal_leader(*args)
    check_resolution_is_deterministic(*args)


def _units(step):
    """The acting units of a planned step: the step itself, or its branches."""
    return step.branches if step.is_parallel else (step,)


def check_the_applicant_never_approves_and_inactive_people_never_act(org, route, applicant, facts, plan):
    for step in plan:
        for unit in _units(step):
            assert applicant not in unit.approvers
            assert all(org.is_active(uid) for uid in unit.approvers)
            assert len(set(unit.approvers)) == len(unit.approvers)


def check_no_applicant_administrator_or_not_ever_holds_a_task_of_their_own_case(org, route, applicant, facts, plan):
    others = [u for u in org.system_admin_uids if u != applicant and (u not in org.people or org.is_active(u))]
    preview = plan.as_preview()
    for step, shown in zip(plan, preview["steps"]):
        for unit, unit_shown in zip(_units(step), shown["branches"] or [shown]):
            assert applicant not in unit.approvers and applicant not in unit.error_assignees
            assert applicant not in unit_shown["approvers"] and applicant not in unit_shown["error_assignees"]
            assert unit.waiting_for_admin == (unit.error is not None and not unit.error_assignees)
            assert unit_shown["waiting_for_admin"] == unit.waiting_for_admin
            if unit.waiting_for_admin:
                assert not others, "another administrator was there to repair the step"


def check_no_one_acts_in_two_consecutive_steps_unless_the_later_says_dedupe_false(org, route, applicant, facts, plan):
    previous_actors: set[str] = set()
    previous_appearing: frozenset[str] = frozenset()
    for step in plan:
        if not step.applies:
            continue
        for unit in _units(step):
            if unit.applies and unit.dedupe:
                assert not previous_actors & set(unit.approvers)
                assert not previous_appearing & set(unit.approvers)
        previous_actors = set(step.actors)
        previous_appearing = step.appearing


def check_every_applicable_step_has_approvers_or_an_error_or_is_already_done(org, route, applicant, facts, plan):
    hr = [u for u in org.agencies[org.people[applicant].agency_id].holders("hr")
          if u != applicant and org.is_active(u)]
    for step in plan:
        if not step.applies:
            assert step.approvers == () and step.error is None and step.not_applied is not None
            continue
        if step.is_parallel:
            assert any(branch.applies for branch in step.branches)
        for unit in _units(step):
            if not unit.applies:
                continue
            if unit.error is not None:
                assert unit.approvers == () and unit.error_code
                admins = [u for u in org.system_admin_uids
                          if u != applicant and (u not in org.people or org.is_active(u))]
                assert unit.error_assignees == tuple(hr) or (not hr and unit.error_assignees == tuple(admins))
                assert unit.error_assignees or not admins and not hr
            elif not unit.approvers:
                auto = getattr(unit, "auto_outcome", None) == "approved"
                deduplicated = any(s.code == "duplicate" for s in unit.skipped)
                assert auto or deduplicated


def check_leader_chains_stay_in_the_agency_and_stop_at_the_principal_leader(org, route, applicant, facts, plan):
    person = org.people[applicant]
    principals = set(org.agencies[person.agency_id].principal_leader_uids)
    variant = next(v for v in route.variants if v.name == plan.variant)
    for spec_step, step in zip(variant.steps, plan):
        if step.is_parallel or not step.approvers or not isinstance(spec_step.approvers[0], LeaderChain):
            continue
        if org.is_principal_leader(applicant):
            assert len(step.approvers) <= 1
            continue
        assert all(org.people[uid].agency_id == person.agency_id for uid in step.approvers)
        assert not any(uid in principals for uid in step.approvers[:-1])


def check_resolution_is_deterministic(org, route, applicant, facts, plan):
    assert resolve_route(route, org, applicant, facts) == plan
    shuffled = OrgView(
        people=dict(reversed(list(org.people.items()))),
        departments=dict(reversed(list(org.departments.items()))),
        agencies=dict(reversed(list(org.agencies.items()))),
        system_admin_uids=org.system_admin_uids,
    )
    assert resolve_route(route, shuffled, applicant, dict(reversed(list(facts.items())))) == plan

"""The route resolver, the route language and the condition evaluator, on the mini district."""

from __future__ import annotations

import ast
import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from internal_affairs.routing.conditions import (
    evaluate_condition,
    parse_condition,
    validate_condition,
)
from internal_affairs.routing.dsl import LeaderChain, RoleHolders, parse_route, validate_route
from internal_affairs.routing.errors import (
    ConditionEvaluationError,
    ConditionSyntaxError,
    RouteDefinitionError,
    UnknownPersonError,
)
from internal_affairs.routing.orgview import PersonView, rank_level
from internal_affairs.routing.resolver import REASONS, resolve_route
from tests.support.routing import ROUTES, district

ORG = district()


def resolve(code_or_route, applicant, org=ORG, **facts):
    route = ROUTES[code_or_route] if isinstance(code_or_route, str) else parse_route(code_or_route)
    return resolve_route(route, org, applicant, facts)


def skipped(step_or_branch):
    return [(s.uid, s.code) for s in step_or_branch.skipped]


def route(*steps):
    return list(steps)


def step(name, approvers, **extra):
    return {"name": name, "approvers": approvers, **extra}


HR = {"kind": "role", "role": "hr"}
HEAD = {"kind": "department_head"}


# --- leave 请假 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "chain"),
    [(Decimal("0.5"), ["zhangwei"]), (1, ["zhangwei"]), (Decimal("1.5"), ["zhangwei", "lixiaohong"]),
     (3, ["zhangwei", "lixiaohong"]), (4, ["zhangwei", "lixiaohong", "wangguodong"]),
     (20, ["zhangwei", "lixiaohong", "wangguodong"])],
)
def test_leave_chain_grows_with_working_days_and_stops_at_the_principal(days, chain):
    plan = resolve("leave", "xujing", leave_working_days=days)
    first = plan.step("领导审批")
    assert first.approvers == tuple(chain)
    assert first.mode == "serial" and first.kind == "approve" and first.time_limit == Decimal(1)
    assert not plan.step("干部备案").applies
    assert plan.step("干部备案").not_applied.code == "condition_false"
    assert plan.step("考勤登记").approvers == ("linxiaoyan",)
    assert plan.step("考勤登记").kind == "handle"
    assert not plan.has_error


def test_leave_in_a_nested_department_walks_through_the_sub_department_head():
    plan = resolve("leave", "guolei", leave_working_days=10)
    assert plan[0].approvers == ("huting", "zhangwei", "lixiaohong", "wangguodong")


def test_leave_of_a_cadre_over_three_days_is_filed_with_the_organisation_department():
    plan = resolve("leave", "lixiaohong", leave_working_days=4)
    assert plan[0].approvers == ("wangguodong",)
    filing = plan.step("干部备案")
    assert filing.applies and filing.kind == "read"
    assert filing.approvers == ("yuanzhenhua", "songjia") and filing.mode == "any"
    assert plan.step("考勤登记").approvers == ("linxiaoyan",)


def test_leave_of_a_cadre_leaving_the_province_is_filed_even_when_short():
    assert resolve("leave", "lixiaohong", leave_working_days=1, leaves_province=True).step("干部备案").applies
    assert not resolve("leave", "lixiaohong", leave_working_days=1, leaves_province=False).step("干部备案").applies
    assert not resolve("leave", "lixiaohong", leave_working_days=3).step("干部备案").applies


def test_leave_of_a_non_cadre_is_never_filed():
    assert not resolve("leave", "xujing", leave_working_days=10, leaves_province=True).step("干部备案").applies


def test_leave_two_levels_for_a_deputy_stop_at_the_principal_leader():
    assert resolve("leave", "lixiaohong", leave_working_days=2)[0].approvers == ("wangguodong",)


@pytest.mark.parametrize("days", [1, 3, 10])
def test_principal_leaders_own_leave_goes_to_their_manager_only(days):
    first = resolve("leave", "wangguodong", leave_working_days=days)[0]
    assert first.approvers == ("fanghuimin",)


def test_leave_of_the_hr_officer_goes_to_her_manager_and_is_deduplicated():
    plan = resolve("leave", "linxiaoyan", leave_working_days=1)
    assert plan[0].approvers == ("sunli",)
    registration = plan.step("考勤登记")
    assert registration.approvers == ()
    assert skipped(registration) == [("linxiaoyan", "self_approval"), ("sunli", "duplicate")]
    assert registration.satisfied_by_previous and registration.error is None


# --- business trip 出差 ------------------------------------------------------------------------


def test_trip_inside_the_province_needs_only_the_department_head():
    plan = resolve("business_trip", "xujing", outside_province=False, trip_working_days=2)
    assert plan[0].approvers == ("zhangwei",)
    assert not plan[1].applies
    assert plan[2].approvers == ("linxiaoyan",) and plan[2].kind == "read"


@pytest.mark.parametrize(("outside", "days"), [(True, 1), (False, 6)])
def test_trip_outside_the_province_or_long_needs_the_leader_in_charge(outside, days):
    plan = resolve("business_trip", "xujing", outside_province=outside, trip_working_days=days)
    assert plan[1].applies and plan[1].approvers == ("lixiaohong",)


def test_trip_from_a_sub_department_finds_the_leader_in_charge_of_the_parent():
    plan = resolve("business_trip", "guolei", outside_province=True, trip_working_days=1)
    assert plan[0].approvers == ("huting",)
    assert plan[1].approvers == ("lixiaohong",)


def test_trip_of_a_department_head_goes_to_the_manager_then_deduplicates_the_leader_in_charge():
    plan = resolve("business_trip", "zhangwei", outside_province=True, trip_working_days=1)
    assert plan[0].approvers == ("lixiaohong",)
    assert plan[0].skipped[0] == ("zhangwei", "self_approval", REASONS["self_approval"])
    assert plan[1].approvers == ()
    assert plan[1].skipped == (("lixiaohong", "duplicate", "与上一步审批人相同，不再重复审批"),)
    assert plan[2].approvers == ("linxiaoyan",)


def test_trip_of_a_deputy_goes_to_the_principal_leader():
    plan = resolve("business_trip", "lixiaohong", outside_province=True, trip_working_days=1)
    assert plan[0].approvers == ("wangguodong",)
    assert plan[1].approvers == () and skipped(plan[1]) == [("wangguodong", "duplicate")]


def test_trip_of_the_principal_leader_goes_to_the_district_leader():
    plan = resolve("business_trip", "wangguodong", outside_province=True, trip_working_days=1)
    assert plan[0].approvers == ("fanghuimin",)
    assert skipped(plan[1]) == [("wangguodong", "self_approval"), ("fanghuimin", "duplicate")]


# --- overtime 加班 ------------------------------------------------------------------------------


@pytest.mark.parametrize("hours", [1, 4, Decimal("3.5")])
def test_short_overtime_is_approved_instantly(hours):
    plan = resolve("overtime", "xujing", hours=hours)
    assert plan[0].kind == "auto" and plan[0].auto_outcome == "approved"
    assert plan[0].approvers == () and not plan[0].has_error
    assert plan[1].approvers == ("linxiaoyan",)


def test_long_overtime_falls_back_to_the_department_head():
    plan = resolve("overtime", "xujing", hours=6)
    assert plan[0].auto_outcome == "fallback" and plan[0].approvers == ("zhangwei",)


def test_overtime_hours_as_text_is_an_error_for_hr_not_a_crash():
    plan = resolve("overtime", "xujing", hours="3")
    assert plan[0].error_code == "condition_error"
    assert "hours" in plan[0].error and plan[0].error_assignees == ("linxiaoyan",)


# --- overseas travel 因私出国（境） -------------------------------------------------------------


def test_overseas_travel_of_a_principal_leader_worked_example():
    plan = resolve("overseas_travel", "wangguodong")
    assert plan.variant == "区管干部"
    first, review, org_dept, certificates = plan
    assert first.approvers == ("fanghuimin",)
    assert first.skipped == (("wangguodong", "self_approval", "申请人本人，改由其上级审批"),)
    discipline, district_leader = review.branches
    assert review.is_parallel and review.applies and review.mode == "all"
    assert discipline.approvers == ("yanming", "hesiyuan") and discipline.mode == "any"
    assert not discipline.dedupe
    assert district_leader.applies and district_leader.approvers == ()
    assert district_leader.skipped == (("fanghuimin", "duplicate", "与上一步审批人相同，不再重复审批"),)
    assert district_leader.error is None
    assert org_dept.approvers == ("yuanzhenhua", "songjia") and org_dept.mode == "any"
    assert certificates.kind == "handle" and certificates.approvers == ("yuanzhenhua", "songjia")
    assert not plan.has_error


def test_overseas_travel_of_a_deputy_cadre():
    plan = resolve("overseas_travel", "lixiaohong")
    assert plan[0].approvers == ("wangguodong",)
    discipline, district_leader = plan[1].branches
    assert discipline.approvers == ("yanming", "hesiyuan")
    assert district_leader.approvers == ("fanghuimin",)
    assert plan[1].actors == ("yanming", "hesiyuan", "fanghuimin")
    assert plan[2].approvers == plan[3].approvers == ("yuanzhenhua", "songjia")


def test_overseas_travel_discipline_review_acts_even_after_acting_in_the_previous_step():
    route = parse_route(
        [
            step("纪委预审", {"kind": "person", "uid": "yanming"}),
            {"name": "并联", "parallel": [
                {"name": "纪委审查", "approvers": {"kind": "role", "role": "discipline_review", "agency": "区纪委"},
                 "dedupe": False},
                {"name": "再次", "approvers": {"kind": "person", "uid": "yanming"}},
            ]},
        ]
    )
    plan = resolve_route(route, ORG, "xujing", {})
    gate, again = plan[1].branches
    assert gate.approvers == ("yanming", "hesiyuan")
    assert again.approvers == () and skipped(again) == [("yanming", "duplicate")]


def test_overseas_travel_of_other_staff():
    plan = resolve("overseas_travel", "xujing")
    assert plan.variant == "其他人员"
    assert [s.approvers for s in plan] == [("zhangwei",), ("lixiaohong",), ("wangguodong",), ("linxiaoyan",)]
    assert plan[3].kind == "handle"


def test_overseas_travel_of_a_department_head_who_is_not_a_cadre():
    plan = resolve("overseas_travel", "zhangwei")
    assert plan[0].approvers == ("lixiaohong",)
    assert plan[1].approvers == () and skipped(plan[1]) == [("lixiaohong", "duplicate")]
    assert plan[2].approvers == ("wangguodong",)


def test_overseas_travel_of_a_cadre_management_officer_who_is_a_cadre():
    org = district(people={"yuanzhenhua": {"is_cadre": True}})
    plan = resolve("overseas_travel", "yuanzhenhua", org)
    assert plan[0].approvers == ("xuwenbin",)
    assert plan[2].approvers == ("songjia",)
    assert plan[2].skipped == (("yuanzhenhua", "self_approval", REASONS["self_approval_role"]),)
    assert plan[3].approvers == ("songjia",)


def test_overseas_travel_of_a_discipline_cadre():
    plan = resolve("overseas_travel", "zhaoli")
    assert plan[0].approvers == ("hanzhengqing",)
    discipline, district_leader = plan[1].branches
    assert discipline.approvers == ("yanming", "hesiyuan") and district_leader.approvers == ("shenliheng",)


def test_applicant_facts_cannot_be_claimed_by_the_form():
    plan = resolve("overseas_travel", "xujing", **{"applicant.is_cadre": True})
    assert plan.variant == "其他人员"


# --- rules --------------------------------------------------------------------------------------


def test_self_approval_replaced_by_the_nearest_active_manager():
    org = district(people={"lixiaohong": {"active": False}})
    plan = resolve(route(step("a", HEAD)), "zhangwei", org)
    assert plan[0].approvers == ("wangguodong",)
    assert skipped(plan[0]) == [("zhangwei", "self_approval"), ("lixiaohong", "inactive")]


def test_self_approval_without_any_manager_is_an_error():
    plan = resolve(route(step("a", {"kind": "principal_leader"})), "shenliheng")
    assert plan[0].approvers == () and plan[0].error_code == "no_manager"
    assert plan[0].error_assignees == ("admin",)


def test_a_named_person_or_choice_falling_on_the_applicant_goes_to_the_manager():
    plan = resolve(route(step("a", {"kind": "person", "uid": "xujing"})), "xujing")
    assert plan[0].approvers == ("zhangwei",)
    choice = {"kind": "applicant_choice", "field": "approver", "allowed": ["xujing", "huting"]}
    assert resolve(route(step("a", choice)), "xujing", approver="xujing")[0].approvers == ("zhangwei",)


def test_role_holder_applying_leaves_the_other_holders():
    plan = resolve(route(step("a", {"kind": "role", "role": "discipline_review"})), "hesiyuan")
    assert plan[0].approvers == ("yanming",)
    assert skipped(plan[0]) == [("hesiyuan", "self_approval")]


def test_dedupe_skips_the_later_occurrence_and_records_why():
    plan = resolve(route(step("a", HEAD), step("b", {"kind": "person", "uid": "zhangwei"})), "xujing")
    assert plan[1].approvers == () and plan[1].skipped == (("zhangwei", "duplicate", REASONS["duplicate"]),)
    assert plan[1].satisfied_by_previous


def test_dedupe_false_lets_the_same_person_act_again():
    plan = resolve(route(step("a", HEAD), step("b", HEAD, dedupe=False)), "xujing")
    assert plan[1].approvers == ("zhangwei",) and plan[1].skipped == ()


def test_dedupe_keeps_the_other_approvers_of_the_step():
    plan = resolve(route(step("a", HEAD), step("b", [HEAD, {"kind": "person", "uid": "huting"}], mode="all")),
                   "xujing")
    assert plan[1].approvers == ("huting",) and skipped(plan[1]) == [("zhangwei", "duplicate")]


def test_a_person_appearing_in_three_steps_in_a_row_acts_once():
    plan = resolve(route(step("a", HEAD), step("b", HEAD), step("c", HEAD)), "xujing")
    assert [s.approvers for s in plan] == [("zhangwei",), (), ()]


def test_steps_that_do_not_apply_are_transparent_for_dedupe():
    never = {"field": "x", "op": "==", "value": 1}
    plan = resolve(route(step("a", HEAD), step("b", HR, when=never), step("c", HEAD)), "xujing")
    assert not plan[1].applies and plan[2].approvers == ()


def test_only_the_previous_step_counts_for_dedupe():
    plan = resolve(route(step("a", HEAD), step("b", HR), step("c", HEAD)), "xujing")
    assert plan[2].approvers == ("zhangwei",)


def test_dedupe_is_against_every_branch_of_a_previous_parallel_step():
    parallel = {"name": "p", "parallel": [
        {"name": "x", "approvers": {"kind": "person", "uid": "yanming"}},
        {"name": "y", "approvers": HEAD},
    ]}
    plan = resolve(route(parallel, step("c", [HEAD, {"kind": "person", "uid": "yanming"}, HR])), "xujing")
    assert plan[1].approvers == ("linxiaoyan",)
    assert skipped(plan[1]) == [("zhangwei", "duplicate"), ("yanming", "duplicate")]


def test_dedupe_does_not_reach_across_a_step_in_error():
    org = district(people={"linxiaoyan": {"active": False}})
    plan = resolve(route(step("a", HEAD), step("b", HR), step("c", HEAD)), "xujing", org)
    assert plan[1].error_code == "no_role_holder" and plan[2].approvers == ("zhangwei",)


def test_one_person_named_twice_in_a_step_acts_once():
    plan = resolve(route(step("a", [HEAD, {"kind": "person", "uid": "zhangwei"}])), "xujing")
    assert plan[0].approvers == ("zhangwei",) and plan[0].skipped == ()


def test_empty_role_is_an_error_routed_to_the_agency_hr():
    plan = resolve(route(step("a", {"kind": "role", "role": "seal_keeper"})), "xujing")
    assert plan[0].applies and plan[0].approvers == ()
    assert plan[0].error_code == "no_role_holder" and plan[0].error == "区教育局未配置「印章管理」角色人员"
    assert plan[0].error_assignees == ("linxiaoyan",)


def test_empty_set_in_an_agency_without_hr_goes_to_the_system_administrators():
    plan = resolve(route(step("a", HR)), "yujiaqi")
    assert plan[0].error_code == "no_role_holder" and plan[0].error_assignees == ("admin",)


def test_error_is_not_assigned_to_the_applicant_as_the_only_hr():
    plan = resolve(route(step("a", {"kind": "role", "role": "seal_keeper"})), "linxiaoyan")
    assert plan[0].error_assignees == ("admin",)


def test_an_administrator_applicant_never_repairs_their_own_case():
    mine = resolve(route(step("a", {"kind": "leader_chain", "levels": 1})), "shenliheng",
                   district(system_admins=("shenliheng", "admin")))
    assert mine[0].error_code == "no_manager" and mine[0].error_assignees == ("admin",)
    assert not mine[0].waiting_for_admin


def test_the_only_administrator_applying_leaves_the_step_waiting_for_another_administrator():
    plan = resolve(route(step("a", {"kind": "leader_chain", "levels": 1})), "shenliheng",
                   district(system_admins=("shenliheng",)))
    assert plan[0].error_code == "no_manager" and plan[0].error_assignees == ()
    assert plan[0].waiting_for_admin and plan.as_preview()["steps"][0]["waiting_for_admin"] is True


def test_unknown_named_agency_is_an_error():
    plan = resolve(route(step("a", {"kind": "role", "role": "hr", "agency": "区气象局"})), "xujing")
    assert plan[0].error_code == "unknown_agency" and "区气象局" in plan[0].error


def test_agency_can_be_named_by_code():
    plan = resolve(route(step("a", {"kind": "role", "role": "hr", "agency": "嘉禾组"})), "xujing")
    assert plan[0].approvers == ("duhaiyan",)


def test_leader_chain_walks_past_inactive_managers():
    org = district(people={"zhangwei": {"active": False}})
    plan = resolve(route(step("a", {"kind": "leader_chain", "levels": 2})), "xujing", org)
    assert plan[0].approvers == ("lixiaohong", "wangguodong")
    assert skipped(plan[0]) == [("zhangwei", "inactive")]


def test_leader_chain_never_passes_an_inactive_principal_leader():
    org = district(people={"wangguodong": {"active": False}})
    plan = resolve(route(step("a", {"kind": "leader_chain", "up_to": "principal_leader"})), "xujing", org)
    assert plan[0].approvers == ("zhangwei", "lixiaohong")
    assert skipped(plan[0]) == [("wangguodong", "inactive")]


def test_leader_chain_with_every_manager_inactive_is_an_error():
    org = district(people={uid: {"active": False} for uid in ("zhangwei", "lixiaohong", "wangguodong")})
    plan = resolve(route(step("a", {"kind": "leader_chain", "levels": 1})), "xujing", org)
    assert plan[0].error_code == "no_leader" and plan[0].error_assignees == ("linxiaoyan",)


def test_leader_chain_levels_never_go_above_the_principal_leader():
    plan = resolve(route(step("a", {"kind": "leader_chain", "levels": 9})), "xujing")
    assert plan[0].approvers == ("zhangwei", "lixiaohong", "wangguodong")


def test_leader_chain_does_not_leave_the_agency():
    org = district(people={"zhangwei": {"manager_uid": "fanghuimin"}})
    plan = resolve(route(step("a", {"kind": "leader_chain", "levels": 3})), "xujing", org)
    assert plan[0].approvers == ("zhangwei",)


def test_leader_chain_up_to_a_rank():
    chain = {"kind": "leader_chain", "up_to": "正科"}
    assert resolve(route(step("a", chain)), "guolei")[0].approvers == ("huting", "zhangwei")
    assert resolve(route(step("a", chain)), "xujing")[0].approvers == ("zhangwei",)


def test_principal_leader_of_the_district_leadership_has_no_manager():
    plan = resolve(route(step("a", {"kind": "leader_chain", "levels": 1})), "shenliheng")
    assert plan[0].error_code == "no_manager" and plan[0].error_assignees == ("admin",)


def test_manager_loops_end_the_chain():
    org = district(people={"wangguodong": {"manager_uid": "xujing"}, "lixiaohong": {"manager_uid": "zhangwei"}})
    plan = resolve(route(step("a", {"kind": "leader_chain", "levels": 9})), "xujing", org)
    assert plan[0].approvers == ("zhangwei", "lixiaohong")


def test_department_head_walks_up_when_the_sub_department_has_none_active():
    org = district(people={"huting": {"active": False}})
    plan = resolve(route(step("a", HEAD)), "guolei", org)
    assert plan[0].approvers == ("zhangwei",) and skipped(plan[0]) == [("huting", "inactive")]


def test_department_without_a_head_anywhere_is_an_error():
    org = district(departments={"jyj-jc": {"head_uids": ()}})
    plan = resolve(route(step("a", HEAD)), "xujing", org)
    assert plan[0].error_code == "no_department_head"


def test_leader_in_charge_for_the_leadership_team_is_the_principal_leader():
    plan = resolve(route(step("a", {"kind": "leader_in_charge"})), "chenhao")
    assert plan[0].approvers == ("wangguodong",)


def test_leader_in_charge_of_the_agency_is_the_district_leader():
    plan = resolve(route(step("a", {"kind": "leader_in_charge", "of": "agency"})), "xujing")
    assert plan[0].approvers == ("fanghuimin",)


def test_person_without_department_has_no_department_head():
    extra = PersonView("floating", "流动", None, None, False, "jyj", None, "wangguodong")
    plan = resolve(route(step("a", HEAD)), "floating", district(extra_people=(extra,)))
    assert plan[0].error_code == "no_department"


def test_inactive_named_person_is_an_error():
    org = district(people={"yanming": {"active": False}})
    plan = resolve(route(step("a", {"kind": "person", "uid": "yanming"})), "xujing", org)
    assert plan[0].error_code == "no_approver" and skipped(plan[0]) == [("yanming", "inactive")]


def test_unknown_named_person_is_an_error():
    plan = resolve(route(step("a", {"kind": "person", "uid": "nobody"})), "xujing")
    assert plan[0].error_code == "unknown_person"


def test_applicant_choice_within_the_allowed_set():
    choice = {"kind": "applicant_choice", "field": "approver", "allowed": {"kind": "role", "role": "cadre_management",
                                                                            "agency": "区委组织部"}}
    assert resolve(route(step("a", choice)), "xujing", approver="songjia")[0].approvers == ("songjia",)
    assert resolve(route(step("a", choice)), "xujing", approver=["songjia", "yuanzhenhua"])[0].approvers == (
        "songjia", "yuanzhenhua")
    assert resolve(route(step("a", choice)), "xujing", approver="zhangwei")[0].error_code == "choice_not_allowed"
    assert resolve(route(step("a", choice)), "xujing")[0].error_code == "choice_missing"


def test_parallel_branches_with_when_and_errors_are_independent():
    parallel = {"name": "p", "parallel": [
        {"name": "x", "approvers": HEAD, "when": {"field": "urgent", "op": "==", "value": True}},
        {"name": "y", "approvers": {"kind": "role", "role": "seal_keeper"}},
        {"name": "z", "approvers": HR, "mode": "all"},
    ]}
    plan = resolve(route(parallel), "xujing", urgent=False)
    x, y, z = plan[0].branches
    assert not x.applies and x.not_applied.code == "condition_false"
    assert y.error_code == "no_role_holder" and y.error_assignees == ("linxiaoyan",)
    assert z.approvers == ("linxiaoyan",) and z.mode == "all"
    assert plan[0].has_error and plan[0].error is None


def test_parallel_step_whose_branches_all_do_not_apply_does_not_apply():
    no = {"field": "urgent", "op": "==", "value": True}
    parallel = {"name": "p", "parallel": [{"name": "x", "approvers": HEAD, "when": no}]}
    plan = resolve(route(parallel, step("b", HEAD)), "xujing")
    assert not plan[0].applies and plan[0].not_applied.code == "no_branch_applies"
    assert plan[1].approvers == ("zhangwei",)


def test_a_when_that_cannot_be_evaluated_is_an_error():
    plan = resolve(route(step("a", HEAD, when={"field": "days", "op": ">", "value": 3})), "xujing", days="4")
    assert plan[0].applies and plan[0].error_code == "condition_error"
    assert "route[0].when" in plan[0].error


def test_a_missing_fact_in_an_ordering_is_an_error():
    plan = resolve("leave", "xujing")
    assert plan[0].error_code == "condition_error" and plan[0].error_assignees == ("linxiaoyan",)


def test_unknown_applicant_raises():
    with pytest.raises(UnknownPersonError):
        resolve("leave", "nobody", leave_working_days=1)


def test_resolution_is_deterministic_and_independent_of_mapping_order():
    reordered = type(ORG)(
        people=dict(reversed(list(ORG.people.items()))),
        departments=dict(reversed(list(ORG.departments.items()))),
        agencies=dict(reversed(list(ORG.agencies.items()))),
        system_admin_uids=ORG.system_admin_uids,
    )
    for code, facts in [("leave", {"leave_working_days": 5}), ("overseas_travel", {}),
                        ("business_trip", {"outside_province": True, "trip_working_days": 1})]:
        for uid in ORG.people:
            assert resolve(code, uid, **facts) == resolve(code, uid, **facts) == resolve(code, uid, reordered, **facts)


def test_preview_shape():
    preview = resolve("overseas_travel", "wangguodong").as_preview()
    assert preview["variant"] == "区管干部"
    step2 = preview["steps"][1]
    assert step2["branches"][1]["skipped"] == [
        {"uid": "fanghuimin", "reason": "duplicate", "text": "与上一步审批人相同，不再重复审批"}
    ]
    assert preview["steps"][0]["time_limit"] == "2"


# --- the route language ----------------------------------------------------------------------


def problems(data, **kwargs):
    return [(p.path, p.message) for p in validate_route(data, **kwargs)]


def paths(data, **kwargs):
    return [p for p, _ in problems(data, **kwargs)]


def test_parsed_route_is_frozen_data():
    parsed = ROUTES["leave"]
    first = parsed.steps[0]
    assert isinstance(first.approvers[0], LeaderChain) and first.mode == "serial"
    assert first.approvers[0].choose[2].up_to == "principal_leader"
    assert isinstance(parsed.steps[2].approvers[0], RoleHolders)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.name = "x"


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        ({"name": "a"}, "route", "non-empty list"),
        ([], "route", "non-empty list"),
        (["x"], "route[0]", "mapping"),
        ([{"approvers": HEAD}], "route[0]", "'name' is required"),
        ([step("a", HEAD, kind="sign")], "route[0].kind", "unknown step kind"),
        ([step("a", {"kind": "boss"})], "route[0].approvers.kind", "unknown approver kind"),
        ([step("a", HEAD, mode="first")], "route[0].mode", "unknown mode"),
        ([step("a", {"kind": "leader_chain", "levels": 2}, mode="any")], "route[0].mode", "serial"),
        ([step("a", [{"kind": "leader_chain", "levels": 1}, HEAD])], "route[0].approvers", "only approver"),
        ([step("a", {"kind": "leader_chain", "levels": 0})], "route[0].approvers.levels", "positive"),
        ([step("a", {"kind": "leader_chain"})], "route[0].approvers", "exactly one"),
        ([step("a", {"kind": "leader_chain", "up_to": "大领导"})], "route[0].approvers.up_to", "known rank"),
        ([step("a", {"kind": "leader_chain", "choose": [{"levels": 1}, {"levels": 2}]})],
         "route[0].approvers.choose[0]", "only the last row"),
        ([step("a", {"kind": "leader_chain", "choose": [{"when": {"field": "d", "op": "<", "value": 1},
                                                            "levels": 1, "up_to": "principal_leader"}]})],
         "route[0].approvers.choose[0]", "exactly one of levels, up_to"),
        ([step("a", HEAD, kind="auto")], "route[0]", "needs a 'rule'"),
        ([step("a", HEAD, rule={"field": "h", "op": "<", "value": 4})], "route[0].rule", "only an auto step"),
        ([{"name": "a", "kind": "auto", "rule": {"field": "h", "op": "<", "value": 4}}], "route[0]",
         "'approvers' is required"),
        ([step("a", HEAD), step("a", HR)], "route[1].name", "already used"),
        ([{"name": "a", "approver": HEAD}], "route[0]", "unknown keys ['approver']"),
        ([step("a", HEAD, time_limit=0)], "route[0].time_limit", "positive"),
        ([step("a", HEAD, time_limit=0.3)], "route[0].time_limit", "half days"),
        ([step("a", HEAD, time_limit="2")], "route[0].time_limit", "number"),
        ([step("a", HEAD, on_timeout="panic")], "route[0].on_timeout", "unknown action"),
        ([step("a", HEAD, dedupe="no")], "route[0].dedupe", "true or false"),
        ([step("a", {"kind": "role", "role": "hrr"})], "route[0].approvers.role", "unknown role"),
        ([step("a", {"kind": "role"})], "route[0].approvers", "'role' is required"),
        ([step("a", {"kind": "person"})], "route[0].approvers", "'uid' is required"),
        ([step("a", {"kind": "leader_in_charge", "of": "city"})], "route[0].approvers.of", "department or agency"),
        ([step("a", {"kind": "applicant_choice", "field": "x"})], "route[0].approvers", "needs 'allowed'"),
        ([step("a", {"kind": "applicant_choice", "field": "x", "allowed": []})], "route[0].approvers.allowed",
         "non-empty list"),
        ([step("a", [])], "route[0].approvers", "non-empty list"),
        ([{"name": "p", "parallel": []}], "route[0].parallel", "non-empty list of branches"),
        ([{"name": "p", "parallel": [{"name": "x", "approvers": HEAD}], "mode": "any"}], "route[0].mode",
         "per branch"),
        ([{"name": "p", "parallel": [{"name": "x", "approvers": HEAD}, {"name": "x", "approvers": HR}]}],
         "route[0].parallel[1].name", "used twice"),
        ([{"name": "p", "parallel": [{"name": "x", "approvers": HEAD, "kind": "read"}]}], "route[0].parallel[0]",
         "unknown keys ['kind']"),
        ([{"name": "p", "kind": "auto", "parallel": [{"name": "x", "approvers": HEAD}]}], "route[0].kind",
         "parallel step"),
        ([{"name": "p", "parallel": [{"name": "x", "approvers": {"kind": "nobody"}}]}],
         "route[0].parallel[0].approvers.kind", "unknown approver kind"),
        ({"variants": [{"name": "a", "steps": [step("a", HEAD)]}, {"name": "b", "steps": [step("b", HEAD)]}]},
         "route.variants[0]", "only the last variant"),
        ({"variants": [{"name": "a", "when": {"field": "x", "op": "==", "value": 1}, "steps": [step("a", HEAD)]}]},
         "route.variants[0].when", "takes no 'when'"),
        ({"variants": []}, "route.variants", "non-empty list"),
        ([step("a", HEAD, when={"field": "x", "op": "~", "value": 1})], "route[0].when.op", "unknown operator"),
        ([step("a", {"kind": "leader_chain", "choose": [{"when": {"all": []}, "levels": 1}]})],
         "route[0].approvers.choose[0].when.all", "at least one"),
    ],
)
def test_malformed_routes_are_reported_with_their_path(data, path, fragment):
    found = problems(data)
    assert any(p == path and fragment in m for p, m in found), found
    with pytest.raises(RouteDefinitionError) as excinfo:
        parse_route(data)
    assert excinfo.value.problems and path in str(excinfo.value)


def test_every_problem_is_reported_at_once():
    data = [step("a", {"kind": "boss"}), step("b", HEAD, mode="first", when={"any": "x"}), {"name": "c"}]
    assert paths(data) == ["route[0].approvers.kind", "route[1].mode", "route[1].when.any", "route[2]"]


def test_role_codes_may_be_extended():
    data = [step("a", {"kind": "role", "role": "archivist"})]
    assert paths(data) == ["route[0].approvers.role"]
    assert problems(data, role_codes=None) == []
    assert problems(data, role_codes={"archivist"}) == []


def test_paths_can_be_prefixed_with_the_catalog_location():
    assert paths([step("a", {"kind": "boss"})], path="leave.yaml:route") == ["leave.yaml:route[0].approvers.kind"]


def test_time_limits_are_decimals():
    parsed = parse_route([step("a", HEAD, time_limit=1.5), step("b", HEAD, time_limit=2)])
    assert [s.time_limit for s in parsed.steps] == [Decimal("1.5"), Decimal(2)]


def test_rank_levels():
    assert rank_level("四级主任科员") == rank_level("副科") < rank_level("正科") == rank_level("二级主任科员")
    assert rank_level("一级科员") < rank_level("副科") and rank_level("大领导") is None and rank_level(None) is None


# --- conditions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "facts", "expected"),
    [
        ({"field": "d", "op": "==", "value": 3}, {"d": 3}, True),
        ({"field": "d", "op": "==", "value": 3}, {"d": Decimal("3.0")}, True),
        ({"field": "d", "op": "!=", "value": 3}, {"d": 4}, True),
        ({"field": "d", "op": "<", "value": 3}, {"d": Decimal("2.5")}, True),
        ({"field": "d", "op": "<=", "value": 3}, {"d": 3}, True),
        ({"field": "d", "op": ">", "value": 3}, {"d": 3}, False),
        ({"field": "d", "op": ">=", "value": 3.5}, {"d": 4}, True),
        ({"field": "dest", "op": "in", "value": ["香港", "澳门"]}, {"dest": "澳门"}, True),
        ({"field": "dest", "op": "not_in", "value": ["香港", "澳门"]}, {"dest": "台湾"}, True),
        ({"field": "flag", "op": "in", "value": [1, 2]}, {"flag": 1}, True),
        ({"field": "flag", "op": "==", "value": True}, {}, False),
        ({"field": "flag", "op": "!=", "value": True}, {}, True),
        ({"field": "flag", "op": "==", "value": None}, {}, True),
        ({"field": "dest", "op": "in", "value": ["香港"]}, {}, False),
        ({"field": "dest", "op": "not_in", "value": ["香港"]}, {}, True),
        ({"all": [{"field": "a", "op": "==", "value": 1}, {"field": "b", "op": "==", "value": 2}]}, {"a": 1, "b": 2},
         True),
        ({"all": [{"field": "a", "op": "==", "value": 1}, {"field": "b", "op": "==", "value": 2}]}, {"a": 1, "b": 3},
         False),
        ({"any": [{"field": "a", "op": "==", "value": 1}, {"field": "b", "op": "==", "value": 2}]}, {"a": 0, "b": 2},
         True),
        ({"not": {"field": "a", "op": "==", "value": 1}}, {"a": 1}, False),
        ({"field": "申请事由", "op": "==", "value": "探亲"}, {"申请事由": "探亲"}, True),
    ],
)
def test_conditions_evaluate(condition, facts, expected):
    assert evaluate_condition(condition, facts) is expected
    assert parse_condition(condition).evaluate(facts) is expected


def test_in_does_not_confuse_booleans_with_numbers():
    assert evaluate_condition({"field": "n", "op": "in", "value": [1, 2]}, {"n": 1})
    with pytest.raises(ConditionEvaluationError):
        evaluate_condition({"field": "n", "op": "in", "value": [1, 2]}, {"n": True})


@pytest.mark.parametrize(
    ("condition", "facts"),
    [
        ({"field": "d", "op": "<", "value": 5}, {"d": "3"}),
        ({"field": "d", "op": "<", "value": "5"}, {"d": 3}),
        ({"field": "flag", "op": "==", "value": True}, {"flag": "true"}),
        ({"field": "d", "op": "==", "value": 1}, {"d": True}),
        ({"field": "d", "op": ">", "value": 3}, {}),
        ({"field": "d", "op": "in", "value": ["a"]}, {"d": 1}),
        ({"field": "d", "op": "in", "value": ["a"]}, {"d": ["a"]}),
        ({"field": "d", "op": "==", "value": 1}, {"d": {"x": 1}}),
    ],
)
def test_type_mismatches_are_clear_errors(condition, facts):
    with pytest.raises(ConditionEvaluationError) as excinfo:
        evaluate_condition(condition, facts)
    assert excinfo.value.path == "when"
    assert "'d'" in str(excinfo.value) or "'flag'" in str(excinfo.value)


@pytest.mark.parametrize(
    ("condition", "path", "fragment"),
    [
        ("x > 3", "when", "mapping"),
        ({}, "when", "empty condition"),
        ({"field": "d", "op": ">"}, "when", "needs 'value'"),
        ({"field": "d", "value": 1}, "when", "needs 'op'"),
        ({"field": "d", "op": "=~", "value": 1}, "when.op", "unknown operator"),
        ({"field": "", "op": "==", "value": 1}, "when.field", "not a field name"),
        ({"field": "__import__('os').system('x')", "op": "==", "value": 1}, "when.field", "not a field name"),
        ({"field": "applicant.salary", "op": ">", "value": 1}, "when.field", "unknown applicant fact"),
        ({"field": "d", "op": "in", "value": "abc"}, "when.value", "list of values"),
        ({"field": "d", "op": "in", "value": [1, "a"]}, "when.value", "mixes types"),
        ({"field": "d", "op": "in", "value": [[1]]}, "when.value", "only text"),
        ({"field": "d", "op": "<", "value": True}, "when.value", "number, text or date"),
        ({"field": "d", "op": "<", "value": None}, "when.value", "number, text or date"),
        ({"field": "d", "op": "==", "value": [1]}, "when.value", "single value"),
        ({"field": "d", "op": "==", "value": 1, "extra": 2}, "when", "unknown condition keys"),
        ({"all": []}, "when.all", "at least one"),
        ({"any": {"field": "d"}}, "when.any", "list of conditions"),
        ({"all": [{"field": "d", "op": "==", "value": 1}], "any": []}, "when", "exactly one"),
        ({"all": [{"field": "d", "op": "==", "value": 1}], "x": 1}, "when", "unknown condition keys"),
        ({"not": [{"field": "d", "op": "==", "value": 1}]}, "when.not", "mapping"),
        ({"any": [{"field": "d", "op": "==", "value": 1}, {"not": {"field": "d", "op": "≈", "value": 1}}]},
         "when.any[1].not.op", "unknown operator"),
    ],
)
def test_malformed_conditions_are_reported_with_their_path(condition, path, fragment):
    found = [(p.path, p.message) for p in validate_condition(condition)]
    assert any(p == path and fragment in m for p, m in found), found
    with pytest.raises(ConditionSyntaxError):
        parse_condition(condition)


def test_applicant_facts_are_known_to_the_validator():
    for name in ("applicant.is_cadre", "applicant.is_department_head", "applicant.is_principal_leader"):
        assert validate_condition({"field": name, "op": "==", "value": True}) == []
    assert validate_condition({"field": "applicant.rank", "op": "==", "value": "正科"}) == []
    assert validate_condition({"field": "applicant.rank_level", "op": ">=", "value": 30}) == []


def test_applicant_rank_and_department_head_facts_in_routes():
    when = {"all": [{"field": "applicant.is_department_head", "op": "==", "value": True},
                    {"field": "applicant.rank_level", "op": ">=", "value": 30}]}
    data = route(step("a", HEAD, when=when))
    assert resolve(data, "zhangwei")[0].applies
    assert not resolve(data, "huting")[0].applies
    assert not resolve(data, "xujing")[0].applies


def test_the_pure_core_imports_no_framework():
    root = Path(__file__).resolve().parents[2] / "internal_affairs"
    files = [*sorted((root / "routing").glob("*.py")), root / "calendar" / "working_days.py"]
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in {"flask", "flask_babel", "sqlalchemy", "werkzeug"}, (file, module)


def test_named_units_are_the_heads_of_the_named_departments_and_agencies():
    units = {"kind": "named_units", "field": "countersign"}
    plan = resolve(route(step("会签", units, mode="all")), "xujing",
                   countersign=["department:jyj-rs", "agency:zzb", "department:jyj-xq"])
    assert plan[0].approvers == ("sunli", "xuwenbin", "huting") and plan[0].mode == "all"
    assert resolve(route(step("会签", units)), "xujing", countersign=[])[0].error_code == "units_missing"
    assert resolve(route(step("会签", units)), "xujing", countersign=["agency:nowhere"])[0].error_code == "unknown_unit"
    assert resolve(route(step("会签", units)), "xujing", countersign=["team:jyj-rs"])[0].error_code == "unknown_unit"


def test_named_units_naming_the_drafters_own_department_skips_the_drafter():
    plan = resolve(route(step("会签", {"kind": "named_units", "field": "countersign"}, mode="all")), "sunli",
                   countersign=["department:jyj-rs", "department:jyj-jc"])
    assert plan[0].approvers == ("zhangwei",)
    assert skipped(plan[0]) == [("sunli", "self_approval")]


def test_named_units_needs_its_field():
    problems = validate_route([step("a", {"kind": "named_units"})])
    assert [p.path for p in problems] == ["route[0].approvers"]


def test_named_units_may_name_people():
    plan = resolve(route(step("传阅", {"kind": "named_units", "field": "readers"}, mode="all")), "xujing",
                   readers=["person:songjia", "department:jyj-rs"])
    assert plan[0].approvers == ("songjia", "sunli")

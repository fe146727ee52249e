"""The sync plan and the snapshot mapping, over hand-built entries (no database, no server)."""

from __future__ import annotations

import uuid

import pytest

from org_sync.model import DirEntry
from org_sync.plan import CurrentState, Guards, compute_plan
from org_sync.snapshot import ACTIVE_DIRECTORY, build_snapshot, merge_incremental, normalize_dn

BASE = "dc=jiahe,dc=gov,dc=cn"


def ou(dn: str, ident: str) -> DirEntry:
    return DirEntry(dn, ident, frozenset({"organizationalunit"}), {"ou": [dn.split(",")[0][3:]]})


def person(dn: str, ident: str, uid: str, name: str, **attrs: str) -> DirEntry:
    values = {"uid": [uid], "cn": [name]} | {k.lower(): [v] for k, v in attrs.items()}
    return DirEntry(dn, ident, frozenset({"inetorgperson"}), values)


def group(dn: str, ident: str, *members: str) -> DirEntry:
    return DirEntry(dn, ident, frozenset({"groupofnames"}), {"cn": [dn.split(",")[0][3:]], "member": list(members)})


def small_directory(extra=()) -> list[DirEntry]:
    agency = f"ou=区教育局,{BASE}"
    dept = f"ou=基础教育科,{agency}"
    return [
        ou(agency, "a1"), ou(dept, "d1"), ou(f"ou=roles,{agency}", "r1"),
        person(f"uid=boss,{agency}", "p1", "boss", "王局长", title="局长"),
        person(f"uid=head,{dept}", "p2", "head", "张科长", title="科长", manager=f"uid=boss,{agency}"),
        person(f"uid=clerk,{dept}", "p3", "clerk", "徐科员", title="科员", manager=f"uid=head,{dept}"),
        group(f"cn=主要领导,{agency}", "g1", f"uid=boss,{agency}"),
        group(f"cn=负责人,{dept}", "g2", f"uid=head,{dept}"),
        group(f"cn=hr,ou=roles,{agency}", "g3", f"uid=clerk,{dept}"),
        *extra,
    ]


def state_of(entries, inactive=frozenset(), last=None) -> CurrentState:
    return CurrentState(build_snapshot(entries, BASE), inactive, last)


def test_snapshot_maps_units_people_groups_and_managers():
    snap = build_snapshot(small_directory(), BASE)
    assert snap.units["a1"].is_agency and not snap.units["d1"].is_agency
    assert "r1" not in snap.units, "ou=roles is a container of role groups, not a department"
    assert snap.people["p3"].manager_id == "p2" and snap.people["p3"].unit_id == "d1"
    assert snap.people["p1"].unit_id == "a1"
    kinds = {g.external_id: (g.kind, g.role_code, g.member_ids) for g in snap.groups.values()}
    assert kinds == {"g1": ("principal_leader", None, ("p1",)), "g2": ("department_head", None, ("p2",)),
                     "g3": ("role", "hr", ("p3",))}
    assert snap.problems == ()


def test_escaped_and_differently_cased_dns_resolve():
    entries = small_directory()
    escaped = person(f"uid=x,ou=基础教育科,ou=区教育局,{BASE}", "p9", "x", "某", manager="UID=Head,OU=基础教育科,ou=\\E5\\8C\\BA教育局,DC=jiahe,dc=gov,dc=cn")
    snap = build_snapshot([*entries, escaped], BASE)
    assert snap.people["p9"].manager_id == "p2"
    assert normalize_dn("ou=a\\2Cb,dc=x") == normalize_dn("OU=A\\,B,DC=X")


def test_entries_outside_the_base_are_ignored_and_problems_listed():
    entries = small_directory([person("uid=alien,dc=other,dc=cn", "p8", "alien", "外人"),
                               person(f"uid=lost,{BASE}", "p7", "lost", "无单位"),
                               group(f"cn=unknownrole,ou=roles,ou=区教育局,{BASE}", "g9", f"uid=boss,ou=区教育局,{BASE}")])
    snap = build_snapshot(entries, BASE)
    assert "p8" not in snap.people and "p7" not in snap.people
    assert any("lost" in p for p in snap.problems) and any("unknownrole" in p for p in snap.problems)


def test_initial_plan_creates_everything():
    plan = compute_plan(CurrentState(build_snapshot([], BASE)), build_snapshot(small_directory(), BASE))
    assert plan.counts() == {"agency.create": 1, "department.create": 1, "group.create": 3, "person.create": 3}
    assert not plan.refusals and not plan.blocked


def test_unchanged_directory_plans_nothing():
    entries = small_directory()
    assert compute_plan(state_of(entries), build_snapshot(entries, BASE)).is_empty


def test_rename_move_manager_and_title_changes_keep_identity():
    before = small_directory()
    agency = f"ou=区教育局,{BASE}"
    after = [e for e in before if e.entry_id != "p3"] + [
        person(f"uid=clerk2,{agency}", "p3", "clerk2", "徐新名", title="副科长", manager=f"uid=boss,{agency}")]
    plan = compute_plan(state_of(before), build_snapshot(after, BASE))
    by_action = {(c.action, c.external_id): c for c in plan.changes}
    assert set(by_action) >= {("rename", "p3"), ("move", "p3"), ("update", "p3")}
    assert ("create", "p3") not in by_action and ("deactivate", "p3") not in by_action
    fields = {f[0]: (f[1], f[2]) for f in by_action[("update", "p3")].fields}
    assert fields["title"] == ("科员", "副科长")
    assert fields["manager"] == ("张科长（head）", "王局长（boss）")


def test_removal_deactivates_and_flags_vanishing_role_holders():
    before = small_directory()
    after = [e for e in before if e.entry_id != "p3"]
    plan = compute_plan(state_of(before), build_snapshot(after, BASE), Guards(max_deactivate_ratio=0.5))
    assert ("deactivate", "person", "p3") in {(c.action, c.kind, c.external_id) for c in plan.changes}
    assert any(w.code == "leader_vanishes" and w.external_id == "p3" for w in plan.warnings)
    members = next(c for c in plan.changes if c.external_id == "g3")
    assert members.fields[0][0] == "members_removed"


def test_return_reactivates():
    entries = small_directory()
    plan = compute_plan(state_of(entries, inactive=frozenset({"p3"})), build_snapshot(entries, BASE))
    assert [(c.action, c.external_id) for c in plan.changes] == [("reactivate", "p3")]


def test_guard_mass_deactivation_refuses_unless_forced():
    before = small_directory()
    after = [e for e in before if e.entry_id not in ("p2", "p3")]
    plan = compute_plan(state_of(before), build_snapshot(after, BASE))
    assert plan.blocked and {r.code for r in plan.refusals} == {"mass_deactivation"}
    forced = compute_plan(state_of(before), build_snapshot(after, BASE), Guards(forced=True))
    assert forced.refusals and not forced.blocked


def test_guard_empty_base_and_shrinking_directory():
    before = small_directory()
    empty = compute_plan(state_of(before, last=3), build_snapshot([], BASE))
    assert {"base_empty", "people_shrink", "mass_deactivation"} <= {r.code for r in empty.refusals}
    fewer = compute_plan(state_of(before, last=40), build_snapshot(before, BASE))
    assert {r.code for r in fewer.refusals} == {"people_shrink"}


def test_incremental_merge_applies_changes_and_deletions():
    entries = small_directory()
    current = build_snapshot(entries, BASE)
    known = {normalize_dn(p.dn): ("person", p.external_id) for p in current.people.values()}
    known |= {normalize_dn(u.dn): ("unit", u.external_id) for u in current.units.values()}
    changed = person(f"uid=clerk,ou=基础教育科,ou=区教育局,{BASE}", "p3", "clerk", "徐科员", title="主任科员",
                     manager=f"uid=boss,ou=区教育局,{BASE}")
    delta = build_snapshot([changed], BASE, known=known, known_units=current.units)
    merged = merge_incremental(current, delta, deleted_ids={"p2"})
    assert merged.people["p3"].title == "主任科员" and merged.people["p3"].manager_id == "p1"
    assert "p2" not in merged.people
    plan = compute_plan(CurrentState(current), merged, Guards(max_deactivate_ratio=1))
    actions = {(c.action, c.external_id) for c in plan.changes}
    assert ("deactivate", "p2") in actions and ("update", "p3") in actions
    assert ("update", "g2") in actions, "the departed head leaves the 负责人 group"


def test_id_sweep_finds_deletions():
    current = build_snapshot(small_directory(), BASE)
    empty_delta = build_snapshot([], BASE)
    present = frozenset(set(current.units) | set(current.people) | set(current.groups)) - {"p3"}
    merged = merge_incremental(current, empty_delta, (), present_ids=present)
    assert "p3" not in merged.people and "p2" in merged.people


def test_active_directory_mapping_on_fabricated_entries():
    guid = uuid.UUID("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    agency = f"OU=区财政局,{BASE}"
    entries = [
        DirEntry(agency, "a1", frozenset({"organizationalunit"}), {"ou": ["区财政局"]}),
        DirEntry(f"CN=Zheng Guohua,{agency}", str(guid), frozenset({"user", "person"}), {
            "samaccountname": ["zhengguohua"], "displayname": ["郑国华"], "title": ["局长"],
            "extensionattribute1": ["正处"], "extensionattribute2": ["区管干部"], "mail": ["z@jiahe.gov.cn"]}),
        DirEntry(f"CN=主要领导,{agency}", "g1", frozenset({"group"}), {"cn": ["主要领导"], "member": [f"CN=Zheng Guohua,{agency}"]}),
    ]
    snap = build_snapshot(entries, BASE, ACTIVE_DIRECTORY)
    p = snap.people[str(guid)]
    assert (p.uid, p.name, p.rank, p.cadre_category) == ("zhengguohua", "郑国华", "正处", "区管干部")
    assert snap.groups["g1"].member_ids == (str(guid),)


@pytest.mark.parametrize("bad", ["not a dn", "cn=a,=b"])
def test_malformed_dn_is_a_problem_not_a_crash(bad):
    snap = build_snapshot([person(bad, "px", "x", "x")], BASE)
    assert "px" not in snap.people


def test_manager_loop_among_newcomers_is_kept(app):
    """Two new people who name each other as manager: both rows get their manager."""
    from internal_affairs.clock import utcnow
    from internal_affairs.extensions import db
    from internal_affairs.org.actions import _apply
    from internal_affairs.org.models import Person
    from sqlalchemy import select

    agency = f"ou=区教育局,{BASE}"
    entries = [ou(agency, "a1"),
               person(f"uid=a,{agency}", "pa", "a", "甲", manager=f"uid=b,{agency}"),
               person(f"uid=b,{agency}", "pb", "b", "乙", manager=f"uid=a,{agency}")]
    with app.app_context():
        _apply(build_snapshot(entries, BASE), CurrentState(build_snapshot([], BASE)), now=utcnow())
        people = {p.uid: p for p in db.session.execute(select(Person)).scalars()}
        assert people["a"].manager_id == people["b"].id and people["b"].manager_id == people["a"].id


def test_each_change_names_the_agencies_it_concerns():
    other = f"ou=区财政局,{BASE}"
    before = small_directory([ou(other, "a2"), person(f"uid=cashier,{other}", "p9", "cashier", "钱会计")])
    after = [e for e in small_directory([ou(other, "a2")]) if e.entry_id != "p3"] + [
        person(f"uid=clerk,{other}", "p3", "clerk", "徐科员", title="科员"),
        person(f"uid=cashier,{other}", "p9", "cashier", "钱会计", title="会计"),
    ]
    plan = compute_plan(state_of(before), build_snapshot(after, BASE))
    agencies = {(c.kind, c.action, c.external_id): c.agencies for c in plan.changes}
    assert agencies[("person", "move", "p3")] == ("a1", "a2"), "a move between agencies concerns both"
    assert agencies[("person", "update", "p9")] == ("a2",)
    assert agencies[("group", "update", "g3")] == ("a1",), "the hr group lost its member"
    stored = plan.to_dict()
    assert agencies[("person", "update", "p3")] == ("a1", "a2"), "its manager left with the move"
    assert stored["agency_counts"]["a2"] == {"person.move": 1, "person.update": 2}
    assert stored["agency_counts"]["a1"] == {"group.update": 1, "person.move": 1, "person.update": 1}
    assert all(c["agencies"] for c in stored["changes"])

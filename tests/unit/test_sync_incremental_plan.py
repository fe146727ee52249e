"""The incremental plan: planning only the part of the platform an incremental read touches
gives the same plan as diffing the whole state against the whole merged directory."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from org_sync.model import DirEntry, DirGroup, DirPerson, DirUnit, Snapshot
from org_sync.plan import (CurrentState, Guards, compute_incremental_plan, compute_plan, dropped_units,
                           touched_part)
from org_sync.snapshot import ancestor_dns, build_snapshot, merge_incremental, normalize_dn

BASE = "dc=jiahe,dc=gov,dc=cn"
KINDS = ("principal_leader", "leader_in_charge", "department_head", "role")


@st.composite
def states(draw) -> CurrentState:
    """A platform state as syncs leave it: no active person managed by, and no group listing,
    an inactive person; inactive groups list nobody; units all active."""
    units: dict[str, DirUnit] = {}
    for a in range(draw(st.integers(1, 3))):
        aid = f"a{a}"
        units[aid] = DirUnit(aid, f"ou=A{a},{BASE}", f"机关{a}", None, aid, True, 0)
        for d in range(draw(st.integers(0, 3))):
            did = f"{aid}d{d}"
            units[did] = DirUnit(did, f"ou=D{d},ou=A{a},{BASE}", f"科{d}", aid, aid, False, 1)
            if draw(st.booleans()):
                sid = f"{did}s"
                units[sid] = DirUnit(sid, f"ou=S,ou=D{d},ou=A{a},{BASE}", "股", did, aid, False, 2)
    unit_ids = sorted(units)
    n = draw(st.integers(2, 14))
    ids = [f"p{i}" for i in range(n)]
    inactive_people = set(draw(st.lists(st.sampled_from(ids), max_size=3)))
    people: dict[str, DirPerson] = {}
    for i, ident in enumerate(ids):
        unit = draw(st.sampled_from(unit_ids))
        manager = draw(st.one_of(st.none(), st.sampled_from(ids)))
        if manager == ident or (ident not in inactive_people and manager in inactive_people):
            manager = None
        people[ident] = DirPerson(ident, f"uid=u{i},{units[unit].dn}", f"u{i}", f"人{i}", unit,
                                  draw(st.sampled_from([None, "科员", "科长"])), None, None, manager)
    groups: dict[str, DirGroup] = {}
    inactive_groups = set()
    for g in range(draw(st.integers(0, 5))):
        gid = f"g{g}"
        unit = draw(st.sampled_from(unit_ids))
        kind = draw(st.sampled_from(KINDS))
        active = draw(st.booleans()) or g == 0
        members = () if not active else tuple(sorted(set(draw(st.lists(
            st.sampled_from([p for p in ids if p not in inactive_people] or ["none"]), max_size=4))) - {"none"}))
        groups[gid] = DirGroup(gid, f"cn={gid},{units[unit].dn}", unit, kind, "hr" if kind == "role" else None, members)
        if not active:
            inactive_groups.add(gid)
    return CurrentState(Snapshot(BASE, units, people, groups), frozenset(inactive_people | inactive_groups),
                        draw(st.one_of(st.none(), st.integers(1, 20))))


@st.composite
def reads(draw, state: CurrentState) -> tuple[Snapshot, frozenset[str]]:
    """An incremental read of the directory after changes: changed and new people and groups
    (as the snapshot builder would map them), and the ids gone from it."""
    snap, inactive = state.snapshot, state.inactive
    active_units = sorted(k for k in snap.units if k not in inactive)
    known_people = sorted(k for k in snap.people if k not in inactive)
    changed = draw(st.lists(st.sampled_from(sorted(snap.people)), max_size=4, unique=True))
    new_ids = [f"n{i}" for i in range(draw(st.integers(0, 2)))]
    gone_people = draw(st.lists(st.sampled_from(sorted(snap.people)), max_size=3, unique=True))
    gone_units = draw(st.lists(st.sampled_from(sorted(snap.units)), max_size=1, unique=True))
    gone_groups = draw(st.lists(st.sampled_from(sorted(snap.groups) or ["-"]), max_size=1, unique=True))
    gone = frozenset(gone_people + gone_units + gone_groups) - set(changed) - {"-"}
    inactive_uids = [snap.people[k].uid for k in sorted(inactive & set(snap.people)) if k not in changed]
    people: dict[str, DirPerson] = {}
    candidates = known_people + changed + new_ids
    for ident in changed + new_ids:
        before = snap.people.get(ident)
        unit = draw(st.sampled_from(active_units))
        manager = draw(st.one_of(st.none(), st.sampled_from(candidates)))
        uid = before.uid if before else f"new-{ident}"
        if draw(st.booleans()):
            uid = draw(st.sampled_from([f"renamed-{ident}", *inactive_uids[:1]] if before is None else [f"renamed-{ident}"]))
        people[ident] = DirPerson(ident, f"uid={uid},{snap.units[unit].dn}", uid,
                                  draw(st.sampled_from([before.name if before else "新人", "改名"])), unit,
                                  draw(st.sampled_from([None, "科员", "副科长"])), None, None,
                                  None if manager == ident else manager)
    taken = [p.uid for k, p in snap.people.items() if k not in people]
    people = {k: p for k, p in people.items() if p.uid not in taken or p.uid in inactive_uids}
    groups: dict[str, DirGroup] = {}
    for gid in draw(st.lists(st.sampled_from(sorted(snap.groups) + ["gn"]), max_size=2, unique=True)):
        before = snap.groups.get(gid)
        unit = before.unit_id if before and before.unit_id in active_units else draw(st.sampled_from(active_units))
        members = tuple(sorted(set(draw(st.lists(st.sampled_from(known_people + list(people) or ["-"]), max_size=3)))
                               - {"-"}))
        kind = before.kind if before else "department_head"
        groups[gid] = DirGroup(gid, f"cn={gid},{snap.units[unit].dn}", unit, kind, before.role_code if before else None,
                               members)
    gone = gone - set(groups)
    return Snapshot(BASE, {}, people, groups), gone


def _active(state: CurrentState) -> Snapshot:
    snap, inactive = state.snapshot, state.inactive
    keep = lambda d: {k: v for k, v in d.items() if k not in inactive}  # noqa: E731
    return Snapshot(snap.base_dn, keep(snap.units), keep(snap.people), keep(snap.groups))


def _key(change):
    return repr(change)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_incremental_plan_equals_the_whole_plan(data):
    state = data.draw(states())
    delta, gone = data.draw(reads(state))
    guards = Guards(max_deactivate_ratio=0.3)
    whole = compute_plan(state, merge_incremental(_active(state), delta, gone), guards)
    active = sum(1 for k in state.snapshot.people if k not in state.inactive)
    units = sum(1 for k in state.snapshot.units if k not in state.inactive)
    part = touched_part(state, delta, gone)
    plan, new, old = compute_incremental_plan(part, delta, gone, active_people=active, active_units=units,
                                              guards=guards)
    assert sorted(map(_key, plan.changes)) == sorted(map(_key, whole.changes))
    assert sorted(plan.warnings, key=repr) == sorted(whole.warnings, key=repr)
    assert plan.refusals == whole.refusals
    assert (plan.people_seen, plan.active_before) == (whole.people_seen, whole.active_before)
    assert set(new.people) <= set(old.snapshot.people) | set(delta.people)


def test_an_unchanged_read_touches_nothing_and_plans_nothing():
    entries = [DirEntry(f"ou=A,{BASE}", "a", frozenset({"organizationalunit"}), {"ou": ["A"]}),
               DirEntry(f"uid=x,ou=A,{BASE}", "x", frozenset({"inetorgperson"}), {"uid": ["x"], "cn": ["某"]})]
    state = CurrentState(build_snapshot(entries, BASE))
    empty = Snapshot(BASE, {}, {}, {})
    part = touched_part(state, empty, frozenset())
    assert (part.snapshot.units, part.snapshot.people, part.snapshot.groups) == ({}, {}, {})
    plan, _, _ = compute_incremental_plan(part, empty, frozenset(), active_people=1, active_units=1)
    assert plan.is_empty and plan.people_seen == 1 and not plan.refusals


def test_guards_judge_the_whole_directory_not_the_part():
    units = {"a": DirUnit("a", f"ou=A,{BASE}", "A", None, "a", True, 0)}
    people = {f"p{i}": DirPerson(f"p{i}", f"uid=u{i},ou=A,{BASE}", f"u{i}", "人", "a") for i in range(10)}
    state = CurrentState(Snapshot(BASE, units, people, {}), frozenset(), 10)
    gone = frozenset({"p0", "p1"})
    part = touched_part(state, Snapshot(BASE, {}, {}, {}), gone)
    assert set(part.snapshot.people) == {"p0", "p1"}
    plan, _, _ = compute_incremental_plan(part, Snapshot(BASE, {}, {}, {}), gone, active_people=10, active_units=1,
                                          guards=Guards(max_deactivate_ratio=0.1))
    assert plan.counts() == {"person.deactivate": 2}
    assert [r.code for r in plan.refusals] == ["people_shrink", "mass_deactivation"] and plan.people_seen == 8


def test_a_removed_leader_is_cut_from_reports_and_groups_with_warnings():
    units = {"a": DirUnit("a", f"ou=A,{BASE}", "A", None, "a", True, 0)}
    boss = DirPerson("b", f"uid=boss,ou=A,{BASE}", "boss", "局长", "a")
    clerk = DirPerson("c", f"uid=clerk,ou=A,{BASE}", "clerk", "科员", "a", manager_id="b")
    group = DirGroup("g", f"cn=主要领导,ou=A,{BASE}", "a", "principal_leader", None, ("b",))
    state = CurrentState(Snapshot(BASE, units, {"b": boss, "c": clerk}, {"g": group}))
    part = touched_part(state, Snapshot(BASE, {}, {}, {}), {"b"})
    plan, new, _ = compute_incremental_plan(part, Snapshot(BASE, {}, {}, {}), {"b"}, active_people=2, active_units=1,
                                            guards=Guards(max_deactivate_ratio=1))
    assert plan.counts() == {"group.update": 1, "person.deactivate": 1, "person.update": 1}
    assert new.people["c"].manager_id is None and new.groups["g"].member_ids == ()
    assert {w.code for w in plan.warnings} == {"leader_vanishes", "group_empties"}


def test_removed_unit_takes_its_subunits_people_and_groups():
    state = CurrentState(build_snapshot([
        DirEntry(f"ou=A,{BASE}", "a", frozenset({"organizationalunit"}), {"ou": ["A"]}),
        DirEntry(f"ou=D,ou=A,{BASE}", "d", frozenset({"organizationalunit"}), {"ou": ["D"]}),
        DirEntry(f"ou=S,ou=D,ou=A,{BASE}", "s", frozenset({"organizationalunit"}), {"ou": ["S"]}),
        DirEntry(f"uid=x,ou=S,ou=D,ou=A,{BASE}", "x", frozenset({"inetorgperson"}), {"uid": ["x"], "cn": ["某"]}),
        DirEntry(f"cn=负责人,ou=S,ou=D,ou=A,{BASE}", "g", frozenset({"groupofnames"}),
                 {"cn": ["负责人"], "member": [f"uid=x,ou=S,ou=D,ou=A,{BASE}"]}),
    ], BASE))
    assert dropped_units(state.snapshot.units, state.inactive, {"d"}) == {"d", "s"}
    part = touched_part(state, Snapshot(BASE, {}, {}, {}), {"d"})
    assert set(part.snapshot.units) == {"a", "d", "s"} and set(part.snapshot.people) == {"x"}
    plan, _, _ = compute_incremental_plan(part, Snapshot(BASE, {}, {}, {}), {"d"}, active_people=1, active_units=3,
                                          guards=Guards(max_deactivate_ratio=1))
    assert plan.counts() == {"department.deactivate": 2, "group.deactivate": 1, "person.deactivate": 1}


def test_ancestor_dns_split_at_unescaped_commas_below_the_base():
    dn = f"uid=a,ou=b\\,c,ou=区教育局,{BASE}"
    assert ancestor_dns(dn, len(normalize_dn(BASE))) == [f"ou=b\\,c,ou=区教育局,{BASE}", f"ou=区教育局,{BASE}"]
    assert ancestor_dns(f"ou=x,{BASE}", 3) == []


def test_a_changed_role_group_maps_without_its_container_in_the_read():
    agency = f"ou=区教育局,{BASE}"
    known = {normalize_dn(agency): ("unit", "a"), normalize_dn(f"uid=x,{agency}"): ("person", "x")}
    unit = DirUnit("a", agency, "区教育局", None, "a", True, 0)
    entry = DirEntry(f"cn=hr,ou=roles,{agency}", "g", frozenset({"groupofnames"}),
                     {"cn": ["hr"], "member": [f"uid=x,{agency}"]})
    delta = build_snapshot([entry], BASE, known=known, known_units={"a": unit})
    assert delta.groups["g"] == replace(delta.groups["g"], kind="role", role_code="hr", unit_id="a",
                                        member_ids=("x",))

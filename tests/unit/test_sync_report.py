"""The plan as terminal lines: guards first, every change named, long kinds cut at 50 with a count."""

from __future__ import annotations

from org_sync.model import DirGroup, DirPerson, DirUnit, Snapshot
from org_sync.plan import CurrentState, Guards, compute_plan
from org_sync.report import plan_lines

BASE = "dc=jiahe,dc=gov,dc=cn"
UNITS = {"a": DirUnit("a", f"ou=区教育局,{BASE}", "区教育局", None, "a", True, 0),
         "d": DirUnit("d", f"ou=基础教育科,ou=区教育局,{BASE}", "基础教育科", "a", "a", False, 1),
         "s": DirUnit("s", f"ou=学前教育股,ou=基础教育科,ou=区教育局,{BASE}", "学前教育股", "d", "a", False, 2)}


def person(i: int, unit: str = "s", **kw) -> DirPerson:
    return DirPerson(f"p{i}", f"uid=u{i},{UNITS[unit].dn}", f"u{i:03}", f"人{i}", unit, **kw)


def snapshot(people, groups=()) -> Snapshot:
    return Snapshot(BASE, dict(UNITS), {p.external_id: p for p in people}, {g.external_id: g for g in groups})


def test_guards_come_first_then_each_change_with_uid_name_agency_department_and_fields():
    boss = person(0, "a", title="局长")
    clerk = person(1, title="科员", manager_id="p0")
    leaving = person(2)
    group = DirGroup("g", f"cn=主要领导,{UNITS['a'].dn}", "a", "principal_leader", None, ("p2",))
    before = CurrentState(snapshot([boss, clerk, leaving], [group]))
    after = snapshot([boss, person(1, title="副科长", manager_id=None)], [group])
    lines = plan_lines(compute_plan(before, after, Guards(max_deactivate_ratio=0.5)).to_dict())
    text = "\n".join(lines)
    assert lines[0] == "guards:"
    assert lines[1] == "  deactivations: 1 of 3 active people (33.3%, limit 50%)"
    assert text.index("warning [leader_vanishes]: 人2（u002） 将被停用") < text.index("changes:")
    assert "changes: group.update=1, person.deactivate=1, person.update=1" in lines
    update = lines.index("person.update (1):")
    assert lines[update + 1:update + 4] == ["  - u001  人1  (区教育局 / 基础教育科/学前教育股)",
                                           "      title: 科员 → 副科长",
                                           "      manager: 人0（u000） → —"]
    assert "  - u002  人2  (区教育局 / 基础教育科/学前教育股)" in lines
    assert "      members_removed: 人2（u002） → —" in lines


def test_each_kind_lists_fifty_and_counts_the_rest():
    people = [person(i) for i in range(120)]
    plan = compute_plan(CurrentState(snapshot([])), snapshot(people)).to_dict()
    lines = plan_lines(plan)
    listed = [line for line in lines if line.startswith("  - u")]
    assert len(listed) == 50 and listed[0].startswith("  - u000  人0  (区教育局")
    assert lines[-1] == "  … and 70 more person.create"
    assert "person.create (120):" in lines and "changes: person.create=120" in lines


def test_a_stored_plan_cut_short_still_counts_everything():
    plan = compute_plan(CurrentState(snapshot([])), snapshot([person(i) for i in range(30)])).to_dict(max_changes=13)
    lines = plan_lines(plan, per_kind=50)
    assert "person.create (30):" in lines and lines[-1] == "  … and 17 more person.create"


def test_refusals_say_the_plan_needs_force():
    before = CurrentState(snapshot([person(i) for i in range(10)]), last_people_count=10)
    plan = compute_plan(before, snapshot([person(0)]), Guards(max_deactivate_ratio=0.1)).to_dict()
    lines = plan_lines(plan)
    assert lines[1] == "  deactivations: 9 of 10 active people (90.0%, limit 10%)"
    assert any(line.startswith("  REFUSED [mass_deactivation]: 计划停用 9 人") for line in lines)
    assert "  the plan is refused unless forced (--force)" in lines
    assert lines.index("  the plan is refused unless forced (--force)") < lines.index(
        "changes: person.deactivate=9")


def test_an_empty_plan_says_so():
    state = snapshot([person(0)])
    lines = plan_lines(compute_plan(CurrentState(state), state).to_dict())
    assert lines == ["guards:", "  deactivations: 0 of 1 active people (0.0%, limit 10%)",
                     "  no refusals, no warnings", "changes: none"]

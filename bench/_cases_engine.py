"""``bench/cases.py``, part 2: cases made through the real engine, in-process and at chosen
times (the public actions ``do_create_case``, ``do_decide``, ``do_withdraw_case``,
``do_resubmit``): the templates the bulk copy multiplies, the cases whose decisions are measured,
and the cases of the race."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from _cases_setup import RACE_AGENCY, log

REASONS = ("家中有事需处理", "身体不适就医", "子女入学报名", "陪同家人就诊", "办理个人证件", "年度休假安排")
DESTINATIONS = ("杭州", "宁波", "温州", "上海", "北京", "南京", "合肥")
PURPOSES = ("参加业务培训", "参加工作会议", "开展调研", "项目对接", "检查指导")
OT_REASONS = ("节假日值班", "迎检材料准备", "应急值守", "系统上线保障")
COMMENTS = {"approve": "同意", "done": "已登记", "read": "已阅", "reject": "时间冲突，请另行安排",
            "return": "请补充说明事由"}
# matter scenario: (weight, matter, expected decisions to finish)
MATTERS = {
    "leave_1d": (30, "leave", 2), "leave_3d": (12, "leave", 3), "leave_5d": (8, "leave", 4),
    "trip_2d": (18, "business_trip", 2), "trip_long": (6, "business_trip", 3),
    "overtime_short": (18, "overtime", 1), "overtime_long": (8, "overtime", 2),
}
OUTCOMES = {"closed": {"done": 85, "rejected": 6, "withdrawn": 5, "resubmitted": 4},
            "open": {"open": 85, "returned": 10, "draft": 5}}


def weighted(rng: random.Random, table: dict[str, int | tuple]) -> str:
    keys = list(table)
    weights = [v[0] if isinstance(v, tuple) else v for v in table.values()]
    return rng.choices(keys, weights)[0]


def monday_after(day: date, weeks: int = 1) -> date:
    return day + timedelta(days=7 * weeks - day.weekday())


def make_form(rng: random.Random, scenario: str, now: datetime) -> dict:
    start = monday_after(now.date(), rng.randint(1, 3))
    if scenario.startswith("leave"):
        days = {"leave_1d": 1, "leave_3d": 3, "leave_5d": 5}[scenario]
        return {"leave_type": rng.choice(("annual", "personal", "sick", "family_visit")),
                "start_date": start.isoformat(), "end_date": (start + timedelta(days=days - 1)).isoformat(),
                "reason": rng.choice(REASONS)}
    if scenario.startswith("trip"):
        long = scenario == "trip_long"
        return {"start_date": start.isoformat(), "end_date": (start + timedelta(days=3 if long else 1)).isoformat(),
                "destination": rng.choice(DESTINATIONS[3:] if long else DESTINATIONS[:3]),
                "outside_province": long, "purpose": rng.choice(PURPOSES),
                "transport": rng.choice(("train", "plane") if long else ("train", "car"))}
    return {"date": (start - timedelta(days=2)).isoformat(), "hours": "3" if scenario == "overtime_short" else "6",
            "reason": rng.choice(OT_REASONS), "compensation": rng.choice(("time_off", "none"))}


class Engine:
    """Drives cases through ``internal_affairs.cases.actions`` in-process, at chosen times."""

    def __init__(self, rng: random.Random):
        from internal_affairs.cases import actions
        from internal_affairs.cases.models import Task
        from internal_affairs.extensions import db
        from internal_affairs.org.models import Person

        self.rng, self.actions, self.db, self.Task, self.Person = rng, actions, db, Task, Person
        self.calls = 0

    def person(self, pid: int):
        return self.db.session.get(self.Person, pid)

    def create(self, applicant_id: int, matter: str, form: dict, now: datetime, submit: bool = True):
        self.calls += 1
        return self.actions.do_create_case(matter, form, applicant=self.person(applicant_id), now=now, submit=submit)

    def open_tasks(self, case_id: int) -> list:
        from sqlalchemy import select

        Task = self.Task
        return list(self.db.session.execute(
            select(Task).where(Task.case_id == case_id, Task.status == "pending", Task.kind != "obligation",
                               Task.blocked_by_task_id.is_(None)).order_by(Task.id)).scalars())

    def decide(self, case_id: int, now: datetime, decision: str | None = None) -> bool:
        tasks = self.open_tasks(case_id)
        if not tasks:
            return False
        task = self.rng.choice(tasks)  # an ``any`` step: one of its holders acts
        decision = decision or {"approve": "approve", "handle": "done", "read": "read"}.get(task.kind, "done")
        self.calls += 1
        self.actions.do_decide(task.id, decision, acting_user=self.person(task.assignee_id), roles=set(), now=now,
                               comment=COMMENTS[decision])
        return True

    def run(self, case_id: int, now: datetime, limit: int = 20) -> datetime:
        for _ in range(limit):
            now += timedelta(hours=self.rng.uniform(0.5, 20))
            if not self.decide(case_id, now):
                break
        return now

    def template(self, applicant_id: int, scenario: str, outcome: str, now: datetime) -> int:
        """One case of ``scenario`` driven to ``outcome``; returns its id."""
        matter, expected = MATTERS[scenario][1], MATTERS[scenario][2]
        form = make_form(self.rng, scenario, now)
        case = self.create(applicant_id, matter, form, now, submit=outcome != "draft")
        case_id = case.id
        later = now + timedelta(hours=self.rng.uniform(0.5, 20))
        if outcome == "done":
            self.run(case_id, now)
        elif outcome == "open":
            for _ in range(self.rng.randrange(expected)):
                later += timedelta(hours=self.rng.uniform(0.5, 20))
                self.decide(case_id, later)
        elif outcome == "withdrawn":
            self.calls += 1
            self.actions.do_withdraw_case(case, acting_user=self.person(applicant_id), now=later, reason="计划有变")
        elif outcome in ("rejected", "returned", "resubmitted"):
            tasks = [t for t in self.open_tasks(case_id) if t.kind == "approve"]
            if not tasks:  # the first step approved itself (秒批): nobody to reject or return
                if outcome != "returned":
                    self.run(case_id, now)
            else:
                decision = "reject" if outcome == "rejected" else "return"
                self.calls += 1
                self.actions.do_decide(tasks[0].id, decision, acting_user=self.person(tasks[0].assignee_id), roles=set(),
                                       now=later, comment=COMMENTS[decision])
                if outcome == "resubmitted":
                    later += timedelta(hours=self.rng.uniform(1, 30))
                    self.calls += 1
                    from internal_affairs.cases.models import Case

                    case = self.db.session.get(Case, case_id)
                    key = "purpose" if "purpose" in case.form else "reason"
                    self.actions.do_resubmit(case, dict(case.form, **{key: case.form.get(key, "") + "（已补充说明）"}),
                                             acting_user=self.person(applicant_id), now=later)
                    self.run(case_id, later)
        self.db.session.expunge_all()
        return case_id


@dataclass
class Org:
    people: dict[int, dict]
    groups: dict[tuple, list[int]]  # interchangeable applicants
    group_of: dict[int, tuple]
    hr: dict[int, list[int]]        # agency id -> hr holders
    agency_names: dict[int, str]


def org_facts() -> Org:
    """Who may apply for whom: people grouped into interchangeable applicants (same agency,
    department, manager and cadre category, holding no group that changes a route), the hr
    holders of each agency, the agencies' names."""
    from sqlalchemy import and_, exists, or_, select

    from internal_affairs.extensions import db
    from internal_affairs.org.models import Agency, OrgGroup, OrgGroupMember, Person

    grouped = exists().where(OrgGroupMember.person_id == Person.id, OrgGroupMember.group_id == OrgGroup.id,
                             OrgGroup.active,
                             or_(OrgGroup.kind != "role",
                                 OrgGroup.role_code.in_(("hr", "cadre_management", "discipline_review"))))
    rows = db.session.execute(
        select(Person.id, Person.uid, Person.name, Person.agency_id, Person.department_id, Person.manager_id,
               Person.cadre_category, grouped.label("grouped")).where(Person.active).order_by(Person.id)).mappings().all()
    people = {r["id"]: dict(r) for r in rows}
    groups: dict[tuple, list[int]] = defaultdict(list)
    for r in rows:
        if r["manager_id"] is None or r["manager_id"] not in people:
            continue
        key = (("peers", r["agency_id"], r["department_id"], r["manager_id"], r["cadre_category"])
               if not r["grouped"] else ("solo", r["id"]))
        groups[key].append(r["id"])
    hr: dict[int, list[int]] = defaultdict(list)
    for agency_id, person_id in db.session.execute(
            select(OrgGroup.agency_id, OrgGroupMember.person_id)
            .join(OrgGroupMember, and_(OrgGroupMember.group_id == OrgGroup.id))
            .where(OrgGroup.kind == "role", OrgGroup.role_code == "hr", OrgGroup.active)
            .order_by(OrgGroupMember.person_id)).all():
        hr[agency_id].append(person_id)
    names = dict(db.session.execute(select(Agency.id, Agency.name)).all())
    group_of = {pid: key for key, members in groups.items() for pid in members}
    return Org(people, dict(groups), group_of, dict(hr), names)


def create_templates(engine: Engine, org: Org, rng: random.Random, per_person: float, real_now: datetime) -> dict:
    """Template cases for every group of interchangeable applicants. Returns id -> (group, category)."""
    from internal_affairs.errors import DomainError

    made: dict[int, tuple] = {}
    failures: Counter = Counter()
    keys = sorted(org.groups)
    rng.shuffle(keys)
    for n, key in enumerate(keys, 1):
        members = org.groups[key]
        if key[0] == "solo":  # a leader or an hr holder: an approved case, sometimes one in flight
            plan = [("closed", "done")] + ([("open", None)] if rng.random() < 0.25 else [])
        else:
            plan = [("closed", "done"), ("open", None)] + [
                ("open" if rng.random() < 0.1 else "closed", None)
                for _ in range(max(1, round(len(members) * per_person) - 1))]
        for category, outcome in plan:
            outcome = outcome or weighted(rng, OUTCOMES[category])
            scenario = weighted(rng, MATTERS)
            start = real_now - (timedelta(days=rng.uniform(25, 60)) if category == "closed"
                                else timedelta(days=rng.uniform(0.5, 12)))
            try:
                case_id = engine.template(rng.choice(members), scenario, outcome, start)
            except DomainError as exc:
                engine.db.session.rollback()
                failures[f"{scenario}/{outcome}: {exc.code}"] += 1
                continue
            made[case_id] = (key, category)
        if n % 200 == 0:
            log(f"  templates: {n}/{len(keys)} groups, {len(made)} cases, {engine.calls} engine calls")
    if failures:
        log(f"  templates the engine refused (skipped): {dict(failures)}")
    return made


def create_decision_cases(engine: Engine, org: Org, rng: random.Random, approvers: int, per_approver: int,
                          real_now: datetime) -> list[dict]:
    """1-day leaves pending at the desks of ``approvers`` department heads (distinct departments):
    the decisions the benchmark measures. Returns [{approver, tasks: [(task, case)]}]."""
    candidates = sorted((k for k in org.groups if k[0] == "peers" and len(org.groups[k]) >= 3),
                        key=lambda k: (-len(org.groups[k]), k))
    chosen, seen = [], set()
    for key in candidates:
        if key[3] in seen or key[3] in {p for hs in org.hr.values() for p in hs}:
            continue
        seen.add(key[3])
        chosen.append(key)
        if len(chosen) == approvers:
            break
    lanes = []
    for key in chosen:
        manager = key[3]
        tasks = []
        for _ in range(per_approver):
            now = real_now - timedelta(minutes=rng.uniform(5, 600))
            case = engine.create(rng.choice(org.groups[key]), "leave", make_form(rng, "leave_1d", now), now)
            pending = engine.open_tasks(case.id)
            if len(pending) != 1 or pending[0].assignee_id != manager:
                raise SystemExit(f"unexpected route for a 1-day leave: case {case.id}")
            tasks.append((pending[0].id, case.id))
            engine.db.session.expunge_all()
        lanes.append({"approver": manager, "tasks": tasks})
    return lanes


def create_race_cases(engine: Engine, org: Org, rng: random.Random, steps: int, real_now: datetime) -> dict:
    """``steps`` overtime cases (≤ 4 h: the first step approves itself) waiting at their ``any``
    人事备案 step for every hr holder of 区教育局. Returns holder -> [(task, case)]."""
    agency = next(a for a, n in org.agency_names.items() if n == RACE_AGENCY)
    holders = set(org.hr[agency])
    applicants = [pid for pid, p in org.people.items() if p["agency_id"] == agency and pid not in holders
                  and pid in org.group_of]
    by_holder: dict[int, list] = defaultdict(list)
    for i in range(steps):
        now = real_now - timedelta(seconds=steps - i)
        case = engine.create(rng.choice(applicants), "overtime", make_form(rng, "overtime_short", now), now)
        pending = engine.open_tasks(case.id)
        if {t.assignee_id for t in pending} != holders or len(pending) != len(holders):
            raise SystemExit(f"race case {case.id}: expected one pending task per hr holder")
        for t in pending:
            by_holder[t.assignee_id].append((t.id, case.id))
        engine.db.session.expunge_all()
    return dict(by_holder)

"""Benchmark the route resolver: a 50,000-person district, every catalog matter for every person.

The org chart is generated in-process by a deterministic generator shaped like DESIGN §5: a
district leadership (区领导: 书记, 区长, 副区长s, 秘书科) without an ``hr`` role, five fixed
agencies (区纪委, 区委组织部, 区委办公室, 区政府办公室, 区委宣传部) and as many bureaux as it takes
to reach the head count. Every agency has a 领导班子 (principal leader and deputies, 区管干部),
departments with a 负责人 and a 分管领导, some nested 股, an ``hr`` role in its 人事科 (a few
bureaux have none), and about 1.5% inactive people; manager links run 科员 → 股长 → 科长 →
分管副局长 → 局长 → the 副区长 in charge.

The routes are the first catalog's (``tests/support/routing.py`` until the catalog
YAML holds them). Prints one JSON object; times are wall-clock on one core.

    .venv/bin/python bench/resolve.py [--people 50000] [--seed 20260214]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from internal_affairs.routing.orgview import AgencyView, DepartmentView, OrgView, PersonView  # noqa: E402
from internal_affairs.routing.resolver import resolve_route  # noqa: E402
from internal_affairs.matters.actions import read_catalog  # noqa: E402
from internal_affairs.matters.schema import parse_matter  # noqa: E402

# the shipped catalog, exactly as `flask matters load` reads it
ROUTES = {data["code"]: parse_matter(data, source=path.name).route for path, data in read_catalog()}

FIXED_AGENCIES = ("区纪委", "区委组织部", "区委办公室", "区政府办公室", "区委宣传部")
FIXED_ROLES = {"区纪委": "discipline_review", "区委组织部": "cadre_management"}
STAFF_RANKS = ("二级科员", "一级科员", "四级主任科员", "三级主任科员")
LEAVE_DAYS = (Decimal("0.5"), Decimal(1), Decimal("1.5"), Decimal(2), Decimal(3), Decimal(5), Decimal(10))


class DistrictGenerator:
    """Builds the people, departments and agencies of a synthetic district, deterministically."""

    def __init__(self, target: int, seed: int):
        self.target = target
        self.rng = random.Random(seed)
        self.people: list[PersonView] = []
        self.departments: list[DepartmentView] = []
        self.agencies: list[AgencyView] = []

    def person(self, agency: str, department: str | None, manager: str | None, title: str, rank: str,
               *, cadre: bool = False, always_active: bool = False) -> str:
        uid = f"u{len(self.people):06d}"
        active = always_active or self.rng.random() > 0.015
        self.people.append(PersonView(uid, f"人员{len(self.people)}", title, rank, cadre, agency, department,
                                      manager, active))
        return uid

    def remaining(self) -> int:
        return self.target - len(self.people)

    def district_leadership(self) -> list[str]:
        agency, team, office = "qld", "qld-ld", "qld-ms"
        secretary = self.person(agency, team, None, "区委书记", "正处", always_active=True)
        head = self.person(agency, team, secretary, "区长", "正处", always_active=True)
        deputies = [self.person(agency, team, head, "副区长", "副处", always_active=True) for _ in range(8)]
        office_head = self.person(agency, office, head, "科长", "正科")
        clerks = [self.person(agency, office, office_head, "科员", "一级科员") for _ in range(6)]
        self.departments += [
            DepartmentView(team, agency, None, "领导班子", is_leadership_team=True),
            DepartmentView(office, agency, None, "秘书科", (office_head,), (head,)),
        ]
        self.agencies.append(AgencyView(agency, "嘉政", "区领导", (secretary,), (head,),
                                        {"doc_clerk": (clerks[0],), "seal_keeper": (clerks[1],)}))
        self.secretary, self.head = secretary, head
        return deputies

    def agency(self, index: int, name: str, size: int, district_leader: str, reports_to: str) -> None:
        rng = self.rng
        agency = f"a{index:04d}"
        team = f"{agency}-ld"
        principal = self.person(agency, team, reports_to, "局长", "正科", cadre=True)
        deputy_count = min(4, max(1, size // 60))
        deputies = [self.person(agency, team, principal, "副局长", "副科", cadre=True) for _ in range(deputy_count)]
        self.departments.append(DepartmentView(team, agency, None, "领导班子", is_leadership_team=True))
        budget = max(size - 1 - deputy_count, 4)
        department_count = max(2, min(15, budget // 12))
        shares = [budget // department_count] * department_count
        for i in range(budget % department_count):
            shares[i] += 1
        roles: dict[str, list[str]] = {"hr": [], "doc_clerk": [], "seal_keeper": []}
        special = FIXED_ROLES.get(name)
        if special:
            roles[special] = []
        for d, share in enumerate(shares):
            dept = f"{agency}-d{d:02d}"
            in_charge = deputies[d % len(deputies)]
            has_head = rng.random() > 0.02
            head = self.person(agency, dept, in_charge, "科长", "正科")
            share -= 1
            self.departments.append(DepartmentView(dept, agency, None, f"科室{d}", (head,) if has_head else (),
                                                   (in_charge,)))
            members: list[str] = []
            sections = rng.randrange(3) if share >= 12 else 0
            for s in range(sections):
                section = f"{dept}-s{s}"
                chief = self.person(agency, section, head, "股长", "四级主任科员")
                self.departments.append(DepartmentView(section, agency, dept, f"股{s}", (chief,), ()))
                for _ in range(3):
                    members.append(self.person(agency, section, chief, "科员", rng.choice(STAFF_RANKS)))
                share -= 4
            for _ in range(max(share, 0)):
                members.append(self.person(agency, dept, head, "科员", rng.choice(STAFF_RANKS)))
            pool = members or [head]
            if d == 0:
                if rng.random() > 0.03 or special:
                    roles["hr"] = pool[:2]
                roles["doc_clerk"] = pool[-1:]
                roles["seal_keeper"] = pool[:1]
            if special and d == 1:
                roles[special] = pool[:3]
        holders = {role: tuple(uids) for role, uids in roles.items() if uids}
        self.agencies.append(AgencyView(agency, f"代字{index}", name, (principal,), (district_leader,), holders))

    def build(self) -> tuple[list[PersonView], list[DepartmentView], list[AgencyView]]:
        deputies = self.district_leadership()
        for i, name in enumerate(FIXED_AGENCIES):
            leader = self.secretary if name in FIXED_ROLES else deputies[i % len(deputies)]
            self.agency(i, name, 60, leader, leader)
        index = len(FIXED_AGENCIES)
        while self.remaining() >= 60:
            size = min(self.rng.randrange(60, 400), self.remaining())
            if self.remaining() - size < 60:
                size = self.remaining()
            leader = deputies[index % len(deputies)]
            self.agency(index, f"区第{index}局", size, leader, leader)
            index += 1
        office_head = self.departments[1].head_uids[0]
        while self.remaining() > 0:
            self.person("qld", "qld-ms", office_head, "科员", "一级科员")
        return self.people, self.departments, self.agencies


def facts_for(rng: random.Random, matter: str) -> dict:
    """Plausible case facts for one matter."""
    if matter == "leave":
        return {"leave_working_days": rng.choice(LEAVE_DAYS), "leaves_province": rng.random() < 0.2}
    if matter == "business_trip":
        return {"outside_province": rng.random() < 0.3, "trip_working_days": rng.randrange(1, 9)}
    if matter == "overtime":
        return {"hours": rng.randrange(1, 9)}
    return {"destination": "香港"}


def main() -> None:
    """Generate the district, resolve every matter for every person, print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=20260214)
    args = parser.parse_args()

    started = time.perf_counter()
    people, departments, agencies = DistrictGenerator(args.people, args.seed).build()
    generated = time.perf_counter()
    org = OrgView.build(people, departments, agencies, system_admin_uids=("admin",))
    built = time.perf_counter()

    rng = random.Random(args.seed)
    work = [(uid, code, facts_for(rng, code)) for uid in org.people for code in ROUTES]
    outcomes: Counter[str] = Counter()
    begin = time.perf_counter()
    for uid, code, facts in work:
        plan = resolve_route(ROUTES[code], org, uid, facts)
        outcomes["plans_with_error" if plan.has_error else "plans_without_error"] += 1
    elapsed = time.perf_counter() - begin

    print(json.dumps({
        "benchmark": "route_resolver",
        "people": len(org.people),
        "departments": len(org.departments),
        "agencies": len(org.agencies),
        "matters": sorted(ROUTES),
        "generate_seconds": round(generated - started, 3),
        "org_view_build_seconds": round(built - generated, 3),
        "resolutions": len(work),
        "resolve_seconds": round(elapsed, 3),
        "resolutions_per_second": round(len(work) / elapsed),
        "microseconds_per_resolution": round(elapsed / len(work) * 1e6, 1),
        **dict(sorted(outcomes.items())),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "single_core": True,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()

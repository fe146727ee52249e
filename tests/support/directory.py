"""A deterministic generator of district directories following DESIGN §5.

:func:`generate_directory` returns LDIF (RFC 2849: non-ASCII DNs and values are base64, ``dn::``)
for ``n_people`` people under ``base_dn``; :func:`build_directory` returns the same directory as
Python objects (people with their DN, uid, entryUUID, role in the hierarchy) for tests that need to
pick "a plain 科员" or "a department head".

What the directory looks like (names are the DESIGN §5 defaults):

* first-level OUs are agencies: ``ou=区领导`` (the district leadership), ``ou=区纪委``,
  ``ou=区委组织部``, then bureaux (``ou=区教育局``, ``ou=区财政局``, ``ou=区卫健局``, ... and
  ``ou=区直属单位023`` style names for big sizes); the number of bureaux grows with
  ``sqrt(n_people)``;
* each agency has ``ou=领导班子`` with its leaders (区领导: 区委书记, 区长, several 副区长; 区纪委:
  区纪委书记 and 区纪委副书记s; 区委组织部: 部长 and 副部长s; bureaux: 局长 and 副局长s) and
  departments (科室, e.g. ``ou=办公室``, ``ou=人事科``; 区纪委 has 室 headed by 主任);
* people are ``inetOrgPerson`` with RDN ``uid=<login>`` (pinyin-like, unique, e.g. ``zhangwei``,
  ``zhangwei2``), ``cn``/``displayName`` the Chinese name, ``sn``, ``givenName``, ``title``,
  ``employeeType`` (rank: 一级科员, 四级主任科员, 副科, 正科, 副处, 正处), ``businessCategory``
  (``区管干部`` for agency leaders of 区纪委/区委组织部 deputies and bureau leaders; ``市管干部`` for
  the district leaders and the two standing-committee members heading 区纪委 and 区委组织部),
  ``mail`` (``<uid>@<domain from base dc=>``), ``mobile`` (11 digits, unique), ``manager``, and a
  deterministic ``entryUUID``;
* groups are ``groupOfNames`` (always at least one member): per agency ``cn=主要领导`` (区领导: the
  secretary and the district head) and ``cn=分管领导`` (the 副区长 in charge; the 区委书记 for
  区纪委 and 区委组织部; none for 区领导 itself); per department ``cn=负责人`` (the head) and
  ``cn=分管领导`` (the agency deputy in charge; not for ``ou=领导班子``, whose 负责人 is the
  principal leader); per agency ``ou=roles`` with ``cn=hr``, ``cn=doc_clerk``, ``cn=seal_keeper``,
  ``cn=auditor``, plus ``cn=discipline_review`` in 区纪委 and ``cn=cadre_management`` in 区委组织部;
* manager chains: 科员 → 科长 → 分管副局长 → 局长 → 分管副区长 → 区长 → 区委书记; 副科长 → 科长;
  区纪委书记 and 组织部长 → 区委书记.

Passwords (``with_passwords=True``): each person's ``userPassword`` is an ``{SSHA}`` hash (with a
deterministic salt) of ``secret-<uid>``; :func:`password_for` returns it.

The base entry itself is not emitted unless ``include_base=True`` (the test slapd creates its
suffix entry). The smallest directory has 17 people; 50,000 people generate in about a second.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import random
import uuid
from dataclasses import dataclass, field

__all__ = [
    "GeneratedDirectory",
    "GenPerson",
    "GenUnit",
    "build_directory",
    "generate_directory",
    "ldif_line",
    "password_for",
    "ssha",
]

SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
    ("胡", "hu"), ("朱", "zhu"), ("高", "gao"), ("林", "lin"), ("何", "he"), ("郭", "guo"),
    ("马", "ma"), ("罗", "luo"), ("梁", "liang"), ("宋", "song"), ("郑", "zheng"), ("谢", "xie"),
    ("韩", "han"), ("唐", "tang"), ("冯", "feng"), ("于", "yu"), ("董", "dong"), ("程", "cheng"),
    ("曹", "cao"), ("袁", "yuan"), ("邓", "deng"), ("许", "xu"), ("傅", "fu"), ("沈", "shen"),
    ("曾", "zeng"), ("彭", "peng"), ("吕", "lv"), ("苏", "su"), ("卢", "lu"), ("蒋", "jiang"),
    ("蔡", "cai"), ("丁", "ding"), ("魏", "wei"), ("叶", "ye"), ("潘", "pan"), ("杜", "du"),
    ("夏", "xia"), ("钟", "zhong"), ("汪", "wang"), ("田", "tian"), ("任", "ren"), ("姜", "jiang"),
    ("范", "fan"), ("方", "fang"), ("石", "shi"), ("姚", "yao"), ("谭", "tan"), ("陆", "lu"),
    ("金", "jin"), ("邵", "shao"), ("俞", "yu"), ("楼", "lou"), ("应", "ying"), ("诸葛", "zhuge"),
)
GIVEN: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("霞", "xia"),
    ("平", "ping"), ("刚", "gang"), ("桂", "gui"), ("英", "ying"), ("华", "hua"), ("建", "jian"),
    ("国", "guo"), ("文", "wen"), ("辉", "hui"), ("玲", "ling"), ("斌", "bin"), ("浩", "hao"),
    ("宇", "yu"), ("欣", "xin"), ("婷", "ting"), ("雪", "xue"), ("晨", "chen"), ("晓", "xiao"),
    ("红", "hong"), ("梅", "mei"), ("海", "hai"), ("波", "bo"), ("鹏", "peng"), ("飞", "fei"),
    ("琳", "lin"), ("颖", "ying"), ("慧", "hui"), ("峰", "feng"), ("亮", "liang"), ("健", "jian"),
    ("博", "bo"), ("凯", "kai"), ("倩", "qian"), ("佳", "jia"), ("越", "yue"), ("振", "zhen"),
    ("志", "zhi"), ("新", "xin"), ("春", "chun"), ("秋", "qiu"), ("嘉", "jia"), ("晖", "hui"),
)
BUREAUX: tuple[str, ...] = (
    "区教育局", "区财政局", "区卫健局", "区人力社保局", "区民政局", "区司法局", "区发改局",
    "区经信局", "区住建局", "区交通运输局", "区农业农村局", "区商务局", "区文广旅体局",
    "区市场监管局", "区应急管理局", "区统计局", "区审计局", "区医保局", "区退役军人事务局",
    "区综合行政执法局", "区信访局", "区科技局", "区生态环境分局", "区自然资源分局",
)
FIRST_BUSINESS_DEPT = {
    "区教育局": "基础教育科", "区财政局": "预算科", "区卫健局": "医政医管科",
    "区人力社保局": "就业促进科", "区民政局": "社会救助科", "区司法局": "法治督察科",
}
BUREAU_DEPTS = ("办公室", "人事科", "计划财务科", "政策法规科", "综合业务科", "审批服务科", "监督检查科", "信息中心")
DISCIPLINE_DEPTS = ("办公室", "案件审理室", "党风政风监督室", "信访室", "第一监督检查室", "第二监督检查室",
                    "第三监督检查室", "审查调查室")
ORGANISATION_DEPTS = ("办公室", "干部科", "组织科", "干部监督科", "人才工作科", "公务员管理科")
LEADERSHIP_DEPTS = ("综合科", "秘书科", "督查科", "信息科")
LEADERSHIP_TEAM = "领导班子"
DISTRICT = "区领导"
DISCIPLINE = "区纪委"
ORGANISATION = "区委组织部"
CADRE = "区管干部"
CITY_CADRE = "市管干部"
_UUID_NS = uuid.UUID("5b1c7c0e-8f0e-4b8e-9c6a-6a69616865aa")


def ssha(password: str, salt: bytes | None = None) -> str:
    """An OpenLDAP ``{SSHA}`` hash of ``password`` (with ``salt``, random when None)."""
    salt = os.urandom(8) if salt is None else salt
    digest = hashlib.sha1(password.encode("utf-8") + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")


def password_for(uid: str) -> str:
    """The clear-text test password of ``uid`` in a directory generated with passwords."""
    return f"secret-{uid}"


def ldif_line(attr: str, value: str) -> str:
    """One LDIF line; base64 (``attr:: ...``) unless ``value`` is an RFC 2849 SAFE-STRING."""
    if (value.isascii() and value and value[0] not in " :<" and value[-1] != " "
            and "\n" not in value and "\r" not in value and "\x00" not in value):
        return f"{attr}: {value}"
    return f"{attr}:: {base64.b64encode(value.encode('utf-8')).decode('ascii')}"


def _escape_rdn_value(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or (ch == "#" and i == 0) or (ch == " " and i in (0, len(value) - 1)):
            out.append("\\" + ch)
        elif ch == "\x00":
            out.append("\\00")
        else:
            out.append(ch)
    return "".join(out)


@dataclass
class GenPerson:
    """A generated person."""

    dn: str
    uid: str
    name: str
    surname: str
    given_name: str
    entry_uuid: str
    title: str
    rank: str
    kind: str  # district_secretary, district_head, district_deputy, principal, deputy, dept_head, dept_deputy, staff
    agency: str
    department: str
    mail: str
    mobile: str
    cadre_category: str | None = None
    manager: GenPerson | None = None

    @property
    def password(self) -> str:
        """The clear-text password (meaningful when generated ``with_passwords``)."""
        return password_for(self.uid)


@dataclass
class GenUnit:
    """A generated OU: an agency (``parent is None``) or a department."""

    dn: str
    name: str
    entry_uuid: str
    parent: GenUnit | None
    people: list[GenPerson] = field(default_factory=list)
    head: GenPerson | None = None
    in_charge: GenPerson | None = None  # 分管领导
    departments: list[GenUnit] = field(default_factory=list)


@dataclass
class GeneratedDirectory:
    """The generated directory: units, people and the LDIF records (in load order)."""

    base_dn: str
    agencies: list[GenUnit]
    people: list[GenPerson]
    records: list[tuple[str, list[tuple[str, str]]]]
    groups: dict[str, list[str]]  # group DN -> member DNs

    def to_ldif(self, *, include_base: bool = False) -> str:
        """The directory as LDIF text (parents before children)."""
        chunks: list[str] = []
        if include_base:
            chunks.append(_record_ldif(self.base_dn, _base_attrs(self.base_dn)))
        chunks.extend(_record_ldif(dn, attrs) for dn, attrs in self.records)
        return "".join(chunks)

    def person(self, uid: str) -> GenPerson:
        """The person with login ``uid``."""
        for p in self.people:
            if p.uid == uid:
                return p
        raise KeyError(uid)

    def people_of_kind(self, kind: str) -> list[GenPerson]:
        """All people of one hierarchy kind (e.g. ``staff``, ``dept_head``, ``principal``)."""
        return [p for p in self.people if p.kind == kind]


def _record_ldif(dn: str, attrs: list[tuple[str, str]]) -> str:
    lines = [ldif_line("dn", dn)]
    lines.extend(ldif_line(a, v) for a, v in attrs)
    return "\n".join(lines) + "\n\n"


def _base_attrs(base_dn: str) -> list[tuple[str, str]]:
    first = base_dn.split(",", 1)[0]
    rdn_type, _, rdn_value = first.partition("=")
    rdn_type = rdn_type.strip().lower()
    if rdn_type == "dc":
        return [("objectClass", "top"), ("objectClass", "dcObject"), ("objectClass", "organization"),
                ("dc", rdn_value), ("o", rdn_value)]
    if rdn_type == "o":
        return [("objectClass", "top"), ("objectClass", "organization"), ("o", rdn_value)]
    return [("objectClass", "top"), ("objectClass", "organizationalUnit"), ("ou", rdn_value)]


def _mail_domain(base_dn: str) -> str:
    parts = [rdn.split("=", 1)[1] for rdn in base_dn.split(",") if rdn.strip().lower().startswith("dc=")]
    return ".".join(p.strip() for p in parts) if parts else "jiahe.gov.cn"


class _Builder:
    def __init__(self, n_people: int, seed: int, base_dn: str, with_passwords: bool) -> None:
        self.n = n_people
        self.seed = seed
        self.rng = random.Random(seed)
        self.base_dn = base_dn
        self.with_passwords = with_passwords
        self.domain = _mail_domain(base_dn)
        self.serial = 0
        self.uids: dict[str, int] = {}
        self.people: list[GenPerson] = []
        self.records: list[tuple[str, list[tuple[str, str]]]] = []
        self.groups: dict[str, list[str]] = {}

    # -- ids and names --
    def new_uuid(self) -> str:
        self.serial += 1
        return str(uuid.uuid5(_UUID_NS, f"{self.seed}:{self.serial}"))

    def new_name(self) -> tuple[str, str, str, str]:
        rng = self.rng
        sur, sur_py = SURNAMES[rng.randrange(len(SURNAMES))]
        count = 2 if rng.random() < 0.6 else 1
        chars = [GIVEN[rng.randrange(len(GIVEN))] for _ in range(count)]
        given = "".join(c for c, _ in chars)
        base = sur_py + "".join(p for _, p in chars)
        seen = self.uids.get(base, 0) + 1
        self.uids[base] = seen
        # natural logins carry no digits, so "zhangwei2" can never collide with one
        login = base if seen == 1 else f"{base}{seen}"
        return sur + given, sur, given, login

    # -- entries --
    def unit(self, name: str, parent: GenUnit | None) -> GenUnit:
        parent_dn = parent.dn if parent else self.base_dn
        dn = f"ou={_escape_rdn_value(name)},{parent_dn}"
        unit = GenUnit(dn=dn, name=name, entry_uuid=self.new_uuid(), parent=parent)
        self.records.append((dn, [("objectClass", "top"), ("objectClass", "organizationalUnit"),
                                  ("ou", name), ("entryUUID", unit.entry_uuid)]))
        if parent is not None:
            parent.departments.append(unit)
        return unit

    def person(self, unit: GenUnit, agency: GenUnit, *, title: str, rank: str, kind: str,
               cadre: str | None = None, manager: GenPerson | None = None) -> GenPerson:
        name, sur, given, login = self.new_name()
        index = len(self.people)
        mobile = f"13{(index * 7919 + self.seed * 104729) % 10**9:09d}"
        p = GenPerson(dn=f"uid={login},{unit.dn}", uid=login, name=name, surname=sur, given_name=given,
                      entry_uuid=self.new_uuid(), title=title, rank=rank, kind=kind, agency=agency.name,
                      department=unit.name, mail=f"{login}@{self.domain}", mobile=mobile,
                      cadre_category=cadre, manager=manager)
        self.people.append(p)
        unit.people.append(p)
        return p

    def emit_person(self, p: GenPerson) -> None:
        attrs = [("objectClass", "top"), ("objectClass", "person"), ("objectClass", "organizationalPerson"),
                 ("objectClass", "inetOrgPerson"), ("uid", p.uid), ("cn", p.name), ("sn", p.surname),
                 ("givenName", p.given_name), ("displayName", p.name), ("title", p.title),
                 ("employeeType", p.rank)]
        if p.cadre_category:
            attrs.append(("businessCategory", p.cadre_category))
        attrs += [("mail", p.mail), ("mobile", p.mobile)]
        if p.manager is not None:
            attrs.append(("manager", p.manager.dn))
        if self.with_passwords:
            salt = hashlib.sha256(f"{self.seed}:{p.uid}".encode()).digest()[:8]
            attrs.append(("userPassword", ssha(password_for(p.uid), salt)))
        attrs.append(("entryUUID", p.entry_uuid))
        self.records.append((p.dn, attrs))

    def group(self, cn: str, parent_dn: str, members: list[GenPerson], description: str) -> None:
        unique: list[GenPerson] = []
        for m in members:
            if m not in unique:
                unique.append(m)
        if not unique:
            raise AssertionError(f"group {cn} under {parent_dn} would be empty")
        dn = f"cn={_escape_rdn_value(cn)},{parent_dn}"
        attrs = [("objectClass", "top"), ("objectClass", "groupOfNames"), ("cn", cn),
                 ("description", description)]
        attrs += [("member", m.dn) for m in unique]
        attrs.append(("entryUUID", self.new_uuid()))
        self.records.append((dn, attrs))
        self.groups[dn] = [m.dn for m in unique]


@dataclass
class _AgencyPlan:
    name: str
    kind: str  # district, discipline, organisation, bureau
    deputies: int
    dept_names: list[str]
    weight_factor: float = 1.0


def _dept_names(kind: str, agency: str, count: int) -> list[str]:
    if kind == "district":
        base, extra = list(LEADERSHIP_DEPTS), "秘书{}科"
    elif kind == "discipline":
        base, extra = list(DISCIPLINE_DEPTS), "第{}审查调查室"
    elif kind == "organisation":
        base, extra = list(ORGANISATION_DEPTS), "综合{}科"
    else:
        base, extra = list(BUREAU_DEPTS), "业务{}科"
        if agency in FIRST_BUSINESS_DEPT:
            base.insert(2, FIRST_BUSINESS_DEPT[agency])
    names = base[:count]
    k = 1
    while len(names) < count:
        candidate = extra.format(k)
        if candidate not in names:
            names.append(candidate)
        k += 1
    return names


def _plan(n_people: int) -> tuple[int, list[_AgencyPlan]]:
    n_bureaux = max(1, round(math.sqrt(n_people) / 1.5) - 3)
    n_agencies = n_bureaux + 3
    share = n_people / n_agencies
    district_deputies = min(7, max(2, n_bureaux // 3))
    deputies = 1 if share < 30 else 2 if share < 150 else 3
    depts = max(2, round((share - 1 - deputies) / 10))
    plans = [_AgencyPlan(DISTRICT, "district", district_deputies,
                         _dept_names("district", DISTRICT, min(4, max(1, round(share / 40)))), 0.5),
             _AgencyPlan(DISCIPLINE, "discipline", min(2, deputies), _dept_names("discipline", DISCIPLINE, depts)),
             _AgencyPlan(ORGANISATION, "organisation", min(2, deputies),
                         _dept_names("organisation", ORGANISATION, depts))]
    for i in range(n_bureaux):
        name = BUREAUX[i] if i < len(BUREAUX) else f"区直属单位{i + 1:03d}"
        plans.append(_AgencyPlan(name, "bureau", deputies, _dept_names("bureau", name, depts)))
    return district_deputies, plans


def build_directory(
    n_people: int,
    *,
    seed: int = 1,
    base_dn: str = "dc=jiahe,dc=gov,dc=cn",
    with_passwords: bool = False,
) -> GeneratedDirectory:
    """Build the directory (see the module docstring) with exactly ``n_people`` people."""
    if n_people < 1:
        raise ValueError("n_people must be positive")
    b = _Builder(n_people, seed, base_dn, with_passwords)
    rng = b.rng
    _, plans = _plan(n_people)

    leaders = sum(1 + p.deputies + (1 if p.kind == "district" else 0) for p in plans)
    heads = sum(len(p.dept_names) for p in plans)
    staff_total = n_people - leaders - heads
    if staff_total < 0:
        raise ValueError(f"n_people={n_people} is too small: this layout needs at least {leaders + heads}")
    # staff per department, by seeded weights (largest remainder, deterministic)
    slots = [(ai, di) for ai, p in enumerate(plans) for di in range(len(p.dept_names))]
    weights = [plans[ai].weight_factor * rng.uniform(0.6, 1.4) for ai, _ in slots]
    total_w = sum(weights)
    raw = [staff_total * w / total_w for w in weights]
    counts = [int(x) for x in raw]
    order = sorted(range(len(slots)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: staff_total - sum(counts)]:
        counts[i] += 1
    staff_of = {slot: counts[i] for i, slot in enumerate(slots)}

    agencies: list[GenUnit] = []
    secretary = district_head = None
    district_deputies: list[GenPerson] = []
    deputy_cursor = 0
    role_members: dict[str, dict[str, list[GenPerson]]] = {}

    for ai, plan in enumerate(plans):
        agency = b.unit(plan.name, None)
        agencies.append(agency)
        team = b.unit(LEADERSHIP_TEAM, agency)
        # --- leadership team ---
        if plan.kind == "district":
            secretary = b.person(team, agency, title="区委书记", rank="正处", kind="district_secretary",
                                 cadre=CITY_CADRE)
            district_head = b.person(team, agency, title="区长", rank="正处", kind="district_head",
                                     cadre=CITY_CADRE, manager=secretary)
            district_deputies = [
                b.person(team, agency, title="副区长", rank="副处", kind="district_deputy", cadre=CITY_CADRE,
                         manager=district_head)
                for _ in range(plan.deputies)
            ]
            principals = [secretary, district_head]
            dept_in_charge_pool = [district_head]
            agency_in_charge: GenPerson | None = None
        else:
            assert secretary is not None and district_head is not None
            if plan.kind == "discipline":
                titles, ranks, cadres = ("区纪委书记", "区纪委副书记"), ("副处", "正科"), (CITY_CADRE, CADRE)
                agency_in_charge = secretary
            elif plan.kind == "organisation":
                titles, ranks, cadres = ("部长", "副部长"), ("副处", "正科"), (CITY_CADRE, CADRE)
                agency_in_charge = secretary
            else:
                titles, ranks, cadres = ("局长", "副局长"), ("正科", "副科"), (CADRE, CADRE)
                agency_in_charge = district_deputies[deputy_cursor % len(district_deputies)]
                deputy_cursor += 1
            principal = b.person(team, agency, title=titles[0], rank=ranks[0], kind="principal",
                                 cadre=cadres[0], manager=agency_in_charge)
            deputies = [b.person(team, agency, title=titles[1], rank=ranks[1], kind="deputy", cadre=cadres[1],
                                 manager=principal) for _ in range(plan.deputies)]
            principals = [principal]
            dept_in_charge_pool = deputies or [principal]
        team.head = principals[0]
        agency.head = principals[0]
        agency.in_charge = agency_in_charge

        # --- departments ---
        head_title, deputy_title = ("主任", "副主任") if plan.kind == "discipline" else ("科长", "副科长")
        head_rank = "副科" if plan.kind in ("discipline", "organisation") else "四级主任科员"
        for di, dept_name in enumerate(plan.dept_names):
            dept = b.unit(dept_name, agency)
            in_charge = dept_in_charge_pool[di % len(dept_in_charge_pool)]
            dept.in_charge = in_charge
            head = b.person(dept, agency, title=head_title, rank=head_rank, kind="dept_head", manager=in_charge)
            dept.head = head
            n_staff = staff_of[(ai, di)]
            for si in range(n_staff):
                if si == 0 and n_staff >= 4:
                    b.person(dept, agency, title=deputy_title, rank="四级主任科员", kind="dept_deputy", manager=head)
                else:
                    rank = "四级主任科员" if rng.random() < 0.3 else "一级科员"
                    b.person(dept, agency, title="科员", rank=rank, kind="staff", manager=head)

        # --- emit people (leaders first, then each department) ---
        for unit in [team, *[d for d in agency.departments if d is not team]]:
            for p in unit.people:
                b.emit_person(p)

        # --- groups ---
        b.group("主要领导", agency.dn, principals, "主要领导")
        if agency_in_charge is not None:
            b.group("分管领导", agency.dn, [agency_in_charge], "分管区领导")
        b.group("负责人", team.dn, [principals[0]], "负责人")
        for dept in agency.departments:
            if dept is team:
                continue
            assert dept.head is not None and dept.in_charge is not None
            b.group("负责人", dept.dn, [dept.head], "负责人")
            b.group("分管领导", dept.dn, [dept.in_charge], "分管领导")
        roles = b.unit("roles", agency)
        agency.departments.remove(roles)  # ou=roles is a container, not a department
        members = _role_members(agency, team, plan.kind)
        role_members[agency.name] = members
        for code, people in members.items():
            b.group(code, roles.dn, people, _ROLE_DESCRIPTIONS[code])

    return GeneratedDirectory(base_dn=base_dn, agencies=agencies, people=b.people, records=b.records,
                              groups=b.groups)


_ROLE_DESCRIPTIONS = {
    "hr": "人事", "doc_clerk": "收发文", "seal_keeper": "印章管理", "auditor": "审计",
    "discipline_review": "纪委审查", "cadre_management": "组织部干部管理",
}


def _role_members(agency: GenUnit, team: GenUnit, kind: str) -> dict[str, list[GenPerson]]:
    depts = {d.name: d for d in agency.departments if d is not team}

    def staff(*names: str, count: int = 1) -> list[GenPerson]:
        for name in names:
            dept = depts.get(name)
            if dept is None:
                continue
            plain = [p for p in dept.people if p.kind in ("staff", "dept_deputy")]
            if plain:
                return plain[:count]
            assert dept.head is not None
            return [dept.head]
        first = next(iter(depts.values()))
        assert first.head is not None
        return [first.head]

    office = next(iter(depts))  # 办公室 / 综合科: the first department
    members = {
        "hr": staff("人事科", "干部科", office),
        "doc_clerk": staff("办公室", office),
        "seal_keeper": staff("办公室", office, count=2)[-1:],
        "auditor": staff("计划财务科", "党风政风监督室", list(depts)[-1]),
    }
    if kind == "discipline":
        dept = depts["案件审理室"]
        assert dept.head is not None
        members["discipline_review"] = [dept.head, *staff("案件审理室", count=2)]
    if kind == "organisation":
        dept = depts["干部科"]
        assert dept.head is not None
        members["cadre_management"] = [dept.head, *staff("干部科", count=2)]
    return members


def generate_directory(
    n_people: int,
    *,
    seed: int = 1,
    base_dn: str = "dc=jiahe,dc=gov,dc=cn",
    with_passwords: bool = False,
    include_base: bool = False,
) -> str:
    """LDIF for a district directory of exactly ``n_people`` people (deterministic per ``seed``).

    See the module docstring for the layout. Passwords, when asked for, are ``{SSHA}`` hashes of
    ``secret-<uid>``. The base entry is emitted only with ``include_base=True``.
    """
    return build_directory(n_people, seed=seed, base_dn=base_dn, with_passwords=with_passwords).to_ldif(
        include_base=include_base
    )

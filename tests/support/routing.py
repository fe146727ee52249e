"""The first catalog's routes as plain data (as they will appear in catalog YAML), and a small
district modelled on the demo directory (demo/README.md) to resolve them against: ``CATALOG``,
``ROUTES`` (parsed) and ``district()``, for the routing tests."""

from __future__ import annotations

import dataclasses

from internal_affairs.routing.dsl import parse_route
from internal_affairs.routing.orgview import AgencyView, DepartmentView, OrgView, PersonView

DAYS = "leave_working_days"


def _le(field: str, value: int) -> dict:
    return {"field": field, "op": "<=", "value": value}


IS_CADRE = {"field": "applicant.is_cadre", "op": "==", "value": True}

LEAVE = [
    {
        "name": "领导审批",
        "approvers": {
            "kind": "leader_chain",
            "choose": [
                {"when": _le(DAYS, 1), "levels": 1},
                {"when": _le(DAYS, 3), "levels": 2},
                {"up_to": "principal_leader"},
            ],
        },
        "time_limit": 1,
        "on_timeout": "remind",
    },
    {
        "name": "干部备案",
        "kind": "read",
        "when": {
            "all": [
                IS_CADRE,
                {"any": [
                    {"field": DAYS, "op": ">", "value": 3},
                    {"field": "leaves_province", "op": "==", "value": True},
                ]},
            ]
        },
        "approvers": {"kind": "role", "role": "cadre_management", "agency": "区委组织部"},
    },
    {"name": "考勤登记", "kind": "handle", "approvers": {"kind": "role", "role": "hr"}},
]

BUSINESS_TRIP = [
    {"name": "科室负责人审批", "approvers": {"kind": "department_head"}, "time_limit": 1},
    {
        "name": "分管领导审批",
        "when": {
            "any": [
                {"field": "outside_province", "op": "==", "value": True},
                {"field": "trip_working_days", "op": ">", "value": 5},
            ]
        },
        "approvers": {"kind": "leader_in_charge"},
        "time_limit": 1,
    },
    {"name": "人事备案", "kind": "read", "approvers": {"kind": "role", "role": "hr"}},
]

OVERTIME = [
    {
        "name": "加班审批",
        "kind": "auto",
        "rule": {"field": "hours", "op": "<=", "value": 4},
        "approvers": {"kind": "department_head"},
    },
    {"name": "人事备案", "kind": "read", "approvers": {"kind": "role", "role": "hr"}},
]

OVERSEAS_TRAVEL = {
    "variants": [
        {
            "name": "区管干部",
            "when": IS_CADRE,
            "steps": [
                {"name": "单位主要领导审批", "approvers": {"kind": "principal_leader"}, "time_limit": 2},
                {
                    "name": "并联审查",
                    "time_limit": 3,
                    "parallel": [
                        {
                            "name": "纪委审查",
                            "approvers": {"kind": "role", "role": "discipline_review", "agency": "区纪委"},
                            "mode": "any",
                            "dedupe": False,
                        },
                        {"name": "分管区领导审批", "approvers": {"kind": "leader_in_charge", "of": "agency"}},
                    ],
                },
                {
                    "name": "组织部审核",
                    "approvers": {"kind": "role", "role": "cadre_management", "agency": "区委组织部"},
                    "mode": "any",
                    "dedupe": False,
                },
                {
                    "name": "证照领取",
                    "kind": "handle",
                    "approvers": {"kind": "role", "role": "cadre_management", "agency": "区委组织部"},
                    "dedupe": False,
                },
            ],
        },
        {
            "name": "其他人员",
            "steps": [
                {"name": "科室负责人审批", "approvers": {"kind": "department_head"}},
                {"name": "分管领导审批", "approvers": {"kind": "leader_in_charge"}},
                {"name": "主要领导审批", "approvers": {"kind": "principal_leader"}},
                {"name": "证照登记", "kind": "handle", "approvers": {"kind": "role", "role": "hr"}},
            ],
        },
    ]
}

CATALOG = {
    "leave": LEAVE,
    "business_trip": BUSINESS_TRIP,
    "overtime": OVERTIME,
    "overseas_travel": OVERSEAS_TRAVEL,
}
ROUTES = {code: parse_route(data, path=f"{code}.route") for code, data in CATALOG.items()}


def _p(uid, name, title, agency, department, manager, *, rank=None, cadre=False, active=True):
    return PersonView(uid, name, title, rank, cadre, agency, department, manager, active)


PEOPLE = [
    # 区领导 (no hr role: error tasks go to the system administrators)
    _p("shenliheng", "沈立衡", "区委书记", "qld", "qld-ld", None, rank="正处"),
    _p("zhouqiming", "周启明", "区长", "qld", "qld-ld", "shenliheng", rank="正处"),
    _p("fanghuimin", "方慧敏", "副区长", "qld", "qld-ld", "zhouqiming", rank="副处"),
    _p("gaoyuan", "高远", "科长", "qld", "qld-ms", "zhouqiming", rank="正科"),
    _p("yujiaqi", "俞佳琪", "科员", "qld", "qld-ms", "gaoyuan", rank="一级科员"),
    # 区纪委
    _p("hanzhengqing", "韩正清", "书记", "qjw", "qjw-ld", "shenliheng", rank="副处", cadre=True),
    _p("zhaoli", "赵立", "副书记", "qjw", "qjw-ld", "hanzhengqing", rank="正科", cadre=True),
    _p("yanming", "严明", "主任", "qjw", "qjw-1", "zhaoli", rank="正科"),
    _p("hesiyuan", "何思远", "科员", "qjw", "qjw-1", "yanming", rank="一级科员"),
    _p("qianfang", "钱芳", "主任", "qjw", "qjw-bgs", "zhaoli", rank="正科"),
    # 区委组织部
    _p("xuwenbin", "许文斌", "部长", "zzb", "zzb-ld", "shenliheng", rank="副处", cadre=True),
    _p("zhangjun", "张军", "副部长", "zzb", "zzb-ld", "xuwenbin", rank="正科", cadre=True),
    _p("yuanzhenhua", "袁振华", "科长", "zzb", "zzb-gb", "zhangjun", rank="正科"),
    _p("songjia", "宋佳", "科员", "zzb", "zzb-gb", "yuanzhenhua", rank="一级科员"),
    _p("duhaiyan", "杜海燕", "主任", "zzb", "zzb-bgs", "zhangjun", rank="正科"),
    # 区教育局
    _p("wangguodong", "王国栋", "局长", "jyj", "jyj-ld", "fanghuimin", rank="正科", cadre=True),
    _p("lixiaohong", "李晓红", "副局长", "jyj", "jyj-ld", "wangguodong", rank="副科", cadre=True),
    _p("chenhao", "陈浩", "副局长", "jyj", "jyj-ld", "wangguodong", rank="副科", cadre=True),
    _p("zhangwei", "张伟", "科长", "jyj", "jyj-jc", "lixiaohong", rank="正科"),
    _p("xujing", "徐静", "科员", "jyj", "jyj-jc", "zhangwei", rank="一级科员"),
    _p("huting", "胡婷", "股长", "jyj", "jyj-xq", "zhangwei", rank="四级主任科员"),
    _p("guolei", "郭磊", "科员", "jyj", "jyj-xq", "huting", rank="二级科员"),
    _p("sunli", "孙丽", "科长", "jyj", "jyj-rs", "chenhao", rank="正科"),
    _p("linxiaoyan", "林晓燕", "科员", "jyj", "jyj-rs", "sunli", rank="一级科员"),
]

DEPARTMENTS = [
    DepartmentView("qld-ld", "qld", None, "领导班子", is_leadership_team=True),
    DepartmentView("qld-ms", "qld", None, "秘书科", ("gaoyuan",), ("zhouqiming",)),
    DepartmentView("qjw-ld", "qjw", None, "领导班子", is_leadership_team=True),
    DepartmentView("qjw-1", "qjw", None, "第一纪检监察室", ("yanming",), ("zhaoli",)),
    DepartmentView("qjw-bgs", "qjw", None, "办公室", ("qianfang",), ("zhaoli",)),
    DepartmentView("zzb-ld", "zzb", None, "领导班子", is_leadership_team=True),
    DepartmentView("zzb-gb", "zzb", None, "干部科", ("yuanzhenhua",), ("zhangjun",)),
    DepartmentView("zzb-bgs", "zzb", None, "办公室", ("duhaiyan",), ("zhangjun",)),
    DepartmentView("jyj-ld", "jyj", None, "领导班子", is_leadership_team=True),
    DepartmentView("jyj-jc", "jyj", None, "基础教育科", ("zhangwei",), ("lixiaohong",)),
    DepartmentView("jyj-xq", "jyj", "jyj-jc", "学前教育股", ("huting",), ()),
    DepartmentView("jyj-rs", "jyj", None, "人事科", ("sunli",), ("chenhao",)),
]

AGENCIES = [
    AgencyView("qld", "嘉政", "区领导", ("shenliheng",), ("zhouqiming",), {"doc_clerk": ("yujiaqi",)}),
    AgencyView(
        "qjw", "嘉禾纪", "区纪委", ("hanzhengqing",), ("shenliheng",),
        {"discipline_review": ("yanming", "hesiyuan"), "hr": ("qianfang",)},
    ),
    AgencyView(
        "zzb", "嘉禾组", "区委组织部", ("xuwenbin",), ("shenliheng",),
        {"cadre_management": ("yuanzhenhua", "songjia"), "hr": ("duhaiyan",)},
    ),
    AgencyView("jyj", "嘉禾教", "区教育局", ("wangguodong",), ("fanghuimin",), {"hr": ("linxiaoyan",)}),
]

SYSTEM_ADMINS = ("admin",)


def district(
    *,
    people: dict[str, dict] | None = None,
    departments: dict[str, dict] | None = None,
    agencies: dict[str, dict] | None = None,
    extra_people: tuple[PersonView, ...] = (),
    system_admins: tuple[str, ...] = SYSTEM_ADMINS,
) -> OrgView:
    """The mini district, with fields of some people, departments or agencies replaced."""
    people = people or {}
    departments = departments or {}
    agencies = agencies or {}
    return OrgView.build(
        [dataclasses.replace(p, **people.get(p.uid, {})) for p in PEOPLE] + list(extra_people),
        [dataclasses.replace(d, **departments.get(d.id, {})) for d in DEPARTMENTS],
        [dataclasses.replace(a, **agencies.get(a.id, {})) for a in AGENCIES],
        system_admin_uids=system_admins,
    )

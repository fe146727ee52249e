"""The dashboard's figures read from the database, against the hand-computed values of the fixed
data set (tests/support/stats.py), on SQLite and PostgreSQL; and its cost does not grow with the data."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from tests.support.stats import NOW, PERIOD, insert_dataset
from tests.support.statements import counted


def dashboard(app, **args):
    from internal_affairs.stats.queries import StatsScope, get_dashboard, parse_filters

    with app.app_context():
        scope = StatsScope(True, frozenset())
        query = MultiDict({"from": PERIOD[0], "to": PERIOD[1]} | args)
        return get_dashboard(scope, parse_filters(query, scope, now=NOW), now=NOW)


def _pick(figures):
    return {k: figures[k] for k in ("volume", "finished", "median_days", "p90_days", "on_time_rate", "one_trip_rate")}


def test_the_figures_of_the_fixed_data_set(catalog_app):
    ids = insert_dataset(catalog_app)
    data = dashboard(catalog_app)
    assert data["unit"] == "working_days"
    assert data["totals"] == {"volume": 7, "finished": 6, "median_days": 3.0, "p90_days": 9.0, "on_time": 3,
                              "with_due": 5, "on_time_rate": 0.6, "one_trip": 4, "one_trip_rate": 0.6667,
                              "overdue_now": 1, "materials_missing": 1, "materials_overdue": 1}
    agencies = {a["agency"]["name"]: _pick(a) for a in data["by_agency"]}
    assert agencies == {
        "区教育局": {"volume": 4, "finished": 4, "median_days": 3.0, "p90_days": 9.0, "on_time_rate": 0.5,
                   "one_trip_rate": 0.75},
        "区财政局": {"volume": 3, "finished": 2, "median_days": 4.0, "p90_days": 8.0, "on_time_rate": 1.0,
                   "one_trip_rate": 0.5}}
    matters = {m["matter_type"]["code"]: _pick(m) for m in data["by_matter"]}
    assert matters["business_trip"] == {"volume": 4, "finished": 2, "median_days": 0.5, "p90_days": 1.0,
                                        "on_time_rate": 1.0, "one_trip_rate": 0.5}
    # steps of the cases finished in the period: leave 部门审核 1 and 3, 人事登记 2, business trip 部门审核 1
    steps = {(s["matter_type"]["code"], s["step"]): (s["count"], s["median_days"], s["p90_days"]) for s in data["steps"]}
    assert steps == {("leave", "部门审核"): (2, 2.0, 3.0), ("leave", "人事登记"): (1, 2.0, 2.0),
                     ("business_trip", "部门审核"): (1, 1.0, 1.0)}
    # approvers, slowest first: linxiaoyan 2; zhangwei 1, 3, 1 → median 1, p90 3
    assert [(a["uid"], a["count"], a["median_days"], a["p90_days"]) for a in data["approvers"]] == [
        ("linxiaoyan", 1, 2.0, 2.0), ("zhangwei", 3, 1.0, 3.0)]
    # F was due 14 October 17:30; on 16 October it is 2 working days late, and zhangwei has held it
    # since 12 October: 13, 14, 15, 16 → 4
    [overdue] = data["overdue"]["items"]
    assert overdue["case_id"] == ids["F"] and overdue["overdue_days"] == 2
    assert [(h["uid"], h["held_days"]) for h in overdue["holders"]] == [("zhangwei", 4)]
    assert [(m["case_id"], m["material"], m["overdue"]) for m in data["materials"]["items"]] == [(ids["F"], "proof", True)]
    ratings = data["ratings"]
    assert (ratings["count"], ratings["average"], ratings["low"]) == (3, 2.67, 2)
    assert ratings["distribution"] == {1: 1, 2: 1, 3: 0, 4: 0, 5: 1}
    assert {r["agency"]["name"]: (r["count"], r["average"]) for r in ratings["by_agency"]} == {
        "区教育局": (2, 3.5), "区财政局": (1, 1.0)}
    assert {(r["matter_type"]["code"], r["step"]): (r["count"], r["average"]) for r in ratings["by_step"]} == {
        ("leave", "部门审核"): (2, 3.5), ("leave", "人事登记"): (1, 2.0)}
    assert [(r["case_id"], r["score"]) for r in ratings["low_items"]] == [(ids["D"], 1), (ids["B"], 2)]
    # weeks from Monday 28 September: submitted A, B | C, E, H | F, I; finished - | A, C, E, G | B, D
    assert [(t["from"], t["volume"], t["finished"]) for t in data["trend"]] == [
        ("2026-09-28", 2, 0), ("2026-10-05", 3, 4), ("2026-10-12", 2, 2)]


def test_filters_narrow_every_figure(catalog_app):
    insert_dataset(catalog_app)
    with catalog_app.app_context():
        from sqlalchemy import select

        from internal_affairs.extensions import db
        from internal_affairs.org.models import Agency

        finance = db.session.execute(select(Agency.id).where(Agency.name == "区财政局")).scalar_one()
    data = dashboard(catalog_app, agency=str(finance), matter_type="leave")
    # 区财政局 leave: D (finished, 8, no due, one trip) and F (submitted in the period, overdue)
    assert _pick(data["totals"]) == {"volume": 1, "finished": 1, "median_days": 8.0, "p90_days": 8.0,
                                     "on_time_rate": None, "one_trip_rate": 1.0}
    assert data["totals"]["overdue_now"] == 1 and data["steps"] == [] and data["approvers"] == []
    assert data["ratings"]["count"] == 1 and data["ratings"]["low_items"][0]["score"] == 1
    narrow = dashboard(catalog_app, **{"from": "2026-10-13", "to": "2026-10-13"})
    assert _pick(narrow["totals"])["finished"] == 1  # only D finished on the 13th


def test_the_dashboard_costs_the_same_for_few_and_many_cases(catalog_app):
    insert_dataset(catalog_app)
    dashboard(catalog_app)  # the calendar's overrides are read once per process and kept
    with counted(catalog_app) as few:
        dashboard(catalog_app)
    insert_dataset(catalog_app)
    insert_dataset(catalog_app)
    with counted(catalog_app) as many:
        data = dashboard(catalog_app)
    assert data["totals"]["volume"] == 21
    assert len(few) == len(many) <= 16


def _scope(app, uid):
    from sqlalchemy import select

    from internal_affairs.errors import NotFound
    from internal_affairs.extensions import db
    from internal_affairs.org.models import Agency, Person
    from internal_affairs.org.queries import get_roles, system_admins
    from internal_affairs.stats.queries import get_stats_scope

    with app.app_context():
        person = db.session.execute(select(Person).where(Person.uid == uid)).scalar_one()
        try:
            scope = get_stats_scope(person, get_roles(person, system_admins()))
        except NotFound:
            return None
        if scope.district:
            return "district"
        return sorted(db.session.execute(select(Agency.name).where(Agency.id.in_(scope.agency_ids))).scalars())


def test_who_sees_which_agencies(make_app):
    from tests.support.app import load_demo

    app = make_app(IA_ADMINS="nobody")  # the demo's administrator is 区委书记 沈立衡: here he is not one
    load_demo(app)
    assert _scope(app, "shenliheng") == "district"  # 主要领导 of 区领导, whose members lead other agencies
    assert _scope(app, "zhouqiming") == "district"  # 分管领导 of 区领导
    assert _scope(app, "fanghuimin") == "district"  # 分管领导 of 区教育局 from 区领导
    assert _scope(app, "duhaiyan") == "district"  # HR of 区委组织部
    assert _scope(app, "yuanzhenhua") == "district"  # 组织部干部管理
    assert _scope(app, "wangguodong") == ["区教育局"]  # 主要领导
    assert _scope(app, "lixiaohong") == ["区教育局"]  # 分管 a department of it
    assert _scope(app, "linxiaoyan") == ["区教育局"]  # its HR
    assert _scope(app, "yemingxuan") is None  # a secretary of 区领导
    assert _scope(app, "zhangwei") is None  # a department head
    assert _scope(app, "xujing") is None

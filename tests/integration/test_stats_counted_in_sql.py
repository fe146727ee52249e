"""The dashboard's working days counted by the database (a running count per calendar day that
:class:`WorkDays` computes, looked up by day) give exactly the figures counted in Python: on the
fixed data set (tests/support/stats.py, around the 2026 holidays) with the running count covering
every day, part of them (cases submitted before the period are then counted in Python) or none,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from tests.support.stats import NOW, PERIOD, insert_dataset


def _dashboard(app):
    from internal_affairs.stats.queries import StatsScope, get_dashboard, parse_filters

    with app.app_context():
        scope = StatsScope(True, frozenset())
        query = MultiDict({"from": PERIOD[0], "to": PERIOD[1]})
        return get_dashboard(scope, parse_filters(query, scope, now=NOW), now=NOW)


@pytest.mark.parametrize("counted_before", [timedelta(days=400), timedelta(0), timedelta(days=-1000)],
                         ids=["all_days", "from_the_period", "no_day"])
def test_the_database_and_python_count_the_same_working_days(catalog_app, monkeypatch, counted_before):
    from internal_affairs.stats import queries

    insert_dataset(catalog_app)
    expected = _dashboard(catalog_app)
    monkeypatch.setattr(queries, "COUNTED_BEFORE", counted_before)
    data = _dashboard(catalog_app)
    assert data == expected
    # hand-computed (tests/integration/test_stats_dashboard.py): D, submitted before the period
    # across Mid-autumn and National Day, took 8 working days; E 0 → 区财政局's median 4, p90 8
    finance = next(a for a in data["by_agency"] if a["agency"]["name"] == "区财政局")
    assert (finance["finished"], finance["median_days"], finance["p90_days"]) == (2, 4.0, 8.0)
    assert (data["totals"]["median_days"], data["totals"]["p90_days"]) == (3.0, 9.0)
    steps = {(s["matter_type"]["code"], s["step"]): (s["count"], s["median_days"], s["p90_days"]) for s in data["steps"]}
    assert steps[("leave", "部门审核")] == (2, 2.0, 3.0)
    assert [(a["uid"], a["count"], a["median_days"], a["p90_days"]) for a in data["approvers"]] == [
        ("linxiaoyan", 1, 2.0, 2.0), ("zhangwei", 3, 1.0, 3.0)]
    assert [(t["from"], t["volume"], t["finished"]) for t in data["trend"]] == [
        ("2026-09-28", 2, 0), ("2026-10-05", 3, 4), ("2026-10-12", 2, 2)]


def test_a_year_is_counted_per_month(catalog_app):
    from internal_affairs.stats.queries import StatsScope, get_dashboard, parse_filters

    insert_dataset(catalog_app)
    with catalog_app.app_context():
        scope = StatsScope(True, frozenset())
        query = MultiDict({"from": "2025-10-17", "to": "2026-10-16"})
        data = get_dashboard(scope, parse_filters(query, scope, now=NOW), now=NOW)
    # every case but I (finished on the 19th) is in the year: submitted A–I but I counts, finished A–E, G
    trend = {t["from"]: (t["volume"], t["finished"]) for t in data["trend"]}
    assert len(trend) == 13 and {t["unit"] for t in data["trend"]} == {"month"}
    assert trend["2026-09-01"] == (4, 0) and trend["2026-10-01"] == (5, 6)
    assert (data["totals"]["volume"], data["totals"]["finished"]) == (9, 6)
    assert (data["totals"]["median_days"], data["totals"]["p90_days"]) == (3.0, 9.0)

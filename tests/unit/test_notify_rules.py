"""Pure rules around notifications and time limits: quiet hours, backoff, the route language's
``escalate_to``, the catalog's ``remind_before_hours`` and the new settings."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from internal_affairs.config import ConfigError, load_config
from internal_affairs.matters.schema import CatalogError, parse_matter
from internal_affairs.notify.rules import backoff, parse_hhmm, quiet_until
from internal_affairs.routing.dsl import RouteDefinitionError, parse_route


def test_quiet_hours_span_midnight_in_shanghai_time():
    start, end = 22 * 60, 7 * 60
    assert quiet_until(datetime(2026, 12, 2, 13, 59), start, end) is None  # 21:59
    assert quiet_until(datetime(2026, 12, 2, 14, 0), start, end) == datetime(2026, 12, 2, 23, 0)  # 22:00 → 07:00
    assert quiet_until(datetime(2026, 12, 2, 22, 30), start, end) == datetime(2026, 12, 2, 23, 0)  # 06:30
    assert quiet_until(datetime(2026, 12, 2, 23, 0), start, end) is None  # 07:00
    assert quiet_until(datetime(2026, 12, 2, 4, 0), 12 * 60, 14 * 60) == datetime(2026, 12, 2, 6, 0)  # a lunch break
    assert quiet_until(datetime(2026, 12, 2, 14, 0), None, None) is None


def test_backoff_doubles_up_to_a_cap():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(30) == timedelta(hours=6)


@pytest.mark.parametrize("text, minutes", [("00:00", 0), ("22:30", 1350), ("23:59", 1439), ("24:00", None),
                                           ("7:00", None), ("ab:cd", None), ("", None)])
def test_hhmm(text, minutes):
    assert parse_hhmm(text) == minutes


STEP = {"name": "审批", "approvers": {"kind": "department_head"}, "time_limit": 1}


def test_escalate_to_defaults_to_the_manager_and_is_checked():
    assert parse_route([STEP | {"on_timeout": "escalate"}]).steps[0].escalate_to == "manager"
    assert parse_route([STEP | {"on_timeout": "escalate", "escalate_to": "hr"}]).steps[0].escalate_to == "hr"
    assert parse_route([STEP | {"on_timeout": "remind"}]).steps[0].escalate_to is None
    with pytest.raises(RouteDefinitionError, match="escalate_to"):
        parse_route([STEP | {"on_timeout": "escalate", "escalate_to": "mayor"}])
    with pytest.raises(RouteDefinitionError, match="only with on_timeout: escalate"):
        parse_route([STEP | {"on_timeout": "remind", "escalate_to": "hr"}])


MATTER = {"code": "t", "name": "测试", "category": "测试", "basis": "测试", "owner_role": "hr", "time_limit": 1,
          "fields": [{"code": "reason", "label": "事由", "type": "text"}], "route": [STEP]}


def test_remind_before_hours_in_the_catalog():
    assert parse_matter(MATTER).remind_before_hours == Decimal(4)
    assert parse_matter(MATTER | {"remind_before_hours": 8}).remind_before_hours == Decimal(8)
    for bad in (0, 81, "soon", True):
        with pytest.raises(CatalogError, match="remind_before_hours"):
            parse_matter(MATTER | {"remind_before_hours": bad})


def test_notification_settings(tmp_path):
    config = load_config(str(tmp_path), environ={"IA_BASE_URL": "https://oa.jiahe.gov.cn", "IA_MAIL_FROM": "oa@jiahe.gov.cn"})
    assert (config["BASE_URL"], config["MAIL_FROM"], config["NOTIFY_MAX_ATTEMPTS"]) == (
        "https://oa.jiahe.gov.cn", "oa@jiahe.gov.cn", 8)
    for name, value in (("IA_BASE_URL", "oa.jiahe.gov.cn"), ("IA_MAIL_FROM", "not an address"),
                        ("IA_NOTIFY_MAX_ATTEMPTS", "0"), ("IA_SMTP_URL", "http://x")):
        with pytest.raises(ConfigError, match=name):
            load_config(str(tmp_path), environ={name: value})

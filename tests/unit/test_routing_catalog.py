"""Every route of the first catalog (``tests/support/routing.py``) parses, and the mini district
the routing tests resolve against is consistent."""

from __future__ import annotations

import pytest

from internal_affairs.routing.dsl import validate_route
from tests.support.routing import CATALOG, district


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_catalog_route_is_valid(code):
    assert validate_route(CATALOG[code], path=f"{code}.route") == []


def test_mini_district_is_consistent():
    org = district()
    for person in org.people.values():
        assert person.agency_id in org.agencies
        assert person.department_id in org.departments
        assert person.manager_uid is None or person.manager_uid in org.people
    assert org.is_principal_leader("wangguodong")
    assert org.is_leadership("lixiaohong") and not org.is_leadership("zhangwei")
    assert org.is_department_head("zhangwei") and not org.is_department_head("xujing")

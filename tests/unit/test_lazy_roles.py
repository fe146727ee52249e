"""A request's roles are read from the database only when something asks for them."""

from __future__ import annotations

from internal_affairs.auth import LazyRoles


def test_roles_are_loaded_once_and_only_when_asked():
    calls = []

    def load():
        calls.append(1)
        return {"hr", "admin"}

    roles = LazyRoles(load)
    assert calls == [], "making it reads nothing"
    assert "hr" in roles and "auditor" not in roles
    assert roles & {"admin", "auditor"} == {"admin"} and {"admin", "x"} & roles == {"admin"}
    assert sorted(roles | {"x"}) == ["admin", "hr", "x"] and roles - {"hr"} == {"admin"}
    assert len(roles) == 2 and sorted(roles) == ["admin", "hr"] and roles == {"hr", "admin"}
    assert calls == [1], "read once"


def test_no_roles_is_falsy_and_intersections_are_plain_sets():
    roles = LazyRoles(set)
    assert not roles and not roles & {"admin"}
    assert type(roles & {"admin"}) is set

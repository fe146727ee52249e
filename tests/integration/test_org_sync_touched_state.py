"""The state an incremental sync reads from the database is exactly the part the pure planner
needs (``org_sync.plan.touched_part`` of the whole state), on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from internal_affairs.clock import utcnow
from internal_affairs.org.actions import do_sync
from internal_affairs.org.queries import get_current_state, get_people_by_dn, get_touched_state, get_units_by_dn
from org_sync.model import DirGroup, Snapshot
from org_sync.plan import touched_part
from org_sync.snapshot import normalize_dn
from tests.support.app import BASE_DN, DEMO_LDIF


@pytest.fixture
def synced(app):
    with app.app_context():
        do_sync(acting_user=None, config=app.config, now=utcnow(), source=DEMO_LDIF, base_dn=BASE_DN)
    return app


def _by_uid(state, uid):
    return next(p for p in state.snapshot.people.values() if p.uid == uid)


def test_touched_state_is_the_part_the_planner_needs(synced):
    with synced.app_context():
        whole = get_current_state(BASE_DN)
        snap = whole.snapshot
        xujing, zhangwei, lixiaohong = (_by_uid(whole, u) for u in ("xujing", "zhangwei", "lixiaohong"))
        hr = next(g for g in snap.groups.values() if g.role_code == "hr")
        department = snap.units[zhangwei.unit_id]
        newcomer = replace(xujing, external_id="new-person", uid="newcomer", manager_id=lixiaohong.external_id)
        cases = [
            (Snapshot(BASE_DN, {}, {}, {}), set()),
            (Snapshot(BASE_DN, {}, {xujing.external_id: replace(xujing, title="副科长"),
                                    newcomer.external_id: newcomer}, {}), set()),
            (Snapshot(BASE_DN, {}, {}, {hr.external_id: replace(hr, member_ids=(xujing.external_id,))}),
             {zhangwei.external_id}),
            (Snapshot(BASE_DN, {}, {}, {"new-group": DirGroup("new-group", "cn=x", department.external_id,
                                                            "department_head", None, (xujing.external_id,))}),
             {department.external_id}),
        ]
        for delta, gone in cases:
            expected = touched_part(whole, delta, gone)
            loaded, active_people, active_units = get_touched_state(delta, gone, BASE_DN)
            assert loaded.snapshot.units == expected.snapshot.units
            assert loaded.snapshot.people == expected.snapshot.people
            assert loaded.snapshot.groups == expected.snapshot.groups
            assert loaded.inactive == expected.inactive
            assert active_people == sum(1 for k in snap.people if k not in whole.inactive)
            assert active_units == sum(1 for k in snap.units if k not in whole.inactive)


def test_references_resolve_by_dn_however_the_server_spells_them(synced):
    with synced.app_context():
        whole = get_current_state(BASE_DN)
        xujing = _by_uid(whole, "xujing")
        unit = whole.snapshot.units[xujing.unit_id]
        spellings = [xujing.dn, xujing.dn.upper(), xujing.dn.replace(",", ", ")]
        for dn in spellings:
            assert get_people_by_dn([dn]) == {normalize_dn(xujing.dn): ("person", xujing.external_id)}
        assert get_people_by_dn(["uid=nobody," + BASE_DN]) == {}
        found = get_units_by_dn([unit.dn.upper()])
        assert unit.external_id in found and unit.agency_id in found

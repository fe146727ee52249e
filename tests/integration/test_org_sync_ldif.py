"""Directory sync from an LDIF export, applied to the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from internal_affairs.audit.actions import verify_chain
from internal_affairs.clock import utcnow
from internal_affairs.extensions import db
from internal_affairs.org.actions import SyncBlocked, SyncFailed, do_sync
from internal_affairs.org.models import OrgGroupMember, Person, SyncRun
from internal_affairs.org.queries import get_leader_chain, get_person_by_uid, get_roles
from tests.support.app import BASE_DN, DEMO_LDIF
from tests.support.ldif_edit import Directory
from tests.support.audit import tampering


def sync(app, path, **kw):
    with app.app_context():
        run = do_sync(acting_user=None, config=app.config, now=utcnow(), source=path, base_dn=BASE_DN, **kw)
        return run.id, run.status, dict(run.counts)


@pytest.fixture
def directory():
    return Directory.load(DEMO_LDIF)


def test_initial_sync_builds_the_org_chart(app):
    _, status, counts = sync(app, DEMO_LDIF)
    assert status == "applied" and counts["person.create"] == 86 and counts["agency.create"] == 7
    with app.app_context():
        xujing = get_person_by_uid("xujing")
        chain = [p.uid for p in get_leader_chain(xujing)]
        assert chain[:5] == ["zhangwei", "lixiaohong", "wangguodong", "fanghuimin", "zhouqiming"]
        assert xujing.department.name == "基础教育科" and xujing.agency.name == "区教育局"
        assert "hr" in get_roles(get_person_by_uid("linxiaoyan"))
        assert "discipline_review" in get_roles(get_person_by_uid("yanming"))
        assert verify_chain().ok


def test_resync_without_changes_writes_nothing(app):
    sync(app, DEMO_LDIF)
    with app.app_context():
        stamps = db.session.execute(select(func.max(Person.updated_at))).scalar()
    _, status, counts = sync(app, DEMO_LDIF)
    assert status == "applied" and counts == {}
    with app.app_context():
        assert db.session.execute(select(func.max(Person.updated_at))).scalar() == stamps


def test_rename_move_manager_title_change(app, directory, tmp_path):
    sync(app, DEMO_LDIF)
    with app.app_context():
        before = get_person_by_uid("xujing")
        person_id, external_id = before.id, before.external_id
    directory.set("xujing", "cn", "徐静怡")
    directory.set("xujing", "displayName", "徐静怡")
    directory.set("xujing", "title", "四级主任科员")
    new_parent = directory.unit_dn("区教育局", "办公室")
    directory.move("xujing", new_parent)
    directory.set("xujing", "manager", directory.dn_of("lixiaohong"))
    _, status, counts = sync(app, directory.write(tmp_path / "changed.ldif"))
    assert status == "applied"
    assert counts == {"person.move": 1, "person.rename": 1, "person.update": 1}
    with app.app_context():
        after = get_person_by_uid("xujing")
        assert (after.id, after.external_id) == (person_id, external_id), "same person, history kept"
        assert after.name == "徐静怡" and after.title == "四级主任科员"
        assert after.department.name == "办公室" and after.manager.uid == "lixiaohong"


def test_login_rename_keeps_identity(app, directory, tmp_path):
    sync(app, DEMO_LDIF)
    with app.app_context():
        ident = get_person_by_uid("xujing").id
    directory.rename_uid("xujing", "xujing2")
    sync(app, directory.write(tmp_path / "renamed.ldif"))
    with app.app_context():
        assert get_person_by_uid("xujing2").id == ident
        assert db.session.execute(select(Person).where(Person.uid == "xujing")).first() is None


def test_removal_deactivates_and_return_reactivates(app, directory, tmp_path):
    sync(app, DEMO_LDIF)
    record = directory.remove("linxiaoyan")
    run_id, status, counts = sync(app, directory.write(tmp_path / "removed.ldif"))
    assert status == "applied" and counts["person.deactivate"] == 1
    with app.app_context():
        gone = get_person_by_uid("linxiaoyan")
        assert not gone.active and gone.deactivated_at is not None
        assert "hr" not in get_roles(gone)
        plan = db.session.get(SyncRun, run_id).plan
        assert any(w["code"] == "leader_vanishes" for w in plan["warnings"])
    directory.add(record)
    hr_group = next(i for i, (dn, a) in enumerate(directory.records)
                    if dn.startswith("cn=hr,ou=roles,ou=区教育局") or (a.get("cn") == [b"hr"] and "区教育局" in dn))
    directory.records[hr_group][1].setdefault("member", []).append(record[0].encode())
    _, status, counts = sync(app, directory.write(tmp_path / "back.ldif"))
    assert counts["person.reactivate"] == 1
    with app.app_context():
        back = get_person_by_uid("linxiaoyan")
        assert back.active and back.deactivated_at is None and "hr" in get_roles(back)


def test_wrong_base_dn_is_refused_and_changes_nothing(app):
    sync(app, DEMO_LDIF)
    with app.app_context():
        with pytest.raises(SyncBlocked) as info:
            do_sync(acting_user=None, config=app.config, now=utcnow(), source=DEMO_LDIF, base_dn="dc=wrong,dc=cn")
        assert {"base_empty", "people_shrink", "mass_deactivation"} <= set(info.value.details["refusals"])
        assert db.session.execute(select(func.count()).where(Person.active.is_(True))).scalar() == 86
        run = db.session.execute(select(SyncRun).order_by(SyncRun.id.desc())).scalars().first()
        assert run.status == "refused"


def test_mass_deactivation_refused_then_forced(app, directory, tmp_path):
    sync(app, DEMO_LDIF)
    for uid in directory.people_uids()[40:60]:
        directory.remove(uid)
    path = directory.write(tmp_path / "shrunk.ldif")
    with app.app_context():
        with pytest.raises(SyncBlocked):
            do_sync(acting_user=None, config=app.config, now=utcnow(), source=path, base_dn=BASE_DN)
        assert db.session.execute(select(func.count()).where(Person.active.is_(True))).scalar() == 86
    _, status, counts = sync(app, path, force=True)
    assert status == "applied" and counts["person.deactivate"] == 20


def test_dry_run_records_plan_without_changing(app, directory, tmp_path):
    sync(app, DEMO_LDIF)
    directory.set("xujing", "title", "副科长")
    run_id, status, counts = sync(app, directory.write(tmp_path / "x.ldif"), dry_run=True)
    assert status == "planned" and counts == {"person.update": 1}
    with app.app_context():
        assert get_person_by_uid("xujing").title == "科员"


def test_unreadable_file_fails_cleanly(app, tmp_path):
    bad = tmp_path / "bad.ldif"
    bad.write_bytes(b"dn: cn=x\nthis is not ldif\x00\n")
    with app.app_context():
        with pytest.raises(SyncFailed):
            do_sync(acting_user=None, config=app.config, now=utcnow(), source=bad, base_dn=BASE_DN)
        run = db.session.execute(select(SyncRun)).scalars().one()
        assert run.status == "failed" and run.errors


def test_group_membership_changes(app, directory, tmp_path):
    sync(app, DEMO_LDIF)
    i = next(i for i, (dn, a) in enumerate(directory.records) if a.get("cn") == [b"hr"] and "区教育局" in dn)
    directory.records[i][1]["member"].append(directory.dn_of("xujing").encode())
    _, _, counts = sync(app, directory.write(tmp_path / "g.ldif"))
    assert counts == {"group.update": 1}
    with app.app_context():
        assert "hr" in get_roles(get_person_by_uid("xujing"))


def test_cli_load_ldif_and_audit_verify(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["org", "load-ldif", str(DEMO_LDIF), "--dry-run"])
    assert result.exit_code == 0 and "planned" in result.output and "person.create=86" in result.output
    result = runner.invoke(args=["org", "load-ldif", str(DEMO_LDIF)])
    assert result.exit_code == 0 and "applied" in result.output
    result = runner.invoke(args=["org", "load-ldif", str(DEMO_LDIF), "--base-dn", "dc=nope,dc=cn"])
    assert result.exit_code != 0 and "安全检查" in result.output
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output


def test_audit_chain_detects_tampering(app):
    sync(app, DEMO_LDIF)
    sync(app, DEMO_LDIF)
    from internal_affairs.audit.models import AuditEvent

    with app.app_context():
        with tampering(db.session):  # as someone who owns the database (PostgreSQL refuses the application)
            event = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().first()
            event.data = {"counts": {"person.create": 1}}
        report = verify_chain()
        assert not report.ok and report.first_bad == 1
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "broken at event #1" in result.output


def test_large_first_sync_writes_every_row_as_read(app):
    """Big enough for the bulk path (COPY on PostgreSQL): every person lands with unit, manager
    and defaults, every group with its members, and a re-sync plans nothing."""
    from tests.support.directory import build_directory

    generated = build_directory(1500, seed=3, base_dn=BASE_DN)
    ldif = generated.to_ldif().encode()
    _, status, counts = sync(app, ldif)
    assert status == "applied" and counts["person.create"] == len(generated.people) >= 1500
    with app.app_context():
        rows = {p.uid: p for p in db.session.execute(select(Person)).scalars()}
        assert len(rows) == len(generated.people)
        for gen in generated.people:
            row = rows[gen.uid]
            assert (row.external_id, row.dn, row.name, row.title, row.mail) == (
                gen.entry_uuid, gen.dn, gen.name, gen.title, gen.mail)
            assert row.active is True and row.deactivated_at is None and row.local_password_hash is None
            assert (row.manager.uid if row.manager else None) == (gen.manager.uid if gen.manager else None)
            assert (row.department.name if row.department else None) == (gen.department or None)
            assert row.agency.name == gen.agency
        members = db.session.execute(select(func.count()).select_from(OrgGroupMember)).scalar()
        assert members == sum(len(set(m)) for m in generated.groups.values())
    _, status, counts = sync(app, ldif)
    assert status == "applied" and counts == {}

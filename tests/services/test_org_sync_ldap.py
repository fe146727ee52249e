"""The whole sync against a real slapd holding the demo district: CLI, HR page, API, login by bind."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from internal_affairs.extensions import db
from internal_affairs.org.models import Person, SyncRun
from internal_affairs.org.queries import get_leader_chain, get_person_by_uid, get_roles
from tests.support.app import DEMO_LDIF, api_token, csrf_token, login

BASE = "dc=jiahe,dc=gov,dc=cn"
RETIRED = "ou=retired,dc=gov,dc=cn"


@pytest.fixture
def directory(slapd_factory):
    server = slapd_factory(suffix="dc=gov,dc=cn")
    server.add_ldif(DEMO_LDIF.read_text(encoding="utf-8"))
    server.add(RETIRED, {"objectClass": ["top", "organizationalUnit"], "ou": "retired"})
    return server


@pytest.fixture
def ldap_app(make_app, directory):
    return make_app(IA_LDAP_URI=directory.uri, IA_LDAP_BASE_DN=BASE, IA_LDAP_BIND_DN=directory.reader_dn,
                    IA_LDAP_BIND_PASSWORD=directory.reader_password, IA_LOCAL_LOGIN="off", IA_LDAP_TIMEOUT="3")


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=["org", "sync", *args])
    return result.exit_code, result.output


def dn(uid, directory):
    return directory.search(BASE, f"(uid={uid})")[0][0]


def test_initial_then_incremental_sync_follows_every_kind_of_change(ldap_app, directory):
    code, out = cli(ldap_app, "--dry-run")
    assert code == 0 and "planned" in out and "person.create=86" in out
    with ldap_app.app_context():
        assert db.session.execute(select(Person)).first() is None, "a dry run changes nothing"
    code, out = cli(ldap_app)
    assert code == 0 and "applied (full)" in out, out
    code, out = cli(ldap_app)
    assert code == 0 and "applied (incremental)" in out and "changes: none" in out, out

    office = f"ou=办公室,ou=区教育局,{BASE}"
    directory.replace(dn("xujing", directory), title="四级主任科员", cn="徐静怡", displayName="徐静怡")
    directory.replace(dn("xujing", directory), manager=dn("lixiaohong", directory))
    directory.modrdn(dn("xujing", directory), "uid=xujing", new_superior=office)
    directory.modrdn(dn("guolei", directory), "uid=guolei", new_superior=RETIRED)
    code, out = cli(ldap_app)
    assert code == 0 and "incremental" in out, out
    with ldap_app.app_context():
        xujing = get_person_by_uid("xujing")
        assert (xujing.name, xujing.title, xujing.department.name) == ("徐静怡", "四级主任科员", "办公室")
        assert xujing.manager.uid == "lixiaohong"
        assert not get_person_by_uid("guolei").active

    directory.modrdn(f"uid=guolei,{RETIRED}", "uid=guolei", new_superior=f"ou=学前教育股,ou=基础教育科,ou=区教育局,{BASE}")
    code, out = cli(ldap_app)
    assert code == 0 and "person.reactivate=1" in out, out
    with ldap_app.app_context():
        assert get_person_by_uid("guolei").active


def test_full_resync_matches_incremental(ldap_app, directory):
    cli(ldap_app)
    directory.replace(dn("zhangwei", directory), title="科长（主持工作）")
    code, out = cli(ldap_app, "--full")
    assert code == 0 and "applied (full)" in out and "person.update=1" in out


def test_missing_base_dn_fails_and_changes_nothing(make_app, directory):
    app = make_app(IA_LDAP_URI=directory.uri, IA_LDAP_BASE_DN="ou=nowhere,dc=gov,dc=cn",
                   IA_LDAP_BIND_DN=directory.reader_dn, IA_LDAP_BIND_PASSWORD=directory.reader_password)
    code, out = cli(app)
    assert code != 0 and "读取目录失败" in out
    with app.app_context():
        assert db.session.execute(select(SyncRun.status)).scalar() == "failed"


def test_wrong_but_existing_base_dn_is_refused_by_the_guards(ldap_app, directory):
    """An administrator points the base at one bureau: the plan would deactivate everyone else."""
    cli(ldap_app)
    with ldap_app.app_context():
        from internal_affairs.clock import utcnow
        from internal_affairs.org.actions import SyncBlocked, do_sync

        config = dict(ldap_app.config, LDAP_BASE_DN=f"ou=区教育局,{BASE}")
        with pytest.raises(SyncBlocked) as info:
            do_sync(acting_user=None, config=config, now=utcnow(), full=True)
        assert {"people_shrink", "mass_deactivation"} <= set(info.value.details["refusals"])
        assert db.session.execute(select(Person).where(Person.active.is_(False))).first() is None


def test_unreachable_or_frozen_directory_fails_cleanly(ldap_app, directory):
    cli(ldap_app)
    with directory.frozen():
        code, out = cli(ldap_app)
    assert code != 0 and "读取目录失败" in out
    with ldap_app.app_context():
        assert db.session.execute(select(Person).where(Person.active.is_(False))).first() is None


def test_login_by_directory_bind(ldap_app, directory):
    cli(ldap_app)
    client = ldap_app.test_client()
    ok = client.post("/api/v1/auth/token", json={"username": "xujing", "password": "demo1234"})
    assert ok.status_code == 200
    assert client.post("/api/v1/auth/token", json={"username": "xujing", "password": "wrong"}).status_code == 401
    for hostile in ("*)(uid=*", "*", "xujing)(|(uid=*", "\\2a"):
        response = client.post("/api/v1/auth/token", json={"username": hostile, "password": "demo1234"})
        assert response.status_code == 401
    assert login(client, "zhangwei").status_code == 302


def test_directory_removal_blocks_login(ldap_app, directory):
    cli(ldap_app)
    directory.modrdn(dn("guolei", directory), "uid=guolei", new_superior=RETIRED)
    cli(ldap_app)
    client = ldap_app.test_client()
    assert client.post("/api/v1/auth/token", json={"username": "guolei", "password": "demo1234"}).status_code == 401


def test_hr_reviews_a_plan_on_the_page_then_applies_it(ldap_app, directory):
    cli(ldap_app)
    directory.replace(dn("xujing", directory), title="副科长")
    client = ldap_app.test_client()
    assert login(client, "duhaiyan").status_code == 302, "HR of 区委组织部, the district HR agency"
    token = csrf_token(client, "/org/sync")
    response = client.post("/org/sync", data={"csrf_token": token, "preview-csrf_token": token}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "待执行" in page and "副科长" in page and "确认执行此计划" in page
    assert "区教育局 / 基础教育科" in page, "the page says where the person works"
    run_id = re.search(r'name="apply-run_id" type="hidden" value="(\d+)"', page).group(1)
    with ldap_app.app_context():
        assert get_person_by_uid("xujing").title == "科员"
    response = client.post("/org/sync", data={"csrf_token": token, "apply-csrf_token": token, "apply-run_id": run_id},
                           follow_redirects=True)
    assert "已执行" in response.get_data(as_text=True)
    with ldap_app.app_context():
        assert get_person_by_uid("xujing").title == "副科长"


def test_api_dry_run_then_apply_and_stale_plan(ldap_app, directory):
    cli(ldap_app)
    client = ldap_app.test_client()
    hr = api_token(client, "duhaiyan")
    directory.replace(dn("xujing", directory), title="副科长")
    planned = client.post("/api/v1/org/sync", json={"dry_run": True}, headers=hr)
    assert planned.status_code == 200 and planned.get_json()["counts"] == {"person.update": 1}
    directory.replace(dn("zhangwei", directory), title="科长（主持）")
    stale = client.post("/api/v1/org/sync", json={"apply_run": planned.get_json()["id"]}, headers=hr)
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "sync_plan_changed"
    newer = stale.get_json()["error"]["details"]["run_id"]
    applied = client.post("/api/v1/org/sync", json={"apply_run": newer}, headers=hr)
    assert applied.status_code == 201 and applied.get_json()["status"] == "applied"
    runs = client.get("/api/v1/org/sync-runs", headers=hr).get_json()
    assert runs["total"] >= 4 and runs["items"][0]["status"] == "applied"
    clerk = api_token(client, "xujing")
    assert client.post("/api/v1/org/sync", json={"dry_run": True}, headers=clerk).status_code == 403
    agency_hr = api_token(client, "linxiaoyan")
    assert client.post("/api/v1/org/sync", json={"dry_run": True}, headers=agency_hr).status_code == 403
    assert client.post("/api/v1/org/sync", json={"apply_run": newer}, headers=agency_hr).status_code == 403
    assert client.post("/api/v1/org/sync", json={"dry_run": "yes"}, headers=hr).status_code == 422
    assert client.post("/api/v1/org/sync", json={"apply_run": 99999}, headers=hr).status_code == 404


def test_preview_after_directory_sync(ldap_app, directory):
    from internal_affairs.clock import utcnow
    from internal_affairs.matters.actions import do_load_catalog

    cli(ldap_app)
    with ldap_app.app_context():
        do_load_catalog(acting_user=None, now=utcnow())
        assert [p.uid for p in get_leader_chain(get_person_by_uid("xujing"))][0] == "zhangwei"
        assert "hr" in get_roles(get_person_by_uid("linxiaoyan"))
    client = ldap_app.test_client()
    headers = api_token(client, "wangguodong")
    body = client.post("/api/v1/route-preview", headers=headers, json={"matter_type": "overseas_travel", "form": {
        "destinations": ["JP"], "start_date": "2027-01-04", "end_date": "2027-01-08", "purpose": "tourism",
        "reason": "旅游"}}).get_json()
    assert body["steps"][0]["approvers"] == ["fanghuimin"]


def test_sync_over_starttls(make_app, directory):
    app = make_app(IA_LDAP_URI=directory.uri, IA_LDAP_BASE_DN=BASE, IA_LDAP_BIND_DN=directory.reader_dn,
                   IA_LDAP_BIND_PASSWORD=directory.reader_password, IA_LDAP_STARTTLS="on",
                   IA_LDAP_CA_FILE=directory.ca_file)
    code, out = cli(app, "--dry-run")
    assert code == 0 and "person.create=86" in out, out
    untrusted = make_app(IA_LDAP_URI=directory.uri, IA_LDAP_BASE_DN=BASE, IA_LDAP_BIND_DN=directory.reader_dn,
                         IA_LDAP_BIND_PASSWORD=directory.reader_password, IA_LDAP_STARTTLS="on",
                         IA_LDAP_CA_FILE="/etc/ssl/certs/ca-certificates.crt")
    code, out = cli(untrusted, "--dry-run")
    assert code != 0 and "读取目录失败" in out


def test_incremental_removals_and_role_changes_leave_what_a_full_read_would(ldap_app, directory):
    """A leader who leaves (manager of others, member of leadership groups), a whole department
    deleted, and a role group changed: the incremental sync writes what a full read would, and
    a full re-read afterwards plans nothing."""
    import ldap
    import ldap.filter

    from internal_affairs.clock import utcnow
    from internal_affairs.org.actions import do_sync

    cli(ldap_app)
    zhangwei = dn("zhangwei", directory)
    reports = [d for d, _ in directory.search(BASE, f"(manager={ldap.filter.escape_filter_chars(zhangwei)})")]
    held = [d for d, _ in directory.search(BASE, f"(member={ldap.filter.escape_filter_chars(zhangwei)})")]
    assert reports and held
    hr = directory.search(f"ou=区教育局,{BASE}", "(&(objectClass=groupOfNames)(cn=hr))")[0][0]
    directory.modify(hr, [(ldap.MOD_ADD, "member", dn("xujing", directory))])
    directory.delete(zhangwei)
    preschool = f"ou=学前教育股,ou=基础教育科,ou=区教育局,{BASE}"
    gone_people = [p for p, _ in directory.search(preschool, "(objectClass=inetOrgPerson)")]
    directory.delete(preschool, recursive=True)

    with ldap_app.app_context():
        run = do_sync(acting_user=None, config=ldap_app.config, now=utcnow(), dry_run=True)
        assert run.mode == "incremental"
        codes = {w["code"] for w in run.plan["warnings"]}
        assert "leader_vanishes" in codes
        assert run.counts["person.deactivate"] == 1 + len(gone_people)
        assert run.counts["department.deactivate"] == 1
    code, out = cli(ldap_app, "--dry-run")
    assert code == 0 and "guards:" in out and "- zhangwei  张伟  (区教育局 / 基础教育科)" in out, out
    assert out.index("warning [leader_vanishes]: 张伟（zhangwei）") < out.index("changes:")
    code, out = cli(ldap_app, "--dry-run", "--json")
    plan = json.loads(out)["plan"]
    assert code == 0 and "zhangwei" in {c["uid"] for c in plan["changes"] if c["action"] == "deactivate"}
    code, out = cli(ldap_app)
    assert code == 0 and "applied (incremental)" in out, out
    with ldap_app.app_context():
        assert not get_person_by_uid("zhangwei").active
        for report in set(reports) - set(gone_people):
            assert get_person_by_uid(report.split(",")[0][4:]).manager is None
        assert "hr" in get_roles(get_person_by_uid("xujing"))
    code, out = cli(ldap_app, "--full", "--dry-run")
    assert code == 0 and "changes: none" in out, out

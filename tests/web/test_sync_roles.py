"""Who runs the district-wide directory sync and who sees what of it (issue 11): administrators and
HR of the district HR agency (区委组织部) run it and see everything; an agency's HR sees only their
agency's changes and cannot start or apply a sync. Pages and API, SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from tests.support.app import api_token, csrf_token, load_demo, login

EDUCATION_PEOPLE = 16  # demo/README.md
DISTRICT_PEOPLE = 86


def _demo_run(client, headers):
    runs = client.get("/api/v1/org/sync-runs", headers=headers)
    assert runs.status_code == 200, runs.get_json()
    return runs.get_json()["items"][-1]


def _agency_external_id(app, name):
    from sqlalchemy import select

    from internal_affairs.extensions import db
    from internal_affairs.org.models import Agency

    with app.app_context():
        return db.session.execute(select(Agency.external_id).where(Agency.name == name)).scalar_one()


@pytest.mark.parametrize("uid", ["duhaiyan", "shenliheng"])
def test_district_hr_and_administrators_see_the_whole_run_and_may_sync(demo_client, uid):
    headers = api_token(demo_client, uid)
    run = _demo_run(demo_client, headers)
    assert run["scope"] == "district" and run["counts"]["person.create"] == DISTRICT_PEOPLE
    detail = demo_client.get(f"/api/v1/org/sync-runs/{run['id']}", headers=headers).get_json()
    assert detail["plan"]["changes_total"] == len(detail["plan"]["changes"]) > DISTRICT_PEOPLE
    started = demo_client.post("/api/v1/org/sync", json={"dry_run": True}, headers=headers)
    assert started.status_code == 422 and started.get_json()["error"]["code"] == "ldap_not_configured", \
        "allowed to sync: refused only because the demo has no directory server"
    login(demo_client, uid)
    page = demo_client.get("/org/sync").get_data(as_text=True)
    assert "agency-scope" not in page and "尚未配置目录服务" in page, "district HR is offered the sync"
    run_page = demo_client.get(f"/org/sync/runs/{run['id']}").get_data(as_text=True)
    assert "许文斌（xuwenbin）" in run_page and "徐静（xujing）" in run_page


def test_agency_hr_sees_only_their_agency_and_cannot_start_or_apply(demo_app, demo_client):
    education = _agency_external_id(demo_app, "区教育局")
    headers = api_token(demo_client, "linxiaoyan")
    run = _demo_run(demo_client, headers)
    assert run["scope"] == "agency" and run["counts"]["person.create"] == EDUCATION_PEOPLE
    assert run["errors"] == []
    detail = demo_client.get(f"/api/v1/org/sync-runs/{run['id']}", headers=headers).get_json()
    changes = detail["plan"]["changes"]
    assert changes and all(education in c["agencies"] for c in changes)
    labels = {c["label"] for c in changes}
    assert "徐静（xujing）" in labels and "许文斌（xuwenbin）" not in labels
    assert set(detail["plan"]["agency_counts"]) == {education}

    for body in ({"dry_run": True}, {"full": True}, {"apply_run": run["id"]}):
        refused = demo_client.post("/api/v1/org/sync", json=body, headers=headers)
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden", body

    login(demo_client, "linxiaoyan")
    page = demo_client.get("/org/sync").get_data(as_text=True)
    assert "agency-scope" in page and "预览同步计划" not in page
    assert re.search(r'class="run-changes">(\d+)<', page).group(1) == str(sum(run["counts"].values()))
    run_page = demo_client.get(f"/org/sync/runs/{run['id']}").get_data(as_text=True)
    assert "徐静（xujing）" in run_page and "许文斌（xuwenbin）" not in run_page and "确认执行此计划" not in run_page
    token = csrf_token(demo_client, "/org/sync")
    for data in ({"preview-csrf_token": token}, {"apply-csrf_token": token, "apply-run_id": str(run["id"])}):
        assert demo_client.post("/org/sync", data={"csrf_token": token, **data}).status_code == 403


def test_people_without_hr_see_no_sync_runs(demo_client):
    headers = api_token(demo_client, "xujing")
    assert demo_client.get("/api/v1/org/sync-runs", headers=headers).status_code == 403
    assert demo_client.get("/api/v1/org/sync-runs/1", headers=headers).status_code == 403
    assert demo_client.post("/api/v1/org/sync", json={"dry_run": True}, headers=headers).status_code == 403
    login(demo_client, "xujing")
    assert demo_client.get("/org/sync").status_code == 403
    assert demo_client.get("/org/sync/runs/1").status_code == 403


def test_the_district_hr_agency_is_configurable(make_app):
    app = make_app(IA_DISTRICT_HR_AGENCY="区教育局")
    load_demo(app)
    client = app.test_client()
    education_hr = api_token(client, "linxiaoyan")
    assert _demo_run(client, education_hr)["scope"] == "district"
    organisation_hr = api_token(client, "duhaiyan")
    assert _demo_run(client, organisation_hr)["scope"] == "agency"
    assert client.post("/api/v1/org/sync", json={"dry_run": True}, headers=organisation_hr).status_code == 403


def test_an_unknown_district_hr_agency_leaves_the_district_sync_to_administrators(make_app):
    app = make_app(IA_DISTRICT_HR_AGENCY="区气象局")
    load_demo(app)
    client = app.test_client()
    assert _demo_run(client, api_token(client, "duhaiyan"))["scope"] == "agency"
    assert _demo_run(client, api_token(client, "shenliheng"))["scope"] == "district"

"""Who may see a case (every role × every case route) and bad input on every case endpoint."""

from __future__ import annotations

from io import BytesIO

import pytest

from tests.support.app import api_token

LEAVE = {"leave_type": "annual", "start_date": "2026-12-07", "end_date": "2026-12-07", "reason": "家事"}


@pytest.fixture
def world(catalog_app):
    """A submitted leave of xujing with one attachment, approved by zhangwei, CC'd to guolei."""
    c = catalog_app.test_client()
    tokens = {}

    def t(uid):
        tokens.setdefault(uid, api_token(c, uid))
        return tokens[uid]

    case = c.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE, "submit": False}, headers=t("xujing")).get_json()
    att = c.post(f"/api/v1/cases/{case['id']}/attachments", headers=t("xujing"), content_type="multipart/form-data",
                 data={"material": "medical_certificate", "file": (BytesIO(b"%PDF-1.4\n%x\n"), "证明.pdf")}).get_json()
    case = c.post(f"/api/v1/cases/{case['id']}/submit", headers=t("xujing")).get_json()
    task = next(x["id"] for x in case["steps"][0]["tasks"])
    c.post(f"/api/v1/tasks/{task}/decision", json={"decision": "approve"}, headers=t("zhangwei"))
    c.post(f"/api/v1/cases/{case['id']}/cc", json={"to": ["guolei"]}, headers=t("xujing"))
    return c, t, case["id"], att["id"], task


READERS = ["xujing", "zhangwei", "guolei", "linxiaoyan", "haowenbo", "shenliheng"]
OUTSIDERS = ["liujia", "yanming", "duhaiyan", "hanzhengqing", "wangguodong"]


@pytest.mark.parametrize("uid", READERS + OUTSIDERS)
def test_visibility_matrix(world, uid):
    c, t, case_id, att_id, _task = world
    routes = [f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/attachments",
              f"/api/v1/cases/{case_id}/attachments/{att_id}"]
    for path in routes:
        status = c.get(path, headers=t(uid)).status_code
        assert status == (200 if uid in READERS else 404), (uid, path, status)
    if uid in OUTSIDERS:
        for path, body in [(f"/api/v1/cases/{case_id}/withdraw", {}), (f"/api/v1/cases/{case_id}/remind", None),
                           (f"/api/v1/cases/{case_id}/cc", {"to": ["liujia"]}),
                           (f"/api/v1/cases/{case_id}/resubmit", {"form": LEAVE}),
                           (f"/api/v1/cases/{case_id}/submit", {})]:
            response = c.post(path, json=body, headers=t(uid)) if body is not None else c.post(path, headers=t(uid))
            assert response.status_code == 404, (uid, path, response.status_code)
        upload = c.post(f"/api/v1/cases/{case_id}/attachments", headers=t(uid), content_type="multipart/form-data",
                        data={"material": "medical_certificate", "file": (BytesIO(b"%PDF-1.4\n"), "x.pdf")})
        assert upload.status_code == 404


def test_readers_who_are_not_the_applicant_cannot_act_for_them(world):
    c, t, case_id, _att, task = world
    for uid in ("haowenbo", "linxiaoyan", "guolei", "zhangwei"):
        assert c.post(f"/api/v1/cases/{case_id}/withdraw", json={}, headers=t(uid)).status_code == 403
        assert c.post(f"/api/v1/cases/{case_id}/remind", headers=t(uid)).status_code == 403
    case = c.get(f"/api/v1/cases/{case_id}", headers=t("xujing")).get_json()
    hr_task = next(x["id"] for x in case["steps"][2]["tasks"] if x["assignee"] == "linxiaoyan")
    assert c.post(f"/api/v1/tasks/{hr_task}/decision", json={"decision": "done"}, headers=t("haowenbo")).status_code == 403, "auditors read, never act"
    assert c.post(f"/api/v1/tasks/{hr_task}/decision", json={"decision": "done"}, headers=t("guolei")).status_code == 403


def test_task_ids_of_foreign_cases_are_404(world):
    c, t, _case_id, _att, task = world
    for uid in OUTSIDERS:
        for path in (f"/api/v1/tasks/{task}/decision", f"/api/v1/tasks/{task}/transfer", f"/api/v1/tasks/{task}/consult",
                     f"/api/v1/tasks/{task}/add-approver", f"/api/v1/tasks/{task}/withdraw-decision",
                     f"/api/v1/tasks/{task}/remove-approver"):
            body = {"decision": "approve"} if path.endswith("decision") else {"to": "liujia"}
            response = c.post(path, json=body, headers=t(uid)) if not path.endswith(("withdraw-decision", "remove-approver")) \
                else c.post(path, headers=t(uid))
            assert response.status_code == 404, (uid, path, response.status_code)


HUGE = "批" * 100_000
BAD_BODIES = [
    (b"{not json", "application/json"),
    (b"[]", "application/json"),
    (b"\"just a string\"", "application/json"),
    (b"decision=approve", "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize("path", [
    "/api/v1/cases", "/api/v1/cases/{case}/withdraw", "/api/v1/cases/{case}/resubmit", "/api/v1/cases/{case}/cc",
    "/api/v1/cases/{case}/submit", "/api/v1/tasks/{task}/decision", "/api/v1/tasks/{task}/transfer",
    "/api/v1/tasks/{task}/consult", "/api/v1/tasks/{task}/add-approver", "/api/v1/tasks/batch-decision",
    "/api/v1/route-preview",
])
def test_bad_input_is_a_clear_4xx(world, path):
    c, t, case_id, _att, task = world
    url = path.format(case=case_id, task=task)
    headers = t("xujing")
    for body, content_type in BAD_BODIES:
        response = c.post(url, data=body, content_type=content_type, headers=headers)
        assert 400 <= response.status_code < 500, (url, body, response.status_code)
        assert response.get_json()["error"]["message"]
    for payload in ({"decision": 5, "comment": ["x"], "to": {"a": 1}, "form": "x", "task_ids": "all"},
                    {"decision": "approve", "comment": HUGE, "to": HUGE, "form": {"reason": HUGE}},
                    {"matter_type": {"$ne": 1}, "unexpected": True}, {}):
        response = c.post(url, json=payload, headers=headers)
        assert 400 <= response.status_code < 500, (url, payload.keys(), response.status_code, response.get_json())
        assert response.get_json()["error"]["code"]


@pytest.mark.parametrize("path", ["/api/v1/cases/999999", "/api/v1/cases/0", "/api/v1/cases/abc",
                                  "/api/v1/cases/99999999999999999999", "/api/v1/tasks/999999/decision"])
def test_unknown_ids_are_404(world, path):
    c, t, *_ = world
    response = c.post(path, json={"decision": "approve"}, headers=t("xujing")) if "tasks" in path else \
        c.get(path, headers=t("xujing"))
    assert response.status_code == 404 and response.get_json()["error"]["code"] in ("not_found",)


def test_unauthenticated_requests_are_401(world):
    c, _t, case_id, *_ = world
    assert c.get(f"/api/v1/cases/{case_id}").status_code == 401
    assert c.get("/api/v1/inbox").status_code == 401
    assert c.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE}).status_code in (400, 401)

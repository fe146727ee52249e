"""Bad input to the document endpoints is a 4xx with a message and changes nothing: malformed
JSON, bodies that are not objects, wrong types, ids of another agency's departments or of another
document's files, oversized scans, and someone else's document (404 to those who may not see it,
403 to those who see it but may not act)."""

from __future__ import annotations

import io

import pytest

from tests.support.app import csrf_token, login
from tests.support.cases import open_task, token
from tests.support.documents import (DRAFTER, LEADER, OUTSIDER, RECIPIENT_CLERK, REVIEWER, case_of, create,
                                     decide_task, document)


def _issued(client) -> tuple[dict, int]:
    """An outgoing document signed off and delivered to 区教育局, and its incoming copy's id there."""
    doc = create(client, submit=True, countersign=[], cc_to=[])
    decide_task(client, LEADER, decide_task(client, REVIEWER, case_of(client, DRAFTER, doc)))
    incoming = client.get("/api/v1/documents?box=incoming", headers=token(client, RECIPIENT_CLERK)).get_json()
    return doc, incoming["items"][0]["id"]


def test_malformed_or_non_object_bodies_are_refused(docs_app):
    client = docs_app.test_client()
    draft = create(client)
    doc, incoming = _issued(client)
    for path, uid in (("/api/v1/documents", DRAFTER), (f"/api/v1/documents/{draft['id']}/versions", DRAFTER),
                      (f"/api/v1/documents/{incoming}/register", RECIPIENT_CLERK),
                      (f"/api/v1/documents/{incoming}/instruct", RECIPIENT_CLERK)):
        for data in ("{", "[1, 2]", '"title"', "null"):
            response = client.post(path, data=data, content_type="application/json", headers=token(client, uid))
            assert response.status_code in (400, 422), (path, data, response.get_json())
            assert response.get_json()["error"]["message"], (path, data)
    assert [v["number"] for v in document(client, DRAFTER, draft["id"])["versions"]] == [1]
    assert document(client, RECIPIENT_CLERK, incoming)["status"] == "delivered"


@pytest.mark.parametrize("payload, field", [
    ({"note": 5}, "note"), ({"note": "改" * 501}, "note"), ({"title": ["标题"]}, "title"),
    ({"main_to": [True]}, "main_to"), ({"cc_to": [{"id": 4}]}, "cc_to"), ({"series": 12}, "series"),
    ({"series": "没有的系列"}, "series"), ({"urgency": 1}, "urgency"), ({"countersign": [None]}, "countersign"),
])
def test_a_version_with_wrong_types_is_422_and_saves_nothing(docs_app, payload, field):
    client = docs_app.test_client()
    draft = create(client)
    response = client.post(f"/api/v1/documents/{draft['id']}/versions", json=payload, headers=token(client, DRAFTER))
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"], response.get_json()
    assert [v["number"] for v in document(client, DRAFTER, draft["id"])["versions"]] == [1]


def test_someone_elses_document_is_404_or_403_and_unchanged(docs_app):
    client = docs_app.test_client()
    draft = create(client)
    base = f"/api/v1/documents/{draft['id']}"
    # a draft is its drafter's alone: the reviewer-to-be and outsiders do not see it
    for uid in (REVIEWER, OUTSIDER, RECIPIENT_CLERK):
        headers = token(client, uid)
        assert client.get(base, headers=headers).status_code == 404
        assert client.get(f"{base}/diff?from=1&to=1", headers=headers).status_code == 404
        assert client.post(f"{base}/versions", json={"title": "改"}, headers=headers).status_code == 404
        assert client.post(f"{base}/submit", headers=headers).status_code == 404
        assert client.post(f"{base}/withdraw", headers=headers).status_code == 404
    assert client.post(f"{base}/submit", headers=token(client, DRAFTER)).status_code == 200
    # under review the reviewer sees it and may edit the text, but neither submit nor withdraw it
    assert client.post(f"{base}/withdraw", headers=token(client, REVIEWER)).status_code == 403
    assert client.post(f"{base}/submit", headers=token(client, REVIEWER)).status_code in (403, 409)
    # the leader, whose step comes later, sees nothing yet
    assert client.post(f"{base}/versions", json={"title": "改"}, headers=token(client, LEADER)).status_code == 404
    assert document(client, DRAFTER, draft["id"])["status"] == "in_progress"
    assert [v["number"] for v in document(client, DRAFTER, draft["id"])["versions"]] == [1]
    # the recipient's clerk cannot register a document of another agency, nor an outgoing one
    response = client.post(f"{base}/register", json={"handlers": [13]}, headers=token(client, DRAFTER))
    assert response.status_code == 404


def test_foreign_ids_are_refused(docs_app):
    client = docs_app.test_client()
    doc, incoming = _issued(client)
    path = f"/api/v1/documents/{incoming}/register"
    headers = token(client, RECIPIENT_CLERK)
    for payload, field in (({"handlers": [8]}, "handlers"),            # 区委组织部's 办公室, not a 区教育局 department
                           ({"handlers": [999999]}, "handlers"), ({"handlers": ["13"]}, "handlers"),
                           ({"handlers": [13], "readers": ["nobody-here"]}, "readers"),
                           ({"handlers": [13], "readers": [True]}, "readers"), ({"handlers": []}, "handlers")):
        response = client.post(path, json=payload, headers=headers)
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"], payload
    assert document(client, RECIPIENT_CLERK, incoming)["status"] == "delivered"
    # a signature or a version of another document is not reachable through this one
    assert client.get(f"/api/v1/documents/{incoming}/signatures/1.png", headers=headers).status_code == 404
    for query in ("from=1&to=99", "from=x&to=1", "to=1"):
        response = client.get(f"/api/v1/documents/{doc['id']}/diff?{query}", headers=token(client, DRAFTER))
        assert response.status_code in (404, 422), query


def test_oversized_scans_are_refused(docs_app):
    client = docs_app.test_client()
    form = {"title": "纸质来文", "handlers": "14"}
    headers = token(client, RECIPIENT_CLERK)
    big = b"%PDF-1.4\n" + b"0" * (docs_app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/api/v1/documents/paper", headers=headers,
                           data=form | {"file": (io.BytesIO(big), "scan.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 413
    limit = docs_app.config["MAX_CONTENT_LENGTH"]
    docs_app.config["MAX_CONTENT_LENGTH"] = None  # the service's own limit holds behind a larger upload limit
    try:
        response = client.post("/api/v1/documents/paper", headers=headers,
                               data=form | {"file": (io.BytesIO(big), "scan.pdf")},
                               content_type="multipart/form-data")
    finally:
        docs_app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 422 and "file" in response.get_json()["error"]["fields"]
    assert client.get("/api/v1/documents?box=incoming", headers=headers).get_json()["total"] == 0


def test_the_pages_flash_bad_input_and_change_nothing(docs_app):
    client = docs_app.test_client()
    doc = create(client, submit=True, countersign=[], cc_to=[])
    task = open_task(case_of(client, DRAFTER, doc), REVIEWER)
    reviewer = docs_app.test_client()
    assert login(reviewer, REVIEWER).status_code in (302, 303)
    csrf = csrf_token(reviewer, "/documents")
    path = f"/documents/{doc['id']}"
    response = reviewer.post(f"{path}/decide/{task}", data={"csrf_token": csrf, "decision": "approve",
                                                            "signature": "data:image/png;base64,!!!"})
    assert response.status_code == 303
    assert "手写签名须是 PNG 图片" in reviewer.get(path).get_data(as_text=True)
    other = create(client, submit=True, countersign=[], cc_to=[])
    foreign = open_task(case_of(client, DRAFTER, other), REVIEWER)
    assert reviewer.post(f"{path}/decide/{foreign}", data={"csrf_token": csrf, "decision": "approve"}
                         ).status_code == 404
    assert reviewer.post(f"{path}/decide/{task}", data={"csrf_token": csrf, "decision": "maybe"}).status_code == 303
    assert open_task(case_of(client, DRAFTER, doc), REVIEWER) == task

    clerk = docs_app.test_client()
    assert login(clerk, RECIPIENT_CLERK).status_code in (302, 303)
    csrf = csrf_token(clerk, "/documents?box=incoming")
    assert 'id="paper-form"' in clerk.get("/documents?box=incoming").get_data(as_text=True)
    response = clerk.post("/documents/paper", data={"csrf_token": csrf, "title": "纸质来文", "handlers": ["14"]})
    assert response.status_code == 303
    assert "请上传扫描件" in clerk.get(response.headers["Location"]).get_data(as_text=True)
    response = clerk.post("/documents/paper", data={
        "csrf_token": csrf, "title": "纸质来文", "handlers": ["14"], "readers": "xujing，zhangwei",
        "file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "scan.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 303 and "/documents/" in response.headers["Location"]
    readers = case_of(client, RECIPIENT_CLERK, {"case": {"id": _case_id(docs_app, response)}})["form"]["readers"]
    assert readers == ["person:xujing", "person:zhangwei"]


def _case_id(app, response) -> int:
    from internal_affairs.documents.models import Document
    from internal_affairs.extensions import db

    with app.app_context():
        return db.session.get(Document, int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])).case_id

"""The document pages through the test client with sessions and CSRF: drafting on the PC page,
the review with a version diff, the sign-off with a handwritten signature, the clerk's
registration, the boxes and the archive search; typed markup is shown as text; outsiders 404."""

from __future__ import annotations

import base64

from tests.support.app import csrf_token, login
from tests.support.cases import open_task
from tests.support.documents import DRAFTER, LEADER, OUTSIDER, RECIPIENT_CLERK, REVIEWER, case_of

PNG = "data:image/png;base64," + base64.b64encode(
    bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
    + bytes.fromhex("1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def client_for(app, uid):
    client = app.test_client()
    assert login(client, uid).status_code in (302, 303)
    client.token = csrf_token(client, "/documents")
    return client


def post(client, path, data):
    return client.post(path, data={"csrf_token": client.token, **data})


def test_draft_review_sign_off_and_register_on_the_pages(docs_app):
    drafter = client_for(docs_app, DRAFTER)
    assert "拟稿" in drafter.get("/documents/new").get_data(as_text=True)
    response = post(drafter, "/documents/new", {
        "title": "关于<script>alert(1)</script>的通知", "main_to": ["4"], "cc_to": [], "secrecy": "", "urgency": "",
        "body": "现通知如下。\n一、<b>要求</b>\n请按时报送。", "submit": "1"})
    assert response.status_code == 303
    path = response.headers["Location"]
    page = drafter.get(path).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert '<p class="doc-h doc-h1">一、&lt;b&gt;要求&lt;/b&gt;</p>' in page
    document_id = int(path.rstrip("/").split("/")[-1])

    reviewer = client_for(docs_app, REVIEWER)
    page = reviewer.get(path).get_data(as_text=True)
    assert 'id="decide-document"' in page and 'id="version-form"' in page
    assert post(reviewer, f"{path}/versions", {"title": "关于<script>alert(1)</script>的通知",
                                               "body": "现通知如下。\n一、<b>要求</b>\n请于月底前报送。",
                                               "note": "明确期限"}).status_code == 303
    page = drafter.get(f"{path}?from=1&to=2").get_data(as_text=True)
    assert '<p class="diff-insert">+ 请于月底前报送。</p>' in page
    assert '<p class="diff-delete">− 请按时报送。</p>' in page
    task = open_task(case_of(docs_app.test_client(), REVIEWER, {"case": {"id": _case_id(docs_app, document_id)}}),
                     REVIEWER)
    assert post(reviewer, f"{path}/decide/{task}", {"decision": "approve", "comment": "核稿无误"}).status_code == 303

    leader = client_for(docs_app, LEADER)
    page = leader.get(path).get_data(as_text=True)
    assert "data-signature" in page
    task = open_task(case_of(docs_app.test_client(), LEADER, {"case": {"id": _case_id(docs_app, document_id)}}),
                     LEADER)
    assert post(leader, f"{path}/decide/{task}", {"decision": "approve", "comment": "同意印发",
                                                  "signature": PNG}).status_code == 303
    page = drafter.get(path).get_data(as_text=True)
    assert 'id="signatures"' in page and 'id="deliveries"' in page and "区委组织部发〔" in page

    clerk = client_for(docs_app, RECIPIENT_CLERK)
    box = clerk.get("/documents?box=incoming").get_data(as_text=True)
    assert "&lt;script&gt;" in box
    incoming_path = "/documents/" + box.split('data-document="')[1].split('"')[0]
    page = clerk.get(incoming_path).get_data(as_text=True)
    assert 'data-verification="valid"' in page and 'id="register-form"' in page
    assert post(clerk, f"{incoming_path}/register", {"proposal": "拟请人事科办理", "handlers": ["13"],
                                                     "readers": "xujing"}).status_code == 303
    assert "办理中" in clerk.get(incoming_path).get_data(as_text=True)
    boss = client_for(docs_app, "wangguodong")
    page = boss.get(incoming_path).get_data(as_text=True)
    action = page.split('id="document-decide"')[0].rsplit('action="', 1)[1].split('"')[0]
    assert "/instruct/" in action and 'name="deadline_days"' in page
    assert post(boss, action, {"handlers": ["14"], "deadline_days": "2", "comment": "请基础教育科办理"}).status_code == 303
    incoming_id = int(incoming_path.rsplit("/", 1)[1])
    handle = next(s for s in case_of(docs_app.test_client(), RECIPIENT_CLERK,
                                     {"case": {"id": _case_id(docs_app, incoming_id)}})["steps"] if s["name"] == "承办")
    assert [t["assignee"] for t in handle["tasks"]] == ["zhangwei"]
    assert "1 件" in clerk.get("/documents?box=incoming&q=alert").get_data(as_text=True)
    assert "0 件" in clerk.get("/documents?box=incoming&q=不存在").get_data(as_text=True)

    outsider = client_for(docs_app, OUTSIDER)
    for url in (path, incoming_path, f"{path}/record.pdf"):
        assert outsider.get(url).status_code == 404
    assert post(outsider, f"{incoming_path}/register", {"handlers": ["13"]}).status_code == 404


def _case_id(app, document_id: int) -> int:
    from internal_affairs.documents.models import Document
    from internal_affairs.extensions import db

    with app.app_context():
        return db.session.get(Document, document_id).case_id


def test_the_boxes_refuse_a_page_beyond_reach_and_search_unusual_digits_as_a_name(docs_app):
    client = client_for(docs_app, DRAFTER)
    assert client.get("/documents?box=archive&page=99999999999999999999999").status_code == 400
    assert client.get("/documents?box=archive&page=²").status_code == 400
    for agency in ("²", "99999999999999999999999"):
        assert client.get(f"/documents?box=archive&agency={agency}").status_code == 200


def test_the_decision_form_follows_what_the_case_engine_allows(docs_app):
    """The document page offers a decision exactly when the case engine's capabilities do: the
    leader's delegate (代理) gets the form, a reviewer waiting on a consultation does not (the
    engine would refuse), and the consulted person answers there."""
    from datetime import datetime, timedelta, timezone

    from tests.support.cases import token
    from tests.support.documents import DEPUTY, create

    api = docs_app.test_client()
    doc = create(api, submit=True, countersign=[], cc_to=[])
    path = f"/documents/{doc['id']}"
    case = case_of(api, DRAFTER, doc)
    task = open_task(case, REVIEWER)
    assert api.post(f"/api/v1/tasks/{task}/consult", json={"to": "duhaiyan"},
                    headers=token(api, REVIEWER)).status_code == 200
    assert 'id="decide-document"' not in client_for(docs_app, REVIEWER).get(path).get_data(as_text=True)
    save = f"/api/v1/documents/{doc['id']}/versions"
    edit = {"title": "关于开展安全检查的通知（修改）", "note": "改标题"}
    assert api.post(save, json=edit, headers=token(api, REVIEWER)).status_code == 403, "waiting for an opinion"
    consulted = client_for(docs_app, "duhaiyan")
    page = consulted.get(path).get_data(as_text=True)
    assert 'id="decide-document"' in page and 'value="done"' in page
    asked = open_task(case_of(api, "duhaiyan", doc), "duhaiyan")
    assert post(consulted, f"{path}/decide/{asked}", {"decision": "done", "comment": "无意见"}).status_code == 303
    page = client_for(docs_app, REVIEWER).get(path).get_data(as_text=True)
    assert f'data-task="{task}"' in page
    assert api.post(f"/api/v1/tasks/{task}/decision", json={"decision": "approve"},
                    headers=token(api, REVIEWER)).status_code == 200

    now = datetime.now(timezone.utc)
    assert api.post("/api/v1/delegations", headers=token(api, LEADER), json={
        "delegate": DEPUTY, "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(), "reason": "外出学习"}).status_code == 201
    leader_task = open_task(case_of(api, DRAFTER, doc), LEADER)
    page = client_for(docs_app, DEPUTY).get(path).get_data(as_text=True)
    assert f'data-task="{leader_task}"' in page and "data-signature" in page
    assert api.post(save, json=edit, headers=token(api, DEPUTY)).status_code == 201, "the leader's delegate edits"
    assert 'id="decide-document"' not in client_for(docs_app, DRAFTER).get(path).get_data(as_text=True)

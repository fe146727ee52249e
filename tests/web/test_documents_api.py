"""Official documents through the API: the whole cycle across two agencies (draft → 核稿 with a
version diff → 会签 by two departments in parallel → 签发 by the leader's delegate with a
handwritten signature → number → seal → delivery → registration → 批办 → 承办 by two departments
→ 传阅 with read receipts → archive), numbering that a rejected or withdrawn draft never takes,
literal markup in the PDF, and 404 for everyone outside."""

from __future__ import annotations

import base64
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.cases import open_task, token
from tests.support.documents import (CZJ, DEPUTY, DRAFT, DRAFTER, JYJ, LEADER, OUTSIDER, RECIPIENT_CLERK,
                                     RECIPIENT_LEADER, REVIEWER, case_of, create, decide_task, document)
from tests.support.sealing import NssDatabase

PNG = "data:image/png;base64," + base64.b64encode(
    bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
    + bytes.fromhex("1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def _pdftotext(pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        return subprocess.run(["pdftotext", "-layout", fh.name, "-"], capture_output=True, text=True,
                              check=True).stdout


def _delegate(client, principal: str, delegate: str) -> None:
    now = datetime.now(timezone.utc)
    response = client.post("/api/v1/delegations", headers=token(client, principal), json={
        "delegate": delegate, "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(), "reason": "外出学习"})
    assert response.status_code == 201, response.get_json()


def _sign_off(client, doc: dict) -> dict:
    case = decide_task(client, REVIEWER, case_of(client, DRAFTER, doc))
    case = decide_task(client, "duhaiyan", case)
    return decide_task(client, "chengli", case)


def test_full_cycle_across_two_agencies(docs_app):
    client = docs_app.test_client()
    doc = create(client)
    assert doc["status"] == "draft" and doc["number"] is None and [v["number"] for v in doc["versions"]] == [1]
    assert [b["level"] for b in doc["blocks"]] == [0, 1, 2, 3, 0]
    response = client.post(f"/api/v1/documents/{doc['id']}/submit", headers=token(client, DRAFTER))
    assert response.status_code == 200, response.get_json()
    doc = response.get_json()
    assert doc["status"] == "in_progress" and doc["number"] is None

    case = case_of(client, DRAFTER, doc)
    assert [s["name"] for s in case["steps"]] == ["核稿", "会签", "签发"]
    # 核稿: the reviewer edits the text (a new version) and everyone on the route sees the diff
    response = client.post(f"/api/v1/documents/{doc['id']}/versions", headers=token(client, REVIEWER),
                           json={"body": DRAFT["body"].replace("12月20日", "12月25日"), "note": "改期"})
    assert response.status_code == 201, response.get_json()
    diff = client.get(f"/api/v1/documents/{doc['id']}/diff?from=1&to=2", headers=token(client, DRAFTER)).get_json()
    assert {"op": "insert", "text": "请于12月25日前报送。"} in diff["changes"]
    assert {"op": "delete", "text": "请于12月20日前报送。"} in diff["changes"]
    # the drafter may not edit while it is under review
    assert client.post(f"/api/v1/documents/{doc['id']}/versions", headers=token(client, DRAFTER),
                       json={"body": "x"}).status_code == 403
    case = decide_task(client, REVIEWER, case)
    # 会签: both departments hold a task at once (parallel, all)
    countersign = next(s for s in case["steps"] if s["name"] == "会签")
    assert sorted(t["assignee"] for t in countersign["tasks"] if t["status"] == "pending") == ["chengli", "duhaiyan"]
    case = decide_task(client, "chengli", case)
    assert document(client, DRAFTER, doc["id"])["number"] is None
    case = decide_task(client, "duhaiyan", case)
    # 签发 by the leader's delegate, with a handwritten signature
    _delegate(client, LEADER, DEPUTY)
    case = decide_task(client, DEPUTY, case, holder=LEADER, comment="同意印发", signature=PNG)
    signoff = next(s for s in case["steps"] if s["name"] == "签发")["tasks"][0]
    assert signoff["acted_by"] == DEPUTY and signoff["on_behalf_of"] == LEADER

    doc = document(client, DRAFTER, doc["id"])
    assert doc["status"] == "delivered"
    assert doc["number"] == "区委组织部发〔2026〕1号" or doc["number"].startswith("区委组织部发〔")
    assert [(d["agency"]["id"], d["kind"], d["registered_at"]) for d in doc["deliveries"]] == [
        (JYJ, "main", None), (CZJ, "cc", None)]
    assert len(doc["signatures"]) == 1
    png = client.get(doc["signatures"][0]["url"], headers=token(client, DRAFTER))
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")

    # the recipient's clerk finds it in the incoming box with a verified sealed PDF
    incoming_box = client.get("/api/v1/documents?box=incoming", headers=token(client, RECIPIENT_CLERK)).get_json()
    assert [d["title"] for d in incoming_box["items"]] == [DRAFT["title"]]
    incoming = document(client, RECIPIENT_CLERK, incoming_box["items"][0]["id"])
    assert incoming["verification"]["valid"] and incoming["number"] == doc["number"]
    pdf = client.get(f"/api/v1/documents/{incoming['id']}/record.pdf", headers=token(client, RECIPIENT_CLERK))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = _pdftotext(pdf.data)
    for expected in (DRAFT["title"], doc["number"], "一、考核范围", "请于12月25日前报送。", "区委组织部文件", "区教育局："):
        assert expected in text
    [root] = sorted((Path(docs_app.instance_path) / "seals" / "trust").glob("*.pem"))  # the demo CA
    report = NssDatabase.trusting(root, Path(docs_app.instance_path) / "nss").pdfsig(pdf.data)
    assert "Signature is Valid" in report and "Certificate is Trusted" in report

    # 登记 with 拟办: two departments handle, two people read
    response = client.post(f"/api/v1/documents/{incoming['id']}/register", headers=token(client, RECIPIENT_CLERK),
                           json={"proposal": "拟请人事科、基础教育科办理", "handlers": [13, 14],
                                 "readers": ["xujing", "yangfan"]})
    assert response.status_code == 200, response.get_json()
    incoming = response.get_json()
    assert incoming["status"] == "handling"
    sender_view = document(client, DRAFTER, doc["id"])["deliveries"][0]
    assert sender_view["registered_by"]["uid"] == RECIPIENT_CLERK and sender_view["registered_at"]
    case = case_of(client, RECIPIENT_CLERK, incoming)
    assert [s["name"] for s in case["steps"]] == ["批办", "承办", "传阅"]
    # 批办: the leader names other departments than the clerk proposed, and a deadline
    response = client.post(f"/api/v1/documents/{incoming['id']}/instruct", headers=token(client, RECIPIENT_LEADER),
                           json={"task_id": open_task(case, RECIPIENT_LEADER), "handlers": [13, 15],
                                 "deadline_days": 3, "comment": "请人事科牵头，计划财务科配合", "signature": PNG})
    assert response.status_code == 200, response.get_json()
    case = case_of(client, RECIPIENT_CLERK, incoming)
    handle = next(s for s in case["steps"] if s["name"] == "承办")
    assert sorted(t["assignee"] for t in handle["tasks"] if t["status"] == "pending") == ["huangzhiqiang", "mali"]
    assert next(s for s in case["steps"] if s["name"] == "批办")["tasks"][0]["comment"] == "请人事科牵头，计划财务科配合"
    assert len(document(client, RECIPIENT_CLERK, incoming["id"])["signatures"]) == 1
    case = decide_task(client, "mali", case, decision="done", comment="已配合")
    case = decide_task(client, "huangzhiqiang", case, decision="done", comment="已办理")
    case = decide_task(client, "xujing", case, decision="read", comment="已阅")
    receipts = document(client, RECIPIENT_CLERK, incoming["id"])["circulation"]
    assert [(r["reader"]["uid"], r["read_at"] is not None) for r in receipts] == [("xujing", True), ("yangfan", False)]
    assert document(client, RECIPIENT_CLERK, incoming["id"])["status"] == "handling"
    decide_task(client, "yangfan", case, decision="read", comment="已阅")
    incoming = document(client, RECIPIENT_CLERK, incoming["id"])
    assert incoming["status"] == "archived"
    archive = client.get("/api/v1/documents?box=archive&q=干部考核", headers=token(client, RECIPIENT_CLERK)).get_json()
    assert [d["id"] for d in archive["items"]] == [incoming["id"]]
    assert client.get(f"/api/v1/documents?box=archive&number={doc['number']}",
                      headers=token(client, RECIPIENT_CLERK)).get_json()["total"] == 1
    assert document(client, DRAFTER, doc["id"])["deliveries"][0]["finished_at"]

    # outsiders see nothing of either copy
    for path in (f"/api/v1/documents/{doc['id']}", f"/api/v1/documents/{incoming['id']}",
                 f"/api/v1/documents/{doc['id']}/record.pdf", f"/api/v1/documents/{incoming['id']}/record.pdf",
                 f"/api/v1/documents/{doc['id']}/diff?from=1&to=2", doc["signatures"][0]["url"]):
        assert client.get(path, headers=token(client, OUTSIDER)).status_code == 404, path
    for path in (f"/api/v1/documents/{doc['id']}/versions", f"/api/v1/documents/{incoming['id']}/register",
                 f"/api/v1/documents/{doc['id']}/submit", f"/api/v1/documents/{doc['id']}/withdraw"):
        assert client.post(path, json={}, headers=token(client, OUTSIDER)).status_code == 404, path
    assert client.get("/api/v1/documents?box=archive", headers=token(client, OUTSIDER)).get_json()["total"] == 0
    assert client.get("/api/v1/documents?box=incoming", headers=token(client, "yuyang")).get_json()["total"] == 1


ZZB_ID = 3


def test_rejected_and_withdrawn_drafts_take_no_number(docs_app):
    client = docs_app.test_client()
    withdrawn = create(client, submit=True)
    assert withdrawn["status"] == "in_progress"
    response = client.post(f"/api/v1/documents/{withdrawn['id']}/withdraw", headers=token(client, DRAFTER))
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    rejected = create(client, submit=True)
    case = _sign_off(client, rejected)
    decide_task(client, LEADER, case, decision="reject", comment="不同意")
    assert document(client, DRAFTER, rejected["id"])["status"] == "rejected"
    issued = create(client, submit=True, cc_to=[])
    decide_task(client, LEADER, _sign_off(client, issued))
    first = document(client, DRAFTER, issued["id"])["number"]
    issued = create(client, submit=True, cc_to=[])
    decide_task(client, LEADER, _sign_off(client, issued))
    second = document(client, DRAFTER, issued["id"])["number"]
    prefix = first.split("〕")[0]
    assert first == f"{prefix}〕1号" and second == f"{prefix}〕2号"
    for doc in (withdrawn, rejected):
        assert document(client, DRAFTER, doc["id"])["number"] is None


def test_series_settings_give_the_number_its_prefix(docs_app):
    client = docs_app.test_client()
    response = client.put("/api/v1/documents/series/组发", headers=token(client, "luojiayi"),
                          json={"prefix": "嘉禾组发", "default": True})
    assert response.status_code == 200, response.get_json()
    assert client.put("/api/v1/documents/series/组发", headers=token(client, DRAFTER),
                      json={"prefix": "X"}).status_code == 403
    doc = create(client, submit=True, cc_to=[], countersign=[])
    case = decide_task(client, REVIEWER, case_of(client, DRAFTER, doc))
    decide_task(client, LEADER, case)
    assert document(client, DRAFTER, doc["id"])["number"].startswith("嘉禾组发〔")
    assert document(client, DRAFTER, doc["id"])["number"].endswith("〕1号")
    assert client.post("/api/v1/documents", json=DRAFT | {"series": "不存在"},
                       headers=token(client, DRAFTER)).status_code == 422


def test_markup_is_literal_in_the_record(docs_app):
    client = docs_app.test_client()
    title = "<script>alert(1)</script>关于<b>加粗</b>的通知"
    body = "一、<img src=x onerror=alert(2)>\n&lt;正文&gt; <i>x</i>"
    doc = create(client, title=title, body=body, submit=True, cc_to=[], countersign=[])
    decide_task(client, LEADER, decide_task(client, REVIEWER, case_of(client, DRAFTER, doc)))
    doc = document(client, DRAFTER, doc["id"])
    assert doc["title"] == title
    text = _pdftotext(client.get(f"/api/v1/documents/{doc['id']}/record.pdf", headers=token(client, DRAFTER)).data)
    for literal in ("<script>alert(1)</script>", "<b>加粗</b>", "<img src=x onerror=alert(2)>", "&lt;正文&gt;",
                    "<i>x</i>"):
        assert literal in text


@pytest.mark.parametrize("payload, field", [
    ({"title": ""}, "title"), ({"main_to": [999999]}, "main_to"), ({"main_to": "3"}, "main_to"),
    ({"countersign": ["team:1"]}, "countersign"), ({"countersign": ["department:999999"]}, "countersign"),
    ({"secrecy": "绝密X"}, "secrecy"), ({"body": 12}, "body"), ({"title": "x" * 301}, "title"),
])
def test_bad_drafts_are_422(docs_app, payload, field):
    client = docs_app.test_client()
    response = client.post("/api/v1/documents", json=DRAFT | payload, headers=token(client, DRAFTER))
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]


def test_a_bad_signature_is_422_and_decides_nothing(docs_app):
    client = docs_app.test_client()
    doc = create(client, submit=True, countersign=[])
    case = case_of(client, DRAFTER, doc)
    task = open_task(case, REVIEWER)
    for bad in ("data:image/png;base64,!!!", "data:image/jpeg;base64,AAAA", "data:image/png;base64,"
                + base64.b64encode(b"GIF89a").decode()):
        response = client.post(f"/api/v1/tasks/{task}/decision", headers=token(client, REVIEWER),
                               json={"decision": "approve", "signature": bad})
        assert response.status_code == 422
    assert open_task(case_of(client, DRAFTER, doc), REVIEWER) == task


def test_cli_sets_a_series_and_demo_seed_gives_the_demo_agencies_theirs(docs_app):
    runner = docs_app.test_cli_runner()
    result = runner.invoke(args=["documents", "series", "区财政局", "财办", "嘉禾财办", "--default"])
    assert result.exit_code == 0 and "嘉禾财办" in result.output
    assert runner.invoke(args=["documents", "series", "不存在的单位", "x", "y"]).exit_code != 0
    bad = runner.invoke(args=["documents", "series", "区财政局", "财办", "嘉禾〔财办〕"])
    assert bad.exit_code != 0 and "(prefix: 请填写发文字号前缀" in bad.output
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0 and "document number series set for" in result.output
    client = docs_app.test_client()
    assert client.get("/api/v1/documents/series", headers=token(client, "yuyang")).get_json()["default_prefix"] == "嘉禾财办"
    assert client.get("/api/v1/documents/series", headers=token(client, DRAFTER)).get_json()["default_prefix"] == "嘉禾组发"


def test_a_returned_document_is_amended_and_resubmitted(docs_app):
    client = docs_app.test_client()
    doc = create(client, submit=True, countersign=[], cc_to=[])
    decide_task(client, REVIEWER, case_of(client, DRAFTER, doc), decision="return", comment="请补充报送要求")
    assert document(client, DRAFTER, doc["id"])["status"] == "returned"
    response = client.post(f"/api/v1/documents/{doc['id']}/versions", headers=token(client, DRAFTER),
                           json={"body": DRAFT["body"] + "\n二、报送要求\n请以电子公文报送。", "note": "补充"})
    assert response.status_code == 201, response.get_json()
    response = client.post(f"/api/v1/documents/{doc['id']}/submit", headers=token(client, DRAFTER))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "in_progress"
    case = case_of(client, DRAFTER, doc)
    assert open_task(case, REVIEWER)
    decide_task(client, LEADER, decide_task(client, REVIEWER, case))
    doc = document(client, DRAFTER, doc["id"])
    assert doc["status"] == "delivered" and [v["number"] for v in doc["versions"]] == [1, 2]
    assert "二、报送要求" in _pdftotext(client.get(f"/api/v1/documents/{doc['id']}/record.pdf",
                                                headers=token(client, DRAFTER)).data)


def test_a_clerk_registers_a_paper_document_with_its_scan(docs_app):
    import io

    from internal_affairs.clock import utcnow
    from signing import BodyBlock, DocumentRecord, render_document

    client = docs_app.test_client()
    scan = render_document(DocumentRecord(issuer="市教育局", number="市教发〔2026〕3号", title="关于开展安全检查的通知",
                                          main_to=("各区教育局",), body=(BodyBlock("请开展检查。"),),
                                          issued_on=utcnow().date(), printed_on=utcnow().date()))
    form = {"title": "关于开展安全检查的通知", "number": "市教发〔2026〕3号", "issuer_name": "市教育局",
            "handlers": "14", "proposal": "拟请基础教育科办理"}
    response = client.post("/api/v1/documents/paper", headers=token(client, RECIPIENT_CLERK),
                           data=form | {"file": (io.BytesIO(scan), "scan.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    doc = response.get_json()
    assert doc["status"] == "handling" and doc["number"] == "市教发〔2026〕3号" and doc["direction"] == "incoming"
    assert client.get(doc["pdf"]["url"], headers=token(client, RECIPIENT_CLERK)).data == scan
    case = case_of(client, RECIPIENT_CLERK, doc)
    assert [s["name"] for s in case["steps"]][:2] == ["批办", "承办"]
    assert open_task(case, RECIPIENT_LEADER)
    for uid, payload in ((DRAFTER, {"file": (io.BytesIO(scan), "scan.pdf")}),
                         (RECIPIENT_CLERK, {"file": (io.BytesIO(b"GIF89a"), "scan.pdf")}),
                         (RECIPIENT_CLERK, {})):
        response = client.post("/api/v1/documents/paper", headers=token(client, uid), data=form | payload,
                               content_type="multipart/form-data")
        assert response.status_code in (403, 422), response.get_json()
    assert client.get(f"/api/v1/documents/{doc['id']}", headers=token(client, OUTSIDER)).status_code == 404


def test_instruct_refuses_bad_input_and_other_tasks(docs_app):
    client = docs_app.test_client()
    doc = create(client, submit=True, countersign=[], cc_to=[])
    decide_task(client, LEADER, decide_task(client, REVIEWER, case_of(client, DRAFTER, doc)))
    incoming_id = client.get("/api/v1/documents?box=incoming", headers=token(client, RECIPIENT_CLERK)).get_json()[
        "items"][0]["id"]
    response = client.post(f"/api/v1/documents/{incoming_id}/register", headers=token(client, RECIPIENT_CLERK),
                           json={"handlers": [13]})
    incoming = response.get_json()
    case = case_of(client, RECIPIENT_CLERK, incoming)
    task = open_task(case, RECIPIENT_LEADER)
    path = f"/api/v1/documents/{incoming_id}/instruct"
    for payload, status in (({"task_id": task, "handlers": [2]}, 422), ({"task_id": task, "deadline_days": 0}, 422),
                            ({"task_id": task, "handlers": "13"}, 422), ({"task_id": "x"}, 422),
                            ({"task_id": task + 999}, 404)):
        assert client.post(path, json=payload, headers=token(client, RECIPIENT_LEADER)).status_code == status, payload
    assert client.post(path, json={"task_id": task}, headers=token(client, OUTSIDER)).status_code == 404
    assert client.post(path, json={"task_id": task}, headers=token(client, RECIPIENT_CLERK)).status_code in (403, 404)
    assert open_task(case_of(client, RECIPIENT_CLERK, incoming), RECIPIENT_LEADER) == task
    assert client.post(path, json={"task_id": task, "deadline_days": 2}, headers=token(client, RECIPIENT_LEADER)
                       ).status_code == 200
    handle = next(s for s in case_of(client, RECIPIENT_CLERK, incoming)["steps"] if s["name"] == "承办")
    assert [t["assignee"] for t in handle["tasks"]] == ["huangzhiqiang"]


def test_attachments_uploaded_to_the_case_are_named_in_the_record(docs_app):
    import io

    client = docs_app.test_client()
    doc = create(client, countersign=[], cc_to=[])
    response = client.post(f"/api/v1/cases/{doc['case']['id']}/attachments", headers=token(client, DRAFTER),
                           data={"material": "attachment", "file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "考核登记表.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    client.post(f"/api/v1/documents/{doc['id']}/submit", headers=token(client, DRAFTER))
    decide_task(client, LEADER, decide_task(client, REVIEWER, case_of(client, DRAFTER, doc)))
    text = _pdftotext(client.get(f"/api/v1/documents/{doc['id']}/record.pdf", headers=token(client, DRAFTER)).data)
    assert "附件：考核登记表" in text


def test_attachments_travel_with_the_document_to_every_recipient(docs_app):
    """The files attached to an outgoing document reach each recipient agency's incoming document
    with the same bytes and SHA-256, listed with their SHA-256 in the sealed record's 附件说明;
    the recipient's people who may see the incoming document download them, nobody else does."""
    import hashlib
    import io

    from internal_affairs.documents.models import Document
    from internal_affairs.documents.queries import document_attachments

    client = docs_app.test_client()
    files = {"考核登记表.pdf": b"%PDF-1.4\n% registration form\n%%EOF\n",
             "考核办法.pdf": b"%PDF-1.4\n% the rules, another file\n%%EOF\n"}
    doc = create(client)
    for name, data in files.items():
        response = client.post(f"/api/v1/cases/{doc['case']['id']}/attachments", headers=token(client, DRAFTER),
                               data={"material": "attachment", "file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
    assert client.post(f"/api/v1/documents/{doc['id']}/submit", headers=token(client, DRAFTER)).status_code == 200
    decide_task(client, LEADER, _sign_off(client, doc))
    issued = document(client, DRAFTER, doc["id"])
    assert issued["status"] == "delivered"
    expected = [(name, hashlib.sha256(data).hexdigest()) for name, data in files.items()]
    assert [(a["name"], a["sha256"]) for a in issued["attachments"]] == expected

    incoming_id = client.get("/api/v1/documents?box=incoming", headers=token(client, RECIPIENT_CLERK)
                             ).get_json()["items"][0]["id"]
    incoming = document(client, RECIPIENT_CLERK, incoming_id)
    assert [(a["name"], a["sha256"], a["size"]) for a in incoming["attachments"]] == [
        (name, hashlib.sha256(data).hexdigest(), len(data)) for name, data in files.items()]
    for attachment, data in zip(incoming["attachments"], files.values()):
        assert attachment["url"] == f"/api/v1/documents/{incoming_id}/attachments/{attachment['id']}"
        got = client.get(attachment["url"], headers=token(client, RECIPIENT_CLERK))
        assert got.status_code == 200 and got.data == data
        assert got.headers["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()
        # outsiders, and the recipient's leader before the document is registered to them: 404
        for uid in (OUTSIDER, RECIPIENT_LEADER):
            assert client.get(attachment["url"], headers=token(client, uid)).status_code == 404
    # and on the pages: listed on the incoming document's page, downloaded there, 404 for outsiders
    from tests.support.app import login

    page_client = docs_app.test_client()
    assert login(page_client, RECIPIENT_CLERK).status_code in (302, 303)
    page = page_client.get(f"/documents/{incoming_id}").get_data(as_text=True)
    first = incoming["attachments"][0]
    assert first["sha256"] in page and f"/documents/{incoming_id}/attachments/{first['id']}" in page
    assert page_client.get(f"/documents/{incoming_id}/attachments/{first['id']}").data == files["考核登记表.pdf"]
    outsider = docs_app.test_client()
    assert login(outsider, OUTSIDER).status_code in (302, 303)
    assert outsider.get(f"/documents/{incoming_id}/attachments/{first['id']}").status_code == 404
    # the 抄送 agency's incoming document carries the same files
    with docs_app.app_context():
        cc = Document.query.filter_by(source_id=doc["id"], agency_id=CZJ).one()
        assert [(a.filename, a.sha256) for a in document_attachments(cc)] == expected
    # an attachment of another document is not reachable through this one
    other = create(client, countersign=[], cc_to=[])
    response = client.post(f"/api/v1/cases/{other['case']['id']}/attachments", headers=token(client, DRAFTER),
                           data={"material": "attachment", "file": (io.BytesIO(b"%PDF-1.4\n%other\n%%EOF\n"), "x.pdf")},
                           content_type="multipart/form-data")
    foreign = response.get_json()["id"]
    assert client.get(f"/api/v1/documents/{incoming_id}/attachments/{foreign}",
                      headers=token(client, RECIPIENT_CLERK)).status_code == 404
    # the sealed record lists each attachment with its SHA-256
    text = "".join(_pdftotext(client.get(f"/api/v1/documents/{incoming_id}/record.pdf",
                                         headers=token(client, RECIPIENT_CLERK)).data).split())
    for name, sha256 in expected:
        assert f"{name[:-4]}（SHA-256：{sha256}）" in text

    # once registered, the people on the incoming case (the leader instructing) download them too
    response = client.post(f"/api/v1/documents/{incoming_id}/register", headers=token(client, RECIPIENT_CLERK),
                           json={"proposal": "请局长批示", "handlers": [13]})
    assert response.status_code == 200, response.get_json()
    got = client.get(incoming["attachments"][0]["url"], headers=token(client, RECIPIENT_LEADER))
    assert got.status_code == 200 and got.data == files["考核登记表.pdf"]


@pytest.mark.parametrize("digits", ["²", "１２", "99999999999999999999999"])
def test_ids_in_unusual_digits_are_refused_not_a_500(docs_app, digits):
    import io

    client = docs_app.test_client()
    response = client.post("/api/v1/documents", json=DRAFT | {"countersign": [f"department:{digits}"]},
                           headers=token(client, DRAFTER))
    assert response.status_code == 422 and "countersign" in response.get_json()["error"]["fields"]
    response = client.get(f"/api/v1/documents?box=archive&agency={digits}", headers=token(client, DRAFTER))
    assert response.status_code == 200 and response.get_json()["total"] == 0
    for form in ({"handlers": digits}, {"handlers": "14", "issuer": digits}):
        response = client.post("/api/v1/documents/paper", headers=token(client, RECIPIENT_CLERK),
                               data={"title": "纸质来文", "file": (io.BytesIO(b"%PDF-1.4"), "scan.pdf")} | form,
                               content_type="multipart/form-data")
        assert response.status_code == 422, response.get_json()


def test_archive_search_errors_are_translated(docs_app):
    client = docs_app.test_client()
    headers = token(client, DRAFTER)
    response = client.get("/api/v1/documents?box=archive&from=2026/01/01", headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["fields"]["from"] == "日期格式为 YYYY-MM-DD。"
    response = client.get("/api/v1/documents?box=archive&from=2026/01/01&lang=en", headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["from"] == "Dates are written YYYY-MM-DD."
    response = client.get("/api/v1/documents?box=archive&lang=en&q=" + "x" * 201, headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["fields"]["q"] == "The search terms are too long."


def test_an_unknown_key_in_a_draft_is_422_naming_it(docs_app):
    client = docs_app.test_client()
    response = client.post("/api/v1/documents", json=DRAFT | {"colour": "red"}, headers=token(client, DRAFTER))
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"colour": "未知参数。"}


@pytest.mark.parametrize("code, body", [
    ("组发", {"prefix": 12}), ("组发", {"prefix": "嘉禾〔组〕发"}), ("组发", {"prefix": "   "}),
    ("组发", {"prefix": "嘉禾组发", "default": "yes"}), ("组" * 31, {"prefix": "嘉禾组发"}),
    ("组发", {"prefix": "嘉禾组发", "colour": 1}), ("组发", ["嘉禾组发"]),
])
def test_bad_series_settings_are_refused(docs_app, code, body):
    client = docs_app.test_client()
    response = client.put(f"/api/v1/documents/series/{code}", headers=token(client, "luojiayi"), json=body)
    assert response.status_code in (400, 422), response.get_json()
    assert response.get_json()["error"]["message"]
    response = client.put("/api/v1/documents/series/组发", headers=token(client, "luojiayi"), data="{",
                          content_type="application/json")
    assert response.status_code == 400


def test_a_box_page_costs_the_same_statements_however_many_documents_it_lists(docs_app):
    from tests.support.statements import counted

    client = docs_app.test_client()
    headers = token(client, DRAFTER)

    def listed() -> tuple[int, int]:
        with counted(docs_app) as statements:
            response = client.get("/api/v1/documents?box=drafts", headers=headers)
        assert response.status_code == 200
        return len(response.get_json()["items"]), len(statements)

    create(client, main_to=[JYJ], cc_to=[])
    one = listed()
    for main_to, cc_to in (([CZJ], [JYJ]), ([JYJ, CZJ], []), ([6], [7])):
        create(client, submit=True, main_to=main_to, cc_to=cc_to, countersign=[])
    four = listed()
    assert (one[0], four[0]) == (1, 4) and four[1] == one[1], (one, four)

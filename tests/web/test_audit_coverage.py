"""Every write endpoint of the API appends its audit events in the request's transaction: the
table below names, per documented write operation (read from the OpenAPI description, so a new
endpoint without a row fails here), a request that succeeds and the exact events it appends, each
with the acting person, on-behalf-of where it applies, and the client address."""

from __future__ import annotations

import io
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from internal_affairs.extensions import db
from tests.support.audit import make_audit_key, window
from tests.support.cases import LEAVE, LEAVE_5, open_task, submit, token
from tests.support.files import pdf

def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SICK = LEAVE | {"leave_type": "sick"}
READ_ONLY_POSTS = {("post", "/route-preview"), ("post", "/verify"), ("post", "/notifications/{id}/read"),
                   ("post", "/notifications/read")}
"""Write nothing an auditor reads: asks what a case's route would be; checks the seals of an
uploaded PDF (kept nowhere); marks one's own notifications read (a person's reading state, like an
unread mark in a mail client)."""


def _draft(c, uid="xujing", form=LEAVE):
    r = c.post("/api/v1/cases", json={"matter_type": "leave", "form": form, "submit": False}, headers=token(c, uid))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _delegation(app, principal: str, delegate: str, *, proposed: bool) -> int:
    from internal_affairs.clock import utcnow
    from internal_affairs.delegation.models import Delegation
    from internal_affairs.org.models import Person

    with app.app_context():
        people = {p.uid: p for p in db.session.execute(select(Person).where(Person.uid.in_([principal, delegate])))
                  .scalars()}
        now = utcnow().replace(tzinfo=None)
        row = Delegation(principal_id=people[principal].id, delegate_id=people[delegate].id,
                         starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=2), source="auto",
                         proposed=proposed, created_at=now)
        db.session.add(row)
        db.session.commit()
        return row.id


def _tokens_of(c, uid):
    headers = token(c, uid)
    return headers, c.get("/api/v1/auth/tokens", headers=headers).get_json()["items"]


# each: prepare(c, app) -> (method, url, request kwargs, acting uid or None, expected actions)
def s_issue_token(c, app):
    return "post", "/api/v1/auth/token", {"json": {"username": "xujing", "password": "demo1234"}}, "xujing", \
        ["auth.login", "auth.token.issued"]


def s_revoke_presented(c, app):
    return "delete", "/api/v1/auth/token", {"headers": token(c, "xujing")}, "xujing", ["auth.token.revoked"]


def s_revoke_token(c, app):
    headers, items = _tokens_of(c, "xujing")
    return "delete", f"/api/v1/auth/tokens/{items[0]['id']}", {"headers": headers}, "xujing", ["auth.token.revoked"]


def s_logout_everywhere(c, app):
    return "post", "/api/v1/org/people/xujing/logout-everywhere", {"headers": token(c, "xujing")}, "xujing", \
        ["auth.sessions.revoked_all"]


def s_default_deputy(c, app):
    return "put", "/api/v1/org/people/zhangwei/default-deputy", {"json": {"deputy": "lixiaohong"},
                                                                   "headers": token(c, "zhangwei")}, "zhangwei", \
        ["org.person.default_deputy_set"]


def s_notify_preferences(c, app):
    return "put", "/api/v1/me/notification-preferences", {"json": {"mail": False, "quiet_start": "21:00"},
                                                           "headers": token(c, "zhangwei")}, "zhangwei", \
        ["notify.preferences.changed"]


def s_sync(c, app):
    """The directory (a closed port) cannot be read: the failed run is recorded all the same."""
    return "post", "/api/v1/org/sync", {"json": {"dry_run": True}, "headers": token(c, "shenliheng")}, "shenliheng", \
        ["org.sync.failed"]


def s_calendar_set(c, app):
    return "put", "/api/v1/calendar/2027-01-02", {"json": {"working_day": True, "note": "调休"},
                                                  "headers": token(c, "shenliheng")}, "shenliheng", \
        ["calendar.override.set"]


def s_calendar_remove(c, app):
    headers = token(c, "shenliheng")
    assert c.put("/api/v1/calendar/2027-01-02", json={"working_day": True}, headers=headers).status_code == 200
    return "delete", "/api/v1/calendar/2027-01-02", {"headers": headers}, "shenliheng", ["calendar.override.removed"]


def s_create_case(c, app):
    return "post", "/api/v1/cases", {"json": {"matter_type": "leave", "form": LEAVE, "submit": False},
                                     "headers": token(c, "xujing")}, "xujing", ["cases.case.created"]


def s_update_draft(c, app):
    case = _draft(c)
    return "patch", f"/api/v1/cases/{case['id']}", {"json": {"form": LEAVE | {"reason": "改"}},
                                                    "headers": token(c, "xujing")}, "xujing", ["cases.case.draft_updated"]


def s_submit(c, app):
    case = _draft(c)
    return "post", f"/api/v1/cases/{case['id']}/submit", {"json": {}, "headers": token(c, "xujing")}, "xujing", \
        ["cases.case.submitted"]


def s_withdraw(c, app):
    case = submit(c, "xujing", "leave", LEAVE)
    return "post", f"/api/v1/cases/{case['id']}/withdraw", {"json": {}, "headers": token(c, "xujing")}, "xujing", \
        ["cases.case.withdrawn"]


def s_resubmit(c, app):
    case = submit(c, "xujing", "leave", LEAVE)
    r = c.post(f"/api/v1/tasks/{open_task(case, 'zhangwei')}/decision",
               json={"decision": "return", "comment": "补充"}, headers=token(c, "zhangwei"))
    assert r.status_code == 200, r.get_json()
    return "post", f"/api/v1/cases/{case['id']}/resubmit", {"json": {"form": LEAVE}, "headers": token(c, "xujing")}, \
        "xujing", ["cases.case.resubmitted"]


def s_rate(c, app):
    case = submit(c, "xujing", "leave", LEAVE)
    for uid, decision in (("zhangwei", "approve"), ("linxiaoyan", "done")):
        task = next(t["id"] for s in case["steps"] for t in s["tasks"]
                    if t["status"] == "pending" and t["assignee"] == uid)
        r = c.post(f"/api/v1/tasks/{task}/decision", json={"decision": decision}, headers=token(c, uid))
        assert r.status_code == 200, r.get_json()
        case = r.get_json()
    return "post", f"/api/v1/cases/{case['id']}/rating", {"json": {"score": 4, "comment": "快"},
                                                          "headers": token(c, "xujing")}, "xujing", \
        ["cases.case.rated"]


def _issued_to_the_recipient(c, app) -> int:
    """An outgoing document signed off (numbered, sealed, delivered): the recipient's incoming id."""
    from tests.support.documents import LEADER, RECIPIENT_CLERK, REVIEWER, case_of, create, decide_task
    from tests.support.sealing import init_demo_seals

    init_demo_seals(app)
    doc = create(c, submit=True, countersign=[], cc_to=[])
    decide_task(c, LEADER, decide_task(c, REVIEWER, case_of(c, "donghaoran", doc)))
    return c.get("/api/v1/documents?box=incoming", headers=token(c, RECIPIENT_CLERK)).get_json()["items"][0]["id"]


def s_document_create(c, app):
    from tests.support.documents import DRAFT

    return "post", "/api/v1/documents", {"json": DRAFT | {"submit": False}, "headers": token(c, "donghaoran")}, \
        "donghaoran", ["cases.case.created", "documents.document.created"]


def s_document_version(c, app):
    from tests.support.documents import create

    doc = create(c)
    return "post", f"/api/v1/documents/{doc['id']}/versions", {"json": {"body": "一、修改后的正文"},
                                                                "headers": token(c, "donghaoran")}, "donghaoran", \
        ["documents.document.version_saved"]


def s_document_submit(c, app):
    from tests.support.documents import create

    doc = create(c)
    return "post", f"/api/v1/documents/{doc['id']}/submit", {"json": {}, "headers": token(c, "donghaoran")}, \
        "donghaoran", ["cases.case.submitted", "documents.document.submitted"]


def s_document_withdraw(c, app):
    from tests.support.documents import create

    doc = create(c, submit=True)
    return "post", f"/api/v1/documents/{doc['id']}/withdraw", {"json": {}, "headers": token(c, "donghaoran")}, \
        "donghaoran", ["cases.case.withdrawn"]


def s_document_register(c, app):
    incoming = _issued_to_the_recipient(c, app)
    return "post", f"/api/v1/documents/{incoming}/register", {"json": {"handlers": [13], "proposal": "拟请人事科办理"},
                                                              "headers": token(c, "liujia")}, "liujia", \
        ["cases.case.created", "cases.case.submitted", "documents.document.registered"]


def s_document_instruct(c, app):
    from tests.support.documents import RECIPIENT_LEADER, case_of

    incoming = _issued_to_the_recipient(c, app)
    registered = c.post(f"/api/v1/documents/{incoming}/register", json={"handlers": [13]},
                        headers=token(c, "liujia")).get_json()
    task = open_task(case_of(c, "liujia", registered), RECIPIENT_LEADER)
    return "post", f"/api/v1/documents/{incoming}/instruct", {
        "json": {"task_id": task, "handlers": [14], "deadline_days": 2, "comment": "请基础教育科办理"},
        "headers": token(c, RECIPIENT_LEADER)}, RECIPIENT_LEADER, \
        ["cases.task.decided", "documents.document.instructed"]


def s_document_paper(c, app):
    from internal_affairs.clock import utcnow
    from signing import BodyBlock, DocumentRecord, render_document

    scan = render_document(DocumentRecord(issuer="市教育局", number="市教发〔2026〕3号", title="关于开展安全检查的通知",
                                          main_to=("各区教育局",), body=(BodyBlock("请开展检查。"),),
                                          issued_on=utcnow().date(), printed_on=utcnow().date()))
    form = {"title": "关于开展安全检查的通知", "number": "市教发〔2026〕3号", "issuer_name": "市教育局", "handlers": "14",
            "file": (io.BytesIO(scan), "scan.pdf")}
    return "post", "/api/v1/documents/paper", {"data": form, "content_type": "multipart/form-data",
                                               "headers": token(c, "liujia")}, "liujia", \
        ["cases.case.created", "cases.case.submitted", "documents.document.paper_received", "documents.document.registered"]


def s_document_series(c, app):
    return "put", "/api/v1/documents/series/组发", {"json": {"prefix": "嘉禾组发", "default": True},
                                                   "headers": token(c, "shenliheng")}, "shenliheng", \
        ["documents.series.set"]


def s_remind(c, app):
    case = submit(c, "xujing", "leave", LEAVE)
    return "post", f"/api/v1/cases/{case['id']}/remind", {"json": {}, "headers": token(c, "xujing")}, "xujing", \
        ["cases.case.reminded"]


def s_cc(c, app):
    case = submit(c, "xujing", "leave", LEAVE)
    return "post", f"/api/v1/cases/{case['id']}/cc", {"json": {"to": ["guolei"]}, "headers": token(c, "xujing")}, \
        "xujing", ["cases.case.cc"]


def s_decide(c, app):
    case = submit(c, "xujing", "leave", LEAVE_5)
    return "post", f"/api/v1/tasks/{open_task(case, 'zhangwei')}/decision", \
        {"json": {"decision": "approve", "comment": "同意"}, "headers": token(c, "zhangwei")}, "zhangwei", \
        ["cases.task.decided"]


def s_decide_on_behalf(c, app):
    case = submit(c, "xujing", "leave", LEAVE_5)
    _delegation(app, "zhangwei", "yangfan", proposed=False)
    return "post", f"/api/v1/tasks/{open_task(case, 'zhangwei')}/decision", \
        {"json": {"decision": "approve", "comment": "同意"}, "headers": token(c, "yangfan")}, "yangfan", \
        ["cases.task.decided"]


def s_transfer(c, app):
    case = submit(c, "xujing", "leave", LEAVE)
    return "post", f"/api/v1/tasks/{open_task(case, 'zhangwei')}/transfer", \
        {"json": {"to": "guolei", "comment": "请代办"}, "headers": token(c, "zhangwei")}, "zhangwei", \
        ["cases.task.transferred"]


def s_consult(c, app):
    case = submit(c, "xujing", "leave", LEAVE)
    return "post", f"/api/v1/tasks/{open_task(case, 'zhangwei')}/consult", \
        {"json": {"to": "guolei", "comment": "请提意见"}, "headers": token(c, "zhangwei")}, "zhangwei", \
        ["cases.task.consulted"]


def s_add_approver(c, app):
    case = submit(c, "xujing", "leave", LEAVE)
    return "post", f"/api/v1/tasks/{open_task(case, 'zhangwei')}/add-approver", \
        {"json": {"to": "guolei", "comment": "请会签", "position": "after"}, "headers": token(c, "zhangwei")}, \
        "zhangwei", ["cases.task.approver_added"]


def s_remove_approver(c, app):
    case = submit(c, "xujing", "leave", LEAVE)
    r = c.post(f"/api/v1/tasks/{open_task(case, 'zhangwei')}/add-approver",
               json={"to": "guolei", "comment": "请会签", "position": "before"}, headers=token(c, "zhangwei"))
    assert r.status_code == 200, r.get_json()
    added = open_task(r.get_json(), "guolei")
    return "post", f"/api/v1/tasks/{added}/remove-approver", {"json": {"comment": "不必了"},
                                                              "headers": token(c, "zhangwei")}, "zhangwei", \
        ["cases.task.approver_removed"]


def s_withdraw_decision(c, app):
    case = submit(c, "xujing", "leave", LEAVE_5)
    task = open_task(case, "zhangwei")
    r = c.post(f"/api/v1/tasks/{task}/decision", json={"decision": "approve", "comment": "同意"},
               headers=token(c, "zhangwei"))
    assert r.status_code == 200, r.get_json()
    return "post", f"/api/v1/tasks/{task}/withdraw-decision", {"json": {"comment": "再看看"},
                                                               "headers": token(c, "zhangwei")}, "zhangwei", \
        ["cases.task.decision_withdrawn"]


def s_batch(c, app):
    tasks = [open_task(submit(c, "xujing", "leave", LEAVE_5), "zhangwei") for _ in range(2)]
    return "post", "/api/v1/tasks/batch-decision", {"json": {"task_ids": tasks, "decision": "approve",
                                                             "comment": "同意"}, "headers": token(c, "zhangwei")}, \
        "zhangwei", ["cases.task.decided", "cases.task.decided"]


def s_upload(c, app):
    case = _draft(c, form=SICK)
    return "post", f"/api/v1/cases/{case['id']}/attachments", \
        {"data": {"material": "medical_certificate", "file": (io.BytesIO(pdf()), "病假证明.pdf")},
         "content_type": "multipart/form-data", "headers": token(c, "xujing")}, "xujing", ["cases.attachment.uploaded"]


def s_withdraw_attachment(c, app):
    case = _draft(c, form=SICK)
    r = c.post(f"/api/v1/cases/{case['id']}/attachments", headers=token(c, "xujing"), content_type="multipart/form-data",
               data={"material": "medical_certificate", "file": (io.BytesIO(pdf()), "病假证明.pdf")})
    assert r.status_code == 201, r.get_json()
    return "delete", f"/api/v1/cases/{case['id']}/attachments/{r.get_json()['id']}", {"headers": token(c, "xujing")}, \
        "xujing", ["cases.attachment.withdrawn"]


def s_create_delegation(c, app):
    return "post", "/api/v1/delegations", {"json": {"delegate": "yangfan"} | window(),
                                           "headers": token(c, "zhangwei")}, "zhangwei", ["delegation.created"]


def s_revoke_delegation(c, app):
    row = _delegation(app, "zhangwei", "yangfan", proposed=False)
    return "delete", f"/api/v1/delegations/{row}", {"headers": token(c, "zhangwei")}, "zhangwei", \
        ["delegation.revoked"]


def s_confirm_delegation(c, app):
    row = _delegation(app, "zhangwei", "yangfan", proposed=True)
    return "post", f"/api/v1/delegations/{row}/confirm", {"json": {}, "headers": token(c, "zhangwei")}, "zhangwei", \
        ["delegation.confirmed"]


def s_export(c, app):
    return "post", "/api/v1/audit/export", {"json": {"format": "json", "filters": {"action": "auth."}},
                                            "headers": token(c, "haowenbo")}, "haowenbo", ["audit.exported"]


def s_checkpoint(c, app):
    return "post", "/api/v1/audit/checkpoints", {"headers": token(c, "shenliheng")}, "shenliheng", \
        ["audit.checkpoint"]


SCENARIOS = {
    ("post", "/auth/token"): [s_issue_token],
    ("delete", "/auth/token"): [s_revoke_presented],
    ("delete", "/auth/tokens/{id}"): [s_revoke_token],
    ("post", "/org/people/{uid}/logout-everywhere"): [s_logout_everywhere],
    ("put", "/org/people/{uid}/default-deputy"): [s_default_deputy],
    ("post", "/org/sync"): [s_sync],
    ("put", "/me/notification-preferences"): [s_notify_preferences],
    ("put", "/calendar/{day}"): [s_calendar_set],
    ("delete", "/calendar/{day}"): [s_calendar_remove],
    ("post", "/cases"): [s_create_case],
    ("patch", "/cases/{id}"): [s_update_draft],
    ("post", "/cases/{id}/submit"): [s_submit],
    ("post", "/cases/{id}/withdraw"): [s_withdraw],
    ("post", "/cases/{id}/resubmit"): [s_resubmit],
    ("post", "/cases/{id}/remind"): [s_remind],
    ("post", "/cases/{id}/rating"): [s_rate],
    ("post", "/documents"): [s_document_create],
    ("post", "/documents/{id}/versions"): [s_document_version],
    ("post", "/documents/{id}/submit"): [s_document_submit],
    ("post", "/documents/{id}/withdraw"): [s_document_withdraw],
    ("post", "/documents/{id}/register"): [s_document_register],
    ("post", "/documents/{id}/instruct"): [s_document_instruct],
    ("post", "/documents/paper"): [s_document_paper],
    ("put", "/documents/series/{code}"): [s_document_series],
    ("post", "/cases/{id}/cc"): [s_cc],
    ("post", "/tasks/{id}/decision"): [s_decide, s_decide_on_behalf],
    ("post", "/tasks/{id}/transfer"): [s_transfer],
    ("post", "/tasks/{id}/consult"): [s_consult],
    ("post", "/tasks/{id}/add-approver"): [s_add_approver],
    ("post", "/tasks/{id}/remove-approver"): [s_remove_approver],
    ("post", "/tasks/{id}/withdraw-decision"): [s_withdraw_decision],
    ("post", "/tasks/batch-decision"): [s_batch],
    ("post", "/cases/{id}/attachments"): [s_upload],
    ("delete", "/cases/{id}/attachments/{attachment_id}"): [s_withdraw_attachment],
    ("post", "/delegations"): [s_create_delegation],
    ("delete", "/delegations/{id}"): [s_revoke_delegation],
    ("post", "/delegations/{id}/confirm"): [s_confirm_delegation],
    ("post", "/audit/export"): [s_export],
    ("post", "/audit/checkpoints"): [s_checkpoint],
}


@pytest.fixture
def audited(make_app, tmp_path):
    from tests.support.app import load_catalog, load_demo

    app = make_app(IA_AUDIT_KEY_FILE=str(make_audit_key(tmp_path)), IA_AUDIT_KEY_PASSWORD="audit-pw",
                   IA_AUDIT_ANCHOR_FILE=str(tmp_path / "anchor.jsonl"), IA_LDAP_URI=f"ldap://127.0.0.1:{closed_port()}",
                   IA_LDAP_BASE_DN="dc=jiahe,dc=gov,dc=cn", IA_LDAP_TIMEOUT="2")
    load_demo(app)
    load_catalog(app)
    return app


def test_every_documented_write_endpoint_has_a_row(audited):
    spec = audited.extensions["ia.openapi"]
    writes = {(m, p) for p, ops in spec["paths"].items() for m in ops if m in ("post", "put", "patch", "delete")}
    assert writes - READ_ONLY_POSTS == set(SCENARIOS), "add a row (request and its events) for each write endpoint"


@pytest.mark.parametrize("scenario", [s for rows in SCENARIOS.values() for s in rows], ids=lambda s: s.__name__[2:])
def test_a_write_appends_exactly_its_events(audited, scenario):
    from internal_affairs.audit.models import AuditEvent
    from internal_affairs.org.models import Person

    c = audited.test_client()
    method, url, kwargs, uid, expected = scenario(c, audited)
    with audited.app_context():
        before = db.session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()
        db.session.rollback()
    kwargs = dict(kwargs)
    kwargs.setdefault("environ_base", {"REMOTE_ADDR": "10.20.30.40"})
    response = getattr(c, method)(url, **kwargs)
    assert response.status_code < 400 or expected == ["org.sync.failed"], response.get_data(as_text=True)[:500]
    with audited.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.seq > before).order_by(AuditEvent.seq)
                                    ).scalars().all()
        assert Counter(e.action for e in events) == Counter(expected), sorted(e.action for e in events)
        actor = db.session.execute(select(Person.id).where(Person.uid == uid)).scalar_one()
        assert all(e.actor_id == actor and e.client_address == "10.20.30.40" for e in events)
        if scenario is s_decide_on_behalf:
            zhang = db.session.execute(select(Person.id).where(Person.uid == "zhangwei")).scalar_one()
            assert events[0].on_behalf_of_id == zhang
        db.session.rollback()


def test_a_refused_write_appends_nothing(audited):
    from internal_affairs.audit.models import AuditEvent

    c = audited.test_client()
    headers = token(c, "xujing")
    with audited.app_context():
        before = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        db.session.rollback()
    assert c.put("/api/v1/calendar/2027-01-02", json={"working_day": True}, headers=headers).status_code == 403
    with audited.app_context():
        assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == before

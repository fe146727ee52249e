"""Data that breaks records: every reported input that gave a 500 (and sometimes wrote anyway)
is now a clean 4xx that writes nothing; bidirectional controls are neither stored nor shown."""

from __future__ import annotations

from io import BytesIO

import pytest

from tests.support.app import PG_URL, api_token, csrf_token, login
from tests.support.dbstate import table_state
from tests.support.hostile import deep_json

LEAVE = {"leave_type": "annual", "start_date": "2026-12-07", "end_date": "2026-12-07", "reason": "家事"}
HUGE = str(10**30)
PAST_64_BITS = str(2**64 + 1)


def raw_json(client, method: str, path: str, text: str, headers: dict | None = None):
    """Send ``text`` as the JSON body exactly as written (``\\ud800`` escapes reach the parser)."""
    return client.open(path, method=method, data=text.encode("utf-8"), content_type="application/json",
                       headers=headers or {})


def assert_refused(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert field in error.get("fields", {}), error
        assert field in error["message"], error
    return error


@pytest.fixture
def world(catalog_app):
    """xujing's submitted leave (first task zhangwei's) and a draft, with tokens for the people."""
    c = catalog_app.test_client()
    tokens: dict[str, dict] = {}

    def t(uid):
        if uid not in tokens:
            tokens[uid] = api_token(c, uid)
        return tokens[uid]

    draft = c.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE, "submit": False}, headers=t("xujing"))
    submitted = c.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE, "submit": True}, headers=t("xujing"))
    assert draft.status_code == 201 and submitted.status_code == 201
    for uid in ("zhangwei", "shenliheng"):
        t(uid)
    return c, t, draft.get_json()["id"], submitted.get_json()


SURROGATE_BODIES = [
    ("POST", "/api/v1/cases", '{"matter_type": "leave", "form": {"leave_type": "annual", "start_date": "2026-12-07", '
     '"end_date": "2026-12-07", "reason": "a\\ud800b"}, "submit": false}', "form.reason"),
    ("POST", "/api/v1/cases", '{"matter_type": "leave", "form": {"leave_type": "annual", "start_date": "2026-12-07", '
     '"end_date": "2026-12-07", "reason": "a\\ud800b"}, "submit": true}', "form.reason"),
    ("POST", "/api/v1/cases", '{"matter_type": "le\\udc00ave", "form": {}}', "matter_type"),
    ("POST", "/api/v1/route-preview", '{"matter_type": "leave", "form": {}, "applicant": "xu\\ud800"}', "applicant"),
    ("POST", "/api/v1/cases", '{"matter_type": "leave", "a\\ud800b": 1}', "a\\ud800b"),
    ("POST", "/api/v1/cases", '{"matter_type": "leave", "form": {"reason": "\\u0000"}}', "form.reason"),
]


@pytest.mark.parametrize("method,path,body,field", SURROGATE_BODIES)
def test_invalid_text_in_a_body_is_refused_naming_the_field_and_writes_nothing(world, method, path, body, field):
    c, t, _draft, _case = world
    before = table_state(c.application)
    assert_refused(raw_json(c, method, path, body, t("xujing")), 422, "invalid_text", field)
    assert table_state(c.application) == before
    assert c.get("/api/v1/inbox?box=mine", headers=t("xujing")).status_code == 200


def test_invalid_text_on_case_actions_is_refused(world):
    c, t, draft, case = world
    before = table_state(c.application)
    assert_refused(raw_json(c, "POST", f"/api/v1/cases/{case['id']}/cc", '{"to": ["guo\\ud800lei"]}', t("xujing")),
                   422, "invalid_text", "to[0]")
    assert_refused(raw_json(c, "POST", f"/api/v1/cases/{draft}/withdraw", '{"reason": "\\udfff"}', t("xujing")),
                   422, "invalid_text", "reason")
    task = case["steps"][0]["tasks"][0]["id"]
    assert_refused(raw_json(c, "POST", f"/api/v1/tasks/{task}/decision",
                            '{"decision": "approve", "comment": "ok\\u0000"}', t("zhangwei")), 422, "invalid_text",
                   "comment")
    assert_refused(raw_json(c, "PATCH", f"/api/v1/cases/{draft}", '{"form": {"reason": "\\ud800"}}', t("xujing")),
                   422, "invalid_text", "form.reason")
    assert table_state(c.application) == before
    assert c.get(f"/api/v1/cases/{draft}", headers=t("xujing")).get_json()["status"] == "draft"


def test_calendar_note_is_checked_on_the_api_and_the_page(world):
    c, t, _draft, _case = world
    page = c.application.test_client()
    login(page, "shenliheng")
    token = csrf_token(page, "/matters/calendar")
    before = table_state(c.application)
    assert_refused(raw_json(c, "PUT", "/api/v1/calendar/2026-12-12", '{"working_day": true, "note": "调休\\ud800"}',
                   t("shenliheng")), 422, "invalid_text", "note")
    response = page.post("/matters/calendar", data={"day": "2026-12-12", "working_day": "1", "note": "调休\x00",
                                                    "csrf_token": token})
    assert response.status_code == 422
    assert "note" in response.get_data(as_text=True)
    assert table_state(c.application) == before


def test_login_with_invalid_text_is_refused_before_anything_is_read_or_written(catalog_app):
    c = catalog_app.test_client()
    before = table_state(catalog_app)
    assert_refused(raw_json(c, "POST", "/api/v1/auth/token", '{"username": "xu\\ud800jing", "password": "demo1234"}'),
                   422, "invalid_text", "username")
    assert_refused(raw_json(c, "POST", "/api/v1/auth/token", '{"username": "xujing\\u0000", "password": "demo1234"}'),
                   422, "invalid_text", "username")
    assert_refused(raw_json(c, "POST", "/api/v1/auth/token", '{"username": "xujing", "password": "demo\\ud8001234"}'),
                   422, "invalid_text", "password")
    response = login(c, "xujing\x00")
    assert response.status_code == 422
    assert table_state(catalog_app) == before
    assert login(c, "xujing").status_code == 302


def test_a_password_is_compared_as_typed(catalog_app):
    """Bidirectional controls are stripped from text, never from a password."""
    c = catalog_app.test_client()
    response = c.post("/api/v1/auth/token", json={"username": "xujing", "password": "demo\u202e1234"})
    assert response.status_code == 401


def test_deep_json_is_a_clean_400_everywhere(world):
    c, t, _draft, _case = world
    before = table_state(c.application)
    for path, headers in (("/api/v1/auth/token", {}), ("/api/v1/cases", t("xujing")),
                          ("/api/v1/route-preview", t("xujing"))):
        for depth in (40, 1000, 5000):
            response = raw_json(c, "POST", path, deep_json(depth), headers)
            assert response.status_code == 400, (path, depth, response.status_code)
            assert response.get_json()["error"]["code"] in ("too_deep", "malformed_json")
    assert table_state(c.application) == before
    # thirty levels are still fine: the limit is on depth, not on ordinary structure
    ok = raw_json(c, "POST", "/api/v1/route-preview", '{"matter_type": "leave", "form": ' + "{\"x\":" * 29 + "1" +
                  "}" * 29 + "}", t("xujing"))
    assert ok.status_code in (200, 422)


def test_numbers_no_column_holds_are_refused(world):
    c, t, _draft, case = world
    before = table_state(c.application)
    task = case["steps"][0]["tasks"][0]["id"]
    for body, field in ((f'{{"task_ids": [{HUGE}], "decision": "approve"}}', "task_ids[0]"),
                        (f'{{"task_ids": [{task}, -{PAST_64_BITS}], "decision": "approve"}}', "task_ids[1]"),
                        ('{"task_ids": [NaN], "decision": "approve"}', "task_ids[0]"),
                        ('{"task_ids": [1e400], "decision": "approve"}', "task_ids[0]")):
        error = assert_refused(raw_json(c, "POST", "/api/v1/tasks/batch-decision", body, t("zhangwei")), 422,
                               "invalid_number")
        assert field in error["fields"]
    assert_refused(raw_json(c, "POST", "/api/v1/org/sync", f'{{"apply_run": {HUGE}}}', t("shenliheng")), 422,
                   "invalid_number")
    assert table_state(c.application) == before


@pytest.mark.parametrize("path", [f"/api/v1/inbox?page={HUGE}", f"/api/v1/inbox?per_page={HUGE}",
                                  f"/api/v1/inbox?page={PAST_64_BITS}", f"/api/v1/org/sync-runs?page={HUGE}"])
def test_huge_paging_on_the_api_is_a_400(world, path):
    c, t, _draft, _case = world
    response = c.get(path, headers=t("shenliheng"))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_paging"


@pytest.mark.parametrize("path", [f"/inbox?page={HUGE}", f"/cases/mine?page={HUGE}", f"/inbox?page=-{HUGE}",
                                  f"/org/?agency={HUGE}", f"/org/?department={PAST_64_BITS}", "/org/?agency=²",
                                  "/inbox?page=١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠١٢"])
def test_huge_numbers_in_page_queries_are_a_400(world, path):
    c, _t, _draft, _case = world
    login(c, "xujing")
    assert c.get(path).status_code == 400


@pytest.mark.parametrize("path", [f"/api/v1/cases/{HUGE}", f"/api/v1/cases/{PAST_64_BITS}/attachments",
                                  f"/api/v1/org/agencies/{HUGE}", f"/api/v1/org/agencies/{2**63}",
                                  f"/cases/{HUGE}", f"/org/sync/runs/{HUGE}"])
def test_ids_past_64_bits_in_paths_are_a_404(world, path):
    c, t, _draft, _case = world
    login(c, "shenliheng")
    status = c.get(path, headers=t("shenliheng") if path.startswith("/api/") else {}).status_code
    # werkzeug answers 405 where another rule of the same shape takes another method
    assert status in (404, 405), (path, status)


def test_writes_to_ids_past_64_bits_are_a_404(world):
    c, t, _draft, _case = world
    login(c, "zhangwei")
    token = csrf_token(c, "/inbox")
    before = table_state(c.application)
    for path, body in ((f"/api/v1/tasks/{HUGE}/decision", {"decision": "approve"}),
                       (f"/api/v1/cases/{HUGE}/withdraw", {}), (f"/api/v1/cases/{HUGE}/cc", {"to": ["guolei"]})):
        assert c.post(path, json=body, headers=t("xujing")).status_code == 404
    response = c.post("/inbox/batch", data={"approve": [HUGE, "²", PAST_64_BITS], "csrf_token": token})
    assert response.status_code < 500
    assert table_state(c.application) == before


def test_nul_in_path_and_query_is_refused(world):
    c, t, _draft, _case = world
    assert c.get("/api/v1/org/people/xujing%00", headers=t("xujing")).status_code == 422
    assert c.get("/api/v1/inbox?q=%00", headers=t("xujing")).status_code == 422
    login(c, "xujing")
    assert c.get("/org/people/xujing%00").status_code == 422
    assert c.get("/inbox?q=a%00b").status_code == 422


def test_bidi_controls_are_stripped_from_stored_text(world):
    c, t, draft, _case = world
    form = dict(LEAVE, reason="\u202e家事\u2066x\u2069")
    response = c.patch(f"/api/v1/cases/{draft}", json={"form": form}, headers=t("xujing"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["form"]["reason"] == "家事x"
    upload = c.post(f"/api/v1/cases/{draft}/attachments", headers=t("xujing"), content_type="multipart/form-data",
                    data={"material": "medical_certificate",
                          "file": (BytesIO(b"%PDF-1.4\n%x\n"), "\u202efdp.exe\u202c.pdf")})
    assert upload.status_code == 201, upload.get_json()
    assert not set(upload.get_json()["filename"]) & set("\u202e\u202c")


def test_names_with_bidi_controls_are_shown_without_them(world):
    """A name stored before the gate existed (or straight from the directory) shows harmlessly."""
    from sqlalchemy import select

    from internal_affairs.extensions import db
    from internal_affairs.org.models import Person

    c, _t, _draft, _case = world
    with c.application.app_context():
        person = db.session.execute(select(Person).where(Person.uid == "xujing")).scalar_one()
        person.name = "徐\u202e静"
        db.session.commit()
    login(c, "xujing")
    html = c.get("/").get_data(as_text=True)
    assert "徐静" in html
    assert "\u202e" not in html
    assert "\u202e" not in c.get("/inbox?box=mine").get_data(as_text=True)


def test_directory_names_lose_bidi_controls_on_sync(app, tmp_path):
    from sqlalchemy import select

    from internal_affairs.clock import utcnow
    from internal_affairs.extensions import db
    from internal_affairs.org.actions import do_sync
    from internal_affairs.org.models import Person
    from tests.support.app import BASE_DN, DEMO_LDIF
    from tests.support.ldif_edit import Directory

    directory = Directory.load(DEMO_LDIF)
    index = directory.find_uid("xujing")
    dn, attrs = directory.records[index]
    attrs["cn"] = ["徐\u202e静".encode()]
    attrs["title"] = ["科员\u2067".encode()]
    path = directory.write(tmp_path / "bidi.ldif")
    with app.app_context():
        do_sync(acting_user=None, config=app.config, now=utcnow(), source=path, base_dn=BASE_DN)
        person = db.session.execute(select(Person).where(Person.uid == "xujing")).scalar_one()
        assert (person.name, person.title) == ("徐静", "科员")


@pytest.mark.skipif(bool(PG_URL), reason="PostgreSQL's jsonb never stored a lone surrogate; SQLite's JSON did")
def test_a_lone_surrogate_stored_before_the_gate_no_longer_breaks_reads(world):
    from internal_affairs.cases.models import Case
    from internal_affairs.extensions import db

    c, t, draft, _case = world
    with c.application.app_context():
        case = db.session.get(Case, draft)
        case.form = dict(case.form, reason="a\ud800b")
        db.session.commit()
    response = c.get(f"/api/v1/cases/{draft}", headers=t("xujing"))
    assert response.status_code == 200
    assert response.get_json()["form"]["reason"] == "a\ud800b"
    login(c, "xujing")
    page = c.get(f"/cases/{draft}")
    assert page.status_code == 200
    assert "a?b" in page.get_data(as_text=True)


def test_a_signature_on_a_case_that_carries_no_document_is_refused_and_decides_nothing(world):
    """Only an official document's decisions keep a handwritten signature; on a leave it is a 422
    naming the field, not silently dropped."""
    import base64

    c, t, _draft, case = world
    task = case["steps"][0]["tasks"][0]["id"]
    png = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
    before = table_state(c.application)
    response = c.post(f"/api/v1/tasks/{task}/decision", json={"decision": "approve", "signature": png},
                      headers=t("zhangwei"))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"signature": "只有公文的审批可以附手写签名。"}
    assert table_state(c.application) == before

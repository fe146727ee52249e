"""Attachments through the API: upload, list, download, who may do which, and the size limit."""

from __future__ import annotations

import hashlib
import io
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from internal_affairs.audit.actions import verify_chain
from internal_affairs.audit.models import AuditEvent
from internal_affairs.cases.api_attachments import content_disposition
from internal_affairs.cases.models import Case, CaseMaterial
from internal_affairs.clock import utcnow
from internal_affairs.extensions import db
from internal_affairs.matters.queries import get_matter
from internal_affairs.org.models import Person
from tests.support.app import api_token, load_catalog, load_demo
from tests.support.files import docx, jpeg, pdf, png

APPLICANT = "xujing"        # 区教育局, staff
HR_SAME_AGENCY = "linxiaoyan"  # 区教育局 HR
COLLEAGUE = "zhangwei"      # 区教育局, not involved in the case
HR_ELSEWHERE = "duhaiyan"   # 区委组织部 HR

_numbers = itertools.count(1)


def make_case(app, applicant_uid: str = APPLICANT, *, status: str = "in_progress", matter: str = "leave") -> int:
    """FACTORY: insert a ``Case`` row directly, bypassing the case engine, so attachments can be
    tested on their own. Only the columns the attachment code reads are meaningful."""
    with app.app_context():
        applicant = db.session.execute(select(Person).where(Person.uid == applicant_uid)).scalar_one()
        loaded = get_matter(matter)
        now = utcnow()
        case = Case(number=f"测试-2026-{next(_numbers):06d}", agency_id=applicant.agency_id,
                    matter_type_id=loaded.type.id, matter_version_id=loaded.version.id, applicant_id=applicant.id,
                    status=status, title=f"{applicant.name}的{loaded.definition.name}", form={}, plan={},
                    created_at=now, updated_at=now, submitted_at=now)
        db.session.add(case)
        db.session.commit()
        return case.id


def defer_material(app, case_id: int, material: str) -> None:
    """FACTORY: the applicant's 容缺 commitment for ``material``, as submission would record it."""
    with app.app_context():
        now = utcnow()
        db.session.add(CaseMaterial(case_id=case_id, material=material, status="deferred",
                                    commitment="承诺 5 个工作日内补交。", due_at=now + timedelta(days=7),
                                    created_at=now))
        db.session.commit()


@pytest.fixture
def cases_app(catalog_app):
    return catalog_app


@pytest.fixture
def c(cases_app):
    return cases_app.test_client()


def upload(c, case_id, headers, data: bytes | None, filename: str = "病假证明.pdf",
           material: str | None = "medical_certificate"):
    form = {}
    if material is not None:
        form["material"] = material
    if data is not None:
        form["file"] = (io.BytesIO(data), filename)
    return c.post(f"/api/v1/cases/{case_id}/attachments", data=form, headers=headers,
                  content_type="multipart/form-data")


def error_of(response):
    return response.get_json()["error"]


def test_applicant_uploads_lists_and_downloads(c, cases_app):
    case_id = make_case(cases_app)
    headers = api_token(c, APPLICANT)
    data = pdf()
    response = upload(c, case_id, headers, data)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body | {"id": 0, "uploaded_at": ""} == {
        "id": 0, "material": "medical_certificate", "filename": "病假证明.pdf", "content_type": "application/pdf",
        "kind": "pdf", "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "uploaded_by": APPLICANT,
        "uploaded_at": "", "withdrawn": False}
    assert body["uploaded_at"].endswith("Z")

    listed = c.get(f"/api/v1/cases/{case_id}/attachments", headers=headers)
    assert listed.status_code == 200 and listed.get_json() == [body]

    download = c.get(f"/api/v1/cases/{case_id}/attachments/{body['id']}", headers=headers)
    assert download.status_code == 200
    assert download.data == data
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E7%97%85%E5%81%87%E8%AF%81%E6%98%8E.pdf" in disposition
    assert 'filename="attachment.pdf"' in disposition


def test_every_upload_is_kept_and_audited(c, cases_app):
    case_id = make_case(cases_app)
    headers = api_token(c, APPLICANT)
    first = upload(c, case_id, headers, png(), "第一页.png").get_json()
    second = upload(c, case_id, headers, jpeg(), "第二页.jpg").get_json()
    assert (first["kind"], first["content_type"]) == ("image", "image/png")
    assert (second["kind"], second["content_type"]) == ("image", "image/jpeg")
    listed = c.get(f"/api/v1/cases/{case_id}/attachments", headers=headers).get_json()
    assert [a["id"] for a in listed] == [first["id"], second["id"]]
    with cases_app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "cases.attachment.uploaded")
                                    .order_by(AuditEvent.seq)).scalars().all()
        assert [e.data["sha256"] for e in events] == [first["sha256"], second["sha256"]]
        assert events[0].object_type == "case" and events[0].object_id == str(case_id)
        assert events[0].actor_label == APPLICANT
        assert verify_chain().ok


def test_the_stored_name_is_a_name_not_a_path(c, cases_app):
    case_id = make_case(cases_app)
    headers = api_token(c, APPLICANT)
    body = upload(c, case_id, headers, pdf(), "../../etc/病假\x07证明\u202e.pdf").get_json()
    assert body["filename"] == "病假证明.pdf"


def test_outsiders_get_404_everywhere(c, cases_app):
    case_id = make_case(cases_app)
    attachment = upload(c, case_id, api_token(c, APPLICANT), pdf()).get_json()
    for uid in (COLLEAGUE, HR_ELSEWHERE):
        headers = api_token(c, uid)
        response = upload(c, case_id, headers, pdf())
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
        assert c.get(f"/api/v1/cases/{case_id}/attachments", headers=headers).status_code == 404
        assert c.get(f"/api/v1/cases/{case_id}/attachments/{attachment['id']}", headers=headers).status_code == 404
    assert c.get("/api/v1/cases/999999/attachments", headers=api_token(c, APPLICANT)).status_code == 404
    assert c.get(f"/api/v1/cases/{case_id}/attachments").status_code == 401


def test_hr_of_the_agency_sees_but_does_not_upload(c, cases_app):
    case_id = make_case(cases_app)
    data = pdf()
    attachment = upload(c, case_id, api_token(c, APPLICANT), data).get_json()
    hr = api_token(c, HR_SAME_AGENCY)
    assert [a["id"] for a in c.get(f"/api/v1/cases/{case_id}/attachments", headers=hr).get_json()] == [attachment["id"]]
    assert c.get(f"/api/v1/cases/{case_id}/attachments/{attachment['id']}", headers=hr).data == data
    response = upload(c, case_id, hr, pdf())
    assert response.status_code == 403 and error_of(response)["code"] == "not_applicant"
    assert "申请人" in error_of(response)["message"]


def test_wrong_material_and_wrong_type(c, cases_app):
    case_id = make_case(cases_app)
    headers = api_token(c, APPLICANT)
    response = upload(c, case_id, headers, pdf(), material="passport_copy")
    assert response.status_code == 422 and "material" in error_of(response)["fields"]
    response = upload(c, case_id, headers, docx(), "证明.docx")
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "wrong_file_type" and "file" in error["fields"]
    assert "PDF" in error["message"] and "图片" in error["message"]
    response = upload(c, case_id, headers, docx(), "证明.docx", material="supporting_document")
    assert response.status_code == 201, "this material accepts every kind"


def test_unsupported_and_empty_files_and_missing_fields(c, cases_app):
    case_id = make_case(cases_app)
    headers = api_token(c, APPLICANT)
    response = upload(c, case_id, headers, b"MZ\x90\x00" + b"\x00" * 100, "发票.pdf")
    assert response.status_code == 422 and error_of(response)["code"] == "unsupported_file_type"
    response = upload(c, case_id, headers, b"<html><script>alert(1)</script></html>", "a.pdf")
    assert response.status_code == 422 and error_of(response)["code"] == "unsupported_file_type"
    response = upload(c, case_id, headers, b"", "空.pdf")
    assert response.status_code == 422 and error_of(response)["code"] == "empty_file"
    response = upload(c, case_id, headers, None)
    assert response.status_code == 422 and set(error_of(response)["fields"]) == {"file"}
    response = upload(c, case_id, headers, pdf(), material=None)
    assert response.status_code == 422 and set(error_of(response)["fields"]) == {"material"}
    response = upload(c, case_id, headers, None, material=None)
    assert response.status_code == 422 and set(error_of(response)["fields"]) == {"file", "material"}
    assert c.get(f"/api/v1/cases/{case_id}/attachments", headers=headers).get_json() == []


@pytest.mark.parametrize("status, code", [("draft", 201), ("returned", 201), ("approved", 409),
                                          ("rejected", 409), ("completed", 409), ("withdrawn", 409)])
def test_uploads_only_while_the_case_is_open(c, cases_app, status, code):
    case_id = make_case(cases_app, status=status)
    response = upload(c, case_id, api_token(c, APPLICANT), pdf())
    assert response.status_code == code
    if code == 409:
        assert error_of(response)["code"] == "case_closed"


def test_an_attachment_of_another_case_is_not_found(c, cases_app):
    mine = make_case(cases_app)
    other = make_case(cases_app)
    headers = api_token(c, APPLICANT)
    attachment = upload(c, other, headers, pdf()).get_json()
    assert c.get(f"/api/v1/cases/{mine}/attachments/{attachment['id']}", headers=headers).status_code == 404
    assert c.get(f"/api/v1/cases/{other}/attachments/{attachment['id']}", headers=headers).status_code == 200
    assert c.get(f"/api/v1/cases/{other}/attachments/{attachment['id'] + 1000}", headers=headers).status_code == 404


def test_a_deferred_material_becomes_supplied(c, cases_app):
    case_id = make_case(cases_app)
    defer_material(cases_app, case_id, "supporting_document")
    before = utcnow()
    response = upload(c, case_id, api_token(c, APPLICANT), pdf(), "结婚证.pdf", material="supporting_document")
    assert response.status_code == 201
    with cases_app.app_context():
        row = db.session.execute(select(CaseMaterial).where(CaseMaterial.case_id == case_id)).scalar_one()
        assert row.status == "supplied" and row.supplied_at >= before
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "cases.attachment.uploaded")
                                   ).scalar_one()
        assert event.data["supplied_deferred"] is True


def test_oversized_upload_is_413_too_large(make_app):
    app = make_app(IA_MAX_UPLOAD_MB="1")
    load_demo(app)
    load_catalog(app)
    case_id = make_case(app)
    c = app.test_client()
    headers = api_token(c, APPLICANT)
    big = pdf() + b"0" * (2 * 1024 * 1024)
    response = upload(c, case_id, headers, big)
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large" and error["message"] == "上传的内容过大。"
    assert upload(c, case_id, headers, pdf()).status_code == 201
    assert len(c.get(f"/api/v1/cases/{case_id}/attachments", headers=headers).get_json()) == 1


def test_content_disposition_has_an_ascii_fallback_and_the_exact_name():
    assert content_disposition("report 2026.pdf", "application/pdf") == \
        "attachment; filename=\"report 2026.pdf\"; filename*=UTF-8''report%202026.pdf"
    assert content_disposition('病假"证明;.pdf', "application/pdf") == \
        "attachment; filename=\"attachment.pdf\"; filename*=UTF-8''%E7%97%85%E5%81%87%22%E8%AF%81%E6%98%8E%3B.pdf"
    assert content_disposition("Résumé.docx").startswith('attachment; filename="Resume.docx"')


def test_applicant_withdraws_a_wrong_file_from_a_draft_and_it_stays_on_record(c, cases_app):
    case_id = make_case(cases_app, status="draft")
    headers = api_token(c, APPLICANT)
    wrong = upload(c, case_id, headers, pdf(), "错的文件.pdf").get_json()
    assert c.delete(f"/api/v1/cases/{case_id}/attachments/{wrong['id']}", headers=headers).status_code == 204
    listed = c.get(f"/api/v1/cases/{case_id}/attachments", headers=headers).get_json()
    assert [(a["id"], a["withdrawn"]) for a in listed] == [(wrong["id"], True)]
    assert c.get(f"/api/v1/cases/{case_id}/attachments/{wrong['id']}", headers=headers).status_code == 200, \
        "kept for the record"
    assert c.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()["attachments"][0]["withdrawn"] is True
    assert c.delete(f"/api/v1/cases/{case_id}/attachments/{wrong['id']}", headers=headers).status_code == 204
    with cases_app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "cases.attachment.withdrawn")
                                    ).scalars().all()
        assert [e.data["sha256"] for e in events] == [wrong["sha256"]], "taking it back twice records it once"
        assert verify_chain().ok


@pytest.mark.parametrize("status, code", [("draft", 204), ("returned", 204), ("in_progress", 409),
                                          ("approved", 409), ("withdrawn", 409)])
def test_files_are_withdrawn_only_while_the_applicant_holds_the_case(c, cases_app, status, code):
    case_id = make_case(cases_app, status="draft")
    headers = api_token(c, APPLICANT)
    file_id = upload(c, case_id, headers, pdf()).get_json()["id"]
    with cases_app.app_context():
        db.session.get(Case, case_id).status = status
        db.session.commit()
    response = c.delete(f"/api/v1/cases/{case_id}/attachments/{file_id}", headers=headers)
    assert response.status_code == code
    if code == 409:
        assert error_of(response)["code"] == "case_not_editable"


def test_only_the_applicant_withdraws_and_only_this_cases_files(c, cases_app):
    case_id = make_case(cases_app, status="draft")
    other_id = make_case(cases_app, status="draft")
    headers = api_token(c, APPLICANT)
    file_id = upload(c, case_id, headers, pdf()).get_json()["id"]
    hr = c.delete(f"/api/v1/cases/{case_id}/attachments/{file_id}", headers=api_token(c, HR_SAME_AGENCY))
    assert hr.status_code == 403 and error_of(hr)["code"] == "not_applicant"
    assert c.delete(f"/api/v1/cases/{case_id}/attachments/{file_id}",
                    headers=api_token(c, COLLEAGUE)).status_code == 404
    assert c.delete(f"/api/v1/cases/{other_id}/attachments/{file_id}", headers=headers).status_code == 404
    assert c.delete(f"/api/v1/cases/{case_id}/attachments/999999", headers=headers).status_code == 404
    assert c.get(f"/api/v1/cases/{case_id}/attachments", headers=headers).get_json()[0]["withdrawn"] is False


def test_an_attachment_id_past_the_integer_column_is_a_404_not_a_500(c, cases_app):
    case_id = make_case(cases_app)
    headers = api_token(c, APPLICANT)
    for attachment_id in (2**31 - 1, 2**31):
        assert c.get(f"/api/v1/cases/{case_id}/attachments/{attachment_id}", headers=headers).status_code == 404

"""Uploads (issue 11): the stored name ends in the extension of the sniffed type, bidirectional
controls are stripped from it, and PDFs with script, launch or additional actions, embedded
files or rich media are refused with a clear message — through the API and the case page, with
nothing written. PDFs are built by the test."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from tests.support.app import api_token, csrf_token, login
from tests.support.cases import insert_case
from tests.support.pdf import build_pdf

APPLICANT = "xujing"
MATERIAL = "medical_certificate"
SCRIPTED = build_pdf("/OpenAction 5 0 R", ("<< /S /J#61vaScript /JS (app.alert\\(1\\)) >>",), packed=True)
LAUNCHING = build_pdf("/OpenAction 5 0 R", ("<< /S /Launch /F (cmd.exe) >>",))


def _written(app):
    from internal_affairs.audit.models import AuditEvent
    from internal_affairs.cases.models import Attachment
    from internal_affairs.extensions import db

    with app.app_context():
        return tuple(db.session.execute(select(func.count()).select_from(m)).scalar() for m in (Attachment, AuditEvent))


def _upload(client, case_id, headers, data, filename):
    return client.post(f"/api/v1/cases/{case_id}/attachments", headers=headers, content_type="multipart/form-data",
                       data={"material": MATERIAL, "file": (io.BytesIO(data), filename)})


@pytest.mark.parametrize("filename, stored", [
    ("poly.html", "poly.html.pdf"),
    ("invoice\u202efdp.exe", "invoicefdp.exe.pdf"),
    ("\u2067病假证明\u2069.pdf\u200e", "病假证明.pdf"),
    ("病假证明.pdf", "病假证明.pdf"),
])
def test_the_stored_name_ends_in_the_sniffed_type_without_bidi_controls(catalog_app, filename, stored):
    client = catalog_app.test_client()
    headers = api_token(client, APPLICANT)
    case_id = insert_case(catalog_app, APPLICANT)
    response = _upload(client, case_id, headers, build_pdf(), filename)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["filename"] == stored
    download = client.get(f"/api/v1/cases/{case_id}/attachments/{response.get_json()['id']}", headers=headers)
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].endswith(".pdf")


@pytest.mark.parametrize("data", [SCRIPTED, LAUNCHING], ids=["script_in_object_stream", "launch"])
def test_active_pdfs_are_refused_through_the_api_and_nothing_is_written(catalog_app, data):
    client = catalog_app.test_client()
    headers = api_token(client, APPLICANT)
    case_id = insert_case(catalog_app, APPLICANT)
    before = _written(catalog_app)
    response = _upload(client, case_id, headers, data, "通知.pdf")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "pdf_active_content" and "脚本" in error["message"] and "file" in error["fields"]
    assert _written(catalog_app) == before


def test_active_pdfs_are_refused_on_the_case_page(catalog_app):
    client = catalog_app.test_client()
    case_id = insert_case(catalog_app, APPLICANT)
    login(client, APPLICANT)
    before = _written(catalog_app)
    token = csrf_token(client, f"/cases/{case_id}")
    response = client.post(f"/cases/{case_id}/attachments", content_type="multipart/form-data", follow_redirects=True,
                           data={"csrf_token": token, f"file_{MATERIAL}": (io.BytesIO(SCRIPTED), "通知\u202e.pdf")})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "PDF 文件含有脚本" in page
    assert "\u202e" not in page, "the refused name is shown without its bidi control"
    assert _written(catalog_app) == before
    token = csrf_token(client, f"/cases/{case_id}")
    response = client.post(f"/cases/{case_id}/attachments", content_type="multipart/form-data", follow_redirects=True,
                           data={"csrf_token": token, f"file_{MATERIAL}": (io.BytesIO(build_pdf()), "poly.html")})
    assert "已上传 1 个文件" in response.get_data(as_text=True)
    assert "poly.html.pdf" in client.get(f"/cases/{case_id}").get_data(as_text=True)

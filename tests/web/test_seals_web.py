"""The sealed record and verification through the API and the pages: record.pdf 202/200/404,
``POST /api/v1/verify`` with a sealed, a tampered, an unsigned, a damaged and a non-PDF file (and
one too large), the verify page, and the seal keeper's page of failed records."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from internal_affairs.extensions import db
from internal_affairs.seals.models import Seal
from tests.support.app import login
from tests.support.cases import token
from tests.support.pdf import build_pdf
from tests.support.sealing import approved_leave, run_sealing, seal_ready_app


@pytest.fixture
def world(make_app, tmp_path):
    app = seal_ready_app(make_app, tmp_path, IA_MAX_UPLOAD_MB="2")
    c = app.test_client()
    c.tokens = {}
    return app, c


def _verify(c, data: bytes, uid: str = "haowenbo", name: str = "记录.pdf"):
    return c.post("/api/v1/verify", headers=token(c, uid), content_type="multipart/form-data",
                  data={"file": (io.BytesIO(data), name)})


def test_record_pdf_is_202_while_sealing_then_the_pdf_and_404_for_outsiders(world):
    app, c = world
    case = approved_leave(c)
    url = f"/api/v1/cases/{case['id']}/record.pdf"
    pending = c.get(url, headers=token(c, "xujing"))
    assert pending.status_code == 202 and int(pending.headers["Retry-After"]) > 0
    assert pending.get_json()["status"] == "queued"
    for outsider in ("liujia", "hanzhengqing"):
        assert c.get(url, headers=token(c, outsider)).status_code == 404
    run_sealing(app)
    for reader in ("xujing", "zhangwei", "haowenbo"):
        done = c.get(url, headers=token(c, reader))
        assert done.status_code == 200 and done.mimetype == "application/pdf" and done.data.startswith(b"%PDF-")
    assert c.get(url, headers=token(c, "liujia")).status_code == 404
    assert c.get("/api/v1/cases/999999/record.pdf", headers=token(c, "xujing")).status_code == 404
    login(c, "xujing")
    html = c.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert url in html and "下载盖章办理记录" in html
    download = c.get(url)  # the page's link, with the browser session
    assert download.status_code == 200 and download.mimetype == "application/pdf"


def test_the_case_page_says_sealing_until_done(world):
    app, c = world
    case = approved_leave(c)
    login(c, "xujing")
    html = c.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "盖章中" in html and f"/api/v1/cases/{case['id']}/record.pdf" not in html


def test_verify_reports_sealed_tampered_unsigned_and_refuses_what_is_no_pdf(world):
    app, c = world
    case = approved_leave(c)
    run_sealing(app)
    sealed = c.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=token(c, "xujing")).data

    good = _verify(c, sealed)
    assert good.status_code == 200, good.get_json()
    body = good.get_json()
    assert body["valid"] is True and len(body["signatures"]) == 1
    [sig] = body["signatures"]
    assert sig["intact"] and sig["trusted"] and sig["covers_whole_document"] and sig["certification"]
    assert sig["level"] == "B-B" and sig["time_source"] == "local" and sig["modified_after"] == []
    assert "审批专用章" in sig["seal"] or "审批专用章" in "".join(sig["summary"]) or sig["organization"]
    assert any("可信" in line for line in sig["summary"]) and "有效" in body["message"]

    # one byte flipped inside the signed range (in the page content, well before the signature)
    tampered = bytearray(sealed)
    spot = sealed.index(b"stream", 2000) + 20
    tampered[spot] ^= 0x01
    bad = _verify(c, bytes(tampered)).get_json()
    assert bad["valid"] is False and bad["signatures"][0]["intact"] is False
    assert "未通过验证" in bad["message"]

    unsigned = _verify(c, build_pdf()).get_json()
    assert unsigned["valid"] is False and unsigned["signatures"] == [] and "没有任何电子签名" in unsigned["message"]

    for junk, words in ((b"just some text, no PDF at all", "不是 PDF"),
                        (b"%PDF-1.7\n1 0 obj << /Type /Catalog", "损坏")):
        refused = _verify(c, junk)
        assert refused.status_code == 422, refused.get_json()
        assert words in refused.get_json()["error"]["message"]
    empty = c.post("/api/v1/verify", headers=token(c, "haowenbo"), content_type="multipart/form-data", data={})
    assert empty.status_code == 422 and "file" in empty.get_json()["error"]["fields"]
    zero = _verify(c, b"")
    assert zero.status_code == 422 and "文件为空" in zero.get_json()["error"]["message"]
    as_text = c.post("/api/v1/verify", headers=token(c, "haowenbo"), content_type="multipart/form-data",
                     data={"file": "%PDF-1.7 not a file part"})  # a form field, not an uploaded file
    assert as_text.status_code == 422 and "file" in as_text.get_json()["error"]["fields"]
    as_json = c.post("/api/v1/verify", headers=token(c, "haowenbo"), json={"file": "JVBERi0="})
    assert as_json.status_code == 422 and "file" in as_json.get_json()["error"]["fields"]
    huge = _verify(c, b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024))
    assert huge.status_code == 413
    anonymous = app.test_client().post("/api/v1/verify", content_type="multipart/form-data",
                                       data={"file": (io.BytesIO(sealed), "a.pdf")})
    assert anonymous.status_code in (400, 401)  # no session: refused (CSRF or login) before reading the file


def test_the_verify_page_reports_in_plain_chinese(world):
    app, c = world
    case = approved_leave(c)
    run_sealing(app)
    sealed = c.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=token(c, "xujing")).data
    login(c, "tanlixin")
    from tests.support.app import csrf_token

    csrf = csrf_token(c, "/verify")
    response = c.post("/verify", data={"csrf_token": csrf, "file": (io.BytesIO(sealed), "记录.pdf")},
                      content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-valid="true"' in html and "证书可信" in html
    response = c.post("/verify", data={"csrf_token": csrf, "file": (io.BytesIO(b"hello"), "x.pdf")},
                      content_type="multipart/form-data")
    assert response.status_code == 422 and "不是 PDF" in response.get_data(as_text=True)
    nothing = c.post("/verify", data={"csrf_token": csrf}, content_type="multipart/form-data")  # the empty form
    assert nothing.status_code == 422 and "请选择要验证的 PDF 文件" in nothing.get_data(as_text=True)
    no_name = c.post("/verify", data={"csrf_token": csrf, "file": (io.BytesIO(b""), "")},
                     content_type="multipart/form-data")  # what a browser sends for an empty file input
    assert no_name.status_code == 422 and "请选择要验证的 PDF 文件" in no_name.get_data(as_text=True)
    zero = c.post("/verify", data={"csrf_token": csrf, "file": (io.BytesIO(b""), "空.pdf")},
                  content_type="multipart/form-data")
    assert zero.status_code == 422 and "文件为空" in zero.get_data(as_text=True)


def test_failed_records_are_listed_for_the_seal_keeper_only(world):
    app, c = world
    with app.app_context():
        keys = [Path(s.pkcs12_path) for s in db.session.execute(select(Seal)).scalars()]
    for key in keys:
        key.rename(key.with_suffix(".away"))
    case = approved_leave(c)
    assert run_sealing(app).failed == 1
    login(c, "wumin")
    html = c.get("/seals/failed").get_data(as_text=True)
    assert case["number"] in html and "密钥文件不存在" in html
    # the keeper may not read the case: its number without a link to a page that would be 404
    assert c.get(f"/cases/{case['id']}").status_code == 404 and f'href="/cases/{case["id"]}"' not in html
    admin = app.test_client()
    login(admin, "shenliheng")
    html = admin.get("/seals/failed").get_data(as_text=True)
    assert f'href="/cases/{case["id"]}"' in html and admin.get(f"/cases/{case['id']}").status_code == 200
    other = app.test_client()
    login(other, "xujing")
    assert other.get("/seals/failed").status_code == 404

"""Sealed records against real components: the scheduler process seals a finished case with the
demo seal and a timestamp from a local RFC 3161 TSA (PAdES B-T); pyHanko, poppler's ``pdfsig``
(the demo root in an NSS database) and ``qpdf --check`` all accept it; ``POST /api/v1/verify``
reports each tampering; a seal imported from a SoftHSM2 token seals too."""

from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import select

import signing
from internal_affairs.extensions import db
from internal_affairs.seals.models import SealedRecord
from internal_affairs.seals.queries import trust_roots
from tests.support.cases import token
from tests.support.pki_services import PkiServices
from tests.support.scheduler import start_scheduler
from tests.support.sealing import (NssDatabase, add_annotation, append_page, approved_leave, demo_pki_of, pdf_text,
                                   qpdf_check, qpdf_rewrite, rejected_overseas_travel, run_sealing,
                                   seal_ready_app)
from tests.support.softhsm import generate_rsa_seal_key, init_softhsm, softhsm_available


@pytest.fixture
def tsa_world(make_app, tmp_path):
    with PkiServices() as services:
        app = seal_ready_app(make_app, tmp_path, IA_TSA_URL=services.tsa_url)
        pki = demo_pki_of(tmp_path / "seals")
        services.set_tsa(*signing.make_demo_tsa(pki), pki.root_certificate_pem())
        c = app.test_client()
        c.tokens = {}
        yield app, c, pki, services


def _verify(c, data: bytes) -> dict:
    response = c.post("/api/v1/verify", headers=token(c, "haowenbo"), content_type="multipart/form-data",
                      data={"file": (io.BytesIO(data), "记录.pdf")})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_scheduler_seals_the_record_b_t_and_three_validators_accept_it(tsa_world, tmp_path):
    app, c, pki, services = tsa_world
    case = approved_leave(c)
    process = start_scheduler(app, tmp_path / "scheduler.log", "--once", IA_SEAL_DIR=str(tmp_path / "seals"),
                              IA_TSA_URL=services.tsa_url)
    assert process.wait(timeout=120) == 0, (tmp_path / "scheduler.log").read_text()
    assert "records: 1 sealed" in (tmp_path / "scheduler.log").read_text()
    assert "POST /tsa" in services.requests
    pdf = c.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=token(c, "xujing")).data

    body = _verify(c, pdf)
    assert body["valid"] and [s["level"] for s in body["signatures"]] == ["B-T"]
    assert body["signatures"][0]["time_source"] == "tsa"
    with app.app_context():
        assert signing.verify_pdf(pdf, trust_roots=trust_roots()).valid
    report = NssDatabase.trusting(pki.root_certificate_path, tmp_path / "nss").pdfsig(pdf)
    assert "Signature is Valid" in report and "Certificate is Trusted" in report, report
    check = qpdf_check(pdf)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "杨帆（代张伟）" in pdf_text(pdf)


def test_every_tampering_is_reported_by_the_verify_api(tsa_world, tmp_path):
    app, c, _pki, _services = tsa_world
    case = approved_leave(c)
    assert run_sealing(app).sealed == 1
    pdf = c.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=token(c, "xujing")).data

    at = pdf.index(b"/Producer")
    flipped = _verify(c, pdf[:at] + b"/Producrr" + pdf[at + 9:])
    assert not flipped["valid"] and not flipped["signatures"][0]["intact"]

    paged = _verify(c, append_page(pdf))
    [sig] = paged["signatures"]
    assert not paged["valid"] and sig["intact"] and not sig["covers_whole_document"]
    assert not sig["modification_allowed"] and "other" in sig["modified_after"]
    assert any("不允许的改动" in line for line in sig["summary"])

    annotated = _verify(c, add_annotation(pdf))
    assert not annotated["valid"] and not annotated["signatures"][0]["modification_allowed"]

    rewritten = _verify(c, qpdf_rewrite(pdf, tmp_path))
    assert not rewritten["valid"]
    assert not any(s["intact"] and s["covers_whole_document"] for s in rewritten["signatures"])


def test_a_seal_imported_from_a_softhsm_token_seals_the_record(make_app, tmp_path, monkeypatch):
    if not softhsm_available():
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("SoftHSM2 is required under CI: apt-get install softhsm2")
        pytest.skip("SoftHSM2 is not installed")
    hsm = init_softhsm(tmp_path / "softhsm")
    app = seal_ready_app(make_app, tmp_path)
    pki = demo_pki_of(tmp_path / "seals")
    with app.app_context():
        from internal_affairs.org.models import Person

        agency = db.session.execute(select(Person).where(Person.uid == "xujing")).scalar_one().agency.name
    generate_rsa_seal_key(hsm, "edu-approval", b"\x09", lambda spki: signing.issue_demo_seal_certificate(pki, agency, spki))
    monkeypatch.setenv("SEAL_TOKEN_PIN", hsm.pin)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seals", "import", "--agency", agency, "--purpose", "审批专用章",
                                 "--pkcs11-module", hsm.module, "--token-label", hsm.label, "--key-label",
                                 "edu-approval", "--secret-name", "SEAL_TOKEN_PIN"])
    assert result.exit_code == 0, result.output
    assert "registered" in result.output
    wrong = runner.invoke(args=["seals", "import", "--agency", agency, "--purpose", "审批专用章", "--pkcs11-module",
                                hsm.module, "--token-label", hsm.label, "--key-label", "edu-approval",
                                "--secret-name", "NO_SUCH_SECRET"])
    assert wrong.exit_code != 0 and "NO_SUCH_SECRET" in wrong.output
    c = app.test_client()
    c.tokens = {}
    case = approved_leave(c)
    assert run_sealing(app).sealed == 1
    with app.app_context():
        record = db.session.execute(select(SealedRecord)).scalar_one()
        report = signing.verify_pdf(record.pdf, trust_roots=trust_roots())
        assert report.valid and record.case_id == case["id"]
        from internal_affairs.seals.models import SealUse

        use = db.session.execute(select(SealUse)).scalar_one()
        assert use.seal.key_kind == "pkcs11" and use.certificate_serial == report.signatures[0].certificate_serial


def test_with_a_reachable_crl_the_record_is_b_lt_and_verifies_offline(tsa_world):
    app, c, pki, services = tsa_world
    result = app.test_cli_runner().invoke(args=["seals", "init-demo", "--force", "--crl-url", services.crl_url])
    assert result.exit_code == 0, result.output
    from pathlib import Path

    pki = demo_pki_of(Path(app.config["SEAL_DIR"]))
    services.set_tsa(*signing.make_demo_tsa(pki), pki.root_certificate_pem())
    services.publish_crl(signing.make_demo_crl(pki, []))
    case = approved_leave(c)
    assert run_sealing(app).sealed == 1
    assert "GET /root.crl" in services.requests
    pdf = c.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=token(c, "xujing")).data
    body = _verify(c, pdf)
    assert body["valid"] and [s["level"] for s in body["signatures"]] == ["B-LT"]
    with app.app_context():
        assert signing.verify_pdf(pdf, trust_roots=trust_roots(), revocation_mode="hard-fail").valid


def test_overseas_travel_record_carries_two_seals_pdfsig_accepts(make_app, tmp_path):
    """The matter declares [agency_seal, organisation_seal]: poppler sees two valid, trusted
    signatures, the applicant agency's first and the organisation department's (区委组织部) second."""
    app = seal_ready_app(make_app, tmp_path)
    c = app.test_client()
    case = rejected_overseas_travel(c)
    assert run_sealing(app).sealed == 1
    pdf = c.get(f"/api/v1/cases/{case['id']}/record.pdf", headers=token(c, "xujing")).data
    report = NssDatabase.trusting(demo_pki_of(tmp_path / "seals").root_certificate_path, tmp_path / "nss").pdfsig(pdf)
    signatures = report.split("Signature #")[1:]
    assert len(signatures) == 2, report
    assert all("Signature is Valid" in s and "Certificate is Trusted" in s for s in signatures), report
    assert "区教育局" in signatures[0] and "区委组织部" in signatures[1], report
    assert qpdf_check(pdf).returncode == 0

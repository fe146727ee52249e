"""Sealed records against real components: PKCS#12 keys and a SoftHSM2 token, a local RFC 3161
TSA and a CRL server on 127.0.0.1, checked by three independent tools (pyHanko's validator
through ``signing.verify_pdf``, poppler's ``pdfsig`` trusting the demo root in an NSS database,
``qpdf --check``), and the tamper cases an auditor must catch."""

from __future__ import annotations

import random
import re
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from pyhanko_certvalidator import ValidationContext

from signing import (DamagedPdfError, NotAPdfError, Pkcs11Key, Pkcs12Key, SealKeyError, SealSpec, SigningError,
                     TimestampError, make_demo_crl, make_demo_pki, make_demo_tsa, render_record, seal_pdf,
                     signer_certificate, verify_pdf)
from signing.pki import issue_demo_seal_certificate
from signing.seal import seal_boxes
from signing.verify import load_trust_roots
from tests.support.pki_services import PkiServices
from tests.support.sealing import (NssDatabase, add_annotation, append_page, qpdf_check, qpdf_rewrite, rasterize,
                                   red_pixels, sample_record)
from tests.support.softhsm import generate_ec_seal_key, generate_rsa_seal_key

OFFICE, FINANCE, REVOKED = "嘉禾区人民政府办公室", "嘉禾区财政局", "嘉禾区撤销测试局"


@pytest.fixture(scope="module")
def services():
    with PkiServices() as running:
        yield running


@pytest.fixture(scope="module")
def pki(tmp_path_factory, services):
    made = make_demo_pki(tmp_path_factory.mktemp("pki"), [OFFICE, FINANCE, REVOKED], password=b"demo-pass",
                         crl_url=services.crl_url)
    services.set_tsa(*make_demo_tsa(made), made.root_certificate_pem())
    services.publish_crl(make_demo_crl(made, []))
    return made


@pytest.fixture(scope="module")
def nss(tmp_path_factory, pki):
    return NssDatabase.trusting(pki.root_certificate_path, tmp_path_factory.mktemp("nss"))


@pytest.fixture(scope="module")
def roots(pki):
    return [pki.root_certificate_pem()]


def _seal(pki, agency: str, field: str, purpose: str) -> SealSpec:
    return SealSpec(Pkcs12Key(pki.seals[agency].pkcs12_path.read_bytes(), pki.password), field, agency, purpose)


@pytest.fixture(scope="module")
def two_seals(pki):
    return [_seal(pki, OFFICE, "Seal1", "审批专用章"), _seal(pki, FINANCE, "Seal2", "电子印章")]


@pytest.fixture(scope="module")
def sealed(two_seals):
    """A record sealed at PAdES B-B: certification by the office, approval by the finance bureau."""
    return seal_pdf(render_record(sample_record()), two_seals)


def _assert_independent_tools_accept(pdf: bytes, nss: NssDatabase, count: int) -> None:
    report = nss.pdfsig(pdf)
    assert report.count("Signature is Valid") == count, report
    assert report.count("Certificate is Trusted") == count, report
    check = qpdf_check(pdf)
    assert check.returncode == 0, check.stdout + check.stderr


def _live_context(roots) -> ValidationContext:
    return ValidationContext(trust_roots=load_trust_roots(roots), allow_fetching=True)


def test_two_pkcs12_seals_b_b_accepted_by_all_three_tools(sealed, two_seals, pki, nss, roots, tmp_path):
    report = verify_pdf(sealed, trust_roots=roots)
    assert report.valid
    first, second = report.signatures
    assert (first.field_name, first.certification, second.certification) == ("Seal1", True, False)
    assert first.signer == f"{OFFICE}电子印章（演示 DEMO）" and second.signer.startswith(FINANCE)
    assert (first.organization, second.organization) == (OFFICE, FINANCE)
    assert first.certificate_serial == format(signer_certificate(two_seals[0]).serial_number, "X")
    assert int(first.certificate_serial, 16) == pki.seals[OFFICE].serial
    assert all(s.intact and s.trusted and s.level == "B-B" and s.time_source == "local" for s in report.signatures)
    assert not first.covers_whole_document and second.covers_whole_document
    assert first.modified_after == ("form_filling", "field:Seal2") and first.modification_allowed
    _assert_independent_tools_accept(sealed, nss, 2)
    info = subprocess.run(["pdfinfo", "-"], input=sealed, capture_output=True, check=True).stdout
    pages = int(info.split(b"Pages:")[1].split()[0])
    assert red_pixels(rasterize(sealed, pages, tmp_path)) > 300, "the red stamps are drawn on the last page"


def test_signing_time_from_the_local_tsa_gives_b_t(two_seals, services, nss, roots):
    before = len([r for r in services.requests if r == "POST /tsa"])
    pdf = seal_pdf(render_record(sample_record()), two_seals, timestamper_url=services.tsa_url)
    assert len([r for r in services.requests if r == "POST /tsa"]) == before + 2
    report = verify_pdf(pdf, trust_roots=roots)
    assert report.valid
    assert [(s.level, s.time_source) for s in report.signatures] == [("B-T", "tsa"), ("B-T", "tsa")]
    _assert_independent_tools_accept(pdf, nss, 2)


def test_revocation_info_embedded_gives_b_lt_verifiable_offline_and_b_lta(two_seals, services, nss, roots):
    pdf = seal_pdf(render_record(sample_record()), two_seals, timestamper_url=services.tsa_url,
                   validation_context=_live_context(roots))
    assert "GET /root.crl" in services.requests
    report = verify_pdf(pdf, trust_roots=roots, allow_fetching=False, revocation_mode="hard-fail")
    assert report.valid, report
    assert [s.level for s in report.signatures] == ["B-LT", "B-LT"]
    _assert_independent_tools_accept(pdf, nss, 2)
    later = datetime.now(timezone.utc) + timedelta(days=400)
    years_on = verify_pdf(pdf, trust_roots=roots, allow_fetching=False, revocation_mode="hard-fail", moment=later)
    assert years_on.valid, "the embedded CRL is stale by then; the timestamp vouches for when it was current"
    assert not verify_pdf(sealed_b_t_without_revinfo(two_seals, services), trust_roots=roots,
                          revocation_mode="hard-fail", moment=later).valid

    lta = seal_pdf(render_record(sample_record()), two_seals, timestamper_url=services.tsa_url,
                   validation_context=_live_context(roots), document_timestamp=True)
    report = verify_pdf(lta, trust_roots=roots, allow_fetching=False, revocation_mode="hard-fail")
    assert report.valid and report.document_timestamps == 1
    assert [s.level for s in report.signatures] == ["B-LTA", "B-LTA"]
    assert all(s.modification_allowed for s in report.signatures)
    check = qpdf_check(lta)
    assert check.returncode == 0, check.stdout


def sealed_b_t_without_revinfo(seals, services) -> bytes:
    return seal_pdf(render_record(sample_record()), seals, timestamper_url=services.tsa_url)


def test_without_revocation_data_hard_fail_validation_is_not_trusted(sealed, roots):
    report = verify_pdf(sealed, trust_roots=roots, allow_fetching=False, revocation_mode="hard-fail")
    assert not report.valid and not any(s.trusted for s in report.signatures)
    assert all(s.intact for s in report.signatures)


@pytest.fixture(scope="module")
def token(softhsm_token):
    return softhsm_token


def test_a_seal_key_on_a_softhsm_token(token, pki, two_seals, services, nss, roots):
    generate_ec_seal_key(token, "finance-seal", b"\x01",
                         lambda spki: issue_demo_seal_certificate(pki, FINANCE, spki, crl_url=services.crl_url))
    on_token = SealSpec(Pkcs11Key(token.module, token.label, token.pin, "finance-seal", use_raw_mechanism=True),
                        "Seal2", FINANCE, "电子印章")
    pdf = seal_pdf(render_record(sample_record()), [two_seals[0], on_token], timestamper_url=services.tsa_url)
    report = verify_pdf(pdf, trust_roots=roots)
    assert report.valid
    assert report.signatures[1].signer.startswith(FINANCE) and report.signatures[1].level == "B-T"
    _assert_independent_tools_accept(pdf, nss, 2)

    generate_rsa_seal_key(token, "office-seal", b"\x02",
                          lambda spki: issue_demo_seal_certificate(pki, OFFICE, spki, crl_url=services.crl_url))
    office = SealSpec(Pkcs11Key(token.module, token.label, token.pin, "office-seal"), "Seal1", OFFICE, "审批专用章")
    both = seal_pdf(render_record(sample_record()), [office, on_token])
    report = verify_pdf(both, trust_roots=roots)
    assert report.valid and [s.organization for s in report.signatures] == [OFFICE, FINANCE]
    _assert_independent_tools_accept(both, nss, 2)

    wrong_pin = SealSpec(Pkcs11Key(token.module, token.label, "0000", "finance-seal", use_raw_mechanism=True),
                         "Seal1", FINANCE, "电子印章")
    with pytest.raises(SealKeyError):
        seal_pdf(render_record(sample_record()), [wrong_pin])


def test_a_wrong_pkcs12_password_and_an_unreachable_tsa_are_named_errors(pki, two_seals):
    pdf = render_record(sample_record())
    with pytest.raises(SealKeyError):
        seal_pdf(pdf, [SealSpec(Pkcs12Key(pki.seals[OFFICE].pkcs12_path.read_bytes(), b"wrong"), "S", OFFICE, "章")])
    with pytest.raises(TimestampError):
        seal_pdf(pdf, two_seals, timestamper_url="http://127.0.0.1:9/tsa", timestamp_timeout=2)


def _flip_inside_signed_range(pdf: bytes) -> bytes:
    at = pdf.index(b"/Producer")
    return pdf[:at] + b"/Producrr" + pdf[at + 9:]


def test_one_byte_flipped_inside_the_signed_range(sealed, nss, roots):
    tampered = _flip_inside_signed_range(sealed)
    report = verify_pdf(tampered, trust_roots=roots)
    assert not report.valid
    assert not any(s.intact for s in report.signatures)
    assert "Signature is Valid" not in nss.pdfsig(tampered)


def test_a_page_appended_after_certification_is_an_illegal_change(sealed, nss, roots):
    tampered = append_page(sealed)
    report = verify_pdf(tampered, trust_roots=roots)
    assert not report.valid
    assert all(s.intact and not s.covers_whole_document for s in report.signatures)
    assert all(not s.modification_allowed and "other" in s.modified_after for s in report.signatures)
    # pdfsig only checks each signed range, so it still calls both intact: pyHanko's analysis is what sees it
    assert nss.pdfsig(tampered).count("Signature is Valid") == 2


def test_an_annotation_added_after_certification_is_not_allowed(sealed, roots):
    tampered = add_annotation(sealed)
    report = verify_pdf(tampered, trust_roots=roots)
    assert not report.valid
    certification = report.signatures[0]
    assert certification.intact and not certification.modification_allowed
    assert certification.modified_after[0] in ("annotations", "other")


def test_a_full_rewrite_by_qpdf_breaks_the_seals(sealed, roots, tmp_path):
    report = verify_pdf(qpdf_rewrite(sealed, tmp_path), trust_roots=roots)
    assert not report.valid
    assert not any(s.intact and s.covers_whole_document for s in report.signatures)


def test_a_revoked_seal_certificate_is_not_trusted(pki, services, roots):
    spec = _seal(pki, REVOKED, "Seal1", "审批专用章")
    pdf = seal_pdf(render_record(sample_record()), [spec])
    try:
        services.publish_crl(make_demo_crl(pki, [pki.seals[REVOKED].serial]))
        report = verify_pdf(pdf, trust_roots=roots, allow_fetching=True)
        (signature,) = report.signatures
        assert signature.intact and signature.revoked and not signature.trusted and not report.valid
        with pytest.raises(SigningError):
            seal_pdf(render_record(sample_record()), [spec], validation_context=_live_context(roots))
    finally:
        services.publish_crl(make_demo_crl(pki, []))
    assert verify_pdf(pdf, trust_roots=roots, allow_fetching=True).valid


def test_no_pdf_a_damaged_pdf_and_an_unsigned_pdf(sealed, roots):
    with pytest.raises(NotAPdfError):
        verify_pdf(b"PK\x03\x04 this is a zip", trust_roots=roots)
    with pytest.raises(NotAPdfError):
        verify_pdf(b"", trust_roots=roots)
    with pytest.raises(DamagedPdfError):
        verify_pdf(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n", trust_roots=roots)
    unsigned = verify_pdf(render_record(sample_record()), trust_roots=roots)
    assert unsigned.signatures == () and not unsigned.valid


def test_untrusted_root_is_reported(sealed, tmp_path):
    other = make_demo_pki(tmp_path / "other", ["别的机关"])
    report = verify_pdf(sealed, trust_roots=[other.root_certificate_pem()])
    assert all(s.intact and not s.trusted for s in report.signatures) and not report.valid


def test_damaged_copies_give_a_named_error_or_a_report_never_a_crash(sealed, roots):
    """Truncated and corrupted copies of a sealed record: the verifier answers each with a report
    or one of its named errors (the app turns those into a 422), and no copy whose signed bytes
    were hit verifies as valid."""
    rng = random.Random(14)
    signed_end = int(re.search(rb"/ByteRange \[0 \d+ (\d+) (\d+)\]", sealed).group(1))
    outcomes = set()
    for i in range(60):
        if i % 2:
            data = sealed[:rng.randrange(16, len(sealed))]
        else:
            at = rng.randrange(200, signed_end - 100)
            data = sealed[:at] + bytes(rng.randrange(256) for _ in range(8)) + sealed[at + 8:]
        try:
            report = verify_pdf(data, trust_roots=roots)
        except (NotAPdfError, DamagedPdfError):
            outcomes.add("error")
            continue
        outcomes.add("report")
        if not i % 2 and data != sealed:
            assert not report.valid, at
    assert outcomes == {"error", "report"}


def test_unreachable_revocation_info_leaves_b_t(pki, two_seals, services, roots):
    """B-LT only where revocation information is reachable: with the CRL server answering 404 the
    seals still go on, timestamped, without embedded revocation data."""
    try:
        services.publish_crl(b"")
        pdf = seal_pdf(render_record(sample_record()), two_seals, timestamper_url=services.tsa_url,
                       validation_context=_live_context(roots))
    finally:
        services.publish_crl(make_demo_crl(pki, []))
    report = verify_pdf(pdf, trust_roots=roots)
    assert report.valid and [s.level for s in report.signatures] == ["B-T", "B-T"]


def test_four_seals_stay_on_the_page_and_all_verify(pki, roots, nss):
    seals = [_seal(pki, agency, f"Seal{i}", purpose) for i, (agency, purpose) in enumerate(
        [(OFFICE, "审批专用章"), (FINANCE, "电子印章"), (OFFICE, "公文用章"), (FINANCE, "审批专用章")], start=1)]
    pdf = seal_pdf(render_record(sample_record()), seals)
    _, boxes = seal_boxes(pdf, 4)
    assert all(18 * 72 / 25.4 - 1 <= x1 and x2 <= 595 - 18 * 72 / 25.4 + 1 for x1, _, x2, _ in boxes)
    report = verify_pdf(pdf, trust_roots=roots)
    assert report.valid and [s.certification for s in report.signatures] == [True, False, False, False]
    _assert_independent_tools_accept(pdf, nss, 4)

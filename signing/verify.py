"""Verifying the signatures of any PDF with pyHanko's validator and difference analysis.

Embedded validation data (the document security store of a B-LT file) is loaded into the
validation context, so a B-LT record verifies offline; with ``allow_fetching`` the validator
also asks the certificates' CRL distribution points / OCSP responders.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from datetime import datetime

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.validation.errors import NoDSSFoundError, SignatureValidationError
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .errors import DamagedPdfError, NotAPdfError
from .model import SignatureReport, VerificationReport

__all__ = ["verify_pdf", "load_trust_roots"]

log = logging.getLogger(__name__)

_MODIFICATION_NAMES = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "validation_data",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}


def load_trust_roots(data: Sequence[bytes]) -> list[asn1_x509.Certificate]:
    """Certificates from PEM or DER blobs (a PEM blob may hold several)."""
    roots = []
    for blob in data:
        if pem.detect(blob):
            roots += [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(blob, multiple=True)]
        else:
            roots.append(asn1_x509.Certificate.load(blob))
    return roots


def _open(pdf: bytes) -> PdfFileReader:
    if not pdf[:1024].lstrip().startswith(b"%PDF-"):
        raise NotAPdfError("not a PDF file")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        reader.root  # noqa: B018 - parses the trailer and the catalog
        reader.embedded_signatures  # noqa: B018
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise DamagedPdfError(f"damaged PDF: {exc}") from exc
    return reader


def _common_name(cert: asn1_x509.Certificate) -> str:
    subject = cert.subject.native
    return str(subject.get("common_name") or cert.subject.human_friendly)


def verify_pdf(pdf: bytes, *, trust_roots: Sequence[bytes], allow_fetching: bool = False,
               revocation_mode: str = "soft-fail", moment: datetime | None = None) -> VerificationReport:
    """Verify every signature of ``pdf`` against ``trust_roots`` (PEM or DER certificates).

    Reports, per signature: signer and seal, signing time and whether a TSA vouches for it,
    integrity, trust (revocation included where revocation data is embedded or fetchable),
    whether it covers the whole document, what later revisions changed and whether the
    certification allows that, and the PAdES level. A PDF without signatures yields an empty
    report, which is never valid.

    Raises :class:`NotAPdfError` for bytes that are no PDF and :class:`DamagedPdfError` for a
    PDF that cannot be parsed.
    """
    reader = _open(pdf)
    roots = load_trust_roots(trust_roots)
    kwargs: dict = {"trust_roots": roots, "allow_fetching": allow_fetching, "revocation_mode": revocation_mode,
                    "crls": [], "ocsps": []}
    if moment is not None:
        kwargs["moment"] = moment
    try:
        dss = DocumentSecurityStore.read_dss(reader)
        has_revinfo = bool(dss.crls or dss.ocsps)
    except NoDSSFoundError:
        dss, has_revinfo = None, False
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise DamagedPdfError(f"damaged document security store: {exc}") from exc

    if dss is not None:
        try:
            dss.as_validation_context(kwargs)
        except (PdfError, ValueError, KeyError, TypeError) as exc:
            log.info("ignoring an unreadable document security store: %s", exc)
            dss, has_revinfo = None, False

    def context(at: datetime | None = None) -> ValidationContext:
        args = kwargs if at is None else {**kwargs, "moment": at}
        return dss.as_validation_context(args) if dss is not None else ValidationContext(**args)

    try:
        signatures = list(reader.embedded_regular_signatures)
        doc_timestamps = list(reader.embedded_timestamp_signatures)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise DamagedPdfError(f"damaged signature dictionary: {exc}") from exc
    doc_ts_revisions = []
    for ts in doc_timestamps:
        try:
            status = validate_pdf_timestamp(ts, validation_context=context())
            if status.intact and status.valid:
                doc_ts_revisions.append(ts.signed_revision)
        except (SignatureValidationError, PdfError, ValueError) as exc:
            log.info("document timestamp %s does not validate: %s", ts.field_name, exc)

    try:
        reports = [_report(sig, context, has_revinfo, doc_ts_revisions) for sig in signatures]
    except (PdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DamagedPdfError(f"damaged signature: {exc}") from exc
    return VerificationReport(signatures=tuple(reports), document_timestamps=len(doc_ts_revisions))


def _report(sig, context, has_revinfo: bool, doc_ts_revisions: list[int]) -> SignatureReport:
    cert = sig.signer_cert
    subject = cert.subject.native
    base = dict(field_name=sig.field_name, signer=_common_name(cert),
                organization=str(subject.get("organization_name") or ""), seal=sig.field_name,
                certificate_serial=format(cert.serial_number, "X"),
                certification=sig.sig_object.get("/Reference") is not None and _is_certification(sig))
    signer_context, ts_context = context(), context()
    try:
        status = validate_pdf_signature(sig, signer_validation_context=signer_context,
                                        ts_validation_context=ts_context)
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        return SignatureReport(**base, signed_at=sig.self_reported_timestamp, time_source="local", intact=False,
                               valid=False, trusted=False, revoked=False, covers_whole_document=False,
                               modified_after=("unreadable",), modification_allowed=False, level="B-B",
                               notes=(str(exc),))
    tst = status.timestamp_validity
    tsa_ok = tst is not None and tst.intact and tst.valid
    trusted_at_timestamp = False
    if tsa_ok and has_revinfo and status.intact and status.valid and not status.trusted and not status.revoked:
        # B-LT: the embedded revocation data was current when the TSA vouched for the signature;
        # years later it is stale, so the chain is judged at the timestamp's time. A certificate
        # found revoked stays untrusted.
        try:
            at_timestamp = validate_pdf_signature(sig, signer_validation_context=context(tst.timestamp),
                                                  ts_validation_context=context(tst.timestamp))
        except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
            log.info("point-in-time validation of %s failed: %s", sig.field_name, exc)
        else:
            if at_timestamp.trusted:
                status, trusted_at_timestamp = at_timestamp, True
    if tsa_ok:
        signed_at, source = tst.timestamp, "tsa"
    else:
        signed_at, source = status.signer_reported_dt, "local"
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    modified: tuple[str, ...] = ()
    allowed = True
    diff = status.diff_result
    if not whole:
        if isinstance(diff, SuspiciousModification):
            modified, allowed = ("other", str(diff)), False
        elif diff is not None:
            level = diff.modification_level
            modified = (_MODIFICATION_NAMES.get(level, level.name.lower()),
                        *sorted(f"field:{name}" for name in diff.changed_form_fields))
            if status.docmdp_ok is not None:
                allowed = bool(status.docmdp_ok)
            else:
                allowed = level <= ModificationLevel.FORM_FILLING
        else:
            modified, allowed = ("unknown",), False
        if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
            modified, allowed = (*modified, "not_a_full_revision"), False
    level = "B-B"
    if tsa_ok:
        level = "B-T"
        if has_revinfo:
            level = "B-LT"
            if any(rev > sig.signed_revision for rev in doc_ts_revisions):
                level = "B-LTA"
    notes = ["trusted as of its timestamp (embedded revocation data)"] if trusted_at_timestamp else []
    if not status.intact:
        notes.append("the signed bytes were changed")
    if status.intact and not status.valid:
        notes.append("the signature does not match the certificate")
    if not status.trusted:
        notes.append(f"certificate not trusted: {status.trust_problem_indic}")
    return SignatureReport(**base, signed_at=signed_at, time_source=source, intact=status.intact,
                           valid=status.valid, trusted=status.trusted, revoked=status.revoked,
                           covers_whole_document=whole, modified_after=modified, modification_allowed=allowed,
                           level=level, notes=tuple(notes))


def _is_certification(sig) -> bool:
    refs = sig.sig_object.get("/Reference")
    try:
        return any(ref.get_object().get("/TransformMethod") == "/DocMDP" for ref in refs)
    except (AttributeError, TypeError):
        return False

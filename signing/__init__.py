"""Records of finished cases as sealed PDFs: render, seal (PAdES), verify. No Flask here.

``render_record(CaseRecord) -> bytes`` lays out the A4 record; ``seal_pdf(pdf, [SealSpec])``
applies one PAdES signature per seal (the first certifies); ``verify_pdf(pdf, trust_roots=...)``
reports on every signature of any PDF. ``make_demo_pki`` creates a demo CA and seals.
"""

from .errors import (DamagedPdfError, MissingGlyphError, NotAPdfError, RenderError, SealKeyError, SigningError,
                     TimestampError)
from .fonts import FontFile, FontSet, get_font_set
from .model import (CaseRecord, FormField, KeySource, Material, Pkcs11Key, Pkcs12Key, SealSpec, SignatureReport,
                    TrailEntry, VerificationReport)
from .pki import (DEMO_MARK, DemoPki, DemoSeal, issue_demo_seal_certificate, make_demo_crl, make_demo_pki,
                  make_demo_tsa, write_demo_seal_pkcs12)
from .render import render_record
from .document import BodyBlock, DocumentRecord, render_document
from .seal import load_pkcs12_signer, seal_pdf, signer_certificate
from .verify import load_trust_roots, verify_pdf

__all__ = [
    "SigningError", "RenderError", "MissingGlyphError", "SealKeyError", "TimestampError", "NotAPdfError",
    "DamagedPdfError", "FontFile", "FontSet", "get_font_set",
    "CaseRecord", "FormField", "Material", "TrailEntry", "KeySource", "Pkcs12Key", "Pkcs11Key", "SealSpec",
    "SignatureReport", "VerificationReport",
    "render_record", "BodyBlock", "DocumentRecord", "render_document", "seal_pdf", "load_pkcs12_signer", "signer_certificate", "verify_pdf", "load_trust_roots",
    "DEMO_MARK", "DemoPki", "DemoSeal", "make_demo_pki", "write_demo_seal_pkcs12", "issue_demo_seal_certificate",
    "make_demo_tsa", "make_demo_crl",
]

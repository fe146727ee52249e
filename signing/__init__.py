"""Records of finished cases as sealed PDFs: render, seal (PAdES), verify. No Flask here."""

from .errors import (DamagedPdfError, MissingGlyphError, NotAPdfError, RenderError, SealKeyError, SigningError,
                     TimestampError)
from .fonts import FontFile, FontSet, get_font_set
from .model import (CaseRecord, FormField, KeySource, Material, Pkcs11Key, Pkcs12Key, SealSpec, SignatureReport,
                    TrailEntry, VerificationReport)
from .pki import DEMO_MARK, DemoPki, DemoSeal, make_demo_crl, make_demo_pki, make_demo_tsa
from .render import render_record
from .seal import load_pkcs12_signer, seal_pdf
from .verify import load_trust_roots, verify_pdf

__all__ = [
    "SigningError", "RenderError", "MissingGlyphError", "SealKeyError", "TimestampError", "NotAPdfError",
    "DamagedPdfError", "FontFile", "FontSet", "get_font_set",
    "CaseRecord", "FormField", "Material", "TrailEntry", "KeySource", "Pkcs12Key", "Pkcs11Key", "SealSpec",
    "SignatureReport", "VerificationReport", "render_record", "seal_pdf", "load_pkcs12_signer", "verify_pdf",
    "load_trust_roots", "DEMO_MARK", "DemoPki", "DemoSeal", "make_demo_pki", "make_demo_tsa", "make_demo_crl",
]

"""Records of finished cases as sealed PDFs: render, seal (PAdES), verify. No Flask here."""

from .errors import (DamagedPdfError, MissingGlyphError, NotAPdfError, RenderError, SealKeyError, SigningError,
                     TimestampError)
from .fonts import FontFile, FontSet, get_font_set
from .model import (CaseRecord, FormField, KeySource, Material, Pkcs11Key, Pkcs12Key, SealSpec, SignatureReport,
                    TrailEntry, VerificationReport)
from .render import render_record

__all__ = [
    "SigningError", "RenderError", "MissingGlyphError", "SealKeyError", "TimestampError", "NotAPdfError",
    "DamagedPdfError", "FontFile", "FontSet", "get_font_set",
    "CaseRecord", "FormField", "Material", "TrailEntry", "KeySource", "Pkcs12Key", "Pkcs11Key", "SealSpec",
    "SignatureReport", "VerificationReport", "render_record",
]

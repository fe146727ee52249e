"""The error family of the signing library; the app maps each to a clear message."""

from __future__ import annotations

__all__ = ["SigningError", "RenderError", "MissingGlyphError", "SealKeyError", "TimestampError",
           "NotAPdfError", "DamagedPdfError"]


class SigningError(Exception):
    """Base of every error the signing library raises on purpose."""


class RenderError(SigningError):
    """The record could not be rendered (no usable font, bad input)."""


class MissingGlyphError(RenderError):
    """A character has no glyph in the main font nor in any fallback font (never a blank box)."""

    def __init__(self, characters: str) -> None:
        self.characters = characters
        super().__init__("no font has a glyph for: " + " ".join(f"{c} (U+{ord(c):04X})" for c in characters))


class SealKeyError(SigningError):
    """A seal's key could not be loaded (wrong PKCS#12 password, token or label not found)."""


class TimestampError(SigningError):
    """The time-stamping authority could not be reached or answered with an error."""


class NotAPdfError(SigningError):
    """The bytes handed in for verification are no PDF at all."""


class DamagedPdfError(SigningError):
    """The bytes look like a PDF but cannot be parsed (truncated, broken cross-reference)."""

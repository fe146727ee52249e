"""CJK fonts for records and seal stamps: a main TrueType-outline font and fallbacks.

reportlab reads only TrueType outlines (``glyf``), so the main font is the glyf face of
WenQuanYi Zen Hei and the fallbacks are HanaMin A/B, which carry CJK Extension A/B rare
characters (𠇔, 䶮) that the main font lacks. Each is registered with reportlab once per process.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

from .errors import MissingGlyphError, RenderError

__all__ = ["FontFile", "MAIN_FONTS", "FALLBACK_FONTS", "FontSet", "get_font_set"]


@dataclass(frozen=True, slots=True)
class FontFile:
    """A font file (``subfont`` indexes a face in a TrueType collection) and its reportlab name."""

    name: str
    path: str
    subfont: int = 0


MAIN_FONTS = (
    FontFile("IA-ZenHei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)
FALLBACK_FONTS = (
    FontFile("IA-HanaMinA", "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"),
    FontFile("IA-HanaMinB", "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf"),
)


class FontSet:
    """A main font and fallbacks, registered with reportlab; splits text into per-font runs."""

    def __init__(self, main: FontFile, fallbacks: tuple[FontFile, ...]) -> None:
        self.main = main.name
        self._faces: dict[str, TTFont] = {}
        self._register(main)
        self._fallback_files = fallbacks
        self._lock = threading.Lock()

    def _register(self, font: FontFile) -> TTFont:
        if font.name not in self._faces:
            try:
                face = pdfmetrics.getFont(font.name)
            except KeyError:
                face = TTFont(font.name, font.path, subfontIndex=font.subfont)
                pdfmetrics.registerFont(face)
            self._faces[font.name] = face
        return self._faces[font.name]

    def _has(self, name: str, char: str) -> bool:
        return ord(char) in self._faces[name].face.charToGlyph

    def font_for(self, char: str) -> str:
        """The name of the first font with a glyph for ``char``.

        Raises :class:`MissingGlyphError` when none has one.
        """
        if char.isspace() or self._has(self.main, char):
            return self.main
        with self._lock:
            for font in self._fallback_files:
                if not os.path.exists(font.path):
                    continue
                self._register(font)
                if self._has(font.name, char):
                    return font.name
        raise MissingGlyphError(char)

    def runs(self, text: str) -> list[tuple[str, str]]:
        """Split ``text`` into ``(font name, text)`` runs, each drawable by its font.

        Control and invisible format characters (NUL, zero-width space, BOM, …) are dropped, a
        tab becomes a space; line breaks stay.

        Raises :class:`MissingGlyphError` naming every character no font can draw.
        """
        runs: list[tuple[str, str]] = []
        missing = []
        for char in text.replace("\r\n", "\n").replace("\t", " "):
            if char != "\n" and unicodedata.category(char) in ("Cc", "Cf"):
                continue
            try:
                name = self.font_for(char)
            except MissingGlyphError:
                missing.append(char)
                continue
            if runs and runs[-1][0] == name:
                runs[-1] = (name, runs[-1][1] + char)
            else:
                runs.append((name, char))
        if missing:
            raise MissingGlyphError("".join(dict.fromkeys(missing)))
        return runs


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap with characters beyond the BMP written as UTF-16 (surrogate
    pairs); reportlab 5.1 writes them as five hex digits, so 𠇔 (U+201D4) extracts as ” (U+201D)."""
    head = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap", "/CIDSystemInfo",
            f"<< /Registry ({fontname})", f"/Ordering ({fontname})", "/Supplement 0", ">> def",
            f"/CMapName /{fontname} def", "/CMapType 2 def", "1 begincodespacerange",
            "<00> <%02X>" % (len(subset) - 1), "endcodespacerange", f"{len(subset)} beginbfchar"]
    body = ["<%02X> <%s>" % (i, chr(v).encode("utf-16-be").hex().upper()) for i, v in enumerate(subset)]
    tail = ["endbfchar", "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(head + body + tail)


ttfonts.makeToUnicodeCMap = _to_unicode_cmap

_default: FontSet | None = None
_default_lock = threading.Lock()


def get_font_set() -> FontSet:
    """The process-wide default font set (main font found among :data:`MAIN_FONTS`).

    Raises :class:`RenderError` when no main font is installed.
    """
    global _default
    with _default_lock:
        if _default is None:
            main = next((f for f in MAIN_FONTS if Path(f.path).exists()), None)
            if main is None:
                raise RenderError("no CJK font installed: " + ", ".join(f.path for f in MAIN_FONTS))
            _default = FontSet(main, FALLBACK_FONTS)
        return _default

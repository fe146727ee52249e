"""The visible seal: a round red stamp drawn as vector graphics with the CJK font.

The agency's name runs along the upper arc, a five-pointed star sits in the middle and the seal's
purpose (审批专用章, 电子印章, …) is written below it. The stamp is a one-page PDF that pyHanko
imports as the signature field's appearance; no seal artwork comes from elsewhere.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .fonts import get_font_set

__all__ = ["SEAL_SIZE", "SEAL_RED", "seal_stamp_pdf"]

SEAL_SIZE = 42 * mm
SEAL_RED = Color(0.86, 0.08, 0.10)


def _star(canvas: Canvas, cx: float, cy: float, outer: float) -> None:
    inner = outer * 0.382
    path = canvas.beginPath()
    for i in range(10):
        radius = outer if i % 2 == 0 else inner
        angle = math.pi / 2 + i * math.pi / 5
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        path.moveTo(x, y) if i == 0 else path.lineTo(x, y)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)


@lru_cache(maxsize=64)
def seal_stamp_pdf(agency: str, purpose: str) -> bytes:
    """A one-page PDF, :data:`SEAL_SIZE` square, showing the round seal of ``agency`` for
    ``purpose``. Deterministic and cached per process.

    Raises :class:`~signing.errors.MissingGlyphError` when a character has no glyph.
    """
    fonts = get_font_set()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(SEAL_SIZE, SEAL_SIZE), invariant=1, initialFontName=fonts.main)
    canvas.setTitle(f"{agency} {purpose}")
    c = SEAL_SIZE / 2
    canvas.setStrokeColor(SEAL_RED)
    canvas.setFillColor(SEAL_RED)
    canvas.setLineWidth(1.6 * mm * 0.6)
    canvas.circle(c, c, c - 1.2 * mm, stroke=1, fill=0)
    _star(canvas, c, c + 0.5 * mm, 6.5 * mm)

    chars = list(agency)
    size = 4.6 * mm if len(chars) <= 12 else max(2.8 * mm, 4.6 * mm * 12 / len(chars))
    radius = c - 2.6 * mm - size
    span = min(math.radians(240), math.radians(21) * len(chars) * size / (4.6 * mm))
    start = math.pi / 2 + span / 2
    step = span / max(len(chars) - 1, 1)
    for i, char in enumerate(chars):
        angle = start - i * step if len(chars) > 1 else math.pi / 2
        canvas.saveState()
        canvas.translate(c + radius * math.cos(angle), c + radius * math.sin(angle))
        canvas.rotate(math.degrees(angle) - 90)
        canvas.setFont(fonts.font_for(char), size)
        canvas.drawCentredString(0, 0, char)
        canvas.restoreState()

    psize = 3.4 * mm if len(purpose) <= 6 else 3.4 * mm * 6 / len(purpose)
    x = c - sum(canvas.stringWidth(run, name, psize) for name, run in fonts.runs(purpose)) / 2
    for name, run in fonts.runs(purpose):
        canvas.setFont(name, psize)
        canvas.drawString(x, c - 11 * mm, run)
        x += canvas.stringWidth(run, name, psize)
    canvas.showPage()
    canvas.save()
    return out.getvalue()

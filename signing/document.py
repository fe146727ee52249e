"""An official document (公文) laid out after the essentials of GB/T 9704, rendered with reportlab.

The red 版头 (the issuing agency's name followed by 文件) and the 发文字号 over a red rule, the
title, 主送, the body with its four heading levels, 附件说明, the 版记 (抄送, 印发机关 and 印发日期)
and, in the free zone at the bottom of the last page where :func:`signing.seal_pdf` places the
stamps, the 落款 and 成文日期 — under the seal, as on paper. Deterministic like
:func:`signing.render_record`; every text is drawn as text (nothing typed is markup).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, Flowable, LayoutError, SimpleDocTemplate, Spacer

from .appearance import SEAL_SIZE
from .errors import RenderError
from .fonts import FontSet, get_font_set
from .render import MARGIN, PAGE_SIZE, SEAL_ZONE_HEIGHT, _FixedTime, _Writer

__all__ = ["BodyBlock", "DocumentRecord", "render_document", "RED"]

RED = colors.Color(0.85, 0.0, 0.0)
_CN_DIGITS = "〇一二三四五六七八九"


@dataclass(frozen=True, slots=True)
class BodyBlock:
    """One block of the body: ``level`` 1–4 for a heading (一、 （一） 1. （1）), 0 for a paragraph."""

    text: str
    level: int = 0


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """What the rendered document shows. ``issued_on`` is the 成文日期 (the sign-off day),
    ``printed_on`` the 印发日期; ``main_to`` and ``cc_to`` are agency names."""

    issuer: str
    number: str
    title: str
    main_to: tuple[str, ...]
    body: tuple[BodyBlock, ...]
    issued_on: date
    printed_on: date
    cc_to: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    secrecy: str | None = None
    urgency: str | None = None
    heading: str | None = None
    signatory: str | None = None
    printer: str | None = None
    extra: dict = field(default_factory=dict)


def chinese_date(day: date) -> str:
    """``2026年12月2日`` (GB/T 9704 writes the 成文日期 in Arabic numerals since 2012)."""
    return f"{day.year}年{day.month}月{day.day}日"


class _Rule(Flowable):
    def __init__(self, width: float, color, thickness: float = 1.2):
        super().__init__()
        self.width, self.color, self.thickness = width, color, thickness
        self.height = 2 * mm

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self):
        self.canv.setStrokeColor(self.color)
        self.canv.setLineWidth(self.thickness)
        self.canv.line(0, self.height / 2, self.width, self.height / 2)


class _DocWriter(_Writer):
    def __init__(self, record: DocumentRecord, fonts: FontSet) -> None:
        self.record = record
        self.fonts = fonts
        main = fonts.main
        self.head_red = ParagraphStyle("banner", fontName=main, fontSize=30, leading=40, alignment=TA_CENTER,
                                       textColor=RED, wordWrap="CJK")
        self.number_style = ParagraphStyle("number", fontName=main, fontSize=14, leading=22, alignment=TA_CENTER)
        self.mark = ParagraphStyle("mark", fontName=main, fontSize=12, leading=18, alignment=TA_LEFT)
        self.title = ParagraphStyle("title", fontName=main, fontSize=20, leading=30, alignment=TA_CENTER,
                                    wordWrap="CJK", spaceBefore=6, spaceAfter=10)
        self.body = ParagraphStyle("body", fontName=main, fontSize=14, leading=26, firstLineIndent=28,
                                   wordWrap="CJK")
        self.to = ParagraphStyle("to", parent=self.body, firstLineIndent=0)
        self.headings = {level: ParagraphStyle(f"h{level}", parent=self.body, fontSize=14 + (1 if level == 1 else 0),
                                               spaceBefore=4 if level <= 2 else 0) for level in (1, 2, 3, 4)}
        self.note = ParagraphStyle("note", fontName=main, fontSize=12, leading=20, wordWrap="CJK")

    def story(self) -> list:
        r = self.record
        width = PAGE_SIZE[0] - 2 * MARGIN
        story: list = []
        marks = "　".join(m for m in (r.secrecy, r.urgency) if m)
        if marks:
            story.append(self.p(marks, self.mark))
        story += [Spacer(1, 6 * mm), self.p(r.heading or f"{r.issuer}文件", self.head_red), Spacer(1, 6 * mm),
                  self.p(r.number, self.number_style), _Rule(width, RED), Spacer(1, 4 * mm),
                  self.p(r.title, self.title)]
        if r.main_to:
            story.append(self.p("、".join(r.main_to) + "：", self.to))
        for block in r.body:
            story.append(self.p(block.text, self.headings[block.level] if block.level else self.body))
        if r.attachments:
            story.append(Spacer(1, 4 * mm))
            for i, name in enumerate(r.attachments, start=1):
                label = "附件：" if i == 1 else "　　　"
                prefix = f"{i}. " if len(r.attachments) > 1 else ""
                story.append(self.p(f"{label}{prefix}{name}", self.body))
        story.append(Spacer(1, 6 * mm))
        story.append(_Rule(width, colors.black, 0.8))
        if r.cc_to:
            story.append(self.p("抄送：" + "，".join(r.cc_to) + "。", self.note))
        story.append(self.p(f"{r.printer or r.issuer}　　{chinese_date(r.printed_on)}印发", self.note))
        story.append(_Rule(width, colors.black, 0.8))
        story.append(CondPageBreak(SEAL_ZONE_HEIGHT + 4 * mm))
        return story

    def signature(self, canvas: Canvas) -> None:
        """落款 and 成文日期 in the middle of the first seal box (see :func:`signing.seal.seal_boxes`)."""
        r = self.record
        centre_x = PAGE_SIZE[0] - MARGIN - SEAL_SIZE / 2
        centre_y = MARGIN + 4 + SEAL_SIZE / 2
        for text, y in ((r.signatory or r.issuer, centre_y + 4), (chinese_date(r.issued_on), centre_y - 16)):
            runs = self.fonts.runs(text)
            total = sum(canvas.stringWidth(run, name, 14) for name, run in runs)
            x = centre_x - total / 2
            for name, run in runs:
                canvas.setFont(name, 14)
                canvas.drawString(x, y, run)
                x += canvas.stringWidth(run, name, 14)

    def page_number(self, canvas: Canvas, page: int) -> None:
        text = f"— {page} —"
        canvas.setFont(self.fonts.main, 12)
        canvas.drawCentredString(PAGE_SIZE[0] / 2, 10 * mm, text)


def _build(record: DocumentRecord, fonts: FontSet, last_page: int | None) -> tuple[bytes, int]:
    writer = _DocWriter(record, fonts)
    fixed = _FixedTime(datetime.combine(record.printed_on, time(0, 0), tzinfo=timezone.utc))
    pages = {"n": 0}

    class _Canvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._doc._timeStamp = fixed

    def on_page(canvas: Canvas, doc) -> None:
        canvas.saveState()
        pages["n"] = doc.page
        writer.page_number(canvas, doc.page)
        if last_page is not None and doc.page == last_page:
            writer.signature(canvas)
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=PAGE_SIZE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        title=f"{record.title} {record.number}", author=record.issuer, subject="公文", creator="internal-affairs",
        producer="internal-affairs signing", invariant=1, initialFontName=fonts.main, initialFontSize=14,
        initialLeading=26, lang="zh-CN")
    try:
        doc.build(writer.story(), onFirstPage=on_page, onLaterPages=on_page, canvasmaker=_Canvas)
    except LayoutError as exc:
        raise RenderError(f"the document cannot be laid out: {exc}") from exc
    return out.getvalue(), pages["n"]


def render_document(record: DocumentRecord, *, fonts: FontSet | None = None) -> bytes:
    """Render ``record`` as an A4 PDF ready for :func:`signing.seal_pdf` (its stamps land on the
    落款 and 成文日期). Raises :class:`~signing.errors.MissingGlyphError` and
    :class:`~signing.errors.RenderError` like :func:`signing.render_record`."""
    fonts = fonts or get_font_set()
    _first, pages = _build(record, fonts, None)
    pdf, _again = _build(record, fonts, pages)
    return pdf

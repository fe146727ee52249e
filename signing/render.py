"""The A4 record of a finished case, rendered with reportlab.

Deterministic: the same :class:`CaseRecord` gives the same bytes (reportlab's invariant mode, the
document dates taken from the case's finish time, the /ID a digest of the content). Every style
names the CJK font, so no unembedded Helvetica sneaks in; characters the main font lacks are drawn
with a fallback font (see :mod:`signing.fonts`).
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, LayoutError, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .errors import RenderError
from .fonts import FontSet, get_font_set
from .model import CaseRecord

__all__ = ["render_record", "SEAL_ZONE_HEIGHT", "PAGE_SIZE", "MARGIN"]

PAGE_SIZE = A4
MARGIN = 18 * mm
SEAL_ZONE_HEIGHT = 48 * mm
"""Free height kept at the bottom of the last page for the seal stamps."""

_GRID = colors.Color(0.6, 0.6, 0.6)
_HEAD = colors.Color(0.93, 0.93, 0.93)


class _FixedTime:
    """A reportlab time stamp pinned to the case's finish time (UTC)."""

    def __init__(self, when: datetime) -> None:
        utc = when.astimezone(timezone.utc)
        self.t = utc.timestamp()
        self.YMDhms = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
        self.dhh = self.dmm = 0
        self.tzname = "UTC"


def _fmt(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M") if when else "—"


class _Writer:
    def __init__(self, record: CaseRecord, fonts: FontSet) -> None:
        self.record = record
        self.fonts = fonts
        main = fonts.main
        self.body = ParagraphStyle("body", fontName=main, fontSize=10, leading=14, wordWrap="CJK")
        self.cell = ParagraphStyle("cell", fontName=main, fontSize=9, leading=12, wordWrap="CJK")
        self.head = ParagraphStyle("head", parent=self.cell, textColor=colors.black)
        self.title = ParagraphStyle("title", fontName=main, fontSize=18, leading=26, alignment=TA_CENTER,
                                    wordWrap="CJK")
        self.subtitle = ParagraphStyle("subtitle", fontName=main, fontSize=11, leading=16,
                                       alignment=TA_CENTER, wordWrap="CJK")
        self.section = ParagraphStyle("section", fontName=main, fontSize=12, leading=18, spaceBefore=8,
                                      spaceAfter=4, wordWrap="CJK")

    def markup(self, text: str) -> str:
        parts = []
        for name, run in self.fonts.runs(text):
            run = escape(run).replace("\n", "<br/>")
            parts.append(run if name == self.fonts.main else f'<font face="{name}">{run}</font>')
        return "".join(parts)

    def p(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(self.markup(text), style or self.body)

    def table(self, header: list[str], rows: list[list[str]], widths: list[float]) -> Table:
        data = [[self.p(h, self.head) for h in header]]
        data += [[self.p(c, self.cell) for c in row] for row in rows]
        table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1)
        table.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), self.fonts.main),
            ("GRID", (0, 0), (-1, -1), 0.5, _GRID),
            ("BACKGROUND", (0, 0), (-1, 0), _HEAD),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        return table

    def story(self) -> list:
        r = self.record
        width = PAGE_SIZE[0] - 2 * MARGIN
        story = [
            self.p(r.agency, self.subtitle),
            self.p(f"{r.matter}　办理记录", self.title),
            self.p(f"案号 {r.number}", self.subtitle),
            Spacer(1, 4 * mm),
        ]
        info = [["申请人", r.applicant, "办理结果", r.outcome],
                ["提交时间", _fmt(r.submitted_at), "办结时间", _fmt(r.finished_at)],
                ["办理时限", _fmt(r.due_at), "是否按时", self._on_time()]]
        grid = Table([[self.p(c, self.cell) for c in row] for row in info],
                     colWidths=[width * 0.15, width * 0.35, width * 0.15, width * 0.35])
        grid.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), self.fonts.main),
                                  ("GRID", (0, 0), (-1, -1), 0.5, _GRID),
                                  ("BACKGROUND", (0, 0), (0, -1), _HEAD),
                                  ("BACKGROUND", (2, 0), (2, -1), _HEAD)]))
        story.append(grid)
        if r.form:
            story.append(self.p("一、申请内容", self.section))
            story.append(self.table(["项目", "内容"], [[f.label, f.value] for f in r.form],
                                    [width * 0.25, width * 0.75]))
        story.append(self.p("二、申请材料", self.section))
        if r.materials:
            story.append(self.table(["材料", "文件名", "SHA-256"],
                                    [[m.name, m.file_name, m.sha256] for m in r.materials],
                                    [width * 0.22, width * 0.28, width * 0.50]))
        else:
            story.append(self.p("无"))
        story.append(self.p("三、审批过程", self.section))
        rows = []
        for t in r.trail:
            limit = "—" if t.time_limit_met is None else ("按时" if t.time_limit_met else "超时")
            rows.append([t.step, f"{t.person}\n{t.title}" if t.title else t.person, t.acted, t.decision,
                         t.comment or "—", _fmt(t.at), limit])
        story.append(self.table(["环节", "人员及职务", "办理人", "意见", "批示", "时间", "时限"], rows,
                                [width * w for w in (0.13, 0.16, 0.15, 0.09, 0.22, 0.15, 0.10)]))
        story.append(Spacer(1, 6 * mm))
        story.append(self.p("本记录由系统在办结后生成并加盖电子印章；加盖电子印章的本文件为原件，"
                            "任何改动都会使电子印章失效，可用任一 PAdES 验证工具核验。"))
        story.append(CondPageBreak(SEAL_ZONE_HEIGHT + 4 * mm))
        return story

    def _on_time(self) -> str:
        r = self.record
        if r.due_at is None:
            return "—"
        return "按时办结" if r.finished_at <= r.due_at else "超时办结"

    def footer(self, canvas: Canvas, doc) -> None:
        canvas.saveState()
        x = MARGIN
        for name, run in self.fonts.runs(f"{self.record.agency}　案号 {self.record.number}　第 {doc.page} 页"):
            canvas.setFont(name, 8)
            canvas.drawString(x, 10 * mm, run)
            x += canvas.stringWidth(run, name, 8)
        canvas.restoreState()


def render_record(record: CaseRecord, *, fonts: FontSet | None = None) -> bytes:
    """Render the record of a finished case as an A4 PDF and return its bytes.

    The bottom :data:`SEAL_ZONE_HEIGHT` of the last page's frame is left free for the seal
    stamps. Raises :class:`~signing.errors.MissingGlyphError` when a character has no glyph in any
    installed font, :class:`~signing.errors.RenderError` when no CJK font is installed or the
    layout fails. Table rows split across pages, so a very long field or 批示 still fits.
    """
    fonts = fonts or get_font_set()
    writer = _Writer(record, fonts)
    fixed = _FixedTime(record.finished_at)

    class _Canvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._doc._timeStamp = fixed

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=PAGE_SIZE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=MARGIN, title=f"{record.matter} {record.number}", author=record.agency,
        subject="办理记录", creator="internal-affairs", producer="internal-affairs signing",
        invariant=1, initialFontName=fonts.main, initialFontSize=10, initialLeading=14,
        lang="zh-CN",
    )
    try:
        doc.build(writer.story(), onFirstPage=writer.footer, onLaterPages=writer.footer, canvasmaker=_Canvas)
    except LayoutError as exc:
        raise RenderError(f"the record cannot be laid out: {exc}") from exc
    return out.getvalue()

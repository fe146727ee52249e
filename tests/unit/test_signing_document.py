"""An official document as rendered by ``signing.render_document`` (GB/T 9704 essentials):
deterministic bytes, the red 版头, the number, title, 主送, body headings, 附件说明, 版记 and the
落款 with its date that ``pdftotext`` gives back; markup typed anywhere comes out literally; a
long body flows onto more pages with the 落款 on the last; the result seals and verifies."""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
from datetime import date

from signing import BodyBlock, DocumentRecord, render_document
from tests.support.sealing import qpdf_check, rasterize, red_pixels


def _text(pdf: bytes, *pages: int) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        span = ["-f", str(pages[0]), "-l", str(pages[-1])] if pages else []
        return subprocess.run(["pdftotext", *span, fh.name, "-"], check=True, capture_output=True, text=True).stdout


RECORD = DocumentRecord(
    issuer="嘉禾区委组织部", number="嘉禾组发〔2026〕12号", title="关于做好2026年度干部考核工作的通知",
    main_to=("区教育局", "区财政局"), cc_to=("区委办公室",), attachments=("考核登记表",),
    body=(BodyBlock("为做好年度考核工作，现通知如下。"), BodyBlock("一、考核范围", 1), BodyBlock("（一）在编干部", 2),
          BodyBlock("1.考核时间", 3), BodyBlock("（1）12月", 4), BodyBlock("请于12月20日前报送。")),
    issued_on=date(2026, 12, 2), printed_on=date(2026, 12, 2), urgency="加急")


def test_same_document_same_bytes_and_a_change_differs():
    first = render_document(RECORD)
    assert render_document(RECORD) == first
    assert render_document(dataclasses.replace(RECORD, number="嘉禾组发〔2026〕13号")) != first


def test_the_layout_essentials_come_back_as_text(tmp_path):
    pdf = render_document(RECORD)
    text = _text(pdf)
    for expected in ("加急", "嘉禾区委组织部文件", "嘉禾组发〔2026〕12号", "关于做好2026年度干部考核工作的通知",
                     "区教育局、区财政局：", "一、考核范围", "（一）在编干部", "1.考核时间", "（1）12月",
                     "请于12月20日前报送。", "附件：考核登记表", "抄送：区委办公室。", "2026年12月2日印发",
                     "2026年12月2日"):
        assert expected in text, expected
    assert text.index("嘉禾区委组织部文件") < text.index("嘉禾组发〔2026〕12号") < text.index("区教育局、区财政局：")
    assert qpdf_check(pdf).returncode == 0
    assert red_pixels(rasterize(pdf, 1, tmp_path)) > 200  # the red 版头 and rule


def test_markup_is_literal():
    hostile = dataclasses.replace(RECORD, title="<b>粗</b>&amp;<script>x()</script>",
                                  body=(BodyBlock("<font color=red>红</font> <br/> &lt;p&gt;"),),
                                  main_to=("<i>单位</i>",))
    text = _text(render_document(hostile))
    for literal in ("<b>粗</b>&amp;<script>x()</script>", "<font color=red>红</font> <br/> &lt;p&gt;", "<i>单位</i>："):
        assert literal in text


def test_a_long_body_flows_on_and_the_signatory_is_on_the_last_page():
    long = dataclasses.replace(RECORD, body=tuple(BodyBlock(f"第{i}段，" + "内容" * 60) for i in range(60)))
    pdf = render_document(long)
    pages = int(subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
                .split("Pages:")[1].split()[0])
    assert pages > 2
    assert "嘉禾区委组织部\n" in _text(pdf, pages) or "嘉禾区委组织部" in _text(pdf, pages).splitlines()
    assert "2026年12月2日" in _text(pdf, pages) and "2026年12月2日\n" not in _text(pdf, 1).replace("印发", "")

"""The record of a case as rendered by ``signing.render_record``: deterministic bytes, Chinese
text that ``pdftotext`` gives back (rare characters included), only embedded fonts, a clean
``qpdf --check`` and pages that are not blank."""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile

import pytest

from signing import FontSet, MissingGlyphError, render_record
from signing.appearance import seal_stamp_pdf
from signing.fonts import FALLBACK_FONTS, MAIN_FONTS
from tests.support.sealing import dark_pixels, qpdf_check, rasterize, red_pixels, sample_record


def _tool(args: list[str], pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        return subprocess.run([*args, fh.name, *(["-"] if args[0] == "pdftotext" else [])], check=True,
                              capture_output=True, text=True).stdout


def test_same_case_same_bytes_and_a_different_case_differs():
    record = sample_record()
    first = render_record(record)
    assert render_record(record) == first
    assert render_record(dataclasses.replace(record, outcome="不同意")) != first


def test_the_text_comes_back_with_rare_characters_and_delegation():
    text = _tool(["pdftotext", "-layout"], render_record(sample_record()))
    for expected in ("嘉禾区人民政府办公室", "公务用车申请", "嘉政办〔2026〕0042号", "张𠇔", "李䶮", "王堃", "赵喆",
                     "王五（代张三）", "会议通知.pdf", "9f" * 16, "超时", "按时", "原件"):
        assert expected in text, expected


def test_only_embedded_subset_fonts_and_no_helvetica():
    pdf = render_record(sample_record())
    rows = _tool(["pdffonts"], pdf).splitlines()[2:]
    assert rows
    assert not any("Helvetica" in row for row in rows)
    for row in rows:
        name, *_, emb, sub, uni, _obj, _gen = row.split()
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row
    assert any("HanaMin" in row for row in rows), "the rare characters come from the fallback font"


def test_qpdf_finds_nothing_wrong_and_a4():
    pdf = render_record(sample_record(trail=40))
    check = qpdf_check(pdf)
    assert check.returncode == 0, check.stdout + check.stderr
    info = _tool(["pdfinfo"], pdf)
    assert "595.276 x 841.89 pts (A4)" in info
    assert "Pages:           2" in info or "Pages:           3" in info


def test_the_pages_are_not_blank(tmp_path):
    pdf = render_record(sample_record(trail=40))
    assert dark_pixels(rasterize(pdf, 1, tmp_path)) > 2000
    blank = rasterize(render_record(sample_record(trail=0)), 1, tmp_path)
    assert dark_pixels(blank) < dark_pixels(rasterize(pdf, 1, tmp_path))


def test_a_character_no_font_has_is_refused_not_drawn_as_a_box():
    without_fallback = FontSet(MAIN_FONTS[0], ())
    with pytest.raises(MissingGlyphError) as caught:
        render_record(sample_record(applicant="张𠇔"), fonts=without_fallback)
    assert caught.value.characters == "𠇔"
    assert FontSet(MAIN_FONTS[0], FALLBACK_FONTS).runs("张𠇔")[-1][0] == "IA-HanaMinA"


def test_the_seal_stamp_is_red_and_round_with_its_text(tmp_path):
    stamp = seal_stamp_pdf("嘉禾区财政局", "审批专用章")
    text = _tool(["pdftotext"], stamp)
    assert "审批专用章" in text and all(c in text for c in "嘉禾区财政局")
    assert red_pixels(rasterize(stamp, 1, tmp_path, dpi=72)) > 500


def test_another_process_renders_the_same_bytes():
    """Fonts are registered lazily and per process; the bytes must not depend on that."""
    import hashlib
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = ("import hashlib, sys; from signing import render_record; "
            "from tests.support.sealing import sample_record; "
            "sys.stdout.write(hashlib.sha256(render_record(sample_record())).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                           env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}).stdout
    render_record(dataclasses.replace(sample_record(), applicant="张三"))
    assert other == hashlib.sha256(render_record(sample_record())).hexdigest()


def test_a_very_long_field_and_comment_split_across_pages():
    record = sample_record()
    field = dataclasses.replace(record.form[1], value="很长的说明" * 1500)
    act = dataclasses.replace(record.trail[0], comment="批示内容" * 2000)
    long = dataclasses.replace(record, form=(record.form[0], field), trail=(act,))
    pdf = render_record(long)
    assert qpdf_check(pdf).returncode == 0
    text = _tool(["pdftotext"], pdf)
    assert text.count("很长的说明") > 1000 and text.count("批示内容") > 1000


def test_invisible_characters_are_dropped_not_refused():
    fonts = FontSet(MAIN_FONTS[0], FALLBACK_FONTS)
    assert fonts.runs("甲\x00乙\u200b丙\ufeff\r\n丁\t戊") == [("IA-ZenHei", "甲乙丙\n丁 戊")]
    record = sample_record()
    odd = dataclasses.replace(record.form[1], value="甲\u200b乙\x07")
    pdf = render_record(dataclasses.replace(record, form=(record.form[0], odd)))
    assert "甲乙" in _tool(["pdftotext"], pdf)

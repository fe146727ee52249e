"""PDFs that act on their own are refused (issue 11): script, launch and additional actions,
embedded files and rich media — in plain objects, behind ``#xx``-escaped names, and inside
Flate-compressed object streams. Plain documents, including ones whose page content or images
happen to hold such bytes, pass. Every PDF here is built by the test (tests/support/pdf.py)."""

from __future__ import annotations

import zlib

import pytest

from internal_affairs.cases.attachments import (ActivePdfContent, UninspectablePdf, clean_filename,
                                                pdf_active_names, sniff)
from tests.support.pdf import build_pdf

HOSTILE = {
    "open_action_script": ("/OpenAction 5 0 R", ("<< /S /JavaScript /JS (app.alert\\(1\\)) >>",), {"JS", "JavaScript"}),
    "document_script": ("/Names << /JavaScript 5 0 R >>", ("<< /Names [(x) 6 0 R] >>", "<< /S /JavaScript /JS (1) >>"),
                        {"JS", "JavaScript"}),
    "launch": ("/OpenAction 5 0 R", ("<< /S /Launch /F (calc.exe) >>",), {"Launch"}),
    "additional_actions": ("/AA << /WC 5 0 R >>", ("<< /S /GoTo /D [3 0 R /Fit] >>",), {"AA"}),
    "embedded_files": ("/Names << /EmbeddedFiles 5 0 R >>", ("<< /Names [(a.exe) 6 0 R] >>",
                                                               "<< /Type /Filespec /F (a.exe) >>"), {"EmbeddedFiles"}),
    "rich_media": ("/OpenAction [3 0 R /Fit]", ("<< /Type /Annot /Subtype /RichMedia /Rect [0 0 1 1] >>",),
                   {"RichMedia"}),
    "hex_escaped": ("/OpenAction 5 0 R", ("<< /S /J#61vaScript /#4A#53 (app.alert\\(1\\)) >>",), {"JS", "JavaScript"}),
}


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "object_stream"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_active_content_is_refused(name, packed):
    catalog, objects, expected = HOSTILE[name]
    data = build_pdf(catalog, objects, packed=packed)
    assert set(pdf_active_names(data)) == expected
    with pytest.raises(ActivePdfContent) as info:
        sniff(data, "x.pdf")
    assert info.value.http_status == 422 and info.value.code == "pdf_active_content"
    assert "脚本" in str(info.value.message) and info.value.details["found"] == sorted(expected)


def test_an_embedded_file_stream_is_refused():
    stream = "<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream"
    data = build_pdf("", (stream,))
    assert pdf_active_names(data) == ("EmbeddedFile",)


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "object_stream"])
def test_plain_documents_pass(packed):
    assert sniff(build_pdf(packed=packed), "x.pdf").kind == "pdf"
    benign = build_pdf("/OpenAction [3 0 R /Fit] /PageMode /UseOutlines", packed=packed)
    assert pdf_active_names(benign) == () and sniff(benign, "x.pdf").kind == "pdf"


def test_bytes_inside_streams_are_not_names():
    """A content stream may name a graphics state /JS, an image may hold any bytes: neither is an
    action."""
    drawn = build_pdf(page_content=b"q /JS gs /AA Do Q")
    image = "<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /Length 12 >>\nstream\n\x00/JavaScript\nendstream"
    assert pdf_active_names(drawn) == ()
    assert pdf_active_names(build_pdf("", (image,))) == ()


def test_an_object_stream_that_cannot_be_read_is_refused():
    packed = build_pdf("/OpenAction 5 0 R", ("<< /S /JavaScript /JS (1) >>",), packed=True)
    broken = packed.replace(b"/Filter /FlateDecode", b"/Filter /LZWDecode   ")
    with pytest.raises(UninspectablePdf) as info:
        sniff(broken, "x.pdf")
    assert info.value.code == "pdf_uninspectable" and info.value.http_status == 422
    start = packed.index(b"stream\n", packed.index(b"/ObjStm")) + len(b"stream\n")
    garbled = packed[:start] + b"\x00" * 8 + packed[start + 8:]
    with pytest.raises(UninspectablePdf):
        pdf_active_names(garbled)
    encrypted = packed.replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt 9 0 R")
    with pytest.raises(UninspectablePdf):
        pdf_active_names(encrypted)


def test_an_object_stream_bomb_is_not_inflated_past_the_bound():
    bomb = zlib.compress(b" " * (65 * 1024 * 1024), 9)
    data = (b"%%PDF-1.7\n1 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n"
            % len(bomb) + bomb + b"\nendstream\nendobj\n%%%%EOF\n")
    with pytest.raises(UninspectablePdf):
        pdf_active_names(data)


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


@pytest.mark.parametrize("filename, content_type, stored", [
    ("poly.html", "application/pdf", "poly.html.pdf"),
    ("报告.PDF", "application/pdf", "报告.PDF"),
    ("scan.jpeg", "image/jpeg", "scan.jpeg"),
    ("scan.png", "image/jpeg", "scan.png.jpg"),
    ("证明", "image/png", "证明.png"),
    ("invoice\u202efdp.exe", "application/pdf", "invoicefdp.exe.pdf"),
    ("report" + BIDI + ".pdf", "application/pdf", "report.pdf"),
    ("a.pdf\u200f", "application/pdf", "a.pdf"),
    ("x" * 300 + ".html", "application/pdf", "x" * 251 + ".pdf"),
])
def test_the_stored_name_ends_in_the_sniffed_type(filename, content_type, stored):
    assert clean_filename(filename, content_type) == stored
    assert len(clean_filename(filename, content_type)) <= 255

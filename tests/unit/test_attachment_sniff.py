"""Recognising uploads by their bytes: real small files built here, and hostile ones."""

from __future__ import annotations

import time

import pytest

from internal_affairs.cases.attachments import FileType, UnsupportedFileType, clean_filename, sniff
from tests.support.files import (DOCX_TYPE, PPTX_TYPE, XLSX_TYPE, bmp, content_types, docx, gif, jpeg, ofd, ole2, pdf,
                                 png, pptx, tiff, webp, xlsx, zipped)


@pytest.mark.parametrize("data, name, expected", [
    (pdf(), "请假.pdf", FileType("pdf", "application/pdf")),
    (png(), "scan.png", FileType("image", "image/png")),
    (jpeg(), "photo.jpg", FileType("image", "image/jpeg")),
    (gif(), "a.gif", FileType("image", "image/gif")),
    (webp(), "a.webp", FileType("image", "image/webp")),
    (tiff(), "a.tif", FileType("image", "image/tiff")),
    (bmp(), "a.bmp", FileType("image", "image/bmp")),
    (docx(), "证明.docx", FileType("office", DOCX_TYPE)),
    (xlsx(), "表.xlsx", FileType("office", XLSX_TYPE)),
    (pptx(), "汇报.pptx", FileType("office", PPTX_TYPE)),
    (ofd(), "公文.ofd", FileType("ofd", "application/ofd")),
    (ole2("WordDocument"), "旧.doc", FileType("office", "application/msword")),
    (ole2("Workbook"), "旧.XLS", FileType("office", "application/vnd.ms-excel")),
    (ole2("PowerPoint Document", sector_shift=12), "旧.ppt", FileType("office", "application/vnd.ms-powerpoint")),
])
def test_real_files_are_recognised(data, name, expected):
    assert sniff(data, name) == expected
    kind, content_type = sniff(data, name)
    assert (kind, content_type) == expected


def test_the_name_does_not_decide():
    assert sniff(png(), "scan.pdf") == FileType("image", "image/png")
    assert sniff(pdf(), "noextension") == FileType("pdf", "application/pdf")
    assert sniff(docx(), "report.bin").content_type == DOCX_TYPE
    assert sniff(ofd(), "").kind == "ofd"


def refused(data: bytes, name: str) -> UnsupportedFileType:
    with pytest.raises(UnsupportedFileType) as caught:
        sniff(data, name)
    error = caught.value
    assert error.code == "unsupported_file_type" and error.http_status == 422
    assert "file" in error.fields
    return error


def test_refusal_is_a_chinese_validation_error():
    error = refused(b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode.", "发票.pdf")
    assert str(error.message) == "文件类型不受支持：只接受 PDF、图片、Office 文档或 OFD。"
    assert error.to_json()["error"]["code"] == "unsupported_file_type"


@pytest.mark.parametrize("data, name", [
    (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "scan.pdf"),
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "a.png"),
    (b"#!/bin/sh\nrm -rf /\n", "a.doc"),
    (b"just some text, %PDF-1.4 later on", "a.pdf"),
    (zipped({"readme.txt": b"hello"}), "a.docx"),
    (zipped({"word/document.xml": b"<w/>"}), "a.docx"),
    (zipped({"[Content_Types].xml": b"<Types/>"}), "a.docx"),
    (zipped({"[Content_Types].xml": b"<Types/>", "word/a.xml": b"", "xl/b.xml": b""}), "a.docx"),
    (zipped({"Doc_0/OFD.xml": b"<ofd/>"}), "a.ofd"),
    (zipped({"ofd.XML": b"<ofd/>"}), "a.ofd"),
    (b"PK\x05\x06" + b"\x00" * 18, "empty.docx"),
    (b"Rar!\x1a\x07\x00" + b"\x00" * 20, "a.rar"),
    (b"7z\xbc\xaf\x27\x1c" + b"\x00" * 20, "a.7z"),
    (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "a.gz"),
])
def test_hostile_and_foreign_files_are_refused(data, name):
    refused(data, name)


def test_a_self_extracting_exe_is_not_a_zip():
    assert sniff(docx(), "a.docx").kind == "office"
    refused(b"MZ" + b"\x00" * 200 + docx(), "a.docx")


def test_office_with_macros_is_refused():
    error = refused(docx({"word/vbaProject.bin": b"\xd0\xcf\x11\xe0"}), "a.docm")
    assert "宏" in str(error.message)


def test_ole2_needs_a_known_extension_and_the_matching_stream():
    refused(ole2("WordDocument"), "setup.msi")
    refused(ole2("WordDocument"), "noextension")
    refused(ole2("Workbook"), "a.doc")
    refused(ole2("SummaryInformation"), "a.xls")
    refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600 + "WordDocument".encode("utf-16-le"), "a.doc")


def test_entry_names_are_only_read_never_used():
    hostile = {"[Content_Types].xml": content_types("x", "word/document.xml"), "word/document.xml": b"<w/>",
               "../../etc/passwd": b"root", "/abs/path": b"x", "..\\..\\windows\\evil.dll": b"x"}
    assert sniff(zipped(hostile), "a.docx").content_type == DOCX_TYPE
    refused(zipped({"../../x": b"x", "../OFD.xml": b"x"}), "a.ofd")


def test_a_zip_bomb_is_not_inflated():
    bomb = zipped({"OFD.xml": b"<ofd/>", "Doc_0/Res/huge.bin": b"\x00" * (64 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024
    started = time.perf_counter()
    assert sniff(bomb, "bomb.ofd").kind == "ofd"
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("data", [
    b"", b"%", b"%PD", b"%PDF", b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d",
    b"\xff\xd8", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP", b"II*", b"BM", b"BM" + b"\x00" * 30,
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"PK\x03\x04", b"PK\x03\x04" + b"\x00" * 26,
])
def test_truncated_and_empty_inputs_are_refused(data):
    refused(data, "a.doc")


def test_truncated_real_files_are_refused():
    for data, name in ((docx(), "a.docx"), (ofd(), "a.ofd"), (ole2(), "a.doc")):
        refused(data[:100], name)
        refused(data[: len(data) // 2] if name != "a.doc" else data[:400], name)


def test_clean_filename_keeps_a_name_not_a_path():
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\Users\\张三\\Desktop\\病假证明.pdf") == "病假证明.pdf"
    assert clean_filename("a\x00b\r\n\tc.pdf") == "abc.pdf"
    assert clean_filename("invoice\u202egpj.exe") == "invoicegpj.exe", "no right-to-left override"
    assert clean_filename("  ..hidden.pdf ") == "hidden.pdf"
    assert clean_filename("", "image/png") == "附件.png"
    assert clean_filename(None, "application/pdf") == "附件.pdf"
    assert clean_filename("../..", "") == "附件"
    long = clean_filename("请" * 400 + ".pdf")
    assert len(long) == 255 and long.endswith(".pdf")
    assert len(clean_filename("x" * 400)) == 255

"""Small real files built in memory, for tests of uploads: a PDF, images, Office (OOXML and
OLE2 compound files), OFD, and the zip they are made of."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

__all__ = ["DOCX_TYPE", "XLSX_TYPE", "PPTX_TYPE", "pdf", "png", "jpeg", "gif", "webp", "tiff", "bmp", "zipped",
           "content_types", "rels", "docx", "xlsx", "pptx", "ofd", "ole2"]

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
            b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


def png(width: int = 1, height: int = 1) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def jpeg() -> bytes:
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def gif() -> bytes:
    return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
            b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def webp() -> bytes:
    body = b"VP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00" + b"\x00"
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def tiff() -> bytes:
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 0) + b"\x00\x00\x00\x00"


def bmp() -> bytes:
    pixels = b"\x00\x00\xff\x00"
    header = struct.pack("<2sIHHI", b"BM", 14 + 40 + len(pixels), 0, 0, 54)
    dib = struct.pack("<IiiHHIIiiII", 40, 1, 1, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + dib + pixels


def zipped(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def content_types(main: str, part: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/{part}" ContentType="{main}"/></Types>').encode()


def rels(part: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            f'officeDocument" Target="{part}"/></Relationships>').encode()


def docx(extra: dict[str, bytes] | None = None) -> bytes:
    part = "word/document.xml"
    return zipped({"[Content_Types].xml": content_types(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", part),
        "_rels/.rels": rels(part),
        part: b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
              b'<w:body><w:p><w:r><w:t>\xe8\xaf\xb7\xe5\x81\x87</w:t></w:r></w:p></w:body></w:document>',
        **(extra or {})})


def xlsx() -> bytes:
    part = "xl/workbook.xml"
    return zipped({"[Content_Types].xml": content_types(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", part),
        "_rels/.rels": rels(part),
        part: b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets>'
              b'<sheet name="Sheet1" sheetId="1" r:id="rId1" '
              b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/></sheets></workbook>',
        "xl/worksheets/sheet1.xml": b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                    b'<sheetData/></worksheet>'})


def pptx() -> bytes:
    part = "ppt/presentation.xml"
    return zipped({"[Content_Types].xml": content_types(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", part),
        "_rels/.rels": rels(part),
        part: b'<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>'})


def ofd() -> bytes:
    return zipped({
        "OFD.xml": '<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" '
                   'Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>0</ofd:DocID>'
                   '</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>'.encode(),
        "Doc_0/Document.xml": b'<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"/>'})


def ole2(stream: str = "WordDocument", *, sector_shift: int = 9) -> bytes:
    """A minimal compound file: header, one FAT sector, one directory sector (root + one stream)."""
    size = 1 << sector_shift
    end, fat_sector, free = 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3 if sector_shift == 9 else 4, 0xFFFE, sector_shift, 6)
    struct.pack_into("<IIIIIIIII", header, 0x2C, 1, 1, 0, 0x1000, end, 0, end, 0, 0)
    struct.pack_into("<I", header, 0x4C, 0)
    for i in range(1, 109):
        struct.pack_into("<I", header, 0x4C + 4 * i, free)
    header = bytes(header) + b"\x00" * (size - 512)
    fat = struct.pack("<II", fat_sector, end) + struct.pack("<I", free) * (size // 4 - 2)

    def entry(name: str, kind: int, child: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", free, free, child) + b"\x00" * 36 + struct.pack("<IQ", end, 0))

    directory = entry("Root Entry", 5, 1) + entry(stream, 2, free)
    directory = directory.ljust(size, b"\x00")
    return header + fat + directory

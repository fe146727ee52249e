"""Small valid PDFs built byte by byte, with whatever the catalog and extra objects should say.

``build_pdf`` writes a one-page document with a correct cross-reference table, or (``packed``)
with its catalog and extra objects inside a Flate-compressed object stream and a cross-reference
stream, as PDF 1.5+ producers do — where a byte scan of the file cannot see their names.
"""

from __future__ import annotations

import zlib

__all__ = ["build_pdf"]


def _xref_table(offsets: list[int], start: int, size: int, root: int) -> bytes:
    rows = [b"xref\n0 %d\n0000000000 65535 f \n" % size]
    rows += [b"%010d 00000 n \n" % offset for offset in offsets]
    return b"".join(rows) + b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, start)


def build_pdf(catalog_extra: str = "", extra_objects: tuple[str, ...] = (), *, packed: bool = False,
              page_content: bytes = b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET") -> bytes:
    """A one-page PDF. ``catalog_extra`` is added to the catalog dictionary; ``extra_objects``
    become objects 5, 6, ... (refer to them as ``5 0 R``)."""
    content = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(page_content) + 1, page_content)
    objects: dict[int, bytes] = {
        1: f"<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>".encode("latin-1"),
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
           b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
        4: content,
    }
    for number, text in enumerate(extra_objects, start=5):
        objects[number] = text.encode("latin-1")
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    if not packed:
        offsets = []
        for number in sorted(objects):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
        start = len(out)
        return bytes(out + _xref_table(offsets, start, len(objects) + 1, 1))

    inside = [n for n in sorted(objects) if n != 4]  # streams cannot live in an object stream
    header, body = [], b""
    for number in inside:
        header.append(b"%d %d" % (number, len(body)))
        body += objects[number] + b"\n"
    head = b" ".join(header) + b"\n"
    packed_body = zlib.compress(head + body)
    stream_number = max(objects) + 1
    xref_number = stream_number + 1
    offsets: dict[int, int] = {}
    offsets[4] = len(out)
    out += b"4 0 obj\n%s\nendobj\n" % objects[4]
    offsets[stream_number] = len(out)
    out += (b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
            % (stream_number, len(inside), len(head), len(packed_body)) + packed_body + b"\nendstream\nendobj\n")
    xref_offset = len(out)
    rows = [b"\x00" + (0).to_bytes(3, "big") + b"\xff"]  # W [1 3 1]: type, offset or stream, generation or index
    for number in range(1, xref_number + 1):
        if number in inside:
            rows.append(b"\x02" + stream_number.to_bytes(3, "big") + inside.index(number).to_bytes(1, "big"))
        else:
            rows.append(b"\x01" + (xref_offset if number == xref_number else offsets[number]).to_bytes(3, "big")
                        + b"\x00")
    table = b"".join(rows)
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 3 1] /Root 1 0 R /Length %d >>\nstream\n"
            % (xref_number, xref_number + 1, len(table)) + table + b"\nendstream\nendobj\n")
    out += b"startxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)

"""Attachments (附件材料): recognising an upload by its content, storing it, finding it again.

:func:`sniff` is pure: bytes and a name in, a kind and a content type out. It trusts the bytes,
never the name — the extension only picks among the legacy Office types, which share one
container. ZIP-based formats (OOXML, OFD) are recognised from the central directory alone:
nothing is decompressed, nothing is extracted, so hostile entry names and zip bombs cannot
matter.

A PDF that can act on its own when opened is refused (:class:`ActivePdfContent`): JavaScript
(``/JS``, ``/JavaScript``), launch actions (``/Launch``), additional actions (``/AA``), embedded
files (``/EmbeddedFile``, ``/EmbeddedFiles``) and rich media (``/RichMedia``); an ``/OpenAction``
that runs script names ``/JavaScript`` too. :func:`pdf_active_names` finds them with a small
tokenizer of its own rather than a PDF library: it reads the names of every object outside
stream bodies (so the bytes of an image never look like a name), decodes ``#xx`` escapes
(``/J#61vaScript``), and inflates the Flate-compressed object streams (``/Type /ObjStm``) where
PDF 1.5+ keeps most dictionaries, bounded in size. An object stream it cannot inflate (another
filter, a predictor, encryption, or larger than the bound) makes the file uninspectable, which is
refused too (:class:`UninspectablePdf`): a file we cannot read is not a file we let through.

:func:`clean_filename` makes the stored name end in the extension of the sniffed type (a PDF
sent as ``poly.html`` is stored as ``poly.html.pdf``), after removing control and format
characters — the bidirectional controls U+202A–U+202E, U+2066–U+2069, U+200E, U+200F and U+061C
among them — so a name can disguise neither its type nor its extension.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
import zipfile
import zlib
from datetime import datetime
from typing import Any, NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select

from ..atomic import atomic
from ..audit.actions import record_event
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..matters.queries import definition_of
from ..matters.schema import MaterialSpec
from ..org.models import Person
from . import engine
from ..inputs import valid_id
from .models import Attachment, Case, CaseMaterial

__all__ = ["do_withdraw_attachment", "FileType", "UnsupportedFileType", "sniff", "clean_filename",
           "do_upload_attachment", "get_attachment", "list_attachments", "attachment_to_json", "ActivePdfContent",
           "UninspectablePdf", "pdf_active_names"]

MAX_FILENAME = 255

PDF = re.compile(rb"%PDF-[12]\.\d")
PNG = b"\x89PNG\r\n\x1a\n"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_LOCAL_HEADER = b"PK\x03\x04"
BMP_DIB_SIZES = {12, 40, 52, 56, 64, 108, 124}

OFD_TYPE = "application/ofd"
OOXML_TYPES = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OOXML_MACROS = ("word/vbaProject.bin", "xl/vbaProject.bin", "ppt/vbaProject.bin")
# Legacy Office files share the OLE2 container; the extension picks the type, and the stream a
# real document of that type must hold confirms it (an MSI installer renamed .doc has none).
OLE2_TYPES = {
    "doc": ("application/msword", ("WordDocument",)),
    "dot": ("application/msword", ("WordDocument",)),
    "xls": ("application/vnd.ms-excel", ("Workbook", "Book")),
    "xlt": ("application/vnd.ms-excel", ("Workbook", "Book")),
    "ppt": ("application/vnd.ms-powerpoint", ("PowerPoint Document",)),
    "pps": ("application/vnd.ms-powerpoint", ("PowerPoint Document",)),
    "pot": ("application/vnd.ms-powerpoint", ("PowerPoint Document",)),
}
KIND_LABELS = {"pdf": "PDF", "image": lazy_gettext("图片"), "office": lazy_gettext("Office 文档"), "ofd": "OFD"}
EXTENSIONS = {"application/pdf": "pdf", "application/ofd": "ofd", "image/png": "png", "image/jpeg": "jpg",
              "image/gif": "gif", "image/webp": "webp", "image/tiff": "tif", "image/bmp": "bmp",
              "application/msword": "doc", "application/vnd.ms-excel": "xls",
              "application/vnd.ms-powerpoint": "ppt", OOXML_TYPES["word/"]: "docx", OOXML_TYPES["xl/"]: "xlsx",
              OOXML_TYPES["ppt/"]: "pptx"}
EXTENSION_ALIASES = {"application/pdf": {"pdf"}, "application/ofd": {"ofd"}, "image/png": {"png"},
                     "image/jpeg": {"jpg", "jpeg", "jpe", "jfif"}, "image/gif": {"gif"}, "image/webp": {"webp"},
                     "image/tiff": {"tif", "tiff"}, "image/bmp": {"bmp", "dib"},
                     "application/msword": {"doc", "dot"}, "application/vnd.ms-excel": {"xls", "xlt"},
                     "application/vnd.ms-powerpoint": {"ppt", "pps", "pot"}, OOXML_TYPES["word/"]: {"docx"},
                     OOXML_TYPES["xl/"]: {"xlsx"}, OOXML_TYPES["ppt/"]: {"pptx"}}
"""The extensions a file of each type may keep; any other gets the type's own appended."""
FALLBACK_NAME = "附件"
MACROS_REFUSED = lazy_gettext("不接受含宏的 Office 文档，请另存为不含宏的格式后上传。")


class FileType(NamedTuple):
    """What :func:`sniff` found: a material kind (``pdf`` | ``image`` | ``office`` | ``ofd``)
    and the content type to store and serve."""

    kind: str
    content_type: str


class UnsupportedFileType(ValidationError):
    """The bytes are none of the accepted formats, whatever the file is called."""

    code = "unsupported_file_type"
    default_message = lazy_gettext("文件类型不受支持：只接受 PDF、图片、Office 文档或 OFD。")

    def __init__(self, message: Any = None, **kwargs: Any):
        kwargs.setdefault("fields", {"file": lazy_gettext("文件类型不受支持。")})
        super().__init__(message, **kwargs)


class ActivePdfContent(ValidationError):
    """A PDF that would run script, launch a program or carry files when opened."""

    code = "pdf_active_content"
    default_message = lazy_gettext("PDF 文件含有脚本、自动执行的动作或嵌入的文件，出于安全原因不予接收。"
                                   "请将其另存为（或打印为）普通 PDF 后再上传。")

    def __init__(self, names: tuple[str, ...] = (), **kwargs: Any):
        kwargs.setdefault("fields", {"file": lazy_gettext("PDF 含有脚本或嵌入内容。")})
        kwargs.setdefault("details", {"found": list(names)})
        super().__init__(**kwargs)


class UninspectablePdf(ValidationError):
    """A PDF whose objects cannot be read to check them (encrypted or unusually compressed)."""

    code = "pdf_uninspectable"
    default_message = lazy_gettext("无法检查该 PDF 文件的内容（可能已加密或使用了不支持的压缩方式），"
                                   "请将其另存为普通 PDF 后再上传。")

    def __init__(self, message: Any = None, **kwargs: Any):
        kwargs.setdefault("fields", {"file": lazy_gettext("无法检查该 PDF 文件。")})
        super().__init__(message, **kwargs)


PDF_ACTIVE_NAMES = frozenset({"JS", "JavaScript", "Launch", "AA", "EmbeddedFile", "EmbeddedFiles", "RichMedia"})
"""Names whose presence means the PDF can act on its own or carries files."""
PDF_NAME = re.compile(rb"/((?:[^\x00\t\n\f\r ()<>\[\]{}/%]|#[0-9A-Fa-f]{2})*)")
PDF_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
PDF_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
PDF_DIRECT_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")
PDF_OBJ = re.compile(rb"\bobj\b")
PDF_INFLATED_LIMIT = 64 * 1024 * 1024
"""At most this many bytes are inflated from a file's object streams (a bomb is refused)."""


def _pdf_names(chunk: bytes) -> set[str]:
    """Every name in ``chunk``, ``#xx`` escapes decoded (a name is case-sensitive)."""
    names = set()
    for match in PDF_NAME.finditer(chunk):
        raw = PDF_HEX_ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), match.group(1))
        names.add(raw.decode("latin-1"))
    return names


def _stream_dictionary(data: bytes, start: int) -> bytes:
    """The dictionary a stream body at ``start`` belongs to: back to its ``obj`` keyword."""
    head = data[max(0, start - 4096):start]
    found = list(PDF_OBJ.finditer(head))
    return head[found[-1].end():] if found else head


def _inflate(body: bytes, budget: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, budget + 1)
    except zlib.error:
        raise UninspectablePdf() from None
    if len(out) > budget:
        raise UninspectablePdf()
    return out


def pdf_active_names(data: bytes) -> tuple[str, ...]:
    """The active-content names (:data:`PDF_ACTIVE_NAMES`) a PDF uses, sorted; empty for a plain
    document. Names are read outside stream bodies and inside inflated object streams.

    Raises :class:`UninspectablePdf` for an object stream that cannot be inflated."""
    outside: set[str] = set()
    object_streams: list[tuple[set[str], bytes]] = []
    position = 0
    while True:
        match = PDF_STREAM.search(data, position)
        if match is None:
            outside |= _pdf_names(data[position:])
            break
        outside |= _pdf_names(data[position:match.end()])
        start = match.end()
        dictionary = _pdf_names(_stream_dictionary(data, match.start() + 2))
        length = PDF_DIRECT_LENGTH.search(_stream_dictionary(data, match.start() + 2))
        end = -1
        if length is not None:
            candidate = start + int(length.group(1))
            if data[candidate:candidate + 32].lstrip(b"\r\n ").startswith(b"endstream"):
                end = candidate
        if end < 0:
            end = data.find(b"endstream", start)
            end = len(data) if end < 0 else end
        if "ObjStm" in dictionary or {"N", "First"} <= dictionary:
            object_streams.append((dictionary, data[start:end]))
        position = end
    found = outside & PDF_ACTIVE_NAMES
    budget = PDF_INFLATED_LIMIT
    for dictionary, body in object_streams:
        if "Encrypt" in outside or "DecodeParms" in dictionary:
            raise UninspectablePdf()
        if "Filter" in dictionary:
            if "FlateDecode" not in dictionary:
                raise UninspectablePdf()
            body = _inflate(body, budget)
        budget -= len(body)
        found |= _pdf_names(body) & PDF_ACTIVE_NAMES
    return tuple(sorted(found))


def _image_type(data: bytes) -> str | None:
    if data.startswith(PNG) and len(data) >= 24 and data[12:16] == b"IHDR":
        return "image/png"
    if data.startswith(b"\xff\xd8\xff") and len(data) >= 4:
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 13:
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
        return "image/webp"
    if data[:4] in (b"II*\x00", b"MM\x00*") and len(data) >= 8:
        return "image/tiff"
    if data[:2] == b"BM" and len(data) >= 26 and struct.unpack_from("<I", data, 14)[0] in BMP_DIB_SIZES:
        return "image/bmp"
    return None


def _extension(filename: str) -> str:
    name = re.split(r"[\\/]", filename or "")[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _ole2_type(data: bytes, filename: str) -> str | None:
    if len(data) < 512 or data[0x1C:0x1E] != b"\xfe\xff":
        return None
    major, _byte_order, sector_shift = struct.unpack_from("<HHH", data, 0x1A)
    if (major, sector_shift) not in ((3, 9), (4, 12)):
        return None
    known = OLE2_TYPES.get(_extension(filename))
    if known is None:
        return None
    content_type, streams = known
    if not any(stream.encode("utf-16-le") in data for stream in streams):
        return None
    return content_type


def _zip_names(data: bytes) -> set[str] | None:
    """The entry names from the central directory, or None if this is no readable ZIP."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {info.filename for info in archive.infolist()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, struct.error,
            NotImplementedError, UnicodeDecodeError):
        return None


def _zip_type(data: bytes) -> FileType | None:
    names = _zip_names(data)
    if names is None:
        return None
    if "OFD.xml" in names:
        return FileType("ofd", OFD_TYPE)
    if "[Content_Types].xml" not in names:
        return None
    found = {prefix for prefix in OOXML_TYPES if any(name.startswith(prefix) for name in names)}
    if len(found) != 1:
        return None
    if names & set(OOXML_MACROS):
        raise UnsupportedFileType(MACROS_REFUSED)
    return FileType("office", OOXML_TYPES[found.pop()])


def sniff(data: bytes, filename: str) -> FileType:
    """Recognise ``data`` by its content. ``filename`` only chooses among the legacy Office
    types (doc / xls / ppt share one container).

    Raises :class:`UnsupportedFileType` for anything that is not PDF, an image (PNG, JPEG, GIF,
    WebP, TIFF, BMP), an Office document (legacy or OOXML, without macros) or OFD, and
    :class:`ActivePdfContent` / :class:`UninspectablePdf` for a PDF with script, actions or
    embedded files, or one that cannot be checked.
    """
    if PDF.match(data):
        active = pdf_active_names(data)
        if active:
            raise ActivePdfContent(active)
        return FileType("pdf", "application/pdf")
    image = _image_type(data)
    if image:
        return FileType("image", image)
    if data.startswith(OLE2):
        legacy = _ole2_type(data, filename)
        if legacy:
            return FileType("office", legacy)
    elif data.startswith(ZIP_LOCAL_HEADER):
        packaged = _zip_type(data)
        if packaged:
            return packaged
    raise UnsupportedFileType()


def clean_filename(filename: Any, content_type: str = "") -> str:
    """A name fit for display and for ``Content-Disposition``: no directories, no control or
    format characters (bidirectional controls among them, which could disguise an extension),
    ending in an extension of ``content_type`` (the sniffed type's own is appended when the name
    has another: ``poly.html`` → ``poly.html.pdf``), at most 255 characters with the extension
    kept. Never used as a path."""
    name = unicodedata.normalize("NFC", filename if isinstance(filename, str) else "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    name = name.strip().strip(".").strip()
    ext = EXTENSIONS.get(content_type)
    if not name:
        name = FALLBACK_NAME + ("." + ext if ext else "")
    elif ext and _extension(name) not in EXTENSION_ALIASES.get(content_type, {ext}):
        name = f"{name}.{ext}"
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[:MAX_FILENAME - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_FILENAME]
    return name


def _state(case: Case) -> engine.Case:
    """The case as the engine's attachment checks (the same :func:`engine.capabilities` asks)
    read it: who applied and the status; its steps and tasks are not needed, so not read."""
    return engine.Case(id=case.id, applicant_id=case.applicant_id, status=engine.CaseStatus(case.status),
                       version=case.version, updated_at=case.updated_at)


def _materials(case: Case) -> dict[str, MaterialSpec]:
    definition = definition_of(case.matter_version)
    return {m.code: m for m in definition.materials}


@atomic
def do_upload_attachment(case: Case, material_code: Any, filename: Any, data: bytes, *, acting_user: Person,
                         now: datetime) -> Attachment:
    """Store one file for one of the case's materials and commit. Earlier files stay: a material
    may have several. A material deferred under 容缺受理 becomes supplied.

    Raises :class:`PermissionDenied` (only the applicant uploads), :class:`Conflict` (the case is
    closed), :class:`ValidationError` (unknown material, empty file, a kind the material does
    not accept) and :class:`UnsupportedFileType`.
    """
    try:
        engine.check_upload(_state(case), engine.Actor(acting_user.id, acting_user.name))
    except engine.Refusal as refusal:
        if refusal.code == "forbidden":
            raise PermissionDenied(_("只有申请人本人可以上传材料。"), code="not_applicant") from None
        raise Conflict(_("办件已办结或已撤回，不能再上传材料。"), code="case_closed") from None
    materials = _materials(case)
    spec = materials.get(material_code) if isinstance(material_code, str) else None
    if spec is None:
        raise ValidationError(_("该事项没有这项材料。"), code="unknown_material",
                              fields={"material": _("请选择本事项的一项材料。")})
    if not data:
        raise ValidationError(_("上传的文件是空的。"), code="empty_file", fields={"file": _("文件为空。")})
    found = sniff(data, filename if isinstance(filename, str) else "")
    if found.kind not in spec.accept:
        accepted = "、".join(str(KIND_LABELS[k]) for k in spec.accept)
        raise ValidationError(_("“%(material)s”只接受：%(accepted)s。", material=spec.name, accepted=accepted),
                              code="wrong_file_type", fields={"file": _("文件类型不符合该材料的要求。")})
    attachment = Attachment(case_id=case.id, material=spec.code, filename=clean_filename(filename, found.content_type),
                            content_type=found.content_type, kind=found.kind, size=len(data),
                            sha256=hashlib.sha256(data).hexdigest(), data=data, uploaded_by_id=acting_user.id,
                            uploaded_at=now, superseded=False)
    db.session.add(attachment)
    deferred = db.session.execute(select(CaseMaterial).where(
        CaseMaterial.case_id == case.id, CaseMaterial.material == spec.code, CaseMaterial.status == "deferred")
    ).scalar_one_or_none()
    if deferred is not None:
        deferred.status, deferred.supplied_at = "supplied", now
    db.session.flush()
    record_event("cases.attachment.uploaded", actor=acting_user, object_type="case", object_id=case.id,
                 data={"attachment": attachment.id, "material": spec.code, "filename": attachment.filename,
                       "kind": found.kind, "content_type": found.content_type, "size": attachment.size,
                       "sha256": attachment.sha256, "supplied_deferred": deferred is not None}, now=now)
    db.session.commit()
    return attachment


@atomic
def do_withdraw_attachment(case: Case, attachment_id: Any, *, acting_user: Person, now: datetime) -> Attachment:
    """撤下 a file the applicant uploaded by mistake, while the case is a draft or returned to
    them. The file is kept for the record (marked superseded, still downloadable by whoever may
    see the case) but no longer counts for its material. Taking back a file already taken back
    changes nothing.

    Raises :class:`NotFound` (not this case's file), :class:`PermissionDenied` (only the
    applicant) and :class:`Conflict` (the case is with the approvers or closed).
    """
    attachment = get_attachment(case, attachment_id)
    try:
        engine.check_withdraw_attachment(_state(case), engine.Actor(acting_user.id, acting_user.name))
    except engine.Refusal as refusal:
        if refusal.code == "forbidden":
            raise PermissionDenied(_("只有申请人本人可以撤下材料。"), code="not_applicant") from None
        raise Conflict(_("办件正在审批或已办结，不能撤下材料。"), code="case_not_editable") from None
    if attachment.superseded:
        return attachment
    attachment.superseded = True
    record_event("cases.attachment.withdrawn", actor=acting_user, object_type="case", object_id=case.id,
                 data={"attachment": attachment.id, "material": attachment.material, "filename": attachment.filename,
                       "sha256": attachment.sha256}, now=now)
    db.session.commit()
    return attachment


def get_attachment(case: Case, attachment_id: Any) -> Attachment:
    """The attachment ``attachment_id`` of ``case``. Raises :class:`NotFound` for any other id,
    including one that belongs to another case."""
    if not valid_id(attachment_id):
        raise NotFound()
    attachment = db.session.execute(select(Attachment).where(
        Attachment.id == attachment_id, Attachment.case_id == case.id)).scalar_one_or_none()
    if attachment is None:
        raise NotFound()
    return attachment


def list_attachments(case: Case) -> list[Attachment]:
    """The case's attachments in upload order (the file bytes are not loaded)."""
    return list(db.session.execute(select(Attachment).where(Attachment.case_id == case.id)
                                   .order_by(Attachment.uploaded_at, Attachment.id)).scalars())


def attachment_to_json(attachment: Attachment) -> dict[str, Any]:
    """The API shape of an attachment (without its bytes)."""
    return {"id": attachment.id, "material": attachment.material, "filename": attachment.filename,
            "content_type": attachment.content_type, "kind": attachment.kind, "size": attachment.size,
            "sha256": attachment.sha256, "uploaded_by": attachment.uploaded_by.uid,
            "uploaded_at": attachment.uploaded_at.isoformat() + "Z", "withdrawn": attachment.superseded}

"""Verifying any uploaded PDF against the configured trust roots, reported in plain Chinese.

The validator works offline (``allow_fetching=False``): an uploaded file never makes the server
fetch the URLs it names; B-LT files carry their own revocation data.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import signing
from signing import SignatureReport, VerificationReport

from .actions import off_event_loop
from .errors import UnreadablePdfError
from .queries import trust_roots
from ..clock import LOCAL_TZ

__all__ = ["check_verify_pdf", "report_to_json"]

_KINDS = {"validation_data": _l("补充验证信息"), "form_filling": _l("填写表单或加盖后续印章"),
          "annotations": _l("添加批注"), "other": _l("其他改动（如增删页面、改动内容）")}


def check_verify_pdf(data: bytes) -> dict[str, Any]:
    """The verification report of ``data`` as JSON. Raises :class:`UnreadablePdfError` (422)
    for an empty file, a file that is no PDF, or a damaged PDF."""
    if not data:
        raise UnreadablePdfError(_("文件为空，请选择要验证的 PDF 文件。"))
    try:
        report = off_event_loop(signing.verify_pdf, data, trust_roots=trust_roots())
    except signing.NotAPdfError:
        raise UnreadablePdfError(_("该文件不是 PDF 文件，无法验证。")) from None
    except signing.DamagedPdfError:
        raise UnreadablePdfError(_("该 PDF 文件已损坏，无法读取，无法验证。")) from None
    except signing.SigningError:
        raise UnreadablePdfError() from None
    return report_to_json(report)


def _kinds(changes: tuple[str, ...]) -> str:
    kinds = [str(_KINDS[c]) for c in changes if c in _KINDS]
    return "、".join(kinds) or _("其他改动（如增删页面、改动内容）")


def _lines(sig: SignatureReport) -> list[str]:
    lines = [_("印章：%(seal)s；单位：%(org)s；证书持有者：%(signer)s", seal=sig.seal, org=sig.organization or "—",
               signer=sig.signer)]
    when = sig.signed_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S") if sig.signed_at else "—"
    lines.append(_("盖章时间：%(when)s（由时间戳服务证明）", when=when) if sig.time_source == "tsa"
                 else _("盖章时间：%(when)s（盖章方自报的时间，没有时间戳证明）", when=when))
    lines.append(_("签名完好：盖章所覆盖的内容一个字节也没有改变。") if sig.intact and sig.valid
                 else _("签名已失效：盖章后文件内容被改动过，或签名本身已损坏。"))
    if sig.revoked:
        lines.append(_("证书已被吊销：该印章不可信。"))
    elif sig.trusted:
        lines.append(_("证书可信：由受信任的根证书签发。"))
    else:
        lines.append(_("证书不可信：签发机构不在受信任的根证书之列，或证书已过期、无法核验。"))
    if sig.covers_whole_document:
        lines.append(_("覆盖范围：该印章覆盖整个文件，盖章后没有任何改动。"))
    elif sig.modification_allowed:
        lines.append(_("盖章后有改动，属于允许的范围：%(kinds)s。", kinds=_kinds(sig.modified_after)))
    else:
        lines.append(_("盖章后有不允许的改动：%(kinds)s。", kinds=_kinds(sig.modified_after)))
    if sig.certification:
        lines.append(_("这是文件的认证签名（第一枚印章），此后只允许填写表单和加盖其他印章。"))
    lines.append(_("签名级别：%(level)s", level=sig.level))
    return lines


def _ok(sig: SignatureReport) -> bool:
    return sig.intact and sig.valid and sig.trusted and (sig.covers_whole_document or sig.modification_allowed)


def report_to_json(report: VerificationReport) -> dict[str, Any]:
    """The report: per signature the fields of DESIGN §10 plus ``level``, ``time_source`` and a
    plain Chinese ``summary``; overall ``valid`` and ``message``."""
    signatures = [{
        "signer": s.signer, "organization": s.organization, "seal": s.seal, "field": s.field_name,
        "signed_at": s.signed_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if s.signed_at else None,
        "time_source": s.time_source, "intact": s.intact and s.valid, "trusted": s.trusted, "revoked": s.revoked,
        "certification": s.certification, "covers_whole_document": s.covers_whole_document,
        "modified_after": list(s.modified_after), "modification_allowed": s.modification_allowed,
        "level": s.level, "certificate_serial": s.certificate_serial, "valid": _ok(s),
        "summary": _lines(s),
    } for s in report.signatures]
    if not report.signatures:
        message = _("该文件没有任何电子签名或印章，无法证明其来源和完整性。")
    elif report.valid:
        message = _("全部 %(n)s 枚印章有效：文件完整，来源可信。", n=len(report.signatures))
    else:
        bad = sum(1 for s in signatures if not s["valid"])
        message = _("%(bad)s 枚印章未通过验证（共 %(n)s 枚），该文件不能作为原件使用。", bad=bad, n=len(signatures))
    return {"valid": report.valid, "message": message, "signatures": signatures,
            "document_timestamps": report.document_timestamps}

"""The rules of sealing, each a named error with a stable code and a Chinese message."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..errors import Conflict, ServiceUnavailable, ValidationError

__all__ = ["NoSealError", "SealingFailedError", "SealConfigError", "UnreadablePdfError"]


class NoSealError(Conflict):
    """The agency has no active seal of a purpose asked for."""

    code = "no_seal"
    default_message = _l("本单位没有可用的电子印章，请联系印章管理员。")


class SealingFailedError(ServiceUnavailable):
    """The seal key, the TSA or the signing itself failed (retried by the sealing job)."""

    code = "sealing_failed"
    default_message = _l("盖章失败，系统将自动重试。")


class SealConfigError(ValidationError):
    """A seal to import or register is unusable (no certificate, a wrong password, an unknown token)."""

    code = "seal_config"
    default_message = _l("印章配置无效。")


class UnreadablePdfError(ValidationError):
    """The uploaded file is no PDF, or a damaged one."""

    code = "not_a_pdf"
    default_message = _l("该文件不是有效的 PDF，或已损坏，无法验证。")


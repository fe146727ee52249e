"""The rules the case engine protects, each a named error with a stable code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..errors import Conflict, DomainError, PermissionDenied, StaleStateError, ValidationError

__all__ = ["StaleDecisionError", "TaskBlockedError", "InvalidTransitionError", "SelfApprovalError",
           "OwnCaseError", "NotYourTaskError", "RateLimitedError", "MissingMaterialError"]


class StaleDecisionError(StaleStateError):
    """The task was already decided (a double click, or another approver of an ``any`` step)."""


class TaskBlockedError(Conflict):
    code = "task_blocked"
    default_message = _l("该任务正在等待加签人或被征询人的意见，暂不能处理。")


class InvalidTransitionError(Conflict):
    code = "invalid_transition"
    default_message = _l("当前状态下不能执行此操作。")


class SelfApprovalError(ValidationError):
    code = "self_approval"
    default_message = _l("申请人不能审批自己的申请。")


class OwnCaseError(PermissionDenied):
    """The applicant tried to act on a task of their own case (whatever put the task there)."""

    code = "self_approval"
    default_message = _l("申请人不能处理自己申请的事项，须由其他人员（或其他系统管理员）处理。")


class NotYourTaskError(PermissionDenied):
    code = "not_your_task"
    default_message = _l("这不是您的待办任务。")


class RateLimitedError(DomainError):
    code = "rate_limited"
    http_status = 429
    default_message = _l("催办过于频繁，请稍后再试。")


class MissingMaterialError(ValidationError):
    code = "missing_material"
    default_message = _l("缺少必需的材料。")

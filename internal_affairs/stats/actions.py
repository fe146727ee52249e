"""The applicant's rating of a finished case (好差评)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..atomic import atomic
from ..audit.actions import record_event
from ..cases.models import Case
from ..errors import Conflict, PermissionDenied, ValidationError
from ..extensions import db
from ..org.models import Person
from .figures import FINISHED
from .models import CaseRating

__all__ = ["MAX_COMMENT", "do_rate_case", "rating_of", "rating_state"]

MAX_COMMENT = 500


def rating_of(case_id: int) -> CaseRating | None:
    """The case's rating, if it has one."""
    return db.session.execute(select(CaseRating).where(CaseRating.case_id == case_id)).scalar_one_or_none()


def rating_state(case_id: int, status: str, *, is_applicant: bool) -> tuple[CaseRating | None, bool]:
    """The case's rating and whether the viewer may give it now: they are the applicant of the
    finished, not yet rated case (the rule :func:`do_rate_case` enforces). No statement for a case
    that has not finished (it has no rating)."""
    if status not in FINISHED:
        return None, False
    rating = rating_of(case_id)
    return rating, rating is None and is_applicant


@atomic
def do_rate_case(case: Case, score: object, comment: object, *, acting_user: Person, now: datetime) -> CaseRating:
    """The applicant rates their finished case once: ``score`` 1–5, an optional ``comment`` of at
    most 500 characters. Audited as ``cases.case.rated``.

    Raises :class:`PermissionDenied` (not the applicant), :class:`Conflict` (not finished yet, or
    already rated) and :class:`ValidationError` (score or comment).
    """
    if case.applicant_id != acting_user.id:
        raise PermissionDenied(_("只有申请人可以评价本件。"))
    if case.status not in FINISHED:
        raise Conflict(_("办结后才能评价。"), code="not_finished")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError(fields={"score": _("评分必须是 1 到 5 的整数。")})
    if comment is not None and not isinstance(comment, str):
        raise ValidationError(fields={"comment": _("必须是文字。")})
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ValidationError(fields={"comment": _("评价内容不能超过 %(n)s 字。", n=MAX_COMMENT)})
    locked = db.session.execute(select(Case.id).where(Case.id == case.id).with_for_update()).scalar_one()
    if rating_of(case.id) is not None:
        raise Conflict(_("本件已评价过，每件只能评价一次。"), code="already_rated")
    rating = CaseRating(case_id=locked, agency_id=case.agency_id, matter_type_id=case.matter_type_id,
                        rater_id=acting_user.id, score=score, comment=comment, created_at=now)
    db.session.add(rating)
    try:
        db.session.flush()
    except IntegrityError:  # a rating committed between the check and the insert (SQLite takes no row lock)
        db.session.rollback()
        raise Conflict(_("本件已评价过，每件只能评价一次。"), code="already_rated") from None
    record_event("cases.case.rated", actor=acting_user, object_type="case", object_id=case.id,
                 data={"score": score, "comment": comment}, now=now)
    db.session.commit()
    return rating

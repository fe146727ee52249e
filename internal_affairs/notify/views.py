"""The notification list (with the unread badge in the nav) and the preferences page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..clock import utcnow
from ..errors import DomainError
from ..inputs import MAX_PAGE, int_arg
from .actions import do_mark_all_read, do_mark_read, do_set_preferences, get_preference
from .queries import count_unread, get_notifications, preference_to_json

bp = Blueprint("notify", __name__)
PER_PAGE = 30


@bp.app_context_processor
def _inject_unread() -> dict[str, Any]:
    def notify_unread_count() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return count_unread(current_user._get_current_object())
        except SQLAlchemyError:
            return 0  # the badge must never break the page that reports a database error

    return {"notify_unread_count": notify_unread_count}


@bp.get("/notifications")
@login_required
def notifications():
    me = current_user._get_current_object()
    page_n = int_arg("page", 1, minimum=1, maximum=MAX_PAGE)
    rows, total = get_notifications(me, limit=PER_PAGE, offset=(page_n - 1) * PER_PAGE)
    return render_template("notify/list.html", rows=rows, total=total, page=page_n,
                           pages=max(1, (total + PER_PAGE - 1) // PER_PAGE))


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    row = do_mark_read(notification_id, acting_user=current_user._get_current_object(), now=utcnow())
    if request.form.get("follow") and row.link and row.link.startswith("/") and not row.link.startswith("//"):
        return redirect(row.link)
    return redirect(url_for("notify.notifications"))


@bp.post("/notifications/read")
@login_required
def read_all():
    do_mark_all_read(acting_user=current_user._get_current_object(), now=utcnow())
    flash(_("全部通知已标为已读。"), "success")
    return redirect(url_for("notify.notifications"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def settings():
    me = current_user._get_current_object()
    if request.method == "POST":
        data = {"mail": request.form.get("mail") == "1", "chat": request.form.get("chat") == "1",
                "quiet_start": request.form.get("quiet_start") or None,
                "quiet_end": request.form.get("quiet_end") or None}
        try:
            do_set_preferences(data, acting_user=me, now=utcnow())
            flash(_("通知设置已保存。"), "success")
            return redirect(url_for("notify.settings"))
        except DomainError as exc:
            flash(exc.page_message(), "error")
    return render_template("notify/settings.html", pref=preference_to_json(get_preference(me.id)), me=me)

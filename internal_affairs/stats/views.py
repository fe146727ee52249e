"""The supervision dashboard page (效能监察) and the rating form on the case page (好差评)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth import current_roles
from ..cases.access import access_case
from ..clock import utcnow
from ..errors import BadRequest, DomainError, NotFound
from ..extensions import db
from ..matters.models import MatterType
from ..org.models import Agency
from .actions import MAX_COMMENT, do_rate_case, rating_state
from .charts import CHART_W, LABEL_W, PLOT_H, ROW_H, VALUE_W, columns, hbars
from .queries import StatsFilters, get_dashboard, get_stats_scope, parse_filters

bp = Blueprint("stats", __name__)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    def can_see_stats() -> bool:
        """Whether the logged-in person may open the dashboard (asked by the home page only)."""
        try:
            get_stats_scope(current_user._get_current_object(), current_roles())
        except NotFound:
            return False
        return True

    def case_rating_panel(case: dict[str, Any]) -> dict[str, Any]:
        """The case page's 好差评 panel: the rating if any, and whether the viewer may rate (one
        statement, and none for a case that has not finished)."""
        rating, may_rate = rating_state(case["id"], case.get("status"),
                                        is_applicant=(case.get("applicant") or {}).get("uid") == current_user.uid)
        return {"rating": rating, "can_rate": may_rate, "max_comment": MAX_COMMENT}

    return {"can_see_stats": can_see_stats, "case_rating_panel": case_rating_panel}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _days(value: float | None) -> str:
    return "—" if value is None else (f"{value:g}")


def _rate_tone(value: float | None) -> str:
    if value is None:
        return "none"
    return "good" if value >= 0.9 else "warn" if value >= 0.7 else "bad"


def _charts(data: dict[str, Any]) -> dict[str, Any]:
    """The SVG geometry of the dashboard's charts."""
    by_agency = data["by_agency"][:15]
    trend_cols, trend_w = columns((t["from"][5:] if t["unit"] == "week" else t["from"][:7],
                                   (t["volume"], t["finished"])) for t in data["trend"])
    volume, volume_h = hbars((a["agency"]["name"] or "", a["volume"], str(a["volume"])) for a in by_agency)
    on_time, on_time_h = hbars(((a["agency"]["name"] or "", a["on_time_rate"], _pct(a["on_time_rate"]))
                                for a in by_agency), maximum=1.0, tone=_rate_tone)
    matters, matters_h = hbars(((m["matter_type"]["name"] or "", m["median_days"],
                                 _("%(m)s 天", m=_days(m["median_days"])))
                                for m in data["by_matter"]))
    dist = data["ratings"]["distribution"]
    stars, stars_h = hbars(((_("%(n)s 分", n=s), dist[s], str(dist[s])) for s in (5, 4, 3, 2, 1)),
                           tone=lambda v: "")
    return {"trend": trend_cols, "trend_w": trend_w, "volume": volume, "volume_h": volume_h,
            "on_time": on_time, "on_time_h": on_time_h, "matters": matters, "matters_h": matters_h,
            "stars": stars, "stars_h": stars_h}


@bp.get("/stats")
@login_required
def dashboard():
    """The dashboard. Raises :class:`NotFound` for whoever may not see any figures."""
    me = current_user._get_current_object()
    now = utcnow()
    scope = get_stats_scope(me, current_roles())
    status = 200
    try:
        filters = parse_filters(request.args, scope, now=now)
    except BadRequest as exc:
        flash(str(exc.message), "error")
        filters, status = parse_filters({}, scope, now=now), 400
    data = get_dashboard(scope, filters, now=now)
    agency_stmt = select(Agency.id, Agency.name).where(Agency.active.is_(True)).order_by(Agency.name)
    if not scope.district:
        agency_stmt = agency_stmt.where(Agency.id.in_(sorted(scope.agency_ids)))
    agencies = db.session.execute(agency_stmt).all()
    matters = db.session.execute(select(MatterType.code, MatterType.name).where(MatterType.active.is_(True))
                                 .order_by(MatterType.category, MatterType.code)).all()
    return render_template("stats/dashboard.html", data=data, filters=filters, agencies=agencies, matters=matters,
                           charts=_charts(data), pct=_pct, days=_days, tone=_rate_tone,
                           printing=request.args.get("print") == "1",
                           geo={"w": CHART_W, "label": LABEL_W, "value": VALUE_W, "row": ROW_H, "plot": PLOT_H}), status


@bp.post("/cases/<int:case_id>/rating")
@login_required
def rate(case_id: int):
    """The applicant's rating from the case page: back to the case with a flash."""
    me = current_user._get_current_object()
    case = access_case(case_id, me, current_roles())
    raw = (request.form.get("score") or "").strip()
    score: object = int(raw) if raw in ("1", "2", "3", "4", "5") else raw  # anything else: do_rate_case says why
    try:
        do_rate_case(case, score, request.form.get("comment"), acting_user=me, now=utcnow())
        flash(_("感谢您的评价。"), "success")
    except DomainError as exc:
        if exc.http_status in (403, 404):
            raise
        flash(exc.page_message(), "error")
    return redirect(url_for("cases.detail", case_id=case_id) + "#rating", code=303)


__all__ = ["bp", "StatsFilters"]

"""Org pages: the org browser, a person's page with their leader chain, the HR sync page."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import Length, Optional

from ..auth import current_roles
from ..auth.actions import can_log_out_everywhere
from ..auth.queries import get_live_tokens
from ..clock import utcnow
from ..errors import DomainError, NotFound
from ..extensions import db
from ..inputs import int_arg, is_db_id
from .actions import check_can_sync, check_can_view_sync, do_apply_run, do_set_default_deputy, do_sync
from .models import Agency, Department, Person, SyncRun
from .queries import (get_agencies_tree, get_hr_scope, get_leader_chain, get_person_by_uid, get_role_holdings,
                      get_sync_runs, plan_for_agencies, run_counts)

bp = Blueprint("org", __name__, url_prefix="/org")


class SyncForm(FlaskForm):
    full = BooleanField(_l("完整同步（忽略增量游标）"))
    force = BooleanField(_l("强制执行（越过安全检查）"))


class ApplyForm(FlaskForm):
    run_id = HiddenField()
    force = BooleanField(_l("强制执行（越过安全检查）"))


class DeputyForm(FlaskForm):
    deputy = StringField(_l("默认代理人用户名"), validators=[Optional(), Length(max=100)])


@bp.get("/")
@login_required
def browser():
    agency_id = int_arg("agency")
    department_id = int_arg("department")
    tree = get_agencies_tree()
    agency = db.session.get(Agency, agency_id) if agency_id else None
    department = db.session.get(Department, department_id) if department_id else None
    if department is not None:
        agency = department.agency
    people: list[Person] = []
    if agency is not None:
        stmt = select(Person).where(Person.active.is_(True), Person.agency_id == agency.id)
        if department is not None:
            stmt = stmt.where(Person.department_id == department.id)
        people = list(db.session.execute(stmt.order_by(Person.department_id, Person.name)).scalars())
    return render_template("org/browser.html", tree=tree, agency=agency, department=department, people=people)


@bp.route("/people/<uid>", methods=["GET", "POST"])
@login_required
def person(uid: str):
    target = get_person_by_uid(uid)
    form = DeputyForm(prefix="deputy")
    if form.validate_on_submit():
        deputy = get_person_by_uid(form.deputy.data.strip()) if form.deputy.data and form.deputy.data.strip() else None
        do_set_default_deputy(target, deputy, acting_user=current_user._get_current_object(),
                              roles=current_roles(), now=utcnow())
        flash(_("已更新默认代理人。"), "success")
        return redirect(url_for("org.person", uid=uid))
    me = current_user._get_current_object()
    tokens = get_live_tokens(target, now=utcnow()) if target.id == me.id else []
    return render_template("org/person.html", person=target, chain=get_leader_chain(target),
                           holdings=get_role_holdings(target), form=form, tokens=tokens, is_me=target.id == me.id,
                           can_log_out_everywhere=can_log_out_everywhere(me, target, current_roles()))


@bp.route("/sync", methods=["GET", "POST"])
@login_required
def sync():
    acting_user = current_user._get_current_object()
    scope = get_hr_scope(acting_user, current_roles())
    check_can_view_sync(acting_user, scope)
    form = SyncForm(prefix="preview")
    apply_form = ApplyForm(prefix="apply")
    if request.method == "POST":
        check_can_sync(acting_user, scope)
        try:
            if "apply-run_id" in request.form and apply_form.validate_on_submit():
                run_id = int(apply_form.run_id.data) if is_db_id(apply_form.run_id.data) else -1
                run = do_apply_run(run_id, acting_user=acting_user, config=current_app.config, now=utcnow(),
                                   force=apply_form.force.data)
                flash(_("同步已执行：%(counts)s", counts=_summary(run.counts)), "success")
                return redirect(url_for("org.sync_run", run_id=run.id))
            if form.validate_on_submit():
                run = do_sync(acting_user=acting_user, config=current_app.config, now=utcnow(), source="ldap",
                              dry_run=True, full=form.full.data, force=form.force.data)
                return redirect(url_for("org.sync_run", run_id=run.id))
        except DomainError as exc:
            flash(str(exc.message), "error")
            run_id = exc.details.get("run_id") if exc.details else None
            if run_id:
                return redirect(url_for("org.sync_run", run_id=run_id))
            return redirect(url_for("org.sync"))
    runs, total = get_sync_runs(30)
    return render_template("org/sync.html", form=form, runs=runs, total=total, scope=scope,
                           counts={run.id: run_counts(run, scope) for run in runs},
                           configured=bool(current_app.config.get("LDAP_URI")))


@bp.get("/sync/runs/<int:run_id>")
@login_required
def sync_run(run_id: int):
    acting_user = current_user._get_current_object()
    scope = get_hr_scope(acting_user, current_roles())
    check_can_view_sync(acting_user, scope)
    run = db.session.get(SyncRun, run_id)
    if run is None:
        raise NotFound()
    latest_planned = db.session.execute(
        select(SyncRun.id).where(SyncRun.dry_run.is_(True)).order_by(SyncRun.id.desc()).limit(1)).scalar()
    apply_form = ApplyForm(prefix="apply", run_id=str(run.id))
    can_apply = (scope.district and run.dry_run and run.status == "planned" and run.id == latest_planned
                 and run.source.startswith("ldap:"))
    plan = run.plan if scope.district else plan_for_agencies(run.plan or {}, scope.agency_external_ids)
    return render_template("org/sync_run.html", run=run, plan=plan, scope=scope, apply_form=apply_form,
                           can_apply=can_apply, errors=run.errors if scope.district else [])


def _summary(counts: dict) -> str:
    return "，".join(f"{k} {v}" for k, v in counts.items()) or _("无变化")

"""Reads of the catalog and the route preview (一次性告知)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..calendar.queries import get_calendar
from ..calendar.working_days import CalendarError, WorkCalendar
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..inputs import is_db_id
from ..org.models import Agency, Person, SyncRun
from ..routing.errors import ConditionEvaluationError, UnknownPersonError
from ..routing.resolver import resolve_route
from .models import MatterType, MatterVersion
from .schema import FormContext, FormErrors, MatterDefinition, compute_facts, parse_matter, validate_form

__all__ = ["LoadedMatter", "definition_of", "get_matter", "list_matters", "list_matters_by_category",
           "get_org_view", "check_form",
           "resolve_plan", "preview_route", "matter_to_json"]


@dataclass(frozen=True)
class LoadedMatter:
    type: MatterType
    version: MatterVersion
    definition: MatterDefinition


_definitions: dict[str, MatterDefinition] = {}


def definition_of(version: MatterVersion) -> MatterDefinition:
    """The parsed definition of one stored matter version (cached by digest: versions never change)."""
    cached = _definitions.get(version.digest)
    if cached is None:
        cached = parse_matter(version.definition, source=version.source)
        _definitions[version.digest] = cached
    return cached


def get_matter(code: Any) -> LoadedMatter:
    """The active matter type ``code`` at its current version. Raises :class:`NotFound`."""
    if not isinstance(code, str) or len(code) > 50:
        raise NotFound(_("没有这个事项。"), code="unknown_matter")
    matter = db.session.execute(select(MatterType).where(MatterType.code == code, MatterType.active.is_(True))
                                ).scalar_one_or_none()
    if matter is None or matter.current_version is None:
        raise NotFound(_("没有这个事项。"), code="unknown_matter")
    return LoadedMatter(matter, matter.current_version, definition_of(matter.current_version))


def list_matters() -> list[LoadedMatter]:
    rows = db.session.execute(select(MatterType).where(MatterType.active.is_(True),
                                                       MatterType.current_version_id.is_not(None))
                              .order_by(MatterType.category, MatterType.id)).scalars().all()
    return [LoadedMatter(m, m.current_version, definition_of(m.current_version)) for m in rows]


def list_matters_by_category() -> list[tuple[str, list[LoadedMatter]]]:
    """The active matters grouped by category, in catalog order."""
    grouped: dict[str, list[LoadedMatter]] = {}
    for loaded in list_matters():
        grouped.setdefault(loaded.definition.category, []).append(loaded)
    return list(grouped.items())


_view_lock = threading.Lock()
_view_cache: dict[str, Any] = {}


def get_org_view(system_admins: tuple[str, ...] = ()):
    """The routing org view, rebuilt only when a sync or an HR edit changed the org."""
    from ..org.queries import build_org_view

    key = (str(db.engine.url), db.session.execute(select(func.max(SyncRun.id)).where(SyncRun.status == "applied")).scalar(),
           db.session.execute(select(func.max(Person.updated_at), func.count(Person.id))).one(), system_admins)
    with _view_lock:
        if _view_cache.get("key") == key:
            return _view_cache["view"]
    view = build_org_view(system_admins)
    with _view_lock:
        _view_cache.update(key=key, view=view)
    return view


def _form_context() -> FormContext:
    def person_exists(uid: str) -> bool:
        return db.session.execute(select(Person.id).where(Person.uid == uid, Person.active.is_(True))).first() is not None

    def agency_exists(ident: str) -> bool:
        stmt = select(Agency.id).where(Agency.active.is_(True))
        stmt = stmt.where(Agency.id == int(ident)) if is_db_id(ident) else stmt.where(Agency.name == ident)
        return db.session.execute(stmt).first() is not None

    return FormContext(person_exists=person_exists, agency_exists=agency_exists)


def check_form(matter: MatterDefinition, form: Any) -> dict[str, Any]:
    """The cleaned form. Raises :class:`ValidationError` (422) with a message per field."""
    try:
        return validate_form(matter, form, _form_context())
    except FormErrors as exc:
        # fixed messages (schema's N_) have a translation; the others are returned as they are
        fields = {key: _(message) for key, message in exc.errors.items()}
        raise ValidationError(_("表单填写有误，请按提示修改。"), code="invalid_form", fields=fields) from None


def _person_brief(view, uid: str) -> dict[str, Any]:
    person = view.people.get(uid)
    if person is None:
        return {"uid": uid, "name": uid, "title": None, "agency": None}
    agency = view.agencies.get(person.agency_id)
    return {"uid": uid, "name": person.name, "title": person.title, "agency": agency.name if agency else None}


def resolve_plan(definition: MatterDefinition, form: Mapping[str, Any], applicant_uid: str, *,
                 system_admins: tuple[str, ...] = (), calendar: WorkCalendar | None = None):
    """Resolve ``definition``'s route for ``applicant_uid`` on the (cleaned) ``form``: the plan, the
    facts it was decided on and the org view it read. The one place the resolver's errors become
    the platform's: :class:`ValidationError` (a date the calendar cannot place, a condition the
    form cannot answer) and :class:`NotFound` (the applicant is not in the org chart)."""
    try:
        facts = compute_facts(definition, form, calendar if calendar is not None else get_calendar())
    except CalendarError as exc:
        raise ValidationError(str(exc), code="invalid_form") from None
    view = get_org_view(system_admins)
    try:
        plan = resolve_route(definition.route, view, applicant_uid, facts)
    except UnknownPersonError:
        raise NotFound() from None
    except ConditionEvaluationError as exc:
        raise ValidationError(_("表单内容无法用于判断审批路线：%(why)s", why=exc.message), code="invalid_form") from None
    return plan, facts, view


def preview_route(code: Any, form: Any, *, viewer: Person, roles: set[str], applicant_uid: Any = None,
                  system_admins: tuple[str, ...] = ()) -> dict[str, Any]:
    """The concrete steps ``applicant``'s case of this matter would take (DESIGN §10).

    Anyone previews for themselves; HR of the applicant's agency and administrators for anyone.
    Raises :class:`NotFound`, :class:`PermissionDenied`, :class:`ValidationError`.
    """
    loaded = get_matter(code)
    if applicant_uid is None or applicant_uid == viewer.uid:
        applicant = viewer
    else:
        if not isinstance(applicant_uid, str):
            raise ValidationError(fields={"applicant": _("必须是用户名（uid）。")})
        from ..org.queries import get_person_by_uid, hr_agency_ids

        applicant = get_person_by_uid(applicant_uid, active_only=True)
        if "admin" not in roles and applicant.agency_id not in hr_agency_ids(viewer):
            raise PermissionDenied(_("只能为本单位人员预览审批路线。"))
    definition = loaded.definition
    cleaned = check_form(definition, form if form is not None else {})
    calendar = get_calendar()
    plan, facts, view = resolve_plan(definition, cleaned, applicant.uid, system_admins=system_admins,
                                     calendar=calendar)
    preview = plan.as_preview()
    people: dict[str, dict[str, Any]] = {}

    def note(uids):
        for uid in uids:
            people.setdefault(uid, _person_brief(view, uid))

    for step in preview["steps"]:
        note(step["approvers"])
        note(s["uid"] for s in step["skipped"])
        note(step["error_assignees"])
        for branch in step["branches"]:
            note(branch["approvers"])
            note(s["uid"] for s in branch["skipped"])
            note(branch["error_assignees"])
    estimated = []
    for spec in definition.fields:
        if spec.type == "date_range" and spec.start in cleaned:
            from datetime import date

            estimated += calendar.estimated_years(date.fromisoformat(cleaned[spec.start]),
                                                  date.fromisoformat(cleaned[spec.end]))
    preview.update(matter_type=definition.code, version=loaded.version.version, people=people,
                   facts={k: str(v) for k, v in facts.items() if k in {f.name for f in definition.facts}},
                   calendar_estimated_years=sorted(set(estimated)), form=cleaned)
    return preview


def matter_to_json(loaded: LoadedMatter) -> dict[str, Any]:
    d = loaded.definition

    def field_json(f):
        out = {"code": f.code, "label": f.label, "type": f.type, "required": f.required, "help": f.help}
        if f.options:
            out["options"] = [{"value": o.value, "label": o.label} for o in f.options]
        if f.type == "date_range":
            out["keys"] = {"start": f.start, "end": f.end, "start_half": f.start_half, "end_half": f.end_half}
            out["halves"] = f.halves
        for attr in ("min", "max"):
            if getattr(f, attr) is not None:
                out[attr] = str(getattr(f, attr))
        if f.max_length:
            out["max_length"] = f.max_length
        if f.type == "regions":
            out["format"] = "ISO 3166-1 alpha-2"
            out["example"] = ["JP"]
        return out

    return {
        "code": d.code, "name": d.name, "category": d.category, "basis": d.basis, "owner_role": d.owner_role,
        "description": d.description, "applicants": d.applicants, "version": loaded.version.version,
        "time_limit": str(d.time_limit), "fields": [field_json(f) for f in d.fields],
        "materials": [{"code": m.code, "name": m.name, "required": m.required, "deferrable": m.deferrable,
                       "supply_days": m.supply_days, "accept": list(m.accept), "help": m.help} for m in d.materials],
        "obligations": [{"code": o.code, "name": o.name, "days": o.days, "from": o.from_field} for o in d.obligations],
    }

"""Matter definitions (事项) as data: parsing catalog YAML and validating submitted forms.

Pure: plain data in, frozen dataclasses out. A broken catalog file names the file, the path
inside it and what is wrong; a bad form gives one Chinese message per field. The same field
specs drive the HTML form.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..routing.dsl import ROLE_CODES, Route, parse_route
from ..routing.errors import Problem, RouteDefinitionError
from .regions import is_region

__all__ = [
    "FIELD_TYPES", "MATERIAL_KINDS", "FieldSpec", "MaterialSpec", "ObligationSpec", "MatterDefinition",
    "CatalogError", "FormErrors", "parse_matter", "validate_form", "FormContext", "compute_facts",
    "REGION_CODES_HINT", "SEAL_CODES",
]

FIELD_TYPES = ("text", "textarea", "integer", "decimal", "date", "datetime", "date_range", "select",
               "multi_select", "person", "agency", "regions", "boolean", "material", "org_units")
MATERIAL_KINDS = ("pdf", "image", "office", "ofd")
HALVES = ("am", "pm")
FACT_KINDS = ("working_days", "calendar_days")
MAX_TEXT = 2000
SEAL_CODES = ("agency_seal", "organisation_seal")
"""What a matter's ``seals`` may name, in the order they are applied to its record (the first
certifies): ``agency_seal`` the case's agency's 审批专用章, ``organisation_seal`` the 审批专用章 of
the organisation department (区委组织部, the district HR agency). ``seals: []`` (or none) still
seals the record with the agency's: every finished case becomes a sealed PDF."""
MAX_TEXTAREA = 20000


def N_(text: str) -> str:
    """Mark a fixed message for the catalog; the service layer translates it for the reader."""
    return text


# what a ``regions`` field takes (ISO 3166-1 alpha-2); shown for a name such as 日本
REGION_CODES_HINT = N_("请使用国家或地区代码，如 JP。")


class CatalogError(Exception):
    """A catalog file is malformed; ``problems`` lists every finding with its path."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))


class FormErrors(Exception):
    """A submitted form is invalid; ``errors`` maps field codes to Chinese messages."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class FieldSpec:
    """One form field. A ``date_range`` writes four keys: ``start``, ``end`` and, with
    ``halves``, ``start_half`` / ``end_half`` (``am`` | ``pm``)."""

    code: str
    label: str
    type: str
    required: bool = False
    help: str = ""
    options: tuple[Option, ...] = ()
    min: Decimal | None = None
    max: Decimal | None = None
    max_length: int | None = None
    start: str | None = None
    end: str | None = None
    start_half: str | None = None
    end_half: str | None = None
    halves: bool = False
    default: Any = None

    def keys(self) -> tuple[str, ...]:
        """The form keys this field writes."""
        if self.type == "date_range":
            keys = [self.start, self.end]
            if self.halves:
                keys += [self.start_half, self.end_half]
            return tuple(k for k in keys if k)
        return (self.code,)

    def option_label(self, value: str) -> str:
        return next((o.label for o in self.options if o.value == value), value)


@dataclass(frozen=True)
class MaterialSpec:
    """A material (附件材料). ``deferrable`` ones (容缺受理) may be supplied later, within
    ``supply_days`` working days, on the applicant's written commitment."""

    code: str
    name: str
    required: bool = True
    deferrable: bool = False
    supply_days: int | None = None
    accept: tuple[str, ...] = MATERIAL_KINDS
    help: str = ""

    @property
    def kind_label(self) -> str:
        if self.deferrable:
            return "容缺（可后补）"
        return "必需" if self.required else "可选"


@dataclass(frozen=True)
class ObligationSpec:
    """A duty of the applicant after approval (e.g. 证照归还): due ``days`` working days after
    the date in form field ``from_field``."""

    code: str
    name: str
    days: int
    from_field: str


@dataclass(frozen=True)
class FactSpec:
    name: str
    kind: str
    source: str


@dataclass(frozen=True)
class MatterDefinition:
    code: str
    name: str
    category: str
    basis: str
    owner_role: str
    time_limit: Decimal
    fields: tuple[FieldSpec, ...]
    materials: tuple[MaterialSpec, ...]
    route: Route
    route_data: Any
    description: str = ""
    facts: tuple[FactSpec, ...] = ()
    obligations: tuple[ObligationSpec, ...] = ()
    seals: tuple[str, ...] = ()
    """Codes of :data:`SEAL_CODES`, in order; empty means ``("agency_seal",)`` (see :attr:`record_seals`)."""
    resubmit: str = "return_to_step"
    applicants: str = ""
    remind_before_hours: Decimal = Decimal(4)
    """Working hours before a step's, task's or deferred material's due time when its holder is reminded."""

    @property
    def record_seals(self) -> tuple[str, ...]:
        """The seals the record of a finished case takes, in order: those declared, else the
        agency's own (every finished case becomes a sealed PDF)."""
        return self.seals or ("agency_seal",)

    def field(self, code: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.code == code), None)

    def form_keys(self) -> set[str]:
        return {k for f in self.fields if f.type != "material" for k in f.keys()}


_CODE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_MATTER_KEYS = {"code", "name", "category", "basis", "owner_role", "time_limit", "fields", "materials",
                "route", "description", "facts", "obligations", "seals", "resubmit", "applicants",
                "remind_before_hours"}
_FIELD_KEYS = {"code", "label", "type", "required", "help", "options", "min", "max", "max_length",
               "start", "end", "start_half", "end_half", "halves", "default"}
_MATERIAL_KEYS = {"code", "name", "required", "deferrable", "supply_days", "accept", "help"}


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, data: Any, path: str, allowed: set[str], required: tuple[str, ...]) -> Mapping[str, Any] | None:
        if not isinstance(data, Mapping):
            self.problem(path, "expected a mapping")
            return None
        for key in data:
            if key not in allowed:
                self.problem(f"{path}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in data:
                self.problem(f"{path}.{key}", "required")
        return data

    def text(self, data: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            if key in data or default is None:
                self.problem(f"{path}.{key}", "expected text")
            return default or ""
        return value

    def code(self, data: Mapping[str, Any], key: str, path: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not _CODE.match(value):
            self.problem(f"{path}.{key}", "expected a code: lower-case letters, digits and _")
            return ""
        return value

    def number(self, value: Any, path: str, *, integer: bool = False) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.problem(path, "expected a number")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.problem(path, "expected a number")
            return None
        if integer and number != number.to_integral_value():
            self.problem(path, "expected a whole number")
        return number

    def boolean(self, data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{key}", "expected true or false")
            return default
        return value


def _parse_list(reader: _Reader, spec: Mapping[str, Any], key: str, parse, *, required: bool = False) -> list:
    """``spec[key]`` as a list, each item through ``parse(reader, item, path)``; items it refuses
    (``None``) are left out, their problems recorded."""
    raw = spec.get(key) if required else (spec.get(key) or [])
    if not isinstance(raw, list) or (required and not raw):
        reader.problem(f".{key}", f"expected a {'non-empty ' if required else ''}list")
        return []
    return [parsed for i, item in enumerate(raw) if (parsed := parse(reader, item, f"{key}[{i}]")) is not None]


def _parse_field(reader: _Reader, data: Any, path: str) -> FieldSpec | None:
    spec = reader.mapping(data, path, _FIELD_KEYS, ("code", "label", "type"))
    if spec is None:
        return None
    code = reader.code(spec, "code", path)
    label = reader.text(spec, "label", path)
    kind = spec.get("type")
    if kind not in FIELD_TYPES:
        reader.problem(f"{path}.type", f"unknown field type {kind!r} (known: {', '.join(FIELD_TYPES)})")
        return None
    options: list[Option] = []
    if kind in ("select", "multi_select"):
        raw = spec.get("options")
        if not isinstance(raw, list) or not raw:
            reader.problem(f"{path}.options", "a select needs a non-empty list of options")
        else:
            for i, item in enumerate(raw):
                if isinstance(item, Mapping) and isinstance(item.get("value"), str) and isinstance(item.get("label"), str):
                    options.append(Option(item["value"], item["label"]))
                else:
                    reader.problem(f"{path}.options[{i}]", "expected {value, label}")
    elif "options" in spec:
        reader.problem(f"{path}.options", "only select and multi_select take options")
    keys: dict[str, str | None] = {}
    if kind == "date_range":
        for key in ("start", "end") + (("start_half", "end_half") if spec.get("halves") else ()):
            value = spec.get(key)
            if not isinstance(value, str) or not _CODE.match(value):
                reader.problem(f"{path}.{key}", "a date_range names the form key it writes here")
            keys[key] = value if isinstance(value, str) else None
    max_length = spec.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1):
        reader.problem(f"{path}.max_length", "expected a positive whole number")
        max_length = None
    return FieldSpec(
        code=code, label=label, type=kind, required=reader.boolean(spec, "required", path, False),
        help=reader.text(spec, "help", path, ""), options=tuple(options),
        min=reader.number(spec.get("min"), f"{path}.min"), max=reader.number(spec.get("max"), f"{path}.max"),
        max_length=max_length, halves=reader.boolean(spec, "halves", path, False),
        default=spec.get("default"), **keys,
    )


def _parse_material(reader: _Reader, data: Any, path: str) -> MaterialSpec | None:
    spec = reader.mapping(data, path, _MATERIAL_KEYS, ("code", "name"))
    if spec is None:
        return None
    deferrable = reader.boolean(spec, "deferrable", path, False)
    supply_days = spec.get("supply_days")
    if deferrable and (not isinstance(supply_days, int) or isinstance(supply_days, bool) or supply_days < 1):
        reader.problem(f"{path}.supply_days", "a deferrable material needs supply_days (working days)")
    accept = spec.get("accept", list(MATERIAL_KINDS))
    if not isinstance(accept, list) or not accept or any(a not in MATERIAL_KINDS for a in accept):
        reader.problem(f"{path}.accept", f"expected a list of {', '.join(MATERIAL_KINDS)}")
        accept = list(MATERIAL_KINDS)
    return MaterialSpec(code=reader.code(spec, "code", path), name=reader.text(spec, "name", path),
                        required=reader.boolean(spec, "required", path, True), deferrable=deferrable,
                        supply_days=supply_days if deferrable else None, accept=tuple(accept),
                        help=reader.text(spec, "help", path, ""))


def parse_matter(data: Any, *, source: str = "<catalog>") -> MatterDefinition:
    """A matter definition from catalog data. Raises :class:`CatalogError` listing every problem."""
    reader = _Reader()
    spec = reader.mapping(data, "", _MATTER_KEYS, ("code", "name", "category", "basis", "owner_role",
                                                   "time_limit", "fields", "route"))
    if spec is None:
        raise CatalogError(source, reader.problems)
    code = reader.code(spec, "code", "")
    owner_role = spec.get("owner_role")
    if owner_role not in ROLE_CODES:
        reader.problem(".owner_role", f"unknown role code {owner_role!r}")
    time_limit = reader.number(spec.get("time_limit"), ".time_limit")
    if time_limit is not None and time_limit <= 0:
        reader.problem(".time_limit", "must be a positive number of working days")
    fields = _parse_list(reader, spec, "fields", _parse_field, required=True)
    seen: set[str] = set()
    for i, f in enumerate(fields):
        for key in f.keys():
            if key in seen:
                reader.problem(f"fields[{i}]", f"form key {key!r} is written by two fields")
            seen.add(key)
    materials = _parse_list(reader, spec, "materials", _parse_material)
    facts: list[FactSpec] = []
    raw_facts = spec.get("facts", {})
    if not isinstance(raw_facts, Mapping):
        reader.problem(".facts", "expected a mapping of fact name to {kind: field}")
    else:
        for name, item in raw_facts.items():
            if not isinstance(item, Mapping) or len(item) != 1:
                reader.problem(f"facts.{name}", f"expected one of {', '.join(FACT_KINDS)}: <date_range field>")
                continue
            kind, source_field = next(iter(item.items()))
            target = next((f for f in fields if f.code == source_field), None)
            if kind not in FACT_KINDS or target is None or target.type != "date_range":
                reader.problem(f"facts.{name}", f"{kind}: must name a date_range field")
                continue
            facts.append(FactSpec(str(name), kind, source_field))
    def parse_obligation(reader: _Reader, item: Any, path: str) -> ObligationSpec | None:
        ob = reader.mapping(item, path, {"code", "name", "days", "from_field"}, ("code", "name", "days", "from_field"))
        if ob is None:
            return None
        if ob.get("from_field") not in seen:
            reader.problem(f"{path}.from_field", "must name a date key of the form")
        days = ob.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            reader.problem(f"{path}.days", "expected a positive whole number of working days")
            days = 1
        return ObligationSpec(reader.code(ob, "code", path), reader.text(ob, "name", path), days,
                              str(ob.get("from_field")))

    obligations = _parse_list(reader, spec, "obligations", parse_obligation)
    seals = spec.get("seals", [])
    if not isinstance(seals, list) or any(not isinstance(s, str) for s in seals):
        reader.problem(".seals", "expected a list of seal codes")
        seals = []
    for index, seal in enumerate(seals):
        if seal not in SEAL_CODES:
            reader.problem(f"seals[{index}]", f"unknown seal code {seal!r}; expected one of {', '.join(SEAL_CODES)}")
        elif seal in seals[:index]:
            reader.problem(f"seals[{index}]", f"seal {seal!r} is listed twice")
    resubmit = spec.get("resubmit", "return_to_step")
    if resubmit not in ("return_to_step", "restart"):
        reader.problem(".resubmit", "expected return_to_step or restart")
    remind_before_hours = Decimal(4)
    if spec.get("remind_before_hours") is not None:
        lead = reader.number(spec.get("remind_before_hours"), ".remind_before_hours")
        if lead is not None and not 0 < lead <= 80:
            reader.problem(".remind_before_hours", "a number of working hours above 0 and at most 80")
        elif lead is not None:
            remind_before_hours = lead
    route: Route | None = None
    try:
        route = parse_route(spec.get("route"), path="route")
    except RouteDefinitionError as exc:
        reader.problems.extend(exc.problems)
    if reader.problems or route is None:
        raise CatalogError(source, reader.problems)
    return MatterDefinition(
        code=code, name=reader.text(spec, "name", ""), category=reader.text(spec, "category", ""),
        basis=reader.text(spec, "basis", ""), owner_role=owner_role, time_limit=time_limit or Decimal(1),
        fields=tuple(fields), materials=tuple(materials), route=route, route_data=spec.get("route"),
        description=reader.text(spec, "description", ""), facts=tuple(facts), obligations=tuple(obligations),
        seals=tuple(seals), resubmit=resubmit, applicants=reader.text(spec, "applicants", ""),
        remind_before_hours=remind_before_hours,
    )


@dataclass(frozen=True)
class FormContext:
    """What validation may look up: whether a uid is an active person, an agency id exists."""

    person_exists: Callable[[str], bool] = lambda uid: False
    agency_exists: Callable[[str], bool] = lambda ident: False
    today: _dt.date | None = None


def _required_message(spec: FieldSpec) -> str:
    return f"请填写“{spec.label}”。" if spec.type not in ("select", "multi_select", "person", "agency", "regions", "org_units") \
        else f"请选择“{spec.label}”。"


def _parse_date(value: Any) -> _dt.date | None:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def validate_form(matter: MatterDefinition, data: Any, context: FormContext = FormContext()) -> dict[str, Any]:
    """The cleaned form (JSON-ready: dates as ISO text, decimals as text).

    Raises :class:`FormErrors` with one Chinese message per offending key, including keys the
    matter does not know (外来字段).
    """
    if not isinstance(data, Mapping):
        raise FormErrors({"form": "表单必须是对象。"})
    errors: dict[str, str] = {}
    known = matter.form_keys()
    for key in data:
        if key not in known:
            errors[str(key)[:100]] = "该事项没有此字段。"
    cleaned: dict[str, Any] = {}
    for spec in matter.fields:
        if spec.type == "material":
            continue
        if spec.type == "date_range":
            _validate_range(spec, data, cleaned, errors)
            continue
        value = data.get(spec.code)
        if _empty(value):
            if spec.type == "boolean" and value is None:
                cleaned[spec.code] = bool(spec.default) if spec.default is not None else False
                if spec.required:
                    errors[spec.code] = _required_message(spec)
            elif spec.required:
                errors[spec.code] = _required_message(spec)
            continue
        try:
            cleaned[spec.code] = _clean_value(spec, value, context)
        except ValueError as exc:
            errors[spec.code] = str(exc)
    if errors:
        raise FormErrors(errors)
    return cleaned


def _clean_value(spec: FieldSpec, value: Any, context: FormContext) -> Any:
    kind = spec.type
    if kind in ("text", "textarea"):
        if not isinstance(value, str):
            raise ValueError(f"“{spec.label}”必须是文字。")
        limit = spec.max_length or (MAX_TEXT if kind == "text" else MAX_TEXTAREA)
        if len(value) > limit:
            raise ValueError(f"“{spec.label}”不能超过 {limit} 个字。")
        return value.strip()
    if kind in ("integer", "decimal"):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"“{spec.label}”必须是数字。")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"“{spec.label}”必须是数字。") from None
        if not number.is_finite():
            raise ValueError(f"“{spec.label}”必须是数字。")
        if kind == "integer" and number != number.to_integral_value():
            raise ValueError(f"“{spec.label}”必须是整数。")
        if spec.min is not None and number < spec.min:
            raise ValueError(f"“{spec.label}”不能小于 {spec.min}。")
        if spec.max is not None and number > spec.max:
            raise ValueError(f"“{spec.label}”不能大于 {spec.max}。")
        return int(number) if kind == "integer" else str(number.normalize() if number == number.to_integral_value() else number)
    if kind == "date":
        parsed = _parse_date(value)
        if parsed is None:
            raise ValueError(f"“{spec.label}”必须是日期（YYYY-MM-DD）。")
        return parsed.isoformat()
    if kind == "datetime":
        if not isinstance(value, str):
            raise ValueError(f"“{spec.label}”必须是日期时间。")
        try:
            return _dt.datetime.fromisoformat(value).replace(tzinfo=None).isoformat(timespec="minutes")
        except ValueError:
            raise ValueError(f"“{spec.label}”必须是日期时间（YYYY-MM-DDTHH:MM）。") from None
    if kind == "select":
        if not isinstance(value, str) or value not in {o.value for o in spec.options}:
            raise ValueError(f"“{spec.label}”的选项无效。")
        return value
    if kind == "multi_select":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"“{spec.label}”必须是选项列表。")
        allowed = {o.value for o in spec.options}
        if any(v not in allowed for v in value):
            raise ValueError(f"“{spec.label}”包含无效选项。")
        return sorted(set(value), key=[o.value for o in spec.options].index)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("on", "true", "1", "yes"):
            return True
        if value in ("off", "false", "0", "no"):
            return False
        raise ValueError(f"“{spec.label}”必须是“是”或“否”。")
    if kind == "person":
        if not isinstance(value, str) or len(value) > 100 or not context.person_exists(value):
            raise ValueError(f"“{spec.label}”不是在岗人员。")
        return value
    if kind == "agency":
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not context.agency_exists(str(value)):
            raise ValueError(f"“{spec.label}”不是已知单位。")
        return str(value)
    if kind == "org_units":
        if not isinstance(value, list) or len(value) > 30 or not all(
                isinstance(v, str) and re.fullmatch(r"(department|agency):\d{1,12}|person:[\w.@-]{1,100}", v) for v in value):
            raise ValueError(f"“{spec.label}”必须是科室或单位列表（department:编号、agency:编号或 person:用户名，至多 30 个）。")
        return list(dict.fromkeys(value))
    if kind == "regions":
        values = value if isinstance(value, list) else [value]
        codes = [v.strip().upper() if isinstance(v, str) else v for v in values]
        if not codes or not all(is_region(c) for c in codes):
            raise ValueError(REGION_CODES_HINT)
        return sorted(set(codes))
    raise ValueError(f"“{spec.label}”无法识别。")


def _validate_range(spec: FieldSpec, data: Mapping[str, Any], cleaned: dict[str, Any], errors: dict[str, str]) -> None:
    start_raw, end_raw = data.get(spec.start), data.get(spec.end)
    if _empty(start_raw) and _empty(end_raw):
        if spec.required:
            errors[spec.start] = f"请填写“{spec.label}”的开始日期。"
            errors[spec.end] = f"请填写“{spec.label}”的结束日期。"
        return
    start, end = _parse_date(start_raw), _parse_date(end_raw)
    if start is None:
        errors[spec.start] = "开始日期必须是日期（YYYY-MM-DD）。"
    if end is None:
        errors[spec.end] = "结束日期必须是日期（YYYY-MM-DD）。"
    halves: dict[str, str | None] = {}
    if spec.halves:
        for key in (spec.start_half, spec.end_half):
            raw = data.get(key)
            if _empty(raw):
                halves[key] = None
            elif raw not in HALVES:
                errors[key] = "半天只能是上午（am）或下午（pm）。"
            else:
                halves[key] = raw
    if start is None or end is None:
        return
    if end < start:
        errors[spec.end] = "结束日期不能早于开始日期。"
        return
    if (end - start).days > 366:
        errors[spec.end] = "时间跨度不能超过一年。"
        return
    if spec.halves and start == end and halves.get(spec.start_half) == "pm" and halves.get(spec.end_half) == "am":
        errors[spec.end_half] = "同一天不能下午开始、上午结束。"
        return
    cleaned[spec.start] = start.isoformat()
    cleaned[spec.end] = end.isoformat()
    if spec.halves:
        for key, value in halves.items():
            if value is not None:
                cleaned[key] = value


def compute_facts(matter: MatterDefinition, form: Mapping[str, Any], calendar: Any) -> dict[str, Any]:
    """Facts for route conditions: the form's values (dates as dates, decimals as Decimal) and
    the matter's computed facts (working days of a range, via ``calendar``)."""
    facts: dict[str, Any] = {}
    for spec in matter.fields:
        for key in spec.keys():
            if key not in form:
                continue
            value = form[key]
            if spec.type in ("date",) or (spec.type == "date_range" and key in (spec.start, spec.end)):
                value = _dt.date.fromisoformat(value)
            elif spec.type == "decimal":
                value = Decimal(value)
            facts[key] = value
    for fact in matter.facts:
        spec = matter.field(fact.source)
        if spec is None or spec.start not in form or spec.end not in form:
            continue
        start, end = _dt.date.fromisoformat(form[spec.start]), _dt.date.fromisoformat(form[spec.end])
        if fact.kind == "working_days":
            facts[fact.name] = calendar.working_days_between(start, end, form.get(spec.start_half),
                                                             form.get(spec.end_half))
        else:
            facts[fact.name] = (end - start).days + 1
    return facts

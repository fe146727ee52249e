"""The gate every piece of incoming text passes before anything reads it.

One place for the whole application, not one per endpoint: :func:`clean_json` for JSON bodies
(``api.json_body`` calls it), and the ``before_request`` hook :func:`init_app` installs for query
arguments, path arguments, form fields and uploaded file names.

- A lone surrogate (JSON's ``"\\ud800"``, which Python's parser accepts) or NUL is refused with a
  422 ``invalid_text`` naming the field: such text cannot be stored (PostgreSQL refuses NUL, no
  encoder takes a surrogate) nor sent back, so it must never reach an action.
- Bidirectional controls (U+202E and friends) are removed: they can make a name or a file name
  read backwards (``gpj.exe`` shown as ``exe.jpg``). Passwords are checked but never altered.
- JSON nested deeper than :data:`MAX_JSON_DEPTH`, integers a database column cannot hold and the
  non-numbers ``NaN``/``Infinity`` are refused (400/422), never a 500.

Text already stored (names from the directory, data written before this gate) is shown harmlessly:
the Jinja ``finalize`` hook installed here passes every ``{{ … }}`` output through :func:`shown`,
and JSON answers escape what UTF-8 cannot carry instead of failing after the work is done.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest as HTTPBadRequest
from werkzeug.routing import IntegerConverter

from .errors import BadRequest, InvalidTextError, ValidationError

__all__ = [
    "BIDI_CONTROLS", "MAX_INT", "MAX_JSON_DEPTH", "MAX_PAGE", "clean_json", "clean_text", "strip_bidi",
    "is_db_id", "valid_id", "MAX_ID", "int_arg", "init_app", "shown",
]

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MAX_JSON_DEPTH = 32
MAX_INT = 2**63 - 1
"""The largest value of a database BIGINT: the bound for every number that reaches a query."""
MAX_ID = 2**31 - 1
"""The largest id an Integer primary key holds (a larger one fails in PostgreSQL's cast, not a miss)."""
MAX_PAGE = 100_000
VERBATIM_FIELDS = frozenset({"password"})

_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
_BIDI_TABLE = {ord(c): None for c in BIDI_CONTROLS}


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional controls (the same type back: a ``Markup`` stays one)."""
    if _BIDI.search(text) is None:
        return text
    return text.__class__(text.translate(_BIDI_TABLE))


def _label(path: str) -> str:
    """A field path that can be shown and sent back whatever it contains."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")[:100] or "body"


def clean_text(text: str, field: str, *, verbatim: bool = False) -> str:
    """``text`` checked and cleaned. Raises :class:`InvalidTextError` (422) naming ``field`` for a
    lone surrogate or NUL; removes bidirectional controls unless ``verbatim``."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _invalid(field, _("含有无效的 Unicode 字符（孤立的代理项）。")) from None
        if not verbatim:
            text = strip_bidi(text)
    if "\x00" in text:
        raise _invalid(field, _("含有不允许的空字符（NUL）。"))
    return text


def _invalid(field: str, why: str) -> InvalidTextError:
    label = _label(field)
    return InvalidTextError(_("“%(field)s”含有无效字符，请删除后重试。", field=label), fields={label: why})


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def clean_json(value: Any, path: str = "", depth: int = 0) -> Any:
    """A parsed JSON value with every key and string checked by :func:`clean_text` (the field
    named by its path, e.g. ``form.reason`` or ``to[0]``). Raises :class:`InvalidTextError`,
    :class:`BadRequest` (``too_deep``) and :class:`ValidationError` (``invalid_number``)."""
    if depth > MAX_JSON_DEPTH:
        raise BadRequest(_("JSON 嵌套层数过多（最多 %(n)s 层）。", n=MAX_JSON_DEPTH), code="too_deep")
    if isinstance(value, str):
        return clean_text(value, path, verbatim=path.rsplit(".", 1)[-1] in VERBATIM_FIELDS)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise ValidationError(fields={_label(path): _("数值超出范围。")}, code="invalid_number")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(fields={_label(path): _("必须是有限的数值。")}, code="invalid_number")
        return value
    if isinstance(value, list):
        return [clean_json(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, dict):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            name = clean_text(key, _join(path, key))
            cleaned[name] = clean_json(item, _join(path, name), depth + 1)
        return cleaned
    return value


def _clean_multidict(data: ImmutableMultiDict, where: str) -> ImmutableMultiDict | None:
    """The cleaned copy of ``data``, or None when nothing changed. Raises :class:`InvalidTextError`."""
    changed = False
    items = []
    for key, value in data.items(multi=True):
        name = clean_text(key, f"{where}.{key}")
        if isinstance(value, str):
            cleaned = clean_text(value, f"{where}.{name}", verbatim=name in VERBATIM_FIELDS)
        else:
            cleaned = value
        changed = changed or name != key or cleaned is not value
        items.append((name, cleaned))
    return ImmutableMultiDict(items) if changed else None


def _check_request() -> None:
    """Every query argument, path argument, form field and uploaded file name of the request,
    checked and cleaned before any view or hook of a blueprint reads it."""
    args = _clean_multidict(request.args, "query")
    if args is not None:
        request.args = args  # werkzeug caches the parsed value on the instance: the view reads this
    if request.view_args:
        for key, value in list(request.view_args.items()):
            if isinstance(value, str):
                request.view_args[key] = clean_text(value, f"path.{key}")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = _clean_multidict(request.form, "form")
        if form is not None:
            request.form = form
        for key, upload in request.files.items(multi=True):
            clean_text(key, f"files.{key}")
            if upload.filename:
                upload.filename = clean_text(upload.filename, f"files.{key}.filename")
    request.__dict__.pop("values", None)  # ``request.values`` combines args and form: rebuilt from the clean ones


def is_db_id(text: str | None) -> bool:
    """True when ``text`` is written in ASCII digits and names a number a database id can be."""
    return bool(text) and text.isascii() and text.isdigit() and len(text) <= 10 and 0 < int(text) <= MAX_ID


def valid_id(value: Any) -> bool:
    """True when ``value`` (from JSON or a route) is an int a database id can be (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, int) and 0 < value <= MAX_ID


def int_arg(name: str, default: int | None = None, *, minimum: int = 0, maximum: int = MAX_INT) -> int | None:
    """The query argument ``name`` as an integer within bounds (``default`` when absent or empty).
    Raises werkzeug's ``BadRequest`` (a 400 page, or the JSON error under ``/api``) otherwise."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not minimum <= int(raw) <= maximum:
        raise HTTPBadRequest()
    return int(raw)


class DatabaseIntConverter(IntegerConverter):
    """``<int:…>`` that matches only numbers a database id can be: a larger one is a 404, not an
    overflow inside the database driver."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_INT,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def shown(text: str) -> str:
    """``text`` as it may be shown: without bidirectional controls, and with any lone surrogate
    (stored before the gate existed; SQLite's JSON keeps them) replaced, so no page or answer
    fails to encode. The same type back: a ``Markup`` stays one."""
    if text.isascii():
        return text
    text = strip_bidi(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.__class__(text.encode("utf-8", "replace").decode("utf-8"))
    return text


def _finalize(value: Any) -> Any:
    return shown(value) if isinstance(value, str) else value


class _ShownJSONProvider(DefaultJSONProvider):
    """The JSON answers, with text that cannot be encoded (a lone surrogate stored before the gate
    existed) written as a ``\\u`` escape instead of failing the response after the work is done."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        text = super().dumps(obj, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return super().dumps(obj, **(kwargs | {"ensure_ascii": True}))
        return text


def init_app(app: Flask) -> None:
    """Install the gate: the ``int`` URL converter (call before any route is registered), the
    request hook and the template output filter."""
    app.url_map.converters["int"] = DatabaseIntConverter
    app.before_request(_check_request)
    app.jinja_env.finalize = _finalize
    app.jinja_env.filters["shown"] = _finalize
    provider = _ShownJSONProvider(app)
    provider.ensure_ascii, provider.sort_keys, provider.compact = app.json.ensure_ascii, app.json.sort_keys, app.json.compact
    app.json = provider

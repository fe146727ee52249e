"""Conditions as data, read by a small evaluator — never Python ``eval``.

A condition is one of::

    {"field": "leave_working_days", "op": "<=", "value": 3}
    {"all": [cond, ...]}        every item holds (an empty list is a definition error)
    {"any": [cond, ...]}        at least one item holds
    {"not": cond}

Operators: ``==`` ``!=`` ``<`` ``<=`` ``>`` ``>=`` ``in`` ``not_in`` (the last two take a list).

Facts are looked up by field name in a mapping: form fields by their name, facts the caller
computes (``leave_working_days``, ``trip_working_days``) and the applicant's facts that the
resolver derives from the org view (``applicant.is_cadre`` and the other names in
:data:`APPLICANT_FACTS`). A field missing from the facts is ``None``.

Types are strict: numbers compare with numbers (``bool`` is not a number), text with text,
dates with dates, booleans only by (in)equality. Comparing a fact of one type with a value of
another — ``"3" < 5``, ``"true" == True`` — raises :class:`ConditionEvaluationError` naming the
condition's path instead of guessing; ``None`` (a missing fact) may be tested with ``==``,
``!=``, ``in`` and ``not_in`` but not ordered.

:func:`parse_condition` checks a condition read from YAML and turns it into frozen nodes with
an ``evaluate(facts)`` method; :func:`validate_condition` only lists the problems, each with
its path (``route[1].when.any[0].op``).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Union

from .errors import ConditionEvaluationError, ConditionSyntaxError, Problem

__all__ = [
    "OPERATORS",
    "APPLICANT_FACTS",
    "Compare",
    "AllOf",
    "AnyOf",
    "Not",
    "Condition",
    "parse_condition",
    "collect_condition",
    "validate_condition",
    "evaluate_condition",
]

OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in")
_ORDERING = frozenset(("<", "<=", ">", ">="))
APPLICANT_FACTS = frozenset(
    (
        "applicant.is_cadre",
        "applicant.rank",
        "applicant.rank_level",
        "applicant.is_department_head",
        "applicant.is_principal_leader",
        "applicant.is_leadership",
        "applicant.agency",
    )
)
_FIELD_RE = re.compile(r"^[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*(\.[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff]*)*$")


def _type_class(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, _dt.datetime):
        return "datetime"
    if isinstance(value, _dt.date):
        return "date"
    return type(value).__name__


_SCALAR_CLASSES = frozenset(("bool", "number", "text", "date", "datetime"))
_ORDERED_CLASSES = frozenset(("number", "text", "date", "datetime"))
_TYPE_NAMES = {
    "bool": "a boolean",
    "number": "a number",
    "text": "text",
    "date": "a date",
    "datetime": "a date and time",
    None: "missing (None)",
}


def _describe(cls: str | None) -> str:
    return _TYPE_NAMES.get(cls, cls or "missing")


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op value``; ``path`` says where the condition was defined (for error messages)."""

    field: str
    op: str
    value: Any
    path: str = "when"

    def evaluate(self, facts: Mapping[str, Any]) -> bool:
        """Whether the comparison holds for ``facts``.

        Raises :class:`ConditionEvaluationError` when the fact's type does not fit the value's.
        """
        fact = facts.get(self.field)
        op = self.op
        fact_cls = _type_class(fact)
        if op == "in" or op == "not_in":
            if fact_cls is not None:
                if fact_cls not in _SCALAR_CLASSES:
                    self._mismatch(fact_cls, "a single value")
                for item in self.value:
                    item_cls = _type_class(item)
                    if item_cls is not None and item_cls != fact_cls:
                        self._mismatch(fact_cls, _describe(item_cls))
            found = any(item == fact and _type_class(item) == fact_cls for item in self.value)
            return found if op == "in" else not found
        value = self.value
        value_cls = _type_class(value)
        if op in _ORDERING:
            if fact_cls is None:
                raise ConditionEvaluationError(
                    self.path, f"fact {self.field!r} is missing and cannot be compared with {op} {value!r}"
                )
            if fact_cls != value_cls:
                self._mismatch(fact_cls, _describe(value_cls))
            if op == "<":
                return fact < value
            if op == "<=":
                return fact <= value
            if op == ">":
                return fact > value
            return fact >= value
        if fact_cls is not None and value_cls is not None and fact_cls != value_cls:
            self._mismatch(fact_cls, _describe(value_cls))
        equal = fact == value
        return equal if op == "==" else not equal

    def _mismatch(self, fact_cls: str | None, expected: str) -> None:
        raise ConditionEvaluationError(
            self.path,
            f"fact {self.field!r} is {_describe(fact_cls)}, but the condition compares it with {expected}",
        )


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every item holds (evaluated in order, stopping at the first that does not)."""

    items: tuple[Condition, ...]
    path: str = "when"

    def evaluate(self, facts: Mapping[str, Any]) -> bool:
        """Whether all items hold; raises as :meth:`Compare.evaluate` does."""
        for item in self.items:
            if not item.evaluate(facts):
                return False
        return True


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one item holds (evaluated in order, stopping at the first that does)."""

    items: tuple[Condition, ...]
    path: str = "when"

    def evaluate(self, facts: Mapping[str, Any]) -> bool:
        """Whether any item holds; raises as :meth:`Compare.evaluate` does."""
        for item in self.items:
            if item.evaluate(facts):
                return True
        return False


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not hold."""

    item: Condition
    path: str = "when"

    def evaluate(self, facts: Mapping[str, Any]) -> bool:
        """Whether the item fails; raises as :meth:`Compare.evaluate` does."""
        return not self.item.evaluate(facts)


Condition = Union[Compare, AllOf, AnyOf, Not]


def _parse(data: Any, path: str, problems: list[Problem]) -> Condition | None:
    if not isinstance(data, Mapping):
        problems.append(Problem(path, f"a condition must be a mapping, not {type(data).__name__}"))
        return None
    keys = set(data)
    if "field" in keys or "op" in keys or "value" in keys:
        return _parse_compare(data, path, problems)
    combinators = keys & {"all", "any", "not"}
    if len(combinators) != 1 or keys - combinators:
        if not keys:
            message = "an empty condition; expected field/op/value, all, any or not"
        elif len(combinators) > 1:
            message = f"a condition has exactly one of all/any/not, found {sorted(combinators)}"
        else:
            message = f"unknown condition keys {sorted(map(str, keys - combinators))}"
        problems.append(Problem(path, message))
        return None
    (key,) = combinators
    sub = data[key]
    if key == "not":
        item = _parse(sub, f"{path}.not", problems)
        return None if item is None else Not(item, path)
    if not isinstance(sub, (list, tuple)):
        problems.append(Problem(f"{path}.{key}", f"'{key}' takes a list of conditions"))
        return None
    if not sub:
        problems.append(Problem(f"{path}.{key}", f"'{key}' needs at least one condition"))
        return None
    items = [_parse(item, f"{path}.{key}[{i}]", problems) for i, item in enumerate(sub)]
    if any(item is None for item in items):
        return None
    return (AllOf if key == "all" else AnyOf)(tuple(items), path)


def _parse_compare(data: Mapping[str, Any], path: str, problems: list[Problem]) -> Compare | None:
    before = len(problems)
    extra = set(data) - {"field", "op", "value"}
    if extra:
        problems.append(Problem(path, f"unknown condition keys {sorted(map(str, extra))}"))
    for key in ("field", "op", "value"):
        if key not in data:
            problems.append(Problem(path, f"a comparison needs '{key}'"))
    if len(problems) > before:
        return None
    field, op, value = data["field"], data["op"], data["value"]
    if not isinstance(field, str) or not _FIELD_RE.match(field):
        problems.append(Problem(f"{path}.field", f"not a field name: {field!r}"))
    elif field.startswith("applicant.") and field not in APPLICANT_FACTS:
        problems.append(
            Problem(f"{path}.field", f"unknown applicant fact {field!r}; known: {', '.join(sorted(APPLICANT_FACTS))}")
        )
    if op not in OPERATORS:
        problems.append(Problem(f"{path}.op", f"unknown operator {op!r}; expected one of {', '.join(OPERATORS)}"))
    elif op in ("in", "not_in"):
        if not isinstance(value, (list, tuple)):
            problems.append(Problem(f"{path}.value", f"'{op}' takes a list of values, not {type(value).__name__}"))
        else:
            classes = {_type_class(item) for item in value} - {None}
            if classes - _SCALAR_CLASSES:
                problems.append(Problem(f"{path}.value", "the list may hold only text, numbers, booleans and dates"))
            elif len(classes) > 1:
                problems.append(Problem(f"{path}.value", f"the list mixes types: {sorted(classes)}"))
            value = tuple(value)
    elif op in _ORDERING:
        cls = _type_class(value)
        if cls not in _ORDERED_CLASSES:
            problems.append(Problem(f"{path}.value", f"'{op}' needs a number, text or date, not {_describe(cls)}"))
    else:
        cls = _type_class(value)
        if cls is not None and cls not in _SCALAR_CLASSES:
            problems.append(Problem(f"{path}.value", f"'{op}' needs a single value, not {type(value).__name__}"))
    if len(problems) > before:
        return None
    return Compare(field, op, value, path)


def collect_condition(data: Any, path: str, problems: list[Problem]) -> Condition | None:
    """Parse a condition, appending its problems to ``problems``; None when it is malformed.

    For parsers of larger structures (routes) that report every problem at once.
    """
    return _parse(data, path, problems)


def validate_condition(data: Any, path: str = "when") -> list[Problem]:
    """Every problem with a condition read from data, each with its path; empty when it is well-formed."""
    problems: list[Problem] = []
    _parse(data, path, problems)
    return problems


def parse_condition(data: Any, path: str = "when") -> Condition:
    """A condition read from data, as frozen nodes.

    Raises :class:`ConditionSyntaxError` listing every problem (with paths) when it is malformed.
    """
    problems: list[Problem] = []
    condition = _parse(data, path, problems)
    if problems or condition is None:
        raise ConditionSyntaxError(problems or [Problem(path, "malformed condition")])
    return condition


def evaluate_condition(condition: Condition | Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Whether ``condition`` (parsed, or raw data) holds for ``facts``.

    Raises :class:`ConditionSyntaxError` for malformed raw data and
    :class:`ConditionEvaluationError` when a fact's type does not fit the condition.
    """
    if not isinstance(condition, (Compare, AllOf, AnyOf, Not)):
        condition = parse_condition(condition)
    return condition.evaluate(facts)

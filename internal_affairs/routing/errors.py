"""Errors of the routing core.

The core imports no Flask, so these do not derive from the application's ``DomainError``;
the service layer that calls the resolver wraps them (a malformed catalog route becomes a
validation error at load time, an unknown applicant a 404, and so on).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "RoutingError",
    "Problem",
    "RouteDefinitionError",
    "ConditionSyntaxError",
    "ConditionEvaluationError",
    "UnknownPersonError",
]


class RoutingError(Exception):
    """Base of every error raised by ``internal_affairs.routing``; ``code`` is stable."""

    code = "routing_error"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a route or condition definition, at ``path`` (e.g. ``route[1].when.op``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RouteDefinitionError(RoutingError):
    """A route (or a condition in it) read from catalog data is malformed; ``problems`` lists every finding."""

    code = "route_invalid"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class ConditionSyntaxError(RouteDefinitionError):
    """A condition read from data is malformed."""

    code = "condition_invalid"


class ConditionEvaluationError(RoutingError):
    """A well-formed condition could not be evaluated against these facts (e.g. ``"3" < 5``)."""

    code = "condition_type_error"

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class UnknownPersonError(RoutingError):
    """The org view has no person with this uid."""

    code = "unknown_person"

    def __init__(self, uid: str):
        self.uid = uid
        super().__init__(f"no person with uid {uid!r} in the org view")

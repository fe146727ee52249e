"""Routes as data and the pure resolver that turns a route into a concrete step plan.

See :mod:`.dsl` for the route language, :mod:`.conditions` for conditions, :mod:`.orgview` for
the org view the resolver reads and :mod:`.resolver` for the rules it applies. Nothing here
touches a database, a clock or Flask.
"""

from .conditions import evaluate_condition, parse_condition, validate_condition
from .dsl import Route, Step, parse_route, validate_route
from .errors import (
    ConditionEvaluationError,
    ConditionSyntaxError,
    Problem,
    RouteDefinitionError,
    RoutingError,
    UnknownPersonError,
)
from .orgview import AgencyView, DepartmentView, OrgView, PersonView
from .resolver import PlannedBranch, PlannedStep, SkippedApprover, StepPlan, resolve_route

__all__ = [
    "AgencyView",
    "ConditionEvaluationError",
    "ConditionSyntaxError",
    "DepartmentView",
    "OrgView",
    "PersonView",
    "PlannedBranch",
    "PlannedStep",
    "Problem",
    "Route",
    "RouteDefinitionError",
    "RoutingError",
    "SkippedApprover",
    "Step",
    "StepPlan",
    "UnknownPersonError",
    "evaluate_condition",
    "parse_condition",
    "parse_route",
    "resolve_route",
    "validate_condition",
    "validate_route",
]

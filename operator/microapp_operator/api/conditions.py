"""Condition types, condition reasons and phases: the one home of these names.

CamelCase constants as ``str`` enums (Kopf's ``Reason(str, Enum)``, "to prevent typos"), used
by the core to build status, by the runtime for metrics, and by the API types for the schema.
"""

from __future__ import annotations

from enum import Enum


class ConditionType(str, Enum):
    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"
    POLICY_COMPLIANT = "PolicyCompliant"
    WITHIN_BUDGET = "WithinBudget"
    IDLE = "Idle"
    WARN_THRESHOLD = "BudgetWarning"  # TeamBudget: committed past warnAtPercent
    ACTIVITY_KNOWN = "ActivityKnown"  # PlatformPolicy: the activity query answers and meets telemetry


class Reason(str, Enum):
    """Condition reasons."""

    PROGRESSING = "Progressing"  # children rolling out
    TRAFFIC_SOURCE_ANSWERS = "TrafficSourceAnswers"  # PlatformPolicy: the activity query has series
    TRAFFIC_SOURCE_FAILING = "TrafficSourceFailing"  # PlatformPolicy: Prometheus fails or answers nonsense
    QUERY_MEETS_NO_TELEMETRY = "QueryMeetsNoTelemetry"  # PlatformPolicy: no series for any app at all
    NO_TRAFFIC_SOURCE = "NoTrafficSource"  # PlatformPolicy: no prometheusUrl, activity from the API alone
    AVAILABLE = "Available"  # every child healthy
    SUSPENDED = "Suspended"  # spec.suspend: scaled to zero as asked
    ROLLOUT_FAILED = "RolloutFailed"  # a child reports failure
    INVALID_SPEC = "InvalidSpec"  # the spec does not parse
    TEMPLATE_NOT_FOUND = "TemplateNotFound"  # no catalog entry matches spec.template
    INVALID_PARAMETERS = "InvalidParameters"  # spec.parameters breaks the template's schema
    TEMPLATE_FAILED = "TemplateFailed"  # rendering or the rendered-object rules failed
    APPLY_FAILED = "ApplyFailed"  # the API server refused an object
    NAME_CONFLICT = "NameConflict"  # an object the app renders exists and is not the app's
    RUNTIME_UNAVAILABLE = "RuntimeUnavailable"  # the template needs a kind the cluster lacks (e.g. Knative)
    WITHIN_BUDGET = "WithinBudget"  # estimate inside the app's and the team's limits
    OVER_BUDGET = "OverBudget"  # app or team limit exceeded (flagged; first rollout held)
    OVER_WARN_THRESHOLD = "OverWarnThreshold"
    DUPLICATE_BUDGET = "DuplicateBudget"  # TeamBudget: another, older one sets this team's budget
    COMPLIANT = "Compliant"  # no PlatformPolicy violations
    POLICY_VIOLATIONS = "PolicyViolations"  # flagged after a policy change; the app keeps running
    ACTIVE = "Active"  # lifecycle: in use (Idle=False)
    IDLE = "Idle"  # lifecycle: asleep for lack of activity (Ready stays True)
    RETIRING = "Retiring"  # lifecycle: asleep, retirement announced
    RETIRED = "Retired"  # lifecycle: workload removed, kept in its archive


class Phase(str, Enum):
    """``status.phase``: a summary for humans."""

    PENDING = "Pending"
    RUNNING = "Running"
    IDLE = "Idle"
    RETIRING = "Retiring"
    RETIRED = "Retired"
    SUSPENDED = "Suspended"
    FAILED = "Failed"


# Conditions that exist only while true (kstatus "abnormal-true" conditions).
TRANSIENT = frozenset({ConditionType.RECONCILING.value, ConditionType.STALLED.value})

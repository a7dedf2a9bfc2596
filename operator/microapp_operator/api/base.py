"""Building blocks of the API types: the group, annotation keys and labels, field patterns,
the Quantity type, CEL rule helpers and the base model (camelCase on the wire, frozen,
unknown fields refused)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

GROUP = "microapp.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
# Never equal to a resource name or short name of our kinds: the old category "microapp"
# shadowed MicroApp's singular, so `kubectl get microapp NAME` failed.
CATEGORY = "microapp-platform"

# Annotation keys on a MicroApp (DESIGN.md, "Annotation and label conventions").
OWNER_ANNOTATION = f"{GROUP}/owner"
TEAM_ANNOTATION = f"{GROUP}/team"
COST_CENTER_ANNOTATION = f"{GROUP}/cost-center"
EDITORS_ANNOTATION = f"{GROUP}/editors"
VIEWERS_ANNOTATION = f"{GROUP}/viewers"
PUBLIC_APPROVED_BY_ANNOTATION = f"{GROUP}/public-approved-by"
LAST_ACTIVITY_ANNOTATION = f"{GROUP}/last-activity"
SNOOZE_UNTIL_ANNOTATION = f"{GROUP}/snooze-until"
WAKE_ANNOTATION = f"{GROUP}/wake"
RESTORE_ANNOTATION = f"{GROUP}/restore"
NAME_LABEL = f"{GROUP}/name"
TEAM_LABEL = f"{GROUP}/team"

# The Kubernetes resource.Quantity grammar (apimachinery's regexp, anchored).
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
MONEY_PATTERN = r"^[0-9]+(\.[0-9]{1,2})?$"
DURATION_PATTERN = r"^[0-9]+(s|m|h|d|w)$"
TEMPLATE_REF_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(@[^@\s]+)?$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
ENV_NAME_PATTERN = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"


def _quantity(value: int | str) -> int | str:
    if isinstance(value, str) and not re.match(QUANTITY_PATTERN, value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 250m, 1, 512Mi, 2Gi)")
    return value


Quantity = Annotated[
    int | str,
    AfterValidator(_quantity),
    WithJsonSchema(
        {
            "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY_PATTERN,
        }
    ),
]
Money = Annotated[str, Field(pattern=MONEY_PATTERN, max_length=16)]
DURATION_MESSAGE = "must be a number and s, m, h, d or w, e.g. 30m, 12h, 7d or 2w"


def _duration(value: str) -> str:
    if not re.match(DURATION_PATTERN, value):
        raise ValueError(f"{value!r} {DURATION_MESSAGE}")
    return value


Duration = Annotated[
    str,
    AfterValidator(_duration),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 12,
            "x-kubernetes-validations": [{"rule": f"self.matches(r'{DURATION_PATTERN}')", "message": DURATION_MESSAGE}],
        }
    ),
]
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


def cel(rule: str, message: str, **extra: Any) -> dict[str, Any]:
    """One CEL validation rule as it goes into ``x-kubernetes-validations``."""
    return {"rule": rule, "message": message, **extra}


def validations(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


class Model(BaseModel):
    """Base: camelCase on the wire, immutable in memory, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class Condition(Model):
    """A metav1.Condition."""

    type: str = Field(description="Condition type: Ready, Reconciling, Stalled, PolicyCompliant, WithinBudget or Idle.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(description="CamelCase reason for the last transition.")
    message: str = Field("", description="Human-readable details.")
    last_transition_time: Timestamp = Field(description="When status last changed.")
    observed_generation: int | None = Field(None, description="metadata.generation this condition was computed from.")


class Resources(Model):
    """Resource requests of the app container. Limits come from the template and the policy."""

    cpu: Quantity | None = Field(None, description="CPU request, e.g. 250m or 1. Default: the template's.")
    memory: Quantity | None = Field(None, description="Memory request, e.g. 256Mi. Default: the template's.")

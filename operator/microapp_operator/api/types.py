"""API types of group ``microapp.dev/v1alpha1``: the single source of truth for the CRDs.

Every field carries a description (``kubectl explain`` shows it). Cross-field rules that the
API server can check on its own are CEL ``x-kubernetes-validations`` attached with
:func:`cel`, so a bad MicroApp is refused at ``kubectl apply`` time even when the operator
is down. Defaults are documented but never put into the schema: the API server would write
them into ``spec`` and GitOps tools would see drift. The core applies them instead.

This module holds MicroApp and AppTemplate, and re-exports the building blocks (``base``) and
the platform team's kinds (``platform``), so ``from ..api import types as api`` gives all.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from .base import *  # noqa: F403 - the building blocks are part of this module's namespace
from .base import (
    DNS_LABEL_PATTERN,
    ENV_NAME_PATTERN,
    TEMPLATE_REF_PATTERN,
    Condition,
    Duration,
    Model,
    Money,
    Resources,
    Timestamp,
    cel,
    validations,
)
from .conditions import Phase
from .platform import *  # noqa: F403 - TeamBudget and PlatformPolicy types

# ---------------------------------------------------------------------------------------
# MicroApp
# ---------------------------------------------------------------------------------------


class EnvVar(Model):
    """One environment variable of the app container (a literal value)."""

    name: str = Field(description="Variable name, e.g. MODE.", pattern=ENV_NAME_PATTERN, max_length=128)
    value: str = Field("", description="Literal value. Never evaluated as a template.", max_length=32768)


class Budget(Model):
    """Per-app budget, in the PlatformPolicy currency."""

    monthly_limit: Money | None = Field(
        None,
        description='Highest acceptable estimated monthly cost of this app, e.g. "40" or '
        '"12.50". An apply whose estimate exceeds it is refused.',
    )


class Telemetry(Model):
    """Telemetry wiring of the app."""

    enabled: bool | None = Field(
        None,
        description="Inject the OpenTelemetry collector sidecar and scrape annotations. "
        "Default true; false is refused when the PlatformPolicy requires telemetry.",
    )


class Lifecycle(Model):
    """When an unused app is idled and retired. Durations: a number and s, m, h, d or w."""

    idle_after: Duration | None = Field(
        None,
        description="Scale to zero after this long without activity, e.g. 7d. "
        "Default: PlatformPolicy.spec.lifecycle.idleAfter.",
    )
    retire_after: Duration | None = Field(
        None,
        description="Retire (archive or delete) after this long idle, e.g. 30d. "
        "Default: PlatformPolicy.spec.lifecycle.retireAfter.",
    )
    notify_before: Duration | None = Field(
        None,
        description="Announce the retirement this long ahead (phase Retiring, an Event and a "
        "notification), e.g. 3d. Default: PlatformPolicy.spec.lifecycle.notifyBefore.",
    )
    expires_at: Timestamp | None = Field(
        None, description="Hard expiry (RFC 3339): the app is retired at this time whatever its activity."
    )
    on_retire: Literal["Archive", "Delete"] | None = Field(
        None,
        description="Archive keeps the MicroApp (workload removed, phase Retired); Delete removes it. Default Archive.",
    )


class MicroAppSpec(Model):
    """What the citizen developer asks for. The operator never writes it."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!has(self.host) || (has(self.expose) && self.expose == 'public')",
                "spec.host is only used with spec.expose: public; set expose: public or remove host",
                fieldPath=".host",
                reason="FieldValueForbidden",
            ),
            cel(
                "!has(self.expose) || self.expose != 'public' || has(self.host)",
                "spec.expose: public needs spec.host (the public DNS name, e.g. expenses.example.com)",
                fieldPath=".host",
                reason="FieldValueRequired",
            ),
        )
    )

    template: str = Field(
        description="Catalog template as NAME or NAME@SEMVER-RANGE, e.g. web-service or "
        "web-service@^1. Without a range the newest non-deprecated version is used.",
        max_length=128,
        json_schema_extra=validations(
            cel(
                f"self.matches(r'{TEMPLATE_REF_PATTERN}')",
                "spec.template must be NAME or NAME@RANGE with a lower-case template name, "
                "e.g. web-service or web-service@^1",
            )
        ),
    )
    image: str = Field(
        description="Container image, e.g. registry.internal/finance/expenses:1.4.0. "
        "Must come from a registry the PlatformPolicy allows.",
        max_length=512,
        json_schema_extra=validations(
            cel(
                r"self.matches(r'^\S+$')",
                "spec.image must be an image reference without spaces, e.g. registry.internal/team/app:1.0",
            )
        ),
    )
    replicas: int | None = Field(
        None,
        ge=0,
        le=1000,
        description="Number of instances (0..1000). kubectl scale changes it. Default: the template's.",
    )
    resources: Resources | None = Field(None, description=Resources.__doc__)
    port: int | None = Field(None, ge=1, le=65535, description="Port the app listens on. Default: the template's.")
    env: list[EnvVar] | None = Field(
        None,
        max_length=100,
        description="Environment variables of the app container; names must be unique.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    expose: Literal["none", "internal", "public"] | None = Field(
        None,
        description="none: no Service; internal: cluster-internal Service (default); "
        "public: also an Ingress for spec.host, which needs approval (microapp.dev/public-approved-by).",
    )
    host: str | None = Field(
        None,
        max_length=253,
        description="Public DNS name for expose: public, e.g. expenses.example.com.",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    )
    parameters: dict[str, Any] | None = Field(
        None,
        description="Template-specific settings, validated against the AppTemplate's parameters schema.",
        json_schema_extra={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    )
    budget: Budget | None = Field(None, description=Budget.__doc__)
    telemetry: Telemetry | None = Field(None, description=Telemetry.__doc__)
    lifecycle: Lifecycle | None = Field(None, description=Lifecycle.__doc__)
    suspend: bool | None = Field(
        None,
        description="true scales the workload to zero and sets phase Suspended; the "
        "MicroApp and its settings are kept.",
    )

    @model_validator(mode="after")
    def _host_goes_with_public(self) -> MicroAppSpec:
        """The CEL rules above, for offline validation (`microapp validate`)."""
        if self.host is not None and self.expose != "public":
            raise ValueError("spec.host is only used with spec.expose: public; set expose: public or remove host")
        if self.expose == "public" and self.host is None:
            raise ValueError("spec.expose: public needs spec.host (the public DNS name, e.g. expenses.example.com)")
        if not re.match(TEMPLATE_REF_PATTERN, self.template):
            raise ValueError(
                "spec.template must be NAME or NAME@RANGE with a lower-case template name, "
                "e.g. web-service or web-service@^1"
            )
        return self


PhaseName = Literal[tuple(p.value for p in Phase)]  # type: ignore[valid-type]  # one home: conditions.Phase


class TemplateStatus(Model):
    """Template version the app was rendered from."""

    name: str | None = Field(None, description="Template name.")
    version: str | None = Field(None, description="Resolved version in use.")
    latest: str | None = Field(None, description="Newest non-deprecated version in the catalog.")


class CostStatus(Model):
    """Estimated cost of the app."""

    estimated_monthly: str | None = Field(None, description="Estimated monthly cost, e.g. 18.42.")
    currency: str | None = Field(None, description="Currency of the estimate, from the PlatformPolicy.")


class LifecycleStatus(Model):
    """Activity and retirement times."""

    last_activity: Timestamp | None = Field(None, description="Last observed activity.")
    activity_source: str | None = Field(
        None, description="Where the last activity came from: created, spec, annotation, traffic, wake or restore."
    )
    idle_since: Timestamp | None = Field(None, description="When the app was idled.")
    retire_at: Timestamp | None = Field(None, description="When the app will be retired unless it becomes active.")
    next_check: Timestamp | None = Field(None, description="When the lifecycle will next look at the app.")
    wake: str | None = Field(None, description="The last microapp.dev/wake value honoured.")
    restore: str | None = Field(None, description="The last microapp.dev/restore value honoured.")
    message: str | None = Field(None, description="What the lifecycle decided, or in DryRun would do.")


class InventoryEntry(Model):
    """One object the operator applied for this app."""

    api_version: str = Field(description="apiVersion of the object.")
    kind: str = Field(description="Kind of the object.")
    name: str = Field(description="Name of the object (in the MicroApp's namespace).")


class MicroAppStatus(Model):
    """What the operator observed and decided; written only by the operator."""

    observed_generation: int | None = Field(None, description="metadata.generation last processed.")
    phase: PhaseName | None = Field(
        None, description="Summary for humans: Pending, Running, Idle, Retiring, Retired, Suspended or Failed."
    )
    conditions: list[Condition] | None = Field(
        None,
        description="Conditions (metav1.Condition); Ready is always present.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    replicas: int | None = Field(None, description="Available instances (scale subresource).")
    selector: str | None = Field(None, description="Label selector of the app's Pods (scale subresource, HPA).")
    url: str | None = Field(None, description="Where the app is reachable.")
    template: TemplateStatus | None = Field(None, description=TemplateStatus.__doc__)
    cost: CostStatus | None = Field(None, description=CostStatus.__doc__)
    lifecycle: LifecycleStatus | None = Field(None, description=LifecycleStatus.__doc__)
    inventory: list[InventoryEntry] | None = Field(None, description="Objects applied for this app.")
    violations: list[str] | None = Field(None, description="Plain-language policy findings.")


# ---------------------------------------------------------------------------------------
# AppTemplate
# ---------------------------------------------------------------------------------------

_IMMUTABLE_TEMPLATE_FIELDS = (
    "templateName",
    "version",
    "runtime",
    "description",
    "parameters",
    "defaults",
    "security",
    "manifests",
)
# The catalog's documentation is part of the published version too (its own rule: each CEL
# expression has its own cost budget).
_IMMUTABLE_CATALOG_FIELDS = ("tags", "examples", "changelog")
SEMVER_PATTERN = r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
TAG_PATTERN = DNS_LABEL_PATTERN  # lower-case words and dashes


def _immutable(fields: tuple[str, ...]) -> dict[str, Any]:
    rule = " && ".join(
        f"(has(self.{f}) == has(oldSelf.{f})) && (!has(self.{f}) || self.{f} == oldSelf.{f})" for f in fields
    )
    return cel(
        rule,
        "AppTemplate is immutable except spec.deprecated: publish a new version "
        "(a new AppTemplate object) instead of editing this one",
    )


class TemplateDefaults(Model):
    """Values used when a MicroApp does not set them."""

    replicas: int | None = Field(None, ge=0, le=1000, description="Default replicas.")
    port: int | None = Field(None, ge=1, le=65535, description="Default port.")
    resources: Resources | None = Field(None, description="Default resource requests.")


class TemplateSecurity(Model):
    """Opt-outs from the Pod security defaults, for templates that need them."""

    writable_root_filesystem: bool | None = Field(
        None, description="Allow a writable root filesystem (default: read-only)."
    )
    service_account_token: bool | None = Field(
        None, description="Mount the app's ServiceAccount token (default: not mounted)."
    )


class TemplateExample(Model):
    """A ready-to-use app of this template, shown by `microapp catalog` and rendered by `microapp template lint`."""

    name: str = Field(
        description="Example name, a DNS label, e.g. autoscaled; also the example app's name.",
        pattern=DNS_LABEL_PATTERN,
        max_length=40,
    )
    description: str | None = Field(None, description="What the example shows.", max_length=512)
    spec: dict[str, Any] | None = Field(
        None,
        description="MicroApp spec fields of the example besides template, e.g. "
        "{parameters: {autoscale: {max: 4}}, expose: public, host: shop.example.com}; "
        "image defaults to a placeholder.",
        json_schema_extra={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    )


class ChangelogEntry(Model):
    """What changed in one version, for the teams whose apps move to it."""

    version: str = Field(
        description="The version this note is about, e.g. 1.3.0.", max_length=64, pattern=SEMVER_PATTERN
    )
    note: str = Field(description="What changed and what apps must do, if anything.", max_length=1024)


class AppTemplateSpec(Model):
    """A versioned, immutable catalog entry."""

    model_config = ConfigDict(
        json_schema_extra=validations(_immutable(_IMMUTABLE_TEMPLATE_FIELDS), _immutable(_IMMUTABLE_CATALOG_FIELDS))
    )

    template_name: str = Field(
        description="Template name used in MicroApp.spec.template, e.g. web-service.",
        pattern=DNS_LABEL_PATTERN,
        max_length=63,
    )
    version: str = Field(description="Semantic version, e.g. 1.3.0.", max_length=64, pattern=SEMVER_PATTERN)
    runtime: Literal["container", "serverless", "job"] = Field(description="container, serverless or job.")
    description: str | None = Field(None, description="What the template is for.", max_length=1024)
    deprecated: bool | None = Field(
        None, description="Deprecated versions are not chosen by ranges; the only mutable field."
    )
    parameters: dict[str, Any] | None = Field(
        None,
        description="JSON Schema (OpenAPI v3 subset) for MicroApp.spec.parameters.",
        json_schema_extra={"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    )
    defaults: TemplateDefaults | None = Field(None, description=TemplateDefaults.__doc__)
    security: TemplateSecurity | None = Field(None, description=TemplateSecurity.__doc__)
    manifests: str = Field(description="Jinja2 multi-document YAML, rendered in a sandbox.", max_length=262144)
    tags: list[Annotated[str, Field(pattern=TAG_PATTERN, max_length=40)]] | None = Field(
        None,
        max_length=20,
        description="Lower-case words `microapp catalog QUERY` searches besides the name "
        "and description, e.g. http, api, cron.",
    )
    examples: list[TemplateExample] | None = Field(
        None,
        max_length=10,
        description="Ready-to-use apps of this template (at least one for a published "
        "template: `microapp template lint` checks it).",
    )
    changelog: list[ChangelogEntry] | None = Field(
        None,
        max_length=100,
        description="What changed per version; `microapp template lint` requires an entry for spec.version.",
    )

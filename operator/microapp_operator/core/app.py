"""A MicroApp parsed once, at the boundary, into one typed value the core passes around (pure).

The webhook, the reconciler and the CLI turn a raw object (a mapping from the API server or a
file) into :class:`App`: its identity (name, namespace, uid, generation, team, owner,
annotations) and its validated spec. Nothing in the core re-reads the raw mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from ..api import types as api
from ..api.conditions import Reason


class PlanError(ValueError):
    """The app cannot be rendered until someone changes something (kstatus: Stalled)."""

    def __init__(self, reason: Reason, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.message = "; ".join(self.problems)
        super().__init__(self.message)
        self.reason = reason


@dataclass(frozen=True)
class AppMeta:
    """Who and where the app is: always readable, even when its spec is invalid."""

    name: str
    namespace: str
    uid: str | None = None
    generation: int = 1
    annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    deleting: bool = False
    created: str | None = None  # metadata.creationTimestamp
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def team(self) -> str:
        return str(self.annotations.get(api.TEAM_ANNOTATION, ""))

    @property
    def owner(self) -> str:
        return str(self.annotations.get(api.OWNER_ANNOTATION, ""))

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> AppMeta:
        meta = body.get("metadata") or {}
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            uid=meta.get("uid"),
            generation=int(meta.get("generation") or 1),
            annotations=MappingProxyType(dict(meta.get("annotations") or {})),
            deleting=bool(meta.get("deletionTimestamp")),
            created=meta.get("creationTimestamp"),
            labels=MappingProxyType(dict(meta.get("labels") or {})),
        )


@dataclass(frozen=True)
class App:
    """A MicroApp whose spec has been validated."""

    meta: AppMeta
    spec: api.MicroAppSpec

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def namespace(self) -> str:
        return self.meta.namespace

    @property
    def team(self) -> str:
        return self.meta.team


def spec_errors(exc: ValidationError) -> list[str]:
    """Pydantic errors as 'spec.field.path: message' for people."""

    def one(err: Mapping[str, Any]) -> str:
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field; check the spelling (kubectl explain microapp.spec)"
        if not err["loc"] and msg.startswith("spec."):
            return msg
        return "spec" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]) + f": {msg}"

    return [one(e) for e in exc.errors()]


def parse_spec(raw: Mapping[str, Any] | None) -> api.MicroAppSpec:
    try:
        return api.MicroAppSpec.model_validate(raw or {})
    except ValidationError as exc:
        raise PlanError(Reason.INVALID_SPEC, spec_errors(exc)) from None


def parse(body: Mapping[str, Any]) -> App:
    """The typed app; PlanError (InvalidSpec) naming every bad field otherwise."""
    return App(AppMeta.of(body), parse_spec(body.get("spec")))

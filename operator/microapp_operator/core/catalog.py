"""Template catalog: resolve ``name[@semver-range]`` to one immutable AppTemplate (pure).

Ranges use npm syntax (``^1``, ``~1.2``, ``>=1.2 <2``, ``1.3.0``) through semantic_version's
NpmSpec. Deprecated versions are never chosen by a range, but an app already pinned to one
keeps it (no surprise upgrades, no surprise breakage).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import semantic_version
import yaml

from ..api import types as api


class ResolutionError(ValueError):
    """The reference matches no usable template; the message names what is available."""


@dataclass(frozen=True)
class Resolution:
    name: str
    version: str
    latest: str | None
    template: api.AppTemplateSpec


@functools.lru_cache(maxsize=1024)
def parse_ref(ref: str) -> tuple[str, semantic_version.NpmSpec | None]:
    """Split ``web-service@^1`` into the name and the range (None: newest). Cached: parsing
    a range costs more than resolving it."""
    name, _, rng = ref.partition("@")
    if not rng:
        return name, None
    try:
        return name, semantic_version.NpmSpec(rng)
    except ValueError:
        raise ResolutionError(
            f"spec.template {ref!r}: {rng!r} is not a semver range; use e.g. {name}@^1, {name}@~1.2 or {name}@1.3.0"
        ) from None


def _version(spec: api.AppTemplateSpec) -> semantic_version.Version:
    return _semver(spec.version)


@functools.lru_cache(maxsize=1024)
def _semver(version: str) -> semantic_version.Version:
    return semantic_version.Version(version)


def newest_first(templates: Iterable[api.AppTemplateSpec]) -> list[api.AppTemplateSpec]:
    """Templates in semver order, newest first."""
    return sorted(templates, key=_version, reverse=True)


def is_newer(version: str, than: str) -> bool:
    """``version`` > ``than`` in semver order (pre-releases before their release)."""
    return _semver(version) > _semver(than)


def resolve(ref: str, templates: Iterable[api.AppTemplateSpec], *, pinned: str | None = None) -> Resolution:
    """Pick the template for ``ref``. No side effects.

    ``pinned`` is the version an unchanged app resolved to before: it is kept while it exists
    and still matches the range, even if newer or deprecated.
    """
    name, rng = parse_ref(ref)
    versions = newest_first(t for t in templates if t.template_name == name)
    if not versions:
        raise ResolutionError(
            f"spec.template {ref!r}: no template named {name!r} in the catalog (kubectl get apptemplates lists them)"
        )
    usable = [t for t in versions if not t.deprecated]
    latest = usable[0].version if usable else None
    # An unchanged app keeps the version it was rendered from.
    if pinned is not None:
        for t in versions:
            if t.version == pinned and (rng is None or rng.match(_version(t))):
                return Resolution(name, t.version, latest, t)
    # Otherwise the newest non-deprecated version in range.
    for t in usable:
        if rng is None or rng.match(_version(t)):
            return Resolution(name, t.version, latest, t)
    available = ", ".join(t.version + (" (deprecated)" if t.deprecated else "") for t in versions)
    raise ResolutionError(
        f"spec.template {ref!r}: no non-deprecated version of {name!r} matches; available: {available}"
    )


def index(objects: Iterable[Mapping]) -> list[api.AppTemplateSpec]:
    """AppTemplate objects (as read from the API or files) -> validated specs; bad ones skipped."""
    specs = []
    for obj in objects:
        try:
            specs.append(api.AppTemplateSpec.model_validate(obj.get("spec") or {}))
        except ValueError:
            continue  # the API server validated it; a broken object must not break the catalog
    return specs


def builtin_objects() -> list[dict[str, Any]]:
    """The AppTemplate objects shipped in the package (installed by ``make install``)."""
    files = sorted(
        resources.files(__package__.rpartition(".")[0]).joinpath("templates").iterdir(), key=lambda f: f.name
    )
    return [yaml.safe_load(f.read_text()) for f in files if f.name.endswith(".yaml")]


def builtin() -> list[api.AppTemplateSpec]:
    return index(builtin_objects())

"""Shards: which operator acts on which namespaces, and how a namespace changes hands. No I/O.

Several operators (each active/standby inside itself) split a cluster by namespace. The
platform *selects* a namespace's shard with the label ``microapp.dev/shard=<name>``; the first
shard of the list (the default) also selects namespaces without that label or with a value no
shard has, so every namespace has exactly one shard and no MicroApp escapes admission.

Selection is what the platform asks for; *holding* is who acts. The annotation
``microapp.dev/shard-holder`` on the Namespace names the shard acting on it, and it changes in
two steps: the old holder stops (its in-flight reconciles end) and clears it, then the newly
selected shard writes its own name and starts. Both writes carry the Namespace's
resourceVersion, so two shards never hold one namespace at once. A holder whose own leader
Lease has run out is dead: the selected shard then claims without waiting for it.

A team's budget needs one writer: a team whose namespaces fall into two shards is refused at
admission (``split``) until they are labelled alike.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

SHARD_LABEL = "microapp.dev/shard"
HOLDER_ANNOTATION = "microapp.dev/shard-holder"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$")


class Step(str, Enum):
    """What a shard does about one namespace."""

    OWN = "Own"  # it holds the namespace and is selected: act on it
    CLAIM = "Claim"  # selected, and nobody (alive) holds it: write our name, then act
    RELEASE = "Release"  # it holds the namespace but another shard is selected: stop, then clear
    WAIT = "Wait"  # selected, but the old holder (alive) has not released yet
    IGNORE = "Ignore"  # another shard's namespace


@dataclass(frozen=True)
class Shard:
    """This operator's share of the cluster. ``name`` None: not sharded (every namespace, or
    the ``only`` ones from ``--namespace``, with no hand-over protocol)."""

    name: str | None = None
    names: tuple[str, ...] = ()
    only: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, name: str | None, names: Iterable[str] = (), only: Iterable[str] = ()) -> Shard:
        """From the command line; a mistake is refused with the flag and the fix."""
        listed = tuple(n.strip() for n in names if n.strip())
        if name is None:
            if listed:
                raise ValueError(
                    "--shards needs --shard: the name of this operator's shard, one of " + ", ".join(listed)
                )
            return cls(only=frozenset(only))
        for n in (name, *listed):
            if not _NAME.match(n):
                raise ValueError(
                    f"shard name {n!r} is not a valid label value: use lower-case letters, digits "
                    "and '-', at most 42 characters, starting and ending with a letter or digit"
                )
        if not listed:
            raise ValueError(
                f"--shard {name} needs --shards: every shard's name, the default one first (e.g. --shards {name},other)"
            )
        if len(set(listed)) != len(listed):
            raise ValueError(f"--shards {','.join(listed)}: a shard is listed twice")
        if name not in listed:
            raise ValueError(f"--shard {name} is not one of --shards {','.join(listed)}")
        return cls(name=name, names=listed, only=frozenset(only))

    @property
    def sharded(self) -> bool:
        return self.name is not None

    @property
    def default(self) -> bool:
        """The first shard also takes namespaces nobody else is named for."""
        return self.sharded and self.names[0] == self.name

    def shard_of(self, labels: Mapping[str, str] | None) -> str | None:
        """The shard a namespace with these labels belongs to (None when not sharded)."""
        if not self.sharded:
            return None
        value = (labels or {}).get(SHARD_LABEL)
        return value if value in self.names else self.names[0]

    def selects(self, namespace: str, labels: Mapping[str, str] | None) -> bool:
        if self.only and namespace not in self.only:
            return False
        return not self.sharded or self.shard_of(labels) == self.name

    def namespace_selector(self) -> dict[str, Any] | None:
        """The webhook's namespaceSelector: the same rule as ``selects``, for the API server
        (``NotIn`` also matches namespaces without the label)."""
        if not self.sharded:
            return None
        if self.default:
            others = [n for n in self.names if n != self.name]
            if not others:
                return None
            return {"matchExpressions": [{"key": SHARD_LABEL, "operator": "NotIn", "values": others}]}
        return {"matchExpressions": [{"key": SHARD_LABEL, "operator": "In", "values": [str(self.name)]}]}

    def lease_of(self, prefix: str, shard: str) -> str:
        """Shard ``shard``'s leader Lease name: ``<prefix>-<shard>``."""
        return f"{prefix}-{shard}"


def holder(namespace: Mapping[str, Any]) -> str | None:
    return ((namespace.get("metadata") or {}).get("annotations") or {}).get(HOLDER_ANNOTATION) or None


def step(shard: Shard, namespace: Mapping[str, Any], *, holder_alive: bool = True) -> Step:
    """What ``shard`` does about ``namespace`` (a Namespace object) now."""
    meta = namespace.get("metadata") or {}
    wanted = shard.selects(str(meta.get("name", "")), meta.get("labels"))
    if not shard.sharded:
        return Step.OWN if wanted else Step.IGNORE
    current = holder(namespace)
    if current == shard.name:
        return Step.OWN if wanted else Step.RELEASE
    if not wanted:
        return Step.IGNORE
    if current is None or not holder_alive or current not in shard.names:
        return Step.CLAIM
    return Step.WAIT


def holder_patch(namespace: Mapping[str, Any], value: str | None) -> dict[str, Any]:
    """The merge patch that sets (or clears) the holder, valid only at the resourceVersion the
    decision was made on (the API server answers 409 otherwise)."""
    meta = namespace.get("metadata") or {}
    return {"metadata": {"resourceVersion": meta.get("resourceVersion"), "annotations": {HOLDER_ANNOTATION: value}}}


def split(
    shard: Shard, patterns: Iterable[str], namespaces: Mapping[str, Mapping[str, str] | None]
) -> dict[str, list[str]]:
    """The shards a team's namespaces (``patterns``, as in the PlatformPolicy) fall into, each
    with its namespaces; more than one entry means the team's budget would have two writers."""
    found: dict[str, list[str]] = {}
    pats = list(patterns)
    for ns in sorted(namespaces):
        if any(fnmatch.fnmatchcase(ns, p) for p in pats):
            found.setdefault(str(shard.shard_of(namespaces[ns])), []).append(ns)
    return found if shard.sharded else {}


def split_message(team: str, shards: Mapping[str, list[str]]) -> str:
    where = "; ".join(f"shard {s}: {', '.join(ns)}" for s, ns in sorted(shards.items()))
    return (
        f"team {team}'s namespaces are in more than one shard ({where}), so no one shard can keep its "
        f"budget: label them all alike, e.g. kubectl label namespace NS {SHARD_LABEL}=<one shard> "
        "--overwrite; until then its apps are refused"
    )

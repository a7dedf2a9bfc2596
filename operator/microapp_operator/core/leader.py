"""Leader election over a ``coordination.k8s.io/v1`` Lease: the decisions, without I/O.

The same rules as client-go's ``leaderelection`` (what controller-runtime uses): a replica may
take the Lease when nobody holds it, when it already holds it, or when the holder has not
renewed it for ``leaseDurationSeconds`` *as observed on this replica's own clock* (the time it
last saw the record change, never the holder's ``renewTime``, so clocks need not agree).
Writes carry the ``resourceVersion`` they were decided on, so two replicas that decide to take
the same Lease at the same moment cannot both succeed: the API server refuses one with 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    ACQUIRE = "Acquire"  # take it (nobody holds it, or the holder's lease ran out)
    RENEW = "Renew"  # ours: write a new renewTime
    WAIT = "Wait"  # somebody else holds a live lease


@dataclass(frozen=True)
class Record:
    """What of a Lease matters to the election."""

    holder: str
    duration: float
    renew_time: str
    transitions: int

    @classmethod
    def of(cls, lease: Mapping[str, Any] | None) -> Record | None:
        if lease is None:
            return None
        spec = lease.get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            duration=float(spec.get("leaseDurationSeconds") or 0),
            renew_time=str(spec.get("renewTime") or ""),
            transitions=int(spec.get("leaseTransitions") or 0),
        )


@dataclass(frozen=True)
class Observed:
    """The last record this replica saw and when (its monotonic clock) it first saw it."""

    record: Record | None
    since: float


def observe(previous: Observed | None, record: Record | None, now: float) -> Observed:
    """Start the expiry clock again only when the record changed (a renewal changes renewTime)."""
    if previous is not None and previous.record == record:
        return previous
    return Observed(record, now)


def decide(observed: Observed, me: str, now: float) -> Verdict:
    """Take, keep or leave the Lease."""
    record = observed.record
    if record is None or not record.holder:
        return Verdict.ACQUIRE
    if record.holder == me:
        return Verdict.RENEW
    if now - observed.since >= record.duration:
        return Verdict.ACQUIRE
    return Verdict.WAIT


def spec(
    me: str, now: datetime, duration: float, previous: Record | None, *, acquire_time: str | None = None
) -> dict[str, Any]:
    """The Lease spec to write for ``me``: a new holder counts a transition and a new acquireTime."""
    stamp = micro_time(now)
    taking = previous is None or previous.holder != me
    transitions = (previous.transitions if previous else 0) + (1 if taking and previous and previous.holder else 0)
    return {
        "holderIdentity": me,
        "leaseDurationSeconds": int(duration),
        "acquireTime": stamp if taking or not acquire_time else acquire_time,
        "renewTime": stamp,
        "leaseTransitions": transitions,
    }


def released(previous: Record) -> dict[str, Any]:
    """The spec that hands the Lease over at once (controller-runtime's ReleaseOnCancel):
    no holder, so a standby takes it on its next try instead of waiting for expiry."""
    return {
        "holderIdentity": "",
        "leaseDurationSeconds": 1,
        "leaseTransitions": previous.transitions,
        "acquireTime": None,
        "renewTime": None,
    }


def micro_time(now: datetime) -> str:
    """``metav1.MicroTime`` as the API server expects it (RFC 3339, microseconds)."""
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

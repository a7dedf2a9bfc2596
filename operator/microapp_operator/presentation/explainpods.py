"""What ``microapp explain`` says about an app's Pods and Events (pure; clock as ``now``).

A Pod is read the way ``kubectl describe`` shows it to a person: its phase, whether it is
ready, why a container waits or exited (CrashLoopBackOff, ImagePullBackOff, a non-zero exit
code), how often it restarted. Events: the Warnings first, newest first, a few only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..core.lifecycle import rfc3339, timestamp
from .views import EventView, PodView, Tone

EVENT_LIMIT = 5
_STARTING = {"ContainerCreating", "PodInitializing"}  # waiting, but nothing is wrong yet
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ago(moment: datetime | None, now: datetime) -> str:
    """``5m ago``, ``in 13d``: the largest whole unit."""
    if moment is None:
        return "unknown"
    seconds = int((now - moment).total_seconds())
    span = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if span >= size or unit == "s":
            amount = f"{span // size}{unit}"
            break
    return "now" if span < 1 else f"{amount} ago" if seconds > 0 else f"in {amount}"


def pod_view(pod: Mapping[str, Any], now: datetime) -> PodView:
    """One Pod, for a person. No side effects."""
    meta, st = pod.get("metadata") or {}, pod.get("status") or {}
    statuses = [*(st.get("initContainerStatuses") or []), *(st.get("containerStatuses") or [])]
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    problems: list[str] = []
    reasons: list[str] = []
    for c in statuses:
        found = _container(c, now)
        problems += found[1]
        reasons += [found[0]] if found[0] else []
    conds = {c.get("type"): c for c in st.get("conditions") or []}
    unscheduled = conds.get("PodScheduled") or {}
    if unscheduled.get("status") == "False":
        reasons.append(unscheduled.get("reason") or "Unschedulable")
        problems.append(f"not scheduled: {unscheduled.get('message') or unscheduled.get('reason', '')}")
    phase = st.get("phase") or "Unknown"
    ready = (conds.get("Ready") or {}).get("status") == "True"
    if meta.get("deletionTimestamp"):
        reasons.insert(0, "Terminating")
    bad = phase == "Failed" or any(r not in ("Terminating", "Unschedulable") for r in reasons)
    tone = Tone.BAD if bad else Tone.OK if ready or phase == "Succeeded" else Tone.WARN
    return PodView(
        meta.get("name", ""),
        phase,
        ready,
        restarts,
        reasons[0] if reasons else None,
        tuple(problems),
        tuple(o.get("name", "") for o in meta.get("ownerReferences") or []),
        tone,
    )


def _container(c: Mapping[str, Any], now: datetime) -> tuple[str | None, list[str]]:
    """(why the container is not running well, if it is not; what to say about it)."""
    name, state = c.get("name", "?"), c.get("state") or {}
    waiting, ended = state.get("waiting") or {}, state.get("terminated") or {}
    reason, said = None, []
    if waiting and waiting.get("reason") not in _STARTING:
        reason = waiting.get("reason") or "Waiting"
        said.append(f"container {name}: {reason}" + (f": {waiting['message']}" if waiting.get("message") else ""))
    elif ended and int(ended.get("exitCode") or 0) != 0:
        reason = ended.get("reason") or "Error"
        said.append(
            f"container {name}: exited with code {ended.get('exitCode')} ({reason})"
            + (f": {ended['message']}" if ended.get("message") else "")
        )
    last = (c.get("lastState") or {}).get("terminated") or {}
    if last and int(c.get("restartCount") or 0):
        said.append(
            f"container {name}: restarted {c.get('restartCount')} times; the last run ended "
            f"{ago(timestamp(last.get('finishedAt')), now)}: {last.get('reason') or 'terminated'} "
            f"(exit code {last.get('exitCode', '?')})"
        )
    return reason, said


def events_of(
    events: Iterable[Mapping[str, Any]], names: set[str], now: datetime, limit: int = EVENT_LIMIT
) -> tuple[tuple[EventView, ...], int]:
    """The Events about these objects: Warnings first, newest first, at most ``limit``; and how
    many more there are. No side effects."""
    seen: set[str] = set()
    about = []
    for e in events:
        uid = (e.get("metadata") or {}).get("uid") or id(e)
        if (e.get("involvedObject") or {}).get("name") in names and str(uid) not in seen:
            seen.add(str(uid))
            about.append(e)
    ordered = sorted(about, key=lambda e: (e.get("type") != "Warning", -(_when(e) or _EPOCH).timestamp()))
    return tuple(_event(e, now) for e in ordered[:limit]), max(len(ordered) - limit, 0)


def _when(e: Mapping[str, Any]) -> datetime | None:
    return (
        timestamp(e.get("lastTimestamp"))
        or timestamp(e.get("eventTime"))
        or timestamp((e.get("series") or {}).get("lastObservedTime"))
        or timestamp((e.get("metadata") or {}).get("creationTimestamp"))
    )


def _event(e: Mapping[str, Any], now: datetime) -> EventView:
    obj = e.get("involvedObject") or {}
    count = int(e.get("count") or (e.get("series") or {}).get("count") or 1)
    when = _when(e)
    return EventView(
        e.get("type") or "Normal",
        e.get("reason") or "",
        f"{obj.get('kind', '?')}/{obj.get('name', '?')}",
        (e.get("message") or e.get("note") or "").strip(),
        count,
        rfc3339(when),
        ago(when, now),
    )


def worst(pods: Sequence[PodView]) -> list[PodView]:
    """Pods in the order a person should look at them: failing, then not ready, then ready."""
    order = {Tone.BAD: 0, Tone.WARN: 1, Tone.OK: 2, Tone.INFO: 3}
    return sorted(pods, key=lambda p: (order[p.tone], p.name))

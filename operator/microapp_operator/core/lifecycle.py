"""The lifecycle of an app (pure, clock injected): Active -> Idle -> Retiring -> Retired, and back.

The state machine is a table (:data:`TRANSITIONS`); an event a state does not take raises
:class:`IllegalTransition` naming both. :func:`decide` reads the app's activity (creation,
spec changes, the ``microapp.dev/last-activity`` heartbeat, traffic, ``microapp.dev/wake``),
its snooze and expiry, and the effective settings, and returns the state to act on, the
lifecycle status, and when to look again (a requeue, never a timer per object).

Rules: unknown activity (the traffic source is failing) never idles an app; no app is retired
without its notice (it is Retiring for ``notifyBefore`` first, even if the operator was down
when the notice was due); ``expiresAt`` retires whatever the activity; a snooze postpones
idling and idle-based retirement; in DryRun nothing changes state, the status says what would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from ..api import types as api


class State(str, Enum):
    ACTIVE = "Active"
    IDLE = "Idle"
    RETIRING = "Retiring"
    RETIRED = "Retired"


class Event(str, Enum):
    INACTIVE = "Inactive"  # no activity for idleAfter
    ACTIVITY = "Activity"  # traffic, a heartbeat, a spec change or a wake
    NOTICE = "Notice"  # retirement is notifyBefore away
    RETIRE = "Retire"  # retirement is due
    RESTORE = "Restore"  # microapp.dev/restore on a Retired app


TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.ACTIVE, Event.INACTIVE): State.IDLE,
    (State.ACTIVE, Event.NOTICE): State.RETIRING,  # expiresAt approaching
    (State.IDLE, Event.ACTIVITY): State.ACTIVE,
    (State.IDLE, Event.NOTICE): State.RETIRING,
    (State.RETIRING, Event.ACTIVITY): State.ACTIVE,
    (State.RETIRING, Event.RETIRE): State.RETIRED,
    (State.RETIRED, Event.RESTORE): State.ACTIVE,
}


class IllegalTransition(ValueError):
    def __init__(self, state: State, event: Event) -> None:
        super().__init__(f"lifecycle state {state.value} does not take event {event.value}")


def transition(state: State, event: Event) -> State:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(state, event) from None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DEFAULT_NOTIFY = timedelta(days=3)


def duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w`` (the API types refuse anything else)."""
    return timedelta(seconds=int(text[:-1]) * _UNITS[text[-1]])


def timestamp(text: Any) -> datetime | None:
    """An RFC 3339 time, or None if absent or unreadable (a bad heartbeat never idles or wakes)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Settings:
    """An app's effective lifecycle: its spec over the policy's defaults, within the policy's bounds."""

    idle_after: timedelta | None = None
    retire_after: timedelta | None = None
    notify_before: timedelta = DEFAULT_NOTIFY
    expires_at: datetime | None = None
    on_retire: str = "Archive"
    dry_run: bool = False
    notes: tuple[str, ...] = ()


def settings(spec: api.Lifecycle | None, policy: api.PolicyLifecycle | None) -> Settings:
    spec, policy = spec or api.Lifecycle(), policy or api.PolicyLifecycle()
    notes = []

    def bounded(value: str | None, default: str | None, bound: str | None, name: str) -> timedelta | None:
        chosen = duration(value) if value else duration(default) if default else None
        if chosen is not None and bound and chosen > duration(bound):
            notes.append(
                f"lifecycle.{name} {value or default} is above the platform's maximum {bound}: {bound} applies"
            )
            return duration(bound)
        return chosen

    return Settings(
        idle_after=bounded(spec.idle_after, policy.idle_after, policy.max_idle_after, "idleAfter"),
        retire_after=bounded(spec.retire_after, policy.retire_after, policy.max_retire_after, "retireAfter"),
        notify_before=duration(spec.notify_before or policy.notify_before or "3d"),
        expires_at=timestamp(spec.expires_at),
        on_retire=spec.on_retire or "Archive",
        dry_run=policy.mode == "DryRun",
        notes=tuple(notes),
    )


def explain(rules: Settings) -> str:
    """The effective lifecycle in one sentence (``microapp validate``)."""
    if rules.idle_after is None and rules.expires_at is None:
        text = "never idled (no idleAfter in spec.lifecycle or the PlatformPolicy)"
    else:
        parts = []
        if rules.idle_after is not None:
            parts.append(f"idled after {_span(rules.idle_after)} without activity")
            parts.append(
                f"retired {_span(rules.retire_after)} later ({rules.on_retire})"
                if rules.retire_after is not None
                else "never retired for idleness"
            )
        if rules.expires_at is not None:
            parts.append(f"expires at {rfc3339(rules.expires_at)} ({rules.on_retire})")
        parts.append(f"notice {_span(rules.notify_before)} ahead")
        text = ", ".join(parts)
    return (
        ("DryRun (reported, not acted on): " if rules.dry_run else "")
        + text
        + "".join(f"; {note}" for note in rules.notes)
    )


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Observed:
    """What the lifecycle knows about one app at ``now``."""

    state: State = State.ACTIVE
    created: datetime | None = None
    spec_changed: datetime | None = None  # now, when this reconcile sees a new generation
    heartbeat: datetime | None = None  # microapp.dev/last-activity
    traffic: datetime | None = None  # from the activity sweep
    activity_known: bool = True  # False while the traffic source fails
    snooze_until: datetime | None = None
    wake: str | None = None  # microapp.dev/wake, and the last one honoured
    wake_seen: str | None = None
    restore: str | None = None
    restore_seen: str | None = None
    last_activity: datetime | None = None  # as recorded in status
    activity_source: str | None = None
    idle_since: datetime | None = None
    retire_at: datetime | None = None
    gitops: bool = False  # Argo CD tracks the MicroApp (Git would recreate it)


@dataclass(frozen=True)
class Verdict:
    state: State  # what to act on (in DryRun: unchanged)
    would: State  # what Enforce does
    entered: tuple[State, ...] = ()  # states entered now (for Events and the retirement notice)
    status: dict[str, Any] = field(default_factory=dict)
    requeue_after: float | None = None


def decide(seen: Observed, rules: Settings, now: datetime) -> Verdict:
    """The app's lifecycle state and status at ``now``. No side effects."""
    seen, source, restoring = _activity(seen, now)
    state, entered = seen.state, []
    asleep = seen.state is not State.ACTIVE
    idle_since, retire_at = (seen.idle_since, seen.retire_at) if asleep else (None, None)
    unchanged = (idle_since, retire_at)
    for _ in range(len(State)):  # several steps can be due at once (e.g. after downtime)
        event = _event(seen, rules, state, idle_since, retire_at, now, restoring=restoring)
        if event is None:
            break
        state = transition(state, event)
        entered.append(state)
        if state is State.ACTIVE:
            idle_since, retire_at = None, None
        elif state is State.IDLE:
            idle_since = now
        elif state is State.RETIRING:
            retire_at = max(_retirement(rules, idle_since) or now, now + rules.notify_before)
    # DryRun acts on nothing, except undoing: an app asleep from before DryRun still wakes.
    acting = seen.state if rules.dry_run and state is not State.ACTIVE else state
    woke_in_dry_run = rules.dry_run and acting is State.ACTIVE and seen.state is not State.ACTIVE
    if acting is not state:
        idle_since, retire_at = unchanged
    status = {
        "lastActivity": rfc3339(seen.last_activity),
        "activitySource": source,
        "idleSince": rfc3339(idle_since),
        "retireAt": rfc3339(retire_at),
        "wake": seen.wake_seen,
        "restore": seen.restore_seen,
        "message": _message(seen, rules, acting, state, entered),
    }
    moment = _next(seen, rules, acting, idle_since, retire_at, now)
    status["nextCheck"] = rfc3339(moment)  # (the moment itself: stable across reconciles, no writes)
    wait = max((moment - now).total_seconds(), 1.0) if moment is not None else None
    entered_now = tuple(entered) if not rules.dry_run else ((State.ACTIVE,) if woke_in_dry_run else ())
    return Verdict(acting, state, entered_now, status, wait)


def _activity(seen: Observed, now: datetime) -> tuple[Observed, str | None, bool]:
    """The newest activity, and whether a new wake or restore value is honoured now. A restore
    value seen on an app that is not Retired is recorded as seen (it must not restore later)."""
    candidates = [
        (seen.last_activity, seen.activity_source),
        (seen.created, "created"),
        (seen.spec_changed, "spec"),
        (seen.heartbeat, "annotation"),
        (seen.traffic, "traffic"),
    ]
    if seen.wake and seen.wake != seen.wake_seen:
        candidates.append((now, "wake"))
        seen = replace(seen, wake_seen=seen.wake)
    restoring = bool(seen.restore) and seen.restore != seen.restore_seen and seen.state is State.RETIRED
    if restoring:
        candidates.append((now, "restore"))
    seen = replace(seen, restore_seen=seen.restore if seen.restore else seen.restore_seen)
    known = [(moment, src) for moment, src in candidates if moment is not None and moment <= now]
    latest, source = max(known, key=lambda pair: pair[0]) if known else (None, None)
    return replace(seen, last_activity=latest, activity_source=source), source, restoring


def _event(
    seen: Observed,
    rules: Settings,
    state: State,
    idle_since: datetime | None,
    retire_at: datetime | None,
    now: datetime,
    *,
    restoring: bool,
) -> Event | None:
    if state is State.RETIRED:
        return Event.RESTORE if restoring else None
    expiry = rules.expires_at
    if state is State.RETIRING and retire_at is not None and now >= retire_at:
        return Event.RETIRE
    if (
        state in (State.IDLE, State.RETIRING)
        and seen.last_activity
        and idle_since
        and seen.last_activity > idle_since
        and not (expiry and now >= expiry - rules.notify_before)
    ):
        return Event.ACTIVITY
    if state is not State.RETIRING and expiry is not None and now >= expiry - rules.notify_before:
        return Event.NOTICE
    snoozed = seen.snooze_until is not None and seen.snooze_until > now
    if not seen.activity_known or snoozed:
        return None  # unknown activity never idles; a snooze postpones
    if (
        state is State.ACTIVE
        and rules.idle_after is not None
        and seen.last_activity is not None
        and now >= seen.last_activity + rules.idle_after
    ):
        return Event.INACTIVE
    retirement = _retirement(rules, idle_since)
    if state is State.IDLE and retirement is not None and now >= retirement - rules.notify_before:
        return Event.NOTICE
    return None


def _retirement(rules: Settings, idle_since: datetime | None) -> datetime | None:
    idle_based = idle_since + rules.retire_after if idle_since and rules.retire_after is not None else None
    moments = [m for m in (idle_based, rules.expires_at) if m is not None]
    return min(moments) if moments else None


@dataclass(frozen=True)
class Deadlines:
    """When ``decide`` will idle or retire the app if nothing else happens (for people: explain,
    the portal). A Retired app's ``retires_at`` is when it was retired."""

    idles_at: datetime | None
    retires_at: datetime | None


def deadlines(seen: Observed, rules: Settings) -> Deadlines:
    """The idle and retirement dates of an app in ``seen.state``, by ``decide``'s rules. No side effects.

    Active: idled at its last activity plus idleAfter (a snooze postpones it), retired at expiresAt.
    Idle: retired at idleSince plus retireAfter or at expiresAt, whichever is first; a snooze holds
    back the notice, and the retirement comes notifyBefore after the notice. Retiring and Retired:
    the retireAt that the notice named."""
    if seen.state is State.ACTIVE:
        idles_at = None
        if rules.idle_after is not None and seen.last_activity is not None:
            idles_at = seen.last_activity + rules.idle_after
            if seen.snooze_until is not None:
                idles_at = max(idles_at, seen.snooze_until)
        return Deadlines(idles_at, rules.expires_at)
    if seen.state is State.IDLE:
        retirement = _retirement(rules, seen.idle_since)
        if retirement is None:
            return Deadlines(None, None)
        notice = max(retirement - rules.notify_before, seen.snooze_until or retirement - rules.notify_before)
        retires_at = max(retirement, notice + rules.notify_before)
        if rules.expires_at is not None:  # (a snooze never holds back expiresAt's notice)
            retires_at = min(retires_at, rules.expires_at)
        return Deadlines(None, retires_at)
    return Deadlines(None, seen.retire_at)


def _next(
    seen: Observed,
    rules: Settings,
    state: State,
    idle_since: datetime | None,
    retire_at: datetime | None,
    now: datetime,
) -> datetime | None:
    """When something can change without an event: the earliest future deadline."""
    moments = [seen.snooze_until]
    if rules.expires_at is not None and state is not State.RETIRED:
        moments += [rules.expires_at - rules.notify_before, rules.expires_at]
    if state is State.ACTIVE and rules.idle_after is not None and seen.last_activity is not None:
        moments.append(seen.last_activity + rules.idle_after)
    retirement = _retirement(rules, idle_since)
    if state is State.IDLE and retirement is not None:
        moments.append(retirement - rules.notify_before)
    if state is State.RETIRING and retire_at is not None:
        moments.append(retire_at)
    future = [m for m in moments if m is not None and m > now]
    return min(future) if future else None


def _message(seen: Observed, rules: Settings, acting: State, would: State, entered: list[State]) -> str:
    parts = list(rules.notes)
    if not seen.activity_known:
        parts.append(
            "activity unknown (the traffic source is failing or meets no telemetry: see the PlatformPolicy's "
            "ActivityKnown condition): the app is not idled"
        )
    if seen.snooze_until is not None:
        parts.append(f"snoozed until {rfc3339(seen.snooze_until)}")
    if rules.dry_run and would is not acting:
        parts.append(f"DryRun: would be {would.value} now (no action taken)")
    if acting is State.RETIRED and rules.on_retire == "Delete" and seen.gitops:
        parts.append(
            "onRetire: Delete, but Argo CD tracks this MicroApp and would recreate it: archived instead; "
            "remove it from Git to delete it"
        )
    return "; ".join(parts) or acting.value


def observed_from(
    meta_annotations: Mapping[str, str],
    old_lifecycle: Mapping[str, Any],
    old_phase: str | None,
    *,
    created: str | None,
    generation_changed: bool,
    traffic: datetime | None,
    activity_known: bool,
    now: datetime,
    gitops: bool = False,
) -> Observed:
    """Observed from the MicroApp's annotations and its previous status."""
    state = {"Idle": State.IDLE, "Retiring": State.RETIRING, "Retired": State.RETIRED}.get(
        old_phase or "", State.ACTIVE
    )
    return Observed(
        state=state,
        created=timestamp(created),
        spec_changed=now if generation_changed else None,
        heartbeat=timestamp(meta_annotations.get(api.LAST_ACTIVITY_ANNOTATION)),
        traffic=traffic,
        activity_known=activity_known,
        snooze_until=timestamp(meta_annotations.get(api.SNOOZE_UNTIL_ANNOTATION)),
        wake=meta_annotations.get(api.WAKE_ANNOTATION),
        wake_seen=old_lifecycle.get("wake"),
        restore=meta_annotations.get(api.RESTORE_ANNOTATION),
        restore_seen=old_lifecycle.get("restore"),
        last_activity=timestamp(old_lifecycle.get("lastActivity")),
        activity_source=old_lifecycle.get("activitySource"),
        idle_since=timestamp(old_lifecycle.get("idleSince")),
        retire_at=timestamp(old_lifecycle.get("retireAt")),
        gitops=gitops,
    )

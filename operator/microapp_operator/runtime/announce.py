"""What the reconciler tells people: Events for meaningful steps (applied, pruned, a template
version resolved, Ready or stalled, lifecycle states) and the retirement notice."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .. import metrics
from ..api import types as api
from ..api.conditions import ConditionType
from ..core import lifecycle, reconcile
from ..core.app import AppMeta
from .kube import Kube
from .notify import Notifier, cloudevent

log = logging.getLogger(__name__)


class Announcer:
    """Events and notices. Events go out in the background through at most ``in_flight``
    senders: a reconcile does not wait for them (they are best effort, and a rollout of many
    apps would otherwise spend two round trips per app on them). What waits is a small tuple per
    Event (the app's reference, not the app), so a backlog on a saturated API server stays small;
    past ``backlog`` waiting, the oldest are dropped and counted, as client-go's broadcaster does."""

    ROUTINE = frozenset({"Applied", "Pruned", "TemplateResolved", "Ready"})

    def __init__(
        self, kube: Kube, notifier: Notifier, in_flight: int = 8, routine: bool = True, backlog: int = 5000
    ) -> None:
        self.kube = kube
        self.routine = routine  # False: only Warnings and lifecycle Events (status carries the rest)
        self.notifier = notifier
        self.in_flight = in_flight
        self.waiting: collections.deque[tuple[dict[str, Any], str, str, str, datetime]] = collections.deque(
            maxlen=backlog
        )
        self.pending: set[asyncio.Task[None]] = set()  # the senders

    async def applied(
        self,
        app: Mapping[str, Any],
        meta: AppMeta,
        applied: list[str],
        pruned: list[str],
        decision: reconcile.Apply,
        now: datetime,
        reconcile_id: int,
    ) -> None:
        if applied or pruned:
            log.info(
                "reconciled namespace=%s name=%s applied=%d pruned=%d",
                meta.namespace,
                meta.name,
                len(applied),
                len(pruned),
                extra={
                    "namespace": meta.namespace,
                    "app": meta.name,
                    "generation": meta.generation,
                    "reconcile_id": reconcile_id,
                    "applied": len(applied),
                    "pruned": len(pruned),
                },
            )
        # One Event per step, not per fact: a new template version rides on the Applied Event
        # (a first rollout costs two Events, Applied and Ready, not three).
        resolved = f"; {decision.resolved}" if decision.resolved else ""
        if applied:
            await self.event(app, "Normal", "Applied", "applied " + ", ".join(applied) + resolved, now)
        if pruned:
            await self.event(app, "Normal", "Pruned", "deleted " + ", ".join(pruned), now)
        if decision.resolved and not applied:
            await self.event(app, "Normal", "TemplateResolved", decision.resolved, now)
        await self._lifecycle(app, decision, now)

    async def _lifecycle(self, app: Mapping[str, Any], decision: reconcile.Apply, now: datetime) -> None:
        """An Event per lifecycle state entered; the retirement notice when Retiring begins; in
        DryRun, an Event when what would happen changes."""
        verdict = decision.lifecycle
        if verdict is None:
            return
        st = verdict.status
        before = ((app.get("status") or {}).get("lifecycle") or {}).get("message")
        if verdict.would is not verdict.state and st.get("message") != before:
            await self.event(app, "Normal", "DryRun", st.get("message") or "", now)
        for state in verdict.entered:
            metrics.lifecycle_transitions.labels(state.value).inc()
            reason, text = {
                lifecycle.State.IDLE: ("Idle", f"scaled to zero: no activity since {st.get('lastActivity')}"),
                lifecycle.State.RETIRING: (
                    "Retiring",
                    f"will be retired at {st.get('retireAt')} unless it is used or woken (microapp.dev/wake)",
                ),
                lifecycle.State.RETIRED: (
                    "Retired",
                    "workload removed"
                    + (
                        " and the MicroApp deleted (onRetire: Delete)"
                        if decision.delete_app
                        else "; restore with microapp.dev/restore"
                    ),
                ),
                lifecycle.State.ACTIVE: ("Woken", f"active again ({st.get('activitySource')})"),
            }[state]
            await self.event(app, "Normal", reason, text, now)
            if state is lifecycle.State.RETIRING:
                spec = (app.get("spec") or {}).get("lifecycle") or {}
                self.notifier.send(cloudevent(app, st, on_retire=spec.get("onRetire") or "Archive", now=now))

    async def conditions(
        self, app: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any], now: datetime
    ) -> None:
        before, after = condition(old, ConditionType.READY), condition(new, ConditionType.READY)
        if (before.get("status"), before.get("reason")) == (after.get("status"), after.get("reason")):
            return
        if condition(new, ConditionType.STALLED):
            await self.event(app, "Warning", after.get("reason", "Stalled"), after.get("message", ""), now)
        elif after.get("status") == "True":
            await self.event(app, "Normal", "Ready", after.get("message", ""), now)

    async def event(self, app: Mapping[str, Any], type_: str, reason: str, message: str, now: datetime) -> None:
        if not self.routine and type_ == "Normal" and reason in self.ROUTINE:
            return
        if len(self.waiting) == self.waiting.maxlen:
            metrics.events_dropped.inc()
        self.waiting.append((reference(app), type_, reason, message, now))
        if len(self.pending) < self.in_flight:
            task = asyncio.create_task(self._send())
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)

    async def _send(self) -> None:
        while self.waiting:
            involved, type_, reason, message, now = self.waiting.popleft()
            await self.kube.event(involved, type_=type_, reason=reason, message=message, now=now)

    async def drain(self) -> None:
        """Wait for the Events in flight (tests; a clean stop)."""
        while self.pending:
            await asyncio.gather(*list(self.pending), return_exceptions=True)


def reference(app: Mapping[str, Any]) -> dict[str, Any]:
    """What an Event names of its app (``Kube.event``'s involvedObject), and nothing more."""
    meta = app.get("metadata") or {}
    return {
        "apiVersion": app.get("apiVersion", api.API_VERSION),
        "kind": app.get("kind", "MicroApp"),
        "metadata": {k: meta.get(k) for k in ("name", "namespace", "uid", "resourceVersion")},
    }


def condition(st: Mapping[str, Any], type_: ConditionType) -> Mapping[str, Any]:
    return next((c for c in st.get("conditions") or [] if c.get("type") == type_.value), {})

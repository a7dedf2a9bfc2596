"""Active/standby replicas: leader election over a Lease (see ``core.leader`` for the rules).

Why a Lease rather than Kopf's peering: a Lease is what every Kubernetes controller uses
(``kubectl get lease`` shows who leads), its RBAC can be narrowed to one named object, its
timing is ours to choose (Kopf's peering pauses only Kopf's own watches, not our child cache,
work queue or admission, and gives equal priorities no winner), and a released Lease hands
over in about a second on a rolling update.

Only the leader runs the manager (reconciles, writes status, sweeps) and answers admission, so
the budget ledger has a single writer. A replica that cannot renew within ``renew_deadline``
stops leading by ending the process (``on_lost``), as controller-runtime does: half-stopped
work is worse than a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..api.kinds import LEASE
from ..core import leader
from .kube import Kube, KubeError

log = logging.getLogger(__name__)


class Elector:
    def __init__(
        self,
        kube: Kube,
        namespace: str,
        name: str,
        identity: str,
        *,
        duration: float = 8.0,
        renew_deadline: float = 6.0,
        retry: float = 1.0,
        renew_every: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        owner: Mapping[str, Any] | None = None,
    ) -> None:
        self.kube, self.namespace, self.name, self.identity = kube, namespace, name, identity
        self.owner = owner  # an ownerReference (the chart's ServiceAccount): helm uninstall takes the Lease
        self.duration, self.renew_deadline, self.retry, self.renew_every = duration, renew_deadline, retry, renew_every
        self.monotonic, self.clock = monotonic, clock
        self.observed: leader.Observed | None = None
        self.lease: dict[str, Any] | None = None  # the Lease as last read or written
        self.leading = asyncio.Event()
        self.holder = ""  # who holds it, as far as this replica knows

    async def run(self, lead: Callable[[], Awaitable[None]], on_lost: Callable[[str], None]) -> None:
        """Wait for the Lease, then run ``lead`` while renewing it. Leadership ends, with
        ``on_lost(reason)``, when renewing fails for ``renew_deadline`` seconds or when ``lead``
        itself ends (a leader that stopped working must not keep the Lease)."""
        while not await self._try_logged():
            await asyncio.sleep(self.retry)
        log.info("leading: lease %s/%s acquired identity=%s", self.namespace, self.name, self.identity)
        self.leading.set()
        work = asyncio.create_task(lead(), name="leader-work")
        keep = asyncio.create_task(self._keep(), name="lease-renewal")
        try:
            await asyncio.wait({work, keep}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.leading.clear()
            for task in (work, keep):
                task.cancel()
            await asyncio.gather(work, keep, return_exceptions=True)
        on_lost(keep.result() if keep.done() and not keep.cancelled() and keep.exception() is None else _ended(work))

    async def _keep(self) -> str:
        """Renew every ``renew_every`` seconds; return why leadership ended."""
        last_ok = self.monotonic()
        wait = self.renew_every
        while True:
            await asyncio.sleep(wait)
            wait = min(self.retry, self.renew_every)  # after a failure, try again sooner (client-go's retryPeriod)
            try:
                if await self.try_once():
                    last_ok = self.monotonic()
                    wait = self.renew_every
                    continue
                if self.holder != self.identity:
                    return f"lost the lease {self.namespace}/{self.name} to {self.holder}"
                # still ours, but someone else wrote the Lease between our read and write: retry
                log.warning("lease renewal conflicted; retrying")
            except KubeError as exc:
                log.warning("lease not renewed error=%s", exc)
            if self.monotonic() - last_ok >= self.renew_deadline:
                return f"could not renew the lease {self.namespace}/{self.name} for {self.renew_deadline:.0f}s"

    async def _try_logged(self) -> bool:
        try:
            return await self.try_once()
        except KubeError as exc:
            log.warning("cannot take the lease %s/%s error=%s", self.namespace, self.name, exc)
            return False

    async def try_once(self) -> bool:
        """One look at the Lease and, if the rules allow, one write. True if this replica leads;
        False if another one does; KubeError if the API server could not tell."""
        self.lease = await self.kube.get(LEASE, self.namespace, self.name)
        record = leader.Record.of(self.lease)
        self.observed = leader.observe(self.observed, record, self.monotonic())
        self.holder = record.holder if record else ""
        verdict = leader.decide(self.observed, self.identity, self.monotonic())
        if verdict is leader.Verdict.WAIT:
            return False
        acquire_time = ((self.lease or {}).get("spec") or {}).get("acquireTime")
        new = leader.spec(self.identity, self.clock(), self.duration, record, acquire_time=acquire_time)
        return await self._write(new)

    async def _write(self, spec: dict[str, Any]) -> bool:
        """Create or replace the Lease at the version we decided on; a conflict means another
        replica wrote first (it leads, we look again later)."""
        body = self._body(spec)
        try:
            if self.lease is None:
                self.lease = await self.kube.create(body, counted=False)
            else:
                body["metadata"]["resourceVersion"] = self.lease["metadata"]["resourceVersion"]
                self.lease = await self.kube.replace(body, counted=False)
        except KubeError as exc:
            if exc.status == 409:
                return False
            raise
        self.holder = self.identity
        self.observed = leader.observe(self.observed, leader.Record.of(self.lease), self.monotonic())
        return True

    def _body(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The Lease as written (a replace keeps only what it carries: the owner each time)."""
        meta: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if self.owner is not None:
            meta["ownerReferences"] = [dict(self.owner)]
        return {"apiVersion": LEASE.api_version, "kind": LEASE.kind, "metadata": meta, "spec": spec}

    def holds(self) -> bool:
        """The Lease as this replica last read or wrote it names this replica (whether or not
        ``run`` is still leading: a stop cancels it first)."""
        record = leader.Record.of(self.lease)
        return record is not None and record.holder == self.identity

    async def release(self) -> None:
        """Hand the Lease over at once on a clean stop (best effort: it expires anyway)."""
        self.leading.clear()
        if not self.holds():
            return
        record = leader.Record.of(self.lease)
        assert record is not None and self.lease is not None
        body = self._body(leader.released(record))
        body["metadata"]["resourceVersion"] = self.lease["metadata"]["resourceVersion"]
        try:
            await self.kube.replace(body, counted=False)
            log.info("lease %s/%s released", self.namespace, self.name)
        except KubeError as exc:
            log.warning("lease not released (it expires in %.0fs) error=%s", self.duration, exc)


def _ended(work: asyncio.Task[None]) -> str:
    if work.cancelled():
        return "the leader's work was cancelled"
    exc = work.exception()
    return f"the leader's work ended: {type(exc).__name__}: {exc}" if exc else "the leader's work ended"

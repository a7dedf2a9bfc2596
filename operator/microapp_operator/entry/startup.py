"""Starting and stopping the operator: Kopf's settings, the startup and cleanup handlers,
leader election around the manager, readiness, and a stop that fits the grace period.

On SIGTERM (or SIGINT) the operator stops within :data:`GRACE` seconds whether or not the API
server answers: Kopf's requests started after the signal are not retried (``StopAwareBackoffs``),
each step of our own clean-up has a deadline, and what could not be done is named in one line
(``stopped; abandoned: ...``) instead of retried with tracebacks. Kubernetes' default
terminationGracePeriodSeconds is 30.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Coroutine, Iterable, Iterator
from typing import Any

import kopf

from ..core import catalog
from ..core.shard import SHARD_LABEL
from ..runtime import bootstrap, podrole
from ..runtime.kube import Kube
from ..runtime.leader import Elector
from ..runtime.manager import Manager
from . import admission
from .config import OperatorConfig
from .endpoints import serve_metrics

log = logging.getLogger(__name__)
GRACE = 25.0  # seconds from SIGTERM to exit at the latest (Kubernetes kills at 30 by default)
STEP = 5.0  # seconds for each clean-up step that talks to the API server


def tune(settings: kopf.OperatorSettings, shutdown: Shutdown | None = None) -> None:
    """Kopf's settings for this operator."""
    settings.posting.enabled = False  # our own Events, only for meaningful steps
    settings.watching.server_timeout = 270
    settings.networking.request_timeout = 60
    # Memory at thousands of apps: Kopf lists the MicroApps 500 at a time (not all at once), and
    # a per-object worker lets go of its last event 0.5 s after it (not 5 s): at a start with
    # 5,000 apps every worker held its app's full body at once.
    settings.watching.chunk_size = 500
    settings.queueing.idle_timeout = 0.5
    # Only raw event handlers: nothing compares an object with its last handled state, yet Kopf
    # would deep-copy every event's body to build that state (4% of the CPU of a rollout).
    settings.persistence.diffbase_storage = NoDiffBase()
    if shutdown is not None:
        shutdown.settings = settings
        settings.networking.error_backoffs = StopAwareBackoffs(settings.networking.error_backoffs, shutdown)


class NoDiffBase(kopf.DiffBaseStorage):
    """No last-handled state: right for an operator with no on.create/update/delete handlers."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


class Shutdown:
    """The stop in progress: whether it started, and what was given up on the way out."""

    def __init__(self) -> None:
        self.stopping = False
        self.abandoned: list[str] = []
        self.kopf_requests = 0  # Kopf's failed requests not retried because the operator was stopping
        self.settings: kopf.OperatorSettings | None = None

    def begin(self) -> None:
        """From now on every API request has little time: one attempt, a short timeout."""
        self.stopping = True
        if self.settings is not None:
            self.settings.networking.request_timeout = STEP
            self.settings.networking.connect_timeout = STEP / 2

    def summary(self) -> str | None:
        """The one line naming what was abandoned, or None if nothing was."""
        gone = list(self.abandoned)
        if self.kopf_requests:
            gone.append(f"{self.kopf_requests} Kopf API request(s) the API server did not answer (not retried)")
        return "stopped; abandoned: " + "; ".join(gone) if gone else None


class StopAwareBackoffs:
    """Kopf's retry delays for its API requests, cut short by a stop: once the operator is
    stopping, a request gets one attempt and no wait after it; a retry is given up (as a
    cancellation, which Kopf does not report as a failure) and counted, so the way out never
    waits for an API server that does not answer. (Kopf takes the next delay from this iterator
    before each attempt and sleeps it after a failure.)"""

    def __init__(self, delays: float | Iterable[float], shutdown: Shutdown) -> None:
        self.delays = tuple(delays) if isinstance(delays, Iterable) else (delays,)
        self.shutdown = shutdown

    def __len__(self) -> int:
        return len(self.delays)

    def __iter__(self) -> Iterator[float]:
        for attempt, delay in enumerate(self.delays):
            if self.shutdown.stopping and attempt > 0:  # the last attempt failed: give up
                self.shutdown.kopf_requests += 1
                raise asyncio.CancelledError("the operator is stopping")
            yield 0 if self.shutdown.stopping else delay


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """Connect, serve the webhook, and start the manager (with --leader-elect: once elected)."""
    cfg: OperatorConfig = memo.get("config") or OperatorConfig()
    memo.shutdown = Shutdown()
    tune(settings, memo.shutdown)
    kube = memo.kube = await Kube.connect()
    memo.owner_ref = await bootstrap.owner_reference(kube, cfg.owner)
    if cfg.webhook_port is not None:
        await admission.serve_webhook(settings, cfg, kube, memo, memo.owner_ref)
    memo.manager = Manager(
        kube,
        workers=cfg.workers,
        resync=cfg.resync,
        on_fatal=lambda reason: _stop(memo, reason),
        shard=cfg.shard,
        lease_namespace=cfg.lease_namespace,
        lease_prefix=cfg.lease_prefix,
        routine_events=cfg.routine_events,
    )
    memo.elector = None
    if cfg.leader_elect:
        work = await _elected(memo, cfg, kube)
        logger.info("standby until elected: lease %s identity %s", cfg.lease, cfg.identity)
    else:
        work = _run(memo, cfg, kube)
    if cfg.metrics_port:
        memo.metrics_runner = await serve_metrics(cfg.metrics_port, cfg.metrics_addr, lambda: _readiness(memo))
    memo.manager_task = asyncio.create_task(work, name="microapp-manager")
    memo.manager_task.add_done_callback(lambda task: _ended(memo, task))
    _on_signals(memo, cfg)  # last: Kopf installs its own handlers while this handler starts
    logger.info("manager started")


def _on_signals(memo: kopf.Memo, cfg: OperatorConfig) -> None:
    """SIGTERM and SIGINT start our bounded stop (in place of Kopf's own handlers, which would
    let its requests retry for about a minute against an API server that is gone)."""
    if cfg.stop_flag is None:
        return  # embedded (tests): Kopf's handlers stay
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _terminate, memo, cfg, sig)


def _terminate(memo: kopf.Memo, cfg: OperatorConfig, sig: signal.Signals) -> None:
    shutdown: Shutdown = memo.shutdown
    if shutdown.stopping:
        return
    shutdown.begin()
    log.info("%s received: stopping (at most %.0fs)", sig.name, GRACE)
    for name in ("manager_task", "ca_task"):  # no reconcile starts from now on
        task = memo.get(name)
        if task is not None:
            task.cancel()
    asyncio.get_running_loop().call_later(GRACE, _overdue, memo)
    assert cfg.stop_flag is not None
    cfg.stop_flag.set()


def _overdue(memo: kopf.Memo) -> None:
    """The last resort: the stop took the whole grace period. Say what was still running, and go."""
    running = sorted({t.get_name() for t in asyncio.all_tasks() if not t.done()} - {"microapp-manager"})
    shutdown: Shutdown = memo.shutdown
    shutdown.abandoned.append(f"tasks still running after {GRACE:.0f}s: {', '.join(running) or 'none'}")
    log.warning("%s", shutdown.summary())
    logging.shutdown()
    os._exit(1)


def _ended(memo: kopf.Memo, task: asyncio.Task[None]) -> None:
    """The manager (or the election around it) must run until the operator stops: if it ends
    by itself (the starting catalog refused, the Lease lost), stop so that the Pod restarts."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.critical(
            "the manager failed to run: %s: %s; stopping the operator so that it is restarted",
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        _stop(memo, f"the manager failed to run: {type(exc).__name__}: {exc}")
    elif not memo.get("failed"):
        _stop(memo, "the manager stopped")


async def _elected(memo: kopf.Memo, cfg: OperatorConfig, kube: Kube) -> Coroutine[Any, Any, None]:
    """The manager, run once this replica holds the Lease (and, in a Pod, wears the leader label)."""
    namespace, _, name = cfg.lease.partition("/")
    duration = cfg.lease_duration
    memo.elector = Elector(
        kube,
        namespace,
        name,
        cfg.identity,
        duration=duration,
        renew_deadline=duration * 0.75,
        renew_every=duration / 4,
        retry=min(1.0, duration / 8),
        owner=bootstrap.owner_in(memo.get("owner_ref"), namespace),
    )
    if cfg.pod:
        await podrole.stand_by(kube, namespace, cfg.pod)

    async def lead() -> None:
        if cfg.pod:
            peers = f"{SHARD_LABEL}={cfg.shard.name}" if cfg.shard.sharded else ""
            await podrole.lead(kube, namespace, cfg.pod, peers=peers)
        await _run(memo, cfg, kube)

    return memo.elector.run(lead, on_lost=lambda reason: _stop(memo, reason))


async def _run(memo: kopf.Memo, cfg: OperatorConfig, kube: Kube) -> None:
    """The manager, after creating the starting catalog if asked to (see runtime/bootstrap.py)."""
    objects = catalog.builtin_objects() if cfg.create_templates else []
    if cfg.create_policy:
        objects.append(cfg.create_policy)
    if objects:
        await bootstrap.create_missing(kube, objects)
    await memo.manager.run()


def _readiness(memo: kopf.Memo) -> tuple[bool, str]:
    """/readyz: a healthy standby is Ready too (see runtime/podrole.py for why admission reaches
    only the leader all the same); the leader once synced."""
    elector: Elector | None = memo.get("elector")
    manager: Manager = memo.manager
    failed = manager.failure()
    if failed:
        return False, failed
    if elector is not None and not elector.leading.is_set():
        return True, f"standby: {elector.holder or 'nobody yet'} holds the lease"
    return manager.readiness()


def _stop(memo: kopf.Memo, reason: str) -> None:
    """A background task died: stop Kopf (the process exits non-zero and is restarted)."""
    memo.failed = reason
    cfg: OperatorConfig = memo.get("config") or OperatorConfig()
    if cfg.stop_flag is not None:
        cfg.stop_flag.set()


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    """The clean-up, each step bounded: what did not finish in time is named, not retried."""
    shutdown: Shutdown = memo.get("shutdown") or Shutdown()
    shutdown.begin()
    manager: Manager | None = memo.get("manager")
    shutdown.abandoned += manager.unfinished() if manager is not None else []
    if memo.get("ca_task") is not None:
        memo.ca_task.cancel()
    runner = memo.get("metrics_runner")
    if runner is not None:
        await _bounded(shutdown, "the metrics server's shutdown", runner.cleanup())
    task = memo.get("manager_task")
    if task is not None:
        task.cancel()
        await _bounded(shutdown, "the manager's shutdown", asyncio.gather(task, return_exceptions=True))
        if memo.get("elector") is not None:
            await _hand_over(memo, shutdown)
    kube: Kube | None = memo.get("kube")
    if kube is not None:
        await _bounded(shutdown, "closing the API connections", kube.close())
    line = shutdown.summary()
    if line:
        log.warning("%s", line)


async def _bounded(shutdown: Shutdown, what: str, step: Awaitable[Any], seconds: float = STEP) -> bool:
    """One clean-up step, given up (and named) after ``seconds``."""
    try:
        await asyncio.wait_for(step, timeout=seconds)
        return True
    except TimeoutError:
        shutdown.abandoned.append(f"{what} (no answer in {seconds:g}s)")
        return False


async def _hand_over(memo: kopf.Memo, shutdown: Shutdown) -> None:
    """A clean stop: off the webhook Service, then the Lease free, so a standby takes over now."""
    cfg: OperatorConfig = memo.get("config") or OperatorConfig()
    elector: Elector = memo.elector
    held = elector.holds()
    if cfg.pod and held:
        try:
            await _bounded(
                shutdown, "removing the leader label", podrole.stand_by(memo.kube, elector.namespace, cfg.pod)
            )
        except Exception as exc:  # noqa: BLE001 - best effort: the next leader removes it anyway
            log.warning("leader label not removed error=%s", exc)
    if not await _bounded(shutdown, "releasing the Lease", elector.release()):
        return
    if held and elector.holds():
        shutdown.abandoned.append(f"releasing the Lease (it expires in {elector.duration:.0f}s)")

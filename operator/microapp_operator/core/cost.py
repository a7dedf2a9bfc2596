"""Monthly cost of a rendered app, from the PlatformPolicy price sheet (pure).

OpenCost's model, applied ahead of time: every container (the app and any injected sidecar)
is charged for max(request, limit) of CPU and memory, times the replicas the app can reach,
times the hours per month. What "can reach" means per kind:

* Deployment: ``spec.replicas``; with an HPA targeting it, the HPA's ``maxReplicas``.
* Knative Service: ``max-scale`` when ``min-scale`` > 0; a scale-to-zero service is charged
  for its ``min-scale`` plus the traffic assumption :data:`SERVERLESS_ACTIVE_FRACTION`
  (one instance busy that share of the month).
* CronJob: one Pod for ``activeDeadlineSeconds`` (default 1 h) per run, runs counted from the
  schedule over one reference month, capped at the whole month; suspended: nothing.
* GPUs (``nvidia.com/gpu``, ``amd.com/gpu``) per hour, PersistentVolumeClaims per GiB-month.
* Native sidecars (init containers with ``restartPolicy: Always``) count like containers;
  other init containers run briefly and are not charged.

Decimal arithmetic throughout; the total is rounded to cents (half up).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from croniter import croniter

from ..api import platform
from ..api import types as api
from ..api.kinds import KNATIVE_SERVICE
from .quantity import GIB, QuantityError, quantity
from .render import RenderError
from .rendered import pod_specs

SERVERLESS_ACTIVE_FRACTION = Decimal("0.25")
DEFAULT_JOB_SECONDS = 3600
_REFERENCE_MONTH = datetime(2026, 1, 1, tzinfo=UTC)  # fixed: estimates are deterministic
_GPU_KEYS = ("nvidia.com/gpu", "amd.com/gpu")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Prices:
    """A price sheet; the defaults are OpenCost's (written once, in ``api.platform``)."""

    currency: str = platform.DEFAULT_CURRENCY
    hours_per_month: Decimal = Decimal(platform.DEFAULT_HOURS_PER_MONTH)
    cpu_core_hour: Decimal = Decimal(platform.DEFAULT_CPU_CORE_HOUR)
    memory_gib_hour: Decimal = Decimal(platform.DEFAULT_MEMORY_GIB_HOUR)
    gpu_hour: Decimal = Decimal(platform.DEFAULT_GPU_HOUR)
    storage_gib_month: Decimal = Decimal(platform.DEFAULT_STORAGE_GIB_MONTH)

    @classmethod
    def from_policy(cls, pricing: api.Pricing | None) -> Prices:
        """The policy's price sheet; unset prices are OpenCost's defaults."""
        d, p = cls(), pricing or api.Pricing()
        return cls(
            currency=p.currency or d.currency,
            hours_per_month=Decimal(p.hours_per_month or d.hours_per_month),
            cpu_core_hour=Decimal(p.cpu_core_hour or d.cpu_core_hour),
            memory_gib_hour=Decimal(p.memory_gi_b_hour or d.memory_gib_hour),
            gpu_hour=Decimal(p.gpu_hour or d.gpu_hour),
            storage_gib_month=Decimal(p.storage_gi_b_month or d.storage_gib_month),
        )


@dataclass(frozen=True)
class Line:
    """One container (or volume claim) of the estimate."""

    object: str  # e.g. Deployment/shop
    container: str
    replicas: Decimal  # instances charged (may be fractional: serverless, jobs)
    cpu_cores: Decimal
    memory_gib: Decimal
    gpus: Decimal
    storage_gib: Decimal
    cpu: Decimal  # monthly cost of each resource
    memory: Decimal
    gpu: Decimal
    storage: Decimal

    @property
    def total(self) -> Decimal:
        return self.cpu + self.memory + self.gpu + self.storage


@dataclass(frozen=True)
class Estimate:
    currency: str
    lines: tuple[Line, ...] = field(default_factory=tuple)
    assumptions: tuple[str, ...] = ()

    @property
    def monthly(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal(0)).quantize(_CENT, ROUND_HALF_UP)


def money(value: Decimal) -> str:
    return str(value.quantize(_CENT, ROUND_HALF_UP))


def estimate(objects: Iterable[Mapping[str, Any]], prices: Prices) -> Estimate:
    """The monthly cost of these rendered objects. No side effects.

    The rendered-object rules check every field read here; anything the model still cannot read
    raises RenderError (one typed error, a plain message), never a crash."""
    objects = list(objects)
    try:
        hpa_max = {
            (o["spec"]["scaleTargetRef"]["kind"], o["spec"]["scaleTargetRef"]["name"]): o["spec"].get("maxReplicas", 1)
            for o in objects
            if o.get("kind") == "HorizontalPodAutoscaler"
        }
    except (KeyError, TypeError, AttributeError):
        raise RenderError(
            "the template rendered a HorizontalPodAutoscaler without spec.scaleTargetRef (kind and name)"
        ) from None
    lines: list[Line] = []
    notes: list[str] = []
    for obj in objects:
        label = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        try:
            _price(obj, label, hpa_max, prices, lines, notes)
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            detail = str(exc) if isinstance(exc, QuantityError) else "a field is missing or of the wrong type"
            raise RenderError(
                f"the template rendered {label}, which the cost model cannot read: {detail}; "
                f"check the template's output with `microapp render`"
            ) from None
    return Estimate(prices.currency, tuple(lines), tuple(notes))


def _price(
    obj: Mapping[str, Any],
    label: str,
    hpa_max: Mapping[tuple[str, str], int],
    prices: Prices,
    lines: list[Line],
    notes: list[str],
) -> None:
    if obj.get("kind") == "PersistentVolumeClaim":
        gib = quantity(((obj.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")) / GIB
        lines.append(
            Line(
                label,
                "-",
                Decimal(1),
                Decimal(0),
                Decimal(0),
                Decimal(0),
                gib,
                Decimal(0),
                Decimal(0),
                Decimal(0),
                gib * prices.storage_gib_month,
            )
        )
        return
    for _, pod in pod_specs(obj):
        replicas, note = _replicas(obj, hpa_max, prices)
        if note:
            notes.append(f"{label}: {note}")
        sidecars = [c for c in pod.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
        for c in [*(pod.get("containers") or []), *sidecars]:  # native sidecars run all along
            lines.append(_line(label, c, replicas, prices))


def _line(label: str, container: Mapping[str, Any], replicas: Decimal, prices: Prices) -> Line:
    res = container.get("resources") or {}
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    cores = max(quantity(req.get("cpu")), quantity(lim.get("cpu")))
    gib = max(quantity(req.get("memory")), quantity(lim.get("memory"))) / GIB
    gpus = sum((max(quantity(req.get(k)), quantity(lim.get(k))) for k in _GPU_KEYS), Decimal(0))
    hours = prices.hours_per_month * replicas
    return Line(
        label,
        str(container.get("name", "app")),
        replicas,
        cores,
        gib,
        gpus,
        Decimal(0),
        cores * prices.cpu_core_hour * hours,
        gib * prices.memory_gib_hour * hours,
        gpus * prices.gpu_hour * hours,
        Decimal(0),
    )


def _replicas(obj: Mapping[str, Any], hpa_max: Mapping[tuple[str, str], int], prices: Prices) -> tuple[Decimal, str]:
    kind, spec = (obj.get("apiVersion"), obj.get("kind")), obj.get("spec") or {}
    name = obj["metadata"]["name"]
    if kind[1] in ("Deployment", "StatefulSet") and (kind[1], name) in hpa_max:
        return Decimal(hpa_max[(kind[1], name)]), "charged at the autoscaler's maxReplicas"
    if kind[1] in ("Deployment", "StatefulSet"):
        return Decimal(spec.get("replicas", 1)), ""
    if kind == KNATIVE_SERVICE.key:
        ann = ((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}
        low = Decimal(str(ann.get("autoscaling.knative.dev/min-scale", "0")))
        high = Decimal(str(ann.get("autoscaling.knative.dev/max-scale", "1")))
        if low > 0:
            return high, "charged at max-scale"
        return low + SERVERLESS_ACTIVE_FRACTION, (
            f"scales to zero: charged as one instance busy {SERVERLESS_ACTIVE_FRACTION:%} of the month"
        )
    if kind[1] == "CronJob":
        if spec.get("suspend"):
            return Decimal(0), "suspended"
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        seconds = Decimal(job.get("activeDeadlineSeconds") or DEFAULT_JOB_SECONDS)
        month = prices.hours_per_month * 3600
        runs = _runs_per_month(
            str(spec.get("schedule", "@daily")), prices.hours_per_month, cap=int(month / seconds) + 1
        )  # past that the job runs all month
        share = min(Decimal(runs) * seconds / month, Decimal(1))
        return share, f"{runs} runs a month of at most {seconds}s each"
    return Decimal(1), ""


@functools.lru_cache(maxsize=1024)
def _runs_per_month(schedule: str, hours: Decimal, *, cap: int) -> int:
    """Cron runs in a reference month (croniter walks every run: memoized, as every reconcile
    and admission of a scheduled job asks again; a schedule does not change its answer)."""
    try:
        it = croniter(schedule, _REFERENCE_MONTH - timedelta(seconds=1))
    except (ValueError, KeyError):
        return 30
    end = _REFERENCE_MONTH + timedelta(hours=float(hours))
    runs = 0
    while runs < cap and it.get_next(datetime) < end:
        runs += 1
    return runs

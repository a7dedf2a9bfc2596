"""One cluster read for a CLI command (catalog, explain, diff): connect with $KUBECONFIG (or
the in-cluster config), run the reads within a time limit, close, and turn every connection or
API failure into a :class:`UsageError` naming what could not be read and what to try.

The Kubernetes client is imported on first use: it is most of a second of start-up that the
offline commands and tab completion do not need.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable, TypeVar

from .files import UsageError

if TYPE_CHECKING:
    from ..runtime.kube import Kube

T = TypeVar("T")
TIMEOUT = 20.0   # seconds: a CLI must not hang on an unreachable API server


def read(reads: Callable[["Kube"], Awaitable[T]], *, what: str, hint: str = "") -> T:
    """The result of ``reads(kube)``; ``what`` (e.g. "the MicroApp") and ``hint`` go into the
    message when the cluster cannot answer."""
    import aiohttp
    from kubernetes_asyncio.config import ConfigException

    from ..runtime.kube import KubeError
    missing = _missing_kubeconfig()
    if missing:
        raise UsageError(f"cannot read {what}: no kubeconfig at {missing}; set $KUBECONFIG to your cluster's "
                         "kubeconfig (make demo writes .cluster/kubeconfig)" + (f"; {hint}" if hint else ""))
    quiet()
    try:
        return asyncio.run(_run(reads))
    except KubeError as exc:
        if exc.status in (401, 403):
            raise UsageError(f"cannot read {what}: the cluster refused ({exc.status}): {exc.message}; "
                             "ask your platform team for read access to it") from None
        raise UsageError(f"cannot read {what} from the cluster of $KUBECONFIG ({exc.status}: {exc.message})"
                         + (f"; {hint}" if hint else "")) from None
    except (ConfigException, aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"cannot read {what} from the cluster of $KUBECONFIG ({reason})"
                         + (f"; {hint}" if hint else "")) from None


def quiet() -> None:
    """The client library's warnings ("Config not found: ...") repeat what our messages say."""
    logging.getLogger("kubernetes_asyncio").setLevel(logging.ERROR)


def _missing_kubeconfig() -> str | None:
    """The kubeconfig path(s) the client would read, when none exists (and not in a Pod)."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return None
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p] or [str(Path.home() / ".kube" / "config")]
    return None if any(Path(p).is_file() for p in paths) else ", ".join(paths)


async def _run(reads: Callable[["Kube"], Awaitable[T]]) -> T:
    from ..runtime.kube import Kube
    kube = await asyncio.wait_for(Kube.connect(), TIMEOUT)
    try:
        return await asyncio.wait_for(reads(kube), TIMEOUT)
    finally:
        await kube.close()

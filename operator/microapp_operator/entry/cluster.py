"""One cluster read for a CLI command (catalog, explain, diff): connect with $KUBECONFIG (or
the in-cluster config), run the reads within a time limit, close, and turn every connection or
API failure into a :class:`UsageError` naming what could not be read and what to try.

The Kubernetes layer is imported on first use: the offline commands and tab completion do not
need it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from .files import UsageError

if TYPE_CHECKING:
    from ..runtime.kube import Kube

T = TypeVar("T")
TIMEOUT = 20.0  # seconds: a CLI must not hang on an unreachable API server


def read(reads: Callable[[Kube], Awaitable[T]], *, what: str, hint: str = "") -> T:
    """The result of ``reads(kube)``; ``what`` (e.g. "the MicroApp") and ``hint`` go into the
    message when the cluster cannot answer."""
    import aiohttp

    from ..runtime.credentials import ConfigError
    from ..runtime.kube import KubeError

    try:
        return asyncio.run(_run(reads))
    except KubeError as exc:
        if exc.status in (401, 403):
            raise UsageError(
                f"cannot read {what}: the cluster refused ({exc.status}): {exc.message}; "
                "ask your platform team for read access to it"
            ) from None
        raise UsageError(
            f"cannot read {what} from the cluster of $KUBECONFIG ({exc.status}: {exc.message})"
            + (f"; {hint}" if hint else "")
        ) from None
    except ConfigError as exc:
        raise UsageError(
            f"cannot read {what}: {exc}; set $KUBECONFIG to your cluster's kubeconfig (make demo "
            "writes .cluster/kubeconfig)" + (f"; {hint}" if hint else "")
        ) from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UsageError(
            f"cannot read {what} from the cluster of $KUBECONFIG ({reason})" + (f"; {hint}" if hint else "")
        ) from None


async def _run(reads: Callable[[Kube], Awaitable[T]]) -> T:
    from ..runtime.kube import Kube

    kube = await asyncio.wait_for(Kube.connect(), TIMEOUT)
    try:
        return await asyncio.wait_for(reads(kube), TIMEOUT)
    finally:
        await kube.close()

"""Retirement notices as CloudEvents (structured JSON over HTTP POST) to the URL the
PlatformPolicy names: sent in the background, retried with backoff, never blocking a reconcile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import aiohttp

from .. import metrics

log = logging.getLogger(__name__)
EVENT_TYPE = "dev.microapp.lifecycle.retiring"


def cloudevent(
    app: Mapping[str, Any], lifecycle: Mapping[str, Any], *, on_retire: str, now: datetime
) -> dict[str, Any]:
    """A CloudEvents 1.0 envelope announcing one app's retirement (pure)."""
    meta = app["metadata"]
    annotations = meta.get("annotations") or {}
    return {
        "specversion": "1.0",
        "type": EVENT_TYPE,
        "id": str(uuid.uuid4()),
        "source": f"/apis/microapp.dev/v1alpha1/namespaces/{meta['namespace']}/microapps/{meta['name']}",
        "subject": f"{meta['namespace']}/{meta['name']}",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "datacontenttype": "application/json",
        "data": {
            "namespace": meta["namespace"],
            "name": meta["name"],
            "owner": annotations.get("microapp.dev/owner"),
            "team": annotations.get("microapp.dev/team"),
            "retireAt": lifecycle.get("retireAt"),
            "idleSince": lifecycle.get("idleSince"),
            "lastActivity": lifecycle.get("lastActivity"),
            "onRetire": on_retire,
            "keep": f"kubectl annotate --overwrite mapp {meta['name']} -n {meta['namespace']} "
            f"microapp.dev/wake=$(date -u +%FT%TZ)",
        },
    }


class Notifier:
    def __init__(self, url: Callable[[], str | None], *, attempts: int = 6, first_delay: float = 1.0) -> None:
        self.url = url
        self.attempts = attempts
        self.first_delay = first_delay
        self.tasks: set[asyncio.Task[None]] = set()

    def send(self, event: dict[str, Any]) -> None:
        url = self.url()
        if not url:
            return
        task = asyncio.create_task(self._post(url, event), name="retirement-notice")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _post(self, url: str, event: dict[str, Any]) -> None:
        delay = self.first_delay
        body = json.dumps(event)
        for attempt in range(1, self.attempts + 1):
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
                    async with session.post(
                        url, data=body, headers={"Content-Type": "application/cloudevents+json"}
                    ) as resp:
                        if resp.status < 300:
                            metrics.notifications.labels("sent").inc()
                            return
                        error = f"HTTP {resp.status}"
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                error = str(exc) or type(exc).__name__
            log.warning(
                "retirement notice not delivered subject=%s attempt=%d error=%s", event["subject"], attempt, error
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60)
        metrics.notifications.labels("failed").inc()

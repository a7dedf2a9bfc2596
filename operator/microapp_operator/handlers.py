"""Kopf wiring: the thinnest possible shell.

Kopf watches MicroApps and the catalog and hands every event to the controller's queue.
Only raw event handlers are used (``@kopf.on.event``): Kopf then keeps no state on the
objects at all, no annotations, no finalizers, no ``status.kopf``, so the operator never
writes a MicroApp's spec or metadata and an unchanged app costs no writes. Retries and
backoff live in the controller's work queue.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from . import api
from .controller import Controller
from .kube import Kube


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """Connect, start the child cache and the reconcile workers."""
    settings.posting.enabled = False          # our own Events, only for meaningful steps
    settings.watching.server_timeout = 270
    settings.networking.request_timeout = 60
    kube = await Kube.connect()
    memo.controller = Controller(kube, workers=int(memo.get("workers", 4)))
    memo.controller_task = asyncio.create_task(memo.controller.run(), name="microapp-controller")
    logger.info("controller started")


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    task = memo.get("controller_task")
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await memo.controller.kube.close()


@kopf.on.event(api.GROUP, api.VERSION, "microapps")
def microapp_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    memo.controller.app_event(event.get("type"), event["object"])


@kopf.on.event(api.GROUP, api.VERSION, "apptemplates")
def apptemplate_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    memo.controller.template_event(event.get("type"), event["object"])


logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
